//! GeoJSON reader (`.geojson`, `.json`, and their gzip variants).
//!
//! The document's structure is read by a small strict JSON scanner of its own ([`Json`]): a
//! boundary file is mostly coordinates, and a general JSON parser spends its time checking and
//! converting each number once while skipping the geometry and again while decoding it. Here
//! the features are found in one sequential pass that only matches brackets inside a geometry;
//! each feature's geometry (validated fully, numbers parsed exactly) and properties (through
//! serde_json) are then decoded on all cores, so a broken geometry is reported with its feature
//! number instead of as an anonymous position in the file.

use crate::error::LoadError;
use crate::features::{PropValue, RawFeature, RawLayer};
use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
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
    let doc = read_collection(bytes).map_err(|e| format_err(format!("invalid GeoJSON: {e}")))?;
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
    let epsg = match doc.crs {
        None => 4326,
        Some(text) => {
            let v: serde_json::Value = serde_json::from_slice(text)
                .map_err(|e| format_err(format!("invalid GeoJSON: the \"crs\" member: {e}")))?;
            crs_member_epsg(&v).map_err(|message| LoadError::Crs {
                path: path.to_path_buf(),
                message,
            })?
        }
    };
    let src_features = doc
        .features
        .ok_or_else(|| format_err("the FeatureCollection has no \"features\" array".into()))?;

    // Geometries (most of the bytes) and properties are decoded on all cores; the first error
    // in feature order is reported, as a sequential loop would.
    use rayon::prelude::*;
    let feature_err = |i: usize, field: &str, message: String| LoadError::Feature {
        path: path.to_path_buf(),
        feature: (i + 1).to_string(),
        field: field.into(),
        message,
    };
    let decoded: Vec<(Props, Option<Geometry<f64>>)> = src_features
        .par_iter()
        .enumerate()
        .map(|(i, f)| {
            let props = match f.properties {
                None => Props(Vec::new()),
                Some(text) => serde_json::from_slice::<Props>(text)
                    .map_err(|e| feature_err(i, "properties", e.to_string()))?,
            };
            let geometry = f
                .geometry
                .map(|text| geometry_from_bytes(text).map_err(|m| feature_err(i, "geometry", m)))
                .transpose()?;
            Ok((props, geometry))
        })
        .collect::<Result<_, LoadError>>()?;
    let mut fields: Vec<String> = Vec::new();
    let mut features = Vec::with_capacity(decoded.len());
    for (props_in_order, geometry) in decoded {
        let mut props = std::collections::BTreeMap::new();
        for (k, v) in props_in_order.0 {
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
        self.list(n, Self::position)
    }

    /// `n` values read by `read`, into a vector sized once: collected through `Result` the
    /// vector doubled from 4, and the copies of a 5,000-polygon file were 24 MB of fresh heap
    /// for its 13 MB of rings. Never more room than positions are left (each value takes one).
    fn list<T>(
        &mut self,
        n: usize,
        mut read: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        let mut out = Vec::with_capacity(n.min(self.positions.len()));
        for _ in 0..n {
            out.push(read(self)?);
        }
        Ok(out)
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
        let interiors = self.list(rings - 1, |a| a.ring(depth + 1))?;
        Ok(Polygon::new(exterior, interiors))
    }
}

/// Decodes one GeoJSON geometry object.
pub fn parse_geometry(text: &str) -> Result<Geometry<f64>, String> {
    geometry_from_bytes(text.as_bytes())
}

/// The members of a geometry object that matter.
struct GeomJson<'a> {
    kind: String,
    coordinates: Option<Coords>,
    /// The member geometries of a GeometryCollection, as text.
    geometries: Option<Vec<&'a [u8]>>,
}

