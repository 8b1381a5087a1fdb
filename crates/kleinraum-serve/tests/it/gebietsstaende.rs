//! Every Gebietsstände route in-process (no socket, milliseconds) on the synthetic workspace of
//! `kleinraum-testdata`: a 5 × 5 grid near 13° E, 52° N, 3,000 points, the base version
//! "basis". Roles, uploads, drafts (split, merge, reshape, draw, save), comparison and
//! crosswalk (JSON and CSV), publishing, deleting, the audit log.

use crate::fixture::{call, catalog, expect};
use kleinraum_gebietsstand::Projector;
use kleinraum_serve::auth::Tokens;
use kleinraum_serve::redefine::{Readiness, RedefineState};
use kleinraum_serve::work::WorkLimiter;
use kleinraum_testdata::workspace::{LinearProjector, X0, Y0, workspace};
use serde_json::{Value, json};
use std::sync::Arc;

const TOKENS: &str =
    "viewer:vera:viewer-secret-1;planner:paul:planner-secret-1;admin:anna:admin-secret-1";

/// The router with its workspace directory, which lives as long as the router; requests go
/// through the router (`&app` derefs to it).
struct App {
    router: axum::Router,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for App {
    type Target = axum::Router;
    fn deref(&self) -> &axum::Router {
        &self.router
    }
}

fn app() -> App {
    let (ws, dir) = workspace();
    let st = RedefineState::new(
        ws,
        Tokens::new(Tokens::parse_list(TOKENS).unwrap()),
        WorkLimiter::default(),
    );
    App {
        router: kleinraum_serve::app_with(catalog(), Some(Arc::new(st))),
        _dir: dir,
    }
}

const VIEWER: Option<&str> = Some("viewer-secret-1");
const PLANNER: Option<&str> = Some("planner-secret-1");
const ADMIN: Option<&str> = Some("admin-secret-1");

/// A rectangle in WGS 84 around working-CRS metres (x0..x1, y0..y1) of the grid.
fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    let p = LinearProjector;
    let c = |x: f64, y: f64| {
        let (lon, lat) = p.working_to_wgs84(X0 + x, Y0 + y).unwrap();
        json!([lon, lat])
    };
    json!({"type": "Polygon", "coordinates": [[c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]]})
}

