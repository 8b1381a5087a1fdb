use geo::{Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use kleinraum_load::features::PropValue;
use kleinraum_load::gj::*;
use std::path::Path;

#[test]
fn crs_names_map_to_epsg_codes() {
    assert_eq!(epsg_from_name("urn:ogc:def:crs:OGC:1.3:CRS84"), Some(4326));
    assert_eq!(epsg_from_name("urn:ogc:def:crs:EPSG::25833"), Some(25833));
    assert_eq!(epsg_from_name("EPSG:25832"), Some(25832));
    assert_eq!(
        epsg_from_name("http://www.opengis.net/def/crs/EPSG/0/3035"),
        Some(3035)
    );
    assert_eq!(epsg_from_name("WGS84"), None);
}

#[test]
fn every_geometry_type_and_broken_coordinates() {
    let ok = |t: &str| parse_geometry(t).unwrap_or_else(|e| panic!("{t}: {e}"));
    let err = |t: &str| {
        parse_geometry(t)
            .err()
            .unwrap_or_else(|| panic!("{t} accepted"))
    };
    assert_eq!(
        ok(r#"{"coordinates":[1,2.5,9],"type":"Point"}"#),
        Geometry::Point(Point::new(1.0, 2.5))
    );
    assert_eq!(
        ok(r#"{"type":"MultiPoint","coordinates":[[1,2],[3,4]]}"#),
        Geometry::MultiPoint(MultiPoint(vec![Point::new(1.0, 2.0), Point::new(3.0, 4.0)]))
    );
    let ring = |d: f64| LineString::from(vec![(d, d), (d + 1.0, d), (d + 1.0, d + 1.0), (d, d)]);
    assert_eq!(
        ok(r#"{"type":"MultiLineString","coordinates":[[[0,0],[1,0]],[[5,5],[6,6],[7,7]]]}"#),
        Geometry::MultiLineString(MultiLineString(vec![
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0)]),
            LineString::from(vec![(5.0, 5.0), (6.0, 6.0), (7.0, 7.0)]),
        ]))
    );
    assert_eq!(
        ok(r#"{"type":"MultiPolygon","coordinates":[
            [[[0,0],[1,0],[1,1],[0,0]],[[2,2],[3,2],[3,3],[2,2]]],
            [[[5,5],[6,5],[6,6],[5,5]]]]}"#),
        Geometry::MultiPolygon(MultiPolygon(vec![
            Polygon::new(ring(0.0), vec![ring(2.0)]),
            Polygon::new(ring(5.0), vec![]),
        ]))
    );
    assert!(matches!(
        ok(r#"{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[0,0]}]}"#),
        Geometry::GeometryCollection(_)
    ));
    for (text, says) in [
        (r#"{"type":"Polygon"}"#, "without \"coordinates\""),
        (r#"{"type":"Polygon","coordinates":[]}"#, "without rings"),
        (
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}"#,
            "3 positions",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[0,0],[1,0],[1,1],[0,0]]}"#,
            "found positions 1 deep",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[],[0,0]]]}"#,
            "empty array",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[[1,1]],[0,0]]]}"#,
            "different depths",
        ),
        (r#"{"type":"Point","coordinates":[1]}"#, "two numbers"),
        (
            r#"{"type":"Point","coordinates":["1","2"]}"#,
            "a number or an array",
        ),
        (
            r#"{"type":"Point","coordinates":[[[[[1,2]]]]]}"#,
            "too deeply",
        ),
        (
            r#"{"type":"Curve","coordinates":[1,2]}"#,
            "unknown geometry type",
        ),
    ] {
        let e = err(text);
        assert!(e.contains(says), "{text}: {e}");
    }
}

#[test]
fn polygon_with_hole_and_props_in_order() {
    let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"z":"01","a":3,"b":2.5,"c":null,"d":[1,2]},
        "geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,10],[0,0]],
        [[2,2],[3,2],[3,3],[2,2]]]}}]}"#;
    let l = parse(Path::new("t.geojson"), text.as_bytes()).unwrap();
    assert_eq!(l.epsg, Some(4326));
    assert_eq!(l.fields, ["z", "a", "b", "c", "d"]);
    let f = &l.features[0];
    assert_eq!(f.props["z"], PropValue::Text("01".into()));
    assert_eq!(f.props["a"], PropValue::Int(3));
    assert_eq!(f.props["d"], PropValue::Text("[1,2]".into()));
    match &f.geometry {
        Some(Geometry::Polygon(p)) => assert_eq!(p.interiors().len(), 1),
        g => panic!("unexpected {g:?}"),
    }
}
