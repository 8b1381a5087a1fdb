//! What Kreise and small towns actually receive: a `.prj` that maps to no EPSG code, a wrong
//! `crs`, a ring touching itself (with and without `repair`), numbers with spaces between
//! thousands, `*` and `.` instead of numbers. Each test asserts the message and the numbers.

use crate::common::{data, write};
use kleinraum_load::config::{Crs, ProjectConfig};
use kleinraum_load::crs::Reprojector;
use kleinraum_load::error::LoadError;
use kleinraum_load::project::{load_all, load_all_strict};
use std::convert::TryInto;
use std::path::Path;

/// The Kölner Dom in ETRS89 / UTM 32N (EPSG:25832).
const DOM: (f64, f64) = (356_548.0, 5_645_272.0);

/// ETRS89 / UTM 32N with a false easting of 2,500,000 m: a city's own variant, no EPSG code.
const PRJ_FE_2500000: &str = r#"PROJCS["ETRS89_UTM32_Stadt",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",2500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

/// A square of `size` m around (x, y) as a one-feature Shapefile `name.shp` with `prj`.
fn square_shp(dir: &Path, name: &str, (x, y): (f64, f64), size: f64, prj: Option<&str>) -> String {
    let shp = dir.join(format!("{name}.shp"));
    let table = dbase::TableWriterBuilder::new().add_character_field("ID".try_into().unwrap(), 10);
    let mut w = shapefile::Writer::from_path(&shp, table).unwrap();
    let ring = vec![
        shapefile::Point::new(x, y),
        shapefile::Point::new(x, y + size),
        shapefile::Point::new(x + size, y + size),
        shapefile::Point::new(x + size, y),
        shapefile::Point::new(x, y),
    ];
    let poly = shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring));
    let mut rec = dbase::Record::default();
    rec.insert("ID".into(), dbase::FieldValue::Character(Some("01".into())));
    w.write_shape_and_record(&poly, &rec).unwrap();
    drop(w);
    if let Some(p) = prj {
        write(dir, &format!("{name}.prj"), p);
    }
    shp.to_string_lossy().into_owned()
}

fn config(dir: &Path, body: &str) -> ProjectConfig {
    config_in(dir, 25832, body)
}

fn config_in(dir: &Path, working: u32, body: &str) -> ProjectConfig {
    let p = write(dir, "k.toml", format!("working_crs = {working}\n{body}"));
    ProjectConfig::load(&p).unwrap()
}

fn level(source: &str, extra: &str) -> String {
    format!(
        "[[level]]\nkey = \"g\"\ntitle = \"G\"\nsource = {source:?}\nid_field = \"ID\"\n{extra}\n"
    )
}

#[test]
fn a_prj_without_epsg_code_is_used_as_the_wkt_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let shp = square_shp(
        dir.path(),
        "stadt",
        (DOM.0 + 2_000_000.0, DOM.1),
        100.0,
        Some(PRJ_FE_2500000),
    );
    let l = load_all_strict(&config(dir.path(), &level(&shp, ""))).unwrap();
    assert_eq!(l.report.crs[0].1, "WKT \"ETRS89_UTM32_Stadt\"");
    // The false easting is taken off: the square lies at the Dom again (to the millimetre).
    let g = l.dataset.levels[0].areas[0].geometry.as_ref().unwrap();
    let c = g.0[0].exterior().0[0];
    assert!(
        (c.x - DOM.0).abs() < 0.001 && (c.y - DOM.1).abs() < 0.001,
        "{c:?}"
    );
}

