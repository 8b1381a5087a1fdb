//! `kleinraum redefine` on the demo municipality: the configured Gebietsstände land in the store,
//! a boundary file is imported as a draft, and the comparison report attributes class changes
//! to new boundaries or to real change — checked against `kleinraum aggregate`'s classes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::{repo, shared_data};

fn kleinraum(store: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .args(args)
        .current_dir(repo())
        .env("KLEINRAUM_STORE", store)
        .env("RUST_LOG", "warn")
        .output()
        .expect("kleinraum runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Rows of a `;` CSV with BOM as header → value maps.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// `kleinraum redefine compare` of two demo versions for 2024: the CSV rows and stdout.
fn compare(
    store: &Path,
    dir: &Path,
    from: &str,
    to: &str,
) -> (Vec<BTreeMap<String, String>>, String) {
    let csv = dir.join(format!("{from}_{to}.csv"));
    let (ok, out, err) = kleinraum(
        store,
        &[
            "redefine",
            "compare",
            "data/demo.toml",
            from,
            to,
            "--year",
            "2024",
            "--csv",
            csv.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    (read_csv(&csv), out)
}

#[test]
fn list_import_and_compare_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("demo.gpkg");

    // First use imports the base (30 Sozialräume) and the configured Stadtteile.
    let (ok, out, err) = kleinraum(&store, &["redefine", "list", "data/demo.toml"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("sozialraeume-2024") && out.contains("30 Gebiete"),
        "{out}"
    );
    assert!(
        out.contains("stadtteile") && out.contains("6 Gebiete"),
        "{out}"
    );

    // A boundary file as a draft (the Stadtteile file again, under another key).
    let (ok, out, err) = kleinraum(
        &store,
        &[
            "redefine",
            "import",
            "data/demo.toml",
            "--file",
            "data/demo/stadtteile.geojson",
            "--key",
            "entwurf-st",
            "--name",
            "Entwurf Stadtteile",
            "--id-field",
            "st_id",
            "--name-field",
            "st_name",
            "--draft",
            "--lineage",
            "sozialraeume-2024",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("imported entwurf-st (6 areas)"), "{out}");
    assert!(out.contains("40034 of 40034 points inside"), "{out}");
    // The same key again is refused: the store keeps the first.
    let (ok, _, err) = kleinraum(
        &store,
        &[
            "redefine",
            "import",
            "data/demo.toml",
            "--file",
            "data/demo/sozialraeume.geojson",
            "--key",
            "stadtteile",
            "--id-field",
            "sr_id",
        ],
    );
    assert!(!ok);
    assert!(err.contains("stadtteile"), "{err}");
    let (_, out, _) = kleinraum(&store, &["redefine", "list", "data/demo.toml"]);
    assert!(
        out.contains("entwurf-st") && out.contains("Entwurf"),
        "{out}"
    );
    assert!(out.contains("(aus sozialraeume-2024)"), "{out}");

    // Same areas, different years: every class change is real change, none by boundaries.
    let (rows, out) = compare(&store, dir.path(), "sozialraeume-2024", "sozialraeume-2024");
    assert_eq!(rows.len(), 30, "{out}");
    // The status classes per area and year from the ordinary run.
    let agg = dir.path().join("agg.csv");
    let (ok, _, err) = kleinraum(
        &store,
        &[
            "aggregate",
            "data/demo.toml",
            "--out",
            agg.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let mut r = csv::Reader::from_path(&agg).unwrap();
    let h = r.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let (lv, id, yr, cls) = (
        col("level"),
        col("id"),
        col("year"),
        col("sozialindex_status_class"),
    );
    let mut class: BTreeMap<(String, String), String> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        if &rec[lv] == "sozialraeume" {
            class.insert(
                (rec[id].to_string(), rec[yr].to_string()),
                rec[cls].to_string(),
            );
        }
    }
    let mut real = 0;
    for row in &rows {
        let id = &row["Gebiet"];
        let now = &class[&(id.clone(), "2024".to_string())];
        let before = &class[&(id.clone(), "2023".to_string())];
        assert_eq!(&row["Klasse neu"], now, "{id}");
        assert_eq!(&row["Grenzänderung"], "nein", "{id}");
        assert_eq!(&row["Klassenwechsel durch Grenzen"], "nein", "{id}");
        let changed = now != before && !now.is_empty() && !before.is_empty();
        assert_eq!(
            row["Klassenwechsel real"] == "ja",
            changed,
            "{id}: {before} → {now}"
        );
        assert_eq!(
            row["Ursache"],
            if changed {
                "reale Veränderung"
            } else {
                "unverändert"
            },
            "{id}"
        );
        real += usize::from(changed);
    }
    eprintln!("demo 2023 → 2024: {real} of 30 Sozialräume changed their status class");

    // Coarser areas: every Sozialraum lies in one Stadtteil (share 100 %), and the class of
    // the Stadtteil as a whole differs from the Sozialraum's for some — caused by the boundaries.
    let (rows, out) = compare(&store, dir.path(), "stadtteile", "sozialraeume-2024");
    assert_eq!(rows.len(), 30);
    let mut by_boundary = 0;
    for row in &rows {
        assert_eq!(row["Grenzänderung"], "ja");
        let pred = &row["Vorgänger (Anteil der Einwohner:innen)"];
        assert!(pred.ends_with("(100,0 %)"), "{pred}");
        assert_eq!(&pred[..2], &row["Gebiet"][..2], "Stadtteil = id prefix");
        by_boundary += usize::from(row["Klassenwechsel durch Grenzen"] == "ja");
    }
    assert!(by_boundary > 0, "{out}");
    assert!(
        out.contains(&format!("Klassenwechsel durch Grenzen {by_boundary}")),
        "{out}"
    );
}

/// The real case: Berlin's published residents per OLD Planungsraum (31.12.2020) estimated for
/// the 542 NEW Planungsräume through the address crosswalk, against the residents published on
/// the new areas for the same day (MSS 2021 `EW`).
#[test]
fn old_lor_residents_interpolated_onto_lor_2021() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("berlin.gpkg");
    let out = dir.path().join("ewr_2020_auf_lor2021.csv");
    let ewr = shared_data().join("berlin-population-ewr/ewr_plr_until2020_2015h1-2020h2.csv");
    let (ok, stdout, err) = kleinraum(
        &store,
        &[
            "redefine",
            "interpolate",
            "data/berlin.toml",
            "--from",
            "lor2020",
            "--to",
            "lor2021",
            "--table",
            ewr.to_str().unwrap(),
            "--id-field",
            "PLR_ID",
            "--columns",
            "inhabitants",
            "--where",
            "period=2020-02",
            "--year",
            "2020",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(
        stdout.contains("inhabitants: Σ 3769962 on lor2020"),
        "{stdout}"
    );
    let rows = read_csv(&out);
    assert_eq!(rows.len(), 542);
    assert!(rows.iter().all(|r| r["schaetzung"] == "ja"));
    let num = |s: &str| s.replace(',', ".").parse::<f64>().ok();
    let total_out: f64 = rows.iter().filter_map(|r| num(&r["inhabitants"])).sum();
    // Conserved up to the residents of old areas that hold no address (cannot be placed).
    assert!((total_out - 3_769_962.0).abs() < 50.0, "{total_out}");

    // Published residents of the new areas on the same day.
    let mss = shared_data().join("berlin-mss-2021/mss2021_index_indicators_plr.csv");
    let mut r = csv::Reader::from_path(&mss).unwrap();
    let h = r.headers().unwrap().clone();
    let (idc, ewc) = (
        h.iter().position(|c| c == "PLR_ID").unwrap(),
        h.iter().position(|c| c == "EW").unwrap(),
    );
    let mut published: BTreeMap<String, f64> = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        if let Ok(v) = rec[ewc].parse::<f64>() {
            published.insert(rec[idc].to_string(), v);
        }
    }
    let (mut abs, mut sum, mut max, mut n) = (0.0, 0.0, (0.0f64, String::new()), 0);
    for row in &rows {
        let (Some(p), Some(e)) = (published.get(&row["id"]), num(&row["inhabitants"])) else {
            continue;
        };
        let d = (e - p).abs();
        abs += d;
        sum += p;
        n += 1;
        if d > max.0 {
            max = (d, row["id"].clone());
        }
    }
    let rel = abs / sum;
    eprintln!(
        "EWR 31.12.2020 (448 old PLR) → 542 new PLR vs published MSS EW: {n} areas, Σ|err| {abs:.0} = {:.3} %, largest {:.0} ({})",
        rel * 100.0,
        max.0,
        max.1
    );
    assert!(n >= 540, "{n}");
    assert!(rel < 0.01, "{rel}");
    assert!(max.0 < 1500.0, "{max:?}");
}
