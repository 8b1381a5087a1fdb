//! `kleinraum` does not load GDAL and hands what needs it to `kleinraum-gdal`: the hand-over
//! gives the same results as reading the same data without GDAL, and a missing helper is one
//! clear error before anything is written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{repo, shared_data};

const KLEINRAUM: &str = env!("CARGO_BIN_EXE_kleinraum");
const KLEINRAUM_GDAL: &str = env!("CARGO_BIN_EXE_kleinraum-gdal");

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.current_dir(repo())
        .env("KLEINRAUM_SHARED_DATA", shared_data())
        .env_remove("KLEINRAUM_GDAL")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the program runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The shared libraries a program loads, as the dynamic loader reports them.
fn loads_gdal(bin: &str) -> bool {
    let out = run(bin, &["--version"], &[("LD_DEBUG", "libs")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stderr).contains("libgdal.so")
}

#[test]
fn only_kleinraum_gdal_loads_gdal() {
    // The loader's own report: the check that finds GDAL in one program must miss it in the
    // other, so it cannot pass for a reason other than the link.
    assert!(loads_gdal(KLEINRAUM_GDAL), "kleinraum-gdal must load GDAL");
    assert!(!loads_gdal(KLEINRAUM), "kleinraum loads GDAL");
}

/// A config reading the Berlin Bezirke from `source` (GeoJSON in WGS 84, or a GeoPackage made
/// from it), with a table of residents, and `extra` appended to the level.
fn config(dir: &Path, name: &str, source: &Path, extra: &str) -> PathBuf {
    let mut t = String::from("bez;jahr;ew\n");
    for (i, id) in [
        "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12",
    ]
    .iter()
    .enumerate()
    {
        t.push_str(&format!("{id};2024;{}\n", 1_000 + 37 * i));
    }
    std::fs::write(dir.join("t.csv"), t).unwrap();
    let cfg = dir.join(name);
    std::fs::write(
        &cfg,
        format!(
            "working_crs = 25833\n[[level]]\nkey = \"bezirke\"\ntitle = \"Bezirke\"\nsource = {:?}\nid_field = \"id\"\n\
             name_field = \"name\"\n{extra}\n\
             [[table]]\nname = \"t\"\nlevel = \"bezirke\"\nsource = \"t.csv\"\nid_field = \"bez\"\n\
             year_field = \"jahr\"\ncounts = [\"ew\"]\n",
            source.display().to_string()
        ),
    )
    .unwrap();
    cfg
}

#[test]
fn kleinraum_hands_geopackage_sources_and_outputs_to_kleinraum_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let geojson = shared_data().join("berlin-lor-2021/bezirke.geojson");
    let gpkg = dir.path().join("bezirke.gpkg");
    let made = Command::new("ogr2ogr")
        .args(["-f", "GPKG"])
        .arg(&gpkg)
        .arg(&geojson)
        .output()
        .expect("ogr2ogr (gdal-bin) runs");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let from_geojson = config(dir.path(), "geojson.toml", &geojson, "");
    let from_gpkg = config(dir.path(), "gpkg.toml", &gpkg, "layer = \"bezirke\"");
    let aggregate = |cfg: &Path, out: &Path, env: &[(&str, &str)]| {
        run(
            KLEINRAUM,
            &[
                "aggregate",
                cfg.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            env,
        )
    };

    // Read without GDAL, and through the hand-over: the same table to the byte.
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let ra = aggregate(&from_geojson, &a, &[]);
    assert!(ra.status.success(), "{}", text(&ra.stderr));
    let rb = aggregate(&from_gpkg, &b, &[]);
    assert!(rb.status.success(), "{}", text(&rb.stderr));
    let (ta, tb) = (
        std::fs::read_to_string(&a).unwrap(),
        std::fs::read_to_string(&b).unwrap(),
    );
    assert!(ta.contains("Mitte") && ta.lines().count() > 12, "{ta}");
    assert_eq!(ta, tb);

    // A GeoPackage written through the hand-over.
    let g = dir.path().join("out.gpkg");
    let rg = aggregate(&from_geojson, &g, &[]);
    assert!(rg.status.success(), "{}", text(&rg.stderr));
    let head = std::fs::read(&g).unwrap();
    assert!(head.starts_with(b"SQLite format 3\0"), "not a GeoPackage");

    // `repair = true` needs GEOS through GDAL: handed over, too.
    let repaired = config(dir.path(), "repair.toml", &geojson, "repair = true");
    let c = dir.path().join("c.csv");
    let rc = aggregate(&repaired, &c, &[]);
    assert!(rc.status.success(), "{}", text(&rc.stderr));
    assert_eq!(std::fs::read_to_string(&c).unwrap(), ta);

    // Without the helper: one error naming the config and what is missing, nothing written.
    let missing = dir.path().join("nowhere/kleinraum-gdal");
    let d = dir.path().join("d.csv");
    for (cfg, out) in [
        (&from_gpkg, &d),
        (&from_geojson, &dir.path().join("d.gpkg")),
    ] {
        let r = aggregate(cfg, out, &[("KLEINRAUM_GDAL", missing.to_str().unwrap())]);
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "{err}");
        assert!(
            err.contains("kleinraum-gdal") && err.contains(&missing.display().to_string()),
            "{err}"
        );
        assert!(!out.exists());
    }
    let r = aggregate(
        &from_gpkg,
        &d,
        &[("KLEINRAUM_GDAL", missing.to_str().unwrap())],
    );
    assert!(
        text(&r.stderr).contains(&from_gpkg.display().to_string()),
        "{}",
        text(&r.stderr)
    );

    // A helper that is `kleinraum` itself would hand over again: refused, not a loop.
    let r = aggregate(&from_gpkg, &d, &[("KLEINRAUM_GDAL", KLEINRAUM)]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("has not loaded it"),
        "{}",
        text(&r.stderr)
    );
}

