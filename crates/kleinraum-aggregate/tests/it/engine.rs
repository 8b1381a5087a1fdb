//! The engine on small synthetic datasets: every indicator kind, roll-up, null reasons,
//! assignment report, errors, the reference index method.

use geo::{MultiPolygon, polygon};
use kleinraum_aggregate::aggregate::{EngineError, run};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{
    Area, AreaTable, CountColumn, Dataset, FacilityLayer, Level, PointLayer, TableColumn,
};
use kleinraum_aggregate::result::{AggregateResult, CountFlag, NullReason};
use std::collections::BTreeMap;

fn square(x0: f64, y0: f64, size: f64) -> MultiPolygon<f64> {
    MultiPolygon(vec![polygon![
        (x: x0, y: y0), (x: x0 + size, y: y0), (x: x0 + size, y: y0 + size), (x: x0, y: y0 + size), (x: x0, y: y0)
    ]])
}

fn area(id: &str, parent: Option<&str>, geometry: Option<MultiPolygon<f64>>) -> Area {
    Area {
        id: id.into(),
        name: format!("Gebiet {id}"),
        parent: parent.map(str::to_string),
        geometry,
        attributes: BTreeMap::new(),
    }
}

/// Points per area: (area index in a row of 1 km squares, residents, kids, unemployed).
/// Area `i` is the square [1000 i, 1000 i + 1000] × [0, 1000].
fn dataset(points: &[(usize, u32, u32, u32)], parents: &[&str]) -> Dataset {
    let n = parents.len();
    let finest = Level {
        key: "sr".into(),
        title: "Sozialräume".into(),
        areas: (0..n)
            .map(|i| {
                area(
                    &format!("{:02}", i + 1),
                    Some(parents[i]),
                    Some(square(1000.0 * i as f64, 0.0, 1000.0)),
                )
            })
            .collect(),
    };
    let mut top: Vec<&str> = parents.to_vec();
    top.sort();
    top.dedup();
    let coarse = Level {
        key: "bez".into(),
        title: "Bezirke".into(),
        areas: top.iter().map(|p| area(p, None, None)).collect(),
    };
    let mut pl = PointLayer::default();
    let (mut res, mut kids, mut unemp) = (vec![], vec![], vec![]);
    for (k, &(a, r, c, u)) in points.iter().enumerate() {
        pl.x.push(1000.0 * a as f64 + 100.0 + k as f64);
        pl.y.push(500.0);
        pl.keys.push(format!("p{k}"));
        res.push(r);
        kids.push(c);
        unemp.push(u);
    }
    for year in [2021, 2023] {
        pl.columns.push(CountColumn {
            name: "residents".into(),
            year,
            values: res.clone(),
        });
        pl.columns.push(CountColumn {
            name: "kids".into(),
            year,
            values: kids.clone(),
        });
    }
    // Unemployment only for 2021.
    pl.columns.push(CountColumn {
        name: "unemployed".into(),
        year: 2021,
        values: unemp,
    });
    Dataset {
        working_epsg: 25833,
        levels: vec![finest, coarse],
        points: pl,
        facilities: vec![],
        tables: vec![],
    }
}

fn analysis(toml_like: serde_json::Value) -> AnalysisConfig {
    serde_json::from_value(toml_like).expect("analysis config")
}

fn ind(
    r: &AggregateResult,
    level: &str,
    id: &str,
    year: i32,
    ind: &str,
) -> (Option<f64>, Option<NullReason>) {
    let l = r.level(level).unwrap();
    let a = l.areas.iter().find(|a| a.id == id).unwrap();
    let y = r.year_index(year).unwrap();
    let i = r.indicators.iter().position(|x| x.id == ind).unwrap();
    let v = a.years[y].indicators[i];
    (v.value, v.reason)
}

