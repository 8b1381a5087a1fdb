//! End to end: the attacks on disclosure control (issue "Disclosure control that survives an
//! attacker") against the real `kleinraum serve` on the demo, and the audit command on the demo
//! and Berlin. Each test shows the attack fails now.

use crate::common::{Server, fresh_store, get, repo};
use kleinraum_load::crs::Reprojector;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const TOKENS: &str = "viewer:vera:viewer-secret-1;planner:paul:planner-secret-1;statistik:sina:statistik-secret-1;admin:anna:admin-secret-1";

fn demo() -> Server {
    let store = fresh_store();
    Server::start(
        "data/demo.toml",
        &[
            ("KLEINRAUM_STORE", store.to_str().unwrap()),
            ("KLEINRAUM_TOKENS", TOKENS),
        ],
        Duration::from_secs(300),
    )
}

fn post(addr: &str, path: &str, token: &str, body: &Value) -> crate::common::Resp {
    crate::common::post_json(addr, path, token, body)
}

/// A square of `half` metres around an EPSG:25832 point, as a WGS 84 GeoJSON polygon.
fn box_around(x: f64, y: f64, half: f64) -> Value {
    let r = Reprojector::new(25832, 4326).unwrap();
    let c = |dx: f64, dy: f64| {
        let (lon, lat) = r.transform(x + dx, y + dy).unwrap();
        json!([lon, lat])
    };
    json!({"type": "Polygon", "coordinates": [[c(-half, -half), c(half, -half), c(half, half), c(-half, half), c(-half, -half)]]})
}

#[test]
fn one_flag_rounded_values_and_no_index_next_to_a_withheld_indicator() {
    let srv = demo();
    let addr = &srv.addr;
    // P4: every withheld count carries the same public flag.
    let csv = get(addr, "/collections/sozialraeume/download?format=csv", &[]).text();
    assert!(csv.contains(",suppressed,"), "the demo has withheld counts");
    assert!(
        !csv.contains("secondary"),
        "primary and secondary are not told apart"
    );
    let items = get(
        addr,
        "/collections/sozialraeume/items?datetime=2024&limit=100",
        &[],
    )
    .json();
    let feats = items["features"].as_array().unwrap();
    let cat = get(addr, "/indicators", &[]).json();
    let decimals: Vec<(String, i32)> = cat["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["decimals"].as_i64().unwrap() as i32,
            )
        })
        .collect();
    let idx = &cat["indices"][0];
    let index_inds: Vec<&str> = idx["status"]
        .as_array()
        .unwrap()
        .iter()
        .chain(idx["dynamics"].as_array().unwrap())
        .filter_map(|v| v.as_str())
        .collect();
    let mut indexed = 0;
    for f in feats {
        let p = &f["properties"];
        for (k, v) in p.as_object().unwrap() {
            if k.ends_with("_flag") {
                assert!(
                    ["published", "suppressed", "no_data"].contains(&v.as_str().unwrap()),
                    "{k} = {v}"
                );
            }
        }
        // P10: published at the declared precision.
        for (id, d) in &decimals {
            if let Some(x) = p[id].as_f64() {
                let f = 10f64.powi(*d);
                assert!(
                    ((x * f).round() / f - x).abs() < 1e-9,
                    "{id} = {x} has more than {d} decimals"
                );
            }
        }
        // P5: an index value only where every index indicator is published.
        if p["sozialindex_status_value"].is_number() {
            indexed += 1;
            for id in &index_inds {
                assert!(
                    !p[*id].is_null(),
                    "{}: index published next to a withheld {id}",
                    p["id"]
                );
            }
        }
    }
    assert!(indexed > 20);
    let ranking = get(addr, "/collections/sozialraeume/index?year=2024", &[]).json();
    for a in ranking["areas"].as_array().unwrap() {
        if a["status_value"].is_number() {
            let f = feats
                .iter()
                .find(|f| f["properties"]["id"] == a["id"])
                .unwrap();
            for id in &index_inds {
                assert!(!f["properties"][*id].is_null(), "{} {id}", a["id"]);
            }
        }
    }
    // P11: the public list of Gebietsstände shows no server paths and no token holders.
    let list = get(addr, "/gebietsstaende", &[]).json();
    for v in list["gebietsstaende"].as_array().unwrap() {
        assert!(
            !v["source"].as_str().unwrap_or("").contains('/'),
            "{}",
            v["source"]
        );
        assert!(v["created_by"].is_null());
    }
}