/// What needs no GDAL is not handed over: the run's process is `kleinraum` itself (a helper
/// that would be started is named wrongly here, and the run still succeeds).
#[test]
fn what_needs_no_gdal_stays_in_kleinraum() {
    let dir = tempfile::tempdir().unwrap();
    let geojson = shared_data().join("berlin-lor-2021/bezirke.geojson");
    let cfg = config(dir.path(), "geojson.toml", &geojson, "");
    let out = dir.path().join("o.geojson");
    let missing = dir.path().join("nowhere/kleinraum-gdal");
    let r = run(
        KLEINRAUM,
        &[
            "aggregate",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[("KLEINRAUM_GDAL", missing.to_str().unwrap())],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(std::fs::read_to_string(&out).unwrap().contains("Mitte"));
}

/// `init` on a folder with a GeoPackage reads it through the hand-over; on a folder without
/// one it stays in `kleinraum`.
#[test]
fn init_hands_a_folder_with_a_geopackage_over() {
    let dir = tempfile::tempdir().unwrap();
    let geojson = shared_data().join("berlin-lor-2021/bezirke.geojson");
    let made = Command::new("ogr2ogr")
        .args(["-f", "GPKG"])
        .arg(dir.path().join("bezirke.gpkg"))
        .arg(&geojson)
        .output()
        .expect("ogr2ogr (gdal-bin) runs");
    assert!(made.status.success(), "{}", text(&made.stderr));
    let missing = dir.path().join("nowhere/kleinraum-gdal");
    let init = |env: &[(&str, &str)]| {
        run(
            KLEINRAUM,
            &["init", dir.path().to_str().unwrap(), "--force"],
            env,
        )
    };
    let r = init(&[]);
    assert!(r.status.success(), "{}{}", text(&r.stdout), text(&r.stderr));
    let toml = std::fs::read_to_string(dir.path().join("kleinraum.toml")).unwrap();
    assert!(toml.contains("bezirke.gpkg"), "{toml}");
    assert!(
        !text(&r.stdout).contains("cannot be read"),
        "{}",
        text(&r.stdout)
    );
    let r = init(&[("KLEINRAUM_GDAL", missing.to_str().unwrap())]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("a GeoPackage in the folder"),
        "{}",
        text(&r.stderr)
    );

    // The same boundaries as GeoJSON: no hand-over (the missing helper is never asked for).
    let plain = tempfile::tempdir().unwrap();
    std::fs::copy(&geojson, plain.path().join("bezirke.geojson")).unwrap();
    let r = run(
        KLEINRAUM,
        &["init", plain.path().to_str().unwrap()],
        &[("KLEINRAUM_GDAL", missing.to_str().unwrap())],
    );
    assert!(r.status.success(), "{}{}", text(&r.stdout), text(&r.stderr));
}