fn count(
    r: &AggregateResult,
    level: &str,
    id: &str,
    year: i32,
    col: &str,
) -> (Option<u64>, CountFlag) {
    let l = r.level(level).unwrap();
    let a = l.areas.iter().find(|a| a.id == id).unwrap();
    let y = r.year_index(year).unwrap();
    let c = r.count_columns.iter().position(|x| x == col).unwrap();
    let v = a.years[y].counts[c];
    (v.value, v.flag)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn every_indicator_kind_and_the_roll_up_is_a_ratio_of_sums() {
    // Area 01: 100 residents, 10 kids, 5 unemployed; area 02: 900, 30, 90.
    let mut ds = dataset(
        &[(0, 60, 6, 3), (0, 40, 4, 2), (1, 900, 30, 90)],
        &["A", "A"],
    );
    ds.facilities.push(FacilityLayer {
        category: "kitas".into(),
        title: "Kitas".into(),
        x: vec![500.0, 600.0, 1500.0],
        y: vec![500.0, 500.0, 500.0],
        ids: vec!["k1".into(), "k2".into(), "k3".into()],
        names: vec!["a".into(), "b".into(), "c".into()],
        capacity: vec![Some(8.0), None, Some(15.0)],
        attributes: vec![BTreeMap::new(); 3],
    });
    ds.tables.push(AreaTable {
        name: "t".into(),
        level: "sr".into(),
        ids: vec!["02".into(), "01".into(), "99".into()],
        years: vec![2021; 3],
        columns: vec![TableColumn {
            name: "X".into(),
            values: vec![Some(7.5), None, Some(1.0)],
            marks: vec![None; 3],
            ..Default::default()
        }],
    });
    let cfg = analysis(serde_json::json!({
        "indicator": [
            {"id": "share", "title": "s", "kind": "share", "numerator": "unemployed", "denominator": "residents"},
            {"id": "rate", "title": "r", "kind": "rate_per_1000", "numerator": "kids", "denominator": "residents"},
            {"id": "dens", "title": "d", "kind": "density_km2", "numerator": "residents"},
            {"id": "supply", "title": "v", "kind": "supply_rate", "numerator": "kitas.capacity", "denominator": "kids"},
            {"id": "nkita", "title": "n", "kind": "value", "numerator": "kitas.count"},
            {"id": "kshare", "title": "k", "kind": "share", "numerator": "kids", "denominator": "residents"},
            {"id": "chg", "title": "c", "kind": "change", "numerator": "kshare", "years": 2},
            {"id": "tab", "title": "t", "kind": "value", "numerator": "t.X"}
        ],
        "disclosure": {"threshold": 3}
    }));
    let r = run(&ds, &cfg).unwrap();
    assert!(close(ind(&r, "sr", "01", 2021, "share").0, 5.0));
    assert!(close(ind(&r, "sr", "02", 2021, "share").0, 10.0));
    // Bezirk A: (5 + 90) / (100 + 900) = 9.5 %, not the mean of 5 % and 10 % (7.5 %).
    assert!(close(ind(&r, "bez", "A", 2021, "share").0, 9.5));
    assert!(close(ind(&r, "gesamt", "gesamt", 2021, "share").0, 9.5));
    assert!(close(ind(&r, "sr", "01", 2021, "rate").0, 100.0));
    assert!(
        close(ind(&r, "sr", "01", 2021, "dens").0, 100.0),
        "100 residents on 1 km²"
    );
    assert!(
        close(ind(&r, "bez", "A", 2021, "dens").0, 500.0),
        "1000 on 2 km² (area from children)"
    );
    assert!(
        close(ind(&r, "sr", "01", 2021, "supply").0, 80.0),
        "8 places (one Kita without capacity) per 10 kids"
    );
    assert!(close(ind(&r, "sr", "01", 2021, "nkita").0, 2.0));
    assert!(close(
        ind(&r, "bez", "A", 2023, "supply").0,
        23.0 / 40.0 * 100.0
    ));
    assert!(
        close(ind(&r, "sr", "01", 2023, "chg").0, 0.0),
        "same kids share in 2021 and 2023"
    );
    assert_eq!(
        ind(&r, "sr", "01", 2021, "chg").1,
        Some(NullReason::NoData),
        "no 2019"
    );
    assert!(close(ind(&r, "sr", "02", 2021, "tab").0, 7.5));
    assert_eq!(
        ind(&r, "sr", "01", 2021, "tab").1,
        Some(NullReason::SourceMissing),
        "missing table value"
    );
    assert_eq!(
        ind(&r, "sr", "02", 2023, "tab").1,
        Some(NullReason::NoData),
        "table only for 2021"
    );
    assert_eq!(
        ind(&r, "bez", "A", 2021, "tab").1,
        Some(NullReason::NotAdditive),
        "a value without a weight column is not rolled up"
    );
    assert_eq!(
        ind(&r, "sr", "01", 2023, "share").1,
        Some(NullReason::NoData),
        "no unemployment data in 2023"
    );
    assert_eq!(
        count(&r, "sr", "01", 2023, "unemployed"),
        (None, CountFlag::NoData)
    );
    assert_eq!(
        count(&r, "gesamt", "gesamt", 2021, "residents"),
        (Some(1000), CountFlag::Published)
    );
    let a01 = &r.level("sr").unwrap().areas[0];
    assert_eq!(a01.facilities[0].count, 2);
    assert!((a01.area_m2 - 1e6).abs() < 1e-6);
    assert_eq!(
        r.report.unmatched_table_ids,
        vec![("t".to_string(), vec!["99".to_string()])]
    );
    assert_eq!(r.levels.last().unwrap().key, "gesamt");
}

#[test]
fn denominator_zero_and_suppressed_numerators_are_null_with_reason() {
    // Area 01: 50 residents, 0 kids; area 02: 40 residents, 10 kids, 2 unemployed (suppressed);
    // area 03: 30 residents, 5 kids, 7 unemployed.
    let ds = dataset(
        &[(0, 50, 0, 4), (1, 40, 10, 2), (2, 30, 5, 7)],
        &["A", "A", "B"],
    );
    let cfg = analysis(serde_json::json!({
        "indicator": [
            {"id": "kids_share", "title": "k", "kind": "share", "numerator": "unemployed", "denominator": "kids"},
            {"id": "u", "title": "u", "kind": "share", "numerator": "unemployed", "denominator": "residents"}
        ]
    }));
    let r = run(&ds, &cfg).unwrap();
    assert_eq!(
        ind(&r, "sr", "01", 2021, "kids_share"),
        (None, Some(NullReason::DenominatorZero))
    );
    assert_eq!(
        count(&r, "sr", "02", 2021, "unemployed"),
        (None, CountFlag::Suppressed)
    );
    assert_eq!(
        ind(&r, "sr", "02", 2021, "u"),
        (None, Some(NullReason::Suppressed))
    );
    // The sibling 01 (4) is secondarily suppressed so 02 is not 6 − 4, and its share too.
    assert_eq!(
        count(&r, "sr", "01", 2021, "unemployed"),
        (None, CountFlag::SecondarySuppressed)
    );
    assert_eq!(
        ind(&r, "sr", "01", 2021, "u"),
        (None, Some(NullReason::Suppressed))
    );
    assert_eq!(
        count(&r, "bez", "A", 2021, "unemployed"),
        (Some(6), CountFlag::Published)
    );
    // Published at the declared precision (default 2 decimals): 7 / 30 = 23.33 %, not
    // 23.333… (more digits would give the counts back).
    assert!(close(ind(&r, "sr", "03", 2021, "u").0, 23.33));
}

#[test]
fn points_outside_every_area_are_reported_not_dropped_silently() {
    let mut ds = dataset(&[(0, 10, 1, 1), (1, 20, 2, 2)], &["A", "A"]);
    for k in 0..12 {
        ds.points.x.push(-50.0 - k as f64);
        ds.points.y.push(500.0);
        ds.points.keys.push(format!("out{k}"));
        for c in &mut ds.points.columns {
            c.values.push(5);
        }
    }
    let r = run(&ds, &AnalysisConfig::default()).unwrap();
    assert_eq!(r.report.points, 14);
    assert_eq!(r.report.assigned, 2);
    assert_eq!(r.report.outside, 12);
    assert_eq!(r.report.outside_examples.len(), 10);
    assert_eq!(r.report.outside_examples[0].key, "out0");
    assert_eq!(
        count(&r, "gesamt", "gesamt", 2021, "residents"),
        (Some(30), CountFlag::Published)
    );
}

#[test]
fn unknown_operands_are_errors_naming_the_indicator() {
    let ds = dataset(&[(0, 10, 1, 1)], &["A"]);
    let cfg = analysis(serde_json::json!({
        "indicator": [{"id": "bad", "title": "b", "kind": "share", "numerator": "nope", "denominator": "residents"}]
    }));
    let e = run(&ds, &cfg).unwrap_err();
    assert!(
        matches!(&e, EngineError::UnknownOperand { indicator, operand, .. } if indicator == "bad" && operand == "nope"),
        "{e}"
    );
    assert!(
        e.to_string().contains("residents"),
        "lists the available columns: {e}"
    );
    let cfg = analysis(serde_json::json!({
        "indicator": [{"id": "k", "title": "k", "kind": "supply_rate", "numerator": "kitas.places", "denominator": "kids"}]
    }));
    assert!(matches!(
        run(&ds, &cfg).unwrap_err(),
        EngineError::UnknownOperand { .. }
    ));
}

#[test]
fn index_reasons_through_the_engine() {
    // 6 areas: 01 small (< 300), 02 excluded, 03..06 valid.
    let pts = [
        (0, 100, 10, 10),
        (1, 500, 10, 50),
        (2, 400, 10, 10),
        (3, 400, 10, 40),
        (4, 400, 10, 80),
        (5, 400, 10, 20),
    ];
    let ds = dataset(&pts, &["A", "A", "A", "B", "B", "B"]);
    let cfg = analysis(serde_json::json!({
        "indicator": [{"id": "u", "title": "u", "kind": "share", "numerator": "unemployed", "denominator": "residents"}],
        "index": [{"id": "ix", "title": "I", "level": "sr", "years": [2021], "status": ["u"], "exclude": ["02"]}]
    }));
    let r = run(&ds, &cfg).unwrap();
    let l = r.level("sr").unwrap();
    let y = r.year_index(2021).unwrap();
    let iv = |a: usize| l.areas[a].years[y].indices[0].clone().unwrap();
    assert_eq!(iv(0).reason, Some(NullReason::BelowMinPopulation));
    assert_eq!(iv(1).reason, Some(NullReason::Excluded));
    assert!(iv(0).status_class.is_none() && iv(1).group.is_none());
    // Valid shares 2.5, 10, 20, 5 %: the highest (05) has the highest status value.
    let vals: Vec<f64> = (2..6).map(|a| iv(a).status_value.unwrap()).collect();
    assert!(vals[2] > vals[1] && vals[1] > vals[3] && vals[3] > vals[0]);
    let mean: f64 = vals.iter().sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-12, "re-standardised");
    assert!(
        r.level("bez").unwrap().areas[0].years[y].indices[0].is_none(),
        "index only on its level"
    );
    assert!(
        l.areas[2].years[r.year_index(2023).unwrap()].indices[0].is_none(),
        "only the configured year"
    );
}

