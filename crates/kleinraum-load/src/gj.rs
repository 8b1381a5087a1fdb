//! GeoJSON reader (`.geojson`, `.json`, and their gzip variants).
//!
//! The whole document is parsed once with serde_json; each feature's geometry is kept as raw
//! JSON and decoded on its own, so a broken geometry is reported with its feature number instead
//! of as an anonymous position in the file.

use crate::error::LoadError;
use crate::features::{PropValue, RawFeature, RawLayer};
use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// Reads a GeoJSON FeatureCollection. A gzip file (`.gz`, or gzip magic bytes) is decompressed
/// in memory.
///
/// The CRS is taken from the legacy `crs` member (`urn:ogc:def:crs:OGC:1.3:CRS84`,
/// `urn:ogc:def:crs:EPSG::25833`, `EPSG:25833`); without it the file is EPSG:4326 (lon/lat),
/// as RFC 7946 prescribes.
pub fn read(path: &Path) -> Result<RawLayer, LoadError> {
    let bytes = read_maybe_gz(path)?;
    parse(path, &bytes)
}

/// Reads a file fully, decompressing gzip when the file starts with the gzip magic bytes.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, LoadError> {
    let raw = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 5);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| LoadError::Format {
                path: path.to_path_buf(),
                message: format!("gzip data is broken or truncated: {e}"),
            })?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses GeoJSON text; `path` is only used in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<RawLayer, LoadError> {
    let format_err = |message: String| LoadError::Format {
        path: path.to_path_buf(),
        message,
    };
    let doc: Collection<'_> =
        serde_json::from_slice(bytes).map_err(|e| format_err(format!("invalid GeoJSON: {e}")))?;
    match doc.kind.as_deref() {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(format_err(format!(
                "expected a GeoJSON FeatureCollection, found type {other:?}"
            )));
        }
        None => {
            return Err(format_err(
                "not GeoJSON: the top-level \"type\" is missing".into(),
            ));
        }
    }
    let epsg = match &doc.crs {
        None | Some(serde_json::Value::Null) => 4326,
        Some(v) => crs_member_epsg(v).map_err(|message| LoadError::Crs {
            path: path.to_path_buf(),
            message,
        })?,
    };
    let src_features = doc
        .features
        .ok_or_else(|| format_err("the FeatureCollection has no \"features\" array".into()))?;

    // The geometries (most of the bytes) are decoded on all cores; the first error in feature
    // order is reported, as a sequential loop would.
    use rayon::prelude::*;
    let geometries: Vec<Option<Geometry<f64>>> = src_features
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            f.geometry
                .map(|raw| {
                    parse_geometry(raw.get()).map_err(|message| LoadError::Feature {
                        path: path.to_path_buf(),
                        feature: (i + 1).to_string(),
                        field: "geometry".into(),
                        message,
                    })
                })
                .transpose()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let mut fields: Vec<String> = Vec::new();
    let mut features = Vec::with_capacity(src_features.len());
    for (f, geometry) in src_features.into_iter().zip(geometries) {
        let mut props = std::collections::BTreeMap::new();
        for (k, v) in f.properties.map(|p| p.0).unwrap_or_default() {
            // Fields in first-seen order; the list is short, a linear scan is fine.
            if !fields.contains(&k) {
                fields.push(k.clone());
            }
            props.insert(k, v);
        }
        features.push(RawFeature { geometry, props });
    }
    Ok(RawLayer {
        source: path.to_string_lossy().into_owned(),
        epsg: Some(epsg),
        wkt: None,
        fields,
        features,
    })
}

/// EPSG code of a CRS name as written in GeoJSON / OGC URNs / URLs. CRS84 maps to 4326 (both
/// are read with x = longitude).
pub fn epsg_from_name(name: &str) -> Option<u32> {
    let n = name.trim();
    let upper = n.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Some(4326);
    }
    if !upper.contains("EPSG") {
        return None;
    }
    let last = n.rsplit([':', '/']).next()?;
    last.trim().parse().ok()
}

fn crs_member_epsg(v: &serde_json::Value) -> Result<u32, String> {
    let name = v
        .get("properties")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .ok_or_else(|| {
            format!("the \"crs\" member is not a named CRS ({v}); remove it or use a name like \"urn:ogc:def:crs:EPSG::25833\"")
        })?;
    epsg_from_name(name)
        .ok_or_else(|| format!("unsupported CRS name {name:?} in the \"crs\" member"))
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    crs: Option<serde_json::Value>,
    #[serde(borrow, default)]
    features: Option<Vec<FeatureJson<'a>>>,
}

#[derive(Deserialize)]
struct FeatureJson<'a> {
    #[serde(default)]
    properties: Option<Props>,
    #[serde(borrow, default)]
    geometry: Option<&'a RawValue>,
}

