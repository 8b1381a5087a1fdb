use geo::MultiPolygon;
use kleinraum_aggregate::spatial::*;
use kleinraum_testdata::synthetic::{Rng, mp, random_partition, square};

/// The index at `density` answers as `brute_force` (the plain rule, worked out once for every
/// density) through both its one-point and its batch path.
fn check_against_brute_force(
    polys: &[MultiPolygon<f64>],
    pts: &[(f64, f64)],
    brute_force: &[Option<u32>],
    density: f64,
) {
    let idx = GridIndex::build_with_density(polys, density);
    for (&(x, y), &want) in pts.iter().zip(brute_force) {
        assert_eq!(idx.locate(x, y), want, "point ({x}, {y}) density {density}");
    }
    let assigned = idx.assign(
        &pts.iter().map(|p| p.0).collect::<Vec<_>>(),
        &pts.iter().map(|p| p.1).collect::<Vec<_>>(),
    );
    for (k, &want) in brute_force.iter().enumerate() {
        assert_eq!(
            assigned[k],
            want.unwrap_or(OUTSIDE),
            "point {k} density {density}"
        );
    }
}

#[test]
fn grid_index_matches_brute_force_on_seeded_random_points() {
    for seed in [1u64, 7, 42, 2024] {
        let polys = random_partition(seed, 8, 6);
        let mut rng = Rng(seed * 31 + 5);
        let mut pts = Vec::new();
        for _ in 0..20_000 {
            pts.push((
                499_950.0 + rng.unit() * 900.0,
                5_799_950.0 + rng.unit() * 900.0,
            ));
        }
        // Exactly on vertices and on the midpoints of edges: the border rule decides.
        for p in &polys {
            for pg in &p.0 {
                for w in pg.exterior().0.windows(2) {
                    pts.push((w[0].x, w[0].y));
                    pts.push(((w[0].x + w[1].x) / 2.0, (w[0].y + w[1].y) / 2.0));
                }
            }
        }
        let brute_force: Vec<Option<u32>> = pts
            .iter()
            .map(|&(x, y)| locate_brute_force(&polys, x, y))
            .collect();
        let hits = brute_force.iter().flatten().count();
        assert!(
            hits > pts.len() / 2,
            "test points mostly inside: {hits}/{}",
            pts.len()
        );
        for density in [0.05, 0.5, 2.0, 8.0] {
            check_against_brute_force(&polys, &pts, &brute_force, density);
        }
    }
}

#[test]
fn visiting_in_any_order_gives_the_same_assignment() {
    // Morton order and a shuffled order, over points that also lie on every vertex.
    let polys = random_partition(5, 8, 6);
    let mut rng = Rng(99);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for _ in 0..50_000 {
        xs.push(499_950.0 + rng.unit() * 900.0);
        ys.push(5_799_950.0 + rng.unit() * 900.0);
    }
    for p in &polys {
        for c in p.0.iter().flat_map(|pg| pg.exterior().0.iter()) {
            xs.push(c.x);
            ys.push(c.y);
        }
    }
    let idx = GridIndex::build(&polys);
    let plain = idx.assign(&xs, &ys);
    assert!(plain.contains(&OUTSIDE) && plain.iter().any(|&a| a != OUTSIDE));
    let morton = morton_order(&xs, &ys);
    assert_eq!(idx.assign_in_order(&xs, &ys, &morton), plain);
    let coarse = coarse_morton_order(&xs, &ys);
    assert_eq!(idx.assign_in_order(&xs, &ys, &coarse), plain);
    let mut shuffled: Vec<u32> = (0..xs.len() as u32).collect();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    assert_eq!(idx.assign_in_order(&xs, &ys, &shuffled), plain);
}

/// The coarse order equals a stable sort of the points by the cell of a 64 × 64 grid over
/// their bounding box, numbered along the Z curve (computed here the plain way); the full
/// Morton order refines it.
#[test]
fn coarse_morton_order_is_a_stable_sort_by_z_cell() {
    let mut rng = Rng(7);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for k in 0..300_000 {
        // Clusters and spread points; a few repeated and non-finite ones.
        let (cx, cy) = if k % 3 == 0 {
            (1000.0, 2000.0)
        } else {
            (0.0, 0.0)
        };
        xs.push(cx + rng.unit() * if k % 2 == 0 { 50.0 } else { 5000.0 });
        ys.push(cy + rng.unit() * 3000.0);
    }
    xs[17] = f64::NAN;
    ys[99] = f64::INFINITY;
    xs[5] = xs[4];
    ys[5] = ys[4];
    let finite = |i: usize| xs[i].is_finite() && ys[i].is_finite();
    let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for i in (0..xs.len()).filter(|&i| finite(i)) {
        minx = minx.min(xs[i]);
        maxx = maxx.max(xs[i]);
        miny = miny.min(ys[i]);
        maxy = maxy.max(ys[i]);
    }
    let scale = 65_535.0 / (maxx - minx).max(maxy - miny);
    let cell = |i: usize| -> u32 {
        if !finite(i) {
            return u32::MAX;
        }
        // The top 6 bits of each 16-bit grid coordinate, interleaved (x in the even bits).
        let qx = (((xs[i] - minx) * scale) as u32) >> 10;
        let qy = (((ys[i] - miny) * scale) as u32) >> 10;
        (0..6).fold(0, |z, b| {
            z | ((qx >> b) & 1) << (2 * b) | ((qy >> b) & 1) << (2 * b + 1)
        })
    };
    let mut want: Vec<u32> = (0..xs.len() as u32).collect();
    want.sort_by_key(|&i| cell(i as usize));
    let got = coarse_morton_order(&xs, &ys);
    assert_eq!(got, want);
    // The full order visits the cells in the same order.
    let cells_of = |order: &[u32]| -> Vec<u32> {
        let mut c: Vec<u32> = order.iter().map(|&i| cell(i as usize)).collect();
        c.dedup();
        c
    };
    let full = morton_order(&xs, &ys);
    assert_eq!(cells_of(&full), cells_of(&got));
    assert!(cells_of(&got).len() > 1000);
}

