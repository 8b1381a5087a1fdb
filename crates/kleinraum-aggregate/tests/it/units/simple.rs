use geo::{Line, LineString, MultiPolygon};
use geo::{Polygon, polygon};
use kleinraum_aggregate::simple::*;

fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(vec![p])
}

#[test]
fn squares_are_simple_bowties_and_spikes_are_not() {
    let sq = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)];
    assert_eq!(check_simple(&mp(sq), 100, 1_000), Ok(()));
    let bowtie = polygon![(x: 0., y: 0.), (x: 10., y: 10.), (x: 10., y: 0.), (x: 0., y: 10.), (x: 0., y: 0.)];
    assert!(matches!(
        check_simple(&mp(bowtie), 100, 1_000),
        Err(RingProblem::SelfIntersection { .. })
    ));
    let spike = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 20., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 0.)];
    assert!(check_simple(&mp(spike), 100, 1_000).is_err());
    // Touching itself in a vertex (the ESRI "self-touching ring") is not simple either.
    let touch = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 5., y: 5.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 5., y: 5.), (x: 0., y: 0.)];
    assert!(check_simple(&mp(touch), 100, 1_000).is_err());
}

#[test]
fn limits_are_enforced() {
    let sq = polygon![(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)];
    assert_eq!(
        check_simple(&mp(sq.clone()), 3, 1_000),
        Err(RingProblem::TooManyVertices { count: 5, max: 3 })
    );
    // A zigzag whose edges all span the whole width exhausts a small budget.
    let mut pts: Vec<(f64, f64)> = (0..400)
        .map(|i| {
            if i % 2 == 0 {
                (0.0, i as f64)
            } else {
                (100.0, i as f64 + 0.5)
            }
        })
        .collect();
    pts.push((-10.0, 400.0));
    pts.push((-10.0, 0.0));
    pts.push((0.0, 0.0));
    let zz = Polygon::new(LineString::from(pts), vec![]);
    assert_eq!(
        check_simple(&mp(zz), 10_000, 1_000),
        Err(RingProblem::TooComplex(1_000))
    );
}

/// Every pair of edges, with the same predicates: the sweep's pruning must not miss a
/// crossing.
fn brute(r: &LineString<f64>) -> bool {
    let e: Vec<Line<f64>> = r.lines().filter(|l| l.start != l.end).collect();
    let n = e.len();
    for i in 0..n {
        if spike(e[i], e[(i + 1) % n]) {
            return false;
        }
        for j in i + 1..n {
            let neighbours = (i + 1) % n == j || (j + 1) % n == i;
            if !neighbours && segments_meet(e[i], e[j]) {
                return false;
            }
        }
    }
    true
}

#[test]
fn sweep_agrees_with_brute_force_on_random_rings() {
    let mut rng = kleinraum_testdata::synthetic::Rng(0x2545_f491_4f6c_dd1d);
    let mut next = || rng.below(200) as f64 / 2.0;
    let (mut simple, mut not) = (0, 0);
    for k in 0..5_000 {
        let n = 3 + k % 9;
        let mut pts: Vec<(f64, f64)> = (0..n).map(|_| (next(), next())).collect();
        pts.push(pts[0]);
        let ring = LineString::from(pts);
        let p = Polygon::new(ring.clone(), vec![]);
        let ours = check_simple(&mp(p), 1_000, u64::MAX).is_ok();
        assert_eq!(ours, brute(&ring), "ring {ring:?}");
        if ours { simple += 1 } else { not += 1 }
    }
    assert!(
        simple > 50 && not > 50,
        "both kinds seen: {simple} simple, {not} not"
    );
}
