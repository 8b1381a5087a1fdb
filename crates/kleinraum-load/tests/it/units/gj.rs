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

/// The reader's own JSON scanner is at least as strict as serde_json: a small document, changed
/// at random (a byte replaced, dropped or doubled, thousands of times), is rejected whenever
/// serde_json rejects it, never panics, and when accepted reads the geometry serde_json sees.
#[test]
fn mutated_documents_are_rejected_whenever_serde_json_rejects_them() {
    let base = br#"{"type": "FeatureCollection", "name": "t\u00e4st \"x\"",
 "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25833"}},
 "features": [
 {"type": "Feature", "id": 1, "properties": {"id": "0101", "n": -1.5e3, "l": [1, {"a": null}], "t": true},
  "geometry": {"type": "Polygon", "note": "a \"[x]\" {y} \\", "coordinates": [[[0, 0], [10.25, 0], [10.25, 10], [0, 10e0], [0, 0]]]}},
 {"type": "Feature", "properties": null, "bbox": [0, 0, 1, 1],
  "geometry": {"type": "MultiPolygon", "coordinates": [[[[1, 1, 7], [2, 1], [2, 2], [1, 1]]]]}},
 {"type": "Feature", "properties": {}, "geometry": null}
 ]}"#;
    let ok = parse(Path::new("t.geojson"), base).unwrap();
    assert_eq!(ok.features.len(), 3);
    assert_eq!(ok.epsg, Some(25833));
    let mut rng = crate::common::Rng(0x1234_5678_9ABC_DEF1);
    let mut rnd = move |n: usize| rng.below(n);
    let alphabet = br#"{}[]",:\ 0123456789.-+eEtrufalsn"#;
    let (mut rejected, mut accepted) = (0, 0);
    for _ in 0..20_000 {
        let mut doc = base.to_vec();
        for _ in 0..1 + rnd(2) {
            let at = rnd(doc.len());
            match rnd(3) {
                0 => doc[at] = alphabet[rnd(alphabet.len())],
                1 => {
                    doc.remove(at);
                }
                _ => doc.insert(at, doc[at]),
            }
        }
        let serde_ok = serde_json::from_slice::<serde_json::Value>(&doc).is_ok();
        let ours = parse(Path::new("t.geojson"), &doc);
        if !serde_ok {
            assert!(
                ours.is_err(),
                "accepted what is not JSON: {}",
                String::from_utf8_lossy(&doc)
            );
            rejected += 1;
        } else if let Ok(layer) = ours {
            // Where both read it, the coordinates are the ones serde_json reads (short
            // numbers: exact in both).
            let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
            let mut want = Vec::new();
            for f in v["features"].as_array().unwrap() {
                let mut stack = vec![&f["geometry"]["coordinates"]];
                while let Some(c) = stack.pop() {
                    let Some(a) = c.as_array() else { continue };
                    let pos =
                        |p: &serde_json::Value| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
                    if a.first().is_some_and(|x| x[0].is_number()) {
                        // A ring: geo closes an open one.
                        want.extend(a.iter().map(pos));
                        if a.first().map(pos) != a.last().map(pos) {
                            want.push(pos(&a[0]));
                        }
                    } else {
                        stack.extend(a.iter().rev());
                    }
                }
            }
            let got: Vec<(f64, f64)> = layer
                .features
                .iter()
                .filter_map(|f| f.geometry.as_ref())
                .flat_map(geo::CoordsIter::coords_iter)
                .map(|c| (c.x, c.y))
                .collect();
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&doc));
            accepted += 1;
        }
    }
    assert!(
        rejected > 5_000 && accepted > 1_000,
        "{rejected} rejected, {accepted} accepted"
    );
}

