use geo::{Coord, MultiPolygon};
use geo::{LineString, Polygon};
use kleinraum_serve::simplify::*;

/// `k` vertices from `a` towards `b` (b excluded), wiggling sideways by up to `amp`.
fn edge(a: (f64, f64), b: (f64, f64), k: usize, amp: f64) -> Vec<Coord<f64>> {
    (0..k)
        .map(|i| {
            let t = i as f64 / k as f64;
            let w = if i == 0 { 0.0 } else { amp * (t * 37.0).sin() };
            // sideways = perpendicular to the edge
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let l = (dx * dx + dy * dy).sqrt();
            Coord {
                x: a.0 + dx * t - dy / l * w,
                y: a.1 + dy * t + dx / l * w,
            }
        })
        .collect()
}

/// A closed ring from edges; `rev` edges are given in the opposite direction (a neighbour's).
fn ring_of(parts: Vec<Vec<Coord<f64>>>) -> LineString<f64> {
    let mut c: Vec<Coord<f64>> = parts.into_iter().flatten().collect();
    c.push(c[0]);
    LineString(c)
}

/// `e` reversed as the neighbour walks it: from its end vertex `end` back to (not incl.) its start.
fn reversed(e: &[Coord<f64>], end: Coord<f64>) -> Vec<Coord<f64>> {
    let mut v = vec![end];
    v.extend(e[1..].iter().rev());
    v
}

fn square(x0: f64, y0: f64, s: f64, k: usize, amp: f64) -> LineString<f64> {
    ring_of(vec![
        edge((x0, y0), (x0 + s, y0), k, amp),
        edge((x0 + s, y0), (x0 + s, y0 + s), k, amp),
        edge((x0 + s, y0 + s), (x0, y0 + s), k, amp),
        edge((x0, y0 + s), (x0, y0), k, amp),
    ])
}

#[test]
fn shared_borders_keep_the_same_vertices_on_both_sides() {
    // A and B share one wiggly edge: A walks it upwards, B downwards.
    let shared = edge((1000.0, 0.0), (1000.0, 1000.0), 200, 3.0);
    let top = Coord {
        x: 1000.0,
        y: 1000.0,
    };
    let a = MultiPolygon(vec![Polygon::new(
        ring_of(vec![
            edge((0.0, 0.0), (1000.0, 0.0), 50, 1.0),
            shared.clone(),
            edge((1000.0, 1000.0), (0.0, 1000.0), 50, 1.0),
            edge((0.0, 1000.0), (0.0, 0.0), 50, 1.0),
        ]),
        vec![],
    )]);
    let b = MultiPolygon(vec![Polygon::new(
        ring_of(vec![
            edge((1000.0, 0.0), (2000.0, 0.0), 50, 1.0),
            edge((2000.0, 0.0), (2000.0, 1000.0), 50, 1.0),
            edge((2000.0, 1000.0), (1000.0, 1000.0), 50, 1.0),
            reversed(&shared, top),
        ]),
        vec![],
    )]);
    let polys = [Some(&a), Some(&b), None];
    for tol in [0.5, 2.0, 10.0, 100.0, 5000.0] {
        let masks = simplify_level(&polys, tol);
        assert!(masks[2].is_none());
        let sa = apply_mask(&a, masks[0].as_ref().unwrap());
        let sb = apply_mask(&b, masks[1].as_ref().unwrap());
        for s in [&sa, &sb] {
            let r = &s.0[0].exterior().0;
            assert!(r.len() >= 4, "still a polygon at tolerance {tol}");
            assert_eq!(r.first(), r.last(), "closed");
        }
        assert!(sa.0[0].exterior().0.len() < a.0[0].exterior().0.len());
        // The shared border: the same vertices on both sides.
        let on_border = |s: &MultiPolygon<f64>| {
            let mut v: Vec<(u64, u64)> = s.0[0]
                .exterior()
                .0
                .iter()
                .filter(|c| shared.contains(c) || **c == top)
                .map(|c| (c.x.to_bits(), c.y.to_bits()))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        assert_eq!(on_border(&sa), on_border(&sb), "tolerance {tol}");
        assert!(on_border(&sa).len() >= 2);
        // Every kept vertex was an input vertex.
        for c in &sa.0[0].exterior().0 {
            assert!(a.0[0].exterior().0.contains(c));
        }
    }
}

#[test]
fn deviation_stays_within_the_tolerance() {
    let a = MultiPolygon(vec![Polygon::new(
        square(0.0, 0.0, 1000.0, 300, 8.0),
        vec![],
    )]);
    let tol = 2.0;
    let masks = simplify_level(&[Some(&a)], tol);
    let s = apply_mask(&a, masks[0].as_ref().unwrap());
    let kept = &s.0[0].exterior().0;
    for p in &a.0[0].exterior().0 {
        let d = kept
            .windows(2)
            .map(|w| seg_dist(*p, w[0], w[1]))
            .fold(f64::INFINITY, f64::min);
        assert!(
            d <= tol + 1e-9,
            "vertex {p:?} is {d} from the simplified ring"
        );
    }
    assert!(kept_vertices(masks[0].as_ref().unwrap()) < a.0[0].exterior().0.len() / 3);
}

#[test]
fn an_enclave_and_its_hole_stay_identical() {
    // B lies inside A's hole: the hole and B's exterior are one closed arc, started at the
    // same vertex whatever the direction.
    let hole = square(400.0, 400.0, 200.0, 50, 2.0);
    let outer = square(0.0, 0.0, 1000.0, 10, 0.0);
    let mut rev = hole.0.clone();
    rev.reverse();
    // rotate B's ring so it starts elsewhere
    let mut open = rev[..rev.len() - 1].to_vec();
    open.rotate_left(17);
    open.push(open[0]);
    let a = MultiPolygon(vec![Polygon::new(outer, vec![hole])]);
    let b = MultiPolygon(vec![Polygon::new(LineString(open), vec![])]);
    let masks = simplify_level(&[Some(&a), Some(&b)], 20.0);
    let sa = apply_mask(&a, masks[0].as_ref().unwrap());
    let sb = apply_mask(&b, masks[1].as_ref().unwrap());
    let set = |r: &LineString<f64>| {
        let mut v: Vec<(u64, u64)> = r.0.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    assert_eq!(set(&sa.0[0].interiors()[0]), set(sb.0[0].exterior()));
    assert!(sb.0[0].exterior().0.len() >= 4);
}
