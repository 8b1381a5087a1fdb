//! Query parameters of `/items`, parsed and validated into a typed request
//! (specific 400 messages, pygeoapi-style), and the selection it describes.

use crate::catalog::{Collection, CollectionKind, FieldType};
use crate::cql::{self, Expr};
use crate::crs::OutputCrs;
use crate::error::ApiError;
use geo::{Intersects, Rect, coord};
use serde_json::Value;

/// Response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON / GeoJSON.
    Json,
    /// HTML.
    Html,
}

/// Chooses the format from `f` (wins) or the `Accept` header.
pub fn negotiate(f: Option<&str>, accept: Option<&str>) -> Result<Format, ApiError> {
    if let Some(f) = f {
        return match f.to_ascii_lowercase().as_str() {
            "json" | "geojson" | "application/json" | "application/geo+json" => Ok(Format::Json),
            "html" | "text/html" => Ok(Format::Html),
            other => Err(ApiError::BadRequest(format!(
                "unsupported format f={other}; use f=json or f=html"
            ))),
        };
    }
    let accept = accept.unwrap_or("");
    let html = accept.find("text/html");
    let json = accept.find("json");
    let any = accept.trim().is_empty()
        || accept.contains("*/*")
        || accept.contains("application/*")
        || accept.contains("text/*");
    Ok(match (html, json) {
        (Some(h), Some(j)) if h < j => Format::Html,
        (Some(_), None) => Format::Html,
        (None, None) if !any => {
            return Err(ApiError::NotAcceptable(format!(
                "this resource is offered as JSON or HTML, not as '{}'",
                accept.chars().take(80).collect::<String>()
            )));
        }
        _ => Format::Json,
    })
}

/// A validated `/items` request.
#[derive(Debug)]
pub struct ItemsQuery {
    /// Page size after clamping to the maximum.
    pub limit: usize,
    /// Offset.
    pub offset: usize,
    /// Query rectangles (two across the antimeridian) in the CRS of the shapes they are tested
    /// against, with that CRS.
    pub bbox: Option<(Vec<Rect<f64>>, OutputCrs)>,
    /// Inclusive year range from `datetime`.
    pub years: Option<(i32, i32)>,
    /// Output CRS.
    pub crs: OutputCrs,
    /// Property equality filters: (field position, value).
    pub equals: Vec<(usize, Value)>,
    /// CQL2 filter.
    pub filter: Option<Expr>,
    /// Response format.
    pub format: Format,
    /// Sort keys from `sortby`: (field position, descending).
    pub sortby: Vec<(usize, bool)>,
    /// Properties to return (`properties=`); `None` = all.
    pub properties: Option<Vec<usize>>,
    /// `skipGeometry=true`: features without geometry.
    pub skip_geometry: bool,
    /// `zoom-level`: simplified geometry for this WebMercatorQuad zoom level (OGC API –
    /// Features Part 7, draft); `None` = full geometry.
    pub zoom: Option<u8>,
}

/// Parameters `/items` understands besides property names.
pub const ITEMS_PARAMS: &[&str] = &[
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "properties",
    "skipGeometry",
    "zoom-level",
];

/// Highest `zoom-level` accepted (WebMercatorQuad goes to 24 in practice).
pub const MAX_ZOOM_LEVEL: u8 = 30;

/// Parses `zoom-level` (an integer 0–30); absent = `None`.
pub fn zoom_level(pairs: &[(String, String)]) -> Result<Option<u8>, ApiError> {
    match pairs
        .iter()
        .find(|(n, _)| n == "zoom-level")
        .map(|(_, v)| v)
    {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u8>() {
            Ok(z) if z <= MAX_ZOOM_LEVEL => Ok(Some(z)),
            _ => Err(ApiError::BadRequest(format!(
                "zoom-level is an integer from 0 to {MAX_ZOOM_LEVEL}, got '{v}'"
            ))),
        },
    }
}

/// Most keys in `sortby`.
const MAX_SORT_KEYS: usize = 8;

/// An integer parameter; numbers beyond the 64-bit range saturate (a `limit` of 10^30 is
/// clamped like any other large limit, not refused).
fn parse_int(name: &str, v: &str) -> Result<i64, ApiError> {
    let t = v.trim();
    t.parse::<i64>().or_else(|_| {
        let (neg, digits) = match t.as_bytes().first() {
            Some(b'-') => (true, &t[1..]),
            Some(b'+') => (false, &t[1..]),
            _ => (false, t),
        };
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(if neg { i64::MIN } else { i64::MAX })
        } else {
            Err(ApiError::BadRequest(format!(
                "{name} value should be an integer, got '{v}'"
            )))
        }
    })
}

