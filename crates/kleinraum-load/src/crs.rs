//! Reprojection with PROJ, once at load.
//!
//! PROJ's transformation is normalised to the axis order for visualisation, so geographic
//! coordinates are always (x = longitude, y = latitude) and projected ones (easting, northing).
//! PROJ picks the best available operation; with the `proj-data` grids installed that includes
//! BETA2007 for DHDN / Gauß-Krüger (EPSG:31466–31469), which gives millimetre agreement with
//! the official transformation. PROJ does not report a missing grid, so a test pins a reference.
//!
//! A PROJ transformation is neither `Send` nor `Sync`: create a `Reprojector` per thread or per
//! call.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// The transformation engine: PROJ (loaded on first use) with the `proj` feature; without it
/// only identities exist (an uninhabited type, so no transformation can be constructed).
#[cfg(feature = "proj")]
type Backend = crate::proj::Transform;
#[cfg(not(feature = "proj"))]
enum Backend {}

#[cfg(feature = "proj")]
fn convert(p: &Backend, xy: (f64, f64)) -> Result<(f64, f64), String> {
    p.convert(xy)
}
#[cfg(not(feature = "proj"))]
fn convert(p: &Backend, _: (f64, f64)) -> Result<(f64, f64), String> {
    match *p {}
}

/// Transforms in place; on an error, where the coordinates left untransformed start (the
/// culprit is among them) and the message.
#[cfg(feature = "proj")]
fn convert_array(p: &Backend, pts: &mut [(f64, f64)]) -> Result<(), (usize, String)> {
    p.convert_array(pts)
}
#[cfg(not(feature = "proj"))]
fn convert_array(p: &Backend, _: &mut [(f64, f64)]) -> Result<(), (usize, String)> {
    match *p {}
}

#[cfg(feature = "proj")]
fn backend(from: &Crs, to: u32) -> Result<Backend, String> {
    crate::proj::Transform::new(&from.proj_definition(), &format!("EPSG:{to}")).map_err(|e| {
        format!(
            "PROJ cannot transform {} to EPSG:{to}: {e}",
            from.describe()
        )
    })
}
#[cfg(not(feature = "proj"))]
fn backend(from: &Crs, to: u32) -> Result<Backend, String> {
    Err(format!(
        "cannot transform {} to EPSG:{to}: kleinraum-load was built without the `proj` feature",
        from.describe()
    ))
}

/// A coordinate reference system of a source: an EPSG code, or a definition PROJ reads (a WKT
/// such as an ESRI `.prj` that maps to no EPSG code, or a PROJ string). In the config `crs`
/// takes any of them: `25832`, `"EPSG:25832"`, `"PROJCS[…]"`, `"+proj=utm +zone=32 …"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crs {
    /// An EPSG code.
    Epsg(u32),
    /// A WKT or PROJ string.
    Definition(String),
}

impl Crs {
    /// Parses a configured CRS: an EPSG code (with or without `EPSG:`), a WKT (`PROJCS[…]`,
    /// `PROJCRS[…]`, `GEOGCS[…]`) or a PROJ string (`+proj=…`).
    pub fn parse(s: &str) -> Result<Crs, String> {
        let t = s.trim();
        let code = t
            .strip_prefix("EPSG:")
            .or_else(|| t.strip_prefix("epsg:"))
            .unwrap_or(t);
        if let Ok(c) = code.trim().parse::<u32>() {
            return Crs::epsg(c);
        }
        if t.starts_with("+proj") || (t.contains('[') && t.ends_with(']')) {
            return Ok(Crs::Definition(t.to_string()));
        }
        Err(format!(
            "{t:?} is neither an EPSG code (25832, \"EPSG:25832\"), a WKT (PROJCS[…]) nor a PROJ string (+proj=…)"
        ))
    }

    /// An EPSG code, checked for range.
    pub fn epsg(code: u32) -> Result<Crs, String> {
        if code == 0 || code > 999_999 {
            return Err(format!("{code} is not an EPSG code"));
        }
        Ok(Crs::Epsg(code))
    }

    /// How PROJ is given it.
    pub fn proj_definition(&self) -> String {
        match self {
            Crs::Epsg(c) => format!("EPSG:{c}"),
            Crs::Definition(d) => d.clone(),
        }
    }