fn geometry_from_bytes(text: &[u8]) -> Result<Geometry<f64>, String> {
    let g = read_geometry(text).map_err(|e| format!("not a GeoJSON geometry: {e}"))?;
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
                a.list(n, |a| a.positions(1).map(LineString))?,
            ))
        }
        "Polygon" => Geometry::Polygon(coords(2)?.polygon(0)?),
        "MultiPolygon" => {
            let mut a = coords(3)?;
            let n = a.len(0);
            Geometry::MultiPolygon(MultiPolygon(a.list(n, |a| a.polygon(1))?))
        }
        "GeometryCollection" => Geometry::GeometryCollection(GeometryCollection(
            g.geometries
                .ok_or("GeometryCollection without \"geometries\"")?
                .into_iter()
                .map(geometry_from_bytes)
                .collect::<Result<Vec<_>, _>>()?,
        )),
        other => return Err(format!("unknown geometry type {other:?}")),
    })
}

/// What the sequential pass finds in a FeatureCollection.
struct CollectionJson<'a> {
    kind: Option<String>,
    /// The `crs` member's text (not `null`).
    crs: Option<&'a [u8]>,
    features: Option<Vec<FeatureJson<'a>>>,
}

/// A feature's members that matter, as text (`null` is `None`).
struct FeatureJson<'a> {
    properties: Option<&'a [u8]>,
    geometry: Option<&'a [u8]>,
}

/// How deep values may nest (serde_json's limit too).
const MAX_NESTING: usize = 128;

