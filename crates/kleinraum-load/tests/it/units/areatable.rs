use kleinraum_load::areatable::*;

#[test]
fn wide_headers_match_their_pattern() {
    let t = tokens("{year}-12-31");
    assert_eq!(match_header(&t, "2013-12-31"), Some((String::new(), 2013)));
    assert_eq!(match_header(&t, "district"), None);
    let t = tokens("{column} 12/{year}");
    assert_eq!(
        match_header(&t, "Kinder u15 12/2020"),
        Some(("Kinder u15".into(), 2020))
    );
    let t = tokens("{column}_{year}");
    assert_eq!(
        match_header(&t, "kinder_u15_2014"),
        Some(("kinder_u15".into(), 2014))
    );
}

#[test]
fn dates_years_and_stichtage() {
    assert_eq!(parse_date("31.12.2014"), Some((2014, 12, 31)));
    assert_eq!(parse_date("2021-06-30"), Some((2021, 6, 30)));
    assert_eq!(parse_date("31.12.14"), None);
    assert_eq!(parse_year("2019"), Some(2019));
    assert_eq!(parse_year("31.12.2019"), Some(2019));
    assert_eq!(parse_year("19"), None);
    assert_eq!(parse_stichtag("12-31"), Ok((12, 31)));
    assert_eq!(parse_stichtag("30.06."), Ok((6, 30)));
    assert!(parse_stichtag("Dezember").is_err());
}
