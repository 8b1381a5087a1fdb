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

/// The `coordinates` of a geometry as read in one pass, whatever the geometry type (which may
/// come after them): the positions in document order and, for each depth of nesting above
/// them, the number of elements of each array, in document order. The type then says how deep
/// the positions must be and how to assemble them.
#[derive(Default)]
struct Coords {
    positions: Vec<Coord<f64>>,
    /// `lens[d]`: element counts of the arrays at depth `d` (0 is `coordinates` itself).
    lens: [Vec<u32>; MAX_DEPTH],
    /// Depth of the position arrays (all the same), once one was seen.
    depth: Option<usize>,
}

/// Positions lie at most this deep (MultiPolygon: polygons, rings, positions).
const MAX_DEPTH: usize = 3;

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut c = Coords::default();
        d.deserialize_seq(ArrayVisitor {
            coords: &mut c,
            depth: 0,
        })?;
        Ok(c)
    }
}

/// Reads one array of `coordinates` at `depth`: a position if its first element is a number,
/// else an array of arrays.
struct ArrayVisitor<'c> {
    coords: &'c mut Coords,
    depth: usize,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of coordinates")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<(), A::Error> {
        let ArrayVisitor { coords, depth } = self;
        let first = s.next_element_seed(FirstElement {
            coords,
            depth: depth + 1,
        })?;
        match first {
            Some(First::Number(x)) => {
                let y: f64 = s
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("a position needs two numbers [x, y]"))?;
                while s.next_element::<IgnoredAny>()?.is_some() {}
                if *coords.depth.get_or_insert(depth) != depth {
                    return Err(de::Error::custom(
                        "positions are nested at different depths",
                    ));
                }
                coords.positions.push(Coord { x, y });
            }
            first => {
                let mut n = u32::from(first.is_some());
                while s
                    .next_element_seed(ArraySeed {
                        coords,
                        depth: depth + 1,
                    })?
                    .is_some()
                {
                    n += 1;
                }
                let lens = coords
                    .lens
                    .get_mut(depth)
                    .ok_or_else(|| de::Error::custom("coordinates nested too deeply"))?;
                lens.push(n);
            }
        }
        Ok(())
    }
}

/// An element after the first of an array of arrays.
struct ArraySeed<'c> {
    coords: &'c mut Coords,
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for ArraySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("coordinates nested too deeply"));
        }
        d.deserialize_seq(ArrayVisitor {
            coords: self.coords,
            depth: self.depth,
        })
    }
}

/// The first element of an array: a number (the array is a position) or an array.
enum First {
    Number(f64),
    Array,
}

struct FirstElement<'c> {
    coords: &'c mut Coords,
    depth: usize,
}

impl<'de> de::DeserializeSeed<'de> for FirstElement<'_> {
    type Value = First;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<First, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FirstElement<'_> {
    type Value = First;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or an array of coordinates")
    }
    fn visit_f64<E>(self, v: f64) -> Result<First, E> {
        Ok(First::Number(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<First, E> {
        Ok(First::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<First, E> {
        Ok(First::Number(v as f64))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<First, A::Error> {
        if self.depth > MAX_DEPTH {
            return Err(de::Error::custom("coordinates nested too deeply"));
        }
        ArrayVisitor {
            coords: self.coords,
            depth: self.depth,
        }
        .visit_seq(s)?;
        Ok(First::Array)
    }
}

/// Assembles read coordinates by geometry type: takes the arrays in document order.
struct Assemble<'c> {
    kind: &'c str,
    positions: std::vec::IntoIter<Coord<f64>>,
    lens: [std::vec::IntoIter<u32>; MAX_DEPTH],
}

impl<'c> Assemble<'c> {
    /// Checks that the positions lie `depth` deep, as the type `kind` needs.
    fn new(c: Coords, kind: &'c str, depth: usize) -> Result<Self, String> {
        if let Some(d) = c.depth.filter(|&d| d != depth) {
            let what = |d: usize| match d {
                0 => "a position",
                1 => "an array of positions",
                2 => "an array of arrays of positions",
                _ => "an array of arrays of arrays of positions",
            };
            return Err(format!(
                "{kind}: bad coordinates: expected {}, found positions {} deep",
                what(depth),
                d
            ));
        }
        // An empty array where positions lie would shift every later position.
        if c.lens
            .get(depth..)
            .is_some_and(|l| l.iter().any(|v| !v.is_empty()))
        {
            return Err(format!(
                "{kind}: bad coordinates: an empty array where a position [x, y] should be"
            ));
        }
        let [a, b, c2] = c.lens;
        Ok(Assemble {
            kind,
            positions: c.positions.into_iter(),
            lens: [a.into_iter(), b.into_iter(), c2.into_iter()],
        })
    }

    /// Element count of the next array at `depth`.
    fn len(&mut self, depth: usize) -> usize {
        self.lens[depth].next().unwrap_or(0) as usize
    }

    fn position(&mut self) -> Result<Coord<f64>, String> {
        self.positions
            .next()
            .ok_or_else(|| format!("{}: a position [x, y] is missing", self.kind))
    }

    fn positions(&mut self, depth: usize) -> Result<Vec<Coord<f64>>, String> {
        let n = self.len(depth);
        (0..n).map(|_| self.position()).collect()
    }

    fn ring(&mut self, depth: usize) -> Result<LineString<f64>, String> {
        let positions = self.positions(depth)?;
        // RFC 7946: a linear ring has at least four positions, the first equal to the last.
        if positions.len() < 4 {
            return Err(format!(
                "{}: a ring has {} positions; a closed ring needs at least 4",
                self.kind,
                positions.len()
            ));
        }
        Ok(LineString(positions))
    }

    fn polygon(&mut self, depth: usize) -> Result<Polygon<f64>, String> {
        let rings = self.len(depth);
        if rings == 0 {
            return Err(format!("{}: a polygon without rings", self.kind));
        }
        let exterior = self.ring(depth + 1)?;
        let interiors = (1..rings)
            .map(|_| self.ring(depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Polygon::new(exterior, interiors))
    }
}

#[derive(Deserialize)]
struct GeomJson<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    coordinates: Option<Coords>,
    #[serde(borrow, default)]
    geometries: Option<Vec<&'a RawValue>>,
}

/// Decodes one GeoJSON geometry object.
pub fn parse_geometry(text: &str) -> Result<Geometry<f64>, String> {
    let g: GeomJson<'_> =
        serde_json::from_str(text).map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
    let k = g.kind.as_str();
    let coords = |depth: usize| -> Result<Assemble<'_>, String> {
        let c = g
            .coordinates
            .ok_or_else(|| format!("{k} without \"coordinates\""))?;
        Assemble::new(c, k, depth)
    };
    Ok(match k {
        "Point" => Geometry::Point(Point(coords(0)?.position()?)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            coords(1)?.positions(0)?.into_iter().map(Point).collect(),
        )),
        "LineString" => Geometry::LineString(LineString(coords(1)?.positions(0)?)),
        "MultiLineString" => {
            let mut a = coords(2)?;
            let n = a.len(0);
            Geometry::MultiLineString(MultiLineString(
                (0..n)
                    .map(|_| a.positions(1).map(LineString))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        }
        "Polygon" => Geometry::Polygon(coords(2)?.polygon(0)?),
        "MultiPolygon" => {
            let mut a = coords(3)?;
            let n = a.len(0);
            Geometry::MultiPolygon(MultiPolygon(
                (0..n)
                    .map(|_| a.polygon(1))
                    .collect::<Result<Vec<_>, _>>()?,
            ))
        }
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
