//! End-to-end tests of `kleinraum check`: the built binary on the real Berlin data (found
//! through `KLEINRAUM_SHARED_DATA`, default `../shared/data` beside the repository) and on tiny
//! broken fixtures written to a temporary directory.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared data folder: `$KLEINRAUM_SHARED_DATA`, else `../shared/data` beside the repo.
fn shared_data() -> PathBuf {
    let p = match std::env::var("KLEINRAUM_SHARED_DATA") {
        Ok(v) if !v.is_empty() => PathBuf::from(v),
        _ => repo().join("../shared/data"),
    };
    p.canonicalize()
        .unwrap_or_else(|e| panic!("shared data folder {} not found: {e}", p.display()))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(config: &Path, extra: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .current_dir(repo())
        .env("KLEINRAUM_SHARED_DATA", shared_data())
        .arg("check")
        .arg(config)
        .args(extra)
        .output()
        .expect("kleinraum runs");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn check_json(config: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let r = check(config, &args);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("--json output is JSON ({e}); stderr: {}", r.stderr));
    assert_eq!(
        v["exit_code"].as_i64(),
        Some(r.code as i64),
        "exit code in report"
    );
    (r.code, v)
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/check").join(name)
}

fn level<'a>(report: &'a Value, key: &str) -> &'a Value {
    report["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .find(|l| l["key"] == key)
        .unwrap_or_else(|| panic!("level {key} in report"))
}

fn f(v: &Value) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("number expected, got {v}"))
}

/// Prints a level's overlap/gap figures (visible with `--nocapture`).
fn print_coverage(label: &str, report: &Value) {
    for l in report["levels"].as_array().expect("levels") {
        let c = &l["coverage"];
        if c.is_null() {
            continue;
        }
        eprintln!(
            "{label} {}: overlaps {} ({:.3} m²) + {} below tolerance ({:.3} m²); gaps {} ({:.3} m²) + {} below ({:.3} m²)",
            l["key"],
            c["overlaps"]["count"],
            f(&c["overlaps"]["total_area_m2"]),
            c["overlaps"]["below_tolerance_count"],
            f(&c["overlaps"]["below_tolerance_area_m2"]),
            c["gaps"]["count"],
            f(&c["gaps"]["total_area_m2"]),
            c["gaps"]["below_tolerance_count"],
            f(&c["gaps"]["below_tolerance_area_m2"]),
        );
    }
}

fn in_berlin(loc: &Value) {
    let (lon, lat) = (f(&loc["lon"]), f(&loc["lat"]));
    assert!(
        (13.0..13.8).contains(&lon) && (52.3..52.7).contains(&lat),
        "{loc}"
    );
    assert!((360_000.0..420_000.0).contains(&f(&loc["x"])), "{loc}");
}

#[test]
fn berlin_lor_2021_with_addresses_is_clean() {
    let (code, r) = check_json(&repo().join("data/berlin.toml"), &[]);
    print_coverage("LOR 2021", &r);
    assert_eq!(code, 0, "{:?}", r["blocking"]);
    assert_eq!(r["counts"]["points"], 401_032);
    assert_eq!(r["counts"]["levels"][0]["areas"], 542);
    for l in r["levels"].as_array().expect("levels") {
        assert_eq!(
            l["invalid_geometries"].as_array().map(Vec::len),
            Some(0),
            "{}",
            l["key"]
        );
        assert_eq!(l["coverage"]["overlaps"]["count"], 0, "{}", l["key"]);
    }
    // The PLR partition is exact: shared edges, no slivers at all.
    let plr = &level(&r, "planungsraeume")["coverage"];
    assert_eq!(plr["overlaps"]["below_tolerance_count"], 0);
    assert_eq!(plr["gaps"]["count"], 0);
    assert_eq!(plr["gaps"]["below_tolerance_count"], 0);
    // bezirke.geojson (WGS 84) has one hole of ~574 m² inside Pankow that no Bezirk covers.
    let bez = &level(&r, "bezirke")["coverage"]["gaps"];
    assert_eq!(bez["count"], 1);
    assert!((f(&bez["total_area_m2"]) - 574.0).abs() < 2.0, "{bez}");
    in_berlin(&bez["listed"][0]["location"]);
    let pts = &r["points"];
    assert_eq!(pts["outside"], 0);
    assert!(
        f(&pts["on_border"]) >= 1.0,
        "synthetic points near borders are counted: {pts}"
    );
    for fac in r["facilities"].as_array().expect("facilities") {
        assert_eq!(fac["outside"], 0, "{}", fac["layer"]);
    }
    assert_eq!(r["unreadable"].as_array().map(Vec::len), Some(0));
}

