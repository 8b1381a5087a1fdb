//! The Landkreis demo (data/kreis, data/kreis.toml): boundaries and area tables only. The
//! committed files are the generator's output; they load without a single unreadable row; every
//! table year arrives, counts add up to the Planregionen and the Kreis, `*` cells stay without
//! value; and `kleinraum serve data/kreis.toml` serves all of it with the map, the index and
//! Gebietsstände (a draft merging two Gemeinden computes, its values marked as estimates).

use kleinraum_aggregate::aggregate::run;
use kleinraum_aggregate::result::{AggregateResult, CountFlag, NullReason};
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::project::{Loaded, load_all_strict};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use crate::common::{Server, fresh_store, get, repo};

fn kreis() -> &'static (Loaded, AggregateResult) {
    static K: OnceLock<(Loaded, AggregateResult)> = OnceLock::new();
    K.get_or_init(|| {
        let cfg = ProjectConfig::load(&repo().join("data/kreis.toml")).expect("data/kreis.toml");
        let l = load_all_strict(&cfg).expect("the Kreis loads without unreadable rows");
        let r = run(&l.dataset, &cfg.analysis()).expect("engine");
        (l, r)
    })
}

fn count(
    r: &AggregateResult,
    level: &str,
    id: &str,
    year: i32,
    col: &str,
) -> (Option<u64>, CountFlag) {
    let l = r.level(level).expect("level");
    let a = l.areas.iter().find(|a| a.id == id).expect("area");
    let y = r.year_index(year).expect("year");
    let c = r
        .count_columns
        .iter()
        .position(|x| x == col)
        .expect("column");
    (a.years[y].counts[c].value, a.years[y].counts[c].flag)
}