#[test]
fn reference_method_on_a_15_area_kreis() {
    // 15 Gemeinden, residents 1000 each, unemployed 10..=150 (1 % … 15 %).
    let pts: Vec<(usize, u32, u32, u32)> = (0..15)
        .map(|i| (i, 1000, 100, 10 * (i as u32 + 1)))
        .collect();
    let parents = vec!["K"; 15];
    let ds = dataset(&pts, &parents);
    let cfg = analysis(serde_json::json!({
        "indicator": [
            {"id": "u", "title": "u", "kind": "share", "numerator": "unemployed", "denominator": "residents"},
            {"id": "k", "title": "k", "kind": "share", "numerator": "kids", "denominator": "residents"}
        ],
        "index": [{"id": "ix", "title": "I", "level": "sr", "method": "reference", "years": [2021],
                   "status": ["u", "k"], "min_population": 300,
                   "reference": {"u": 6.5, "k": 10.0}, "reference_spread": {"u": 4.0, "k": 2.0}}]
    }));
    let r = run(&ds, &cfg).unwrap();
    let l = r.level("sr").unwrap();
    let y = r.year_index(2021).unwrap();
    let mut classes = [0; 4];
    for (i, a) in l.areas.iter().enumerate() {
        let v = a.years[y].indices[0].clone().unwrap();
        // u deviation (i+1 − 6)/4, k deviation 0 (10 % = reference): mean of the two.
        let expect = ((i as f64 + 1.0 - 6.5) / 4.0 + 0.0) / 2.0;
        assert!((v.status_value.unwrap() - expect).abs() < 1e-9, "area {i}");
        assert_eq!(v.status_contributions.len(), 2);
        classes[v.status_class.unwrap() as usize - 1] += 1;
        assert!(v.dynamics_class.is_none());
    }
    // Index = (u − 6.5) / 8: ≥ −1 always (min −0.6875); u = 14 → 0.9375 mittel;
    // u = 15 → 1.0625 niedrig.
    assert_eq!(classes, [0, 14, 1, 0]);
    // A missing reference is an error naming the index and the indicator.
    let mut cfg2 = cfg.clone();
    cfg2.indices[0].reference.remove("k");
    let e = run(&ds, &cfg2).unwrap_err().to_string();
    assert!(e.contains("\"ix\"") && e.contains("\"k\""), "{e}");
}