/// A strict JSON scanner over bytes (RFC 8259): it reads the structure GeoJSON needs and skips
/// (but checks) the rest. Errors name the line and column.
struct Json<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Json<'a> {
    fn new(b: &'a [u8]) -> Self {
        Json { b, i: 0 }
    }

    fn err(&self, what: &str) -> String {
        let at = self.i.min(self.b.len());
        let before = &self.b[..at];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        format!("{what} at line {line} column {column}")
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else if self.i >= self.b.len() {
            Err(self.err("EOF while parsing a value"))
        } else {
            Err(self.err(what))
        }
    }

    /// After the last value: only whitespace may follow.
    fn end(&mut self) -> Result<(), String> {
        self.ws();
        if self.i < self.b.len() {
            return Err(self.err("trailing characters"));
        }
        Ok(())
    }

    /// A string's raw content (between the quotes, escapes undecoded), checked.
    fn string_raw(&mut self) -> Result<&'a [u8], String> {
        self.expect(b'"', "expected a string")?;
        let start = self.i;
        loop {
            match self.b.get(self.i) {
                None => return Err(self.err("EOF while parsing a string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(&self.b[start..self.i - 1]);
                }
                Some(b'\\') => match self.b.get(self.i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                    Some(b'u')
                        if self
                            .b
                            .get(self.i + 2..self.i + 6)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        self.i += 6
                    }
                    _ => return Err(self.err("invalid escape")),
                },
                Some(&c) if c < 0x20 => {
                    return Err(self
                        .err("control character (\\u0000-\\u001F) found while parsing a string"));
                }
                Some(_) => self.i += 1,
            }
        }
    }

    /// A string, decoded.
    fn string(&mut self) -> Result<Cow<'a, str>, String> {
        let start = self.i;
        let raw = self.string_raw()?;
        if raw.contains(&b'\\') {
            serde_json::from_slice::<String>(&self.b[start..self.i])
                .map(Cow::Owned)
                .map_err(|e| self.err(&format!("invalid string ({e})")))
        } else {
            std::str::from_utf8(raw)
                .map(Cow::Borrowed)
                .map_err(|_| self.err("invalid UTF-8 in a string"))
        }
    }

    /// A number's text, checked against the JSON grammar.
    fn number_raw(&mut self) -> Result<&'a [u8], String> {
        let start = self.i;
        self.number_parts()?;
        Ok(&self.b[start..self.i])
    }

    /// Reads a number checking the JSON grammar, in one pass, with its digits as an integer.
    fn number_parts(&mut self) -> Result<NumberParts, String> {
        let (b, mut i) = (self.b, self.i);
        let mut acc = Digits::default();
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            // A leading zero stands alone (and adds nothing to the mantissa).
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = acc.read(b, i),
            _ => {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        let mut frac = 0;
        if b.get(i) == Some(&b'.') {
            let from = acc.n;
            i = acc.read(b, i + 1);
            frac = acc.n - from;
            if frac == 0 {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = b.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let from = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == from {
                self.i = i;
                return Err(self.err("invalid number"));
            }
        }
        self.i = i;
        let mant = if acc.n <= 19 {
            u128::from(acc.hi)
        } else {
            u128::from(acc.hi) * u128::from(POW10_INT[acc.n.min(38) - 19]) + u128::from(acc.lo)
        };
        Ok(NumberParts {
            mant,
            ndigits: acc.n,
            frac,
            exponent,
        })
    }

    /// A number, correctly rounded to the nearest `f64`.
    fn number(&mut self) -> Result<f64, String> {
        let start = self.i;
        let p = self.number_parts()?;
        let exact = if p.exponent || p.ndigits > 38 || p.frac > 19 {
            None
        } else if p.mant <= 1 << 53 {
            // A mantissa up to 2^53 divided by an exact power of ten is correctly rounded.
            Some(p.mant as u64 as f64 / crate::table::POW10[p.frac])
        } else {
            nearest_quotient(p.mant, POW10_INT[p.frac])
        };
        let x = match exact {
            Some(x) if self.b[start] == b'-' => -x,
            Some(x) => x,
            // The grammar was checked: ASCII, in a form `str::parse` reads.
            None => std::str::from_utf8(&self.b[start..self.i])
                .ok()
                .and_then(|t| t.parse::<f64>().ok())
                .ok_or_else(|| self.err("invalid number"))?,
        };
        if !x.is_finite() {
            return Err(self.err("number out of range"));
        }
        Ok(x)
    }

    /// `None` for `null`, else what `read` reads.
    fn nullable<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        if self.null() {
            Ok(None)
        } else {
            read(self).map(Some)
        }
    }

    /// `null` if it comes next (consumed).
    fn null(&mut self) -> bool {
        if self.b[self.i.min(self.b.len())..].starts_with(b"null") {
            self.i += 4;
            true
        } else {
            false
        }
    }

    /// Skips one value, checking it; `depth` is its nesting.
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        match self.peek() {
            Some(b'{') => {
                self.object(depth, |s, _| s.skip(depth + 1))?;
            }
            Some(b'[') => {
                self.array(depth, |s| s.skip(depth + 1))?;
            }
            Some(b'"') => {
                self.string_raw()?;
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number_raw()?;
            }
            _ => {
                let rest = &self.b[self.i..];
                let n = [&b"true"[..], b"false", b"null"]
                    .into_iter()
                    .find(|w| rest.starts_with(w))
                    .ok_or_else(|| self.err("expected value"))?
                    .len();
                self.i += n;
            }
        }
        Ok(())
    }

    /// One value's text, skipped and checked.
    fn value(&mut self, depth: usize) -> Result<&'a [u8], String> {
        let start = self.i;
        self.skip(depth)?;
        Ok(&self.b[start..self.i])
    }

    /// An object's or array's text, found by matching brackets outside strings only: its
    /// content is left for a strict reader of that text. Anything else is read as by
    /// [`Json::value`].
    fn bracketed(&mut self, depth: usize) -> Result<&'a [u8], String> {
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return self.value(depth);
        }
        let start = self.i;
        let mut open = 0usize;
        loop {
            self.i = next_structural(self.b, self.i);
            let Some(&c) = self.b.get(self.i) else { break };
            self.i += 1;
            match c {
                b'{' | b'[' => open += 1,
                b'}' | b']' => {
                    open -= 1;
                    if open == 0 {
                        return Ok(&self.b[start..self.i]);
                    }
                }
                _ => {
                    // A string: to the closing quote, past escaped characters.
                    loop {
                        let rest = self.b.get(self.i..).unwrap_or_default();
                        match memchr::memchr2(b'"', b'\\', rest) {
                            None => {
                                self.i = self.b.len();
                                break;
                            }
                            Some(k) if self.b[self.i + k] == b'"' => {
                                self.i += k + 1;
                                break;
                            }
                            Some(k) => self.i += k + 2,
                        }
                    }
                }
            }
        }
        self.i = self.b.len();
        Err(self.err("EOF while parsing a value"))
    }

    /// Reads an object: `member` is called with each key, positioned at its value, which it
    /// must consume.
    fn object(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<(), String>,
    ) -> Result<(), String> {
        self.container(depth, b'{', b'}', |s| {
            let key = s.string()?;
            s.ws();
            s.expect(b':', "expected `:`")?;
            s.ws();
            member(s, key)
        })
    }

    /// Reads an array: `element` is called positioned at each element, which it must consume.
    fn array(
        &mut self,
        depth: usize,
        element: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        self.container(depth, b'[', b']', element)
    }

    /// An object or array between `open` and `close`: `item` reads each member or element.
    fn container(
        &mut self,
        depth: usize,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        if depth >= MAX_NESTING {
            return Err(self.err("recursion limit exceeded"));
        }
        let (what, next) = if open == b'{' {
            ("an object", "expected `,` or `}`")
        } else {
            ("a list", "expected `,` or `]`")
        };
        self.expect(open, &format!("expected {what}"))?;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                None => return Err(self.err(&format!("EOF while parsing {what}"))),
                _ => return Err(self.err(next)),
            }
        }
    }
}