#[test]
fn generator_reproduces_the_committed_kreis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("kreis");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .args(["generate-demo", "--kreis", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kleinraum generate-demo --kreis");
    assert!(status.success());
    let list = |d: &Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    let committed = repo().join("data/kreis");
    assert_eq!(list(&out), list(&committed), "file names");
    for name in list(&committed) {
        assert!(
            std::fs::read(out.join(&name)).ok() == std::fs::read(committed.join(&name)).ok(),
            "{name} differs from the generator's output: rerun `cargo run -- generate-demo --kreis`"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("kreis.toml")).ok(),
        std::fs::read_to_string(repo().join("data/kreis.toml")).ok(),
        "data/kreis.toml differs from the generator's"
    );
}

#[test]
fn kreis_has_19_gemeinden_in_4_planregionen_from_a_windows_1252_shapefile() {
    let (l, _) = kreis();
    let ds = &l.dataset;
    assert!(ds.points.is_empty(), "no address points");
    assert_eq!(ds.levels[0].areas.len(), 19);
    assert_eq!(ds.levels[1].areas.len(), 4);
    let names: BTreeSet<&str> = ds.levels[0].areas.iter().map(|a| a.name.as_str()).collect();
    assert!(
        names.contains("Süderholm") && names.contains("Östermühle"),
        "{names:?}"
    );
    assert!(ds.levels[0].areas.iter().all(|a| a.id.starts_with("01099")));
    assert_eq!(
        l.report.crs[0].1, "EPSG:25832",
        "the ESRI .prj is identified"
    );
}

#[test]
fn every_table_year_arrives_and_counts_add_up_to_planregionen_and_kreis() {
    let (l, r) = kreis();
    assert_eq!(r.years, (2014..=2024).collect::<Vec<_>>());
    let gem = r.level("gemeinden").unwrap();
    let pr = r.level("planregionen").unwrap();
    for year in 2014..=2024 {
        let mut kreis = 0;
        let mut pops = Vec::new();
        for p in &pr.areas {
            let mut sum = 0;
            for a in gem
                .areas
                .iter()
                .filter(|a| a.parent.as_deref() == Some(&p.id))
            {
                let v = count(r, "gemeinden", &a.id, year, "residents")
                    .0
                    .expect("residents");
                pops.push(v);
                sum += v;
            }
            assert_eq!(
                count(r, "planregionen", &p.id, year, "residents").0,
                Some(sum)
            );
            kreis += sum;
        }
        assert_eq!(
            count(r, "gesamt", "gesamt", year, "residents").0,
            Some(kreis)
        );
        // Very unequal Gemeinden: from under 1,000 to about 40,000.
        let (min, max) = (pops.iter().min().unwrap(), pops.iter().max().unwrap());
        assert!(*min < 1_000 && *max > 38_000, "{year}: {min}..{max}");
    }
    // The Landesamt's Kreis row and the Bundesagentur's total are listed, not used.
    let unmatched: Vec<&str> = l
        .report
        .tables
        .iter()
        .flat_map(|t| t.unmatched.iter().map(|(k, _)| k.as_str()))
        .collect();
    assert_eq!(unmatched, ["01099000", "Landkreis Musterland"]);
    // The four towns are found through the mapping file ("Kirchhusen, Stadt").
    let ba = l.report.tables.iter().find(|t| t.name == "ba").unwrap();
    assert_eq!((ba.mapped, ba.matched_by_name), (4, 15));
    // The Bundesagentur's "*": no value, and no Planregion or Kreis sum over it.
    let star = ba.markers.iter().find(|m| m.0 == "*").expect("* cells");
    assert!(star.2 > 0);
    let krummbek = gem.areas.iter().find(|a| a.name == "Krummbek").unwrap();
    let mut missing_years = 0;
    for year in 2014..=2024 {
        if count(r, "gemeinden", &krummbek.id, year, "kinder_sgb2").1 == CountFlag::Missing {
            missing_years += 1;
            assert_eq!(
                count(r, "planregionen", "PR2", year, "kinder_sgb2").1,
                CountFlag::Missing
            );
            let y = r.year_index(year).unwrap();
            let i = r
                .indicators
                .iter()
                .position(|x| x.id == "kinderarmut")
                .unwrap();
            let pr2 = pr.areas.iter().find(|a| a.id == "PR2").unwrap();
            assert_eq!(
                pr2.years[y].indicators[i].reason,
                Some(NullReason::Incomplete)
            );
        }
    }
    assert!(missing_years > 0, "the demo has * cells in Krummbek");
}

#[test]
fn the_reference_index_classes_the_two_poorest_towns() {
    let (_, r) = kreis();
    let gem = r.level("gemeinden").unwrap();
    let y = r.year_index(2024).unwrap();
    let flagged: BTreeSet<&str> = gem
        .areas
        .iter()
        .filter(|a| a.years[y].indices[0].as_ref().is_some_and(|v| v.attention))
        .map(|a| a.name.as_str())
        .collect();
    assert!(
        flagged.contains("Kirchhusen") && flagged.contains("Marschwerder"),
        "{flagged:?}"
    );
    assert!(!flagged.contains("Östermühle"));
}

fn post(addr: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let r = crate::common::post_json(addr, path, token, body);
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

#[test]
fn serve_kreis_every_year_roll_ups_index_map_and_a_draft_merge() {
    let store = fresh_store();
    let store_s = store.display().to_string();
    let token = "planner-token-kreis";
    let tokens = format!("planner:test:{token}");
    let s = Server::start(
        "data/kreis.toml",
        &[("KLEINRAUM_STORE", &store_s), ("KLEINRAUM_TOKENS", &tokens)],
        std::time::Duration::from_secs(180),
    );
    let ids: Vec<String> =
        get(&s.addr, "/collections", &["Accept: application/json"]).json()["collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
    for want in ["gemeinden", "planregionen", "kitas"] {
        assert!(ids.iter().any(|i| i == want), "{ids:?}");
    }
    // Every year of every table, on every level.
    for year in [2014, 2019, 2024] {
        let fc = get(
            &s.addr,
            &format!("/collections/planregionen/items?datetime={year}-12-31"),
            &[],
        )
        .json();
        let feats = fc["features"].as_array().unwrap();
        assert_eq!(feats.len(), 4);
        for f in feats {
            assert_eq!(f["properties"]["year"], year);
            assert!(f["properties"]["residents"].as_u64().unwrap() > 20_000);
        }
    }
    let ts = get(
        &s.addr,
        "/collections/gemeinden/items/01099008/timeseries",
        &[],
    )
    .json();
    assert_eq!(ts["years"].as_array().unwrap().len(), 11);
    assert!(
        ts["counts"]["residents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v.is_u64())
    );
    // The index in reference mode.
    let ix = get(&s.addr, "/collections/gemeinden/index?year=2024", &[]).json();
    assert!(ix.to_string().contains("Kirchhusen"), "{ix}");
    // The map and the catalogue.
    assert_eq!(get(&s.addr, "/map/", &[]).status, 200);
    let cat = get(&s.addr, "/indicators", &["Accept: application/json"]).json();
    assert!(cat.to_string().contains("kinderarmut"));
    // Gebietsstände without address points: merge two Gemeinden in a draft.
    let list = get(&s.addr, "/gebietsstaende", &[]).json();
    assert_eq!(list["weighting"]["key"], "flaeche", "{list}");
    let (st, sess) = post(
        &s.addr,
        "/entwurf",
        token,
        &json!({"base": "gemeinden-2024"}),
    );
    assert_eq!(st, 201, "{sess}");
    let sid = sess["id"].as_str().unwrap();
    let (st, op) = post(
        &s.addr,
        &format!("/entwurf/{sid}/operation?year=2024"),
        token,
        &json!({"op": "merge", "areas": ["01099009", "01099010"]}),
    );
    assert_eq!(st, 200, "{op}");
    let changed = op["changed"].as_array().unwrap();
    let merged = changed
        .iter()
        .find(|f| f["id"] == "01099009")
        .unwrap_or_else(|| panic!("{op}"));
    let p = &merged["properties"];
    let (a, _) = count(&kreis().1, "gemeinden", "01099009", 2024, "residents");
    let (b, _) = count(&kreis().1, "gemeinden", "01099010", 2024, "residents");
    // Two whole Gemeinden: the area-weighted estimate is their sum, to within the rounding of
    // the lattice along the outer border.
    let got = p["residents"].as_u64().unwrap();
    let want = a.unwrap() + b.unwrap();
    assert!(got.abs_diff(want) <= 1, "{got} vs {want}");
    assert!(
        p["estimated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "residents")
    );
    assert!(p["weighting"].as_str().unwrap().contains("Fläche"), "{p}");
    let _ = std::fs::remove_file(&store);
}
