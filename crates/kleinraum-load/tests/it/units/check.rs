use geo::{LineString, MultiPolygon, Polygon};
use geo::{Validation, polygon};
use kleinraum_aggregate::model::Area;
use kleinraum_aggregate::model::{Dataset, Level};
use kleinraum_load::check::*;
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::error::Diagnostic;

fn mp(p: Polygon<f64>) -> MultiPolygon<f64> {
    MultiPolygon(vec![p])
}

fn square(x0: f64, y0: f64, s: f64) -> Polygon<f64> {
    polygon![(x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s)]
}

#[test]
fn valid_square_has_no_problems() {
    assert!(geometry_problems(&mp(square(0.0, 0.0, 10.0))).is_empty());
}

#[test]
fn bow_tie_reports_crossing_at_the_crossing_point() {
    let p = polygon![(x: 0.0, y: 0.0), (x: 10.0, y: 10.0), (x: 10.0, y: 0.0), (x: 0.0, y: 10.0)];
    let probs = geometry_problems(&mp(p));
    assert_eq!(probs.len(), 1, "{probs:?}");
    assert_eq!(probs[0].kind, GeometryProblemKind::SelfIntersection);
    assert_eq!((probs[0].x, probs[0].y), (5.0, 5.0));
    assert_eq!(probs[0].ring, "exterior");
}

#[test]
fn too_few_points_and_zero_area_and_nan() {
    let line = Polygon::new(
        LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]),
        vec![],
    );
    let probs = geometry_problems(&mp(line));
    assert_eq!(probs[0].kind, GeometryProblemKind::TooFewPoints);

    let flat = Polygon::new(
        LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)]),
        vec![],
    );
    let probs = geometry_problems(&mp(flat));
    assert_eq!(probs[0].kind, GeometryProblemKind::ZeroArea);

    let nan = Polygon::new(
        LineString::from(vec![(0.0, 0.0), (1.0, f64::NAN), (2.0, 2.0), (0.0, 2.0)]),
        vec![],
    );
    let probs = geometry_problems(&mp(nan));
    assert_eq!(probs[0].kind, GeometryProblemKind::NonFinite);
    assert!(
        probs[0].message.contains("coordinate 2"),
        "{}",
        probs[0].message
    );
}

#[test]
fn hole_outside_shell_and_nested_parts() {
    let hole_out = Polygon::new(
        square(0.0, 0.0, 10.0).exterior().clone(),
        vec![square(20.0, 20.0, 2.0).exterior().clone()],
    );
    let probs = geometry_problems(&mp(hole_out));
    assert_eq!(probs.len(), 1, "{probs:?}");
    assert_eq!(probs[0].kind, GeometryProblemKind::HoleOutsideShell);
    assert_eq!(probs[0].ring, "hole 1");

    let hole_in = Polygon::new(
        square(0.0, 0.0, 10.0).exterior().clone(),
        vec![square(2.0, 2.0, 2.0).exterior().clone()],
    );
    assert!(geometry_problems(&mp(hole_in)).is_empty());

    let nested = MultiPolygon(vec![square(0.0, 0.0, 10.0), square(2.0, 2.0, 2.0)]);
    let probs = geometry_problems(&nested);
    assert_eq!(probs.len(), 1, "{probs:?}");
    assert_eq!(probs[0].kind, GeometryProblemKind::PartsOverlap);

    let crossing_parts = MultiPolygon(vec![square(0.0, 0.0, 10.0), square(5.0, 5.0, 10.0)]);
    let probs = geometry_problems(&crossing_parts);
    assert!(
        probs
            .iter()
            .all(|p| p.kind == GeometryProblemKind::PartsOverlap)
            && !probs.is_empty()
    );
}