/// The server listens before the versions are computed: the Gebietsstände routes wait for the
/// computation (and then answer as usual), or say why it failed; the OGC API does not wait.
#[tokio::test]
async fn routes_wait_for_the_versions_computed_after_start() {
    let start = |ws| {
        let (signal, st) = RedefineState::computing(
            ws,
            Tokens::new(Tokens::parse_list(TOKENS).unwrap()),
            WorkLimiter::default(),
        );
        let st = Arc::new(st);
        (
            signal,
            st.clone(),
            kleinraum_serve::app_with(catalog(), Some(st)),
        )
    };
    let (ws, _dir) = workspace();
    let (signal, st, router) = start(ws);
    let app = App { router, _dir };
    assert_eq!(st.readiness(), Readiness::Computing);
    let pending = tokio::spawn({
        let router = app.router.clone();
        async move { call(&router, "GET", "/gebietsstaende", None, None).await }
    });
    // The OGC API answers meanwhile; the Gebietsstände request is still waiting.
    expect(&app, "GET", "/conformance", None, None, 200).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        !pending.is_finished(),
        "answered before the versions were computed"
    );
    // A write without a token is refused at once, not after the wait.
    expect(&app, "POST", "/entwurf", None, Some(json!({})), 401).await;
    signal.done(Ok(()));
    let resp = pending.await.unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        call(&app, "GET", "/gebietsstaende", None, None)
            .await
            .json()["base"],
        "basis"
    );

    // A failed computation: the routes say why (503), the OGC API still serves.
    let (ws, _dir2) = workspace();
    let (signal, _st, router) = start(ws);
    let failed = App {
        router,
        _dir: _dir2,
    };
    signal.done(Err("Gebietsstand \"plz\": Datei fehlt".into()));
    let r = expect(&failed, "GET", "/gebietsstaende", None, None, 503).await;
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("nicht berechnet") && detail.contains("Datei fehlt"),
        "{detail}"
    );
    expect(&failed, "GET", "/conformance", None, None, 200).await;

    // The computing thread died without a word (a panic): 503, no hang.
    let (ws, _dir3) = workspace();
    let (signal, _st, router) = start(ws);
    let died = App {
        router,
        _dir: _dir3,
    };
    drop(signal);
    expect(&died, "GET", "/gebietsstaende/basis/areas", None, None, 503).await;

    // Still computing after the longest wait for costly work: 503 with Retry-After, as busy.
    let (ws, _dir4) = workspace();
    let (_signal, st) = RedefineState::computing(
        ws,
        Tokens::new(Vec::new()),
        WorkLimiter::new(
            1,
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(1),
        ),
    );
    let slow = App {
        router: kleinraum_serve::app_with(catalog(), Some(Arc::new(st))),
        _dir: _dir4,
    };
    let resp = expect(&slow, "GET", "/gebietsstaende", None, None, 503).await;
    assert!(resp.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn roles_list_and_areas() {
    let app = app();
    assert_eq!(
        call(&app, "GET", "/auth", None, None).await.json()["role"],
        "public"
    );
    assert_eq!(
        call(&app, "GET", "/auth", PLANNER, None).await.json()["role"],
        "planner"
    );
    expect(&app, "GET", "/auth", Some("wrong-token-xx"), None, 401).await;
    let list = call(&app, "GET", "/gebietsstaende", None, None)
        .await
        .json();
    assert_eq!(list["base"], "basis");
    assert_eq!(list["gebietsstaende"][0]["key"], "basis");
    assert_eq!(list["years"], json!([2023, 2024]));
    let uri = "/gebietsstaende/basis/areas?year=2024";
    let areas = expect(&app, "GET", uri, None, None, 200).await;
    let v = areas.json();
    let feats = v["features"].as_array().unwrap();
    assert_eq!(feats.len(), 25);
    // WGS 84 coordinates (reprojected once per version), residents summed from the points.
    let lon = feats[0]["geometry"]["coordinates"][0][0][0][0]
        .as_f64()
        .unwrap();
    assert!((13.0..13.01).contains(&lon), "{lon}");
    let total: u64 = feats
        .iter()
        .filter_map(|f| f["properties"]["residents"].as_u64())
        .sum();
    assert!(total > 10_000, "{total}");
    // Served from the cache the second time: the same bytes.
    let again = call(&app, "GET", uri, None, None).await;
    assert_eq!(again.bytes, areas.bytes);
    for (uri, want) in [
        ("/gebietsstaende/basis/areas?year=1999", 400),
        ("/gebietsstaende/nix/areas", 404),
        ("/gebietsstaende/basis/areas?jahr=2024", 400),
    ] {
        expect(&app, "GET", uri, None, None, want).await;
    }
}

#[tokio::test]
async fn uploads_need_a_planner_and_drafts_stay_private_until_published() {
    let app = app();
    // Two halves of the grid as a new definition.
    let fc = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"nr": "W", "name": "West"}, "geometry": rect(0.0, 0.0, 250.0, 500.0)},
        {"type": "Feature", "properties": {"nr": "O", "name": "Ost"}, "geometry": rect(250.0, 0.0, 500.0, 500.0)},
    ]});
    let uri = "/gebietsstaende?key=haelften&name=H%C3%A4lften&id_field=nr&name_field=name";
    expect(&app, "POST", uri, None, Some(fc.clone()), 401).await;
    expect(&app, "POST", uri, VIEWER, Some(fc.clone()), 403).await;
    let up = expect(&app, "POST", uri, PLANNER, Some(fc.clone()), 201).await;
    assert_eq!(up.json()["n_areas"], 2);
    // Publishing on upload needs an admin.
    let pub_uri = "/gebietsstaende?key=x2&id_field=nr&status=published";
    expect(&app, "POST", pub_uri, PLANNER, Some(fc.clone()), 403).await;
    // A broken upload names feature and field; nothing is stored.
    let broken = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "ohne Nummer"}, "geometry": rect(0.0, 0.0, 10.0, 10.0)}]});
    let uri = "/gebietsstaende?key=kaputt&id_field=nr";
    let r = expect(&app, "POST", uri, PLANNER, Some(broken), 400).await;
    assert!(
        r.body.contains("Feature 1") && r.body.contains("nr"),
        "{}",
        r.body
    );
    // The public does not see the draft; viewers do.
    let public: Vec<String> = call(&app, "GET", "/gebietsstaende", None, None)
        .await
        .json()["gebietsstaende"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(public, ["basis"]);
    let haelften = "/gebietsstaende/haelften/areas";
    expect(&app, "GET", haelften, None, None, 404).await;
    let residents = |v: Value| -> u64 {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["properties"]["residents"].as_u64())
            .sum()
    };
    let uri = "/gebietsstaende/haelften/areas?year=2024";
    let sum = residents(call(&app, "GET", uri, VIEWER, None).await.json());
    let uri = "/gebietsstaende/basis/areas?year=2024";
    let base = residents(call(&app, "GET", uri, None, None).await.json());
    // The same points, another cut: equal up to the few points exactly on the grid's outer
    // edge, which the WGS 84 round trip of the uploaded outline can put outside.
    assert!(sum.abs_diff(base) * 200 < base, "{sum} vs {base}");
    // Comparison (JSON and Excel CSV) and crosswalk.
    let uri = "/gebietsstaende/basis/vergleich/haelften?year=2024";
    let c = expect(&app, "GET", uri, VIEWER, None, 200).await.json();
    assert_eq!(c["summary"]["areas_to"], 2);
    assert!(
        c["areas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["change"] == "Gebietsänderung")
    );
    let uri = "/gebietsstaende/basis/vergleich/haelften?year=2024&f=csv";
    let csv = call(&app, "GET", uri, VIEWER, None).await;
    assert!(csv.header("content-type").starts_with("text/csv"));
    let text = &csv.body;
    assert!(
        text.starts_with('\u{feff}') && text.matches('\u{feff}').count() == 1,
        "one BOM"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("Gebietsänderung"));
    let uri = "/gebietsstaende/basis/crosswalk/haelften";
    expect(&app, "GET", uri, None, None, 401).await;
    let uri = "/gebietsstaende/basis/crosswalk/haelften?year=2024";
    let cw = call(&app, "GET", uri, PLANNER, None).await.json();
    assert!(!cw["crosswalk"].as_array().unwrap().is_empty());
    // Admin publishes; then the public sees it. Deleting a published version is refused.
    let uri = "/gebietsstaende/haelften/veroeffentlichen";
    expect(&app, "POST", uri, PLANNER, None, 403).await;
    expect(&app, "POST", uri, ADMIN, None, 200).await;
    expect(&app, "GET", haelften, None, None, 200).await;
    let uri = "/gebietsstaende/haelften";
    expect(&app, "DELETE", uri, PLANNER, None, 409).await;
    let audit = call(&app, "GET", "/audit", ADMIN, None).await.json();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"import") && actions.contains(&"veroeffentlichen"),
        "{actions:?}"
    );
    expect(&app, "GET", "/audit", PLANNER, None, 403).await;
}

