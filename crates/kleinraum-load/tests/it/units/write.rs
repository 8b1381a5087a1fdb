use geo::{MultiPolygon, polygon};
use kleinraum_aggregate::model::{Area, CountColumn, Dataset, Level, PointLayer};
use kleinraum_aggregate::result::AggregateResult;
use kleinraum_load::write::*;
use std::collections::BTreeMap;

/// Two 1 km squares in UTM 33N near Berlin; area 01 has 2 children (suppressed), area 02
/// has 10 (so 02 is secondarily suppressed in the hierarchy).
fn result() -> AggregateResult {
    let sq = |x0: f64| -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x0, y: 5_820_000.0), (x: x0 + 1000.0, y: 5_820_000.0),
            (x: x0 + 1000.0, y: 5_821_000.0), (x: x0, y: 5_821_000.0), (x: x0, y: 5_820_000.0)],
        ])
    };
    let area = |id: &str, x0: f64| Area {
        id: id.into(),
        name: format!("Gebiet {id}"),
        parent: None,
        geometry: Some(sq(x0)),
        attributes: BTreeMap::new(),
    };
    let ds = Dataset {
        working_epsg: 25833,
        levels: vec![Level {
            key: "sr".into(),
            title: "SR".into(),
            areas: vec![area("01", 390_000.0), area("02", 391_000.0)],
        }],
        points: PointLayer {
            x: vec![390_500.0, 391_500.0],
            y: vec![5_820_500.0, 5_820_500.0],
            keys: ["a", "b"].into_iter().collect(),
            columns: vec![
                CountColumn {
                    name: "residents".into(),
                    year: 2021,
                    values: vec![40, 60],
                },
                CountColumn {
                    name: "kids".into(),
                    year: 2021,
                    values: vec![2, 10],
                },
            ],
            in_spatial_order: false,
        },
        facilities: vec![],
        tables: vec![],
    };
    let cfg: kleinraum_aggregate::AnalysisConfig = toml::from_str(
        r#"
        [[indicator]]
        id = "kids_share"
        title = "Kinder"
        kind = "share"
        numerator = "kids"
        denominator = "residents"
        decimals = 1
        "#,
    )
    .unwrap();
    kleinraum_aggregate::aggregate::run(&ds, &cfg).unwrap()
}

#[test]
fn csv_has_the_contract_columns_and_hides_suppressed_values() {
    let r = result();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.csv");
    write_csv(&r, &p, false).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "level,id,name,year,residents,kids,kids_share");
    assert_eq!(lines[1], "sr,01,Gebiet 01,2021,40,,");
    assert_eq!(
        lines[2], "sr,02,Gebiet 02,2021,60,,",
        "10 is secondarily suppressed"
    );
    assert_eq!(lines[3], "gesamt,gesamt,Gesamtstadt,2021,100,12,12.0");
    assert!(!text.contains(",2,") && !text.contains(",10,"));
}

#[test]
fn excel_csv_uses_semicolons_decimal_comma_bom_and_dots_for_suppressed() {
    let r = result();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.csv");
    write_csv(&r, &p, true).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.starts_with('\u{feff}'));
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[1], "sr;01;Gebiet 01;2021;40;·;·");
    assert_eq!(lines[3], "gesamt;gesamt;Gesamtstadt;2021;100;12;12,0");
}

#[test]
fn geojson_is_crs84_rounded_with_flags_and_no_suppressed_values() {
    let r = result();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.geojson");
    write_geojson(&r, &p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let fs = v["features"].as_array().unwrap();
    assert_eq!(fs.len(), 3);
    let p0 = &fs[0]["properties"];
    assert_eq!(p0["kids"], serde_json::Value::Null);
    assert_eq!(p0["kids_flag"], "suppressed");
    // Secondary suppression is published as `suppressed` too: one flag for every
    // withheld cell, so no one learns which cells hold the small counts.
    assert_eq!(fs[1]["properties"]["kids_flag"], "suppressed");
    assert_eq!(p0["residents"], 40);
    assert!(p0.get("residents_flag").is_none());
    let c = &fs[0]["geometry"]["coordinates"][0][0][0];
    let (lon, lat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
    assert!(
        (13.0..14.0).contains(&lon) && (52.0..53.0).contains(&lat),
        "{lon} {lat}"
    );
    assert_eq!((lon * 1e7).round() / 1e7, lon);
    assert!(
        fs[2]["geometry"].is_null(),
        "the whole city has no geometry"
    );
}

#[cfg(feature = "gdal")]
#[test]
fn gpkg_has_one_layer_per_level_with_null_for_suppressed() {
    use gdal::vector::LayerAccess;
    let r = result();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.gpkg");
    write_gpkg(&r, &p).unwrap();
    let ds = gdal::Dataset::open(&p).unwrap();
    assert_eq!(ds.layer_count(), 2);
    let mut l = ds.layer_by_name("sr").unwrap();
    assert_eq!(l.feature_count(), 2);
    let f = l.features().next().unwrap();
    let kids = f.field_index("kids").unwrap();
    let res = f.field_index("residents").unwrap();
    assert_eq!(f.field_as_integer64(kids).unwrap(), None);
    assert_eq!(f.field_as_integer64(res).unwrap(), Some(40));
    assert!(f.geometry().is_some());
}
