//! Shapefile reader on shapefiles that GDAL's `ogr2ogr` writes from the real Berlin PLR 2021
//! GeoJSON: code pages (with and without `.cpg`), `.prj` identification, missing and broken
//! files, ring grouping.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Area as _, Geometry};
use kleinraum_load::LoadError;
use kleinraum_load::config::LevelSource;
use kleinraum_load::features::{PropValue, RawLayer};
use kleinraum_load::shp;

use crate::common::data;

const PLR: &str = "berlin-lor-2021/plr_2021.geojson";

/// Whether `ogr2ogr` (Debian package gdal-bin) can be run. Without it the tests that need it
/// are skipped with a note, except under CI (env `CI` set), where that is a failure.
pub(crate) fn have_ogr2ogr() -> bool {
    let ok = Command::new("ogr2ogr")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "ogr2ogr not found; CI must have gdal-bin installed"
        );
        eprintln!("SKIP: ogr2ogr (gdal-bin) not installed; test not run");
    }
    ok
}

/// Runs ogr2ogr with `args`, panicking with its stderr on failure.
pub(crate) fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("run ogr2ogr");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// PLR_ID → PLR_NAME from the GeoJSON, the reference the converted files must reproduce.
pub(crate) fn reference_names() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(data(PLR)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["PLR_ID"].as_str().unwrap().to_owned(),
                p["PLR_NAME"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn text(v: Option<&PropValue>) -> String {
    match v {
        Some(PropValue::Text(s)) => s.clone(),
        other => panic!("expected text, got {other:?}"),
    }
}

/// PLR_ID → PLR_NAME as read, checking that ids are text.
pub(crate) fn names_of(layer: &RawLayer) -> BTreeMap<String, String> {
    layer
        .features
        .iter()
        .map(|f| (text(f.props.get("PLR_ID")), text(f.props.get("PLR_NAME"))))
        .collect()
}

/// The known names with umlauts and ß, and the whole set, as in the GeoJSON.
pub(crate) fn assert_berlin_names(layer: &RawLayer) {
    assert_eq!(layer.features.len(), 542);
    let names = names_of(layer);
    assert_eq!(names.len(), 542, "ids must be unique");
    assert_eq!(names["04300414"], "Schloßstraße");
    assert_eq!(names["06100102"], "Schloßstraße");
    assert_eq!(names["09401534"], "Altstadt Köpenick");
    assert_eq!(names["02300316"], "Köpenicker Straße");
    assert_eq!(names["01100103"], "Lützowstraße");
    assert_eq!(names, reference_names());
}

/// Writes the Berlin PLR as a shapefile `plr.shp` into `dir` with extra ogr2ogr arguments.
fn write_plr(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join("plr.shp");
    let src = data(PLR);
    let mut args = vec!["-f", "ESRI Shapefile"];
    args.extend_from_slice(extra);
    args.push(out.to_str().unwrap());
    args.push(&src);
    ogr2ogr(&args);
    out
}

#[test]
fn cp1252_shapefile_with_cpg_keeps_umlauts_and_leading_zeros() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(dir.path(), &["-lco", "ENCODING=CP1252"]);
    let raw = std::fs::read(shp_path.with_extension("dbf")).unwrap();
    assert!(
        raw.windows(6).any(|w| w == b"Schlo\xdf"),
        "the DBF must really be Windows-1252 (ß = 0xDF)"
    );
    assert_eq!(
        std::fs::read_to_string(shp_path.with_extension("cpg"))
            .unwrap()
            .trim(),
        "CP1252"
    );

    let layer = shp::read(&shp_path, None).unwrap();
    assert_eq!(layer.epsg, Some(4326));
    assert_eq!(layer.source, shp_path.display().to_string());
    assert_eq!(
        layer.fields,
        [
            "PLR_ID",
            "PLR_NAME",
            "BZR_ID",
            "PGR_ID",
            "BEZ",
            "STAND",
            "GROESSE_M2"
        ]
    );
    assert_berlin_names(&layer);

    let f = layer
        .features
        .iter()
        .find(|f| f.props["PLR_ID"] == PropValue::Text("11501341".into()))
        .unwrap();
    assert_eq!(f.props["BZR_ID"], PropValue::Text("115013".into()));
    assert_eq!(f.props["BEZ"], PropValue::Text("11".into()));
    assert_eq!(f.props["GROESSE_M2"], PropValue::Float(2294021.723));
    match &f.geometry {
        Some(Geometry::Polygon(p)) => {
            assert!(p.interiors().is_empty());
            assert!(
                p.exterior()
                    .0
                    .iter()
                    .any(|c| (c.x, c.y) == (13.5398484, 52.4749785)),
                "first GeoJSON vertex of Karlshorst Süd must be in the ring"
            );
        }
        g => panic!("expected a Polygon, got {g:?}"),
    }
}

#[test]
fn cp1252_shapefile_without_cpg_is_detected_as_windows_1252() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(dir.path(), &["-lco", "ENCODING=CP1252"]);
    std::fs::remove_file(shp_path.with_extension("cpg")).unwrap();

    assert_berlin_names(&shp::read(&shp_path, None).unwrap());
    // The configured encoding applies when there is no .cpg.
    assert_berlin_names(&shp::read(&shp_path, Some("windows-1252")).unwrap());
    assert_berlin_names(&shp::read(&shp_path, Some("LATIN1")).unwrap());
    // A wrong configured encoding is reported, naming the file, feature and field.
    let err = shp::read(&shp_path, Some("UTF-8")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::Feature { .. }), "{msg}");
    assert!(
        msg.contains("plr.dbf") && msg.contains("PLR_NAME") && msg.contains("UTF-8"),
        "{msg}"
    );
}

