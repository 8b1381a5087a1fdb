//! The format-neutral feature record every reader (GeoJSON, Shapefile, OGR) produces, before
//! fields are picked and coordinates reprojected.

use std::collections::BTreeMap;

/// An attribute value as the source holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// Null / missing.
    Null,
    /// Text (already decoded to UTF-8).
    Text(String),
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Boolean.
    Bool(bool),
}

impl PropValue {
    /// The value as text, for ids and names. Integers print without decimals, so a numeric id
    /// field still yields `"11"`; leading zeros are only kept where the source stores text.
    pub fn as_text(&self) -> Option<String> {
        match self {
            PropValue::Null => None,
            PropValue::Text(s) => Some(s.clone()),
            PropValue::Int(i) => Some(i.to_string()),
            PropValue::Float(f) => Some(if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }),
            PropValue::Bool(b) => Some(b.to_string()),
        }
    }

    /// The value as a number (text is parsed, accepting a decimal comma).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            PropValue::Null => None,
            PropValue::Int(i) => Some(*i as f64),
            PropValue::Float(f) => Some(*f),
            PropValue::Bool(_) => None,
            PropValue::Text(s) => {
                let t = s.trim();
                if t.is_empty() {
                    return None;
                }
                t.parse::<f64>()
                    .ok()
                    .or_else(|| t.replace('.', "").replace(',', ".").parse().ok())
            }
        }
    }
}

impl RawLayer {
    /// The layer's CRS: `configured` (it overrides the source's declaration), else the EPSG
    /// code the source declares, else its WKT.
    pub fn crs(&self, configured: Option<&crate::crs::Crs>) -> Option<crate::crs::Crs> {
        configured
            .cloned()
            .or(self.epsg.map(crate::crs::Crs::Epsg))
            .or_else(|| self.wkt.clone().map(crate::crs::Crs::Definition))
    }
}

/// One feature of a source layer.
#[derive(Debug, Clone, PartialEq)]
pub struct RawFeature {
    /// Geometry in the source CRS, (x, y) = (easting, northing) or (lon, lat).
    pub geometry: Option<geo::Geometry<f64>>,
    /// Attributes by field name.
    pub props: BTreeMap<String, PropValue>,
}

/// A source layer as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLayer {
    /// Where it came from (file path, or connection string without password).
    pub source: String,
    /// EPSG code the source declares (CRS84 and EPSG:4326 are both 4326, axis order lon/lat).
    pub epsg: Option<u32>,
    /// The source's CRS definition where it maps to no EPSG code (a `.prj` WKT that PROJ can
    /// still transform from).
    pub wkt: Option<String>,
    /// Field names in source order.
    pub fields: Vec<String>,
    /// The features.
    pub features: Vec<RawFeature>,
}

/// Reads any supported layer: `.geojson`/`.json` (also gzipped) with the GeoJSON reader,
/// `.shp` with the Shapefile reader, anything else (GeoPackage, `PG:` connection strings, …)
/// through GDAL/OGR when the `gdal` feature is on.
///
/// `layer` selects a layer of a multi-layer source (GDAL only); `encoding` is the DBF encoding
/// of a Shapefile without `.cpg`.
pub fn read_layer(
    source: &str,
    layer: Option<&str>,
    encoding: Option<&str>,
) -> Result<RawLayer, crate::LoadError> {
    match SourceKind::of(source) {
        SourceKind::GeoJson => crate::gj::read(std::path::Path::new(source)),
        SourceKind::Shapefile => crate::shp::read(std::path::Path::new(source), encoding),
        SourceKind::Csv => Err(crate::LoadError::Format {
            path: source.into(),
            message: "a CSV file is not a geometry layer; give its coordinate columns with `x`, `y` and `crs`".into(),
        }),
        SourceKind::Ogr => read_other(source, layer),
    }
}

/// Which reader a layer source goes to, by its extension (connection strings go to OGR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `.geojson`, `.json`, also gzipped: kleinraum's own reader.
    GeoJson,
    /// `.shp`: kleinraum's own reader.
    Shapefile,
    /// `.csv`, `.csv.gz`: a table, not a geometry layer.
    Csv,
    /// Anything else (GeoPackage, `PG:` connection strings, FlatGeobuf, …): GDAL/OGR.
    Ogr,
}

impl SourceKind {
    /// The kind of `source`.
    pub fn of(source: &str) -> SourceKind {
        if crate::config::is_connection_string(source) {
            return SourceKind::Ogr;
        }
        let lower = source.to_ascii_lowercase();
        let ends = |exts: &[&str]| exts.iter().any(|ext| lower.ends_with(ext));
        if ends(&[".geojson", ".json", ".geojson.gz", ".json.gz"]) {
            SourceKind::GeoJson
        } else if ends(&[".shp"]) {
            SourceKind::Shapefile
        } else if ends(&[".csv", ".csv.gz"]) {
            SourceKind::Csv
        } else {
            SourceKind::Ogr
        }
    }
}

#[cfg(feature = "gdal")]
fn read_other(source: &str, layer: Option<&str>) -> Result<RawLayer, crate::LoadError> {
    match crate::backend::installed() {
        Some(gdal) => gdal.read(source, layer),
        None => Err(crate::LoadError::Format {
            path: crate::ogr::mask_password(source).into(),
            message: crate::backend::NOT_LOADED.into(),
        }),
    }
}

#[cfg(not(feature = "gdal"))]
fn read_other(source: &str, _layer: Option<&str>) -> Result<RawLayer, crate::LoadError> {
    Err(crate::LoadError::Format {
        path: source.into(),
        message: "unsupported format: without the `gdal` feature kleinraum reads GeoJSON (.geojson, .json, .geojson.gz), Shapefile (.shp) and CSV; rebuild with `--features gdal` for GeoPackage, PostGIS and other OGR sources".into(),
    })
}