#[test]
fn lor_until_2020_overlap_and_gap_are_found_and_listed() {
    let cfg = fixture("lor_until_2020.toml");
    // Default tolerance: the slivers are counted but not listed.
    let (code, r) = check_json(&cfg, &[]);
    print_coverage("LOR bis 2020", &r);
    assert_eq!(code, 0, "{:?}", r["blocking"]);
    assert_eq!(r["counts"]["levels"][0]["areas"], 448);
    let plr = &level(&r, "planungsraeume")["coverage"];
    assert!(f(&plr["overlaps"]["below_tolerance_count"]) >= 1.0, "{plr}");
    assert!(f(&plr["gaps"]["below_tolerance_count"]) >= 1.0, "{plr}");
    // The old polygons were drawn differently: some 2021-based points fall outside them.
    assert!(f(&r["points"]["outside"]) > 0.0);
    assert!(r["points"]["outside_listed"][0]["key"].is_string());

    // Tolerance 0.01 m²: each overlap is listed as a pair with area and location.
    let (_, r) = check_json(&cfg, &["--min-area-m2", "0.01"]);
    let ov = &level(&r, "planungsraeume")["coverage"]["overlaps"];
    assert!(f(&ov["count"]) >= 1.0, "{ov}");
    let first = &ov["listed"][0];
    let pair = [
        first["a"].as_str().unwrap_or(""),
        first["b"].as_str().unwrap_or(""),
    ];
    assert_eq!(pair, ["04020208", "04061757"], "{first}");
    let a = f(&first["area_m2"]);
    assert!(a > 0.05 && a < 0.2, "overlap area {a} m² (GEOS: 0.0994 m²)");
    in_berlin(&first["location"]);
    let gaps = &level(&r, "planungsraeume")["coverage"]["gaps"];
    assert!(f(&gaps["count"]) >= 1.0, "{gaps}");
    in_berlin(&gaps["listed"][0]["location"]);
    assert_eq!(
        gaps["listed"][0]["neighbours"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn ortsteile_marzahn_self_intersection_blocks() {
    let (code, r) = check_json(&fixture("ortsteile.toml"), &[]);
    print_coverage("Ortsteile", &r);
    assert_eq!(code, 1);
    let ot = level(&r, "ortsteile");
    assert_eq!(ot["areas"], 96);
    let bad = ot["invalid_geometries"].as_array().expect("list");
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["id"], "1001");
    assert_eq!(bad[0]["name"], "Marzahn");
    assert_eq!(bad[0]["feature"], 71);
    let p = &bad[0]["problems"][0];
    assert_eq!(p["kind"], "self_intersection");
    // GEOS (shapely explain_validity) puts it at 13.54188071 52.5661006.
    assert!((f(&p["location"]["lon"]) - 13.541881).abs() < 1e-5, "{p}");
    assert!((f(&p["location"]["lat"]) - 52.566101).abs() < 1e-5, "{p}");
    assert!(f(&r["points"]["outside"]) >= 1.0);
}

#[test]
fn plz_duplicate_postcode_blocks_and_points_outside_are_listed() {
    let (code, r) = check_json(&fixture("plz.toml"), &[]);
    print_coverage("PLZ", &r);
    assert_eq!(code, 1);
    let plz = level(&r, "plz");
    let dup = plz["duplicate_ids"].as_array().expect("list");
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0]["id"], "14193");
    assert_eq!(dup[0]["features"], serde_json::json!([176, 186]));
    let ov = &plz["coverage"]["overlaps"];
    assert!(f(&ov["count"]) >= 20.0, "{ov}");
    assert!(f(&ov["listed"][0]["area_m2"]) > 50.0);
    in_berlin(&ov["listed"][0]["location"]);
    assert!(f(&plz["coverage"]["gaps"]["count"]) >= 50.0);
    let pts = &r["points"];
    let outside = f(&pts["outside"]);
    assert!(outside >= 1.0, "{pts}");
    assert_eq!(
        pts["outside_listed"].as_array().map(Vec::len),
        Some((outside as usize).min(10))
    );
    in_berlin(&pts["outside_listed"][0]["location"]);
}

const SQUARE: &str =
    r#"[[[390000,5820000],[390100,5820000],[390100,5820100],[390000,5820100],[390000,5820000]]]"#;
const BOW_TIE: &str =
    r#"[[[390100,5820000],[390200,5820100],[390200,5820000],[390100,5820100],[390100,5820000]]]"#;

fn write_bow_tie_project(dir: &Path) -> PathBuf {
    let geojson = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"urn:ogc:def:crs:EPSG::25833"}}}},
"features":[
{{"type":"Feature","properties":{{"id":"A1","name":"Quadrat"}},"geometry":{{"type":"Polygon","coordinates":{SQUARE}}}}},
{{"type":"Feature","properties":{{"id":"B2","name":"Fliege"}},"geometry":{{"type":"Polygon","coordinates":{BOW_TIE}}}}}
]}}"#
    );
    std::fs::write(dir.join("areas.geojson"), geojson).expect("write geojson");
    let toml = r#"