/// A JSON number as read: its digits (up to 38 of them) as an integer, how many digits it has,
/// how many of them follow the point, and whether an exponent follows.
struct NumberParts {
    mant: u128,
    ndigits: usize,
    frac: usize,
    exponent: bool,
}

/// 10^k for k up to 19 (all that fit in a u64).
const POW10_INT: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut k = 1;
    while k < 20 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// The digits of a number read so far: the first 19 in `hi`, the next 19 in `lo` (38 digits
/// fit in a u128), and how many there are (also past 38).
#[derive(Default)]
struct Digits {
    hi: u64,
    lo: u64,
    n: usize,
}

impl Digits {
    /// Reads the run of digits at `i`; returns where it ends. Eight digits at a time while
    /// they fit in `hi`.
    #[inline]
    fn read(&mut self, b: &[u8], mut i: usize) -> usize {
        let (mut hi, mut n) = (self.hi, self.n);
        while n + 8 <= 19
            && let Some(v) = b.get(i..i + 8).and_then(eight_digits)
        {
            hi = hi * 100_000_000 + v;
            n += 8;
            i += 8;
        }
        let mut lo = self.lo;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            let d = u64::from(c - b'0');
            if n < 19 {
                hi = hi * 10 + d;
            } else if n < 38 {
                lo = lo * 10 + d;
            }
            n += 1;
            i += 1;
        }
        (self.hi, self.lo, self.n) = (hi, lo, n);
        i
    }
}

