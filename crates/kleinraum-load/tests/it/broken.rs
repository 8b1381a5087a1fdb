//! Broken input: every error names the file and the row/feature and field; nothing panics.

use crate::common::write;
use kleinraum_load::LoadError;
use kleinraum_load::config::Crs;
use kleinraum_load::config::{CsvOptions, LevelSource, PointSource, ProjectConfig};
use kleinraum_load::features::read_layer;
use kleinraum_load::project::{load_level, load_points, load_project_strict};
use std::path::Path;

fn points(source: &Path, x: &str) -> PointSource {
    PointSource {
        source: source.to_string_lossy().into_owned(),
        layer: None,
        key: "id".into(),
        x: Some(x.into()),
        y: Some("y".into()),
        crs: Some(Crs::Epsg(25833)),
        csv: CsvOptions::default(),
        counts: vec!["ew".into()],
        year: Some(2024),
        join: Vec::new(),
    }
}

#[test]
fn truncated_geojson_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "cut.geojson",
        "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":\"Feature\",\"properties\":{\"id\":\"1\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,",
    );
    let e = read_layer(p.to_str().unwrap(), None, None).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, LoadError::Format { .. }), "{msg}");
    assert!(
        msg.contains("cut.geojson") && msg.contains("line 3") && msg.contains("column"),
        "{msg}"
    );
}

#[test]
fn broken_geometry_names_feature_number_and_geometry_field() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "bad.geojson",
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"id":"1"},"geometry":{"type":"Point","coordinates":[1,2]}},
        {"type":"Feature","properties":{"id":"2"},"geometry":{"type":"Polygon","coordinates":[[[1,2],["a",3]]]}}]}"#,
    );
    let e = read_layer(p.to_str().unwrap(), None, None).unwrap_err();
    match &e {
        LoadError::Feature { feature, field, .. } => {
            assert_eq!((feature.as_str(), field.as_str()), ("2", "geometry"));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("bad.geojson"), "{e}");
}

#[test]
fn letter_in_a_coordinate_is_a_diagnostic_with_row_field_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "pts.csv",
        "id,x,y,ew\n1,391893.4,5820878.5,3\n2,39l005.1,5820908.8,4\n3,391000,5820000,x\n",
    );
    let mut d = Vec::new();
    let layer = load_points(&points(&p, "x"), 25833, &mut d).unwrap();
    assert_eq!(layer.len(), 2, "the bad row is skipped, with a diagnostic");
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(
        (d[0].row, d[0].field.as_str(), d[0].value.as_str()),
        (3, "x", "39l005.1")
    );
    assert!(d[0].path.ends_with("pts.csv"));
    assert_eq!(
        (d[1].row, d[1].field.as_str(), d[1].value.as_str()),
        (4, "ew", "x")
    );
    assert_eq!(layer.columns[0].values, [3, 0]);
    let shown = d[0].to_string();
    assert!(
        shown.contains("pts.csv") && shown.contains("line 3") && shown.contains("\"x\""),
        "{shown}"
    );
}

#[test]
fn wrong_delimiter_hints_at_the_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "semi.csv", "id;x;y;ew\n1;1;2;3\n");
    let mut pts = points(&p, "x");
    pts.csv.delimiter = Some(",".into());
    let e = load_points(&pts, 25833, &mut Vec::new()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, LoadError::MissingField { .. }), "{msg}");
    assert!(
        msg.contains("semi.csv") && msg.contains("id;x;y;ew") && msg.contains("delimiter"),
        "{msg}"
    );
}

#[test]
fn unknown_column_lists_the_available_ones() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "pts.csv", "id,x,y,ew\n1,1,2,3\n");
    let e = load_points(&points(&p, "rechtswert"), 25833, &mut Vec::new()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("pts.csv") && msg.contains("\"rechtswert\"") && msg.contains("id, x, y, ew"),
        "{msg}"
    );
    assert!(!msg.contains("delimiter"), "{msg}");
}

#[test]
fn join_row_without_point_and_negative_count_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "pts.csv",
        "id,x,y,ew\n1,390001,5820002,3\n2,390001,5820002,3\n",
    );
    let j = write(dir.path(), "j.csv", "id,ew\n2,5\n9,1\n1,-4\n");
    let mut pts = points(&p, "x");
    pts.counts.clear();
    pts.year = None;
    pts.join.push(kleinraum_load::config::CountSource {
        source: j.to_string_lossy().into_owned(),
        key: "id".into(),
        year: 2023,
        counts: Vec::new(),
        csv: CsvOptions::default(),
    });
    let mut d = Vec::new();
    let layer = load_points(&pts, 25833, &mut d).unwrap();
    assert_eq!(layer.columns[0].name, "ew");
    assert_eq!(layer.columns[0].values, [0, 5]);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!((d[0].row, d[0].value.as_str()), (3, "9"));
    assert!(d[0].message.contains("matches no point"));
    assert_eq!(
        (d[1].row, d[1].field.as_str(), d[1].value.as_str()),
        (4, "ew", "-4")
    );
}

