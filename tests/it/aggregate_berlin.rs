//! End to end on the real Berlin data: the engine against the published counts and the official
//! MSS 2021, and the built binary's CSV contract.

use kleinraum_aggregate::aggregate;
use kleinraum_aggregate::result::{AggregateResult, CountFlag, IndexValue};
use kleinraum_load::config::ProjectConfig;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::common::{read_csv, repo, shared_data};

struct Runs {
    /// With disclosure control switched off (threshold 0): the true sums.
    truth: AggregateResult,
    /// As configured.
    published: AggregateResult,
    /// The loaded dataset.
    ds: kleinraum_aggregate::Dataset,
}

/// Loads data/berlin.toml once and runs the engine twice.
fn runs() -> &'static Runs {
    static RUNS: OnceLock<Runs> = OnceLock::new();
    RUNS.get_or_init(|| {
        let cfg = ProjectConfig::load(&repo().join("data/berlin.toml")).expect("config");
        let ds = kleinraum_load::project::load_project_strict(&cfg).expect("load Berlin");
        let analysis = cfg.analysis();
        let published = aggregate::run(&ds, &analysis).expect("run");
        let mut open = analysis.clone();
        open.disclosure.threshold = 0;
        open.disclosure.additive.clear();
        let truth = aggregate::run(&ds, &open).expect("run without disclosure control");
        Runs {
            truth,
            published,
            ds,
        }
    })
}

#[test]
fn plr_sums_equal_the_published_ewr_counts_for_every_year_and_column() {
    let r = runs();
    let ewr = read_csv(&shared_data().join("berlin-population-ewr/ewr_plr_2021_2021h1-2024h2.csv"));
    let level = r.truth.level("planungsraeume").unwrap();
    let pub_level = r.published.level("planungsraeume").unwrap();
    let by_id: HashMap<&str, usize> = level
        .areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let cols: Vec<(&str, String)> = [
        "age_below_6",
        "age_6_15",
        "age_15_18",
        "age_18_27",
        "age_27_45",
        "age_45_55",
        "age_55_65",
        "age_above_65",
    ]
    .iter()
    .map(|c| (*c, format!("inhabitants_{c}")))
    .chain(std::iter::once(("residents", "inhabitants".to_string())))
    .collect();
    // `foreigners` and `female` of the synthetic points do not equal EWR exactly (a property of
    // the shared data set, not of the engine); they are measured, not asserted.
    let mut other_diffs: HashMap<&str, (usize, u64)> = HashMap::new();
    // The published coordinates are rounded to 0.1 m, which put 11 addresses drawn within
    // centimetres of a border onto the neighbour's side (see tests/spatial_berlin.rs). Their
    // counts move with them: the expected value is EWR adjusted by exactly those points.
    let moved = moved_points(r);
    println!(
        "{} addresses land outside their plr_2021_true (coordinate rounding)",
        moved.len()
    );
    assert!(moved.len() <= 11, "{}", moved.len());
    let adjust = |plr: usize, year: i32, col: &str| -> i64 {
        let Some(j) =
            r.ds.points
                .columns
                .iter()
                .position(|c| c.year == year && c.name == col)
        else {
            return 0;
        };
        let v = &r.ds.points.columns[j].values;
        moved
            .iter()
            .map(|&(i, from, to)| {
                let x = i64::from(v[i]);
                (if to == plr { x } else { 0 }) - (if from == plr { x } else { 0 })
            })
            .sum()
    };
    let mut checked = 0;
    let mut suppressed = 0;
    let mut plr_per_year: HashMap<i32, usize> = HashMap::new();
    for row in ewr.iter().filter(|r| r["period"].ends_with("-02")) {
        let year: i32 = row["period"][..4].parse().unwrap();
        let a = by_id[row["PLR_ID"].as_str()];
        let y = r.truth.year_index(year).unwrap();
        *plr_per_year.entry(year).or_default() += 1;
        for (col, ewr_col) in &cols {
            let c = r.truth.count_columns.iter().position(|x| x == col).unwrap();
            let published: u64 = row[ewr_col.as_str()].parse().unwrap();
            let expected = published.checked_add_signed(adjust(a, year, col)).unwrap();
            let ours = level.areas[a].years[y].counts[c];
            assert_eq!(ours.value, Some(expected), "{} {year} {col}", row["PLR_ID"]);
            // Published: the same value, or withheld by disclosure control.
            let p = pub_level.areas[a].years[y].counts[c];
            match p.flag {
                CountFlag::Published => assert_eq!(p.value, Some(expected)),
                CountFlag::Suppressed | CountFlag::SecondarySuppressed => {
                    assert_eq!(p.value, None);
                    suppressed += 1;
                }
                CountFlag::NoData | CountFlag::Missing => {
                    panic!("{} {year} {col}: no data", row["PLR_ID"])
                }
            }
            checked += 1;
        }
        for (col, ewr_col) in [
            ("foreigners", "inhabitants_foreigners"),
            ("female", "inhabitants_female"),
        ] {
            let c = r.truth.count_columns.iter().position(|x| x == col).unwrap();
            let expected: u64 = row[ewr_col].parse().unwrap();
            let ours = level.areas[a].years[y].counts[c].value.unwrap();
            if ours != expected {
                let e = other_diffs.entry(col).or_default();
                e.0 += 1;
                e.1 = e.1.max(ours.abs_diff(expected));
            }
        }
    }
    println!("not asserted, PLR-years differing from EWR (count, largest diff): {other_diffs:?}");
    assert_eq!(plr_per_year.len(), 4);
    assert!(plr_per_year.values().all(|&n| n == 542), "{plr_per_year:?}");
    println!(
        "{checked} PLR counts equal to EWR; {suppressed} of them suppressed in the published result"
    );
    // EWR itself has no age group of 1 or 2 in a PLR, so nothing here needs suppression.
    assert_eq!(checked, 542 * 4 * 9);
    let total = r.truth.level("gesamt").unwrap().areas[0].years[r.truth.year_index(2024).unwrap()]
        .counts[0];
    assert_eq!(total.value, Some(3_897_145));
}