#[tokio::test]
async fn draft_sessions_split_merge_reshape_draw_save_and_refuse_bad_geometry() {
    let app = app();
    let basis = json!({"base": "basis"});
    expect(&app, "POST", "/entwurf", None, Some(basis.clone()), 401).await;
    let s = expect(&app, "POST", "/entwurf", PLANNER, Some(basis), 201).await;
    let id = s.json()["id"].as_str().unwrap().to_string();
    let ops = format!("/entwurf/{id}/operation?year=2024");
    let op = |body: Value, want: u16| expect(&app, "POST", &ops, PLANNER, Some(body), want);

    // Split cell "22" (x 200–300, y 200–300) by its western half.
    let split = json!({"op": "split", "area": "22", "geometry": rect(150.0, 150.0, 250.0, 350.0)});
    let v = op(split, 200).await.json();
    assert_eq!(v["n_areas"], 26);
    assert_eq!(v["removed"], json!(["22"]));
    let changed: Vec<&str> = v["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        changed.contains(&"22-1") && changed.contains(&"22-2"),
        "{changed:?}"
    );
    // Merge two cells.
    let r = op(json!({"op": "merge", "areas": ["00", "01"]}), 200).await;
    assert_eq!(r.json()["n_areas"], 25);
    // A merge of one area, an unknown area, an empty reshape, an unknown op: 4xx, session whole.
    for (body, want) in [
        (json!({"op": "merge", "areas": ["11"]}), 400),
        (json!({"op": "merge", "areas": ["11", "99"]}), 404),
        (json!({"op": "reshape", "geometries": {}}), 400),
        (json!({"op": "explode"}), 400),
        (json!({"op": "split", "area": "33"}), 400),
    ] {
        op(body, want).await;
    }
    // A self-crossing drawn polygon is refused with the place; the session is unchanged.
    let p = LinearProjector;
    let c = |x: f64, y: f64| {
        let (lon, lat) = p.working_to_wgs84(X0 + x, Y0 + y).unwrap();
        json!([lon, lat])
    };
    let bowtie = json!({"type": "Polygon", "coordinates": [[c(50.0, 50.0), c(450.0, 450.0), c(450.0, 50.0), c(50.0, 450.0), c(50.0, 50.0)]]});
    let r = op(json!({"op": "draw", "geometry": bowtie}), 400).await;
    assert!(
        r.body.contains("schneidet") && r.body.contains("N,"),
        "{}",
        r.body
    );
    let uri = format!("/entwurf/{id}/areas?year=2024");
    let areas = call(&app, "GET", &uri, PLANNER, None).await.json();
    assert_eq!(areas["features"].as_array().unwrap().len(), 25);
    // Draw a new area over the middle: it takes its land from the cells it covers.
    let mitte =
        json!({"op": "draw", "name": "Mitte", "geometry": rect(120.0, 120.0, 380.0, 380.0)});
    op(mitte, 200).await;
    // Save as a draft Gebietsstand; viewers see it, the public does not.
    let uri = format!("/entwurf/{id}/speichern");
    let save = json!({"key": "entwurf-a", "name": "Entwurf A"});
    expect(&app, "POST", &uri, PLANNER, Some(save), 201).await;
    let draft = "/gebietsstaende/entwurf-a/areas";
    expect(&app, "GET", draft, VIEWER, None, 200).await;
    expect(&app, "GET", draft, None, None, 404).await;
    // The planner deletes the draft.
    let uri = "/gebietsstaende/entwurf-a";
    expect(&app, "DELETE", uri, PLANNER, None, 204).await;
    expect(&app, "GET", draft, VIEWER, None, 404).await;
    // Sessions that do not exist.
    let merge = json!({"op": "merge", "areas": ["00", "01"]});
    let uri = "/entwurf/e999/operation";
    expect(&app, "POST", uri, PLANNER, Some(merge), 404).await;
}