    /// For messages: `EPSG:25832`, or the definition's name (`WKT "ETRS89_UTM32_Stadt"`).
    pub fn describe(&self) -> String {
        match self {
            Crs::Epsg(c) => format!("EPSG:{c}"),
            Crs::Definition(d) if d.trim_start().starts_with('+') => {
                format!("PROJ \"{}\"", d.chars().take(80).collect::<String>())
            }
            Crs::Definition(d) => {
                let name = d
                    .find('"')
                    .and_then(|i| {
                        d[i + 1..]
                            .find('"')
                            .map(|j| d[i + 1..i + 1 + j].to_string())
                    })
                    .unwrap_or_else(|| d.chars().take(60).collect());
                format!("WKT \"{name}\"")
            }
        }
    }
}

impl<'de> serde::Deserialize<'de> for Crs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Crs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an EPSG code (25832), a WKT or a PROJ string")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Crs, E> {
                u32::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is not an EPSG code")))
                    .and_then(|c| Crs::epsg(c).map_err(E::custom))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Crs, E> {
                u32::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is not an EPSG code")))
                    .and_then(|c| Crs::epsg(c).map_err(E::custom))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Crs, E> {
                Crs::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Transforms coordinates from a source CRS into an EPSG CRS. EPSG:4326 is read as
/// (lon, lat).
pub struct Reprojector {
    from: Crs,
    to: u32,
    /// `None` when source and target are the same CRS.
    proj: Option<Backend>,
}

impl std::fmt::Debug for Reprojector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Reprojector({} -> EPSG:{})",
            self.from.describe(),
            self.to
        )
    }
}

impl Reprojector {
    /// A transformation between two EPSG codes. Same code: identity without PROJ.
    pub fn new(from_epsg: u32, to_epsg: u32) -> Result<Reprojector, String> {
        Self::from_crs(&Crs::Epsg(from_epsg), to_epsg)
    }

    /// A transformation from any source CRS (EPSG code, WKT, PROJ string).
    pub fn from_crs(from: &Crs, to_epsg: u32) -> Result<Reprojector, String> {
        if *from == Crs::Epsg(to_epsg) {
            return Ok(Reprojector {
                from: from.clone(),
                to: to_epsg,
                proj: None,
            });
        }
        let proj = backend(from, to_epsg)?;
        Ok(Reprojector {
            from: from.clone(),
            to: to_epsg,
            proj: Some(proj),
        })
    }

    /// True if no transformation happens.
    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// Source EPSG code (0 for a CRS given as a definition).
    pub fn from_epsg(&self) -> u32 {
        match self.from {
            Crs::Epsg(c) => c,
            Crs::Definition(_) => 0,
        }
    }

    /// The source CRS.
    pub fn from_crs_ref(&self) -> &Crs {
        &self.from
    }

    /// Target EPSG code.
    pub fn to_epsg(&self) -> u32 {
        self.to
    }

    fn bad(&self, x: f64, y: f64, why: &str) -> String {
        format!(
            "coordinate ({x}, {y}) cannot be transformed from {} to EPSG:{}{why}",
            self.from.describe(),
            self.to
        )
    }

    /// Transforms one coordinate.
    pub fn transform(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        let Some(p) = &self.proj else {
            return Ok((x, y));
        };
        let (ox, oy) = convert(p, (x, y)).map_err(|e| self.bad(x, y, &format!(": {e}")))?;
        if !ox.is_finite() || !oy.is_finite() {
            return Err(self.bad(x, y, ""));
        }
        Ok((ox, oy))
    }

    /// Transforms many coordinates in place, in one PROJ call.
    pub fn transform_coords(&self, pts: &mut [(f64, f64)]) -> Result<(), String> {
        let Some(p) = &self.proj else {
            return Ok(());
        };
        if pts.is_empty() {
            return Ok(());
        }
        if let Err((from, e)) = convert_array(p, pts) {
            // Find the culprit for the message: the batch error does not say which point.
            return Err(
                match pts[from..]
                    .iter()
                    .find(|(x, y)| convert(p, (*x, *y)).is_err())
                {
                    Some((x, y)) => self.bad(*x, *y, &format!(": {e}")),
                    None => format!("{} -> EPSG:{}: {e}", self.from.describe(), self.to),
                },
            );
        }
        if let Some((i, _)) = pts
            .iter()
            .enumerate()
            .find(|(_, (x, y))| !x.is_finite() || !y.is_finite())
        {
            return Err(format!(
                "point {} cannot be transformed from {} to EPSG:{} (out of the CRS's area?)",
                i + 1,
                self.from.describe(),
                self.to
            ));
        }
        Ok(())
    }

