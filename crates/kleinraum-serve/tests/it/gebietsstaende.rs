//! Every Gebietsstände route in-process (no socket, milliseconds) on the synthetic workspace of
//! `kleinraum-testdata`: a 5 × 5 grid near 13° E, 52° N, 3,000 points, the base version
//! "basis". Roles, uploads, drafts (split, merge, reshape, draw, save), comparison and
//! crosswalk (JSON and CSV), publishing, deleting, the audit log.

use crate::fixture::catalog;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kleinraum_gebietsstand::Projector;
use kleinraum_serve::auth::Tokens;
use kleinraum_serve::redefine::{Readiness, RedefineState};
use kleinraum_serve::work::WorkLimiter;
use kleinraum_testdata::workspace::{LinearProjector, X0, Y0, workspace};
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const TOKENS: &str =
    "viewer:vera:viewer-secret-1;planner:paul:planner-secret-1;admin:anna:admin-secret-1";

struct App {
    router: axum::Router,
    _dir: tempfile::TempDir,
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

struct Resp {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn call(
    app: &App,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app
        .router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Resp {
        status,
        content_type,
        body,
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
        async move {
            let req = Request::get("/gebietsstaende").body(Body::empty()).unwrap();
            router.oneshot(req).await.unwrap()
        }
    });
    // The OGC API answers meanwhile; the Gebietsstände request is still waiting.
    assert_eq!(
        call(&app, "GET", "/conformance", None, None).await.status,
        200
    );
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(
        !pending.is_finished(),
        "answered before the versions were computed"
    );
    // A write without a token is refused at once, not after the wait.
    assert_eq!(
        call(&app, "POST", "/entwurf", None, Some(json!({})))
            .await
            .status,
        401
    );
    signal.done(Ok(()));
    let resp = pending.await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
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
    let r = call(&failed, "GET", "/gebietsstaende", None, None).await;
    assert_eq!(r.status, 503);
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.contains("nicht berechnet") && detail.contains("Datei fehlt"),
        "{detail}"
    );
    assert_eq!(
        call(&failed, "GET", "/conformance", None, None)
            .await
            .status,
        200
    );

