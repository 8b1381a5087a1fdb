//! `kleinraum init DIR` on three folders a planner might have: the Kreis demo's raw files, the
//! Berlin Bezirke with their population table, the LOR 2021 Planungsräume with the EWR long
//! table. Each proposal passes `check`, aggregates every year without a hand edit, puts the
//! areas where they are, and gives the numbers of the source table.

use kleinraum_aggregate::aggregate::run;
use kleinraum_aggregate::result::AggregateResult;
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::project::load_all_strict;
use std::collections::HashMap;
use std::path::Path;

use crate::common::{repo, shared_data};

/// Copies `files` into a fresh folder, runs `kleinraum init` there, and returns the folder,
/// the command's output and the engine's result of the written configuration.
fn init(files: &[&Path]) -> (tempfile::TempDir, String, ProjectConfig, AggregateResult) {
    let dir = tempfile::tempdir().expect("tempdir");
    for f in files {
        std::fs::copy(f, dir.path().join(f.file_name().unwrap())).expect("copy");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .arg("init")
        .arg(dir.path())
        .output()
        .expect("run kleinraum init");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("check: OK"), "{text}");
    let cfg = ProjectConfig::load(&dir.path().join("kleinraum.toml")).expect("the proposal parses");
    let loaded = load_all_strict(&cfg).expect("the proposal loads without unreadable rows");
    let r = run(&loaded.dataset, &cfg.analysis()).expect("the proposal aggregates");
    (dir, text, cfg, r)
}

fn value(r: &AggregateResult, level: &str, id: &str, year: i32, col: &str) -> Option<u64> {
    let l = r.level(level)?;
    let a = l.areas.iter().find(|a| a.id == id)?;
    let y = r.year_index(year)?;
    let c = r.count_columns.iter().position(|x| x == col)?;
    a.years[y].counts[c].value
}

fn centroid_lon_lat(r: &AggregateResult) -> (f64, f64) {
    use geo::Centroid;
    let a = &r.levels[0].areas[0];
    let c = a.geometry.as_ref().unwrap().centroid().unwrap();
    kleinraum_load::crs::Reprojector::new(r.working_epsg, 4326)
        .unwrap()
        .transform(c.x(), c.y())
        .unwrap()
}

#[test]
fn init_on_the_kreis_raw_folder_reproduces_the_hand_written_config() {
    let k = repo().join("data/kreis");
    let files: Vec<_> = std::fs::read_dir(&k)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let (dir, text, cfg, r) = init(&refs);
    let toml = std::fs::read_to_string(dir.path().join("kleinraum.toml")).unwrap();
    // What it guessed, and says why.
    for want in [
        "parent_field = \"PR_ID\"",
        "encoding = \"windows-1252\"",
        "variable_field = \"Merkmal\"",
        "date_field = \"Stichtag\"",
        "match_by = \"name\"",
        "mapping = \"ba_gemeinden_zuordnung.csv\"",
        "wide = \"{column} 12/{year}\"",
        "thousands = \".\"",
        "capacity_field = \"plaetze\"",
        "working_crs = 25832",
    ] {
        assert!(toml.contains(want), "{want} missing in\n{toml}");
    }
    assert!(text.contains("\"Landkreis Musterland\""), "{text}");
    assert_eq!(cfg.levels.len(), 2);
    // The numbers equal those of data/kreis.toml, Gemeinde by Gemeinde and year by year.
    let kcfg = ProjectConfig::load(&repo().join("data/kreis.toml")).unwrap();
    let kr = run(&load_all_strict(&kcfg).unwrap().dataset, &kcfg.analysis()).unwrap();
    assert_eq!(r.years, (2014..=2024).collect::<Vec<_>>());
    let mut compared = 0;
    for a in &kr.levels[0].areas {
        for year in 2014..=2024 {
            for (ours, theirs) in [
                ("residents", "residents"),
                ("age_below_6", "age_below_6"),
                ("elb", "elb"),
                ("kinder_u15_in_bg", "kinder_sgb2"),
            ] {
                assert_eq!(
                    value(&r, "gemeinden", &a.id, year, ours),
                    value(&kr, "gemeinden", &a.id, year, theirs),
                    "{} {year} {ours}",
                    a.id
                );
                compared += 1;
            }
        }
        assert_eq!(
            value(&r, "planregionen", "PR1", 2024, "residents"),
            value(&kr, "planregionen", "PR1", 2024, "residents")
        );
    }
    assert_eq!(compared, 19 * 11 * 4);
    let (lon, lat) = centroid_lon_lat(&r);
    assert!(
        (9.0..11.0).contains(&lon) && (53.5..55.0).contains(&lat),
        "{lon} {lat}"
    );
}

