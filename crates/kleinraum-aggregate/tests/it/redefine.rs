//! `run`, `run_assigned` and `run_from_sums` agree exactly; `assign_points` follows `run`'s rule.

use kleinraum_aggregate::aggregate::{
    EngineError, FinestSums, assign_points, run, run_assigned, run_from_sums,
};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{Area, CountColumn, Dataset, FacilityLayer, Level, PointLayer};
use kleinraum_aggregate::spatial::OUTSIDE;
use kleinraum_testdata::synthetic::{Rng, random_partition};
use std::collections::BTreeMap;

/// A clean 8 × 8 partition (lattice cells, an enclave, a multipolygon with a far island) under
/// two coarser levels, 30,000 random points (some outside, some exactly on borders) with three
/// count columns over two years, and two facility layers.
fn dataset(seed: u64) -> Dataset {
    let mut polys = random_partition(seed, 8, 6);
    // Drop the two overlap squares: what remains is gap- and overlap-free.
    polys.remove(0);
    polys.pop();
    // Ids in reverse order of the slice, so id order ≠ index order (the rule sorts by id).
    let n = polys.len();
    let areas: Vec<Area> = polys
        .iter()
        .enumerate()
        .map(|(i, g)| Area {
            id: format!("{:03}", n - i),
            name: format!("Gebiet {i}"),
            parent: Some(format!("B{}", i % 5)),
            geometry: Some(g.clone()),
            attributes: BTreeMap::new(),
        })
        .collect();
    let coarse = Level {
        key: "bez".into(),
        title: "Bezirke".into(),
        areas: (0..5)
            .map(|b| Area {
                id: format!("B{b}"),
                name: format!("Bezirk {b}"),
                parent: None,
                geometry: None,
                attributes: BTreeMap::new(),
            })
            .collect(),
    };
    let mut rng = Rng(seed * 7 + 3);
    let mut pl = PointLayer::default();
    for _ in 0..30_000 {
        pl.x.push(499_950.0 + rng.unit() * 900.0);
        pl.y.push(5_799_950.0 + rng.unit() * 900.0);
    }
    // Exactly on vertices: the border rule decides.
    for g in &polys {
        for c in g.0[0].exterior().0.iter().step_by(3) {
            pl.x.push(c.x);
            pl.y.push(c.y);
        }
    }
    pl.keys = (0..pl.x.len()).map(|i| format!("p{i}")).collect();
    for year in [2021, 2022] {
        for (name, max) in [("residents", 40u64), ("kids", 6), ("unemployed", 4)] {
            pl.columns.push(CountColumn {
                name: name.into(),
                year,
                values: (0..pl.x.len())
                    .map(|_| (rng.next_u64() % (max + 1)) as u32)
                    .collect(),
            });
        }
    }
    let facility = |cat: &str, rng: &mut Rng| {
        let k = 60;
        FacilityLayer {
            category: cat.into(),
            title: cat.into(),
            x: (0..k).map(|_| 499_900.0 + rng.unit() * 1000.0).collect(),
            y: (0..k).map(|_| 5_799_900.0 + rng.unit() * 1000.0).collect(),
            ids: (0..k).map(|i| format!("{cat}{i}")).collect(),
            names: (0..k).map(|i| format!("{cat} {i}")).collect(),
            capacity: (0..k)
                .map(|i| (i % 4 != 0).then(|| 0.1 + rng.unit() * 50.0))
                .collect(),
            attributes: vec![BTreeMap::new(); k],
        }
    };
    let facilities = vec![facility("kitas", &mut rng), facility("pflege", &mut rng)];
    Dataset {
        working_epsg: 25833,
        levels: vec![
            Level {
                key: "sr".into(),
                title: "Sozialräume".into(),
                areas,
            },
            coarse,
        ],
        points: pl,
        facilities,
        tables: vec![],
    }
}

fn analysis() -> AnalysisConfig {
    serde_json::from_value(serde_json::json!({
        "indicator": [
            {"id": "u", "title": "u", "kind": "share", "numerator": "unemployed", "denominator": "residents"},
            {"id": "k", "title": "k", "kind": "share", "numerator": "kids", "denominator": "residents"},
            {"id": "dk", "title": "dk", "kind": "change", "numerator": "k", "years": 1},
            {"id": "dens", "title": "d", "kind": "density_km2", "numerator": "residents"},
            {"id": "supply", "title": "v", "kind": "supply_rate", "numerator": "kitas.capacity", "denominator": "kids"}
        ],
        "index": [{"id": "ix", "title": "I", "level": "sr", "years": [2022], "status": ["u", "k"],
                   "dynamics": ["dk"], "min_population": 100}],
        "disclosure": {"threshold": 3,
                       "additive": [{"total": "residents", "parts": ["kids"]}]}
    }))
    .expect("analysis config")
}

