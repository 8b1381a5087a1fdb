//! Area tables as time series without any address point: counts summed up the hierarchy and
//! to the whole municipality under disclosure control, missing cells, rates weighted by a
//! declared column or left without a value, changes over table years, operand names.

use geo::{MultiPolygon, polygon};
use kleinraum_aggregate::aggregate::{EngineError, run};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{Area, AreaTable, Dataset, Level, TableColumn};
use kleinraum_aggregate::result::{AggregateResult, CountFlag, NullReason};
use std::collections::BTreeMap;

fn square(i: usize) -> MultiPolygon<f64> {
    let x0 = 1000.0 * i as f64;
    MultiPolygon(vec![polygon![
        (x: x0, y: 0.0), (x: x0 + 1000.0, y: 0.0), (x: x0 + 1000.0, y: 1000.0), (x: x0, y: 1000.0), (x: x0, y: 0.0)
    ]])
}

/// Four Gemeinden in two Planregionen: G1, G2 → P1; G3, G4 → P2.
fn levels() -> Vec<Level> {
    let g = |i: usize, p: &str| Area {
        id: format!("G{}", i + 1),
        name: format!("Gemeinde {}", i + 1),
        parent: Some(p.into()),
        geometry: Some(square(i)),
        attributes: BTreeMap::new(),
    };
    let p = |id: &str| Area {
        id: id.into(),
        name: id.into(),
        parent: None,
        geometry: None,
        attributes: BTreeMap::new(),
    };
    vec![
        Level {
            key: "gemeinden".into(),
            title: "Gemeinden".into(),
            areas: vec![g(0, "P1"), g(1, "P1"), g(2, "P2"), g(3, "P2")],
        },
        Level {
            key: "planregionen".into(),
            title: "Planregionen".into(),
            areas: vec![p("P1"), p("P2")],
        },
    ]
}

fn col(name: &str, count: bool, weight: Option<&str>, values: &[Option<f64>]) -> TableColumn {
    TableColumn {
        name: name.into(),
        count,
        weight: weight.map(str::to_string),
        values: values.to_vec(),
        marks: values
            .iter()
            .map(|v| v.is_none().then(|| "*".to_string()))
            .collect(),
    }
}

/// Population (counts) for 2022–2024 and an SGB II table with a suppressed cell and a rate.
fn dataset() -> Dataset {
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let mut pop_ids = Vec::new();
    let mut pop_years = Vec::new();
    let mut residents = Vec::new();
    let mut kids = Vec::new();
    for (year, base) in [(2022, 0.0), (2023, 10.0), (2024, 20.0)] {
        for (g, (r, k)) in ["G1", "G2", "G3", "G4"].iter().zip([
            (800.0, 40.0),
            (40_000.0, 3_000.0),
            (1_500.0, 2.0),
            (12_000.0, 700.0),
        ]) {
            pop_ids.push(g.to_string());
            pop_years.push(year);
            residents.push(Some(r + base));
            kids.push(Some(k));
        }
    }
    let n = pop_ids.len();
    let pop = AreaTable {
        name: "bev".into(),
        level: "gemeinden".into(),
        ids: pop_ids,
        years: pop_years,
        columns: vec![
            col("residents", true, None, &residents),
            col("kids", true, None, &kids),
        ],
    };
    assert_eq!(pop.columns[0].values.len(), n);
    let sgb = AreaTable {
        name: "ba".into(),
        level: "gemeinden".into(),
        ids: ids(&["G1", "G2", "G3", "G4", "G9"]),
        years: vec![2024; 5],
        columns: vec![
            col(
                "sgb2",
                true,
                None,
                &[Some(30.0), Some(4_000.0), None, Some(900.0), Some(5.0)],
            ),
            col(
                "quote",
                false,
                Some("residents"),
                &[Some(3.75), Some(10.0), Some(4.0), Some(7.5), Some(1.0)],
            ),
            col(
                "quote_ohne",
                false,
                None,
                &[Some(3.75), Some(10.0), Some(4.0), Some(7.5), Some(1.0)],
            ),
        ],
    };
    Dataset {
        working_epsg: 25832,
        levels: levels(),
        points: Default::default(),
        facilities: vec![],
        tables: vec![pop, sgb],
    }
}