#[test]
fn index_is_the_same_whatever_the_number_of_bands() {
    // The build splits the grid into bands of rows by the number of threads: one thread
    // (one band per 8 rows) and seven threads must give the identical index.
    let polys = random_partition(11, 8, 6);
    let build = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| format!("{:?}", GridIndex::build_with_density(&polys, 8.0)))
    };
    let one = build(1);
    assert!(one.contains("BOUNDARY") || one.contains("edge_start"));
    assert_eq!(one, build(7));
    assert_eq!(one, build(2));
}

#[test]
fn odd_polygons_are_indexed_as_the_rule_reads_them() {
    // The build walks the rings band by band, in pieces: a polygon without parts, one of
    // zero area, one with a repeated vertex, one with a vertex that is not a number, a strip
    // through every band of the grid, small squares beside it and a ring of 692 vertices
    // with a hole of 164 answer as the plain rule does, at every density and number of bands.
    let mut dup = square(30.0, 0.0, 40.0, 10.0);
    dup.insert(2, dup[1]);
    let mut nan = square(30.0, 20.0, 40.0, 30.0);
    nan.insert(
        3,
        geo::Coord {
            x: f64::NAN,
            y: 25.0,
        },
    );
    let mut polys = vec![
        MultiPolygon(vec![]),
        mp(square(5.0, 5.0, 5.0, 5.0), vec![]),
        mp(dup, vec![]),
        mp(nan, vec![]),
        mp(square(0.0, -200.0, 2.0, 400.0), vec![]),
    ];
    for k in 0..20 {
        let y = -200.0 + 30.0 * k as f64;
        polys.push(mp(square(3.0, y, 25.0, y + 25.0), vec![]));
    }
    // A ring of many vertices (walked in pieces) through every band, with a detailed hole.
    let dense = |x0: f64, y0: f64, x1: f64, y1: f64, per_side: usize| {
        let c = square(x0, y0, x1, y1);
        let mut out: Vec<geo::Coord<f64>> = c
            .windows(2)
            .flat_map(|w| {
                (0..per_side).map(move |k| {
                    let t = k as f64 / per_side as f64;
                    // A little off the straight line, so no three vertices are collinear.
                    let bump = if k % 2 == 1 { 0.01 } else { 0.0 };
                    geo::Coord {
                        x: w[0].x + (w[1].x - w[0].x) * t + bump,
                        y: w[0].y + (w[1].y - w[0].y) * t + bump,
                    }
                })
            })
            .collect();
        out.push(c[0]);
        out
    };
    polys.push(mp(
        dense(26.0, -200.0, 29.0, 400.0, 173),
        vec![dense(27.0, 0.0, 28.0, 100.0, 41)],
    ));
    let mut pts = Vec::new();
    for i in 0..=90 {
        for j in 0..=660 {
            pts.push((-3.0 + 0.5 * i as f64, -205.0 + j as f64 * 0.93));
        }
    }
    let brute_force: Vec<Option<u32>> = pts
        .iter()
        .map(|&(x, y)| locate_brute_force(&polys, x, y))
        .collect();
    for want in [4, 2, 5, 24, 25] {
        assert!(brute_force.contains(&Some(want)), "polygon {want} is hit");
    }
    // No edge, no area, a ring broken by a NaN: nothing inside.
    for never in [0, 1, 3] {
        assert!(
            !brute_force.contains(&Some(never)),
            "polygon {never} is hit"
        );
    }
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| {
            for density in [0.5, 2.0, 8.0] {
                check_against_brute_force(&polys, &pts, &brute_force, density);
            }
        });
    }
}

