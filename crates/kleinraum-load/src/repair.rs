//! Geometry repair on request (`repair = true` on a level or Gebietsstand): invalid polygons —
//! typically a ring touching itself in a point, valid in the ESRI model and common in cadastre
//! exports — are made valid with GEOS MakeValid (through the system GDAL), and every repaired
//! area is listed with what changed.

use geo::{Area as _, MultiPolygon};
use serde::Serialize;

/// One area made valid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Repair {
    /// Level (or Gebietsstand) key.
    pub level: String,
    /// The file.
    pub source: String,
    /// 1-based feature number in the file.
    pub feature: usize,
    /// Area id.
    pub id: String,
    /// What was invalid (the `check` findings).
    pub problems: Vec<String>,
    /// Area before, m² (the rings' areas as drawn).
    pub area_before_m2: f64,
    /// Area after, m².
    pub area_after_m2: f64,
    /// Polygons (parts) before and after.
    pub parts_before: usize,
    /// Polygons after.
    pub parts_after: usize,
    /// Holes before and after.
    pub holes_before: usize,
    /// Holes after.
    pub holes_after: usize,
}

impl Repair {
    /// One line for people.
    pub fn describe(&self) -> String {
        format!(
            "{} (Objekt {} in {}): {}; Fläche vorher {} m², nachher {} m² (Δ {:+.1} m²); Teilflächen {} → {}, Löcher {} → {}",
            self.id,
            self.feature,
            self.source,
            self.problems.join("; "),
            crate::check::fmt_num(self.area_before_m2, 1),
            crate::check::fmt_num(self.area_after_m2, 1),
            self.area_after_m2 - self.area_before_m2,
            self.parts_before,
            self.parts_after,
            self.holes_before,
            self.holes_after
        )
    }
}

/// Area of a multipolygon as drawn: Σ |outer ring| − Σ |holes| (no overlay, so an invalid
/// input has an area too).
pub fn drawn_area(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(|p| p.unsigned_area()).sum()
}

/// Counts of parts and holes.
pub fn parts_and_holes(mp: &MultiPolygon<f64>) -> (usize, usize) {
    (mp.0.len(), mp.0.iter().map(|p| p.interiors().len()).sum())
}

/// Makes a polygon valid with GEOS MakeValid (`METHOD=STRUCTURE`: rings keep the area they
/// enclose, a self-touching ring becomes two polygons or a polygon with a hole). Only polygon
/// parts of the result are kept. Runs where GDAL is installed (see [`crate::backend`]).
#[cfg(feature = "gdal")]
pub fn make_valid(mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String> {
    match crate::backend::installed() {
        Some(gdal) => gdal.make_valid(mp),
        None => Err(format!("`repair = true`: {}", crate::backend::NOT_LOADED)),
    }
}

/// [`make_valid`] through the system GDAL in this process.
#[cfg(feature = "gdal")]
pub(crate) fn make_valid_with_gdal(mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String> {
    use gdal::cpl::CslStringList;
    use gdal::vector::ToGdal;
    let g = mp.to_gdal().map_err(|e| e.to_string())?;
    let mut opts = CslStringList::new();
    opts.set_name_value("METHOD", "STRUCTURE")
        .map_err(|e| e.to_string())?;
    let fixed = match g.make_valid(&opts) {
        Ok(f) => f,
        // GEOS before 3.10 knows only the default method.
        Err(_) => g
            .make_valid(&CslStringList::new())
            .map_err(|e| format!("MakeValid failed: {e}"))?,
    };
    let out = crate::ogr::convert_geometry(&fixed)?;
    let mut polys = Vec::new();
    collect_polygons(out, &mut polys);
    if polys.is_empty() {
        return Err("MakeValid left no polygon (the geometry has no area)".into());
    }
    Ok(MultiPolygon(polys))
}

#[cfg(feature = "gdal")]
fn collect_polygons(g: Option<geo::Geometry<f64>>, out: &mut Vec<geo::Polygon<f64>>) {
    match g {
        Some(geo::Geometry::Polygon(p)) => out.push(p),
        Some(geo::Geometry::MultiPolygon(mp)) => out.extend(mp.0),
        Some(geo::Geometry::GeometryCollection(gc)) => {
            for g in gc.0 {
                collect_polygons(Some(g), out);
            }
        }
        _ => {}
    }
}

/// Without GDAL there is no MakeValid.
#[cfg(not(feature = "gdal"))]
pub fn make_valid(_mp: &MultiPolygon<f64>) -> Result<MultiPolygon<f64>, String> {
    Err("`repair = true` needs kleinraum built with GDAL (feature `gdal`)".into())
}
