use kleinraum_serve::query::*;

#[test]
fn datetime_forms() {
    assert_eq!(parse_datetime("2024").unwrap(), (2024, 2024));
    assert_eq!(
        parse_datetime("2024-12-31T00:00:00Z").unwrap(),
        (2024, 2024)
    );
    assert_eq!(parse_datetime("2021/2023").unwrap(), (2021, 2023));
    assert_eq!(parse_datetime("../2022").unwrap(), (i32::MIN, 2022));
    assert_eq!(parse_datetime("2022/..").unwrap(), (2022, i32::MAX));
    assert!(parse_datetime("abc").is_err());
    assert!(parse_datetime("2024-99-99").is_err());
    assert!(parse_datetime("2024-02-30").is_err());
    assert!(parse_datetime("2024-12-31T24:00:00Z").is_err());
    assert!(parse_datetime("20245").is_err());
    assert_eq!(parse_datetime("2024-02-29/..").unwrap(), (2024, i32::MAX));
    assert!(parse_datetime("2024/2020").is_err());
}

#[test]
fn accept_negotiation() {
    assert_eq!(
        negotiate(None, Some("text/html,application/xhtml+xml")).unwrap(),
        Format::Html
    );
    assert_eq!(
        negotiate(None, Some("application/geo+json, application/json")).unwrap(),
        Format::Json
    );
    assert_eq!(
        negotiate(Some("html"), Some("application/json")).unwrap(),
        Format::Html
    );
    assert!(negotiate(Some("xml"), None).is_err());
}