/// Every area's sum of every column equals a plain loop over the points, over several chunks
/// of points, with points outside every area and assignments past the last area skipped; no
/// areas and no columns give nothing.
#[test]
fn sum_by_area_equals_a_plain_loop() {
    use kleinraum_aggregate::aggregate::sum_by_area;
    let n = 100_003usize;
    let areas = 37usize;
    let asg: Vec<u32> = (0..n)
        .map(|i| match i % 11 {
            0 => u32::MAX,
            1 => areas as u32 + (i % 3) as u32,
            _ => (i * 7919 % areas) as u32,
        })
        .collect();
    let cols: Vec<Vec<u32>> = (0..3)
        .map(|c| (0..n).map(|i| ((i * (c + 2)) % 1000) as u32).collect())
        .collect();
    let refs: Vec<&[u32]> = cols.iter().map(Vec::as_slice).collect();
    let mut expect = vec![0u64; areas * 3];
    for (i, &a) in asg.iter().enumerate() {
        if (a as usize) < areas {
            for c in 0..3 {
                expect[a as usize * 3 + c] += u64::from(cols[c][i]);
            }
        }
    }
    assert_eq!(sum_by_area(&asg, areas, &refs), expect);
    assert!(sum_by_area(&asg, 0, &refs).is_empty());
    assert!(sum_by_area(&asg, areas, &[]).is_empty());
}