/// Parses `datetime` into an inclusive year range: an instant (`2024`, `2024-05-01`,
/// `2024-05-01T00:00:00Z`) or an interval with `/` (open ends `..` or empty). Dates and times
/// are checked strictly (RFC 3339: `2024-99-99` is refused).
pub fn parse_datetime(v: &str) -> Result<(i32, i32), ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "datetime '{v}' is not a year, an RFC 3339 date or date-time, or an interval of those"
        ))
    };
    let year_of = |s: &str| -> Result<Option<i32>, ApiError> {
        let s = s.trim();
        if s.is_empty() || s == ".." {
            return Ok(None);
        }
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Some).map_err(|_| bad());
        }
        cql::parse_instant(s, s.len() > 10)
            .map(|(y, ..)| Some(y))
            .ok_or_else(bad)
    };
    let (a, b) = match v.split_once('/') {
        Some((a, b)) => (year_of(a)?, year_of(b)?),
        None => {
            let y = year_of(v)?.ok_or_else(|| {
                ApiError::BadRequest("datetime must not be empty or '..' alone".into())
            })?;
            (Some(y), Some(y))
        }
    };
    let (a, b) = (a.unwrap_or(i32::MIN), b.unwrap_or(i32::MAX));
    if a > b {
        return Err(ApiError::BadRequest(format!(
            "datetime interval '{v}' ends before it starts"
        )));
    }
    Ok((a, b))
}

/// Refuses parameters outside `allowed` (every resource validates its query string: a typo
/// should not be silently ignored), and parameters given twice with different values.
pub fn check_params(pairs: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter '{k}' (allowed here: {})",
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
        if pairs.iter().any(|(n, w)| n == k && w != v) {
            return Err(ApiError::BadRequest(format!(
                "query parameter '{k}' is given twice with different values"
            )));
        }
    }
    Ok(())
}

/// `properties` and `skipGeometry` of `/items` and `/items/{id}`: the properties to return
/// (`None` = all) and whether to leave out the geometry.
pub fn projection(
    c: &Collection,
    pairs: &[(String, String)],
) -> Result<(Option<Vec<usize>>, bool), ApiError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let properties = match get("properties") {
        None => None,
        Some(v) => {
            if v.split(',').any(|p| p.trim().starts_with(['+', '-'])) {
                return Err(ApiError::BadRequest(
                    "properties: plain property names, without + or -".into(),
                ));
            }
            let mut idx: Vec<usize> = field_list(c, "properties", v)?
                .into_iter()
                .map(|(i, _)| i)
                .collect();
            idx.sort_unstable();
            idx.dedup();
            Some(idx)
        }
    };
    let skip_geometry = match get("skipGeometry") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "skipGeometry is true or false, got '{other}'"
            )));
        }
    };
    Ok((properties, skip_geometry))
}

/// The CQL2 type of a collection field.
pub fn prop_type(c: &Collection, i: usize) -> cql::PropType {
    match c.fields[i].ty {
        _ if c.fields[i].name == "year" && c.kind == CollectionKind::Areas => cql::PropType::Year,
        FieldType::String => cql::PropType::Text,
        FieldType::Boolean => cql::PropType::Bool,
        FieldType::Integer | FieldType::Number => cql::PropType::Number,
    }
}

fn field_list(c: &Collection, param: &str, v: &str) -> Result<Vec<(usize, bool)>, ApiError> {
    let mut out = Vec::new();
    for raw in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, desc) = match raw.as_bytes()[0] {
            b'-' => (&raw[1..], true),
            b'+' => (&raw[1..], false),
            _ => (raw, false),
        };
        let i = c.field(name).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{param}: '{name}' is not a property of collection '{}'",
                c.id
            ))
        })?;
        out.push((i, desc));
    }
    if out.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "{param} must name at least one property"
        )));
    }
    Ok(out)
}