/// Points whose spatial assignment differs from `plr_2021_true`: (point, true area, assigned
/// area), area indices of the finest level.
fn moved_points(r: &Runs) -> Vec<(usize, usize, usize)> {
    use flate2::read::GzDecoder;
    let f = std::fs::File::open(shared_data().join("berlin-synthetic-addresses/addresses.csv.gz"))
        .unwrap();
    let mut rd = csv::Reader::from_reader(GzDecoder::new(f));
    let h = rd.headers().unwrap().clone();
    let (ki, ti) = (
        h.iter().position(|c| c == "addr_id").unwrap(),
        h.iter().position(|c| c == "plr_2021_true").unwrap(),
    );
    let truth: HashMap<String, String> = rd
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            (rec[ki].to_string(), rec[ti].to_string())
        })
        .collect();
    let areas = &r.ds.levels[0].areas;
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| areas[a].id.cmp(&areas[b].id));
    let polys: Vec<_> = order
        .iter()
        .map(|&i| areas[i].geometry.clone().unwrap())
        .collect();
    let grid = kleinraum_aggregate::spatial::GridIndex::build(&polys);
    let asg = grid.assign(&r.ds.points.x, &r.ds.points.y);
    let pos: HashMap<&str, usize> = areas
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    let mut out = Vec::new();
    for (i, &k) in asg.iter().enumerate() {
        let t = pos[truth[r.ds.points.keys.get(i).unwrap().as_ref()].as_str()];
        let got = order[k as usize];
        if got != t {
            out.push((i, t, got));
        }
    }
    out
}

fn class_counts(v: &[&IndexValue]) -> ([usize; 4], [usize; 3]) {
    let mut s = [0; 4];
    let mut d = [0; 3];
    for x in v {
        if let Some(c) = x.status_class {
            s[c as usize - 1] += 1;
        }
        if let Some(c) = x.dynamics_class {
            d[c as usize - 1] += 1;
        }
    }
    (s, d)
}

