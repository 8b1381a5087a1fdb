use kleinraum_aggregate::config::{IndexConfig, Polarity};
use kleinraum_aggregate::index::*;
use kleinraum_aggregate::result::{IndicatorValue, NullReason};

#[test]
fn status_classes_at_the_exact_thresholds() {
    let t = [-1.0, 1.0, 1.5];
    assert_eq!(status_class(-1.0000001, &t), 1);
    assert_eq!(status_class(-1.0, &t), 2);
    assert_eq!(status_class(1.0, &t), 2, "x = 1.0 is mittel");
    assert_eq!(status_class(1.0000001, &t), 3);
    assert_eq!(status_class(1.5, &t), 3, "x = 1.5 is niedrig");
    assert_eq!(status_class(1.5000001, &t), 4);
    let d = [-1.0, 1.0];
    assert_eq!(dynamics_class(-1.0, &d), 2);
    assert_eq!(dynamics_class(1.0, &d), 2);
    assert_eq!(dynamics_class(-1.01, &d), 1);
    assert_eq!(dynamics_class(1.01, &d), 3);
}

#[test]
fn groups_and_attention_patterns() {
    assert_eq!(group(1, Some(1)), "1+");
    assert_eq!(group(2, Some(2)), "2+/-");
    assert_eq!(group(3, Some(3)), "3-");
    let p: Vec<String> = ["3*", "4*", "2-"].iter().map(|s| s.to_string()).collect();
    assert!(matches_attention("3+", &p));
    assert!(matches_attention("4+/-", &p));
    assert!(matches_attention("2-", &p));
    assert!(!matches_attention("2+/-", &p));
    assert!(!matches_attention("1-", &p));
}

#[test]
fn zscores_use_the_population_sd() {
    let z = zscores(&[1.0, 2.0, 3.0]).unwrap();
    // population SD of 1,2,3 is sqrt(2/3)
    assert!((z[2] - 1.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
    assert!(zscores(&[5.0, 5.0]).is_none());
}

#[test]
fn one_valid_area_is_an_error_for_the_config_and_no_index_for_a_draft() {
    let mut cfg: IndexConfig = serde_json::from_value(serde_json::json!({
        "id": "i", "title": "I", "level": "l", "status": ["s"],
    }))
    .unwrap();
    let vals = [IndicatorValue::some(3.0), IndicatorValue::some(4.0)];
    let ind = [IndexIndicator {
        id: "s",
        polarity: Polarity::Neutral,
        values: &vals,
    }];
    let ids = ["a".to_string(), "b".to_string()];
    // "b" is below the minimum population: one valid area, no spread.
    let pop = [Some(1000.0), Some(10.0)];
    assert!(compute_index(&cfg, &ids, &pop, &ind, &[]).is_err());
    cfg.lenient = true;
    let out = compute_index(&cfg, &ids, &pop, &ind, &[]).unwrap();
    assert_eq!(out[0].reason, Some(NullReason::TooFewAreas));
    assert_eq!(out[0].status_value, None);
    assert_eq!(out[1].reason, Some(NullReason::BelowMinPopulation));
}