#[test]
fn crs_25832_over_that_prj_puts_the_city_2000_km_east_and_is_refused_with_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let shp = square_shp(
        dir.path(),
        "stadt",
        (DOM.0 + 2_000_000.0, DOM.1),
        100.0,
        Some(PRJ_FE_2500000),
    );
    // The old advice — set `crs = 25832` — now overrides the .prj; the area-of-use check stops
    // it instead of serving Cologne in Ukraine.
    let e = load_all(&config(dir.path(), &level(&shp, "crs = 25832"))).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, LoadError::Crs { .. }), "{m}");
    assert!(m.contains("stadt.shp"), "names the file: {m}");
    assert!(m.contains("read as EPSG:25832"), "names the CRS: {m}");
    assert!(
        m.contains("km east of the area of use of EPSG:25832 — wrong CRS?"),
        "{m}"
    );
    // Where it ended up: lon 34.1, lat 48.2, east of the zone's 12° E.
    let at = &m[m.find("lon ").unwrap()..];
    assert!(at.starts_with("lon 34.1, lat 48.2: "), "{m}");
    let km: f64 = at["lon 34.1, lat 48.2: ".len()..at.find(" km east").unwrap()]
        .replace(',', "")
        .parse()
        .unwrap();
    assert!((1_500.0..2_000.0).contains(&km), "{m}");
    // The same override as a WKT or PROJ string loads correctly.
    let proj = "+proj=tmerc +lon_0=9 +k=0.9996 +x_0=2500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";
    let l = load_all_strict(&config(
        dir.path(),
        &level(&shp, &format!("crs = {proj:?}")),
    ))
    .unwrap();
    let c = l.dataset.levels[0].areas[0].geometry.as_ref().unwrap().0[0]
        .exterior()
        .0[0];
    assert!((c.x - DOM.0).abs() < 0.001, "{c:?}");
}

#[test]
fn gauss_krueger_data_declared_as_25832_are_refused_and_load_with_their_own_crs() {
    let dir = tempfile::tempdir().unwrap();
    // The Dom in DHDN / Gauß-Krüger zone 2 (EPSG:31466), no .prj.
    let (x, y) = Reprojector::new(25832, 31466)
        .unwrap()
        .transform(DOM.0, DOM.1)
        .unwrap();
    assert!(x > 2_500_000.0, "{x}");
    let shp = square_shp(dir.path(), "gk", (x, y), 100.0, None);
    let e = load_all(&config(dir.path(), &level(&shp, "crs = 25832"))).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("gk.shp") && m.contains("wrong CRS?") && m.contains("km east"),
        "{m}"
    );
    let l = load_all_strict(&config(dir.path(), &level(&shp, "crs = \"EPSG:31466\""))).unwrap();
    let c = l.dataset.levels[0].areas[0].geometry.as_ref().unwrap().0[0]
        .exterior()
        .0[0];
    // BETA2007: back at the Dom to within a few centimetres.
    assert!(
        (c.x - DOM.0).abs() < 0.05 && (c.y - DOM.1).abs() < 0.05,
        "{c:?}"
    );
}

#[test]
fn a_configured_crs_that_is_not_one_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "k.toml",
        "working_crs = 25832\n[[level]]\nkey = \"g\"\ntitle = \"G\"\nsource = \"x.shp\"\nid_field = \"ID\"\ncrs = \"UTM 32\"\n",
    );
    let e = ProjectConfig::load(&p).unwrap_err().to_string();
    assert!(
        e.contains("k.toml") && e.contains("neither an EPSG code"),
        "{e}"
    );
    assert_eq!(Crs::parse("EPSG:3035"), Ok(Crs::Epsg(3035)));
}