#[test]
fn mss_from_address_points_matches_the_official_z_values_and_classes() {
    let r = runs();
    let zrows =
        read_csv(&shared_data().join("berlin-mss-2021/mss2021_index_indicators_zvalues_plr.csv"));
    let z: HashMap<&str, &HashMap<String, String>> =
        zrows.iter().map(|r| (r["PLR_ID"].as_str(), r)).collect();
    let res = &r.truth;
    let level = res.level("planungsraeume").unwrap();
    let y = res.year_index(2020).unwrap();
    let k = res.indices.iter().position(|i| i.id == "mss").unwrap();
    let ka = res
        .indices
        .iter()
        .position(|i| i.id == "mss_amtlich")
        .unwrap();
    let mut max_diff: f64 = 0.0;
    let mut worst = String::new();
    let mut n = 0;
    for a in &level.areas {
        let v = a.years[y].indices[k].as_ref().unwrap();
        let official = z[a.id.as_str()];
        let official_valid = !official["zS1"].is_empty();
        assert_eq!(
            v.reason.is_none(),
            official_valid,
            "{} {:?}",
            a.id,
            v.reason
        );
        if !official_valid {
            continue;
        }
        n += 1;
        for c in v
            .status_contributions
            .iter()
            .chain(&v.dynamics_contributions)
        {
            let col = format!("z{}", c.indicator.to_uppercase());
            let o: f64 = official[col.as_str()].parse().unwrap();
            let d = (c.z - o).abs();
            if d > max_diff {
                max_diff = d;
                worst = format!("{} {col}: ours {:.4}, official {o}", a.id, c.z);
            }
        }
        assert_eq!(
            v.status_contributions.len() + v.dynamics_contributions.len(),
            6
        );
    }
    println!("MSS from address points: {n} PLR, largest |z diff| {max_diff:.4} ({worst})");
    assert_eq!(n, 536);
    assert!(max_diff <= 0.06, "{worst}");
    // Class counts: ours from the points vs. the index on the official shares.
    let ours: Vec<&IndexValue> = level
        .areas
        .iter()
        .filter_map(|a| a.years[y].indices[k].as_ref())
        .collect();
    let amtlich: Vec<&IndexValue> = level
        .areas
        .iter()
        .filter_map(|a| a.years[y].indices[ka].as_ref())
        .collect();
    let (so, dn) = class_counts(&ours);
    let (sa, da) = class_counts(&amtlich);
    println!(
        "status classes: points {so:?}, official shares {sa:?}; dynamics: points {dn:?}, official {da:?}"
    );
    assert_eq!(so, sa);
    assert_eq!(dn, da);
    // The published result has the same classes (the index is computed from the true values).
    let pl = r.published.level("planungsraeume").unwrap();
    let published: Vec<&IndexValue> = pl
        .areas
        .iter()
        .filter_map(|a| a.years[y].indices[k].as_ref())
        .collect();
    assert_eq!(class_counts(&published), (so, dn));
}

#[test]
fn published_result_has_no_leaking_relation() {
    let r = &runs().published;
    let truth = &runs().truth;
    // Hierarchy: for each parent and column, not exactly one suppressed cell among parent+children.
    for w in r.levels.windows(2) {
        let (child, parent) = (&w[0], &w[1]);
        for p in &parent.areas {
            let kids: Vec<_> = child
                .areas
                .iter()
                .filter(|a| a.parent.as_deref() == Some(p.id.as_str()))
                .collect();
            for y in 0..r.years.len() {
                for c in 0..r.count_columns.len() {
                    let supp = |f: CountFlag| {
                        matches!(f, CountFlag::Suppressed | CountFlag::SecondarySuppressed)
                    };
                    let n = supp(p.years[y].counts[c].flag) as usize
                        + kids
                            .iter()
                            .filter(|a| supp(a.years[y].counts[c].flag))
                            .count();
                    assert_ne!(
                        n, 1,
                        "{} {} {} {}",
                        parent.key, p.id, r.years[y], r.count_columns[c]
                    );
                }
            }
        }
    }
    // Age groups: residents = Σ age groups, in every area and year with data.
    let col = |n: &str| r.count_columns.iter().position(|c| c == n).unwrap();
    let rel = &r.disclosure.additive[0];
    let cells: Vec<usize> = std::iter::once(col(&rel.total))
        .chain(rel.parts.iter().map(|p| col(p)))
        .collect();
    let mut suppressed_cells = 0;
    for level in &r.levels {
        for a in &level.areas {
            for ay in &a.years {
                if cells
                    .iter()
                    .any(|&c| ay.counts[c].flag == CountFlag::NoData)
                {
                    continue;
                }
                let n = cells
                    .iter()
                    .filter(|&&c| {
                        matches!(
                            ay.counts[c].flag,
                            CountFlag::Suppressed | CountFlag::SecondarySuppressed
                        )
                    })
                    .count();
                assert_ne!(n, 1, "{} {} {}", level.key, a.id, ay.year);
                suppressed_cells += ay
                    .counts
                    .iter()
                    .filter(|c| c.value.is_none() && c.flag != CountFlag::NoData)
                    .count();
            }
        }
    }
    // Every withheld cell is really withheld, and the true value of a suppressed primary cell
    // is below the threshold.
    for (l, tl) in r.levels.iter().zip(&truth.levels) {
        for (a, ta) in l.areas.iter().zip(&tl.areas) {
            for (ay, ty) in a.years.iter().zip(&ta.years) {
                for (c, tc) in ay.counts.iter().zip(&ty.counts) {
                    if c.flag == CountFlag::Suppressed {
                        assert!(matches!(tc.value, Some(1..=2)), "{:?}", tc);
                    }
                }
            }
        }
    }
    println!("published Berlin result: {suppressed_cells} suppressed count cells");
    assert!(
        suppressed_cells > 0,
        "the SGB II counts of 2020 have cells of 1–2"
    );
}

