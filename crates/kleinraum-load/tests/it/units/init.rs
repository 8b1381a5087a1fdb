use kleinraum_load::init::*;
use std::path::Path;

#[test]
fn standard_names_of_age_groups_and_totals() {
    assert_eq!(standard_name("unter 6 Jahre"), Some("age_below_6"));
    assert_eq!(standard_name("6 bis unter 15 Jahre"), Some("age_6_15"));
    assert_eq!(standard_name("unter 15 Jahre"), Some("age_under_15"));
    assert_eq!(standard_name("65 Jahre und mehr"), Some("age_above_65"));
    assert_eq!(standard_name("age_below_6"), Some("age_below_6"));
    assert_eq!(standard_name("Insgesamt"), Some("residents"));
    assert_eq!(standard_name("inhabitants"), Some("residents"));
    assert_eq!(standard_name("Ausländer/-innen"), Some("foreigners"));
    assert_eq!(standard_name("eLb"), None);
    assert_eq!(slug("Kinder u15 in BG"), "kinder_u15_in_bg");
    assert_eq!(slug("Gemeindeschlüssel"), "gemeindeschluessel");
    assert_eq!(key_of(Path::new("plr_2021_epsg25833.geojson.gz")), "plr");
    assert_eq!(
        key_of(Path::new("bevoelkerung_2014-2024.csv")),
        "bevoelkerung"
    );
}

#[test]
fn wide_templates() {
    assert_eq!(
        year_template("2013-12-31"),
        Some(("{year}-12-31".into(), 2013))
    );
    assert_eq!(
        year_template("eLb 12/2014"),
        Some(("eLb 12/{year}".into(), 2014))
    );
    assert_eq!(year_template("district"), None);
    assert_eq!(
        common_suffix(&["eLb 12/{year}", "Kinder 12/{year}"]),
        " 12/{year}"
    );
}