#[test]
fn hole_crossing_shell_and_spike_and_self_touch() {
    let crossing = Polygon::new(
        square(0.0, 0.0, 10.0).exterior().clone(),
        vec![square(8.0, 2.0, 4.0).exterior().clone()],
    );
    let probs = geometry_problems(&mp(crossing));
    assert!(!probs.is_empty());
    assert!(
        probs
            .iter()
            .all(|p| p.kind == GeometryProblemKind::RingsCross)
    );

    // A spike: 10,5 → 15,5 → back to 10,5 along the same line.
    let spike = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 5.0),
            (15.0, 5.0),
            (10.0, 5.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let probs = geometry_problems(&mp(spike));
    assert!(
        probs
            .iter()
            .any(|p| p.kind == GeometryProblemKind::SelfOverlap),
        "{probs:?}"
    );

    // Figure-eight pinched in one vertex (5,5).
    let pinch = Polygon::new(
        LineString::from(vec![
            (0.0, 0.0),
            (5.0, 5.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (5.0, 5.0),
            (0.0, 10.0),
            (0.0, 0.0),
        ]),
        vec![],
    );
    let probs = geometry_problems(&mp(pinch));
    assert_eq!(probs.len(), 1, "{probs:?}");
    assert_eq!(probs[0].kind, GeometryProblemKind::SelfTouch);
    assert_eq!((probs[0].x, probs[0].y), (5.0, 5.0));
}

/// Random star-shaped polygons with jitter: our verdict must match geo's `Validation`.
#[test]
fn agrees_with_geo_validation_on_random_polygons() {
    let mut rng = crate::common::Rng(0x9E37_79B9_7F4A_7C15);
    let mut rnd = move || rng.unit();
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..400 {
        let n = 4 + (rnd() * 12.0) as usize;
        let mut angles: Vec<f64> = (0..n).map(|_| rnd() * std::f64::consts::TAU).collect();
        // Half the cases keep angles sorted (simple star polygons), half shuffled (often
        // self-intersecting).
        if rnd() < 0.5 {
            angles.sort_by(f64::total_cmp);
        }
        let ring: Vec<(f64, f64)> = angles
            .iter()
            .map(|a| {
                let r = 1.0 + rnd() * 9.0;
                ((r * a.cos() * 100.0).round(), (r * a.sin() * 100.0).round())
            })
            .collect();
        let p = Polygon::new(LineString::from(ring), vec![]);
        let ours = geometry_problems(&mp(p.clone())).is_empty();
        let theirs = p.is_valid();
        assert_eq!(
            ours,
            theirs,
            "{p:?}: {:?}",
            geometry_problems(&mp(p.clone()))
        );
        if ours {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid > 50 && invalid > 50,
        "{valid} valid, {invalid} invalid"
    );
}

/// `geometry_problems` skips `line_intersection` for consecutive ring edges that do not lie on
/// one line (tested at the end of the second edge that is not the shared vertex), taking their
/// shared vertex as all they have in common. That must be what
/// `line_intersection` says: checked on every triple of a small grid (many collinear, spike and
/// near-degenerate cases) and on random points far from the origin (rounding).
#[test]
fn consecutive_edges_off_one_line_meet_only_in_their_vertex() {
    use geo::kernels::{Kernel, Orientation, RobustKernel};
    use geo::line_intersection::{LineIntersection, line_intersection};
    use geo::{Coord, Line};
    let mut rng = crate::common::Rng(0x2545_F491_4F6C_DD1D);
    let mut rnd = move || rng.unit();
    let grid: Vec<Coord<f64>> = (0..16)
        .map(|k| Coord {
            x: f64::from(k % 4),
            y: f64::from(k / 4),
        })
        .collect();
    let mut triples: Vec<[Coord<f64>; 3]> = Vec::new();
    for &a in &grid {
        for &b in &grid {
            for &c in &grid {
                triples.push([a, b, c]);
            }
        }
    }
    for _ in 0..20_000 {
        let mut p = || Coord {
            x: 390_000.0 + (rnd() * 1000.0).round() / 1000.0 * 3.0,
            y: 5_806_000.0 + (rnd() * 1000.0).round() / 1000.0 * 3.0,
        };
        triples.push([p(), p(), p()]);
    }
    let (mut skipped, mut kept) = (0, 0);
    for [a, b, c] in triples {
        if a == b || b == c {
            continue;
        }
        // The sweep meets the pair in either order.
        for (s, t) in [
            (Line::new(a, b), Line::new(b, c)),
            (Line::new(b, c), Line::new(a, b)),
        ] {
            // The sweep's test: `t`'s end that is not the shared vertex, against `s`'s line;
            // the same as testing both ends (the shared one lies on the line exactly).
            let other = if t.start == s.start || t.start == s.end {
                t.end
            } else {
                t.start
            };
            let off_line = RobustKernel::orient2d(s.start, s.end, other) != Orientation::Collinear;
            assert_eq!(
                off_line,
                RobustKernel::orient2d(s.start, s.end, t.start) != Orientation::Collinear
                    || RobustKernel::orient2d(s.start, s.end, t.end) != Orientation::Collinear,
                "{s:?} {t:?}"
            );
            if off_line {
                skipped += 1;
                assert_eq!(
                    line_intersection(s, t),
                    Some(LineIntersection::SinglePoint {
                        intersection: b,
                        is_proper: false
                    }),
                    "{s:?} {t:?}"
                );
            } else {
                kept += 1;
            }
        }
    }
    assert!(
        skipped > 10_000 && kept > 100,
        "{skipped} skipped, {kept} kept"
    );
}

fn area(id: &str, parent: Option<&str>, g: Option<Polygon<f64>>) -> Area {
    Area {
        id: id.into(),
        name: format!("Gebiet {id}"),
        parent: parent.map(Into::into),
        geometry: g.map(mp),
        attributes: Default::default(),
    }
}

fn test_cfg() -> ProjectConfig {
    toml::from_str(
        r#"
        title = "Test"
        working_crs = 25833
        [[level]]
        key = "fein"
        title = "Fein"
        id_field = "id"
        [[level]]
        key = "grob"
        title = "Grob"
        id_field = "id"
        "#,
    )
    .expect("test config parses")
}

/// Four areas: A and B overlap by 2×10 m², C leaves a 5×5 m hole enclosed by A, B, C, D.
fn faulty_dataset() -> Dataset {
    let x0 = 390_000.0;
    let y0 = 5_820_000.0;
    // A: 0..52 × 0..100 (overlaps B on 50..52 over 0..10? no: B starts at 50 only up to 10).
    let a = polygon![(x: x0, y: y0), (x: x0 + 52.0, y: y0), (x: x0 + 52.0, y: y0 + 10.0),
        (x: x0 + 50.0, y: y0 + 10.0), (x: x0 + 50.0, y: y0 + 100.0), (x: x0, y: y0 + 100.0)];
    let b = polygon![(x: x0 + 50.0, y: y0), (x: x0 + 100.0, y: y0), (x: x0 + 100.0, y: y0 + 50.0),
        (x: x0 + 50.0, y: y0 + 50.0)];
    // C covers 50..100 × 50..100 except a 5×5 notch at its lower-left corner… as a hole.
    let c = Polygon::new(
        square(x0 + 50.0, y0 + 50.0, 50.0).exterior().clone(),
        vec![square(x0 + 70.0, y0 + 70.0, 5.0).exterior().clone()],
    );
    let bow = polygon![(x: x0 + 200.0, y: y0), (x: x0 + 210.0, y: y0 + 10.0),
        (x: x0 + 210.0, y: y0), (x: x0 + 200.0, y: y0 + 10.0)];
    let fein = Level {
        key: "fein".into(),
        title: "Fein".into(),
        areas: vec![
            area("A", Some("G1"), Some(a)),
            area("B", Some("G1"), Some(b)),
            area("C", Some("G9"), Some(c)),
            area("B", Some("G1"), Some(bow)),
            area("", Some("G1"), Some(square(x0 + 300.0, y0, 10.0))),
        ],
    };
    let grob = Level {
        key: "grob".into(),
        title: "Grob".into(),
        areas: vec![area("G1", None, None)],
    };
    let mut ds = Dataset {
        working_epsg: 25833,
        levels: vec![fein, grob],
        ..Default::default()
    };
    ds.points.x = vec![x0 + 10.0, x0 + 72.0, x0 + 1000.0, x0 + 50.0];
    ds.points.y = vec![y0 + 10.0, y0 + 72.0, y0 + 1000.0, y0 + 70.0];
    ds.points.keys = ["p1", "in-hole", "far", "border"].into_iter().collect();
    ds
}

#[test]
fn run_checks_finds_every_planted_problem() {
    let ds = faulty_dataset();
    let diags = vec![Diagnostic {
        path: "x.csv".into(),
        row: 7,
        field: "residents".into(),
        value: "zwölf".into(),
        message: "not an integer".into(),
    }];
    let r = run_checks(&test_cfg(), &ds, &diags, &CheckOptions::default());
    assert_eq!(r.verdict, Verdict::Blocking);
    assert_eq!(r.exit_code, 1);
    let fein = &r.levels[0];
    assert_eq!(fein.invalid_geometries.len(), 1);
    assert_eq!(fein.invalid_geometries[0].feature, 4);
    let loc = fein.invalid_geometries[0].problems[0].location;
    assert_eq!((loc.x, loc.y), (390_205.0, 5_820_005.0));
    assert!(
        loc.lon.is_some_and(|l| (13.0..14.0).contains(&l)),
        "{loc:?}"
    );
    assert_eq!(fein.duplicate_ids.len(), 1);
    assert_eq!(fein.duplicate_ids[0].features, vec![2, 4]);
    assert_eq!(fein.empty_ids, vec![5]);
    assert_eq!(fein.parent_problems.len(), 1);
    assert_eq!(fein.parent_problems[0].parent.as_deref(), Some("G9"));
    let cov = fein.coverage.as_ref().expect("coverage");
    assert_eq!(cov.overlaps.count, 1, "{:?}", cov.overlaps);
    let o = &cov.overlaps.listed[0];
    assert_eq!((o.a.as_str(), o.b.as_str()), ("A", "B"));
    assert!((o.area_m2 - 20.0).abs() < 1e-6, "{}", o.area_m2);
    assert!(o.location.x > 390_050.0 && o.location.x < 390_052.0);
    // C's hole is a hole of the union: a gap of 25 m² bordered by C.
    assert_eq!(cov.gaps.count, 1, "{:?}", cov.gaps);
    assert!((cov.gaps.listed[0].area_m2 - 25.0).abs() < 1e-6);
    assert_eq!(cov.gaps.listed[0].neighbours, vec!["C".to_string()]);
    let pts = r.points.as_ref().expect("points");
    assert_eq!(pts.outside, 2, "{pts:?}");
    assert_eq!(pts.outside_listed[0].key, "in-hole");
    assert_eq!(pts.outside_listed[1].key, "far");
    assert_eq!(pts.on_border, 1);
    assert_eq!(pts.on_border_listed[0].key, "border");
    assert_eq!(r.unreadable.len(), 1);
    assert_eq!(r.unreadable[0].count, 1);
    let text = r.render_text();
    assert!(text.contains("BLOCKING"), "{text}");
    assert!(text.contains("A ∩ B: 20.0 m²"), "{text}");
    assert!(
        text.contains("crosses itself at x 390,205.00 y 5,820,005.00"),
        "{text}"
    );
    let json = serde_json::to_value(&r).expect("serialises");
    assert_eq!(json["verdict"], "blocking");
}

#[test]
fn tolerance_hides_slivers_from_the_listing_but_counts_them() {
    let ds = faulty_dataset();
    let opts = CheckOptions {
        min_area_m2: 30.0,
        ..Default::default()
    };
    let r = run_checks(&test_cfg(), &ds, &[], &opts);
    let cov = r.levels[0].coverage.as_ref().expect("coverage");
    assert_eq!(cov.overlaps.count, 0);
    assert_eq!(cov.overlaps.below_tolerance_count, 1);
    assert!((cov.overlaps.below_tolerance_area_m2 - 20.0).abs() < 1e-6);
    assert_eq!(cov.gaps.count, 0);
    assert_eq!(cov.gaps.below_tolerance_count, 1);
}

#[test]
fn number_formatting() {
    assert_eq!(fmt_int(401_032), "401,032");
    assert_eq!(fmt_int(999), "999");
    assert_eq!(fmt_num(1234567.891, 2), "1,234,567.89");
    assert_eq!(fmt_num(-0.0001, 2), "0.00");
    assert_eq!(fmt_area(890_700_000.0), "890,700,000 m² (890.700 km²)");
}

/// The sweep's sort key orders as `f64::total_cmp`: signed zeros, infinities, NaNs,
/// subnormals and coordinates, every pair.
#[test]
fn total_order_key_orders_as_total_cmp() {
    let xs = [
        f64::NEG_INFINITY,
        -f64::NAN,
        -5_806_757.063,
        -1.0,
        -f64::MIN_POSITIVE,
        -4.9e-324,
        -0.0,
        0.0,
        4.9e-324,
        f64::MIN_POSITIVE,
        1.0,
        // Two neighbouring doubles.
        f64::from_bits(390_202.154f64.to_bits() - 1),
        390_202.154,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
    ];
    for a in xs {
        for b in xs {
            assert_eq!(
                total_order_key(a).cmp(&total_order_key(b)),
                a.total_cmp(&b),
                "{a} vs {b}"
            );
        }
    }
}