#[test]
fn gdal_default_latin1_shapefile_is_detected() {
    if !have_ogr2ogr() {
        return;
    }
    // Without ENCODING, GDAL writes ISO-8859-1 and no .cpg (only the DBF language byte).
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(dir.path(), &["-t_srs", "EPSG:25833"]);
    assert!(!shp_path.with_extension("cpg").exists());
    let layer = shp::read(&shp_path, None).unwrap();
    assert_eq!(layer.epsg, Some(25833));
    assert_berlin_names(&layer);
}

#[test]
fn utf8_shapefile_reads_the_same_names_with_and_without_cpg() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(
        dir.path(),
        &["-lco", "ENCODING=UTF-8", "-t_srs", "EPSG:25833"],
    );
    let raw = std::fs::read(shp_path.with_extension("dbf")).unwrap();
    assert!(
        raw.windows(6).any(|w| w == b"Schlo\xc3"),
        "the DBF must really be UTF-8 (ß = C3 9F)"
    );

    let layer = shp::read(&shp_path, None).unwrap();
    assert_eq!(layer.epsg, Some(25833));
    assert_berlin_names(&layer);
    // The .cpg wins over a configured encoding.
    assert_berlin_names(&shp::read(&shp_path, Some("windows-1252")).unwrap());

    std::fs::remove_file(shp_path.with_extension("cpg")).unwrap();
    assert_berlin_names(&shp::read(&shp_path, None).unwrap());
}

#[test]
fn prj_files_written_by_gdal_are_identified() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let src = data(PLR);
    for code in [25832u32, 25833, 31466, 31467, 31468, 31469, 4326] {
        let out = dir.path().join(format!("plr_{code}.shp"));
        let srs = format!("EPSG:{code}");
        ogr2ogr(&[
            "-f",
            "ESRI Shapefile",
            "-t_srs",
            &srs,
            "-where",
            "BEZ = '04'",
            out.to_str().unwrap(),
            &src,
        ]);
        let layer = shp::read(&out, None).unwrap();
        assert_eq!(layer.epsg, Some(code), "{}", out.display());
        assert_eq!(layer.features.len(), 53, "Bezirk 04 has 53 PLR");
    }
}

#[test]
fn gauss_krueger_zone_4_prj_is_31468() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(dir.path(), &["-t_srs", "EPSG:31468"]);
    let prj = std::fs::read_to_string(shp_path.with_extension("prj")).unwrap();
    // ESRI flavour without an EPSG authority: identification must work from the definition.
    assert!(
        prj.starts_with("PROJCS[\"DHDN_3_Degree_Gauss_Zone_4\""),
        "{prj}"
    );
    assert!(!prj.contains("AUTHORITY"), "{prj}");

    let layer = shp::read(&shp_path, None).unwrap();
    assert_eq!(layer.epsg, Some(31468));
    assert_berlin_names(&layer);
    // Berlin in GK zone 4: easting ≈ 4.58–4.61 million m (zone prefix 4), northing ≈ 5.8 million.
    let Some(Geometry::Polygon(p)) = &layer.features[0].geometry else {
        panic!("expected a polygon");
    };
    let c = p.exterior().0[0];
    assert!((4_560_000.0..4_620_000.0).contains(&c.x), "{c:?}");
    assert!((5_800_000.0..5_850_000.0).contains(&c.y), "{c:?}");
}