/// Numbers as GDAL writes them (up to 21 significant digits) and in every JSON form are read
/// as `str::parse` reads them: correctly rounded.
#[test]
fn coordinates_are_correctly_rounded() {
    let mut rng = crate::common::Rng(0x0DDB_1A5E_5BAD_5EED);
    let mut rnd = move || rng.next_u64();
    let mut texts: Vec<String> = vec![
        "390202.153999999980442".into(),
        "5806757.063".into(),
        "-0".into(),
        "0.1".into(),
        "1e22".into(),
        "1E-7".into(),
        "-2.5e+3".into(),
        "9007199254740993".into(),
        "123456789012345678901234567890".into(),
        "0.30000000000000004441".into(),
        "4.9e-324".into(),
        "1.7976931348623157e308".into(),
    ];
    for _ in 0..5_000 {
        let int = rnd() % 10_000_000;
        let frac = rnd() % 1_000_000_000_000_000;
        texts.push(format!("{int}.{frac:015}"));
        texts.push(format!("{}", f64::from_bits(rnd() >> 2)));
    }
    // Exact ties between two neighbouring doubles ((2a + 1) / 2^(k) with a of 53 bits, written
    // out in full with k decimals) and the numbers one unit in the last digit beside them.
    for k in 1..=12u32 {
        for _ in 0..200 {
            let a = (1u128 << 52) + u128::from(rnd() % (1u64 << 52));
            let tie = (2 * a + 1) * 5u128.pow(k);
            for n in [tie - 1, tie, tie + 1] {
                let digits = n.to_string();
                let (int, frac) = digits.split_at(digits.len() - k as usize);
                texts.push(format!("{int}.{frac}"));
            }
        }
    }
    for t in &texts {
        let g = parse_geometry(&format!(r#"{{"type":"Point","coordinates":[{t},{t}]}}"#))
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        let want: f64 = t.parse().unwrap();
        match g {
            Geometry::Point(p) => assert_eq!(
                (p.x().to_bits(), p.y().to_bits()),
                (want.to_bits(), want.to_bits()),
                "{t}"
            ),
            g => panic!("{g:?}"),
        }
    }
    for bad in [
        "1e400", "-1e309", "01", "1.", ".5", "+1", "1e", "0x10", "NaN",
    ] {
        let e = parse_geometry(&format!(r#"{{"type":"Point","coordinates":[{bad},0]}}"#));
        assert!(e.is_err(), "{bad} accepted: {e:?}");
    }
}

/// Truncated and deeply nested documents are errors, never a panic or a stack overflow.
#[test]
fn hostile_documents_are_errors() {
    let deep_geometry = format!(
        r#"{{"type":"FeatureCollection","features":[{{"geometry":{}{}}}]}}"#,
        r#"{"type":"GeometryCollection","geometries":["#.repeat(5000),
        "]}".repeat(5000)
    );
    let deep_coordinates = format!(
        r#"{{"type":"FeatureCollection","features":[{{"geometry":{{"type":"Point","coordinates":{}1{}}}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let deep_property = format!(
        r#"{{"type":"FeatureCollection","features":[{{"properties":{{"a":{}1{}}}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let docs: Vec<Vec<u8>> = vec![
        br#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","x":""#.to_vec(),
        br#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","x":"\"#.to_vec(),
        br#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Po"#.to_vec(),
        br#"{"type":"FeatureCollection","features":[{"geometry":[[[[["#.to_vec(),
        br#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1,2]}]}"#.to_vec(),
        br#"{"type":"FeatureCollection","features":[{"geometry":{"type":"Point","coordinates":[1,2]}}]}x"#.to_vec(),
        br#"{"type":"FeatureCollection","type":"FeatureCollection","features":[]}"#.to_vec(),
        b"".to_vec(),
        b"{".to_vec(),
        b"\xff".to_vec(),
        deep_geometry.into_bytes(),
        deep_coordinates.into_bytes(),
        deep_property.into_bytes(),
    ];
    for d in &docs {
        let r = parse(Path::new("t.geojson"), d);
        assert!(
            r.is_err(),
            "accepted {}",
            String::from_utf8_lossy(&d[..d.len().min(80)])
        );
    }
}
