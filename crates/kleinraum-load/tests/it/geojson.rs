//! GeoJSON reader on the real files.

use crate::common::{data, write};
use geo::Geometry;
use kleinraum_load::LoadError;
use kleinraum_load::features::{PropValue, read_layer};

#[test]
fn reads_plr_2021_in_crs84_and_gzipped_utm() {
    let wgs = read_layer(&data("berlin-lor-2021/plr_2021.geojson"), None, None).unwrap();
    assert_eq!(wgs.epsg, Some(4326));
    assert_eq!(wgs.features.len(), 542);
    assert_eq!(
        wgs.fields,
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
    let utm = read_layer(
        &data("berlin-lor-2021/plr_2021_epsg25833.geojson.gz"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(utm.epsg, Some(25833));
    assert_eq!(utm.features.len(), 542);
    let f = &utm.features[0];
    assert_eq!(f.props["PLR_ID"], PropValue::Text("11501341".into()));
    assert_eq!(
        f.props["PLR_NAME"],
        PropValue::Text("Karlshorst Süd".into())
    );
    match &f.geometry {
        Some(Geometry::Polygon(p)) => {
            let c = p.exterior().0[0];
            assert_eq!((c.x, c.y), (400826.929, 5814871.126));
        }
        g => panic!("expected a polygon, got {g:?}"),
    }
}

#[test]
fn reads_multipoint_facilities() {
    let l = read_layer(
        &data("berlin-social-infrastructure/apotheken_2023-07.geojson"),
        None,
        None,
    )
    .unwrap();
    assert_eq!(l.features.len(), 732);
    assert!(
        l.features
            .iter()
            .all(|f| matches!(&f.geometry, Some(Geometry::MultiPoint(mp)) if mp.0.len() == 1))
    );
}

#[test]
fn file_without_crs_member_is_wgs84_and_holes_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "holes.geojson",
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"id":7},"geometry":{"type":"MultiPolygon","coordinates":[
          [[[13.0,52.0],[13.1,52.0],[13.1,52.1],[13.0,52.1],[13.0,52.0]],
           [[13.02,52.02],[13.03,52.02],[13.03,52.03],[13.02,52.02]]],
          [[[13.2,52.0],[13.3,52.0],[13.3,52.1],[13.2,52.0]]]]}},
        {"type":"Feature","properties":{"id":8},"geometry":{"type":"Point","coordinates":[13.4,52.5,34.0]}},
        {"type":"Feature","properties":null,"geometry":null}]}"#,
    );
    let l = read_layer(p.to_str().unwrap(), None, None).unwrap();
    assert_eq!(l.epsg, Some(4326));
    assert_eq!(l.features.len(), 3);
    match &l.features[0].geometry {
        Some(Geometry::MultiPolygon(mp)) => {
            assert_eq!(mp.0.len(), 2);
            assert_eq!(mp.0[0].interiors().len(), 1);
        }
        g => panic!("{g:?}"),
    }
    assert_eq!(l.features[0].props["id"].as_text().as_deref(), Some("7"));
    assert!(matches!(l.features[1].geometry, Some(Geometry::Point(_))));
    assert!(l.features[2].geometry.is_none());
}

#[test]
fn plain_epsg_crs_name_is_understood() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.json",
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:25832"}},
        "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[500000,5700000]}}]}"#,
    );
    assert_eq!(
        read_layer(p.to_str().unwrap(), None, None).unwrap().epsg,
        Some(25832)
    );
}

#[test]
fn unsupported_extension_without_gdal_or_csv_gives_a_clear_error() {
    let e = read_layer("/tmp/nothing/points.csv", None, None).unwrap_err();
    assert!(matches!(e, LoadError::Format { .. }));
    assert!(
        e.to_string().contains("points.csv") && e.to_string().contains("`x`"),
        "{e}"
    );
}

/// Every GeoJSON file in the shared data, read by kleinraum's own reader and by GDAL's
/// (json-c and a correctly rounding `strtod`: an independent implementation): the same
/// features with the same geometries, bit for bit, and the same property names.
#[test]
fn every_shared_geojson_reads_as_gdal_reads_it() {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(crate::common::shared_data()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.to_string_lossy().into_owned();
            if name.ends_with(".geojson") || name.ends_with(".geojson.gz") {
                files.push(name);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 25, "{files:?}");
    let mut positions = 0usize;
    for f in &files {
        let ours = kleinraum_load::gj::read(std::path::Path::new(f)).unwrap();
        let gdal_source = if f.ends_with(".gz") {
            format!("/vsigzip/{f}")
        } else {
            f.clone()
        };
        let theirs = kleinraum_load::ogr::read(&gdal_source, None).unwrap();
        assert_eq!(ours.features.len(), theirs.features.len(), "{f}");
        let mut a = ours.fields.clone();
        let mut b = theirs.fields.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{f}");
        for (i, (o, t)) in ours.features.iter().zip(&theirs.features).enumerate() {
            // GDAL hands out single polygons of a layer of multipolygons as multipolygons.
            let norm = |g: &Option<Geometry>| match g {
                Some(Geometry::Polygon(p)) => {
                    Some(Geometry::MultiPolygon(geo::MultiPolygon(vec![p.clone()])))
                }
                other => other.clone(),
            };
            assert_eq!(
                norm(&o.geometry),
                norm(&t.geometry),
                "{f}: feature {}",
                i + 1
            );
            positions += o.geometry.as_ref().map_or(0, geo::CoordsIter::coords_count);
        }
    }
    assert!(positions > 500_000, "{positions} positions compared");
}