/// A polygon whose ring touches itself in (5, 10): a shell with an "inverted hole", valid in
/// the ESRI model (cadastre exports have them), invalid in OGC.
fn pinched_geojson(dir: &Path) -> String {
    let (x, y) = (390_000.0, 5_820_000.0);
    let ring: Vec<String> = [
        (0.0, 0.0),
        (10.0, 0.0),
        (10.0, 10.0),
        (5.0, 10.0),
        (7.0, 5.0),
        (3.0, 5.0),
        (5.0, 10.0),
        (0.0, 10.0),
        (0.0, 0.0),
    ]
    .iter()
    .map(|(a, b)| format!("[{}, {}]", x + a * 10.0, y + b * 10.0))
    .collect();
    let gj = format!(
        r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:25833"}}}},"features":[{{"type":"Feature","properties":{{"ID":"01"}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}]}}"#,
        ring.join(",")
    );
    write(dir, "pinched.geojson", gj)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_self_touching_ring_blocks_and_says_repair_exists() {
    let dir = tempfile::tempdir().unwrap();
    let src = pinched_geojson(dir.path());
    let cfg = config_in(dir.path(), 25833, &level(&src, ""));
    let e = load_all_strict(&cfg).unwrap_err().to_string();
    assert!(e.contains("touches itself"), "{e}");
    assert!(
        e.contains("`repair = true`"),
        "the error says the option exists: {e}"
    );
    // `check` says it, too.
    let l = load_all(&cfg).unwrap();
    let r =
        kleinraum_load::check::run_checks_with(&cfg, &l.dataset, &l.report, &Default::default());
    assert_eq!(r.exit_code, 1);
    assert!(
        r.blocking[0].contains("`repair = true`"),
        "{:?}",
        r.blocking
    );
}

#[test]
fn repair_makes_it_valid_and_lists_what_changed() {
    kleinraum_load::backend::install_gdal();
    let dir = tempfile::tempdir().unwrap();
    let src = pinched_geojson(dir.path());
    let cfg = config_in(dir.path(), 25833, &level(&src, "repair = true"));
    let l = load_all_strict(&cfg).expect("repaired");
    let g = l.dataset.levels[0].areas[0].geometry.as_ref().unwrap();
    assert!(kleinraum_load::check::geometry_problems(g).is_empty());
    let r = &l.report.repairs[0];
    assert_eq!((r.id.as_str(), r.feature), ("01", 1));
    assert!(r.problems[0].contains("touches itself"), "{r:?}");
    // 100 × 100 m minus the 40 × 50 m / 2 triangle: the area stays, the pinch becomes a hole.
    assert!((r.area_before_m2 - 9_000.0).abs() < 1e-6, "{r:?}");
    assert!((r.area_after_m2 - 9_000.0).abs() < 1e-6, "{r:?}");
    assert_eq!((r.holes_before, r.holes_after), (0, 1));
    let notes = l.report.notes();
    assert!(
        notes[0].contains("repaired")
            && notes[0].contains("9,000.0 m²")
            && notes[0].contains("Löcher 0 → 1"),
        "{notes:?}"
    );
}

#[test]
fn repair_on_the_real_alkis_ortsteile_with_a_self_crossing_ring() {
    kleinraum_load::backend::install_gdal();
    // Ortsteil 1001 (Marzahn) in the ALKIS data crosses itself; with repair it is listed with
    // its area before and after, and every other Ortsteil is left as it is.
    let src = data("berlin-other-partitions/ortsteile_96.geojson");
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        25833,
        &format!(
            "[[level]]\nkey = \"ot\"\ntitle = \"Ortsteile\"\nsource = {src:?}\nid_field = \"OT_ID\"\nrepair = true\n"
        ),
    );
    let l = load_all_strict(&cfg).expect("repaired Ortsteile");
    assert_eq!(l.dataset.levels[0].areas.len(), 96);
    let ids: Vec<&str> = l.report.repairs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1001"]);
    let r = &l.report.repairs[0];
    let rel = (r.area_after_m2 - r.area_before_m2).abs() / r.area_before_m2;
    eprintln!("Ortsteil 1001: {}", r.describe());
    assert!(rel < 0.01, "{r:?}");
}