title = "Fliege"
working_crs = 25833
[[level]]
key = "gebiete"
title = "Gebiete"
source = "areas.geojson"
id_field = "id"
name_field = "name"
"#;
    let cfg = dir.join("fliege.toml");
    std::fs::write(&cfg, toml).expect("write config");
    cfg
}

#[test]
fn bow_tie_polygon_exits_1_naming_feature_and_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_bow_tie_project(dir.path());

    let r = check(&cfg, &[]);
    assert_eq!(r.code, 1, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("id B2 \"Fliege\" (feature 2)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("exterior ring crosses itself at x 390,150.00 y 5,820,050.00"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("[blocking] gebiete: 1 invalid geometry"),
        "{}",
        r.stdout
    );

    let (code, v) = check_json(&cfg, &[]);
    assert_eq!(code, 1);
    assert_eq!(v["verdict"], "blocking");
    let bad = &level(&v, "gebiete")["invalid_geometries"];
    assert_eq!(bad.as_array().map(Vec::len), Some(1));
    assert_eq!(bad[0]["id"], "B2");
    assert_eq!(bad[0]["feature"], 2);
    let loc = &bad[0]["problems"][0]["location"];
    assert_eq!((f(&loc["x"]), f(&loc["y"])), (390_150.0, 5_820_050.0));
    in_berlin(loc);
    // The loader's own geometry diagnostic is not listed a second time as an unreadable row.
    assert_eq!(
        v["unreadable"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["unreadable"]
    );
}

/// A config in `dir` whose one level reads `gibt_es_nicht.geojson`, a file that does not exist.
fn missing_source_config(dir: &Path) -> PathBuf {
    let cfg = dir.join("fehlt.toml");
    std::fs::write(
        &cfg,
        "title = \"Fehlt\"\nworking_crs = 25833\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nsource = \"gibt_es_nicht.geojson\"\nid_field = \"id\"\n",
    )
    .expect("write config");
    cfg
}

#[test]
fn missing_source_file_is_fatal_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = missing_source_config(dir.path());
    let r = check(&cfg, &[]);
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(r.stderr.contains("gibt_es_nicht.geojson"), "{}", r.stderr);
    let (code, v) = check_json(&cfg, &[]);
    assert_eq!(code, 2);
    assert_eq!(v["verdict"], "fatal");
    assert!(
        v["error"]
            .as_str()
            .is_some_and(|e| e.contains("gibt_es_nicht.geojson"))
    );
}