/// Eight ASCII digits as their number, `None` if one is not a digit (the SWAR method of
/// fast_float, as in the standard library's float parser).
#[inline]
fn eight_digits(b: &[u8]) -> Option<u64> {
    let v = u64::from_le_bytes(b.try_into().ok()?);
    let above = v.wrapping_add(0x4646_4646_4646_4646);
    let below = v.wrapping_sub(0x3030_3030_3030_3030);
    if (above | below) & 0x8080_8080_8080_8080 != 0 {
        return None;
    }
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = below * 10 + (below >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    Some(u64::from((v1.wrapping_add(v2) >> 32) as u32))
}

/// `m / d` rounded to the nearest `f64` (ties to even), `None` where that is not done here (the
/// quotient at or above 2^64, or `m` zero). GDAL writes coordinates with up to 22 digits, past
/// the 19 of a u64 where `str::parse` takes its slow path: an integer division is exact.
fn nearest_quotient(m: u128, d: u64) -> Option<f64> {
    let d = u128::from(d);
    let (bm, bd) = (128 - m.leading_zeros(), 128 - d.leading_zeros());
    // A quotient of 63 to 65 bits: `m << s` stays below 2^(64 + bd) <= 2^128.
    let s = (64 + bd).checked_sub(bm)?;
    if m == 0 || s >= 128 {
        return None;
    }
    let scaled = m << s;
    let q = scaled / d;
    let r = scaled - q * d;
    // Round q's bits below the top 53; the remainder r / d < 1 only breaks a tie.
    let bq = 128 - q.leading_zeros();
    let cut = bq - 53;
    let (mut top, below) = (q >> cut, q & ((1u128 << cut) - 1));
    let half = 1u128 << (cut - 1);
    if below > half || (below == half && (r != 0 || top & 1 == 1)) {
        top += 1;
    }
    // top <= 2^53 is exact as f64; the scale is a power of two (a normal number here).
    let e = i32::try_from(cut).ok()? - i32::try_from(s).ok()?;
    if !(-1000..=1000).contains(&e) {
        return None;
    }
    Some(top as u64 as f64 * f64::from_bits(((1023 + e) as u64) << 52))
}

/// Where the next `{`, `}`, `[`, `]` or `"` at or after `i` is (`b.len()` if none): sixteen
/// bytes at a time on x86-64, a plain loop elsewhere.
fn next_structural(b: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of every x86-64 CPU (the target's baseline).
    let i = unsafe { skip_plain_sse2(b, i) };
    let mut i = i;
    while let Some(&c) = b.get(i) {
        if matches!(c, b'{' | b'}' | b'[' | b']' | b'"') {
            return i;
        }
        i += 1;
    }
    i
}

/// Skips whole 16-byte blocks without a bracket or quote; returns where the block holding the
/// next one starts or its position.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn skip_plain_sse2(b: &[u8], mut i: usize) -> usize {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    let [w0, w1, w2, w3, w4] = [b'{', b'}', b'[', b']', b'"'].map(|c| _mm_set1_epi8(c as i8));
    while let Some(chunk) = b.get(i..i + 16) {
        // SAFETY: `chunk` holds 16 readable bytes; the load has no alignment requirement.
        let v = unsafe { _mm_loadu_si128(chunk.as_ptr().cast::<__m128i>()) };
        let any = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(v, w0), _mm_cmpeq_epi8(v, w1)),
            _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, w2), _mm_cmpeq_epi8(v, w3)),
                _mm_cmpeq_epi8(v, w4),
            ),
        );
        let hits = _mm_movemask_epi8(any);
        if hits != 0 {
            return i + hits.trailing_zeros() as usize;
        }
        i += 16;
    }
    i
}

