//! End to end: the Gebietsstände HTTP API of the real `kleinraum serve` on the Berlin data.
//!
//! Each test function starts its own server(s) on a temporary store (env `KLEINRAUM_STORE`)
//! with test tokens (env `KLEINRAUM_TOKENS`); a server start computes four Gebietsstände
//! (15–45 s in the debug build), so the scenarios are grouped per server. Needs the shared data
//! (`KLEINRAUM_SHARED_DATA`, default `../shared/data` beside the repo).

use flate2::read::GzDecoder;
use kleinraum_load::crs::Reprojector;
use kleinraum_store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{Resp, Server, shared_data};

const TOKENS: &str = "viewer:test-viewer:viewer-token-789;planner:test-planer:planner-token-123;statistik:test-statistik:statistik-token-321;admin:test-admin:admin-token-456";
const VIEWER: &str = "viewer-token-789";
const PLANNER: &str = "planner-token-123";
const ADMIN: &str = "admin-token-456";
const STATISTIK: &str = "statistik-token-321";
/// The four Gebietsstände the server creates from data/berlin.toml.
const OFFICIAL: [&str; 4] = ["lor2020", "lor2021", "ortsteile", "plz"];
/// Residents 2024 over all 542 PLR (sum of residents_2024-12-31.csv.gz).
const RESIDENTS_2024: u64 = 3_897_145;
/// The PLR split in the scenarios (Schulenburgpark, Neukölln).
const PLR: &str = "08100521";

// ---------------------------------------------------------------------------------------------
// Server and HTTP

/// Starts `kleinraum serve data/berlin.toml` on `store` and waits until it listens and its
/// Gebietsstände are computed.
fn start(store: &Path, extra_env: &[(&str, &str)]) -> Server {
    let store = store.display().to_string();
    let mut env = vec![
        ("KLEINRAUM_STORE", store.as_str()),
        ("KLEINRAUM_TOKENS", TOKENS),
    ];
    env.extend_from_slice(extra_env);
    Server::start("data/berlin.toml", &env, Duration::from_secs(400))
}