#[test]
fn shapefile_without_prj_has_no_crs_and_the_loader_asks_for_one() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shp_path = write_plr(dir.path(), &["-t_srs", "EPSG:25833"]);
    std::fs::remove_file(shp_path.with_extension("prj")).unwrap();

    let layer = shp::read(&shp_path, None).unwrap();
    assert_eq!(layer.epsg, None);
    assert_eq!(layer.features.len(), 542);

    let source = shp_path.to_str().unwrap().to_owned();
    let mut src = LevelSource {
        key: "planungsraeume".into(),
        title: "Planungsräume".into(),
        source: Some(source.clone()),
        layer: None,
        id_field: "PLR_ID".into(),
        name_field: Some("PLR_NAME".into()),
        parent_field: None,
        parent_prefix: None,
        crs: None,
        encoding: None,
        merge_duplicates: false,
        repair: false,
    };
    let mut diags = Vec::new();
    let err = kleinraum_load::project::load_level(&src, 25833, None, &mut diags).unwrap_err();
    assert!(matches!(err, LoadError::NoCrs { .. }), "{err}");
    assert!(err.to_string().contains(&source), "{err}");

    // With `crs` configured the same file loads.
    src.crs = Some(kleinraum_load::config::Crs::Epsg(25833));
    let level = kleinraum_load::project::load_level(&src, 25833, None, &mut diags).unwrap();
    assert_eq!(level.areas.len(), 542);
    let a = level.areas.iter().find(|a| a.id == "04300414").unwrap();
    assert_eq!(a.name, "Schloßstraße");
    assert!(diags.is_empty(), "{diags:?}");
}

/// A copy of the CP1252 Berlin shapefile in a fresh tempdir, for breaking it.
fn breakable() -> Option<(tempfile::TempDir, PathBuf)> {
    if !have_ogr2ogr() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = write_plr(dir.path(), &["-lco", "ENCODING=CP1252"]);
    Some((dir, p))
}

fn truncate(path: &Path, keep: f64) {
    let bytes = std::fs::read(path).unwrap();
    let n = (bytes.len() as f64 * keep) as usize;
    std::fs::write(path, &bytes[..n]).unwrap();
}

#[test]
fn truncated_shp_is_an_error_naming_the_file() {
    let Some((_dir, p)) = breakable() else { return };
    truncate(&p, 0.5);
    let err = shp::read(&p, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::Feature { .. }), "{msg}");
    assert!(
        msg.contains("plr.shp") && msg.contains("truncated") && msg.contains("geometry"),
        "{msg}"
    );

    // Cut inside the 100-byte header.
    truncate(&p, 0.0);
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(
        msg.contains("plr.shp") && msg.contains("not a shapefile"),
        "{msg}"
    );
}

#[test]
fn truncated_dbf_and_shx_are_errors_naming_the_file() {
    let Some((_dir, p)) = breakable() else { return };
    let dbf = p.with_extension("dbf");
    let good = std::fs::read(&dbf).unwrap();
    truncate(&dbf, 0.7);
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(
        msg.contains("plr.dbf") && msg.contains("truncated") && msg.contains("542"),
        "{msg}"
    );
    std::fs::write(&dbf, good).unwrap();

    let shx = p.with_extension("shx");
    truncate(&shx, 0.5);
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(msg.contains("plr.shx") || msg.contains("plr.dbf"), "{msg}");
    assert!(msg.contains("542") || msg.contains("truncated"), "{msg}");
}

#[test]
fn garbage_in_a_shape_record_is_an_error_not_a_panic() {
    let Some((_dir, p)) = breakable() else { return };
    let mut bytes = std::fs::read(&p).unwrap();
    // Overwrite the first record's part and point counts (after record header 8 + type 4 +
    // bbox 32) with huge values.
    bytes[100 + 8 + 36..100 + 8 + 44]
        .copy_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f]);
    std::fs::write(&p, bytes).unwrap();
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(
        msg.contains("plr.shp") && msg.contains("feature 1"),
        "{msg}"
    );
}

#[test]
fn missing_shx_or_dbf_is_an_error_naming_the_missing_file() {
    let Some((_dir, p)) = breakable() else { return };
    std::fs::remove_file(p.with_extension("dbf")).unwrap();
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(msg.contains("plr.dbf") && msg.contains("missing"), "{msg}");
    std::fs::remove_file(p.with_extension("shx")).unwrap();
    let msg = shp::read(&p, None).unwrap_err().to_string();
    assert!(msg.contains("plr.shx") && msg.contains("missing"), "{msg}");
    std::fs::remove_file(&p).unwrap();
    assert!(shp::read(&p, None).is_err());
}

