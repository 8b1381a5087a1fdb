//! Reprojection with PROJ.

use kleinraum_load::crs::Reprojector;

#[test]
fn gauss_krueger_to_utm33_uses_beta2007_grid_to_the_millimetre() {
    // Reference from the official BETA2007 transformation; without the grid PROJ falls back to
    // a Helmert transformation that is off by about a metre, without any error.
    let r = Reprojector::new(31468, 25833).unwrap();
    let (x, y) = r.transform(4_500_000.0, 5_700_000.0).unwrap();
    assert!((x - 291_380.339).abs() < 0.001, "x = {x:.4}");
    assert!((y - 5_702_436.147).abs() < 0.001, "y = {y:.4}");
}

#[test]
fn wgs84_lon_lat_to_utm33_and_back() {
    // Brandenburger Tor; reference value from cs2cs (PROJ 9.1).
    let fwd = Reprojector::new(4326, 25833).unwrap();
    let (x, y) = fwd.transform(13.377704, 52.516275).unwrap();
    assert!((x - 389_918.041_5).abs() < 0.003, "x = {x:.4}");
    assert!((y - 5_819_699.132_3).abs() < 0.003, "y = {y:.4}");
    let back = Reprojector::new(25833, 4326).unwrap();
    let (lon, lat) = back.transform(x, y).unwrap();
    // 1e-8 degrees is about a millimetre.
    assert!((lon - 13.377704).abs() < 1e-8 && (lat - 52.516275).abs() < 1e-8);
}

#[test]
fn batch_transform_matches_single_and_identity_is_free() {
    let r = Reprojector::new(4326, 25833).unwrap();
    let mut xs = vec![13.0, 13.4, 13.7];
    let mut ys = vec![52.4, 52.5, 52.6];
    let single: Vec<(f64, f64)> = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| r.transform(*x, *y).unwrap())
        .collect();
    r.transform_xy(&mut xs, &mut ys).unwrap();
    for (i, (sx, sy)) in single.iter().enumerate() {
        assert!((xs[i] - sx).abs() < 1e-6 && (ys[i] - sy).abs() < 1e-6);
    }
    let id = Reprojector::new(25833, 25833).unwrap();
    assert!(id.is_identity());
    assert_eq!(id.transform(1.5, 2.5).unwrap(), (1.5, 2.5));
}

#[test]
fn batch_of_400k_points_is_fast() {
    let r = Reprojector::new(4326, 25833).unwrap();
    let mut pts: Vec<(f64, f64)> = (0..400_000)
        .map(|i| {
            (
                13.1 + (i % 1000) as f64 * 0.0006,
                52.35 + (i / 1000) as f64 * 0.0008,
            )
        })
        .collect();
    let t = std::time::Instant::now();
    r.transform_coords(&mut pts).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!("400k points EPSG:4326 -> 25833: {secs:.3} s");
    assert!(
        pts.iter()
            .all(|(x, y)| (360_000.0..420_000.0).contains(x)
                && (5_790_000.0..5_850_000.0).contains(y))
    );
}

#[test]
fn unknown_epsg_code_is_an_error_not_a_panic() {
    let e = Reprojector::new(999_999, 25833).unwrap_err();
    assert!(e.contains("EPSG:999999"), "{e}");
}

#[test]
fn a_coordinate_proj_rejects_deep_in_a_large_batch_is_named() {
    // PROJ is called a batch of 16,384 coordinates at a time: the culprit sits in the third
    // batch, and the message must name it, not a neighbour or a transformed value.
    let r = Reprojector::new(4326, 25833).unwrap();
    let n = 40_000;
    let mut pts: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            (
                13.1 + (i % 200) as f64 * 0.003,
                52.35 + (i / 200) as f64 * 0.001,
            )
        })
        .collect();
    let good = pts.clone();
    pts[33_000] = (13.25, 123.5);
    let e = r.transform_coords(&mut pts).unwrap_err();
    assert!(e.contains("(13.25, 123.5)"), "{e}");
    // Without the bad point every batch is transformed, each point as on its own.
    let mut all = good.clone();
    r.transform_coords(&mut all).unwrap();
    for i in [0, 16_383, 16_384, 32_767, 32_768, n - 1] {
        let one = r.transform(good[i].0, good[i].1).unwrap();
        assert_eq!(all[i], one, "point {i}");
    }
}

#[test]
fn a_wkt_is_identified_as_its_epsg_code_by_proj() {
    // An ESRI .prj of ETRS89 / UTM 33N without an authority code: only PROJ's database knows.
    let wkt = r#"PROJCS["ETRS_1989_UTM_Zone_33N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",15.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;
    assert_eq!(kleinraum_load::proj::identify_epsg(wkt), Some(25833));
    assert_eq!(kleinraum_load::proj::identify_epsg("PROJCS[nonsense"), None);
}
