//! Any OGR vector source through the system GDAL: GeoPackage, PostGIS (`PG:` connection
//! strings), FlatGeobuf, …
//!
//! Passwords in `PG:` connection strings never leave this module: the [`RawLayer::source`] and
//! every error message carry the masked string (see [`mask_password`]).

use std::collections::BTreeMap;

use gdal::spatial_ref::{AxisMappingStrategy, SpatialRef};
use gdal::vector::{
    FieldValue, Geometry as GdalGeometry, LayerAccess, OGRFieldType, OGRwkbGeometryType,
    geometry_type_flatten, geometry_type_to_name,
};
use gdal::{Dataset, DatasetOptions, GdalOpenFlags};
use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon,
    Point, Polygon,
};

use crate::error::LoadError;
use crate::features::{PropValue, RawFeature, RawLayer};

/// Reads one layer of an OGR data source.
///
/// `source` is anything `GDALOpenEx` accepts (a file path, `PG:host=… dbname=…`, …). `layer`
/// picks the layer by name; without it the source must have exactly one layer, otherwise the
/// error lists the layers to choose from. Geometries are returned in the layer's CRS with
/// (x, y) = (easting, northing) or (lon, lat) as OGR stores them; `epsg` is the layer CRS's
/// EPSG code (`None` if the layer declares no CRS).
pub fn read(source: &str, layer: Option<&str>) -> Result<RawLayer, LoadError> {
    let shown = mask_password(source);
    let gdal_err = |message: String| LoadError::Gdal {
        path: shown.clone(),
        message: scrub(source, &message),
    };

    let dataset = Dataset::open_ex(
        source,
        DatasetOptions {
            open_flags: GdalOpenFlags::GDAL_OF_VECTOR | GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    )
    .map_err(|e| gdal_err(format!("cannot open: {}", gdal_message(&e))))?;

    let names: Vec<String> = dataset.layers().map(|l| l.name()).collect();
    let mut lyr = match layer {
        Some(name) => dataset.layer_by_name(name).map_err(|_| {
            gdal_err(format!(
                "layer {name:?} not found (available: {})",
                list_or_none(&names)
            ))
        })?,
        None => match names.len() {
            1 => dataset
                .layer(0)
                .map_err(|e| gdal_err(format!("cannot open layer 0: {}", gdal_message(&e))))?,
            0 => return Err(gdal_err("the source has no vector layers".into())),
            _ => {
                return Err(gdal_err(format!(
                    "the source has {} layers; set `layer` in the config to one of: {}",
                    names.len(),
                    list_or_none(&names)
                )));
            }
        },
    };
    let layer_name = lyr.name();

    // A CRS without EPSG code is kept as WKT (PROJ transforms from it).
    let (epsg, wkt) = match lyr.spatial_ref() {
        Some(srs) => match epsg_of(srs) {
            Ok(code) => (Some(code), None),
            Err(wkt) => (None, Some(wkt)),
        },
        None => (None, None),
    };

    let field_defs: Vec<(String, OGRFieldType::Type)> = lyr
        .defn()
        .fields()
        .map(|f| (f.name(), f.field_type()))
        .collect();
    let fields: Vec<String> = field_defs.iter().map(|(n, _)| n.clone()).collect();

    let mut features = Vec::new();
    for (i, feature) in lyr.features().enumerate() {
        let feature_no = i + 1;
        let feature_label = match feature.fid() {
            Some(fid) => format!("{feature_no} (fid {fid})"),
            None => feature_no.to_string(),
        };
        let feature_err = |field: &str, message: String| LoadError::Feature {
            path: shown.clone().into(),
            feature: feature_label.clone(),
            field: field.to_owned(),
            message: scrub(source, &message),
        };
        let mut props = BTreeMap::new();
        for (idx, (name, ftype)) in field_defs.iter().enumerate() {
            let value = match feature.field(idx) {
                Ok(v) => convert_field(v),
                // Types the gdal crate does not wrap (binary, …): fall back to OGR's string form.
                Err(_) => match feature.field_as_string(idx) {
                    Ok(Some(s)) => PropValue::Text(s),
                    Ok(None) => PropValue::Null,
                    Err(e) => {
                        return Err(feature_err(
                            name,
                            format!(
                                "cannot read field of OGR type {ftype}: {}",
                                gdal_message(&e)
                            ),
                        ));
                    }
                },
            };
            props.insert(name.clone(), value);
        }
        let geometry = match feature.geometry() {
            Some(g) => convert_geometry(g).map_err(|m| feature_err("geometry", m))?,
            None => None,
        };
        features.push(RawFeature { geometry, props });
    }

    Ok(RawLayer {
        source: if layer.is_some() || names.len() > 1 {
            format!("{shown} (layer {layer_name})")
        } else {
            shown
        },
        epsg,
        wkt,
        fields,
        features,
    })
}

/// GDAL's own message without the gdal crate's wrapping ("method … returned a NULL pointer"),
/// on one line.
fn gdal_message(e: &gdal::errors::GdalError) -> String {
    use gdal::errors::GdalError;
    let msg = match e {
        GdalError::NullPointer { msg, .. } | GdalError::CplError { msg, .. }
            if !msg.trim().is_empty() =>
        {
            msg.clone()
        }
        other => other.to_string(),
    };
    msg.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The EPSG code of a layer CRS: its own authority code, else GDAL's identification; `Err`
/// with the CRS's WKT when it maps to no EPSG code.
fn epsg_of(mut srs: SpatialRef) -> Result<u32, String> {
    // Traditional GIS order, so EPSG:4326 means (lon, lat) like the rest of kleinraum.
    srs.set_axis_mapping_strategy(AxisMappingStrategy::TraditionalGisOrder);
    let from_auth = |s: &SpatialRef| match (s.auth_name(), s.auth_code()) {
        (Some(name), Ok(code)) if name.eq_ignore_ascii_case("EPSG") && code > 0 => {
            Some(code as u32)
        }
        _ => None,
    };
    if let Some(code) = from_auth(&srs) {
        return Ok(code);
    }
    if srs.auto_identify_epsg().is_ok()
        && let Some(code) = from_auth(&srs)
    {
        return Ok(code);
    }
    // GDAL's identification is conservative; PROJ (with ESRI name aliases) and name matching
    // catch the rest, as for shapefiles.
    let wkt = srs.to_wkt().unwrap_or_default();
    if let Some(code) = crate::shp::epsg_from_wkt(&wkt) {
        return Ok(code);
    }
    Err(wkt)
}

fn convert_field(value: Option<FieldValue>) -> PropValue {
    let join = |v: Vec<String>| PropValue::Text(v.join(","));
    match value {
        None => PropValue::Null,
        Some(FieldValue::IntegerValue(i)) => PropValue::Int(i64::from(i)),
        Some(FieldValue::Integer64Value(i)) => PropValue::Int(i),
        Some(FieldValue::RealValue(f)) => PropValue::Float(f),
        Some(FieldValue::StringValue(s)) => PropValue::Text(s),
        Some(FieldValue::DateValue(d)) => PropValue::Text(d.to_string()),
        Some(FieldValue::DateTimeValue(d)) => PropValue::Text(d.to_string()),
        Some(FieldValue::IntegerListValue(v)) => join(v.iter().map(|x| x.to_string()).collect()),
        Some(FieldValue::Integer64ListValue(v)) => join(v.iter().map(|x| x.to_string()).collect()),
        Some(FieldValue::RealListValue(v)) => join(v.iter().map(|x| x.to_string()).collect()),
        Some(FieldValue::StringListValue(v)) => join(v),
    }
}

/// Converts an OGR geometry into geo types (2D; Z and M dropped). Empty geometries become
/// `None`. Curve types are refused with a hint instead of being approximated silently.
pub(crate) fn convert_geometry(g: &GdalGeometry) -> Result<Option<Geometry<f64>>, String> {
    if g.is_empty() {
        return Ok(None);
    }
    let gtype = geometry_type_flatten(g.geometry_type());
    let children = |g: &GdalGeometry| -> Result<Vec<Geometry<f64>>, String> {
        let mut out = Vec::with_capacity(g.geometry_count());
        for i in 0..g.geometry_count() {
            if let Some(c) = convert_geometry(&g.get_geometry(i))? {
                out.push(c);
            }
        }
        Ok(out)
    };
    let coords = |g: &GdalGeometry| -> Vec<Coord<f64>> {
        let mut pts = Vec::new();
        g.get_points(&mut pts);
        pts.into_iter().map(|(x, y, _)| Coord { x, y }).collect()
    };
    let polygon = |g: &GdalGeometry| -> Polygon<f64> {
        let mut rings =
            (0..g.geometry_count()).map(|i| LineString::from(coords(&g.get_geometry(i))));
        let exterior = rings.next().unwrap_or_else(|| LineString::new(Vec::new()));
        Polygon::new(exterior, rings.collect())
    };
    let wrong_member = |what: &str| {
        format!(
            "{} contains a non-{what} member",
            geometry_type_to_name(gtype)
        )
    };
    Ok(Some(match gtype {
        OGRwkbGeometryType::wkbPoint => {
            let (x, y, _) = g.get_point(0);
            Geometry::Point(Point::new(x, y))
        }
        OGRwkbGeometryType::wkbLineString | OGRwkbGeometryType::wkbLinearRing => {
            Geometry::LineString(LineString::from(coords(g)))
        }
        OGRwkbGeometryType::wkbPolygon => Geometry::Polygon(polygon(g)),
        OGRwkbGeometryType::wkbMultiPoint => {
            let pts = children(g)?
                .into_iter()
                .map(|c| match c {
                    Geometry::Point(p) => Ok(p),
                    _ => Err(wrong_member("point")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Geometry::MultiPoint(MultiPoint::new(pts))
        }
        OGRwkbGeometryType::wkbMultiLineString => {
            let lines = children(g)?
                .into_iter()
                .map(|c| match c {
                    Geometry::LineString(l) => Ok(l),
                    _ => Err(wrong_member("line")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Geometry::MultiLineString(MultiLineString::new(lines))
        }
        OGRwkbGeometryType::wkbMultiPolygon => {
            let polys = children(g)?
                .into_iter()
                .map(|c| match c {
                    Geometry::Polygon(p) => Ok(p),
                    _ => Err(wrong_member("polygon")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Geometry::MultiPolygon(MultiPolygon::new(polys))
        }
        OGRwkbGeometryType::wkbGeometryCollection => {
            Geometry::GeometryCollection(GeometryCollection::new_from(children(g)?))
        }
        other => {
            return Err(format!(
                "geometry type {} is not supported; convert it with \
                 `ogr2ogr -nlt CONVERT_TO_LINEAR` (curves) or to polygons/points first",
                geometry_type_to_name(other)
            ));
        }
    }))
}

/// Masks the password in a connection string: `password=secret` / `password='a b'` (libpq
/// keyword form, as in `PG:` strings) and `user:secret@` (URI form) become `***`.
pub fn mask_password(source: &str) -> String {
    let mut out = source.to_owned();
    for secret in passwords(source) {
        out = out.replace(&secret, "***");
    }
    out
}

/// Removes every password of `source` from a message (GDAL may echo the connection string).
#[doc(hidden)] // public for tests/it/units
pub fn scrub(source: &str, message: &str) -> String {
    let mut out = message.to_owned();
    for secret in passwords(source) {
        out = out.replace(&secret, "***");
    }
    out
}

/// The password values in a connection string (keyword or URI form).
fn passwords(source: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = source.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("password") {
        let key_start = from + pos;
        from = key_start + "password".len();
        // Must be a whole keyword: start of string or preceded by a separator.
        if key_start > 0
            && !matches!(
                source.as_bytes()[key_start - 1],
                b' ' | b':' | b'\t' | b'&' | b'?'
            )
        {
            continue;
        }
        let rest = source[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = if let Some(quoted) = rest.strip_prefix('\'') {
            // libpq quoting: backslash escapes, closing single quote.
            let mut v = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            v.push('\\');
                            v.push(n);
                        }
                    }
                    '\'' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            rest.chars()
                .take_while(|c| !c.is_whitespace() && *c != '&')
                .collect()
        };
        if !value.is_empty() {
            found.push(value);
        }
    }
    // URI form: postgresql://user:secret@host
    if let Some(scheme) = lower.find("://") {
        let auth_start = scheme + 3;
        let rest = &source[auth_start..];
        if let Some(at) = rest.find('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                let secret = &userinfo[colon + 1..];
                if !secret.is_empty() {
                    found.push(secret.to_owned());
                }
            }
        }
    }
    // Longest first, so a password containing another one is masked whole.
    found.sort_by_key(|s| std::cmp::Reverse(s.len()));
    found
}