#[test]
fn unknown_config_key_is_named_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "k.toml",
        "working_crs = 25833\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nsource = \"a.geojson\"\nid_field = \"id\"\nid_feld = \"x\"\n",
    );
    let e = ProjectConfig::load(&p).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("k.toml") && msg.contains("id_feld") && msg.contains("line 7"),
        "{msg}"
    );
}

#[test]
fn source_without_crs_and_none_configured_is_an_error() {
    use std::convert::TryInto;
    let dir = tempfile::tempdir().unwrap();
    let shp = dir.path().join("noprj.shp");
    {
        let table =
            dbase::TableWriterBuilder::new().add_character_field("ID".try_into().unwrap(), 10);
        let mut w = shapefile::Writer::from_path(&shp, table).unwrap();
        // In Berlin (EPSG:25833), so the area-of-use check passes once the CRS is set.
        let (x, y) = (390_000.0, 5_820_000.0);
        let ring = vec![
            shapefile::Point::new(x, y),
            shapefile::Point::new(x, y + 10.0),
            shapefile::Point::new(x + 10.0, y + 10.0),
            shapefile::Point::new(x + 10.0, y),
            shapefile::Point::new(x, y),
        ];
        let poly = shapefile::Polygon::new(shapefile::PolygonRing::Outer(ring));
        let mut rec = dbase::Record::default();
        rec.insert("ID".into(), dbase::FieldValue::Character(Some("1".into())));
        w.write_shape_and_record(&poly, &rec).unwrap();
    }
    let mut src = LevelSource {
        key: "a".into(),
        title: "A".into(),
        source: Some(shp.to_string_lossy().into_owned()),
        layer: None,
        id_field: "ID".into(),
        name_field: None,
        parent_field: None,
        parent_prefix: None,
        crs: None,
        encoding: None,
        merge_duplicates: false,
        repair: false,
    };
    let e = load_level(&src, 25833, None, &mut Vec::new()).unwrap_err();
    assert!(matches!(e, LoadError::NoCrs { .. }), "{e}");
    assert!(
        e.to_string().contains("noprj.shp") && e.to_string().contains("crs ="),
        "{e}"
    );
    // With the CRS configured it loads.
    src.crs = Some(Crs::Epsg(25833));
    let l = load_level(&src, 25833, None, &mut Vec::new()).unwrap();
    assert_eq!(l.areas[0].id, "1");
}

#[test]
fn strict_load_fails_on_duplicate_area_ids() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:25833"}},"features":[
        {"type":"Feature","properties":{"id":"01"},"geometry":{"type":"Polygon","coordinates":[[[390000,5820000],[390001,5820000],[390001,5820001],[390000,5820000]]]}},
        {"type":"Feature","properties":{"id":"01"},"geometry":{"type":"Polygon","coordinates":[[[390002,5820000],[390003,5820000],[390003,5820001],[390002,5820000]]]}}]}"#,
    );
    let cfg = write(
        dir.path(),
        "p.toml",
        "working_crs = 25833\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nsource = \"a.geojson\"\nid_field = \"id\"\n",
    );
    let cfg = ProjectConfig::load(&cfg).unwrap();
    let e = load_project_strict(&cfg).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, LoadError::Rows { count: 1, .. }), "{msg}");
    assert!(
        msg.contains("a.geojson") && msg.contains("feature 2") && msg.contains("duplicate id"),
        "{msg}"
    );
}

#[test]
fn table_id_without_area_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.geojson",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:25833"}},"features":[
        {"type":"Feature","properties":{"id":"01"},"geometry":{"type":"Polygon","coordinates":[[[390000,5820000],[390001,5820000],[390001,5820001],[390000,5820000]]]}}]}"#,
    );
    write(dir.path(), "t.csv", "id,v\n01,1.5\n02,2\n");
    let cfg = write(
        dir.path(),
        "p.toml",
        "working_crs = 25833\n[[level]]\nkey = \"a\"\ntitle = \"A\"\nsource = \"a.geojson\"\nid_field = \"id\"\n\
         [[table]]\nname = \"t\"\nlevel = \"a\"\nsource = \"t.csv\"\nid_field = \"id\"\nyear = 2020\n",
    );
    let cfg = ProjectConfig::load(&cfg).unwrap();
    let l = kleinraum_load::project::load_all(&cfg).unwrap();
    assert_eq!(
        l.dataset.tables[0].column("v").unwrap().values,
        [Some(1.5), Some(2.0)]
    );
    // A key that matches no area is not an unreadable row (it does not block, in `check` as in
    // `aggregate`): it is listed with its line.
    assert!(
        l.report.diagnostics.is_empty(),
        "{:?}",
        l.report.diagnostics
    );
    assert_eq!(l.report.tables[0].unmatched, [("02".to_string(), 3)]);
    let notes = l.report.notes();
    assert!(
        notes[0].contains("\"02\" (line 3)") && notes[0].contains("match no area"),
        "{notes:?}"
    );
}
