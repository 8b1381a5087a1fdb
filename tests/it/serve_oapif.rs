//! End to end: the real `kleinraum serve` on the Berlin data, read by GDAL's OAPIF driver.
//!
//! Needs the shared data (`KLEINRAUM_SHARED_DATA`, default `../shared/data` beside the repo)
//! and `ogrinfo`/`ogr2ogr` (GDAL ≥ 3.6) on the PATH.

use kleinraum_aggregate::result::AggregateResult;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{Server, fresh_store, repo, shared_data};

fn start(config: &str) -> Server {
    // Each server its own Gebietsstände store (no test writes into data/).
    let store = fresh_store();
    Server::start(
        config,
        &[("KLEINRAUM_STORE", store.to_str().unwrap())],
        Duration::from_secs(300),
    )
}

/// Runs a command that must succeed; its stdout and stderr.
fn run_full(cmd: &str, args: &[&str]) -> (String, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs the engine in-process on the same config: the reference the GDAL copy must equal.
fn engine_result() -> AggregateResult {
    // SAFETY (test setup): set before any thread reads the environment in this process.
    unsafe { std::env::set_var("KLEINRAUM_SHARED_DATA", shared_data()) };
    let cfg =
        kleinraum_load::ProjectConfig::load(&repo().join("data/berlin.toml")).expect("config");
    let ds = kleinraum_load::project::load_project_strict(&cfg).expect("load Berlin");
    kleinraum_aggregate::aggregate::run(&ds, &cfg.analysis()).expect("engine")
}

/// gpkg → CSV rows keyed by id, and the geometries as WKT if `wkt` (printing every vertex was
/// most of GDAL's time in this test, so only where a geometry is looked at).
fn gpkg_rows(
    gpkg: &Path,
    layer: &str,
    dir: &Path,
    wkt: bool,
) -> (Vec<String>, HashMap<String, Vec<String>>, Vec<String>) {
    let csv_path = dir.join(format!(
        "{layer}-{}-{wkt}.csv",
        gpkg.file_stem().unwrap().to_string_lossy()
    ));
    let mut args = vec![
        "-f",
        "CSV",
        csv_path.to_str().unwrap(),
        gpkg.to_str().unwrap(),
        layer,
    ];
    if wkt {
        args.extend(["-lco", "GEOMETRY=AS_WKT"]);
    }
    run("ogr2ogr", &args);
    let mut rdr = csv::Reader::from_path(&csv_path).expect("csv");
    let header: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    let id_col = header.iter().position(|h| h == "id").expect("id column");
    let mut rows = HashMap::new();
    let mut wkts = Vec::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let v: Vec<String> = rec.iter().map(str::to_string).collect();
        if wkt {
            wkts.push(v[0].clone());
        }
        rows.insert(v[id_col].clone(), v);
    }
    (header, rows, wkts)
}

fn num(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else {
        Some(s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")))
    }
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
        _ => false,
    }
}