/// Timing of the hot loop: 2M points × 5 columns over 542 areas. Run with
/// `cargo test -p kleinraum-aggregate --release --test it sum_by_area -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn sum_by_area_2m_points_5_columns_timing() {
    use kleinraum_aggregate::aggregate::sum_by_area;
    let n = 2_000_000;
    let asg: Vec<u32> = (0..n)
        .map(|i| {
            if i % 1000 == 0 {
                u32::MAX
            } else {
                (i * 7919 % 542) as u32
            }
        })
        .collect();
    let cols: Vec<Vec<u32>> = (0..5)
        .map(|c| (0..n).map(|i| ((i + c) % 7) as u32).collect())
        .collect();
    let refs: Vec<&[u32]> = cols.iter().map(Vec::as_slice).collect();
    let mut best = f64::INFINITY;
    let mut sums = Vec::new();
    for _ in 0..10 {
        let t = std::time::Instant::now();
        sums = sum_by_area(&asg, 542, &refs);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("sum_by_area 2M × 5: best of 10 {:.2} ms", best * 1e3);
    for c in 0..5 {
        let expect: u64 = (0..n)
            .filter(|i| i % 1000 != 0)
            .map(|i| ((i + c) % 7) as u64)
            .sum();
        assert_eq!((0..542).map(|a| sums[a * 5 + c]).sum::<u64>(), expect);
    }
}

/// The four squares of [`dataset`] with 900 points: some outside every area, the rest spread
/// over all four.
fn spread_points() -> Dataset {
    let points: Vec<(usize, u32, u32, u32)> = (0..900).map(|k| (k % 4, 1, 0, 0)).collect();
    let mut ds = dataset(&points, &["A", "A", "B", "B"]);
    for k in 0..ds.points.x.len() {
        ds.points.x[k] = (k * 37 % 4400) as f64 - 100.0;
        ds.points.y[k] = (k * 53 % 1100) as f64 - 50.0;
    }
    ds
}

