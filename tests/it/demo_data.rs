//! The committed demo municipality (data/demo, data/demo.toml) loads through the real loader
//! without a single diagnostic, has the advertised shape, and is exactly what the generator
//! writes today.

use flate2::read::GzDecoder;
use kleinraum_aggregate::model::Dataset;
use kleinraum_aggregate::spatial::{GridIndex, OUTSIDE};
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::project::load_project_strict;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use crate::common::repo;

fn demo() -> &'static Dataset {
    static DS: OnceLock<Dataset> = OnceLock::new();
    DS.get_or_init(|| {
        let cfg =
            ProjectConfig::load(&repo().join("data/demo.toml")).expect("data/demo.toml parses");
        load_project_strict(&cfg).expect("the demo loads without diagnostics")
    })
}

#[test]
fn demo_has_30_sozialraeume_in_6_stadtteile() {
    let ds = demo();
    assert_eq!(ds.working_epsg, 25832);
    let keys: Vec<&str> = ds.levels.iter().map(|l| l.key.as_str()).collect();
    assert_eq!(keys, ["sozialraeume", "stadtteile"]);
    let (srs, sts) = (&ds.levels[0].areas, &ds.levels[1].areas);
    assert_eq!(srs.len(), 30);
    assert_eq!(sts.len(), 6);
    let st_ids: BTreeSet<&str> = sts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        st_ids,
        BTreeSet::from(["01", "02", "03", "04", "05", "06"]),
        "ids keep leading zeros"
    );
    for a in srs {
        let parent = a
            .parent
            .as_deref()
            .expect("every Sozialraum has a Stadtteil");
        assert!(
            st_ids.contains(parent),
            "{} has unknown parent {parent}",
            a.id
        );
        assert!(a.id.len() == 4 && a.id.starts_with(parent), "{}", a.id);
        assert!(a.geometry.is_some());
    }
    let names: BTreeSet<&str> = srs.iter().map(|a| a.name.as_str()).collect();
    assert!(
        names.contains("Am Mühlbach") && names.contains("Sonnenhügel"),
        "umlauts survive"
    );
}

#[test]
fn every_demo_point_lies_in_a_sozialraum() {
    let ds = demo();
    let p = &ds.points;
    assert_eq!(p.len(), 40_034);
    assert_eq!(p.years(), vec![2020, 2021, 2022, 2023, 2024]);
    // Decimal commas were read as decimals, not as thousands: the points lie in the town.
    assert!(p.x.iter().all(|x| (430_000.0..450_000.0).contains(x)));
    assert!(p.y.iter().all(|y| (5_740_000.0..5_760_000.0).contains(y)));
    let polys: Vec<_> = ds.levels[0]
        .areas
        .iter()
        .map(|a| a.geometry.clone().expect("geometry"))
        .collect();
    let assigned = GridIndex::build(&polys).assign(&p.x, &p.y);
    let outside = assigned.iter().filter(|&&a| a == OUTSIDE).count();
    assert_eq!(outside, 0, "points outside every Sozialraum");
    let used: BTreeSet<u32> = assigned.iter().copied().collect();
    assert_eq!(used.len(), 30, "every Sozialraum has addresses");
}

/// Column sums straight from the gzipped CSV files, without the loader.
fn csv_sums(path: &Path) -> BTreeMap<String, u64> {
    let mut text = String::new();
    GzDecoder::new(std::fs::File::open(path).expect("open"))
        .read_to_string(&mut text)
        .expect("gunzip");
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().expect("header").clone();
    let mut sums = BTreeMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        for (h, v) in headers.iter().zip(rec.iter()).skip(1) {
            *sums.entry(h.to_string()).or_insert(0) += v.parse::<u64>().expect("integer");
        }
    }
    sums
}

#[test]
fn loaded_counts_match_the_files_and_the_age_groups_add_up() {
    let ds = demo();
    let sum = |name: &str, year: i32| -> u64 {
        ds.points
            .columns
            .iter()
            .find(|c| c.name == name && c.year == year)
            .unwrap_or_else(|| panic!("column {name} {year}"))
            .values
            .iter()
            .map(|&v| u64::from(v))
            .sum()
    };
    let ages = [
        "age_below_6",
        "age_6_15",
        "age_15_18",
        "age_18_27",
        "age_27_45",
        "age_45_55",
        "age_55_65",
        "age_above_65",
    ];
    for year in 2020..=2024 {
        let file = csv_sums(&repo().join(format!("data/demo/bestand_{year}.csv.gz")));
        assert_eq!(file.len(), 15);
        for (name, total) in &file {
            assert_eq!(sum(name, year), *total, "{name} {year}");
        }
        let residents = sum("residents", year);
        assert!(
            (130_000..150_000).contains(&residents),
            "{year}: {residents}"
        );
        assert_eq!(ages.iter().map(|a| sum(a, year)).sum::<u64>(), residents);
    }
    assert_eq!(sum("residents", 2024), 142_619);
}

#[test]
fn demo_facilities_load_with_capacities() {
    let ds = demo();
    let by: BTreeMap<&str, _> = ds
        .facilities
        .iter()
        .map(|f| (f.category.as_str(), f))
        .collect();
    assert_eq!(
        by.keys().copied().collect::<Vec<_>>(),
        ["jugendzentren", "kitas", "pflegeheime", "schulen"]
    );
    assert_eq!(by["kitas"].len(), 63);
    assert_eq!(by["pflegeheime"].len(), 14);
    assert!(
        by["kitas"]
            .capacity
            .iter()
            .all(|c| c.is_some_and(|c| c >= 20.0))
    );
    assert!(
        by["pflegeheime"]
            .capacity
            .iter()
            .all(|c| c.is_some_and(|c| c >= 40.0))
    );
    assert!(by["schulen"].len() >= 25);
}

/// Decompresses `.gz` files: the gzip bytes may differ between compression back-ends, the
/// content must not.
fn content(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        GzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    } else {
        bytes
    }
}

#[test]
fn generator_reproduces_the_committed_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .args(["generate-demo", "--out"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kleinraum generate-demo");
    assert!(status.success());
    let list = |d: &Path| -> BTreeSet<String> {
        std::fs::read_dir(d)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    let committed = repo().join("data/demo");
    assert_eq!(list(dir.path()), list(&committed), "file names");
    for name in list(&committed) {
        assert!(
            content(&dir.path().join(&name)) == content(&committed.join(&name)),
            "{name} differs from the generator's output: rerun `cargo run -- generate-demo`"
        );
    }
}