#[test]
fn spaces_between_thousands_and_the_markers_of_statistical_offices() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (390_000.0, 5_820_000.0);
    let feats: Vec<String> = (0..4)
        .map(|i| {
            let x0 = x + 1000.0 * i as f64;
            format!(
                r#"{{"type":"Feature","properties":{{"ID":"0{i}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y}],[{},{y}],[{},{}],[{x0},{}],[{x0},{y}]]]}}}}"#,
                x0 + 1000.0,
                x0 + 1000.0,
                y + 1000.0,
                y + 1000.0
            )
        })
        .collect();
    write(
        dir.path(),
        "g.geojson",
        format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:25833"}}}},"features":[{}]}}"#,
            feats.join(",")
        ),
    );
    // Padding, a space, a no-break space and a narrow no-break space between thousands; `*`
    // and `.` for values kept secret; `-` for nothing; a decimal comma in a rate.
    write(
        dir.path(),
        "t.csv",
        "ID;Jahr;ew;sgb2;quote\n00;2024; 1 675 ;*;3,5\n01;2024;12\u{a0}345;.;4,0\n02;2024;1\u{202f}000\u{202f}000;-;x\n03;2024;812;17;/\n",
    );
    let mut cfg = config_in(
        dir.path(),
        25833,
        "[[level]]\nkey = \"g\"\ntitle = \"G\"\nsource = \"g.geojson\"\nid_field = \"ID\"\n\
         [[table]]\nname = \"t\"\nlevel = \"g\"\nsource = \"t.csv\"\nid_field = \"ID\"\nyear_field = \"Jahr\"\ncounts = [\"ew\", \"sgb2\"]\n",
    );
    let l = load_all_strict(&cfg).expect("no unreadable cell");
    let t = &l.dataset.tables[0];
    let col = |n: &str| t.column(n).unwrap();
    assert_eq!(
        col("ew").values,
        [Some(1675.0), Some(12345.0), Some(1_000_000.0), Some(812.0)]
    );
    assert_eq!(col("sgb2").values, [None, None, None, Some(17.0)]);
    assert_eq!(
        col("sgb2").marks,
        [Some("*".into()), Some(".".into()), Some("-".into()), None]
    );
    assert_eq!(col("quote").values, [Some(3.5), Some(4.0), None, None]);
    let info = &l.report.tables[0];
    let markers: Vec<(&str, usize)> = info
        .markers
        .iter()
        .map(|(m, _, n)| (m.as_str(), *n))
        .collect();
    assert_eq!(markers, [("*", 1), ("-", 1), (".", 1), ("/", 1), ("x", 1)]);
    let notes = l.report.notes().join("\n");
    assert!(
        notes.contains("1 cell(s) marked \"*\" (gesperrt"),
        "{notes}"
    );
    assert!(notes.contains("marked \"-\" (nichts vorhanden)"), "{notes}");
    // A dot between thousands needs saying (1.675 is a decimal number otherwise): a count with
    // decimals is refused with the hint.
    write(
        dir.path(),
        "t.csv",
        "ID;Jahr;ew;sgb2;quote\n00;2024;1.675;3;1\n",
    );
    let e = load_all_strict(&cfg).unwrap_err().to_string();
    assert!(
        e.contains("line 2") && e.contains("\"ew\"") && e.contains("thousands = \".\""),
        "{e}"
    );
    cfg.tables[0].csv.thousands = Some(".".into());
    let l = load_all_strict(&cfg).unwrap();
    assert_eq!(
        l.dataset.tables[0].column("ew").unwrap().values,
        [Some(1675.0)]
    );
}

#[test]
fn one_file_per_year_is_one_table_and_an_area_year_in_two_files_is_named_with_both() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = (390_000.0, 5_820_000.0);
    write(
        dir.path(),
        "g.geojson",
        format!(
            r#"{{"type":"FeatureCollection","crs":{{"type":"name","properties":{{"name":"EPSG:25833"}}}},"features":[{{"type":"Feature","properties":{{"ID":"01"}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{},{y}],[{},{}],[{x},{y}]]]}}}}]}}"#,
            x + 100.0,
            x + 100.0,
            y + 100.0
        ),
    );
    write(dir.path(), "ew_2023.csv", "ID;ew\n01;100\n");
    write(dir.path(), "ew_2024.csv", "ID;ew\n01;110\n");
    let entry = |file: &str, year: i32| {
        format!(
            "[[table]]\nname = \"ew\"\nlevel = \"g\"\nsource = \"{file}\"\nid_field = \"ID\"\nyear = {year}\ncounts = [\"ew\"]\n"
        )
    };
    let body = format!(
        "[[level]]\nkey = \"g\"\ntitle = \"G\"\nsource = \"g.geojson\"\nid_field = \"ID\"\n{}{}",
        entry("ew_2023.csv", 2023),
        entry("ew_2024.csv", 2024)
    );
    let l = load_all_strict(&config_in(dir.path(), 25833, &body)).unwrap();
    assert_eq!(l.dataset.tables.len(), 1, "one table of two files");
    let t = &l.dataset.tables[0];
    assert_eq!(t.years, [2023, 2024]);
    assert_eq!(t.column("ew").unwrap().values, [Some(100.0), Some(110.0)]);
    // A third file for 2024 again: the row is reported with both files.
    write(dir.path(), "ew_2024b.csv", "ID;ew\n01;111\n");
    let body = format!("{body}{}", entry("ew_2024b.csv", 2024));
    let e = load_all_strict(&config_in(dir.path(), 25833, &body))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ew_2024b.csv: line 2") && e.contains("ew_2024.csv") && e.contains("01 in 2024"),
        "{e}"
    );
}