/// A visiting order computed beforehand (the loader's, beside the index build) gives the
/// assignment the locator gives alone; an order of another length is not used.
#[test]
fn a_given_visiting_order_gives_the_same_assignment() {
    use kleinraum_aggregate::aggregate::AreaLocator;
    use kleinraum_aggregate::spatial::{OUTSIDE, coarse_morton_order};
    let ds = spread_points();
    let locator = AreaLocator::new(&ds.levels[0].areas, "sr").unwrap();
    let alone = locator.assign_layer(&ds.points).unwrap();
    assert!(alone.contains(&OUTSIDE) && (0..4).all(|a| alone.contains(&a)));
    let order = coarse_morton_order(&ds.points.x, &ds.points.y);
    assert_eq!(
        locator.assign_layer_in(&ds.points, Some(&order)).unwrap(),
        alone
    );
    let reversed: Vec<u32> = (0..ds.points.x.len() as u32).rev().collect();
    assert_eq!(
        locator
            .assign_layer_in(&ds.points, Some(&reversed))
            .unwrap(),
        alone
    );
    assert_eq!(
        locator
            .assign_layer_in(&ds.points, Some(&order[1..]))
            .unwrap(),
        alone
    );
}

/// The locator answers with positions in the level's list of areas, whatever their order:
/// listed against their id order, every point lands in the area of the same id as when listed
/// in id order (the areas' numbering is then mapped, not taken as it is).
#[test]
fn areas_listed_out_of_id_order_get_the_same_points() {
    use kleinraum_aggregate::aggregate::AreaLocator;
    use kleinraum_aggregate::spatial::{OUTSIDE, coarse_morton_order};
    let ds = spread_points();
    let in_order = &ds.levels[0].areas;
    let mut reversed = in_order.clone();
    reversed.reverse();
    let order = coarse_morton_order(&ds.points.x, &ds.points.y);
    let a = AreaLocator::new(in_order, "sr").unwrap();
    let b = AreaLocator::new(&reversed, "sr").unwrap();
    let (a, b) = (
        a.assign_layer_in(&ds.points, Some(&order)).unwrap(),
        b.assign_layer_in(&ds.points, Some(&order)).unwrap(),
    );
    let id = |areas: &[kleinraum_aggregate::model::Area], k: u32| {
        (k != OUTSIDE).then(|| areas[k as usize].id.clone())
    };
    assert!(a.contains(&OUTSIDE) && (0..4).all(|k| a.contains(&k)));
    for (&p, &q) in a.iter().zip(&b) {
        assert_eq!(id(in_order, p), id(&reversed, q));
    }
    // Positions differ where the lists differ: the mapping was applied.
    assert!(a.iter().zip(&b).any(|(p, q)| p != q));
}

/// The run that moves the geometries into its result (`kleinraum aggregate`) gives the result
/// of the run that copies them: geometries, areas measured from them, and the areas of a level
/// without geometry summed from its children.
#[test]
fn a_run_taking_the_dataset_equals_a_run_copying_from_it() {
    use kleinraum_aggregate::aggregate::{AreaLocator, run_located_taking_geometries};
    let points = [(0, 10, 1, 1), (1, 20, 2, 2), (2, 5, 0, 1), (3, 7, 3, 0)];
    let without = dataset(&points, &["A", "A", "B", "B"]);
    let mut with = without.clone();
    // The coarse areas drawn: A larger than its children, B missing.
    with.levels[1].areas[0].geometry = Some(square(0.0, -500.0, 3000.0));
    for ds in [without, with] {
        let copied = run(&ds, &AnalysisConfig::default()).unwrap();
        let locator = AreaLocator::new(&ds.levels[0].areas, "sr").unwrap();
        let mut taken = ds.clone();
        let (a, mut stages) = (AnalysisConfig::default(), Vec::new());
        let moved =
            run_located_taking_geometries(&mut taken, &a, Some(&locator), None, &mut stages)
                .unwrap();
        assert!(
            taken
                .levels
                .iter()
                .flat_map(|l| &l.areas)
                .all(|a| a.geometry.is_none())
        );
        assert_eq!(moved, copied);
        let coarse = &moved.levels[1].areas;
        assert!(moved.levels[0].areas.iter().all(|a| a.geometry.is_some()));
        assert_eq!(coarse[1].area_m2, 2e6);
        let a_area = if ds.levels[1].areas[0].geometry.is_some() {
            9e6
        } else {
            2e6
        };
        assert_eq!(coarse[0].area_m2, a_area);
        assert_eq!(coarse[0].geometry.is_some(), a_area == 9e6);
    }
}