fn analysis() -> AnalysisConfig {
    serde_json::from_value(serde_json::json!({
        // Published values are rounded to their decimals: 9 here, so the tests check the formulas.
        "indicator": [
            {"id": "anteil_kinder", "title": "k", "kind": "share", "numerator": "kids", "denominator": "bev.residents", "decimals": 9},
            {"id": "d_kinder", "title": "dk", "kind": "change", "numerator": "anteil_kinder", "years": 2, "decimals": 9},
            {"id": "sgb2_anteil", "title": "s", "kind": "share", "numerator": "ba.sgb2", "denominator": "residents"},
            {"id": "quote", "title": "q", "kind": "value", "numerator": "ba.quote", "decimals": 9},
            {"id": "quote_ohne", "title": "q0", "kind": "value", "numerator": "ba.quote_ohne"}
        ],
        "disclosure": {"threshold": 3}
    }))
    .expect("analysis")
}

fn cell(
    r: &AggregateResult,
    level: &str,
    id: &str,
    year: i32,
    col: &str,
) -> (Option<u64>, CountFlag) {
    let l = r.level(level).expect("level");
    let a = l.areas.iter().find(|a| a.id == id).expect("area");
    let y = r.year_index(year).expect("year");
    let c = r
        .count_columns
        .iter()
        .position(|x| x == col)
        .expect("column");
    (a.years[y].counts[c].value, a.years[y].counts[c].flag)
}

fn ind(
    r: &AggregateResult,
    level: &str,
    id: &str,
    year: i32,
    ind: &str,
) -> (Option<f64>, Option<NullReason>) {
    let l = r.level(level).expect("level");
    let a = l.areas.iter().find(|a| a.id == id).expect("area");
    let y = r.year_index(year).expect("year");
    let i = r
        .indicators
        .iter()
        .position(|x| x.id == ind)
        .expect("indicator");
    (
        a.years[y].indicators[i].value,
        a.years[y].indicators[i].reason,
    )
}

#[test]
fn table_counts_are_summed_up_to_planregionen_and_the_kreis_for_every_year() {
    let r = run(&dataset(), &analysis()).expect("run");
    assert_eq!(r.years, vec![2022, 2023, 2024]);
    assert_eq!(r.count_columns, vec!["residents", "kids", "sgb2"]);
    for (year, base) in [(2022, 0), (2023, 10), (2024, 20)] {
        assert_eq!(
            cell(&r, "planregionen", "P1", year, "residents").0,
            Some(40_800 + 2 * base)
        );
        assert_eq!(
            cell(&r, "planregionen", "P2", year, "residents").0,
            Some(13_500 + 2 * base)
        );
        assert_eq!(
            cell(&r, "gesamt", "gesamt", year, "residents").0,
            Some(54_300 + 4 * base)
        );
    }
    // The share on a coarser level is a ratio of sums: (40 + 3000) / (800 + 40000).
    let (v, _) = ind(&r, "planregionen", "P1", 2024, "anteil_kinder");
    assert!((v.unwrap() - 3040.0 / 40_840.0 * 100.0).abs() < 1e-9);
    // The sgb2 table covers 2024 only.
    assert_eq!(
        cell(&r, "gemeinden", "G1", 2022, "sgb2").1,
        CountFlag::NoData
    );
}

#[test]
fn a_change_indicator_works_on_a_table_series() {
    let r = run(&dataset(), &analysis()).expect("run");
    let now = 3000.0 / 40_020.0 * 100.0;
    let before = 3000.0 / 40_000.0 * 100.0;
    let (v, _) = ind(&r, "gemeinden", "G2", 2024, "d_kinder");
    assert!((v.unwrap() - (now - before)).abs() < 1e-9, "{v:?}");
    assert_eq!(
        ind(&r, "gemeinden", "G2", 2023, "d_kinder").1,
        Some(NullReason::NoData)
    );
}