#[test]
fn init_on_berlin_bezirke_and_their_population_table() {
    let sd = shared_data();
    let geo = sd.join("berlin-lor-2021/bezirke.geojson");
    let table = sd.join("berlin-other-partitions/bezirke_population_2013-2023.csv");
    let (dir, _, _, r) = init(&[&geo, &table]);
    let toml = std::fs::read_to_string(dir.path().join("kleinraum.toml")).unwrap();
    assert!(
        toml.contains("match_by = \"name\"") && toml.contains("wide = \"{year}-12-31\""),
        "{toml}"
    );
    assert!(toml.contains("working_crs = 25833"), "{toml}");
    // Every year, every Bezirk, the number of the table; the whole city is their sum.
    let mut rdr = csv::Reader::from_path(&table).unwrap();
    let headers = rdr.headers().unwrap().clone();
    let by_name: HashMap<&str, &str> = r.levels[0]
        .areas
        .iter()
        .map(|a| (a.name.as_str(), a.id.as_str()))
        .collect();
    let mut totals: HashMap<i32, u64> = HashMap::new();
    let mut checked = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let id = by_name[&rec[0]];
        for (h, v) in headers.iter().zip(rec.iter()).skip(1) {
            let year: i32 = h[..4].parse().unwrap();
            let want: u64 = v.parse().unwrap();
            assert_eq!(
                value(&r, "bezirke", id, year, "residents"),
                Some(want),
                "{id} {year}"
            );
            *totals.entry(year).or_default() += want;
            checked += 1;
        }
    }
    assert_eq!(checked, 12 * 11);
    for (year, total) in totals {
        assert_eq!(
            value(&r, "gesamt", "gesamt", year, "residents"),
            Some(total)
        );
    }
    let (lon, lat) = centroid_lon_lat(&r);
    assert!(
        (13.0..13.8).contains(&lon) && (52.3..52.7).contains(&lat),
        "{lon} {lat}"
    );
}

#[test]
fn init_on_the_lor_2021_boundaries_and_the_ewr_long_table() {
    let sd = shared_data();
    let geo = sd.join("berlin-lor-2021/plr_2021_epsg25833.geojson.gz");
    let table = sd.join("berlin-population-ewr/ewr_plr_2021_2021h1-2024h2.csv");
    let (dir, _, _, r) = init(&[&geo, &table]);
    let toml = std::fs::read_to_string(dir.path().join("kleinraum.toml")).unwrap();
    assert!(
        toml.contains("date_field = \"stichtag\"") && toml.contains("stichtag = \"12-31\""),
        "{toml}"
    );
    assert_eq!(r.years, vec![2021, 2022, 2023, 2024]);
    let mut rdr = csv::Reader::from_path(&table).unwrap();
    let mut checked = 0;
    let mut total_2024 = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if !rec[1].ends_with("-12-31") {
            continue;
        }
        let year: i32 = rec[1][..4].parse().unwrap();
        let want: u64 = rec[3].parse().unwrap();
        assert_eq!(
            value(&r, "plr", &rec[2], year, "residents"),
            Some(want),
            "{} {year}",
            &rec[2]
        );
        if year == 2024 {
            total_2024 += want;
        }
        checked += 1;
    }
    assert_eq!(checked, 542 * 4);
    assert_eq!(total_2024, 3_897_145);
    assert_eq!(
        value(&r, "gesamt", "gesamt", 2024, "residents"),
        Some(3_897_145)
    );
    let (lon, lat) = centroid_lon_lat(&r);
    assert!(
        (13.0..13.8).contains(&lon) && (52.3..52.7).contains(&lat),
        "{lon} {lat}"
    );
}