fn run(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
        .current_dir(repo())
        .env("KLEINRAUM_SHARED_DATA", shared_data())
        .args(args)
        .output()
        .expect("kleinraum runs");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The Berlin Bezirke with a table: `extra_rows` appended to the valid rows.
fn bezirke_with_table(dir: &Path, extra_rows: &str) -> PathBuf {
    let geo = shared_data().join("berlin-lor-2021/bezirke.geojson");
    let mut t = String::from("bez;jahr;ew\n");
    for id in [
        "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
    ] {
        t.push_str(&format!("{id};2024;1 000\n"));
    }
    t.push_str(extra_rows);
    std::fs::write(dir.join("t.csv"), t).unwrap();
    let cfg = dir.join("b.toml");
    std::fs::write(
        &cfg,
        format!(
            "working_crs = 25833\n[[level]]\nkey = \"bezirke\"\ntitle = \"Bezirke\"\nsource = {:?}\nid_field = \"id\"\nname_field = \"name\"\n\
             [[table]]\nname = \"t\"\nlevel = \"bezirke\"\nsource = \"t.csv\"\nid_field = \"bez\"\nyear_field = \"jahr\"\ncounts = [\"ew\"]\n",
            geo.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn check_and_aggregate_agree_on_what_blocks_and_name_the_same_lines() {
    let dir = tempfile::tempdir().unwrap();
    // A key that matches no area (line 14): listed by both, blocking neither.
    let cfg = bezirke_with_table(dir.path(), "99;2024;5\n");
    let c = check(&cfg, &[]);
    assert_eq!(c.code, 0, "{}", c.stdout);
    assert!(c.stdout.contains("\"99\" (line 14)"), "{}", c.stdout);
    let out = dir.path().join("o.csv");
    let a = run(&[
        "aggregate",
        &cfg.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert!(a.stderr.contains("\"99\" (line 14)"), "{}", a.stderr);
    // Four rows for areas and years that already have one: blocking in both, the summary's
    // count equals the listing, every message names the file's line.
    let cfg = bezirke_with_table(dir.path(), "01;2024;7\n02;2024;7\n03;2024;7\n04;2024;7\n");
    let c = check(&cfg, &[]);
    assert_eq!(c.code, 1, "{}", c.stdout);
    assert!(c.stdout.contains("duplicate rows: 4"), "{}", c.stdout);
    for line in 14..=17 {
        assert!(
            c.stdout.contains(&format!("line {line}: field \"bez\"")),
            "line {line}: {}",
            c.stdout
        );
    }
    assert!(c.stdout.contains("(first at line 2)"), "{}", c.stdout);
    let a = run(&[
        "aggregate",
        &cfg.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    assert_ne!(a.code, 0);
    assert!(
        a.stderr.contains("4 rows could not be read") && a.stderr.contains("line 14"),
        "{}",
        a.stderr
    );
}

#[test]
fn serve_without_a_store_setting_says_where_it_keeps_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = bezirke_with_table(dir.path(), "");
    let cfg_s = cfg.display().to_string();
    let s = crate::common::Server::start(&cfg_s, &[], std::time::Duration::from_secs(120));
    let want = dir.path().join("b.gpkg");
    let log = s.log.lock().unwrap().join("\n");
    assert!(
        log.contains(&format!("Gebietsstände-Speicher: {}", want.display()))
            && log.contains("kein [store] path"),
        "{log}"
    );
    assert!(want.exists());
}

/// The demo config as `dir/name`, its data paths absolute, its address points declared in EPSG
/// `points_crs` instead of their own 25832 if given.
fn demo_config(dir: &Path, name: &str, points_crs: Option<u32>) -> PathBuf {
    let demo = repo().join("data");
    let mut cfg = std::fs::read_to_string(demo.join("demo.toml"))
        .expect("demo config")
        .replace("\"demo/", &format!("\"{}/demo/", demo.display()));
    if let Some(crs) = points_crs {
        let line = "crs = 25832                              # CRS of x/y";
        assert!(cfg.contains(line), "the demo config changed");
        cfg = cfg.replace(line, &format!("crs = {crs} # CRS of x/y"));
    }
    let path = dir.join(name);
    std::fs::write(&path, cfg).expect("write config");
    path
}

/// Address points declared in the wrong CRS (degrees instead of UTM metres): one clear error
/// naming the file and a coordinate, and not one PROJ log line per point before it (there
/// were 40,000 "utm: Invalid latitude" lines on the demo town, 401,033 on Berlin).
#[test]
fn points_in_a_wrong_crs_give_one_error_and_no_proj_log_per_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_config(dir.path(), "falsches_crs.toml", Some(4326));
    let out = dir.path().join("out.csv");
    let r = run(&[
        "aggregate",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0, "stdout: {}", r.stdout);
    assert!(
        r.stderr.contains("adressen.csv") && r.stderr.contains("cannot be transformed"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("Invalid latitude"),
        "PROJ's log reached stderr"
    );
    // (a backtrace under RUST_BACKTRACE adds a few dozen lines; the bug added 40,000)
    assert!(r.stderr.lines().count() < 1000, "{}", r.stderr);
    assert!(!out.exists());
}

/// PROJ is loaded when a transformation is first needed, not linked: data in the working CRS
/// are aggregated on a machine without it, and data that need it get an error saying what to
/// install instead of a loader failure before `main` (or a crash).
#[test]
fn proj_is_needed_only_by_data_that_need_reprojecting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let same = demo_config(dir.path(), "gleiches_crs.toml", None);
    let wrong = demo_config(dir.path(), "anderes_crs.toml", Some(4326));
    let run_without_proj = |config: &Path, out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_kleinraum"))
            .current_dir(repo())
            .env("KLEINRAUM_LIBPROJ", dir.path().join("kein-libproj.so"))
            .args(["aggregate", config.to_str().unwrap(), "--out"])
            .arg(out)
            .output()
            .expect("kleinraum runs");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let out = dir.path().join("ok.csv");
    let (code, stderr) = run_without_proj(&same, &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(out.exists());
    let out = dir.path().join("nicht.csv");
    let (code, stderr) = run_without_proj(&wrong, &out);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("PROJ is not installed") && stderr.contains("kein-libproj.so"),
        "{stderr}"
    );
    assert!(!out.exists());
}

/// An `--out` whose extension names no format is refused before anything is loaded (it was
/// refused after the whole run: a second on Berlin, minutes on a large city).
#[test]
fn an_unknown_output_format_is_refused_before_loading() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A config whose data do not exist: the output check must come first.
    let cfg = missing_source_config(dir.path());
    let out = dir.path().join("ergebnis.xlsx");
    let r = run(&[
        "aggregate",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("ergebnis.xlsx: unknown output format"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("gibt_es_nicht"), "{}", r.stderr);
}