/// Sets a member once; a second occurrence is an error (as serde's derive says it).
fn once<T>(slot: &mut Option<T>, key: &str, value: T, s: &Json<'_>) -> Result<(), String> {
    if slot.is_some() {
        return Err(s.err(&format!("duplicate field `{key}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// The sequential pass over a FeatureCollection.
fn read_collection(b: &[u8]) -> Result<CollectionJson<'_>, String> {
    let mut s = Json::new(b);
    s.ws();
    let (mut kind, mut crs, mut features) = (None, None, None);
    s.object(0, |s, key| match &*key {
        "type" => {
            let v = s.nullable(|s| Ok(s.string()?.into_owned()))?;
            once(&mut kind, "type", v, s)
        }
        "crs" => {
            let v = s.nullable(|s| s.value(1))?;
            once(&mut crs, "crs", v, s)
        }
        "features" => {
            let v = s.nullable(|s| {
                let mut list = Vec::new();
                s.array(1, |s| {
                    let (mut properties, mut geometry) = (None, None);
                    s.object(2, |s, key| match &*key {
                        "properties" => {
                            let v = s.nullable(|s| s.value(3))?;
                            once(&mut properties, "properties", v, s)
                        }
                        "geometry" => {
                            let v = s.nullable(|s| s.bracketed(3))?;
                            once(&mut geometry, "geometry", v, s)
                        }
                        _ => s.skip(3),
                    })?;
                    list.push(FeatureJson {
                        properties: properties.flatten(),
                        geometry: geometry.flatten(),
                    });
                    Ok(())
                })?;
                Ok(list)
            })?;
            once(&mut features, "features", v, s)
        }
        _ => s.skip(1),
    })?;
    s.end()?;
    Ok(CollectionJson {
        kind: kind.flatten(),
        crs: crs.flatten(),
        features: features.flatten(),
    })
}

/// Reads a geometry object: its type, coordinates and member geometries.
fn read_geometry(b: &[u8]) -> Result<GeomJson<'_>, String> {
    let mut s = Json::new(b);
    s.ws();
    let (mut kind, mut coordinates, mut geometries) = (None, None, None);
    s.object(0, |s, key| match &*key {
        "type" => {
            let v = s.string()?.into_owned();
            once(&mut kind, "type", v, s)
        }
        "coordinates" => {
            let v = s.nullable(|s| {
                // Room for the positions at once, from the text's length (a position takes
                // at least 5 bytes, `[1,2]`, and GeoJSON writers use 20 to 50): pushed one by
                // one the vector doubled and copied itself to its size.
                let mut c = Coords {
                    positions: Vec::with_capacity(s.b.len().saturating_sub(s.i) / 24),
                    ..Coords::default()
                };
                read_coords(s, &mut c, 0)?;
                Ok(c)
            })?;
            once(&mut coordinates, "coordinates", v, s)
        }
        "geometries" => {
            let v = s.nullable(|s| {
                let mut list = Vec::new();
                s.array(1, |s| {
                    list.push(s.value(2)?);
                    Ok(())
                })?;
                Ok(list)
            })?;
            once(&mut geometries, "geometries", v, s)
        }
        _ => s.skip(1),
    })?;
    s.end()?;
    Ok(GeomJson {
        kind: kind.ok_or_else(|| "missing field `type`".to_string())?,
        coordinates: coordinates.flatten(),
        geometries: geometries.flatten(),
    })
}

/// Reads one array of `coordinates` at `depth` (0 is `coordinates` itself): a position if its
/// first element is a number, else an array of arrays.
fn read_coords(s: &mut Json<'_>, c: &mut Coords, depth: usize) -> Result<(), String> {
    s.expect(b'[', "expected an array of coordinates")?;
    s.ws();
    match s.peek() {
        Some(b'-' | b'0'..=b'9') => {
            let x = s.number()?;
            s.ws();
            s.expect(b',', "a position needs two numbers [x, y]")?;
            s.ws();
            if !matches!(s.peek(), Some(b'-' | b'0'..=b'9')) {
                return Err(s.err("a position needs two numbers [x, y]"));
            }
            let y = s.number()?;
            // Further ordinates (z, m) are read and dropped.
            loop {
                s.ws();
                match s.peek() {
                    Some(b',') => {
                        s.i += 1;
                        s.ws();
                        s.skip(depth + 1)?;
                    }
                    Some(b']') => {
                        s.i += 1;
                        break;
                    }
                    _ => return Err(s.err("expected `,` or `]`")),
                }
            }
            if *c.depth.get_or_insert(depth) != depth {
                return Err(s.err("positions are nested at different depths"));
            }
            c.positions.push(Coord { x, y });
        }
        Some(b'[') | Some(b']') => {
            let mut n = 0u32;
            if s.peek() == Some(b']') {
                s.i += 1;
            } else {
                if depth + 1 > MAX_DEPTH {
                    return Err(s.err("coordinates nested too deeply"));
                }
                loop {
                    s.ws();
                    read_coords(s, c, depth + 1)?;
                    n += 1;
                    s.ws();
                    match s.peek() {
                        Some(b',') => s.i += 1,
                        Some(b']') => {
                            s.i += 1;
                            break;
                        }
                        _ => return Err(s.err("expected `,` or `]`")),
                    }
                }
            }
            let Some(lens) = c.lens.get_mut(depth) else {
                return Err(s.err("coordinates nested too deeply"));
            };
            lens.push(n);
        }
        _ => return Err(s.err("expected a number or an array of coordinates")),
    }
    Ok(())
}
