//! The MSS index computed from the official area tables reproduces the official z-values.

use crate::shared_data;
use kleinraum_aggregate::config::{IndexConfig, Polarity};
use kleinraum_aggregate::index::{IndexIndicator, compute_index};
use kleinraum_aggregate::result::{IndexValue, IndicatorValue, NullReason};
use std::collections::HashMap;

fn index_config(status: &[&str], dynamics: &[&str], exclude: &[&str]) -> IndexConfig {
    serde_json::from_value(serde_json::json!({
        "id": "mss", "title": "MSS", "level": "planungsraeume",
        "status": status, "dynamics": dynamics, "exclude": exclude,
    }))
    .expect("index config")
}

/// Reads a CSV into header → column of strings.
fn read_csv(path: &std::path::Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (headers, rows)
}

fn values(rows: &[HashMap<String, String>], col: &str, valid: &[bool]) -> Vec<IndicatorValue> {
    rows.iter()
        .zip(valid)
        .map(|(r, &ok)| match r[col].parse::<f64>() {
            Ok(v) if ok && v != -9999.0 => IndicatorValue::some(v),
            _ => IndicatorValue::null(NullReason::NoData),
        })
        .collect()
}

/// Runs the index on columns of a table; `valid` marks the rows whose indicator values are real.
fn run_index(
    rows: &[HashMap<String, String>],
    cfg: &IndexConfig,
    status: &[&str],
    dynamics: &[&str],
    valid: &[bool],
    pop: &[Option<f64>],
) -> Vec<IndexValue> {
    let ids: Vec<String> = rows.iter().map(|r| r["PLR_ID"].clone()).collect();
    let sv: Vec<Vec<IndicatorValue>> = status.iter().map(|c| values(rows, c, valid)).collect();
    let dv: Vec<Vec<IndicatorValue>> = dynamics.iter().map(|c| values(rows, c, valid)).collect();
    let si: Vec<IndexIndicator<'_>> = status
        .iter()
        .zip(&sv)
        .map(|(c, v)| IndexIndicator {
            id: c,
            polarity: Polarity::HigherIsWorse,
            values: v,
        })
        .collect();
    let di: Vec<IndexIndicator<'_>> = dynamics
        .iter()
        .zip(&dv)
        .map(|(c, v)| IndexIndicator {
            id: c,
            polarity: Polarity::HigherIsWorse,
            values: v,
        })
        .collect();
    compute_index(cfg, &ids, pop, &si, &di).expect("index")
}