/// Parses and validates the query pairs of an `/items` request.
pub fn parse_items(
    c: &Collection,
    pairs: &[(String, String)],
    accept: Option<&str>,
    default_limit: usize,
    max_limit: usize,
) -> Result<ItemsQuery, ApiError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // GDAL repeats user parameters (`OAPIF:http://host?crs=…`) next to the ones in our links;
    // a repetition with the same value is harmless, a conflicting one is an error.
    for (k, v) in pairs {
        if pairs.iter().any(|(n, w)| n == k && w != v) {
            return Err(ApiError::BadRequest(format!(
                "query parameter '{k}' is given twice with different values"
            )));
        }
    }
    // Every declared parameter may come once (equality filters on every property included).
    let max_pairs = ITEMS_PARAMS.len() + c.fields.len();
    if pairs.len() > max_pairs {
        return Err(ApiError::BadRequest(format!(
            "too many query parameters (at most {max_pairs})"
        )));
    }
    let format = negotiate(get("f"), accept)?;
    let limit = match get("limit") {
        None => default_limit.min(max_limit),
        Some(v) => {
            let n = parse_int("limit", v)?;
            if n < 1 {
                return Err(ApiError::BadRequest(
                    "limit value should be strictly positive".into(),
                ));
            }
            // Core allows clamping: a client asking for more gets the maximum and a next link.
            (n as u64).min(max_limit as u64) as usize
        }
    };
    let offset = match get("offset") {
        None => 0,
        Some(v) => {
            let n = parse_int("offset", v)?;
            if n < 0 {
                return Err(ApiError::BadRequest(
                    "offset value should be positive or zero".into(),
                ));
            }
            n as usize
        }
    };
    let parse_crs = |name: &str, v: &str| {
        OutputCrs::parse(v).ok_or_else(|| {
            let list: Vec<&str> = OutputCrs::ALL.iter().map(|c| c.uri()).collect();
            ApiError::BadRequest(format!(
                "{name} '{v}' is not supported; supported: {}",
                list.join(", ")
            ))
        })
    };
    let crs = match get("crs") {
        Some(v) => parse_crs("crs", v)?,
        None => OutputCrs::Crs84,
    };
    let bbox_crs = match get("bbox-crs") {
        Some(v) => parse_crs("bbox-crs", v)?,
        None => OutputCrs::Crs84,
    };
    let bbox = match get("bbox") {
        None => None,
        Some(v) => {
            let nums: Result<Vec<f64>, _> = v.split(',').map(|s| s.trim().parse::<f64>()).collect();
            let nums = nums.map_err(|_| {
                ApiError::BadRequest(format!("bbox values must be numbers, got '{v}'"))
            })?;
            if nums.iter().any(|n| !n.is_finite()) {
                return Err(ApiError::BadRequest(
                    "bbox values must be finite numbers".into(),
                ));
            }
            let (x0, y0, x1, y1) = match nums.len() {
                4 => (nums[0], nums[1], nums[2], nums[3]),
                6 => (nums[0], nums[1], nums[3], nums[4]),
                n => {
                    return Err(ApiError::BadRequest(format!(
                        "bbox must have 4 or 6 numbers, got {n}"
                    )));
                }
            };
            // EPSG:4326 bboxes come as lat,lon: test them against the CRS84 shapes.
            let (lo, hi, shape_crs) = if bbox_crs == OutputCrs::Epsg4326 {
                ((y0, x0), (y1, x1), OutputCrs::Crs84)
            } else {
                ((x0, y0), (x1, y1), bbox_crs)
            };
            if lo.1 > hi.1 {
                return Err(ApiError::BadRequest(
                    "bbox: the lower corner must not exceed the upper corner (south lies north of north)".into(),
                ));
            }
            let rects = if lo.0 <= hi.0 {
                vec![Rect::new(
                    coord! {x: lo.0, y: lo.1},
                    coord! {x: hi.0, y: hi.1},
                )]
            } else if shape_crs == OutputCrs::Crs84 {
                // West of east in longitudes: a box across the antimeridian (OGC API Core).
                vec![
                    Rect::new(coord! {x: lo.0, y: lo.1}, coord! {x: 180.0, y: hi.1}),
                    Rect::new(coord! {x: -180.0, y: lo.1}, coord! {x: hi.0, y: hi.1}),
                ]
            } else {
                return Err(ApiError::BadRequest(
                    "bbox: the lower corner must not exceed the upper corner".into(),
                ));
            };
            Some((rects, shape_crs))
        }
    };
    let years = match get("datetime") {
        Some(v) => Some(parse_datetime(v)?),
        None => None,
    };
    match get("filter-lang") {
        None | Some("cql2-text") | Some("cql-text") => {}
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "filter-lang '{other}' is not supported; use cql2-text"
            )));
        }
    }
    // The filter has no spatial predicates, so its CRS changes nothing; it must still be one
    // this server knows (Part 3 declares the parameter with the CRS class).
    if let Some(v) = get("filter-crs") {
        parse_crs("filter-crs", v)?;
    }
    let filter = match get("filter") {
        None => None,
        Some(text) => {
            let resolve = |n: &str| c.field(n).map(|i| (i, prop_type(c, i)));
            Some(cql::parse(text, &resolve).map_err(|e| ApiError::BadRequest(e.to_string()))?)
        }
    };
    let sortby = match get("sortby") {
        None => Vec::new(),
        Some(v) => {
            let keys = field_list(c, "sortby", v)?;
            if keys.len() > MAX_SORT_KEYS {
                return Err(ApiError::BadRequest(format!(
                    "sortby: at most {MAX_SORT_KEYS} properties"
                )));
            }
            keys
        }
    };
    let (properties, skip_geometry) = projection(c, pairs)?;
    let zoom = zoom_level(pairs)?;
    let mut equals = Vec::new();
    for (k, v) in pairs {
        if ITEMS_PARAMS.contains(&k.as_str()) {
            continue;
        }
        let Some(i) = c.field(k) else {
            return Err(ApiError::BadRequest(format!(
                "unknown query parameter '{k}' (neither a standard parameter nor a property of collection '{}')",
                c.id
            )));
        };
        let val = match c.fields[i].ty {
            FieldType::String => Value::String(v.clone()),
            FieldType::Boolean => match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(ApiError::BadRequest(format!(
                        "property '{k}' is true or false, got '{v}'"
                    )));
                }
            },
            FieldType::Integer | FieldType::Number => {
                let n: f64 = v.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("property '{k}' is a number, got '{v}'"))
                })?;
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!("property '{k}' is a number, got '{v}'"))
                    })?
            }
        };
        equals.push((i, val));
    }
    Ok(ItemsQuery {
        limit,
        offset,
        bbox,
        years,
        crs,
        equals,
        filter,
        format,
        sortby,
        properties,
        skip_geometry,
        zoom,
    })
}

