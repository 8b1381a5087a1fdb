//! What the web map needs from the server: years with data per indicator (`/indicators`), the
//! reasons of missing values (`/collections/{id}/missing`), its settings (`/map-config`) and
//! geometry simplified per zoom level with shared borders kept (`zoom-level`).

use crate::fixture::{catalog, fake_reproject, get, kitas, result, settings};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use kleinraum_serve::Catalog;
use kleinraum_serve::catalog::MapSettings;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn indicators_say_which_years_have_data_per_level() {
    let cat = catalog();
    let ind = get(&cat, "/indicators").await.json();
    let dy = &ind["indicators"][0]["data_years"];
    // anteil_u6 has values in both years on both levels (one suppressed area does not empty a year)
    assert_eq!(dy["planungsraeume"], serde_json::json!([2023, 2024]));
    assert_eq!(dy["bezirke"], serde_json::json!([2023, 2024]));
    // the index has values in 2024 only
    assert_eq!(ind["indices"][0]["data_years"], serde_json::json!([2024]));
}

#[tokio::test]
async fn missing_values_are_grouped_by_reason() {
    let cat = catalog();
    let m = get(&cat, "/collections/planungsraeume/missing?year=2024").await;
    assert_eq!(m.status, 200, "{}", m.body);
    let m = m.json();
    assert_eq!(m["year"], 2024);
    assert_eq!(m["areas"], 3);
    // Moabit's children under 6 are suppressed in 2024, so its share is too
    assert_eq!(m["indicators"]["anteil_u6"]["with_value"], 2);
    assert_eq!(
        m["indicators"]["anteil_u6"]["missing"]["suppressed"],
        serde_json::json!(["01100102"])
    );
    assert_eq!(m["indices"]["mss"]["with_value"], 3);
    // 2023: no index at all
    let m23 = get(&cat, "/collections/planungsraeume/missing?year=2023")
        .await
        .json();
    assert_eq!(m23["indices"]["mss"]["with_value"], 0);
    assert_eq!(
        m23["indices"]["mss"]["missing"]["no_data"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // without year: the default year
    assert_eq!(
        get(&cat, "/collections/planungsraeume/missing")
            .await
            .json()["year"],
        2024
    );
    for (uri, status) in [
        ("/collections/planungsraeume/missing?year=1999", 400),
        ("/collections/planungsraeume/missing?year=abc", 400),
        ("/collections/planungsraeume/missing?bogus=1", 400),
        ("/collections/planungsraeume/missing?f=html", 406),
        ("/collections/kitas/missing", 404),
        ("/collections/nope/missing", 404),
    ] {
        assert_eq!(get(&cat, uri).await.status, status, "{uri}");
    }
}

#[tokio::test]
async fn map_config_without_and_with_basemap() {
    let cat = catalog();
    let c = get(&cat, "/map-config").await.json();
    assert_eq!(c["basemap"], Value::Null, "no background map by default");
    assert_eq!(
        c["outline_level"], "bezirke",
        "default: the coarsest level with geometry"
    );
    assert_eq!(c["impressum_url"], Value::Null);
    assert_eq!(c["zoom_tiers"], serde_json::json!([8, 10, 12, 14, 16]));

    let cfg = kleinraum_load::ProjectConfig::from_toml(
        "working_crs = 25833\n[[level]]\nkey = \"planungsraeume\"\ntitle = \"P\"\nsource = \"p.geojson\"\nid_field = \"id\"\n\
         [server]\nimpressum_url = \"https://stadt.example/impressum\"\ndatenschutz_url = \"/datenschutz\"\n\
         [server.basemap]\nkind = \"wms\"\nurl = \"https://geo.example/wms\"\nlayers = \"stadtplan\"\nattribution = \"© Kreis\"\nopacity = 0.5\n",
        std::path::Path::new("t.toml"),
        std::path::Path::new("."),
    )
    .unwrap();
    let s = kleinraum_serve::Settings {
        map: MapSettings {
            outline_level: Some("planungsraeume".into()),
            basemap: cfg.server.basemap.clone(),
            impressum_url: cfg.server.impressum_url.clone(),
            datenschutz_url: cfg.server.datenschutz_url.clone(),
        },
        ..settings()
    };
    let rp = fake_reproject;
    let cat2 = Arc::new(Catalog::build(s, &result(), &[kitas()], Arc::new(rp)).unwrap());
    let c = get(&cat2, "/map-config").await.json();
    assert_eq!(c["basemap"]["kind"], "wms");
    assert_eq!(c["basemap"]["layers"], "stadtplan");
    assert_eq!(c["basemap"]["version"], "1.3.0");
    assert_eq!(c["basemap"]["opacity"], 0.5);
    assert_eq!(c["basemap"]["attribution"], "© Kreis");
    assert_eq!(c["impressum_url"], "https://stadt.example/impressum");
    assert_eq!(c["datenschutz_url"], "/datenschutz");
    assert_eq!(c["outline_level"], "planungsraeume");
    assert_eq!(get(&cat2, "/map-config?f=html").await.status, 406);
}

/// `k` points from `a` towards `b` (b excluded), wiggling sideways by up to 6 m.
fn wiggle(a: (f64, f64), b: (f64, f64), k: usize) -> Vec<Coord<f64>> {
    (0..k)
        .map(|i| {
            let t = i as f64 / k as f64;
            let w = if i == 0 { 0.0 } else { 6.0 * (t * 41.0).sin() };
            Coord {
                x: a.0 + (b.0 - a.0) * t + w,
                y: a.1 + (b.1 - a.1) * t,
            }
        })
        .collect()
}

/// The fixture with the first two Planungsräume sharing a wiggly 400-vertex border.
fn wiggly_catalog() -> Arc<Catalog> {
    let mut r = result();
    let (x0, y0) = (390_000.0, 5_820_000.0);
    let shared = wiggle((x0 + 1000.0, y0), (x0 + 1000.0, y0 + 1000.0), 400);
    let top = Coord {
        x: x0 + 1000.0,
        y: y0 + 1000.0,
    };
    let mut a = vec![Coord { x: x0, y: y0 }];
    a.extend(shared.iter().copied());
    a.extend([
        top,
        Coord {
            x: x0,
            y: y0 + 1000.0,
        },
        Coord { x: x0, y: y0 },
    ]);
    let mut b = vec![
        Coord {
            x: x0 + 1000.0,
            y: y0,
        },
        Coord {
            x: x0 + 2000.0,
            y: y0,
        },
        Coord {
            x: x0 + 2000.0,
            y: y0 + 1000.0,
        },
        top,
    ];
    b.extend(shared[1..].iter().rev().copied());
    b.push(Coord {
        x: x0 + 1000.0,
        y: y0,
    });
    r.levels[0].areas[0].geometry = Some(MultiPolygon(vec![Polygon::new(LineString(a), vec![])]));
    r.levels[0].areas[1].geometry = Some(MultiPolygon(vec![Polygon::new(LineString(b), vec![])]));
    let rp = fake_reproject;
    Arc::new(Catalog::build(settings(), &r, &[kitas()], Arc::new(rp)).unwrap())
}

fn coords(f: &Value) -> Vec<(String, String)> {
    f["geometry"]["coordinates"][0][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].to_string(), c[1].to_string()))
        .collect()
}