/// Counts of status classes 1–4 and dynamics classes 1–3.
pub fn class_counts(v: &[IndexValue]) -> ([usize; 4], [usize; 3]) {
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
fn mss2021_from_the_area_table_reproduces_official_z_values() {
    let dir = shared_data().join("berlin-mss-2021");
    let (_, rows) = read_csv(&dir.join("mss2021_index_indicators_plr.csv"));
    let (_, zrows) = read_csv(&dir.join("mss2021_index_indicators_zvalues_plr.csv"));
    assert_eq!(rows.len(), 542);
    let z: HashMap<&str, &HashMap<String, String>> =
        zrows.iter().map(|r| (r["PLR_ID"].as_str(), r)).collect();
    let pop: Vec<Option<f64>> = rows.iter().map(|r| r["EW"].parse().ok()).collect();
    // All rows are passed with their values; the engine decides validity from EW and exclude.
    let all = vec![true; rows.len()];
    let cfg = index_config(&["S1", "S3", "S4"], &["D1", "D3", "D4"], &["10100205"]);
    let res = run_index(
        &rows,
        &cfg,
        &["S1", "S3", "S4"],
        &["D1", "D3", "D4"],
        &all,
        &pop,
    );

    let mut n_valid = 0;
    let mut max_diff: f64 = 0.0;
    for (r, v) in rows.iter().zip(&res) {
        let official_valid = r["KOM"] == "gültig";
        let ours_valid = v.reason.is_none();
        assert_eq!(
            official_valid, ours_valid,
            "validity of {} ({:?})",
            r["PLR_ID"], v.reason
        );
        let ew_ok = pop_ok(r);
        assert_eq!(
            official_valid,
            ew_ok && r["PLR_ID"] != "10100205",
            "{}",
            r["PLR_ID"]
        );
        if !ours_valid {
            assert!(v.status_class.is_none() && v.group.is_none());
            continue;
        }
        n_valid += 1;
        let zr = z[r["PLR_ID"].as_str()];
        for c in v
            .status_contributions
            .iter()
            .chain(&v.dynamics_contributions)
        {
            let official: f64 = zr[&format!("z{}", c.indicator)].parse().unwrap();
            let d = (c.z - official).abs();
            max_diff = max_diff.max(d);
            assert!(
                d <= 0.005 + 1e-5,
                "{} z{}: ours {} official {}",
                r["PLR_ID"],
                c.indicator,
                c.z,
                official
            );
        }
        assert_eq!(v.status_contributions.len(), 3);
        assert_eq!(v.dynamics_contributions.len(), 3);
    }
    assert_eq!(n_valid, 536);
    let below = res
        .iter()
        .filter(|v| v.reason == Some(NullReason::BelowMinPopulation))
        .count();
    let excluded = res
        .iter()
        .filter(|v| v.reason == Some(NullReason::Excluded))
        .count();
    let (s, d) = class_counts(&res);
    let attention = res.iter().filter(|v| v.attention).count();
    println!(
        "MSS 2021 (area table): valid {n_valid}, below 300 {below}, excluded {excluded}, \
         max |z diff| {max_diff:.5}, status 1..4 {s:?}, dynamics 1..3 {d:?}, attention {attention}"
    );
    assert_eq!(s.iter().sum::<usize>(), 536);
    assert_eq!(d.iter().sum::<usize>(), 536);
    let no_pop = res
        .iter()
        .filter(|v| v.reason == Some(NullReason::NoData))
        .count();
    assert_eq!(
        (below, excluded, no_pop),
        (4, 1, 1),
        "Pankower Tor has no EW"
    );
}

fn pop_ok(r: &HashMap<String, String>) -> bool {
    r["EW"].parse::<f64>().is_ok_and(|e| e >= 300.0)
}

#[test]
fn mss2013_to_2019_class_counts() {
    let dir = shared_data().join("berlin-mss-2013-2019-until2020lor");
    for year in [2013, 2015, 2017, 2019] {
        let (headers, rows) =
            read_csv(&dir.join(format!("mss{year}_index_indicators_plr_until2020.csv")));
        assert_eq!(rows.len(), 447, "{year}");
        let find = |prefix: &str| -> Option<String> {
            headers.iter().find(|h| h.starts_with(prefix)).cloned()
        };
        let mut status: Vec<String> = vec![find("s1_").unwrap()];
        if year <= 2017 {
            status.push(find("s2_").expect("s2 until 2017"));
        }
        status.push(find("s3_").unwrap());
        status.push(find("s4_").unwrap());
        let dynamics: Vec<String> = status.iter().map(|s| format!("d{}", &s[1..])).collect();
        let dynamics: Vec<String> = dynamics
            .iter()
            .map(|d| find(&d[..3]).expect("dynamics column"))
            .collect();
        // Validity is the official in_mss_index (manual exclusions with EW ≥ 300 included):
        // invalid rows are passed as excluded.
        let exclude: Vec<&str> = rows
            .iter()
            .filter(|r| r["in_mss_index"] != "True")
            .map(|r| r["PLR_ID"].as_str())
            .collect();
        let st: Vec<&str> = status.iter().map(String::as_str).collect();
        let dy: Vec<&str> = dynamics.iter().map(String::as_str).collect();
        let cfg = index_config(&st, &dy, &exclude);
        let pop: Vec<Option<f64>> = rows.iter().map(|_| Some(f64::INFINITY)).collect();
        let all = vec![true; rows.len()];
        let res = run_index(&rows, &cfg, &st, &dy, &all, &pop);
        let n_valid = rows.len() - exclude.len();
        let (s, d) = class_counts(&res);
        let attention = res.iter().filter(|v| v.attention).count();
        println!(
            "MSS {year}: {} status indicators, valid {n_valid}, status 1..4 {s:?}, dynamics 1..3 {d:?}, attention {attention}",
            st.len()
        );
        assert_eq!(s.iter().sum::<usize>(), n_valid, "{year}");
        assert_eq!(d.iter().sum::<usize>(), n_valid, "{year}");
        // Sanity: z-standardised, so the mittel/stabil classes hold the majority and every
        // class is used.
        assert!(
            s[1] > n_valid / 2 && d[1] > n_valid / 2,
            "{year}: {s:?} {d:?}"
        );
        assert!(
            s.iter().all(|&c| c > 0) && d.iter().all(|&c| c > 0),
            "{year}"
        );
        assert!(n_valid > 400, "{year}: {n_valid}");
    }
}