#[test]
fn point_on_shared_border_goes_to_east_or_north_area() {
    // West (0) and east (1) squares share x = 10; north (2) sits on top of both.
    let polys = vec![
        mp(square(0.0, 0.0, 10.0, 10.0), vec![]),
        mp(square(10.0, 0.0, 20.0, 10.0), vec![]),
        mp(square(0.0, 10.0, 20.0, 20.0), vec![]),
    ];
    let idx = GridIndex::build(&polys);
    for (x, y, want) in [
        (10.0, 5.0, Some(1)),  // vertical border: east
        (5.0, 10.0, Some(2)),  // horizontal border: north
        (15.0, 10.0, Some(2)), // horizontal border: north
        (10.0, 10.0, Some(2)), // the corner of all three: east-north-east
        (0.0, 5.0, Some(0)),   // outer west edge belongs to the area east of it
        (20.0, 5.0, None),     // outer east edge: nothing lies east of it
        (5.0, 20.0, None),     // outer north edge: nothing lies north of it
        (5.0, 0.0, Some(0)),   // outer south edge belongs to the area north of it
    ] {
        assert_eq!(idx.locate(x, y), want, "({x}, {y})");
        assert_eq!(locate_brute_force(&polys, x, y), want, "({x}, {y})");
    }
}

#[test]
fn overlap_goes_to_first_polygon_in_order() {
    let polys = vec![
        mp(square(0.0, 0.0, 10.0, 10.0), vec![]),
        mp(square(5.0, 5.0, 15.0, 15.0), vec![]),
    ];
    let idx = GridIndex::build(&polys);
    assert_eq!(idx.locate(7.0, 7.0), Some(0));
    assert_eq!(idx.locate(12.0, 12.0), Some(1));
    let swapped = vec![polys[1].clone(), polys[0].clone()];
    assert_eq!(GridIndex::build(&swapped).locate(7.0, 7.0), Some(0));
}

#[test]
fn hole_is_outside_its_polygon() {
    let polys = vec![mp(
        square(0.0, 0.0, 30.0, 30.0),
        vec![square(10.0, 10.0, 20.0, 20.0)],
    )];
    let idx = GridIndex::build(&polys);
    assert_eq!(idx.locate(15.0, 15.0), None);
    assert_eq!(idx.locate(5.0, 15.0), Some(0));
    assert_eq!(idx.locate(-1.0, 15.0), None);
    assert_eq!(idx.locate(f64::NAN, 15.0), None);
}

#[test]
fn near_boundary_finds_points_on_edges_only() {
    let polys = vec![
        mp(square(0.0, 0.0, 10.0, 10.0), vec![]),
        mp(square(10.0, 0.0, 20.0, 10.0), vec![]),
    ];
    let idx = GridIndex::build(&polys);
    assert!(idx.near_boundary(10.0, 5.0, 0.01));
    assert!(idx.near_boundary(10.005, 5.0, 0.01));
    assert!(!idx.near_boundary(10.5, 5.0, 0.01));
    assert!(!idx.near_boundary(5.0, 5.0, 0.01));
}

/// Points exactly on edges and vertices leave the segment test undecided; the index then
/// applies the plain rule to every ring of the candidate polygons as it stores them (all
/// parts, all holes, in any order of rings). A two-part polygon with a hole in each part, an
/// island filling one hole's corner and a point grid through every edge and vertex: the
/// same answers as the plain rule, with the undecided case taken many times.
#[test]
fn undecided_points_get_the_plain_rule_on_every_ring() {
    let part = |outer, hole| mp(outer, vec![hole]).0.remove(0);
    let two_parts = MultiPolygon(vec![
        part(square(0.0, 0.0, 10.0, 10.0), square(2.0, 2.0, 4.0, 4.0)),
        part(square(20.0, 0.0, 30.0, 10.0), square(22.0, 2.0, 26.0, 8.0)),
    ]);
    let polys = vec![
        mp(square(3.0, 3.0, 4.0, 4.0), vec![]),
        two_parts,
        mp(square(10.0, 0.0, 20.0, 10.0), vec![]),
    ];
    let mut pts = Vec::new();
    for i in 0..=64 {
        for j in 0..=24 {
            pts.push((-1.0 + 0.5 * i as f64, -1.0 + 0.5 * j as f64));
        }
    }
    let brute_force: Vec<Option<u32>> = pts
        .iter()
        .map(|&(x, y)| locate_brute_force(&polys, x, y))
        .collect();
    for want in [0, 1, 2] {
        assert!(brute_force.contains(&Some(want)), "polygon {want} is hit");
    }
    for density in [0.5, 2.0, 8.0] {
        let idx = GridIndex::build_with_density(&polys, density);
        let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
        let (_, _, undecided) = idx.profile(&xs, &ys);
        assert!(undecided > 20, "{undecided} points left to the plain rule");
        check_against_brute_force(&polys, &pts, &brute_force, density);
    }
    // Beyond the grid's margin the nearness test reads every ring.
    let idx = GridIndex::build(&polys);
    assert!(idx.near_boundary(-5.0, 5.0, 5.0));
    assert!(idx.near_boundary(35.0, 9.0, 5.0));
    assert!(!idx.near_boundary(-5.0, 5.0, 4.9));
    assert!(!idx.near_boundary(-500.0, 5.0, 10.0));
}
