use geo::{Coord, Geometry};
use kleinraum_load::features::PropValue;
use kleinraum_load::shp::*;

fn ring(c: &[(f64, f64)]) -> Vec<Coord<f64>> {
    c.iter().map(|&(x, y)| Coord { x, y }).collect()
}

#[test]
fn clockwise_outer_with_ccw_hole_becomes_one_polygon_with_hole() {
    let outer = ring(&[(0., 0.), (0., 10.), (10., 10.), (10., 0.), (0., 0.)]);
    let hole = ring(&[(2., 2.), (4., 2.), (4., 4.), (2., 4.), (2., 2.)]);
    let far_outer = ring(&[(20., 0.), (20., 5.), (25., 5.), (25., 0.), (20., 0.)]);
    match assemble_polygons(vec![outer.clone(), far_outer, hole]) {
        Geometry::MultiPolygon(mp) => {
            assert_eq!(mp.0.len(), 2);
            assert_eq!(
                mp.0[0].interiors().len(),
                1,
                "hole goes to the ring containing it"
            );
            assert_eq!(mp.0[1].interiors().len(), 0);
        }
        g => panic!("expected MultiPolygon, got {g:?}"),
    }
    match assemble_polygons(vec![outer]) {
        Geometry::Polygon(p) => assert!(p.interiors().is_empty()),
        g => panic!("expected Polygon, got {g:?}"),
    }
}

#[test]
fn hole_goes_to_the_smallest_containing_outer_ring() {
    // An island inside a lake inside a big polygon: the island's lake hole must go to the
    // small ring, not the big one.
    let big = ring(&[(0., 0.), (0., 100.), (100., 100.), (100., 0.), (0., 0.)]);
    let big_hole = ring(&[(10., 10.), (90., 10.), (90., 90.), (10., 90.), (10., 10.)]);
    let island = ring(&[(20., 20.), (20., 80.), (80., 80.), (80., 20.), (20., 20.)]);
    let island_hole = ring(&[(40., 40.), (60., 40.), (60., 60.), (40., 60.), (40., 40.)]);
    match assemble_polygons(vec![big, big_hole, island, island_hole]) {
        Geometry::MultiPolygon(mp) => {
            assert_eq!(mp.0.len(), 2);
            for p in &mp.0 {
                assert_eq!(p.interiors().len(), 1);
            }
            assert_eq!(mp.0[1].interiors()[0].0[0], Coord { x: 40., y: 40. });
        }
        g => panic!("expected MultiPolygon, got {g:?}"),
    }
}

#[test]
fn code_page_labels() {
    for l in ["UTF-8", "utf8", "\u{feff}UTF-8\r\n"] {
        assert_eq!(encoding_for_label(l), Some(encoding_rs::UTF_8), "{l}");
    }
    for l in [
        "1252",
        "CP1252",
        "ANSI 1252",
        "windows-1252",
        "ISO-8859-1",
        "LATIN1",
        "88591",
    ] {
        assert_eq!(
            encoding_for_label(l),
            Some(encoding_rs::WINDOWS_1252),
            "{l}"
        );
    }
    assert_eq!(
        encoding_for_label("ISO-8859-15"),
        Some(encoding_rs::ISO_8859_15)
    );
    assert_eq!(encoding_for_label("KLINGON"), None);
}

#[test]
fn root_authority_ignores_nested_authorities() {
    let wkt = r#"PROJCS["ETRS89 / UTM zone 33N",GEOGCS["ETRS89",AUTHORITY["EPSG","4258"]],AUTHORITY["EPSG","25833"]]"#;
    assert_eq!(root_authority(wkt), Some(25833));
    let geog = r#"GEOGCS["ETRS89",DATUM["x",AUTHORITY["EPSG","6258"]]]"#;
    assert_eq!(root_authority(geog), None);
}

#[test]
fn name_fallback_knows_german_crs() {
    assert_eq!(
        epsg_from_name(r#"PROJCS["ETRS_1989_UTM_Zone_32N",x]"#),
        Some(25832)
    );
    assert_eq!(
        epsg_from_name(r#"PROJCS["DHDN_3_Degree_Gauss_Zone_2",x]"#),
        Some(31466)
    );
    assert_eq!(
        epsg_from_name(r#"PROJCS["DHDN / 3-degree Gauss-Kruger zone 5",x]"#),
        Some(31469)
    );
    assert_eq!(epsg_from_name(r#"GEOGCS["GCS_WGS_1984",x]"#), Some(4326));
    assert_eq!(epsg_from_name(r#"PROJCS["Lambert",x]"#), None);
}

#[test]
fn dbf_values_decode_by_type() {
    let f = |kind: u8, decimals: u8| DbfField {
        name_bytes: b"X".to_vec(),
        kind,
        offset: 1,
        len: 10,
        decimals,
    };
    let latin = TextEncoding::Other(encoding_rs::WINDOWS_1252);
    assert_eq!(
        decode_value(&f(b'C', 0), b"K\xf6penick  ", latin).unwrap(),
        PropValue::Text("Köpenick".into())
    );
    assert_eq!(
        decode_value(&f(b'C', 0), b"      ", latin).unwrap(),
        PropValue::Null
    );
    assert_eq!(
        decode_value(&f(b'N', 0), b"     00042", latin).unwrap(),
        PropValue::Int(42)
    );
    assert_eq!(
        decode_value(&f(b'N', 3), b"  2294.723", latin).unwrap(),
        PropValue::Float(2294.723)
    );
    assert_eq!(
        decode_value(&f(b'N', 0), b"          ", latin).unwrap(),
        PropValue::Null
    );
    assert!(
        decode_value(&f(b'N', 0), b"  zw\xf6lf  ", latin)
            .unwrap_err()
            .contains("not a number")
    );
    assert_eq!(
        decode_value(&f(b'D', 0), b"20210101", latin).unwrap(),
        PropValue::Text("2021-01-01".into())
    );
    assert_eq!(
        decode_value(&f(b'L', 0), b"T", latin).unwrap(),
        PropValue::Bool(true)
    );
    assert_eq!(
        decode_value(&f(b'L', 0), b"?", latin).unwrap(),
        PropValue::Null
    );
    let err = decode_value(&f(b'C', 0), b"K\xf6penick", TextEncoding::Utf8Declared).unwrap_err();
    assert!(err.contains("not valid UTF-8"), "{err}");
    // A character cut by the field width is dropped, not an error.
    assert_eq!(
        decode_value(&f(b'C', 0), b"Stra\xc3", TextEncoding::Utf8Declared).unwrap(),
        PropValue::Text("Stra".into())
    );
}