#[test]
fn table_counts_pass_disclosure_control_like_point_sums() {
    let r = run(&dataset(), &analysis()).expect("run");
    // G3 has 2 children: suppressed; a sibling is suppressed too so that P2 − G4 does not
    // reveal it.
    assert_eq!(
        cell(&r, "gemeinden", "G3", 2024, "kids"),
        (None, CountFlag::Suppressed)
    );
    assert_eq!(
        cell(&r, "gemeinden", "G4", 2024, "kids"),
        (None, CountFlag::SecondarySuppressed)
    );
    assert_eq!(
        ind(&r, "gemeinden", "G3", 2024, "anteil_kinder").1,
        Some(NullReason::Suppressed)
    );
}

#[test]
fn a_suppressed_source_cell_is_missing_and_its_parents_are_incomplete() {
    let r = run(&dataset(), &analysis()).expect("run");
    assert_eq!(
        cell(&r, "gemeinden", "G3", 2024, "sgb2"),
        (None, CountFlag::Missing)
    );
    assert_eq!(
        cell(&r, "planregionen", "P2", 2024, "sgb2"),
        (None, CountFlag::Missing)
    );
    assert_eq!(
        cell(&r, "gesamt", "gesamt", 2024, "sgb2"),
        (None, CountFlag::Missing)
    );
    assert_eq!(cell(&r, "planregionen", "P1", 2024, "sgb2").0, Some(4_030));
    assert_eq!(
        ind(&r, "gemeinden", "G3", 2024, "sgb2_anteil").1,
        Some(NullReason::SourceMissing)
    );
    assert_eq!(
        ind(&r, "planregionen", "P2", 2024, "sgb2_anteil").1,
        Some(NullReason::Incomplete)
    );
    // G4's 900 next to the missing G3 and a published P2 would reveal nothing: P2 is missing
    // too, so G4 stays published.
    assert_eq!(cell(&r, "gemeinden", "G4", 2024, "sgb2").0, Some(900));
    assert_eq!(
        r.report.unmatched_table_ids,
        vec![("ba".to_string(), vec!["G9".to_string()])]
    );
}

#[test]
fn a_rate_is_weighted_by_its_declared_column_or_has_no_value_with_a_reason() {
    let r = run(&dataset(), &analysis()).expect("run");
    let (v, _) = ind(&r, "planregionen", "P1", 2024, "quote");
    let want = (3.75 * 820.0 + 10.0 * 40_020.0) / (820.0 + 40_020.0);
    assert!((v.unwrap() - want).abs() < 1e-9, "{v:?} vs {want}");
    let (v, _) = ind(&r, "gesamt", "gesamt", 2024, "quote");
    let want = (3.75 * 820.0 + 10.0 * 40_020.0 + 4.0 * 1520.0 + 7.5 * 12_020.0)
        / (820.0 + 40_020.0 + 1520.0 + 12_020.0);
    assert!((v.unwrap() - want).abs() < 1e-9);
    assert_eq!(
        ind(&r, "planregionen", "P1", 2024, "quote_ohne"),
        (None, Some(NullReason::NotAdditive))
    );
    assert_eq!(ind(&r, "gemeinden", "G2", 2024, "quote_ohne").0, Some(10.0));
}

#[test]
fn a_count_column_name_used_twice_is_an_error_naming_both() {
    let mut ds = dataset();
    ds.tables[1].columns[0].name = "kids".into();
    match run(&ds, &analysis()) {
        Err(EngineError::Table { table, message }) => {
            assert_eq!(table, "ba");
            assert!(
                message.contains("\"kids\"") && message.contains("table \"bev\""),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn counts_of_a_table_on_a_coarser_level_are_refused_with_advice() {
    let mut ds = dataset();
    ds.tables[1].level = "planregionen".into();
    match run(&ds, &analysis()) {
        Err(EngineError::Table { message, .. }) => {
            assert!(
                message.contains("finest level") && message.contains("value"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}