#[test]
fn holes_multipolygons_points_and_multipoints_round_trip() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // GeoJSON rings are counter-clockwise outside; the shapefile writer reverses them, so the
    // reader's orientation rule is exercised.
    let polys = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"id":"01","n":1.5,"ok":true},"geometry":{"type":"Polygon","coordinates":[
        [[0,0],[100,0],[100,100],[0,100],[0,0]],
        [[10,10],[10,20],[20,20],[20,10],[10,10]],
        [[50,50],[50,70],[70,70],[70,50],[50,50]]]}},
      {"type":"Feature","properties":{"id":"02","n":2,"ok":false},"geometry":{"type":"MultiPolygon","coordinates":[
        [[[200,0],[300,0],[300,100],[200,100],[200,0]],[[210,10],[210,20],[220,20],[220,10],[210,10]]],
        [[[400,0],[410,0],[410,10],[400,10],[400,0]]]]}},
      {"type":"Feature","properties":{"id":"03","n":null,"ok":null},"geometry":null}
    ]}"#;
    let polys_json = crate::common::write(dir.path(), "polys.geojson", polys);
    let polys_shp = dir.path().join("polys.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-a_srs",
        "EPSG:25833",
        "-nlt",
        "MULTIPOLYGON",
        polys_shp.to_str().unwrap(),
        polys_json.to_str().unwrap(),
    ]);
    let layer = shp::read(&polys_shp, None).unwrap();
    assert_eq!(layer.epsg, Some(25833));
    assert_eq!(layer.features.len(), 3);
    let f = &layer.features;
    assert_eq!(f[0].props["id"], PropValue::Text("01".into()));
    assert_eq!(f[0].props["n"], PropValue::Float(1.5));
    // GDAL writes booleans as N(1,0), not as dBase logicals (those are unit-tested in shp.rs).
    assert_eq!(f[0].props["ok"], PropValue::Int(1));
    assert_eq!(f[1].props["ok"], PropValue::Int(0));
    match &f[0].geometry {
        Some(Geometry::Polygon(p)) => {
            assert_eq!(p.interiors().len(), 2);
            assert_eq!(p.unsigned_area(), 10_000.0 - 100.0 - 400.0);
        }
        g => panic!("expected Polygon with 2 holes, got {g:?}"),
    }
    match &f[1].geometry {
        Some(Geometry::MultiPolygon(mp)) => {
            assert_eq!(mp.0.len(), 2);
            let holes: Vec<usize> = mp.0.iter().map(|p| p.interiors().len()).collect();
            assert_eq!(holes, [1, 0]);
            assert_eq!(mp.unsigned_area(), 10_000.0 - 100.0 + 100.0);
        }
        g => panic!("expected MultiPolygon, got {g:?}"),
    }
    assert_eq!(f[2].geometry, None);
    assert_eq!(f[2].props["n"], PropValue::Null);
    assert_eq!(f[2].props["ok"], PropValue::Null);

    let pts = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"k":7},"geometry":{"type":"Point","coordinates":[391893.4,5820878.5]}},
      {"type":"Feature","properties":{"k":8},"geometry":{"type":"Point","coordinates":[1.25,-2.5]}}]}"#;
    let pts_json = crate::common::write(dir.path(), "pts.geojson", pts);
    let pts_shp = dir.path().join("pts.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        pts_shp.to_str().unwrap(),
        pts_json.to_str().unwrap(),
    ]);
    let layer = shp::read(&pts_shp, None).unwrap();
    assert_eq!(layer.epsg, Some(4326), "GeoJSON without crs is WGS 84");
    assert_eq!(layer.features[0].props["k"], PropValue::Int(7));
    assert_eq!(
        layer.features[0].geometry,
        Some(Geometry::Point(geo::Point::new(391893.4, 5820878.5)))
    );
    assert_eq!(
        layer.features[1].geometry,
        Some(Geometry::Point(geo::Point::new(1.25, -2.5)))
    );

    let mpts = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{},"geometry":{"type":"MultiPoint","coordinates":[[1,2],[3,4],[5,6]]}}]}"#;
    let mpts_json = crate::common::write(dir.path(), "mpts.geojson", mpts);
    let mpts_shp = dir.path().join("mpts.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        mpts_shp.to_str().unwrap(),
        mpts_json.to_str().unwrap(),
    ]);
    let layer = shp::read(&mpts_shp, None).unwrap();
    match &layer.features[0].geometry {
        Some(Geometry::MultiPoint(mp)) => {
            let xy: Vec<(f64, f64)> = mp.0.iter().map(|p| (p.x(), p.y())).collect();
            assert_eq!(xy, [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]);
        }
        g => panic!("expected MultiPoint, got {g:?}"),
    }
}
