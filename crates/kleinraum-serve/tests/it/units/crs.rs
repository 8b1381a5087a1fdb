use kleinraum_serve::crs::*;

#[test]
fn parses_uris_and_short_forms() {
    for c in OutputCrs::ALL {
        assert_eq!(OutputCrs::parse(c.uri()), Some(c));
    }
    assert_eq!(OutputCrs::parse("EPSG:25833"), Some(OutputCrs::Epsg25833));
    assert_eq!(OutputCrs::parse("[EPSG:4326]"), Some(OutputCrs::Epsg4326));
    assert_eq!(OutputCrs::parse("EPSG:3857"), None);
}