    /// Transforms parallel x/y arrays in place (structure-of-arrays point layers).
    pub fn transform_xy(&self, xs: &mut [f64], ys: &mut [f64]) -> Result<(), String> {
        if self.is_identity() {
            return Ok(());
        }
        debug_assert_eq!(xs.len(), ys.len());
        let mut pts: Vec<(f64, f64)> = xs.iter().copied().zip(ys.iter().copied()).collect();
        self.transform_coords(&mut pts)?;
        for ((x, y), (nx, ny)) in xs.iter_mut().zip(ys.iter_mut()).zip(pts) {
            *x = nx;
            *y = ny;
        }
        Ok(())
    }

    /// Transforms every coordinate of a geometry in place.
    pub fn transform_geometry(&self, g: &mut Geometry<f64>) -> Result<(), String> {
        if self.is_identity() {
            return Ok(());
        }
        let mut pts = Vec::new();
        visit_geometry(g, &mut |c| pts.push((c.x, c.y)));
        self.transform_coords(&mut pts)?;
        let mut it = pts.into_iter();
        visit_geometry(g, &mut |c| {
            // Same traversal order as above, so the counts match.
            if let Some((x, y)) = it.next() {
                *c = Coord { x, y };
            }
        });
        Ok(())
    }

    /// Transforms a MultiPolygon in place.
    pub fn transform_multipolygon(&self, mp: &mut MultiPolygon<f64>) -> Result<(), String> {
        if self.is_identity() {
            return Ok(());
        }
        let mut pts = Vec::new();
        for p in mp.0.iter_mut() {
            visit_polygon(p, &mut |c| pts.push((c.x, c.y)));
        }
        self.transform_coords(&mut pts)?;
        let mut it = pts.into_iter();
        for p in mp.0.iter_mut() {
            visit_polygon(p, &mut |c| {
                if let Some((x, y)) = it.next() {
                    *c = Coord { x, y };
                }
            });
        }
        Ok(())
    }
}

fn visit_line(l: &mut LineString<f64>, f: &mut impl FnMut(&mut Coord<f64>)) {
    l.0.iter_mut().for_each(f);
}

fn visit_polygon(p: &mut Polygon<f64>, f: &mut impl FnMut(&mut Coord<f64>)) {
    p.exterior_mut(|r| visit_line(r, f));
    p.interiors_mut(|rs| rs.iter_mut().for_each(|r| visit_line(r, f)));
}

fn visit_geometry(g: &mut Geometry<f64>, f: &mut impl FnMut(&mut Coord<f64>)) {
    match g {
        Geometry::Point(p) => f(&mut p.0),
        Geometry::MultiPoint(mp) => mp.0.iter_mut().for_each(|p| f(&mut p.0)),
        Geometry::Line(l) => {
            f(&mut l.start);
            f(&mut l.end);
        }
        Geometry::LineString(l) => visit_line(l, f),
        Geometry::MultiLineString(ml) => ml.0.iter_mut().for_each(|l| visit_line(l, f)),
        Geometry::Polygon(p) => visit_polygon(p, f),
        Geometry::MultiPolygon(mp) => mp.0.iter_mut().for_each(|p| visit_polygon(p, f)),
        Geometry::GeometryCollection(gc) => gc.0.iter_mut().for_each(|g| visit_geometry(g, f)),
        Geometry::Rect(r) => {
            let (mut a, mut b) = (r.min(), r.max());
            f(&mut a);
            f(&mut b);
            *r = geo::Rect::new(a, b);
        }
        Geometry::Triangle(t) => {
            let (mut a, mut b, mut c) = (t.v1(), t.v2(), t.v3());
            f(&mut a);
            f(&mut b);
            f(&mut c);
            *t = geo::Triangle::new(a, b, c);
        }
    }
}

/// The one reprojection set-up of a running kleinraum: from the working CRS to any EPSG code
/// and back, with one PROJ transformation per (thread, direction) created on first use
/// (a PROJ transformation is not `Send`). It is the Gebietsstände' [`Projector`] (WGS 84) and the
/// catalog's reprojection callback.
///
/// [`Projector`]: kleinraum_gebietsstand::Projector
#[derive(Debug, Clone, Copy)]
pub struct WorkingCrs {
    /// EPSG code of the working CRS.
    pub epsg: u32,
}