/// Runs the built binary's `aggregate` on data/berlin.toml into `out` (format by extension).
fn aggregate_berlin_to(out: &std::path::Path) -> std::path::PathBuf {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .current_dir(repo())
        .args(["aggregate", "data/berlin.toml", "--out"])
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
    out.to_path_buf()
}

#[test]
fn the_binary_writes_the_contract_csv() {
    let dir = tempfile::tempdir().unwrap();
    let out = aggregate_berlin_to(&dir.path().join("berlin.csv"));
    let mut rd = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    let r = &runs().published;
    let mut expected: Vec<String> = ["level", "id", "name", "year"].map(String::from).to_vec();
    expected.extend(r.count_columns.iter().cloned());
    for cat in ["kitas", "schulen", "jugendfreizeit", "pflege"] {
        expected.push(format!("{cat}_count"));
        expected.push(format!("{cat}_capacity"));
    }
    expected.extend(r.indicators.iter().map(|i| i.id.clone()));
    for ix in ["mss", "mss_amtlich"] {
        for s in kleinraum_aggregate::result::INDEX_FIELDS {
            expected.push(format!("{ix}_{s}"));
        }
    }
    assert_eq!(header, expected);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), (542 + 143 + 58 + 12 + 1) * r.years.len());
    // Every suppressed count is an empty cell, and every published one equals the result.
    let tl = runs().truth.level("planungsraeume").unwrap();
    let pl = r.level("planungsraeume").unwrap();
    let mut empties = 0;
    for row in rows.iter().filter(|row| &row[0] == "planungsraeume") {
        let a = pl.areas.iter().position(|a| a.id == row[1]).unwrap();
        let y = r.year_index(row[3].parse().unwrap()).unwrap();
        for c in 0..r.count_columns.len() {
            let cell = &row[4 + c];
            match pl.areas[a].years[y].counts[c].flag {
                CountFlag::Published => assert_eq!(
                    cell,
                    tl.areas[a].years[y].counts[c].value.unwrap().to_string()
                ),
                _ => {
                    assert_eq!(cell, "");
                    empties += 1;
                }
            }
        }
    }
    assert!(empties > 0);
}

/// The binary moves the boundaries into its result instead of copying them: its GeoJSON, every
/// geometry included, is byte for byte the one written from the engine's copying run.
#[test]
fn the_binary_writes_the_geometries_of_the_engine_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = aggregate_berlin_to(&dir.path().join("berlin.geojson"));
    let expected = dir.path().join("engine.geojson");
    kleinraum_load::write::write_geojson(&runs().published, &expected).unwrap();
    let (got, want) = (
        std::fs::read(&out).unwrap(),
        std::fs::read(&expected).unwrap(),
    );
    assert!(
        got == want,
        "the binary's GeoJSON differs from the engine's"
    );
    let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
    let features = v["features"].as_array().unwrap();
    let drawn = features
        .iter()
        .filter(|f| f["geometry"].is_object())
        .count();
    // Every area of the four drawn levels, once per year; the whole city has no geometry.
    assert_eq!(drawn, (542 + 143 + 58 + 12) * runs().published.years.len());
}
