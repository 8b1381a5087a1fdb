//! OGC API – Features behaviour.

use crate::fixture::*;
use axum::http::StatusCode;
use serde_json::Value;

fn rel<'a>(doc: &'a Value, r: &str) -> Option<&'a str> {
    doc["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == r)
        .and_then(|l| l["href"].as_str())
}

fn path_of(href: &str) -> String {
    href.trim_start_matches("http://localhost").to_string()
}

#[tokio::test]
async fn landing_page_links_and_conformance_classes() {
    let cat = catalog();
    let r = get(&cat, "/").await;
    assert_eq!(r.status, StatusCode::OK);
    let d = r.json();
    for want in ["self", "service-desc", "conformance", "data"] {
        assert!(rel(&d, want).is_some(), "landing page lacks {want}");
    }
    let api = get(&cat, "/api").await;
    assert!(
        api.header("content-type")
            .starts_with("application/vnd.oai.openapi+json")
    );
    let api = api.json();
    assert_eq!(api["openapi"], "3.0.2");
    assert!(api["paths"]["/collections/planungsraeume/items"].is_object());
    let c = get(&cat, "/conformance").await.json();
    let list: Vec<&str> = c["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        list.iter()
            .any(|c| c.ends_with("ogcapi-features-1/1.0/conf/core"))
    );
    assert!(
        list.iter()
            .any(|c| c.ends_with("ogcapi-features-2/1.0/conf/crs"))
    );
    assert!(list.iter().any(|c| c.ends_with("cql2-text")));
    let html = get_with(&cat, "/", &[("accept", "text/html,application/xhtml+xml")]).await;
    assert!(html.header("content-type").starts_with("text/html"));
    assert!(html.body.contains("href=\"http://localhost/map/\""));
}

