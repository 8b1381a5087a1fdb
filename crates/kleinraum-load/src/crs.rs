//! Reprojection with PROJ, once at load.
//!
//! `proj::Proj::new_known_crs` normalises the axis order for visualisation, so geographic
//! coordinates are always (x = longitude, y = latitude) and projected ones (easting, northing).
//! PROJ picks the best available operation; with the `proj-data` grids installed that includes
//! BETA2007 for DHDN / Gauß-Krüger (EPSG:31466–31469), which gives millimetre agreement with
//! the official transformation. PROJ does not report a missing grid, so a test pins a reference.
//!
//! `proj::Proj` is neither `Send` nor `Sync`: create a `Reprojector` per thread or per call.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

/// The transformation engine: PROJ with the `proj` feature; without it only identities exist
/// (an uninhabited type, so no transformation can be constructed).
#[cfg(feature = "proj")]
type Backend = proj::Proj;
#[cfg(not(feature = "proj"))]
enum Backend {}

#[cfg(feature = "proj")]
fn convert(p: &Backend, xy: (f64, f64)) -> Result<(f64, f64), String> {
    p.convert(xy).map_err(|e| e.to_string())
}
#[cfg(not(feature = "proj"))]
fn convert(p: &Backend, _: (f64, f64)) -> Result<(f64, f64), String> {
    match *p {}
}

#[cfg(feature = "proj")]
fn convert_array(p: &Backend, pts: &mut [(f64, f64)]) -> Result<(), String> {
    p.convert_array(pts).map(|_| ()).map_err(|e| e.to_string())
}
#[cfg(not(feature = "proj"))]
fn convert_array(p: &Backend, _: &mut [(f64, f64)]) -> Result<(), String> {
    match *p {}
}

#[cfg(feature = "proj")]
fn backend(from: u32, to: u32) -> Result<Backend, String> {
    proj::Proj::new_known_crs(&format!("EPSG:{from}"), &format!("EPSG:{to}"), None)
        .map_err(|e| format!("PROJ cannot transform EPSG:{from} to EPSG:{to}: {e}"))
}
#[cfg(not(feature = "proj"))]
fn backend(from: u32, to: u32) -> Result<Backend, String> {
    Err(format!(
        "cannot transform EPSG:{from} to EPSG:{to}: kleinraum-load was built without the `proj` feature"
    ))
}

/// Transforms coordinates from one EPSG CRS to another. EPSG:4326 is read as (lon, lat).
pub struct Reprojector {
    from: u32,
    to: u32,
    /// `None` when source and target are the same CRS.
    proj: Option<Backend>,
}

impl std::fmt::Debug for Reprojector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reprojector(EPSG:{} -> EPSG:{})", self.from, self.to)
    }
}

impl Reprojector {
    /// A transformation between two EPSG codes. Same code: identity without PROJ.
    pub fn new(from_epsg: u32, to_epsg: u32) -> Result<Reprojector, String> {
        if from_epsg == to_epsg {
            return Ok(Reprojector {
                from: from_epsg,
                to: to_epsg,
                proj: None,
            });
        }
        let proj = backend(from_epsg, to_epsg)?;
        Ok(Reprojector {
            from: from_epsg,
            to: to_epsg,
            proj: Some(proj),
        })
    }

    /// True if no transformation happens.
    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// Source EPSG code.
    pub fn from_epsg(&self) -> u32 {
        self.from
    }

    /// Target EPSG code.
    pub fn to_epsg(&self) -> u32 {
        self.to
    }

    fn bad(&self, x: f64, y: f64, why: &str) -> String {
        format!(
            "coordinate ({x}, {y}) cannot be transformed from EPSG:{} to EPSG:{}{why}",
            self.from, self.to
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
        if let Err(e) = convert_array(p, pts) {
            // Find the culprit for the message: the batch error does not say which point.
            return Err(
                match pts.iter().find(|(x, y)| convert(p, (*x, *y)).is_err()) {
                    Some((x, y)) => self.bad(*x, *y, &format!(": {e}")),
                    None => format!("EPSG:{} -> EPSG:{}: {e}", self.from, self.to),
                },
            );
        }
        if let Some((i, _)) = pts
            .iter()
            .enumerate()
            .find(|(_, (x, y))| !x.is_finite() || !y.is_finite())
        {
            return Err(format!(
                "point {} cannot be transformed from EPSG:{} to EPSG:{} (out of the CRS's area?)",
                i + 1,
                self.from,
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
/// (`proj::Proj` is not `Send`). It is the Gebietsstände' [`Projector`] (WGS 84) and the
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