fn value_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Selects the matching features: (feature position, row position), in collection order, or
/// in `sortby` order when given.
///
/// Area collections show one row per area: the latest year within `datetime` whose values
/// pass the filters. Without `datetime`, only the collection's default year is considered (see
/// [`Collection::default_year`]) — unless a filter mentions `year`, then every year is (so
/// `year = 2020` selects the 2020 values).
///
/// The work stops at `deadline` (checked between features, so a costly filter cannot hold a
/// core beyond the request's budget): then the request is refused with
/// [`ApiError::TooExpensive`].
pub fn select(
    c: &Collection,
    q: &ItemsQuery,
    deadline: Option<std::time::Instant>,
) -> Result<Vec<(usize, usize)>, ApiError> {
    let year_field = c.field("year");
    let mentions_year = year_field.is_some_and(|yf| {
        q.equals.iter().any(|(i, _)| *i == yf)
            || q.filter.as_ref().is_some_and(|f| f.references(yf))
    });
    let candidate_years: Vec<usize> = match c.kind {
        CollectionKind::Facilities => vec![0],
        CollectionKind::Areas => {
            let mut v: Vec<usize> = (0..c.years.len())
                .filter(|&i| match q.years {
                    Some((a, b)) => c.years[i] >= a && c.years[i] <= b,
                    None => true,
                })
                .collect();
            if q.years.is_none() && !mentions_year {
                v = c.default_year_index().into_iter().collect();
            }
            v.reverse();
            v
        }
    };
    let mut out = Vec::new();
    for (fi, f) in c.features.iter().enumerate() {
        if fi % 64 == 0 && deadline.is_some_and(|d| std::time::Instant::now() > d) {
            return Err(ApiError::TooExpensive(
                "the filter needs more computing time than a request may use; simplify it".into(),
            ));
        }
        if let Some((rects, crs)) = &q.bbox {
            let shape = c
                .shape(fi, *crs)
                .map_err(|e| crate::api::geometry_error(c, *crs, e))?;
            match shape {
                Some(s) if rects.iter().any(|r| s.intersects(r)) => {}
                _ => continue,
            }
        }
        for &ri in &candidate_years {
            let Some(row) = f.rows.get(ri) else { continue };
            let eq_ok = q
                .equals
                .iter()
                .all(|(i, v)| row.values.get(*i).is_some_and(|x| value_eq(x, v)));
            if eq_ok && q.filter.as_ref().is_none_or(|e| e.selects(&row.values)) {
                out.push((fi, ri));
                break;
            }
        }
    }
    if !q.sortby.is_empty() {
        let key = |&(fi, ri): &(usize, usize), i: usize| c.features[fi].rows[ri].values.get(i);
        out.sort_by(|a, b| {
            for &(i, desc) in &q.sortby {
                let o = match (key(a, i), key(b, i)) {
                    (Some(x), Some(y)) => order_values(x, y),
                    _ => std::cmp::Ordering::Equal,
                };
                // Nulls last in both directions (as pygeoapi and PostgreSQL's NULLS LAST).
                let o = match (
                    key(a, i).is_none_or(Value::is_null),
                    key(b, i).is_none_or(Value::is_null),
                ) {
                    (true, false) => std::cmp::Ordering::Greater,
                    (false, true) => std::cmp::Ordering::Less,
                    _ if desc => o.reverse(),
                    _ => o,
                };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    Ok(out)
}

fn order_values(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering::Equal;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y))
            .unwrap_or(Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Equal,
    }
}