#[test]
fn gdal_oapif_reads_every_collection_and_copies_engine_values() {
    assert!(
        shared_data().join("berlin-lor-2021").is_dir(),
        "shared data not found at {} (set KLEINRAUM_SHARED_DATA)",
        shared_data().display()
    );
    let server = start("data/berlin.toml");
    let url = format!("OAPIF:http://{}", server.addr);
    let result = engine_result();
    let plr = &result.levels[0];
    assert_eq!(plr.key, "planungsraeume");
    assert_eq!(plr.areas.len(), 542);

    // 1. every collection listed
    let listing = run("ogrinfo", &["-ro", "-so", &url]);
    let mut expected: Vec<&str> = result.levels.iter().map(|l| l.key.as_str()).collect();
    expected.extend(result.facility_categories.iter().map(String::as_str));
    for key in &expected {
        assert!(
            listing.contains(&format!(": {key} (")),
            "ogrinfo lacks {key}:\n{listing}"
        );
    }
    let layer_lines = listing
        .lines()
        .filter(|l| {
            l.trim_start()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
                && l.contains(": ")
        })
        .count();
    assert_eq!(layer_lines, expected.len(), "{listing}");

    // 2. feature count and fields of the Planungsräume
    let info = run("ogrinfo", &["-ro", "-so", &url, "planungsraeume"]);
    assert!(info.contains("Feature Count: 542"), "{info}");
    for field in [
        "id: String",
        "name: String",
        "year: Integer",
        "residents: Integer",
        "s1: Real",
        "mss_status_class: Integer",
        "kitas_capacity: Real",
    ] {
        assert!(info.contains(field), "field {field} missing:\n{info}");
    }

    // 3. ogr2ogr copy, default year: values equal the engine's
    let dir = tempfile::tempdir().unwrap();
    let gpkg = dir.path().join("plr.gpkg");
    run(
        "ogr2ogr",
        &["-f", "GPKG", gpkg.to_str().unwrap(), &url, "planungsraeume"],
    );
    let (header, rows, wkts) = gpkg_rows(&gpkg, "planungsraeume", dir.path(), true);
    assert_eq!(rows.len(), 542);
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n}"))
    };
    // Without `datetime` the server shows the latest year in which the index has values (so
    // a GIS client's default layer shows the Sozialraumgebiete): 2020 for Berlin.
    let last = (0..result.years.len())
        .rev()
        .find(|&yi| {
            plr.areas.iter().any(|a| {
                a.years[yi]
                    .indices
                    .iter()
                    .flatten()
                    .any(|v| v.status_class.is_some())
            })
        })
        .expect("an index year");
    assert_eq!(result.years[last], 2020);
    let mut compared = 0;
    for area in &plr.areas {
        let row = rows
            .get(&area.id)
            .unwrap_or_else(|| panic!("area {} missing (leading zeros?)", area.id));
        let ay = &area.years[last];
        assert_eq!(row[col("year")], ay.year.to_string());
        for (ci, name) in result.count_columns.iter().enumerate() {
            let want = ay.counts[ci].value.map(|v| v as f64);
            assert!(
                close(num(&row[col(name)]), want),
                "{} {name}: {:?} vs {want:?}",
                area.id,
                row[col(name)]
            );
            compared += 1;
        }
        for (ii, ind) in result.indicators.iter().enumerate() {
            assert!(
                close(num(&row[col(&ind.id)]), ay.indicators[ii].value),
                "{} {}: {} vs {:?}",
                area.id,
                ind.id,
                row[col(&ind.id)],
                ay.indicators[ii].value
            );
            compared += 1;
        }
    }
    assert!(compared > 542 * 10);
    // CRS84 coordinates (degrees)
    assert!(
        wkts[0].contains("13.") && wkts[0].contains(" 52."),
        "{}",
        &wkts[0][..80.min(wkts[0].len())]
    );

    // 4. the MSS year through datetime: index classes equal the engine's
    let mss_year = result
        .indices
        .iter()
        .find(|i| i.id == "mss")
        .and_then(|i| i.years.first().copied())
        .unwrap_or(2020);
    let gpkg_mss = dir.path().join("mss.gpkg");
    run(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            gpkg_mss.to_str().unwrap(),
            &format!("{url}?datetime={mss_year}"),
            "planungsraeume",
        ],
    );
    let (header, rows, _) = gpkg_rows(&gpkg_mss, "planungsraeume", dir.path(), false);
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .unwrap_or_else(|| panic!("no column {n}"))
    };
    let yi = result.year_index(mss_year).unwrap();
    let ii = result.indices.iter().position(|i| i.id == "mss").unwrap();
    let mut classes = 0;
    for area in &plr.areas {
        let row = &rows[&area.id];
        assert_eq!(row[col("year")], mss_year.to_string());
        let iv = area.years[yi].indices[ii].as_ref();
        let want_class = iv.and_then(|v| v.status_class).map(|c| c as f64);
        assert!(
            close(num(&row[col("mss_status_class")]), want_class),
            "{}",
            area.id
        );
        assert!(
            close(
                num(&row[col("mss_status_value")]),
                iv.and_then(|v| v.status_value)
            ),
            "{}",
            area.id
        );
        classes += usize::from(want_class.is_some());
    }
    assert!(classes > 500, "only {classes} PLR with a status class");

    // 5. server-side CRS: EPSG:25833 gives metres
    let crs = "http://www.opengis.net/def/crs/EPSG/0/25833";
    let gpkg_utm = dir.path().join("utm.gpkg");
    run(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            gpkg_utm.to_str().unwrap(),
            &format!("{url}?crs={crs}"),
            "planungsraeume",
        ],
    );
    let (_, rows, wkts) = gpkg_rows(&gpkg_utm, "planungsraeume", dir.path(), true);
    assert_eq!(rows.len(), 542);
    let nums: Vec<f64> = wkts[0]
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|s| s.parse().ok())
        .take(2)
        .collect();
    assert!(
        nums.len() == 2
            && (360_000.0..430_000.0).contains(&nums[0])
            && (5_790_000.0..5_850_000.0).contains(&nums[1]),
        "not metres: {nums:?}"
    );

    // 6. `-where` goes to the server as a CQL filter (GDAL 3.6 needs `cql-text` in /api) and
    // gives the same features as filtering the whole layer on the client; and GDAL sees one
    // `id` (no "Field 'id' already exists").
    let where_gpkg = dir.path().join("where.gpkg");
    let (_, err) = run_full(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            where_gpkg.to_str().unwrap(),
            &url,
            "planungsraeume",
            "-where",
            "residents > 15000",
        ],
    );
    assert!(!err.contains("already exists"), "ogr2ogr warned: {err}");
    let (_, filtered, _) = gpkg_rows(&where_gpkg, "planungsraeume", dir.path(), false);
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("filter=residents") && log.contains("filter-lang=cql-text"),
        "no server-side filter in the log"
    );
    drop(log);
    let (header, all, _) = gpkg_rows(&gpkg, "planungsraeume", dir.path(), false);
    let ri = header.iter().position(|h| h == "residents").unwrap();
    let mut want: Vec<&String> = all
        .iter()
        .filter(|(_, r)| r[ri].parse::<f64>().is_ok_and(|v| v > 15000.0))
        .map(|(id, _)| id)
        .collect();
    let mut got: Vec<&String> = filtered.keys().collect();
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want, "server-side and client-side filtering agree");
}
