use kleinraum_load::crs::*;

#[test]
fn the_sure_rectangle_lies_well_within_the_margin() {
    for epsg in [25832, 25833] {
        let (_, b) = area_of_use(epsg).unwrap();
        let mut worst = 0.0f64;
        for i in 0..=300 {
            for j in 0..=1300 {
                let (x, y) = (
                    200_000.0 + 2000.0 * f64::from(i),
                    4_400_000.0 + 2000.0 * f64::from(j),
                );
                assert!(surely_in_area_of_use(x, y));
                let (lon, lat) = utm_to_lonlat(epsg, x, y).unwrap();
                worst = worst.max(outside_box(lon, lat, b).0);
            }
        }
        assert!(
            worst < AREA_OF_USE_MARGIN_KM - 20.0,
            "EPSG:{epsg}: {worst} km"
        );
    }
    assert!(!surely_in_area_of_use(199_999.0, 5_800_000.0));
    assert!(!surely_in_area_of_use(f64::NAN, 5_800_000.0));
}

#[test]
fn utm_inverse_matches_known_points() {
    // Brandenburger Tor in EPSG:25833 and the Kölner Dom in EPSG:25832.
    let (lon, lat) = utm_to_lonlat(25833, 389_947.0, 5_819_785.0).unwrap();
    assert!(
        (lon - 13.3777).abs() < 0.001 && (lat - 52.5163).abs() < 0.001,
        "{lon} {lat}"
    );
    let (lon, lat) = utm_to_lonlat(25832, 356_548.0, 5_645_272.0).unwrap();
    assert!(
        (lon - 6.958).abs() < 0.002 && (lat - 50.941).abs() < 0.002,
        "{lon} {lat}"
    );
}

#[test]
fn a_false_easting_of_2_500_000_lands_in_ukraine() {
    // Kölner Dom with 2,000,000 m added to its easting, read as plain EPSG:25832.
    let e = check_area_of_use(25832, &Crs::Epsg(25832), [(2_356_548.0, 5_645_272.0)]).unwrap_err();
    assert!(
        e.starts_with("lon ") && e.contains("km east of the area of use of EPSG:25832"),
        "{e}"
    );
    assert!(check_area_of_use(25832, &Crs::Epsg(25832), [(356_548.0, 5_645_272.0)]).is_ok());
    // Passau (13.46° E) in UTM 32N is fine.
    assert!(check_area_of_use(25832, &Crs::Epsg(25832), [(819_000.0, 5_393_000.0)]).is_ok());
}

#[test]
fn crs_specs_parse() {
    assert_eq!(Crs::parse("EPSG:25832"), Ok(Crs::Epsg(25832)));
    assert_eq!(Crs::parse(" 31467 "), Ok(Crs::Epsg(31467)));
    assert!(matches!(
        Crs::parse("+proj=utm +zone=32 +ellps=GRS80"),
        Ok(Crs::Definition(_))
    ));
    assert!(matches!(
        Crs::parse("PROJCS[\"x\",GEOGCS[\"y\"]]"),
        Ok(Crs::Definition(_))
    ));
    assert!(Crs::parse("UTM 32").is_err());
    assert!(Crs::parse("0").is_err());
}