#[tokio::test]
async fn collections_list_levels_and_facilities_with_extents_and_crs() {
    let cat = catalog();
    let d = get(&cat, "/collections").await.json();
    let ids: Vec<&str> = d["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["planungsraeume", "bezirke", "kitas"]);
    let c = get(&cat, "/collections/planungsraeume").await.json();
    assert_eq!(
        c["storageCrs"],
        "http://www.opengis.net/def/crs/EPSG/0/25833"
    );
    assert_eq!(c["crs"].as_array().unwrap().len(), 4);
    let bbox = c["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    let b: Vec<f64> = bbox.iter().map(|v| v.as_f64().unwrap()).collect();
    // x from 390 000 to 393 000 → 13 + 10000/68000 … 13 + 13000/68000
    assert!((b[0] - (13.0 + 10_000.0 / 68_000.0)).abs() < 1e-6, "{b:?}");
    assert!((b[2] - (13.0 + 13_000.0 / 68_000.0)).abs() < 1e-6, "{b:?}");
    assert_eq!(
        c["extent"]["temporal"]["interval"][0][0],
        "2023-01-01T00:00:00Z"
    );
    assert_eq!(
        c["extent"]["temporal"]["interval"][0][1],
        "2024-12-31T23:59:59Z"
    );
}

#[tokio::test]
async fn items_default_to_latest_year_with_stable_ids_and_flags() {
    let cat = catalog();
    let r = get(&cat, "/collections/planungsraeume/items?limit=2").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), "application/geo+json");
    assert_eq!(
        r.header("content-crs"),
        "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    );
    let d = r.json();
    assert_eq!(d["numberMatched"], 3);
    assert_eq!(d["numberReturned"], 2);
    let f = &d["features"][1];
    assert_eq!(f["id"], "01100102");
    assert_eq!(f["properties"]["year"], 2024);
    assert_eq!(f["properties"]["residents"], 820);
    assert_eq!(f["properties"]["age_below_6"], Value::Null);
    assert_eq!(f["properties"]["age_below_6_flag"], "suppressed");
    assert_eq!(f["properties"]["anteil_u6"], Value::Null);
    assert_eq!(f["properties"]["mss_status_class"], 2);
    assert_eq!(f["properties"]["kitas_capacity"], 120.0);
    let one = get(&cat, "/collections/planungsraeume/items/01100101")
        .await
        .json();
    assert_eq!(one["id"], "01100101");
    assert_eq!(one["properties"]["mss_attention"], true);
    let y2023 = get(
        &cat,
        "/collections/planungsraeume/items?datetime=2023&limit=1",
    )
    .await
    .json();
    assert_eq!(y2023["features"][0]["properties"]["year"], 2023);
    assert_eq!(y2023["features"][0]["properties"]["residents"], 1000);
    let none = get(&cat, "/collections/planungsraeume/items?datetime=2019")
        .await
        .json();
    assert_eq!(none["numberMatched"], 0);
}

#[tokio::test]
async fn paging_walks_to_the_last_page_where_next_is_absent() {
    let cat = catalog();
    let mut url = "/collections/planungsraeume/items?limit=1".to_string();
    let mut ids = Vec::new();
    for _ in 0..10 {
        let d = get(&cat, &url).await.json();
        assert_eq!(d["numberReturned"], 1);
        ids.push(d["features"][0]["id"].as_str().unwrap().to_string());
        if ids.len() > 1 {
            assert!(rel(&d, "prev").is_some());
        }
        match rel(&d, "next") {
            Some(n) => url = path_of(n),
            None => break,
        }
    }
    assert_eq!(ids, ["01100101", "01100102", "02200203"]);
    let past = get(&cat, "/collections/planungsraeume/items?offset=10")
        .await
        .json();
    assert_eq!(past["numberReturned"], 0);
    assert!(rel(&past, "next").is_none());
}

#[tokio::test]
async fn limit_above_maximum_is_clamped_with_a_next_link() {
    let cat = catalog();
    let d = get(&cat, "/collections/planungsraeume/items?limit=1000")
        .await
        .json();
    assert_eq!(d["numberReturned"], 2);
    let next = rel(&d, "next").expect("next link");
    assert!(
        next.contains("limit=2") && next.contains("offset=2"),
        "{next}"
    );
}

async fn expect_problem(uri: &str, status: StatusCode, detail: &str) {
    let cat = catalog();
    let r = get(&cat, uri).await;
    assert_eq!(r.status, status, "{uri}: {}", r.body);
    assert_eq!(
        r.header("content-type"),
        "application/problem+json",
        "{uri}"
    );
    let d = r.json();
    assert_eq!(d["status"], status.as_u16());
    assert!(
        d["detail"].as_str().unwrap().contains(detail),
        "{uri}: {}",
        d["detail"]
    );
}

#[tokio::test]
async fn bad_parameters_are_precise_4xx_never_5xx() {
    let items = "/collections/planungsraeume/items";
    expect_problem(
        &format!("{items}?offset=-1"),
        StatusCode::BAD_REQUEST,
        "offset value should be positive or zero",
    )
    .await;
    expect_problem(
        &format!("{items}?offset=abc"),
        StatusCode::BAD_REQUEST,
        "offset value should be an integer",
    )
    .await;
    expect_problem(
        &format!("{items}?limit=0"),
        StatusCode::BAD_REQUEST,
        "limit value should be strictly positive",
    )
    .await;
    expect_problem(
        &format!("{items}?limit=-5"),
        StatusCode::BAD_REQUEST,
        "strictly positive",
    )
    .await;
    expect_problem(
        &format!("{items}?bbox=1,2,3"),
        StatusCode::BAD_REQUEST,
        "bbox must have 4 or 6 numbers, got 3",
    )
    .await;
    expect_problem(
        &format!("{items}?bbox=a,b,c,d"),
        StatusCode::BAD_REQUEST,
        "bbox values must be numbers",
    )
    .await;
    expect_problem(
        &format!("{items}?bbox=14,53,13,52"),
        StatusCode::BAD_REQUEST,
        "lower corner",
    )
    .await;
    expect_problem(
        &format!("{items}?crs=EPSG:3857"),
        StatusCode::BAD_REQUEST,
        "crs 'EPSG:3857' is not supported",
    )
    .await;
    expect_problem(
        &format!("{items}?datetime=gestern"),
        StatusCode::BAD_REQUEST,
        "datetime 'gestern'",
    )
    .await;
    expect_problem(
        &format!("{items}?foo=1"),
        StatusCode::BAD_REQUEST,
        "unknown query parameter 'foo'",
    )
    .await;
    expect_problem(
        &format!("{items}?residents=viele"),
        StatusCode::BAD_REQUEST,
        "property 'residents' is a number",
    )
    .await;
    expect_problem(
        &format!("{items}?f=xml"),
        StatusCode::BAD_REQUEST,
        "unsupported format",
    )
    .await;
    expect_problem(
        "/collections/nirgendwo/items",
        StatusCode::NOT_FOUND,
        "unknown collection 'nirgendwo'",
    )
    .await;
    expect_problem(
        "/collections/nirgendwo",
        StatusCode::NOT_FOUND,
        "unknown collection 'nirgendwo'",
    )
    .await;
    expect_problem(
        &format!("{items}/1100101"),
        StatusCode::NOT_FOUND,
        "unknown feature '1100101'",
    )
    .await;
    expect_problem(
        "/collections/kitas/items/K9",
        StatusCode::NOT_FOUND,
        "unknown feature 'K9'",
    )
    .await;
    expect_problem("/gibtsnicht", StatusCode::NOT_FOUND, "no resource").await;
    expect_problem(
        "/collections/planungsraeume/download?format=shp",
        StatusCode::BAD_REQUEST,
        "format 'shp'",
    )
    .await;
    expect_problem(
        "/collections/planungsraeume/download?format=gpkg",
        StatusCode::NOT_IMPLEMENTED,
        "GeoPackage",
    )
    .await;
    expect_problem(
        "/collections/bezirke/index",
        StatusCode::BAD_REQUEST,
        "has no index",
    )
    .await;
}

fn first_coord(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"][0][0][0];
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

#[tokio::test]
async fn crs_parameters_reproject_and_swap_axes() {
    let cat = catalog();
    let base = "/collections/planungsraeume/items/01100101";
    let utm = get(
        &cat,
        &format!("{base}?crs=http://www.opengis.net/def/crs/EPSG/0/25833"),
    )
    .await;
    assert_eq!(
        utm.header("content-crs"),
        "<http://www.opengis.net/def/crs/EPSG/0/25833>"
    );
    assert_eq!(first_coord(&utm.json()), (390_000.0, 5_820_000.0));
    let u32_ = get(&cat, &format!("{base}?crs=EPSG:25832")).await.json();
    assert_eq!(first_coord(&u32_), (790_000.0, 5_821_000.0));
    let lonlat = first_coord(&get(&cat, base).await.json());
    let latlon = first_coord(
        &get(
            &cat,
            &format!("{base}?crs=http://www.opengis.net/def/crs/EPSG/0/4326"),
        )
        .await
        .json(),
    );
    assert_eq!((latlon.1, latlon.0), lonlat);
    assert!((lonlat.0 - (13.0 + 10_000.0 / 68_000.0)).abs() < 1e-7);

    // bbox in metres around only Moabit's square (391 000 … 392 000)
    let items = "/collections/planungsraeume/items";
    let d = get(
        &cat,
        &format!("{items}?bbox=391200,5820100,391800,5820900&bbox-crs=EPSG:25833"),
    )
    .await
    .json();
    assert_eq!(d["numberMatched"], 1);
    assert_eq!(d["features"][0]["id"], "01100102");
    // the same box in CRS84 and in lat/lon order
    let (x0, x1) = (13.0 + 11_200.0 / 68_000.0, 13.0 + 11_800.0 / 68_000.0);
    let (y0, y1) = (52.0 + 20_100.0 / 111_000.0, 52.0 + 20_900.0 / 111_000.0);
    let d = get(&cat, &format!("{items}?bbox={x0},{y0},{x1},{y1}"))
        .await
        .json();
    assert_eq!(d["numberMatched"], 1);
    let d = get(
        &cat,
        &format!("{items}?bbox={y0},{x0},{y1},{x1}&bbox-crs=EPSG:4326"),
    )
    .await
    .json();
    assert_eq!(d["numberMatched"], 1);
    assert_eq!(d["features"][0]["id"], "01100102");
}

#[tokio::test]
async fn other_crss_and_zoom_tiers_are_rendered_on_first_request_and_kept() {
    use kleinraum_serve::crs::OutputCrs;
    let cat = catalog();
    let c = cat.collection("planungsraeume").unwrap();
    // Built: no geometry rendered, so the server listens at once.
    assert!(!c.geometry_ready(None, OutputCrs::Crs84));
    assert!(!cat.extents_ready());
    // CRS84 (the map's and every GIS client's) by the warm-up the binary starts; nothing
    // simplified yet.
    cat.warm().expect("CRS84 renders");
    assert!(c.geometry_ready(None, OutputCrs::Crs84));
    assert!(cat.extents_ready());
    for crs in [
        OutputCrs::Epsg4326,
        OutputCrs::Epsg25832,
        OutputCrs::Epsg25833,
    ] {
        assert!(!c.geometry_ready(None, crs), "{crs:?} rendered at build");
    }
    assert!(!c.geometry_ready(Some(0), OutputCrs::Crs84));
    let base = "/collections/planungsraeume/items/01100101";
    let first = get(&cat, &format!("{base}?crs=EPSG:25832")).await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(c.geometry_ready(None, OutputCrs::Epsg25832));
    assert!(
        !c.geometry_ready(None, OutputCrs::Epsg25833),
        "only what was asked for"
    );
    // Kept: the second answer is the first one.
    let again = get(&cat, &format!("{base}?crs=EPSG:25832")).await;
    assert_eq!(again.body, first.body);
    // A zoom tier of a page is rendered for the whole collection, in the CRS asked for.
    let page = get(
        &cat,
        "/collections/planungsraeume/items?zoom-level=8&crs=EPSG:4326",
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(c.geometry_ready(Some(0), OutputCrs::Epsg4326));
    assert!(!c.geometry_ready(Some(0), OutputCrs::Crs84));
}

#[tokio::test]
async fn a_crs_that_cannot_be_rendered_on_request_is_a_500_naming_it_and_the_rest_answers() {
    // A reprojection that fails into EPSG:25832 only: the catalog builds (CRS84 works), the
    // request for 25832 says why it fails, and the server keeps answering the others.
    let cat = catalog_failing_into(25832, "no grid for this area");
    for uri in [
        "/collections/planungsraeume/items/01100101?crs=EPSG:25832",
        "/collections/planungsraeume/items?crs=EPSG:25832",
    ] {
        let r = get(&cat, uri).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        let t = &r.body;
        assert!(
            t.contains("planungsraeume") && t.contains("25832") && t.contains("no grid"),
            "{uri}: {t}"
        );
    }
    let ok = get(
        &cat,
        "/collections/planungsraeume/items/01100101?crs=EPSG:25833",
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(first_coord(&ok.json()), (390_000.0, 5_820_000.0));
}

#[tokio::test]
async fn crs84_that_cannot_be_rendered_fails_the_requests_that_need_it_not_the_start() {
    // CRS84 is rendered after the server listens: a reprojection that fails there leaves
    // /conformance answering, and every request that needs CRS84 (the extents of
    // /collections, the items) says which collection and why, as does the warm-up's log.
    let cat = catalog_failing_into(4326, "no transformation to WGS 84");
    assert_eq!(get(&cat, "/conformance").await.status, StatusCode::OK);
    for uri in [
        "/collections",
        "/collections/planungsraeume",
        "/collections/planungsraeume/items",
    ] {
        let r = get(&cat, uri).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
        assert!(
            r.body.contains("planungsraeume") && r.body.contains("no transformation"),
            "{uri}: {}",
            r.body
        );
    }
    let e = cat.warm().expect_err("the warm-up reports it");
    assert!(e.to_string().contains("planungsraeume"), "{e}");
    // The storage CRS needs no reprojection and still answers.
    let ok = get(&cat, "/collections/planungsraeume/items?crs=EPSG:25833").await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn cql2_filter_and_property_equality() {
    let cat = catalog();
    let items = "/collections/planungsraeume/items";
    let q = |f: &str| format!("{items}?filter={}&filter-lang=cql2-text", urlencode(f));
    let d = get(&cat, &q("mss_status_class >= 2 AND year = 2024"))
        .await
        .json();
    assert_eq!(d["numberMatched"], 2);
    let d = get(&cat, &q("name = 'Moabit' OR id IN ('02200203')"))
        .await
        .json();
    let ids: Vec<&str> = d["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["01100102", "02200203"]);
    // a filter on year selects that year's values
    let d = get(&cat, &q("year = 2023 AND residents > 700"))
        .await
        .json();
    assert_eq!(d["numberMatched"], 2);
    assert_eq!(d["features"][0]["properties"]["year"], 2023);
    let d = get(&cat, &format!("{items}?mss_attention=true"))
        .await
        .json();
    assert_eq!(d["numberMatched"], 1);
    assert_eq!(d["features"][0]["id"], "01100101");
    let d = get(&cat, &format!("{items}?name=Mitte%20S%C3%BCd"))
        .await
        .json();
    assert_eq!(d["features"][0]["id"], "02200203");
    expect_problem(
        &q("status_klasse > 1"),
        StatusCode::BAD_REQUEST,
        "unknown property 'status_klasse'",
    )
    .await;
    expect_problem(&q("name = 3"), StatusCode::BAD_REQUEST, "quote the value").await;
    let qa = get(&cat, "/collections/planungsraeume/queryables")
        .await
        .json();
    assert_eq!(qa["properties"]["mss_status_class"]["type"], "integer");
    assert_eq!(qa["properties"]["name"]["type"], "string");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn etag_answers_304_and_sets_cache_control() {
    let cat = catalog();
    let uri = "/collections/planungsraeume/items?limit=2";
    let r = get(&cat, uri).await;
    let tag = r.header("etag").to_string();
    assert!(tag.starts_with("W/\""), "{tag}");
    assert!(r.header("cache-control").contains("max-age"));
    let again = get_with(&cat, uri, &[("if-none-match", &tag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let other = get_with(
        &cat,
        "/collections/planungsraeume/items?limit=1",
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn gzip_when_asked() {
    let cat = catalog();
    let r = get_with(
        &cat,
        "/collections/planungsraeume/download?format=geojson",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(r.header("content-encoding"), "gzip");
}

#[tokio::test]
async fn facilities_timeseries_index_indicators_and_downloads() {
    let cat = catalog();
    let k = get(&cat, "/collections/kitas/items").await.json();
    assert_eq!(k["numberMatched"], 2);
    assert_eq!(k["features"][0]["id"], "K1");
    assert_eq!(k["features"][0]["geometry"]["type"], "Point");
    assert_eq!(k["features"][0]["properties"]["traeger"], "Bezirk");
    assert_eq!(k["features"][1]["properties"]["capacity"], Value::Null);

    let ts = get(
        &cat,
        "/collections/planungsraeume/items/01100102/timeseries",
    )
    .await
    .json();
    assert_eq!(ts["years"], serde_json::json!([2023, 2024]));
    assert_eq!(ts["counts"]["residents"], serde_json::json!([800, 820]));
    assert_eq!(ts["counts"]["age_below_6"], serde_json::json!([40, null]));
    assert_eq!(ts["count_flags"]["age_below_6"][1], "suppressed");
    assert_eq!(
        ts["indices"]["mss"]["status_class"],
        serde_json::json!([null, 2])
    );

    let ix = get(&cat, "/collections/planungsraeume/index").await.json();
    assert_eq!(ix["year"], 2024);
    let order: Vec<&str> = ix["areas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["01100101", "01100102", "02200203"]);
    assert_eq!(ix["attention_count"], 1);
    assert_eq!(
        ix["areas"][0]["status_contributions"][0]["indicator"],
        "anteil_u6"
    );

    let ind = get(&cat, "/indicators").await.json();
    assert_eq!(ind["indicators"][0]["id"], "anteil_u6");
    assert_eq!(ind["indicators"][0]["unit"], "%");
    assert_eq!(
        ind["indicators"][0]["formula"],
        "age_below_6 / residents × 100"
    );

    let csv = get(&cat, "/collections/planungsraeume/download?format=csv").await;
    assert_eq!(
        csv.body.lines().count(),
        1 + 3 * 2,
        "one row per area and year"
    );
    assert!(
        csv.body
            .starts_with("id,name,parent,level,year,area_km2,residents,residents_flag")
    );
    let xl = get(
        &cat,
        "/collections/planungsraeume/download?format=csv-excel",
    )
    .await;
    assert!(xl.body.starts_with('\u{feff}'));
    let moabit_2024 = xl
        .body
        .lines()
        .find(|l| l.starts_with("01100102;") && l.contains(";2024;"))
        .unwrap();
    assert!(
        moabit_2024.contains(";820;published;·;suppressed;"),
        "{moabit_2024}"
    );
    assert!(
        xl.header("content-disposition")
            .contains("planungsraeume.csv")
    );
    let gj = get(&cat, "/collections/bezirke/download?format=geojson")
        .await
        .json();
    assert_eq!(gj["features"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn html_pages_render_in_german() {
    let cat = catalog();
    for uri in [
        "/collections?f=html",
        "/collections/planungsraeume?f=html",
        "/collections/planungsraeume/items?f=html",
        "/collections/planungsraeume/items/01100101?f=html",
        "/collections/planungsraeume/queryables?f=html",
        "/indicators?f=html",
        "/conformance?f=html",
        "/api?f=html",
    ] {
        let r = get(&cat, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(r.header("content-type").starts_with("text/html"), "{uri}");
        assert!(r.body.contains("<html lang=\"de\">"), "{uri}");
    }
    let items = get(&cat, "/collections/planungsraeume/items?f=html").await;
    assert!(items.body.contains("Wedding") && items.body.contains("Weiter"));
}

#[tokio::test]
async fn cors_is_off_by_default_and_on_for_configured_origins() {
    let cat = catalog();
    let r = get_with(&cat, "/collections", &[("origin", "https://example.org")]).await;
    assert!(r.headers.get("access-control-allow-origin").is_none());
    let rp = fake_reproject;
    let mut s = settings();
    s.cors_origins = vec!["https://example.org".into()];
    let cat = std::sync::Arc::new(
        kleinraum_serve::Catalog::build(s, &result(), &[kitas()], std::sync::Arc::new(rp)).unwrap(),
    );
    let r = get_with(&cat, "/collections", &[("origin", "https://example.org")]).await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        "https://example.org"
    );
}