#[test]
fn run_run_assigned_and_run_from_sums_agree_exactly() {
    for seed in [3u64, 11] {
        let ds = dataset(seed);
        let cfg = analysis();
        let full = run(&ds, &cfg).expect("run");
        let asg = assign_points(&ds.levels[0].areas, &ds.points.x, &ds.points.y).unwrap();
        let (assigned, sums) = run_assigned(&ds, &cfg, &asg).expect("run_assigned");
        let from_sums = run_from_sums(&ds, &cfg, &sums).expect("run_from_sums");
        // The dataset exercises what it should: points outside, facilities outside.
        assert!(full.report.outside > 0 && full.report.assigned > 20_000);
        assert!(!full.report.facilities_outside.is_empty());
        assert_eq!(full, assigned, "seed {seed}: run vs run_assigned");
        assert_eq!(full, from_sums, "seed {seed}: run vs run_from_sums");
        // The sums are the finest level's true counts, laid out per point column.
        let np = ds.points.columns.len();
        let a = asg.iter().position(|&a| a != OUTSIDE).unwrap() as u32;
        for (j, c) in ds.points.columns.iter().enumerate() {
            let want: u64 = asg
                .iter()
                .zip(&c.values)
                .filter(|(x, _)| **x == a)
                .map(|(_, &v)| u64::from(v))
                .sum();
            assert_eq!(sums.sums[a as usize * np + j], want, "column {j}");
        }
        let nfac: u64 = sums.facilities.iter().map(|f| f.count).sum();
        let outside: usize = full.report.facilities_outside.iter().map(|f| f.1).sum();
        assert_eq!(nfac as usize + outside, 120);
    }
}

#[test]
fn run_from_sums_with_moved_points_equals_run_assigned_on_the_new_assignment() {
    let ds = dataset(5);
    let cfg = analysis();
    let mut asg = assign_points(&ds.levels[0].areas, &ds.points.x, &ds.points.y).unwrap();
    let (_, mut sums) = run_assigned(&ds, &cfg, &asg).unwrap();
    // Move every point of area 0 into area 1 by updating the sums only (a draft merge).
    let np = ds.points.columns.len();
    for (i, a) in asg.iter_mut().enumerate() {
        if *a == 0 {
            *a = 1;
            for (j, c) in ds.points.columns.iter().enumerate() {
                let v = u64::from(c.values[i]);
                sums.sums[j] -= v;
                sums.sums[np + j] += v;
            }
        }
    }
    assert!(sums.sums[..np].iter().all(|&v| v == 0));
    let (want, want_sums) = run_assigned(&ds, &cfg, &asg).unwrap();
    assert_eq!(sums.sums, want_sums.sums);
    assert_eq!(run_from_sums(&ds, &cfg, &sums).unwrap(), want);
    assert_ne!(want, run(&ds, &cfg).unwrap(), "the move changes the result");
}

#[test]
fn assign_points_follows_the_id_order_on_overlaps_and_the_border_rule() {
    use kleinraum_testdata::synthetic::{mp, square};
    let area = |id: &str, g| Area {
        id: id.into(),
        name: id.into(),
        parent: None,
        geometry: Some(g),
        attributes: BTreeMap::new(),
    };
    // "b" comes first in the slice, "a" has the lower id and wins the overlap [5,10]².
    let areas = vec![
        area("b", mp(square(5.0, 5.0, 15.0, 15.0), vec![])),
        area("a", mp(square(0.0, 0.0, 10.0, 10.0), vec![])),
        area("c", mp(square(15.0, 0.0, 25.0, 10.0), vec![])),
    ];
    let got = assign_points(
        &areas,
        &[7.0, 12.0, 15.0, 30.0, 1.0],
        &[7.0, 12.0, 5.0, 5.0, 1.0],
    )
    .unwrap();
    // (15, 5): on the border of b and c, goes east to c.
    assert_eq!(got, vec![1, 0, 2, OUTSIDE, 1]);
    let err = assign_points(&areas, &[1.0], &[]).unwrap_err();
    assert!(matches!(err, EngineError::Points { .. }), "{err}");
    let mut no_geom = areas.clone();
    no_geom[2].geometry = None;
    let err = assign_points(&no_geom, &[1.0], &[1.0]).unwrap_err();
    assert!(err.to_string().contains("\"c\""), "{err}");
}

#[test]
fn bad_assignments_and_sums_are_errors() {
    let ds = dataset(3);
    let cfg = analysis();
    let n = ds.points.len();
    let err = run_assigned(&ds, &cfg, &vec![0; n - 1]).unwrap_err();
    assert!(err.to_string().contains("entries for"), "{err}");
    let mut asg = vec![0u32; n];
    asg[7] = ds.levels[0].areas.len() as u32;
    let err = run_assigned(&ds, &cfg, &asg).unwrap_err();
    assert!(err.to_string().contains("point 8"), "{err}");
    let (_, sums) = run_assigned(&ds, &cfg, &vec![OUTSIDE; n]).unwrap();
    let short = FinestSums {
        sums: sums.sums[1..].to_vec(),
        ..sums.clone()
    };
    assert!(run_from_sums(&ds, &cfg, &short).is_err());
    let short = FinestSums {
        facilities: sums.facilities[1..].to_vec(),
        ..sums
    };
    assert!(run_from_sums(&ds, &cfg, &short).is_err());
}
