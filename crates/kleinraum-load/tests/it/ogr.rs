//! GDAL/OGR reader: GeoPackage written by ogr2ogr from the real Berlin PLR 2021, layer choice,
//! password masking, and PostGIS when `KLEINRAUM_TEST_PG` names a database
//! (`export KLEINRAUM_TEST_PG="$(scripts/pg-test-db)"`).
#![cfg(feature = "gdal")]

use std::path::Path;

use geo::Geometry;
use kleinraum_load::LoadError;
use kleinraum_load::features::PropValue;
use kleinraum_load::ogr;

use crate::common::data;
use crate::shapefile::{assert_berlin_names, have_ogr2ogr, ogr2ogr};

const PLR_25833: &str = "berlin-lor-2021/plr_2021_epsg25833.geojson.gz";
const PLR_4326: &str = "berlin-lor-2021/plr_2021.geojson";
const BZR_25833: &str = "berlin-lor-2021/bzr_2021_epsg25833.geojson.gz";

/// Writes a GeoPackage with layers `plr_2021` (and `bzr_2021` if `two_layers`).
fn write_gpkg(dir: &Path, two_layers: bool) -> String {
    let out = dir.join("lor.gpkg");
    let out_s = out.to_str().unwrap().to_owned();
    let plr = format!("/vsigzip/{}", data(PLR_25833));
    ogr2ogr(&["-f", "GPKG", "-nln", "plr_2021", &out_s, &plr]);
    if two_layers {
        let bzr = format!("/vsigzip/{}", data(BZR_25833));
        ogr2ogr(&["-f", "GPKG", "-update", "-nln", "bzr_2021", &out_s, &bzr]);
    }
    out_s
}

#[test]
fn geopackage_reads_like_the_geojson() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gpkg = write_gpkg(dir.path(), false);

    // One layer: no `layer` needed.
    let layer = ogr::read(&gpkg, None).unwrap();
    assert_eq!(layer.epsg, Some(25833));
    assert_eq!(layer.source, gpkg);
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
    assert_eq!(f.props["GROESSE_M2"], PropValue::Float(2294021.723));
    match &f.geometry {
        // Metres in UTM 33N.
        Some(Geometry::Polygon(p)) => {
            let c = p.exterior().0[0];
            assert!(
                (390_000.0..420_000.0).contains(&c.x) && (5_800_000.0..5_840_000.0).contains(&c.y),
                "{c:?}"
            );
        }
        g => panic!("expected Polygon, got {g:?}"),
    }
}

#[test]
fn geopackage_in_wgs84_is_4326_with_lon_lat_order() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plr4326.gpkg");
    let out_s = out.to_str().unwrap();
    ogr2ogr(&["-f", "GPKG", out_s, &data(PLR_4326)]);
    let layer = ogr::read(out_s, None).unwrap();
    assert_eq!(layer.epsg, Some(4326));
    assert_eq!(layer.features.len(), 542);
    let Some(Geometry::Polygon(p)) = &layer.features[0].geometry else {
        panic!("expected a polygon");
    };
    // Karlshorst Süd, first vertex exactly as in the GeoJSON: x = lon, y = lat.
    assert_eq!(p.exterior().0[0].x, 13.5398484);
    assert_eq!(p.exterior().0[0].y, 52.4749785);
}

#[test]
fn several_layers_need_a_layer_name_and_errors_list_them() {
    if !have_ogr2ogr() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gpkg = write_gpkg(dir.path(), true);

    let err = ogr::read(&gpkg, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, LoadError::Gdal { .. }), "{msg}");
    assert!(
        msg.contains("2 layers") && msg.contains("plr_2021") && msg.contains("bzr_2021"),
        "{msg}"
    );
    assert!(msg.contains("lor.gpkg"), "{msg}");

    let msg = ogr::read(&gpkg, Some("plr_2020")).unwrap_err().to_string();
    assert!(
        msg.contains("\"plr_2020\" not found") && msg.contains("plr_2021, bzr_2021"),
        "{msg}"
    );

    let bzr = ogr::read(&gpkg, Some("bzr_2021")).unwrap();
    assert_eq!(bzr.features.len(), 143);
    assert_eq!(bzr.source, format!("{gpkg} (layer bzr_2021)"));
    let plr = ogr::read(&gpkg, Some("plr_2021")).unwrap();
    assert_berlin_names(&plr);
}

#[test]
fn missing_and_broken_sources_are_gdal_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.gpkg");
    let msg = ogr::read(missing.to_str().unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("nope.gpkg") && msg.contains("cannot open"),
        "{msg}"
    );

    let broken = crate::common::write(dir.path(), "broken.gpkg", b"SQLite format 3\0 truncated");
    let msg = ogr::read(broken.to_str().unwrap(), None)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("broken.gpkg"), "{msg}");
}

#[test]
fn password_never_appears_in_source_or_errors() {
    // Port 1 on the loopback interface: the connection is refused at once.
    let conn =
        "PG:host=127.0.0.1 port=1 dbname=nothing user=planer password=geheim-123 connect_timeout=2";
    let err = ogr::read(conn, Some("plr_2021")).unwrap_err();
    let msg = err.to_string();
    eprintln!("{msg}");
    assert!(!msg.contains("geheim-123"), "{msg}");
    assert!(
        msg.contains("password=***") && msg.contains("dbname=nothing"),
        "{msg}"
    );
    assert_eq!(
        ogr::mask_password(conn),
        "PG:host=127.0.0.1 port=1 dbname=nothing user=planer password=*** connect_timeout=2"
    );
}

/// PostGIS: loads the Berlin PLR into table `plr_2021` of the database `KLEINRAUM_TEST_PG`
/// names and reads it back. Unset: a skip note locally, a failure under CI.
#[test]
fn postgis_table_reads_like_the_geojson() {
    let Some(conn) = std::env::var("KLEINRAUM_TEST_PG")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KLEINRAUM_TEST_PG is not set; CI must run the PostGIS test \
             (export KLEINRAUM_TEST_PG=\"$(scripts/pg-test-db)\")"
        );
        eprintln!(
            "SKIP: PostGIS test not run; set KLEINRAUM_TEST_PG, e.g. \
             export KLEINRAUM_TEST_PG=\"$(scripts/pg-test-db)\""
        );
        return;
    };
    assert!(have_ogr2ogr(), "ogr2ogr is needed to load the test table");
    let plr = format!("/vsigzip/{}", data(PLR_25833));
    ogr2ogr(&[
        "-f",
        "PostgreSQL",
        &conn,
        &plr,
        "-nln",
        "plr_2021",
        "-overwrite",
        "-lco",
        "GEOMETRY_NAME=geom",
        // Keep the field names as in the source (PLR_ID, not plr_id), as the config names them.
        "-lco",
        "LAUNDER=NO",
    ]);

    let layer = ogr::read(&conn, Some("plr_2021")).unwrap();
    assert_eq!(layer.epsg, Some(25833));
    assert_berlin_names(&layer);
    assert!(
        layer.source.ends_with("(layer plr_2021)"),
        "{}",
        layer.source
    );
    let f = layer
        .features
        .iter()
        .find(|f| f.props["PLR_ID"] == PropValue::Text("01100103".into()))
        .unwrap();
    assert!(matches!(
        f.geometry,
        Some(Geometry::Polygon(_) | Geometry::MultiPolygon(_))
    ));
}