/// A request with the planner's or admin's token and a JSON body; errors instead of panics so
/// a request cut off by a killed server can be observed.
fn try_request(
    addr: &str,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> std::io::Result<Resp> {
    let mut headers = Vec::new();
    if let Some(t) = token {
        headers.push(format!("Authorization: Bearer {t}"));
    }
    if body.is_some() {
        headers.push("Content-Type: application/json".into());
    }
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    crate::common::request(method, addr, target, &headers, body.unwrap_or_default())
}

fn request(
    addr: &str,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Resp {
    try_request(addr, method, target, token, body)
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

impl Server {
    fn get(&self, target: &str, token: Option<&str>) -> Resp {
        request(&self.addr, "GET", target, token, None)
    }

    /// GET that must answer 200 with JSON.
    fn get_json(&self, target: &str, token: Option<&str>) -> Value {
        let r = self.get(target, token);
        assert_eq!(r.status, 200, "GET {target}: {}", r.text());
        r.json()
    }

    fn post(&self, target: &str, token: Option<&str>, body: &[u8]) -> Resp {
        request(&self.addr, "POST", target, token, Some(body))
    }

    /// POST of a JSON value that must answer `want` with JSON.
    fn post_json(&self, target: &str, token: Option<&str>, body: &Value, want: u16) -> Value {
        let r = self.post(target, token, body.to_string().as_bytes());
        assert_eq!(r.status, want, "POST {target}: {}", r.text());
        r.json()
    }

    /// Keys of the Gebietsstände the caller sees, with their status.
    fn versions(&self, token: Option<&str>) -> BTreeMap<String, String> {
        self.get_json("/gebietsstaende", token)["gebietsstaende"]
            .as_array()
            .expect("gebietsstaende")
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().unwrap().to_string(),
                    g["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// Features of a Gebietsstand by id.
    fn areas(&self, key: &str, year: i32, token: Option<&str>) -> BTreeMap<String, Value> {
        let fc = self.get_json(&format!("/gebietsstaende/{key}/areas?year={year}"), token);
        fc["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| (f["id"].as_str().unwrap().to_string(), f.clone()))
            .collect()
    }

    /// Starts a draft session on lor2021 and splits `PLR` by `geometry` (GeoJSON, 4326).
    fn split_session(&self, geometry: &Value) -> (String, Value) {
        let s = self.post_json("/entwurf", Some(PLANNER), &json!({"base": "lor2021"}), 201);
        let id = s["id"].as_str().expect("session id").to_string();
        let op = self.post_json(
            &format!("/entwurf/{id}/operation?year=2024"),
            Some(PLANNER),
            &json!({"op": "split", "area": PLR, "geometry": geometry}),
            200,
        );
        (id, op)
    }

    fn save(&self, session: &str, key: &str) {
        let t = Instant::now();
        let r = self.post_json(
            &format!("/entwurf/{session}/speichern"),
            Some(PLANNER),
            &json!({"key": key, "name": format!("Test {key}"), "valid_from": "2027-01-01"}),
            201,
        );
        assert_eq!(r["key"], key);
        assert_eq!(r["n_areas"], 543, "{key}: 542 PLR with one split");
        eprintln!("saved {key} in {:.1} s", t.elapsed().as_secs_f64());
    }
}

fn residents(f: &Value) -> Option<u64> {
    f["properties"]["residents"].as_u64()
}

fn suppressed(f: &Value) -> bool {
    f["properties"]["suppressed"]
        .as_bool()
        .unwrap_or_else(|| panic!("suppressed missing: {f}"))
}

// ---------------------------------------------------------------------------------------------
// Data

fn plr_geojson() -> Vec<u8> {
    let p = shared_data().join("berlin-lor-2021/plr_2021.geojson");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A FeatureCollection of the first `n` PLR 2021 features (EPSG:4326).
fn plr_subset(n: usize) -> Value {
    let all: Value = serde_json::from_slice(&plr_geojson()).expect("plr_2021.geojson");
    let feats: Vec<Value> = all["features"].as_array().unwrap()[..n].to_vec();
    json!({"type": "FeatureCollection", "features": feats})
}

fn gz_csv(rel: &str) -> csv::Reader<GzDecoder<std::fs::File>> {
    let p = shared_data().join(rel);
    let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    csv::Reader::from_reader(GzDecoder::new(f))
}

/// A synthetic address.
#[derive(Debug, Clone)]
struct Addr {
    id: String,
    x: f64,
    y: f64,
    plr: String,
}

fn addresses() -> Vec<Addr> {
    let mut r = gz_csv("berlin-synthetic-addresses/addresses.csv.gz");
    let h = r.headers().unwrap().clone();
    let col = |n: &str| {
        h.iter()
            .position(|c| c == n)
            .unwrap_or_else(|| panic!("column {n}"))
    };
    let (ci, cx, cy, cp) = (col("addr_id"), col("x"), col("y"), col("plr_2021_true"));
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            Addr {
                id: rec[ci].to_string(),
                x: rec[cx].parse().unwrap(),
                y: rec[cy].parse().unwrap(),
                plr: rec[cp].to_string(),
            }
        })
        .collect()
}

/// Residents per address id on 31.12. of `year`.
fn residents_of(year: i32) -> HashMap<String, u64> {
    let mut r = gz_csv(&format!(
        "berlin-synthetic-addresses/residents_{year}-12-31.csv.gz"
    ));
    let h = r.headers().unwrap().clone();
    let ci = h.iter().position(|c| c == "addr_id").unwrap();
    let cr = h.iter().position(|c| c == "residents").unwrap();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[ci].to_string(), rec[cr].parse().unwrap())
        })
        .collect()
}

/// Axis-parallel rectangle (EPSG:25833) as a GeoJSON ring in EPSG:4326.
fn ring_4326(to4326: &Reprojector, x0: f64, y0: f64, x1: f64, y1: f64) -> Value {
    let pts: Vec<Value> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        .iter()
        .map(|&(x, y)| {
            let (lon, lat) = to4326.transform(x, y).expect("25833 -> 4326");
            json!([lon, lat])
        })
        .collect();
    Value::Array(pts)
}

// ---------------------------------------------------------------------------------------------
// 1 + 5: kill during import; bad uploads

#[test]
fn killed_import_leaves_the_store_whole_and_bad_uploads_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.gpkg");
    let journal = dir.path().join("store.gpkg-journal");
    // The slow-import hook slows every import, the official versions' first import too (41 s
    // instead of 4): a first server fills the store at full speed, the slowed one reopens it.
    drop(start(&store, &[]));
    let started = Instant::now();
    let server = start(&store, &[("KLEINRAUM_STORE_SLOW_IMPORT_MS", "30")]);
    eprintln!("server 1 up after {:.0} s", started.elapsed().as_secs_f64());
    let before = server.versions(Some(VIEWER));
    assert_eq!(
        before.keys().map(String::as_str).collect::<Vec<_>>(),
        OFFICIAL.to_vec()
    );

    // --- 5. Bad uploads: 400 with feature number and field, nothing stored.
    let up = "/gebietsstaende?key=bad-upload&id_field=PLR_ID&name_field=PLR_NAME&status=draft";
    let mut dup = plr_subset(3);
    let first = dup["features"][0].clone();
    let dup_id = first["properties"]["PLR_ID"].as_str().unwrap().to_string();
    dup["features"].as_array_mut().unwrap().push(first);
    let r = server.post(up, Some(PLANNER), dup.to_string().as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("Feature 4") && t.contains(&dup_id) && t.contains("Feature 1"),
        "duplicate id: {t}"
    );

    let mut missing = plr_subset(3);
    missing["features"][1]["properties"]
        .as_object_mut()
        .unwrap()
        .remove("PLR_ID");
    let r = server.post(up, Some(PLANNER), missing.to_string().as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("Feature 2") && t.contains("PLR_ID"),
        "missing id: {t}"
    );

    let mut metres = String::new();
    GzDecoder::new(
        std::fs::File::open(shared_data().join("berlin-lor-2021/plr_2021_epsg25833.geojson.gz"))
            .unwrap(),
    )
    .read_to_string(&mut metres)
    .unwrap();
    let mut metres: Value = serde_json::from_str(&metres).unwrap();
    metres.as_object_mut().unwrap().remove("crs");
    metres["features"].as_array_mut().unwrap().truncate(3);
    let r = server.post(up, Some(PLANNER), metres.to_string().as_bytes());
    assert_eq!(r.status, 400, "{}", r.text());
    let t = r.text();
    assert!(
        t.contains("Feature 1") && t.contains("Länge/Breite") && t.contains("EPSG:4326"),
        "metres: {t}"
    );
    assert_eq!(
        server.versions(Some(VIEWER)),
        before,
        "bad uploads changed the list"
    );
    assert_eq!(server.versions(Some(ADMIN)), before);

    // --- 1. Kill the server in the middle of an import.
    let body = plr_geojson();
    let size0 = std::fs::metadata(&store).unwrap().len();
    assert!(!journal.exists(), "no write in progress before the upload");
    let addr = server.addr.clone();
    let upload = std::thread::spawn(move || {
        try_request(
            &addr,
            "POST",
            "/gebietsstaende?key=kill-me&id_field=PLR_ID&name_field=PLR_NAME&status=draft",
            Some(PLANNER),
            Some(&body),
        )
    });
    let t0 = Instant::now();
    loop {
        let grown = std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0) > size0;
        if journal.exists() && grown {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no journal + growth within 120 s (journal {}, size {} → {})",
            journal.exists(),
            size0,
            std::fs::metadata(&store).map(|m| m.len()).unwrap_or(0)
        );
        if upload.is_finished() {
            let answer = upload.join().expect("upload thread");
            panic!("the upload finished before it could be killed: {answer:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let size_at_kill = std::fs::metadata(&store).unwrap().len();
    eprintln!(
        "kill after {:.1} s of upload: store {size0} → {size_at_kill} bytes, journal {} bytes",
        t0.elapsed().as_secs_f64(),
        std::fs::metadata(&journal).map(|m| m.len()).unwrap_or(0)
    );
    drop(server); // SIGKILL + wait
    let answer = upload.join().expect("upload thread");
    assert!(
        match &answer {
            Ok(r) => r.status >= 500,
            Err(_) => true,
        },
        "the killed upload must not have succeeded: {answer:?}"
    );
    assert!(journal.exists(), "the kill left a hot journal");

    {
        let st = Store::open(&store).expect("open the store after the kill");
        assert_eq!(st.integrity_check().unwrap(), "ok");
        let keys: Vec<String> = st.versions().unwrap().into_iter().map(|v| v.key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            OFFICIAL.to_vec(),
            "versions after the kill: {keys:?}"
        );
        assert!(st.version("kill-me").unwrap().is_none());
        assert_eq!(st.areas("lor2021").unwrap().len(), 542);
        assert_eq!(st.areas("lor2020").unwrap().len(), 448);
        assert!(matches!(
            st.areas("kill-me"),
            Err(kleinraum_store::StoreError::NotFound { .. })
        ));
    }
    assert!(
        !journal.exists(),
        "opening the store rolled the journal back"
    );

    // --- Restart on the same store: the four official versions, whole, and writes work.
    let started = Instant::now();
    let server = start(&store, &[]);
    eprintln!("server 2 up after {:.0} s", started.elapsed().as_secs_f64());
    let public = server.versions(None);
    assert_eq!(
        public.keys().map(String::as_str).collect::<Vec<_>>(),
        OFFICIAL.to_vec()
    );
    assert!(public.values().all(|s| s == "published"));
    let lor = server.areas("lor2021", 2024, None);
    assert_eq!(lor.len(), 542);
    let withheld: Vec<&String> = lor
        .iter()
        .filter(|(_, f)| suppressed(f) || residents(f).is_none())
        .map(|(k, _)| k)
        .collect();
    assert!(withheld.is_empty(), "official PLR withheld: {withheld:?}");
    let sum: u64 = lor.values().filter_map(residents).sum();
    assert_eq!(sum, RESIDENTS_2024);

    let r = server.post(
        "/gebietsstaende?key=kill-me&id_field=PLR_ID&name_field=PLR_NAME&status=draft",
        Some(PLANNER),
        &plr_geojson(),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["n_areas"], 542);
    assert_eq!(
        server
            .versions(Some(VIEWER))
            .get("kill-me")
            .map(String::as_str),
        Some("draft")
    );
    assert!(!server.versions(None).contains_key("kill-me"));
    assert_eq!(
        server.get("/gebietsstaende/kill-me/areas", None).status,
        404
    );
    // The upload is lor2021 again: the planner sees the same residents, the viewer the same
    // numbers too (its areas are copies of official ones, nothing to withhold).
    let km = server.areas("kill-me", 2024, Some(PLANNER));
    assert_eq!(km.len(), 542);
    assert_eq!(
        km.values().filter_map(residents).sum::<u64>(),
        RESIDENTS_2024
    );
    let kv = server.areas("kill-me", 2024, Some(VIEWER));
    for (id, f) in &kv {
        assert!(!suppressed(f), "kill-me {id} withheld from the viewer");
        assert_eq!(residents(f), residents(&lor[id]), "kill-me {id}");
    }

    // --- 2. Auth and audit on the restarted server.
    auth_and_audit(&server);
    audit_lists_the_writes(
        &server,
        &[
            ("import", "kill-me", "test-planer"),
            ("import", "auth-pub", "test-admin"),
            ("import", "auth-draft", "test-planer"),
            ("veroeffentlichen", "auth-draft", "test-admin"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// 2 + 3 + 4 on one server

#[test]
fn auth_split_comparison_and_differencing_guard() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.gpkg");
    let started = Instant::now();
    let server = start(&store, &[]);
    eprintln!("server up after {:.0} s", started.elapsed().as_secs_f64());
    split_and_comparison(&server);
    differencing_attack(&server);
    audit_lists_the_writes(
        &server,
        &[
            ("entwurf_speichern", "test-split", "test-planer"),
            ("entwurf_loeschen", "test-split", "test-planer"),
            ("entwurf_speichern", "guard-a", "test-planer"),
            ("entwurf_speichern", "guard-b", "test-planer"),
            ("entwurf_speichern", "guard-c", "test-planer"),
        ],
    );
}

/// 2. Tokens and roles; refused writes change nothing.
fn auth_and_audit(s: &Server) {
    assert_eq!(s.get_json("/auth", None)["role"], "public");
    let me = s.get_json("/auth", Some(PLANNER));
    assert_eq!(
        (me["role"].as_str(), me["name"].as_str()),
        (Some("planner"), Some("test-planer"))
    );
    let audit0 = s.get_json("/audit?limit=10000", Some(ADMIN))["entries"]
        .as_array()
        .unwrap()
        .len();

    let start_body = json!({"base": "lor2021"}).to_string();
    let r = s.post("/entwurf", None, start_body.as_bytes());
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["title"], "Anmeldung erforderlich");
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let small = plr_subset(3).to_string();
    let up = |key: &str, status: &str| {
        format!("/gebietsstaende?key={key}&id_field=PLR_ID&name_field=PLR_NAME&status={status}")
    };
    assert_eq!(
        s.post(&up("refused-public", "draft"), None, small.as_bytes())
            .status,
        401
    );
    let r = s.post("/entwurf", Some(VIEWER), start_body.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json()["title"], "Keine Berechtigung");
    assert_eq!(
        s.get("/gebietsstaende", Some("wrong-token-000")).status,
        401
    );
    assert_eq!(
        s.get(
            "/gebietsstaende/lor2021/areas?year=2024",
            Some("wrong-token-000")
        )
        .status,
        401
    );
    let r = s.post(
        &up("refused-pub", "published"),
        Some(PLANNER),
        small.as_bytes(),
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(s.get("/audit", Some(PLANNER)).status, 403);
    assert_eq!(s.get("/audit", None).status, 401);
    // Refused writes are neither stored nor logged.
    let audit1 = s.get_json("/audit?limit=10000", Some(ADMIN))["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(audit1, audit0, "refused requests were logged as writes");
    let all = s.versions(Some(ADMIN));
    assert!(!all.contains_key("refused-pub") && !all.contains_key("refused-public"));

    // Admin may publish directly; planners' drafts are published by an admin.
    let r = s.post(&up("auth-pub", "published"), Some(ADMIN), small.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["n_areas"], 3);
    assert_eq!(
        s.versions(None).get("auth-pub").map(String::as_str),
        Some("published")
    );
    let r = s.post(&up("auth-draft", "draft"), Some(PLANNER), small.as_bytes());
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(!s.versions(None).contains_key("auth-draft"));
    assert_eq!(
        s.get("/gebietsstaende/auth-draft/areas?year=2024", None)
            .status,
        404
    );
    assert_eq!(
        s.post(
            "/gebietsstaende/auth-draft/veroeffentlichen",
            Some(PLANNER),
            b""
        )
        .status,
        403
    );
    let r = s.post(
        "/gebietsstaende/auth-draft/veroeffentlichen",
        Some(ADMIN),
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.versions(None).get("auth-draft").map(String::as_str),
        Some("published")
    );
    // The published upload has the statistics of the three PLR it copies.
    let pub_areas = s.areas("auth-draft", 2024, None);
    let lor = s.areas("lor2021", 2024, None);
    assert_eq!(pub_areas.len(), 3);
    for (id, f) in &pub_areas {
        assert!(residents(f).is_some_and(|r| r > 0), "{id}: {f}");
        assert_eq!(residents(f), residents(&lor[id]), "{id}");
    }
    // Published is immutable: no second publish, no delete.
    assert_eq!(
        s.post(
            "/gebietsstaende/auth-draft/veroeffentlichen",
            Some(ADMIN),
            b""
        )
        .status,
        409
    );
    assert_eq!(
        request(
            &s.addr,
            "DELETE",
            "/gebietsstaende/auth-draft",
            Some(PLANNER),
            None
        )
        .status,
        409
    );
}

/// Runs last: every successful write of the scenarios is in the log, with its actor.
fn audit_lists_the_writes(s: &Server, writes: &[(&str, &str, &str)]) {
    let entries = s.get_json("/audit?limit=10000", Some(ADMIN))["entries"]
        .as_array()
        .unwrap()
        .clone();
    for (action, target, actor) in writes {
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == *action && e["target"] == *target && e["actor"] == *actor),
            "no audit entry {action} {target} by {actor}: {entries:#?}"
        );
    }
    for k in OFFICIAL {
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == "import" && e["target"] == k && e["role"] == "system"),
            "start-up import {k}"
        );
    }
    for e in &entries {
        assert_ne!(e["actor"], "test-viewer", "viewers cannot write: {e}");
        assert_ne!(e["actor"], "öffentlich", "the public cannot write: {e}");
        assert!(
            !e["target"].as_str().unwrap_or("").starts_with("refused"),
            "{e}"
        );
    }
    // Newest first: the last write of the scenario leads.
    let (action, target, _) = writes.last().unwrap();
    assert_eq!(
        (entries[0]["action"].as_str(), entries[0]["target"].as_str()),
        (Some(*action), Some(*target))
    );
}

/// 3. Split one PLR in the browser workflow and compare; the official LOR 2020 → 2021 report.
fn split_and_comparison(s: &Server) {
    let lor = s.areas("lor2021", 2024, None);
    let f = &lor[PLR];
    let total = residents(f).expect("residents of the PLR");
    let coords: Vec<(f64, f64)> = f["geometry"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p.as_array().unwrap().iter())
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
        .collect();
    let (x0, x1) = coords
        .iter()
        .fold((f64::MAX, f64::MIN), |a, c| (a.0.min(c.0), a.1.max(c.0)));
    let (y0, y1) = coords
        .iter()
        .fold((f64::MAX, f64::MIN), |a, c| (a.0.min(c.1), a.1.max(c.1)));
    let xm = (x0 + x1) / 2.0;
    let west = json!({"type": "Polygon", "coordinates": [[
        [x0 - 0.01, y0 - 0.01], [xm, y0 - 0.01], [xm, y1 + 0.01], [x0 - 0.01, y1 + 0.01], [x0 - 0.01, y0 - 0.01]
    ]]});
    let (sid, op) = s.split_session(&west);
    assert_eq!(op["removed"], json!([PLR]));
    // The planner sees a part's numbers only where they pass disclosure control (a part may
    // differ from an area of LOR 2020, the Ortsteile or the PLZ by 1–2 people); the statistics
    // office sees them all.
    let ids: Vec<&str> = op["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for c in op["changed"].as_array().unwrap() {
        assert!(
            residents(c).is_some()
                || (suppressed(c) && !c["properties"]["warnings"].as_array().unwrap().is_empty()),
            "a withheld part says why: {c}"
        );
    }
    let analyst = s.get_json(&format!("/entwurf/{sid}/areas?year=2024"), Some(STATISTIK));
    let parts: BTreeMap<String, u64> = analyst["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| ids.contains(&c["id"].as_str().unwrap()))
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                residents(c).expect("part residents"),
            )
        })
        .collect();
    eprintln!(
        "split {PLR} ({total} residents 2024): {parts:?}, server_ms {}",
        op["server_ms"]
    );
    assert_eq!(
        parts.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["08100521-1", "08100521-2"]
    );
    assert!(parts.values().all(|&r| r > 0));
    assert_eq!(parts.values().sum::<u64>(), total);
    let whole = s.get_json(&format!("/entwurf/{sid}/areas?year=2024"), Some(PLANNER));
    assert_eq!(whole["features"].as_array().unwrap().len(), 543);
    s.save(&sid, "test-split");

    // The parts may be withheld for planners (see above): the full report is the statistics
    // office's.
    let v = s.get_json(
        "/gebietsstaende/lor2021/vergleich/test-split?year=2020",
        Some(STATISTIK),
    );
    let rows = v["areas"].as_array().unwrap();
    assert_eq!(rows.len(), 543);
    let count = |c: &str| rows.iter().filter(|r| r["change"] == c).count();
    assert_eq!(count("Gebietsänderung"), 2);
    assert_eq!(count("unverändert"), 541);
    assert_eq!(v["summary"]["unchanged"], 541);
    assert_eq!(v["summary"]["boundary_effect"], 2);
    for r in rows.iter().filter(|r| r["change"] == "Gebietsänderung") {
        assert!(r["id"].as_str().unwrap().starts_with("08100521-"), "{r}");
        assert_eq!(r["predecessors"][0]["id"], PLR);
        assert_eq!(r["predecessors"][0]["share"], 1.0);
    }
    assert_eq!(
        s.get(
            "/gebietsstaende/lor2021/vergleich/test-split?year=2020",
            None
        )
        .status,
        404,
        "drafts are not public"
    );
    let csv = s.get(
        "/gebietsstaende/lor2021/vergleich/test-split?year=2020&f=csv",
        Some(VIEWER),
    );
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let text = csv.text();
    let text = text.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 544);
    assert!(
        lines[0].starts_with("Gebiet;Name;Vorgänger"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("Einwohner:innen Vorgängergebiet;Einwohner:innen neu"));
    let ncol = lines[0].split(';').count();
    assert!(ncol > 10);
    assert!(
        lines
            .iter()
            .filter(|l| !l.contains('"'))
            .all(|l| l.split(';').count() == ncol)
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("08100521-1;") && l.contains("Gebietsänderung"))
    );
    // Viewers see the predecessor shares of unchanged areas; those of a part the guard
    // withholds (as the JSON says) stay hidden, since share × total is the count.
    // (Areas with 1–2 residents in a crosswalk cell lose theirs too.)
    let shown = lines
        .iter()
        .filter(|l| !l.starts_with("08100521-"))
        .skip(1)
        .filter(|l| l.contains("(100,0 %)"))
        .count();
    assert!(
        shown >= 530,
        "viewers see the predecessor shares: {shown} of 541"
    );
    let vj = s.get_json(
        "/gebietsstaende/lor2021/vergleich/test-split?year=2020",
        Some(VIEWER),
    );
    for r in vj["areas"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        if !id.starts_with("08100521-") {
            continue;
        }
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{id};")))
            .unwrap();
        assert_eq!(
            r["suppressed"] == true,
            !line.contains("(100,0 %)"),
            "{line} / {r}"
        );
    }

    // Drafts can be deleted by planners (not viewers); then they are gone.
    let del = |tok| request(&s.addr, "DELETE", "/gebietsstaende/test-split", tok, None).status;
    assert_eq!(del(None), 401);
    assert_eq!(del(Some(VIEWER)), 403);
    assert_eq!(del(Some(PLANNER)), 204);
    assert!(!s.versions(Some(VIEWER)).contains_key("test-split"));
    assert_eq!(
        s.get("/gebietsstaende/test-split/areas", Some(VIEWER))
            .status,
        404
    );

    // The official comparison LOR until 2020 → LOR 2021 (index year 2020).
    let v = s.get_json("/gebietsstaende/lor2020/vergleich/lor2021?year=2020", None);
    let sum = &v["summary"];
    eprintln!("lor2020 → lor2021 (2020): {sum}");
    assert_eq!(sum["areas_from"], 448);
    assert_eq!(sum["areas_to"], 542);
    let (unchanged, boundary, by_boundary) = (
        sum["unchanged"].as_u64().unwrap(),
        sum["boundary_effect"].as_u64().unwrap(),
        sum["class_changed_by_boundary"].as_u64().unwrap(),
    );
    assert_eq!(
        unchanged + boundary,
        542,
        "no previous index year: no real change"
    );
    // 29 before the index was withheld next to withheld indicators: one area's class is no
    // longer published on one side.
    assert_eq!((unchanged, boundary, by_boundary), (283, 259, 28));
    let public_csv = s
        .get(
            "/gebietsstaende/lor2020/vergleich/lor2021?year=2020&f=csv",
            None,
        )
        .text();
    assert_eq!(public_csv.lines().count(), 543);
    assert!(
        !public_csv.contains(" %)"),
        "the public CSV shows no (fake 0 %) shares"
    );
    let rows = v["areas"].as_array().unwrap();
    assert_eq!(
        rows.iter().filter(|r| r["boundary_effect"] == true).count() as u64,
        by_boundary
    );
    // Unchanged areas can change class too: the index is standardised over all areas.
    let moved = rows
        .iter()
        .filter(|r| r["boundary_effect"] == true && r["change"] != "unverändert")
        .count();
    eprintln!("class changes by boundaries: {by_boundary}, of them in changed areas: {moved}");
    assert!(rows.iter().all(|r| {
        r["predecessors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["share"].is_null())
    }));
    assert!(
        v["crosswalk"].as_array().unwrap().is_empty(),
        "no crosswalk cells for the public"
    );

    // The crosswalk: viewers and above only.
    let cw_url = "/gebietsstaende/lor2020/crosswalk/lor2021?year=2020";
    assert_eq!(s.get(cw_url, None).status, 401);
    let viewer = s.get_json(cw_url, Some(VIEWER));
    let planner = s.get_json(cw_url, Some(PLANNER));
    let analyst = s.get_json(cw_url, Some(STATISTIK));
    let vc = viewer["crosswalk"].as_array().unwrap();
    let pc = analyst["crosswalk"].as_array().unwrap();
    assert_eq!(
        planner["crosswalk"], viewer["crosswalk"],
        "planners see what viewers see"
    );
    assert!(
        vc.iter().all(|c| c.get("residents").is_none()),
        "viewers get shares only"
    );
    assert!(viewer["unmatched"].is_null());
    // Viewers lose the cells below the disclosure threshold — with their whole rows and
    // columns, else 1 − Σ(shown shares) × the published total gives them back (P8) — and get
    // shares rounded to 0.1 %.
    let key = |c: &Value| {
        (
            c["from"].as_str().unwrap().to_string(),
            c["to"].as_str().unwrap().to_string(),
        )
    };
    let shown: BTreeSet<(String, String)> = vc.iter().map(key).collect();
    let small = pc
        .iter()
        .filter(|c| c["residents"].as_u64().unwrap() < 3)
        .count();
    assert!(small > 0, "some intersections hold 1–2 residents");
    for c in pc {
        let (f, t) = key(c);
        if c["residents"].as_u64().unwrap() < 3 {
            assert!(!shown.contains(&(f.clone(), t.clone())), "{c}");
        }
        // A line is shown whole or not at all.
        let line_shown = |pred: &dyn Fn(&(String, String)) -> bool| {
            let cells: Vec<bool> = pc
                .iter()
                .map(key)
                .filter(|k| pred(k))
                .map(|k| shown.contains(&k))
                .collect();
            cells.iter().all(|&x| x) || cells.iter().all(|&x| !x)
        };
        assert!(line_shown(&|k| k.0 == f), "row {f}");
        assert!(line_shown(&|k| k.1 == t), "column {t}");
    }
    eprintln!(
        "crosswalk lor2020 → lor2021 for viewers: {} of {} cells shown ({small} below 3)",
        vc.len(),
        pc.len()
    );
    assert!(
        vc.len() * 2 > pc.len(),
        "most of the crosswalk stays readable"
    );
    for c in vc {
        let x = c["share_of_from"].as_f64().unwrap() * 1000.0;
        assert!((x - x.round()).abs() < 1e-6, "{c}");
    }
    let cells: u64 = pc.iter().map(|c| c["residents"].as_u64().unwrap()).sum();
    let unmatched = analyst["unmatched"].as_u64().unwrap();
    eprintln!(
        "crosswalk lor2020 → lor2021: {} cells, {cells} residents + {unmatched} unmatched",
        pc.len()
    );
    assert_eq!(cells + unmatched, 3_769_962);
    let mut by_from: BTreeMap<&str, f64> = BTreeMap::new();
    for c in pc {
        *by_from.entry(c["from"].as_str().unwrap()).or_default() +=
            c["share_of_from"].as_f64().unwrap();
    }
    assert!(
        by_from.len() > 400,
        "{} old areas with residents",
        by_from.len()
    );
    for (k, sh) in &by_from {
        assert!((sh - 1.0).abs() < 1e-9, "shares of {k} sum to {sh}");
    }
}

/// 4. Two drafts one house apart must not reveal that house.
fn differencing_attack(s: &Server) {
    let addrs = addresses();
    let res: Vec<HashMap<String, u64>> = (2021..=2024).map(residents_of).collect();
    let r2024 = &res[3];
    let in_plr: Vec<&Addr> = addrs.iter().filter(|a| a.plr == PLR).collect();
    let (minx, maxx) = in_plr
        .iter()
        .fold((f64::MAX, f64::MIN), |m, a| (m.0.min(a.x), m.1.max(a.x)));
    let (miny, maxy) = in_plr
        .iter()
        .fold((f64::MAX, f64::MIN), |m, a| (m.0.min(a.y), m.1.max(a.y)));
    // Isolated addresses (nobody else within 3 m), so a 2 m square holds exactly one.
    let isolated = |a: &Addr| {
        !addrs
            .iter()
            .any(|b| b.id != a.id && (b.x - a.x).hypot(b.y - a.y) < 3.0)
    };
    let mid = (minx + maxx) / 2.0;
    let mut cands: Vec<&Addr> = in_plr
        .iter()
        .copied()
        .filter(|a| matches!(r2024.get(&a.id), Some(1 | 2)))
        .filter(|a| a.x > minx + 200.0 && a.x < maxx - 200.0)
        .collect();
    cands.sort_by(|a, b| (a.x - mid).abs().total_cmp(&(b.x - mid).abs()));
    let house = *cands
        .iter()
        .find(|a| isolated(a))
        .expect("an isolated house with 1–2 residents");
    let h = r2024[&house.id];
    // The control: an isolated address east of the house with ≥ 3 residents in every year.
    let control = in_plr
        .iter()
        .copied()
        .filter(|a| a.x > house.x + 10.0)
        .filter(|a| res.iter().all(|r| r.get(&a.id).copied().unwrap_or(0) >= 3))
        .find(|a| isolated(a))
        .expect("an isolated control address");
    let hc = r2024[&control.id];
    eprintln!(
        "house {} at ({}, {}) with {h} residents; control {} with {hc}",
        house.id, house.x, house.y, control.id
    );

    let to4326 = Reprojector::new(25833, 4326).unwrap();
    let to25833 = Reprojector::new(4326, 25833).unwrap();
    let p = ring_4326(
        &to4326,
        minx - 100.0,
        miny - 100.0,
        house.x - 5.0,
        maxy + 100.0,
    );
    let square = |a: &Addr| ring_4326(&to4326, a.x - 1.0, a.y - 1.0, a.x + 1.0, a.y + 1.0);
    let geom_a = json!({"type": "Polygon", "coordinates": [p]});
    let geom_b = json!({"type": "MultiPolygon", "coordinates": [[p], [square(house)]]});
    let geom_c = json!({"type": "MultiPolygon", "coordinates": [[p], [square(control)]]});

    let (sa, op_a) = s.split_session(&geom_a);
    let own: Vec<&Value> = op_a["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "sliver")
        .collect();
    eprintln!("draft A split warnings: {own:?}");
    s.save(&sa, "guard-a");
    let (sb, op_b) = s.split_session(&geom_b);
    s.save(&sb, "guard-b");

    // (a) The planner is warned while drawing B, at the house.
    let warns = op_b["warnings"].as_array().unwrap();
    eprintln!("draft B split warnings: {warns:#?}");
    let near = warns
        .iter()
        .filter(|w| w["kind"] == "sliver" && w["area"] == "08100521-1")
        .any(|w| {
            let Some(loc) = w["location"].as_array() else {
                return false;
            };
            let (x, y) = to25833
                .transform(loc[0].as_f64().unwrap(), loc[1].as_f64().unwrap())
                .unwrap();
            (x - house.x).hypot(y - house.y) < 50.0
        });
    assert!(
        near,
        "no sliver warning for 08100521-1 near the house: {warns:#?}"
    );
    assert!(
        warns
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("guard-a")
                || w["message"].as_str().unwrap().contains("Test guard-a")),
        "the warning names draft A"
    );

    // (d) The statistics office's numbers: the parts differ by exactly the house. The
    // planner sees them withheld, with the reason.
    let pa = s.areas("guard-a", 2024, Some(STATISTIK));
    let pb = s.areas("guard-b", 2024, Some(STATISTIK));
    let planner_b = s.areas("guard-b", 2024, Some(PLANNER));
    assert!(suppressed(&planner_b["08100521-1"]) && residents(&planner_b["08100521-1"]).is_none());
    assert!(
        !planner_b["08100521-1"]["properties"]["warnings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let num =
        |m: &BTreeMap<String, Value>, id: &str| residents(&m[id]).unwrap_or_else(|| panic!("{id}"));
    assert_eq!(
        num(&pb, "08100521-1") - num(&pa, "08100521-1"),
        h,
        "B-1 − A-1 is the house"
    );
    assert_eq!(
        num(&pa, "08100521-2") - num(&pb, "08100521-2"),
        h,
        "A-2 − B-2 is the house"
    );
    assert!(num(&pa, "08100521-1") >= 3 && num(&pb, "08100521-2") >= 3);
    let lor = s.areas("lor2021", 2024, None);
    assert_eq!(
        num(&pa, "08100521-1") + num(&pa, "08100521-2"),
        residents(&lor[PLR]).unwrap()
    );

    // (b) Viewers: the split parts are withheld in both drafts, nothing else is.
    let split_ids = ["08100521-1", "08100521-2"];
    for key in ["guard-a", "guard-b"] {
        assert_eq!(
            s.get(&format!("/gebietsstaende/{key}/areas"), None).status,
            404
        );
        let v = s.areas(key, 2024, Some(VIEWER));
        assert_eq!(v.len(), 543);
        for (id, f) in &v {
            let props = &f["properties"];
            if split_ids.contains(&id.as_str()) {
                assert!(suppressed(f), "{key} {id} not withheld: {props}");
                assert!(props["residents"].is_null() && props["status_class"].is_null());
                assert!(
                    props["values"]
                        .as_object()
                        .unwrap()
                        .values()
                        .all(Value::is_null),
                    "{props}"
                );
                assert!(
                    !props
                        .to_string()
                        .contains("Differenzbildung möglich gegenüber"),
                    "details only for planners"
                );
            } else {
                assert!(
                    !suppressed(f),
                    "{key} {id} withheld although unchanged: {props}"
                );
                assert_eq!(residents(f), residents(&lor[id]), "{key} {id}");
            }
        }
    }

    // (c) Comparisons and crosswalks for viewers carry nothing about the split parts.
    let split_touch = |id: &str| id.starts_with("08100521-");
    for (a, b) in [
        ("guard-a", "guard-b"),
        ("guard-b", "guard-a"),
        ("lor2021", "guard-b"),
        ("guard-b", "lor2021"),
    ] {
        let v = s.get_json(
            &format!("/gebietsstaende/{a}/vergleich/{b}?year=2024"),
            Some(VIEWER),
        );
        let mut checked = 0;
        for r in v["areas"].as_array().unwrap() {
            let preds = r["predecessors"].as_array().unwrap();
            let touches = split_touch(r["id"].as_str().unwrap())
                || preds.iter().any(|p| split_touch(p["id"].as_str().unwrap()));
            if !touches {
                continue;
            }
            checked += 1;
            assert_eq!(r["suppressed"], true, "{a}→{b}: {r}");
            for k in ["residents_old", "residents_new", "class_old", "class_new"] {
                assert!(r[k].is_null(), "{a}→{b} {k}: {r}");
            }
            assert!(
                preds.iter().all(|p| p["share"].is_null()),
                "{a}→{b}: shares give the counts: {r}"
            );
            assert!(
                r["values"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(|x| x["old"].is_null() && x["new"].is_null())
            );
        }
        assert!(checked >= 1, "{a}→{b}: no row about the split parts");
        for c in v["crosswalk"].as_array().unwrap() {
            assert!(
                !split_touch(c["from"].as_str().unwrap())
                    && !split_touch(c["to"].as_str().unwrap()),
                "{a}→{b}: {c}"
            );
            assert!(c.get("residents").is_none());
        }
        let cw = s.get_json(
            &format!("/gebietsstaende/{a}/crosswalk/{b}?year=2024"),
            Some(VIEWER),
        );
        assert!(cw["unmatched"].is_null());
        let cells = cw["crosswalk"].as_array().unwrap();
        assert!(
            cells.len() >= 500,
            "{a}→{b}: the rest of the crosswalk stays: {}",
            cells.len()
        );
        for c in cells {
            assert!(
                !split_touch(c["from"].as_str().unwrap())
                    && !split_touch(c["to"].as_str().unwrap()),
                "{a}→{b}: {c}"
            );
            assert!(c.get("residents").is_none());
        }
    }
    // The statistics office does see the cell that isolates the house (this is why the guard
    // is needed); the planner does not.
    let planner_cw = s.get_json(
        "/gebietsstaende/guard-a/crosswalk/guard-b?year=2024",
        Some(PLANNER),
    );
    assert!(
        planner_cw["crosswalk"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("residents").is_none()
                && !(c["from"] == "08100521-2" && c["to"] == "08100521-1"))
    );
    let cw = s.get_json(
        "/gebietsstaende/guard-a/crosswalk/guard-b?year=2024",
        Some(STATISTIK),
    );
    let cell = cw["crosswalk"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["from"] == "08100521-2" && c["to"] == "08100521-1")
        .expect("the house cell");
    assert_eq!(cell["residents"].as_u64(), Some(h));

    // (e) C differs from A by the control address: ≥ 3 residents in every year, so a guard
    // on residents alone would let it pass (P1) — but some other column of it holds 1–2
    // people (children, foreigners …), and every column is guarded: C is flagged against A
    // on such a column, never on residents. Against B it is flagged too (the house).
    let (sc, op_c) = s.split_session(&geom_c);
    s.save(&sc, "guard-c");
    let pc = s.areas("guard-c", 2024, Some(STATISTIK));
    assert_eq!(num(&pc, "08100521-1") - num(&pa, "08100521-1"), hc);
    assert!(hc >= 3);
    let mut against: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in split_ids {
        for w in pc[id]["properties"]["warnings"].as_array().unwrap() {
            let w = w.as_str().unwrap();
            for k in ["guard-a", "guard-b"] {
                if w.contains(&format!("({k})")) {
                    against
                        .entry(k.to_string())
                        .or_default()
                        .push(w.to_string());
                }
            }
        }
    }
    let vs_a = against
        .get("guard-a")
        .expect("C flagged against A on another column");
    assert!(
        vs_a.iter().all(|w| !w.contains("(residents,")),
        "C and A differ by ≥ 3 residents: {vs_a:?}"
    );
    assert!(
        against.contains_key("guard-b"),
        "C must be flagged against B (the house)"
    );
    assert!(
        op_c["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["message"].as_str().unwrap().contains("guard-a")),
        "C's split is warned against A while drawing: {}",
        op_c["warnings"]
    );
    let va = s.areas("guard-a", 2024, Some(VIEWER));
    assert!(
        split_ids.iter().all(|id| suppressed(&va[*id])),
        "A stays withheld (against B)"
    );
}