#[test]
fn a_box_around_one_house_shows_its_residents_to_no_planner() {
    let srv = demo();
    let addr = &srv.addr;
    // Marktplatz 1 (address 000001): 5 residents, 1 foreigner in 2024.
    let house = box_around(440_069.85, 5_751_160.15, 1.5);
    let s = post(
        addr,
        "/entwurf",
        "planner-secret-1",
        &json!({"base": "sozialraeume-2024"}),
    );
    assert_eq!(s.status, 201, "{}", s.text());
    let id = s.json()["id"].as_str().unwrap().to_string();
    // P3: a 3 × 3 m area drawn around the house.
    let r = post(
        addr,
        &format!("/entwurf/{id}/operation?year=2024"),
        "planner-secret-1",
        &json!({"op": "draw", "name": "Haus", "geometry": house}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let changed = v["changed"].as_array().unwrap();
    let new = changed
        .iter()
        .find(|f| f["properties"]["name"] == "Haus")
        .expect("the drawn area");
    assert!(new["properties"]["residents"].is_null(), "{new}");
    assert_eq!(new["properties"]["suppressed"], true);
    let why = new["properties"]["warnings"].to_string();
    assert!(why.contains("Weniger als 300"), "{why}");
    // P1: the area that lost the house differs from its published self by one house: 5
    // residents but 1 foreigner — withheld in every column, not only in residents.
    let host = changed
        .iter()
        .find(|f| f["properties"]["name"] != "Haus")
        .expect("the area that lost the house");
    assert!(host["properties"]["residents"].is_null(), "{host}");
    // The warning names the column with the small difference — not `residents` (5).
    let warned = host["properties"]["warnings"].to_string();
    assert!(
        warned.contains("Differenzbildung") && !warned.contains("(residents,"),
        "{warned}"
    );
    // The statistics office sees the values.
    let areas = get(
        addr,
        &format!("/entwurf/{id}/areas?year=2024"),
        &["Authorization: Bearer statistik-secret-1"],
    )
    .json();
    let mine = areas["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == "Haus")
        .unwrap();
    assert_eq!(mine["properties"]["residents"], 5);
    // Saved, the draft shows viewers nothing of either area.
    let saved = post(
        addr,
        &format!("/entwurf/{id}/speichern"),
        "planner-secret-1",
        &json!({"key": "haus", "name": "Haus"}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text());
    let viewer = get(
        addr,
        "/gebietsstaende/haus/areas?year=2024",
        &["Authorization: Bearer viewer-secret-1"],
    )
    .json();
    let f = viewer["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["name"] == "Haus")
        .unwrap();
    assert!(f["properties"]["residents"].is_null() && f["properties"]["suppressed"] == true);
    let host_id = host["id"].as_str().unwrap();
    let hf = viewer["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == host_id)
        .unwrap();
    assert!(hf["properties"]["residents"].is_null(), "{hf}");
    // Every operation with statistics is in the audit log with its caller.
    let audit = get(addr, "/audit", &["Authorization: Bearer admin-secret-1"]).json();
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "entwurf_operation" && e["actor"] == "paul")
    );
}

#[test]
fn a_draft_of_two_areas_and_a_house_is_withheld_for_viewers() {
    use geo::{BooleanOps, Contains, MapCoords, MultiPolygon};
    let srv = demo();
    let addr = &srv.addr;
    // P2: area = two published Sozialräume ∪ a 2 m box around one house outside both, built
    // in the working CRS from the boundary file, so it holds exactly their addresses.
    let fc: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("data/demo/sozialraeume.geojson")).unwrap(),
    )
    .unwrap();
    let geom = |id: &str| -> MultiPolygon<f64> {
        let f = fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["properties"]["sr_id"] == id)
            .unwrap();
        match kleinraum_load::gj::parse_geometry(&f["geometry"].to_string()).unwrap() {
            geo::Geometry::MultiPolygon(mp) => mp,
            geo::Geometry::Polygon(p) => MultiPolygon(vec![p]),
            g => panic!("{g:?}"),
        }
    };
    let union = geom("0101").union(&geom("0102"));
    // The address outside both that is nearest to 0101's first vertex, with 1–2 residents in
    // 2024 (its difference is then small in `residents` itself).
    let text = std::fs::read_to_string(repo().join("data/demo/adressen.csv")).unwrap();
    let mut residents = std::collections::HashMap::new();
    let gz = std::fs::File::open(repo().join("data/demo/bestand_2024.csv.gz")).unwrap();
    let mut rdr = csv::Reader::from_reader(flate2::read::GzDecoder::new(gz));
    for rec in rdr.records() {
        let rec = rec.unwrap();
        residents.insert(rec[0].to_string(), rec[1].parse::<u64>().unwrap());
    }
    let first = union.0[0].exterior().0[0];
    let (hx, hy, hid) = text
        .trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(';').collect();
            (
                c[3].replace(',', ".").parse::<f64>().unwrap(),
                c[4].replace(',', ".").parse::<f64>().unwrap(),
                c[0].to_string(),
            )
        })
        .filter(|(x, y, id)| {
            !union.contains(&geo::Point::new(*x, *y)) && matches!(residents.get(id), Some(1 | 2))
        })
        .min_by(|p, q| {
            let d = |x: f64, y: f64| (x - first.x).hypot(y - first.y);
            d(p.0, p.1).total_cmp(&d(q.0, q.1))
        })
        .unwrap();
    let house = MultiPolygon(vec![geo::Polygon::new(
        geo::LineString::from(vec![
            (hx - 1.0, hy - 1.0),
            (hx + 1.0, hy - 1.0),
            (hx + 1.0, hy + 1.0),
            (hx - 1.0, hy + 1.0),
            (hx - 1.0, hy - 1.0),
        ]),
        vec![],
    )]);
    let r = Reprojector::new(25832, 4326).unwrap();
    let area = union.union(&house).map_coords(|c| {
        let (lon, lat) = r.transform(c.x, c.y).unwrap();
        geo::Coord { x: lon, y: lat }
    });
    let gj: Value = serde_json::from_str(&kleinraum_serve::catalog::render_geometry(
        &geo::Geometry::MultiPolygon(area),
        10,
        false,
    ))
    .unwrap();
    let up = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "U"}, "geometry": gj}]});
    let r = post(
        addr,
        "/gebietsstaende?key=union&id_field=id",
        "planner-secret-1",
        &up,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // The attack would be exact: U = 0101 + 0102 + the house (the statistics office's view).
    let base = get(
        addr,
        "/gebietsstaende/sozialraeume-2024/areas?year=2024",
        &["Authorization: Bearer statistik-secret-1"],
    )
    .json();
    let of = |id: &str| {
        base["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .unwrap()["properties"]["residents"]
            .as_u64()
            .unwrap()
    };
    let analyst = get(
        addr,
        "/gebietsstaende/union/areas?year=2024",
        &["Authorization: Bearer statistik-secret-1"],
    )
    .json();
    assert_eq!(
        analyst["features"][0]["properties"]["residents"]
            .as_u64()
            .unwrap(),
        of("0101") + of("0102") + residents[&hid],
        "house {hid}"
    );
    // Viewers and the planner get nothing of U.
    for token in ["viewer-secret-1", "planner-secret-1"] {
        let auth = format!("Authorization: Bearer {token}");
        let view = get(
            addr,
            "/gebietsstaende/union/areas?year=2024",
            &[auth.as_str()],
        )
        .json();
        let u = &view["features"][0]["properties"];
        assert!(
            u["residents"].is_null() && u["suppressed"] == true,
            "{token}: {u}"
        );
    }
}

#[test]
fn threshold_zero_is_refused_and_the_audit_passes_on_demo_and_berlin() {
    // P9: a config that switches protection off is refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = repo().join("data/demo");
    let text = std::fs::read_to_string(repo().join("data/demo.toml"))
        .unwrap()
        .replace("\"demo/", &format!("\"{}/", demo_dir.display()))
        .replace("threshold = 3", "threshold = 0");
    let cfg = dir.path().join("zero.toml");
    std::fs::write(&cfg, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .args(["check", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("threshold = 0") && err.contains("low_threshold_reason"),
        "{err}"
    );
    // The attacker in the suite: everything published, bounded by LP, across versions.
    for config in ["data/demo.toml", "data/berlin.toml"] {
        let store = crate::common::fresh_store();
        let out = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
            .args(["audit-disclosure", config, "--json"])
            .current_dir(repo())
            .env("KLEINRAUM_SHARED_DATA", crate::common::shared_data())
            .env("KLEINRAUM_STORE", &store)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{config}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(out.status.success(), "{config}: {v:#}");
        assert_eq!(v["ok"], true);
        assert_eq!(v["versions"]["leaks"], 0);
        // The base version copies the statistics' finest level: every one of its areas is
        // checked against the statistics' withheld cells, and none publishes one.
        assert!(
            v["versions"]["copies_of_statistics_areas"]
                .as_u64()
                .unwrap()
                > 0,
            "{v}"
        );
        assert_eq!(v["versions"]["copies_publishing_withheld_cells"], 0);
        for p in v["publications"].as_array().unwrap() {
            assert_eq!(p["too_narrow"], 0, "{p}");
            assert_eq!(p["recovered"], 0, "{p}");
            assert_eq!(p["index_leaks"], 0, "{p}");
            assert_eq!(p["withheld"], p["intervals"], "{p}");
        }
        eprintln!("{config}: {v}");
    }
}