#[tokio::test]
async fn zoom_level_simplifies_and_neighbours_keep_their_shared_border() {
    let cat = wiggly_catalog();
    let c = cat.collection("planungsraeume").unwrap();
    let (full, tiers) = &c.vertices();
    assert_eq!(tiers.len(), 5);
    assert!(tiers[0] < tiers[4] && tiers[4] <= *full, "{full} {tiers:?}");
    let page = |q: &str| {
        let cat = cat.clone();
        let q = q.to_string();
        async move {
            get(
                &cat,
                &format!("/collections/planungsraeume/items?limit=2&properties=id&{q}"),
            )
            .await
            .json()
        }
    };
    let full_fc = page("").await;
    let z8 = page("zoom-level=8").await;
    let z17 = page("zoom-level=17").await;
    assert_eq!(
        coords(&z17["features"][0]),
        coords(&full_fc["features"][0]),
        "above the last tier: full geometry"
    );
    let (fa, fb) = (
        coords(&full_fc["features"][0]),
        coords(&full_fc["features"][1]),
    );
    let (sa, sb) = (coords(&z8["features"][0]), coords(&z8["features"][1]));
    assert!(
        sa.len() < fa.len() / 4,
        "{} of {} vertices at zoom 8",
        sa.len(),
        fa.len()
    );
    assert!(
        sa.len() >= 4 && sa.first() == sa.last(),
        "still a closed ring"
    );
    // every kept vertex that both had in full is kept by both: the border stays shared
    // (simplified coordinates are rounded to 4 decimals at zoom 8: compare rounded positions)
    let key = |c: &(String, String)| {
        let r = |s: &str| (s.parse::<f64>().unwrap() * 1e4).round() as i64;
        (r(&c.0), r(&c.1))
    };
    let shared: std::collections::BTreeSet<_> =
        fa.iter().filter(|c| fb.contains(c)).map(key).collect();
    let ka: std::collections::BTreeSet<_> =
        sa.iter().map(key).filter(|c| shared.contains(c)).collect();
    let kb: std::collections::BTreeSet<_> =
        sb.iter().map(key).filter(|c| shared.contains(c)).collect();
    assert_eq!(ka, kb, "both sides of the border keep the same vertices");
    assert!(ka.len() >= 2, "{ka:?}");
    // and they are the very same text on both sides
    let ta: std::collections::BTreeSet<_> = sa.iter().collect();
    assert!(
        sb.iter()
            .filter(|c| shared.contains(&key(c)))
            .all(|c| ta.contains(c))
    );
    // a single item, other CRS, facilities (points: no effect)
    let one = get(&cat, "/collections/planungsraeume/items/01100101?zoom-level=8&crs=http://www.opengis.net/def/crs/EPSG/0/25833")
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(coords(&one.json()).len(), sa.len());
    assert_eq!(
        get(&cat, "/collections/kitas/items?zoom-level=8")
            .await
            .status,
        200
    );
    for bad in [
        "zoom-level=31",
        "zoom-level=-1",
        "zoom-level=abc",
        "zoom-level=8.5",
    ] {
        let r = get(&cat, &format!("/collections/planungsraeume/items?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.contains("zoom-level"), "{}", r.body);
    }
}

#[tokio::test]
async fn the_api_description_documents_the_map_resources() {
    let cat = catalog();
    let api = get(&cat, "/api").await.json();
    let paths = api["paths"].as_object().unwrap();
    for p in ["/map-config", "/collections/planungsraeume/missing"] {
        assert!(paths.contains_key(p), "{p} documented");
    }
    assert!(
        !paths.contains_key("/collections/kitas/missing"),
        "facilities have no missing values"
    );
    let names = |p: &str| -> Vec<String> {
        paths[p]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(names("/collections/planungsraeume/items").contains(&"zoom-level".to_string()));
    assert!(
        names("/collections/planungsraeume/items/{featureId}").contains(&"zoom-level".to_string())
    );
    assert!(names("/collections/planungsraeume/missing").contains(&"year".to_string()));
}
