//! Bounded property test of the query-string parsing of every public resource: random
//! combinations of known and unknown parameters with awkward values (huge, negative, empty,
//! non-UTF-8 escapes, CQL fragments) must give a 2xx or a 4xx problem document — never a 5xx,
//! never a panic. Fixed seed and case count, so it runs in CI like any test.

use crate::fixture::{catalog, get};
use axum::http::StatusCode;

use kleinraum_testdata::synthetic::Rng;

const PATHS: &[&str] = &[
    "/",
    "/api",
    "/conformance",
    "/collections",
    "/indicators",
    "/collections/planungsraeume",
    "/collections/planungsraeume/items",
    "/collections/planungsraeume/items/0101",
    "/collections/planungsraeume/items/0101/timeseries",
    "/collections/planungsraeume/queryables",
    "/collections/planungsraeume/schema",
    "/collections/planungsraeume/feature-schema",
    "/collections/planungsraeume/index",
    "/collections/planungsraeume/download",
    "/collections/kitas/items",
    "/collections/gesamt/items",
];

const KEYS: &[&str] = &[
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "filter",
    "filter-lang",
    "filter-crs",
    "sortby",
    "properties",
    "skipGeometry",
    "residents",
    "name",
    "year",
    "index",
    "format",
    "id",
    "x",
    "",
    "%FF",
    "limit%00",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "18446744073709551616",
    "99999999999999999999999",
    "1e308",
    "NaN",
    "inf",
    "json",
    "html",
    "xml",
    "geojson",
    "csv",
    "gpkg",
    "2024",
    "2024-99-99",
    "2024-02-29",
    "../2024",
    "2023/2024",
    "2024/2023",
    "..",
    "/",
    "0,0,1,1",
    "1,1,0,0",
    "0,0,1",
    "a,b,c,d",
    "1,2,3,4,5,6",
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/25833",
    "EPSG:4326",
    "cql2-text",
    "cql-text",
    "cql2-json",
    "residents > 5",
    "residents >",
    "((((",
    "name LIKE '%_%'",
    "NOT NOT NOT TRUE",
    "year = DATE('2024-12-31')",
    "-residents,+name",
    "+",
    "-",
    "residents,name",
    "name,name",
    "true",
    "false",
    "TRUE",
    "%FF%FE",
    "%C3%A4",
    "'",
    "\"",
    "\\",
    "%00",
    "a%2Cb",
];

/// Percent-encodes what may not stand in a URL (existing `%XX` escapes are kept, so broken
/// and non-UTF-8 escapes reach the server as such).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'%'
            | b','
            | b':'
            | b'/'
            | b'+' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn random_query_strings_never_give_a_server_error() {
    let cat = catalog();
    let mut r = Rng(0x0123_4567_89ab_cdef);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..4_000 {
        let path = r.pick(PATHS);
        let n = r.below(5);
        let q: Vec<String> = (0..n)
            .map(|_| format!("{}={}", enc(r.pick(KEYS)), enc(r.pick(VALUES))))
            .collect();
        let uri = if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", q.join("&"))
        };
        let resp = get(&cat, &uri).await;
        assert!(
            resp.status.as_u16() < 500,
            "{uri}: {} {}",
            resp.status,
            resp.body
        );
        if resp.status.is_client_error() {
            assert_eq!(
                resp.header("content-type"),
                "application/problem+json",
                "{uri}"
            );
            let v: serde_json::Value = serde_json::from_str(&resp.body).unwrap();
            assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{uri}");
        } else if resp.status == StatusCode::OK && resp.header("content-type").contains("json") {
            serde_json::from_str::<serde_json::Value>(&resp.body)
                .unwrap_or_else(|e| panic!("{uri}: invalid JSON: {e}"));
        }
        *statuses.entry(resp.status.as_u16()).or_insert(0) += 1;
    }
    // Both outcomes occur: the cases are not all refused (or all accepted).
    assert!(
        statuses.get(&200).copied().unwrap_or(0) > 300,
        "{statuses:?}"
    );
    assert!(
        statuses.get(&400).copied().unwrap_or(0) > 300,
        "{statuses:?}"
    );
}