    // The computing thread died without a word (a panic): 503, no hang.
    let (ws, _dir3) = workspace();
    let (signal, _st, router) = start(ws);
    let died = App {
        router,
        _dir: _dir3,
    };
    drop(signal);
    assert_eq!(
        call(&died, "GET", "/gebietsstaende/basis/areas", None, None)
            .await
            .status,
        503
    );

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
    let req = Request::get("/gebietsstaende").body(Body::empty()).unwrap();
    let resp = slow.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(resp.headers().contains_key("retry-after"));
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
    assert_eq!(
        call(&app, "GET", "/auth", Some("wrong-token-xx"), None)
            .await
            .status,
        401
    );
    let list = call(&app, "GET", "/gebietsstaende", None, None)
        .await
        .json();
    assert_eq!(list["base"], "basis");
    assert_eq!(list["gebietsstaende"][0]["key"], "basis");
    assert_eq!(list["years"], json!([2023, 2024]));
    let areas = call(
        &app,
        "GET",
        "/gebietsstaende/basis/areas?year=2024",
        None,
        None,
    )
    .await;
    assert_eq!(areas.status, 200);
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
    let again = call(
        &app,
        "GET",
        "/gebietsstaende/basis/areas?year=2024",
        None,
        None,
    )
    .await;
    assert_eq!(again.body, areas.body);
    assert_eq!(
        call(
            &app,
            "GET",
            "/gebietsstaende/basis/areas?year=1999",
            None,
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/nix/areas", None, None)
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &app,
            "GET",
            "/gebietsstaende/basis/areas?jahr=2024",
            None,
            None
        )
        .await
        .status,
        400
    );
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
    assert_eq!(
        call(&app, "POST", uri, None, Some(fc.clone())).await.status,
        401
    );
    assert_eq!(
        call(&app, "POST", uri, VIEWER, Some(fc.clone()))
            .await
            .status,
        403
    );
    let up = call(&app, "POST", uri, PLANNER, Some(fc.clone())).await;
    assert_eq!(up.status, 201, "{}", up.text());
    assert_eq!(up.json()["n_areas"], 2);
    // Publishing on upload needs an admin.
    let pub_uri = "/gebietsstaende?key=x2&id_field=nr&status=published";
    assert_eq!(
        call(&app, "POST", pub_uri, PLANNER, Some(fc.clone()))
            .await
            .status,
        403
    );
    // A broken upload names feature and field; nothing is stored.
    let broken = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "ohne Nummer"}, "geometry": rect(0.0, 0.0, 10.0, 10.0)}]});
    let r = call(
        &app,
        "POST",
        "/gebietsstaende?key=kaputt&id_field=nr",
        PLANNER,
        Some(broken),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("Feature 1") && r.text().contains("nr"),
        "{}",
        r.text()
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
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/haelften/areas", None, None)
            .await
            .status,
        404
    );
    let areas = call(
        &app,
        "GET",
        "/gebietsstaende/haelften/areas?year=2024",
        VIEWER,
        None,
    )
    .await
    .json();
    let sum: u64 = areas["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["residents"].as_u64())
        .sum();
    let base: u64 = call(
        &app,
        "GET",
        "/gebietsstaende/basis/areas?year=2024",
        None,
        None,
    )
    .await
    .json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["residents"].as_u64())
        .sum();
    // The same points, another cut: equal up to the few points exactly on the grid's outer
    // edge, which the WGS 84 round trip of the uploaded outline can put outside.
    assert!(sum.abs_diff(base) * 200 < base, "{sum} vs {base}");
    // Comparison (JSON and Excel CSV) and crosswalk.
    let cmp = call(
        &app,
        "GET",
        "/gebietsstaende/basis/vergleich/haelften?year=2024",
        VIEWER,
        None,
    )
    .await;
    assert_eq!(cmp.status, 200, "{}", cmp.text());
    let c = cmp.json();
    assert_eq!(c["summary"]["areas_to"], 2);
    assert!(
        c["areas"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["change"] == "Gebietsänderung")
    );
    let csv = call(
        &app,
        "GET",
        "/gebietsstaende/basis/vergleich/haelften?year=2024&f=csv",
        VIEWER,
        None,
    )
    .await;
    assert!(csv.content_type.starts_with("text/csv"));
    let text = csv.text();
    assert!(
        text.starts_with('\u{feff}') && text.matches('\u{feff}').count() == 1,
        "one BOM"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("Gebietsänderung"));
    assert_eq!(
        call(
            &app,
            "GET",
            "/gebietsstaende/basis/crosswalk/haelften",
            None,
            None
        )
        .await
        .status,
        401
    );
    let cw = call(
        &app,
        "GET",
        "/gebietsstaende/basis/crosswalk/haelften?year=2024",
        PLANNER,
        None,
    )
    .await
    .json();
    assert!(!cw["crosswalk"].as_array().unwrap().is_empty());
    // Admin publishes; then the public sees it. Deleting a published version is refused.
    assert_eq!(
        call(
            &app,
            "POST",
            "/gebietsstaende/haelften/veroeffentlichen",
            PLANNER,
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        call(
            &app,
            "POST",
            "/gebietsstaende/haelften/veroeffentlichen",
            ADMIN,
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/haelften/areas", None, None)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&app, "DELETE", "/gebietsstaende/haelften", PLANNER, None)
            .await
            .status,
        409
    );
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
    assert_eq!(call(&app, "GET", "/audit", PLANNER, None).await.status, 403);
}

#[tokio::test]
async fn draft_sessions_split_merge_reshape_draw_save_and_refuse_bad_geometry() {
    let app = app();
    assert_eq!(
        call(
            &app,
            "POST",
            "/entwurf",
            None,
            Some(json!({"base": "basis"}))
        )
        .await
        .status,
        401
    );
    let s = call(
        &app,
        "POST",
        "/entwurf",
        PLANNER,
        Some(json!({"base": "basis"})),
    )
    .await;
    assert_eq!(s.status, 201, "{}", s.text());
    let id = s.json()["id"].as_str().unwrap().to_string();
    let op = |v: Value| (format!("/entwurf/{id}/operation?year=2024"), v);

    // Split cell "22" (x 200–300, y 200–300) by its western half.
    let (u, b) =
        op(json!({"op": "split", "area": "22", "geometry": rect(150.0, 150.0, 250.0, 350.0)}));
    let r = call(&app, "POST", &u, PLANNER, Some(b)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
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
    let (u, b) = op(json!({"op": "merge", "areas": ["00", "01"]}));
    let r = call(&app, "POST", &u, PLANNER, Some(b)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["n_areas"], 25);
    // A merge of one area, an unknown area, an empty reshape, an unknown op: 4xx, session whole.
    for (body, want) in [
        (json!({"op": "merge", "areas": ["11"]}), 400),
        (json!({"op": "merge", "areas": ["11", "99"]}), 404),
        (json!({"op": "reshape", "geometries": {}}), 400),
        (json!({"op": "explode"}), 400),
        (json!({"op": "split", "area": "33"}), 400),
    ] {
        let (u, b) = op(body.clone());
        let r = call(&app, "POST", &u, PLANNER, Some(b)).await;
        assert_eq!(r.status.as_u16(), want, "{body}: {}", r.text());
    }
    // A self-crossing drawn polygon is refused with the place; the session is unchanged.
    let p = LinearProjector;
    let c = |x: f64, y: f64| {
        let (lon, lat) = p.working_to_wgs84(X0 + x, Y0 + y).unwrap();
        json!([lon, lat])
    };
    let bowtie = json!({"type": "Polygon", "coordinates": [[c(50.0, 50.0), c(450.0, 450.0), c(450.0, 50.0), c(50.0, 450.0), c(50.0, 50.0)]]});
    let (u, b) = op(json!({"op": "draw", "geometry": bowtie}));
    let r = call(&app, "POST", &u, PLANNER, Some(b)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("schneidet") && r.text().contains("N,"),
        "{}",
        r.text()
    );
    let areas = call(
        &app,
        "GET",
        &format!("/entwurf/{id}/areas?year=2024"),
        PLANNER,
        None,
    )
    .await
    .json();
    assert_eq!(areas["features"].as_array().unwrap().len(), 25);
    // Draw a new area over the middle: it takes its land from the cells it covers.
    let (u, b) =
        op(json!({"op": "draw", "name": "Mitte", "geometry": rect(120.0, 120.0, 380.0, 380.0)}));
    let r = call(&app, "POST", &u, PLANNER, Some(b)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Save as a draft Gebietsstand; viewers see it, the public does not.
    let saved = call(
        &app,
        "POST",
        &format!("/entwurf/{id}/speichern"),
        PLANNER,
        Some(json!({"key": "entwurf-a", "name": "Entwurf A"})),
    )
    .await;
    assert_eq!(saved.status, 201, "{}", saved.text());
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/entwurf-a/areas", VIEWER, None)
            .await
            .status,
        200
    );
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/entwurf-a/areas", None, None)
            .await
            .status,
        404
    );
    // The planner deletes the draft.
    assert_eq!(
        call(&app, "DELETE", "/gebietsstaende/entwurf-a", PLANNER, None)
            .await
            .status,
        204
    );
    assert_eq!(
        call(&app, "GET", "/gebietsstaende/entwurf-a/areas", VIEWER, None)
            .await
            .status,
        404
    );
    // Sessions that do not exist.
    let r = call(
        &app,
        "POST",
        "/entwurf/e999/operation",
        PLANNER,
        Some(json!({"op": "merge", "areas": ["00", "01"]})),
    )
    .await;
    assert_eq!(r.status, 404);
}