/// Properties in source order.
struct Props(Vec<(String, PropValue)>);

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of properties")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Props, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some((k, v)) = m.next_entry::<String, Pv>()? {
                    out.push((k, v.0));
                }
                Ok(Props(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// One property value; nested arrays/objects are kept as their JSON text.
struct Pv(PropValue);

impl<'de> Deserialize<'de> for Pv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pv;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property value")
            }
            fn visit_unit<E>(self) -> Result<Pv, E> {
                Ok(Pv(PropValue::Null))
            }
            fn visit_none<E>(self) -> Result<Pv, E> {
                Ok(Pv(PropValue::Null))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Pv, E> {
                Ok(Pv(PropValue::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Pv, E> {
                Ok(Pv(PropValue::Int(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Pv, E> {
                Ok(Pv(match i64::try_from(v) {
                    Ok(i) => PropValue::Int(i),
                    Err(_) => PropValue::Float(v as f64),
                }))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Pv, E> {
                Ok(Pv(PropValue::Float(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Pv, E> {
                Ok(Pv(PropValue::Text(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Pv, E> {
                Ok(Pv(PropValue::Text(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Pv, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(s))?;
                Ok(Pv(PropValue::Text(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Pv, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(Pv(PropValue::Text(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// A position: x, y and any further ordinates (ignored).
struct Pos(Coord<f64>);

impl<'de> Deserialize<'de> for Pos {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pos;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a position [x, y]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Pos, A::Error> {
                let x: f64 = s
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let y: f64 = s
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Pos(Coord { x, y }))
            }
        }
        d.deserialize_seq(V)
    }
}

#[derive(Deserialize)]
struct GeomJson<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow, default)]
    coordinates: Option<&'a RawValue>,
    #[serde(borrow, default)]
    geometries: Option<Vec<&'a RawValue>>,
}

fn coords<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>, kind: &str) -> Result<T, String> {
    let raw = raw.ok_or_else(|| format!("{kind} without \"coordinates\""))?;
    serde_json::from_str(raw.get()).map_err(|e| format!("{kind}: bad coordinates: {e}"))
}

fn ring(positions: Vec<Pos>, kind: &str) -> Result<LineString<f64>, String> {
    // RFC 7946: a linear ring has at least four positions, the first equal to the last.
    if positions.len() < 4 {
        return Err(format!(
            "{kind}: a ring has {} positions; a closed ring needs at least 4",
            positions.len()
        ));
    }
    Ok(LineString(positions.into_iter().map(|p| p.0).collect()))
}

fn polygon(rings: Vec<Vec<Pos>>, kind: &str) -> Result<Polygon<f64>, String> {
    let mut it = rings.into_iter();
    let exterior = ring(
        it.next()
            .ok_or_else(|| format!("{kind}: a polygon without rings"))?,
        kind,
    )?;
    let interiors = it.map(|r| ring(r, kind)).collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

/// Decodes one GeoJSON geometry object.
pub fn parse_geometry(text: &str) -> Result<Geometry<f64>, String> {
    let g: GeomJson<'_> =
        serde_json::from_str(text).map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    let k = g.kind.as_str();
    Ok(match k {
        "Point" => Geometry::Point(Point(coords::<Pos>(g.coordinates, k)?.0)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            coords::<Vec<Pos>>(g.coordinates, k)?
                .into_iter()
                .map(|p| Point(p.0))
                .collect(),
        )),
        "LineString" => Geometry::LineString(LineString(
            coords::<Vec<Pos>>(g.coordinates, k)?
                .into_iter()
                .map(|p| p.0)
                .collect(),
        )),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            coords::<Vec<Vec<Pos>>>(g.coordinates, k)?
                .into_iter()
                .map(|l| LineString(l.into_iter().map(|p| p.0).collect()))
                .collect(),
        )),
        "Polygon" => Geometry::Polygon(polygon(coords(g.coordinates, k)?, k)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            coords::<Vec<Vec<Vec<Pos>>>>(g.coordinates, k)?
                .into_iter()
                .map(|p| polygon(p, k))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        "GeometryCollection" => Geometry::GeometryCollection(GeometryCollection(
            g.geometries
                .ok_or("GeometryCollection without \"geometries\"")?
                .into_iter()
                .map(|r| parse_geometry(r.get()))
                .collect::<Result<Vec<_>, _>>()?,
        )),
        other => return Err(format!("unknown geometry type {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_map_to_epsg_codes() {
        assert_eq!(epsg_from_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
        assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG::25833"), Some(25833));
        assert_eq!(epsg_from_name("EPSG:25832"), Some(25832));
        assert_eq!(
            epsg_from_name("http://www.opengis.net/def/crs/EPSG/0/3035"),
            Some(3035)
        );
        assert_eq!(epsg_from_name("WGS84"), None);
    }

    #[test]
    fn polygon_with_hole_and_props_in_order() {
        let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"z":"01","a":3,"b":2.5,"c":null,"d":[1,2]},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
            [[2,2],[3,2],[3,3],[2,2]]]}}]}"#;
        let l = parse(Path::new("t.geojson"), text.as_bytes()).unwrap();
        assert_eq!(l.epsg, Some(4326));
        assert_eq!(l.fields, ["z", "a", "b", "c", "d"]);
        let f = &l.features[0];
        assert_eq!(f.props["z"], PropValue::Text("01".into()));
        assert_eq!(f.props["a"], PropValue::Int(3));
        assert_eq!(f.props["d"], PropValue::Text("[1,2]".into()));
        match &f.geometry {
            Some(Geometry::Polygon(p)) => assert_eq!(p.interiors().len(), 1),
            g => panic!("unexpected {g:?}"),
        }
    }
}