thread_local! {
    static CACHE: std::cell::RefCell<std::collections::HashMap<(u32, u32), Reprojector>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn with_cached(from: u32, to: u32, x: f64, y: f64) -> Result<(f64, f64), String> {
    CACHE.with(|m| {
        let mut m = m.borrow_mut();
        if let std::collections::hash_map::Entry::Vacant(e) = m.entry((from, to)) {
            e.insert(Reprojector::new(from, to)?);
        }
        m[&(from, to)].transform(x, y)
    })
}

impl WorkingCrs {
    /// Working CRS → EPSG `to` (4326: longitude, latitude).
    pub fn to(&self, to: u32, x: f64, y: f64) -> Result<(f64, f64), String> {
        with_cached(self.epsg, to, x, y)
    }

    /// EPSG `from` → working CRS.
    pub fn from(&self, from: u32, x: f64, y: f64) -> Result<(f64, f64), String> {
        with_cached(from, self.epsg, x, y)
    }
}

impl kleinraum_gebietsstand::Projector for WorkingCrs {
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String> {
        self.to(4326, x, y)
    }
    fn wgs84_to_working(&self, lon: f64, lat: f64) -> Result<(f64, f64), String> {
        self.from(4326, lon, lat)
    }
}

// ---------------------------------------------------------------------------------------------
// Area of use

/// How far beyond its area of use data in the working CRS may lie (km). ETRS89 / UTM 32N is
/// used for all of western and southern Germany, whose east reaches 13.8° E (about 120 km
/// beyond the zone's 12° E), so only data farther out count as misplaced — a wrong CRS puts
/// them hundreds or thousands of kilometres off.
pub const AREA_OF_USE_MARGIN_KM: f64 = 250.0;

/// The area of use of a working CRS in degrees (west, south, east, north), from the EPSG
/// registry.
pub fn area_of_use(epsg: u32) -> Option<(&'static str, [f64; 4])> {
    match epsg {
        25832 => Some(("ETRS89 / UTM zone 32N", [6.0, 38.76, 12.0, 84.33])),
        25833 => Some(("ETRS89 / UTM zone 33N", [12.0, 34.79, 18.01, 84.42])),
        _ => None,
    }
}

/// ETRS89 / UTM (zone 32N or 33N) → (lon, lat) in degrees, by the Krüger series on GRS80 (no
/// PROJ needed; better than a millimetre inside the zone). `None` for other codes.
pub fn utm_to_lonlat(epsg: u32, x: f64, y: f64) -> Option<(f64, f64)> {
    let zone = match epsg {
        25832 => 32.0,
        25833 => 33.0,
        _ => return None,
    };
    let lon0 = (zone * 6.0 - 183.0_f64).to_radians();
    let a = 6_378_137.0;
    let f = 1.0 / 298.257_222_101;
    let n: f64 = f / (2.0 - f);
    let big_a = a / (1.0 + n) * (1.0 + n * n / 4.0 + n.powi(4) / 64.0);
    let beta = [
        n / 2.0 - 2.0 * n * n / 3.0 + 37.0 * n.powi(3) / 96.0,
        n * n / 48.0 + n.powi(3) / 15.0,
        17.0 * n.powi(3) / 480.0,
    ];
    let delta = [
        2.0 * n - 2.0 * n * n / 3.0 - 2.0 * n.powi(3),
        7.0 * n * n / 3.0 - 8.0 * n.powi(3) / 5.0,
        56.0 * n.powi(3) / 15.0,
    ];
    let k0 = 0.9996;
    let xi = y / (k0 * big_a);
    let eta = (x - 500_000.0) / (k0 * big_a);
    let mut xi1 = xi;
    let mut eta1 = eta;
    for (j, b) in beta.iter().enumerate() {
        let k = 2.0 * (j as f64 + 1.0);
        xi1 -= b * (k * xi).sin() * (k * eta).cosh();
        eta1 -= b * (k * xi).cos() * (k * eta).sinh();
    }
    let chi = (xi1.sin() / eta1.cosh()).asin();
    let mut phi = chi;
    for (j, d) in delta.iter().enumerate() {
        phi += d * (2.0 * (j as f64 + 1.0) * chi).sin();
    }
    let lon = lon0 + eta1.sinh().atan2(xi1.cos());
    let (lon, lat) = (lon.to_degrees(), phi.to_degrees());
    (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
}

/// How far (km) and in which direction (German) a point lies outside a box of degrees.
#[doc(hidden)] // public for tests/it/units
pub fn outside_box(lon: f64, lat: f64, b: [f64; 4]) -> (f64, &'static str) {
    let km_lat = 111.32;
    let km_lon = 111.32 * lat.clamp(-89.0, 89.0).to_radians().cos();
    let dx = if lon > b[2] {
        (lon - b[2]) * km_lon
    } else if lon < b[0] {
        (lon - b[0]) * km_lon
    } else {
        0.0
    };
    let dy = if lat > b[3] {
        (lat - b[3]) * km_lat
    } else if lat < b[1] {
        (lat - b[1]) * km_lat
    } else {
        0.0
    };
    let dir = if dx.abs() >= dy.abs() {
        if dx > 0.0 { "east" } else { "west" }
    } else if dy > 0.0 {
        "north"
    } else {
        "south"
    };
    (dx.hypot(dy), dir)
}

/// Checks coordinates already in the working CRS against its area of use (plus
/// [`AREA_OF_USE_MARGIN_KM`]). The error names the source, the CRS it was read in, and where
/// the farthest point ended up: `lon 34.1, lat 48.2: 2,012 km east of the area of use of
/// EPSG:25832 — wrong CRS?`.
pub fn check_area_of_use(
    working_epsg: u32,
    source_crs: &Crs,
    coords: impl IntoIterator<Item = (f64, f64)>,
) -> Result<(), String> {
    let Some((name, b)) = area_of_use(working_epsg) else {
        return Ok(());
    };
    let mut worst: Option<(f64, &'static str, f64, f64, f64, f64)> = None;
    let mut n_out = 0usize;
    for (x, y) in coords {
        let (dist, dir, lon, lat) = match utm_to_lonlat(working_epsg, x, y) {
            Some((lon, lat)) => {
                let (d, dir) = outside_box(lon, lat, b);
                (d, dir, lon, lat)
            }
            None => (f64::INFINITY, "far", f64::NAN, f64::NAN),
        };
        if dist > AREA_OF_USE_MARGIN_KM {
            n_out += 1;
            if worst.is_none_or(|w| dist > w.0) {
                worst = Some((dist, dir, lon, lat, x, y));
            }
        }
    }
    let Some((dist, dir, lon, lat, x, y)) = worst else {
        return Ok(());
    };
    let place = if lon.is_finite() {
        format!("lon {lon:.1}, lat {lat:.1}")
    } else {
        format!("x {x:.0}, y {y:.0}")
    };
    let how_far = if dist.is_finite() {
        format!("{} km {dir} of", crate::check::fmt_int(dist.round() as u64))
    } else {
        "nowhere near".to_string()
    };
    Err(format!(
        "{place}: {how_far} the area of use of EPSG:{working_epsg} — wrong CRS? ({name} covers {}° E to {}° E, {}° N to {}° N.) \
         The data were read as {} ({} coordinate(s) that far off); if that is not their CRS, set `crs = …` for this source \
         (an EPSG code, a WKT or a PROJ string; it overrides a .prj).",
        b[0],
        b[2],
        b[1],
        b[3],
        source_crs.describe(),
        crate::check::fmt_int(n_out as u64)
    ))
}

/// A rectangle of UTM 32N/33N coordinates (±300 km around the central meridian, about 40° to
/// 63° N: Germany and far around it) whose every point lies within the area of use plus
/// [`AREA_OF_USE_MARGIN_KM`] — by at least 20 km, as a test checks on a 2 km grid. Points in it
/// need no inverse projection (the trigonometry was a quarter of loading 2 million points).
#[doc(hidden)] // public for tests/it/units
pub fn surely_in_area_of_use(x: f64, y: f64) -> bool {
    (200_000.0..=800_000.0).contains(&x) && (4_400_000.0..=7_000_000.0).contains(&y)
}

/// [`check_area_of_use`] for `n` coordinates `at(i)`, on all cores: the inverse projection of
/// every point is most of the work; the few points beyond the margin are then reported in
/// order exactly as the sequential check does.
pub fn check_area_of_use_par(
    working_epsg: u32,
    source_crs: &Crs,
    n: usize,
    at: impl Fn(usize) -> (f64, f64) + Sync,
) -> Result<(), String> {
    use rayon::prelude::*;
    let Some((_, b)) = area_of_use(working_epsg) else {
        return Ok(());
    };
    let far: Vec<usize> = (0..n)
        .into_par_iter()
        .with_min_len(4096)
        .filter(|&i| {
            let (x, y) = at(i);
            if surely_in_area_of_use(x, y) {
                return false;
            }
            utm_to_lonlat(working_epsg, x, y)
                .is_none_or(|(lon, lat)| outside_box(lon, lat, b).0 > AREA_OF_USE_MARGIN_KM)
        })
        .collect();
    check_area_of_use(working_epsg, source_crs, far.into_iter().map(at))
}
