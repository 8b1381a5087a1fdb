//! Are the rings of a polygon simple? The check that runs before any overlay of a geometry a
//! client sent (a drawn or reshaped draft area): a ring that crosses itself makes the boolean
//! operations slow and their results meaningless, so it is refused with the place where it
//! crosses, before the overlay starts.
//!
//! The rule: two edges of one ring that are not neighbours may not share any point (they
//! neither cross nor touch); two neighbouring edges may share only their common vertex (no
//! spike that doubles back along itself). Rings of different polygons or holes are not
//! compared (the overlays handle touching rings).
//!
//! Edges are compared only when their x-extents overlap (sorted by their left end), so a
//! typical ring of n vertices costs about n log n; a budget of edge-pair tests bounds the
//! pathological cases (every edge spanning the whole width) — past it the geometry is refused as
//! too complex rather than checked for seconds.

use geo::{Coord, Line, LineString, MultiPolygon};

/// Why a ring is not simple, or could not be checked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RingProblem {
    /// Two edges of a ring cross or touch.
    #[error("ring {ring} of polygon {polygon} crosses itself near ({x:.1}, {y:.1})")]
    SelfIntersection {
        /// Polygon (0-based) in the multipolygon.
        polygon: usize,
        /// Ring in the polygon (0 = exterior).
        ring: usize,
        /// Where, in the coordinates of the geometry.
        x: f64,
        /// Where.
        y: f64,
    },
    /// More vertices than allowed.
    #[error("{count} vertices; at most {max} are accepted")]
    TooManyVertices {
        /// Vertices in the geometry.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The check needed more edge comparisons than its budget.
    #[error("too complex to check (more than {0} edge comparisons)")]
    TooComplex(u64),
}

/// Number of vertices of a multipolygon (all rings).
pub fn vertex_count(mp: &MultiPolygon<f64>) -> usize {
    mp.0.iter()
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum()
}

/// Checks every ring of `mp` (see the module documentation) with at most `max_vertices`
/// vertices and `budget` edge-pair tests.
pub fn check_simple(
    mp: &MultiPolygon<f64>,
    max_vertices: usize,
    budget: u64,
) -> Result<(), RingProblem> {
    let count = vertex_count(mp);
    if count > max_vertices {
        return Err(RingProblem::TooManyVertices {
            count,
            max: max_vertices,
        });
    }
    let mut left = budget;
    for (pi, p) in mp.0.iter().enumerate() {
        for (ri, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            if let Some(c) =
                ring_crossing(r, &mut left).map_err(|()| RingProblem::TooComplex(budget))?
            {
                return Err(RingProblem::SelfIntersection {
                    polygon: pi,
                    ring: ri,
                    x: c.x,
                    y: c.y,
                });
            }
        }
    }
    Ok(())
}

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

/// Whether segments `l` and `m` share at least one point (exact predicates on the inputs).
fn segments_meet(l: Line<f64>, m: Line<f64>) -> bool {
    let (a, b, c, d) = (l.start, l.end, m.start, m.end);
    let d1 = orient(c, d, a);
    let d2 = orient(c, d, b);
    let d3 = orient(a, b, c);
    let d4 = orient(a, b, d);
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0))
        && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0))
    {
        return true;
    }
    (d1 == 0.0 && on_segment(c, d, a))
        || (d2 == 0.0 && on_segment(c, d, b))
        || (d3 == 0.0 && on_segment(a, b, c))
        || (d4 == 0.0 && on_segment(a, b, d))
}

/// Whether neighbouring edges `l` (ending at the shared vertex) and `m` (starting there)
/// double back along each other.
fn spike(l: Line<f64>, m: Line<f64>) -> bool {
    orient(l.start, l.end, m.end) == 0.0 && {
        // Collinear: a spike if the direction reverses.
        let (ux, uy) = (l.end.x - l.start.x, l.end.y - l.start.y);
        let (vx, vy) = (m.end.x - m.start.x, m.end.y - m.start.y);
        ux * vx + uy * vy < 0.0
    }
}

/// The first place where the ring is not simple, `Ok(None)` if it is, `Err` when the budget
/// ran out.
fn ring_crossing(r: &LineString<f64>, budget: &mut u64) -> Result<Option<Coord<f64>>, ()> {
    // Edges without zero-length ones (repeated vertices are harmless).
    let edges: Vec<Line<f64>> = r.lines().filter(|l| l.start != l.end).collect();
    let n = edges.len();
    if n < 3 {
        return Ok(None);
    }
    for i in 0..n {
        let j = (i + 1) % n;
        if spike(edges[i], edges[j]) {
            return Ok(Some(edges[i].end));
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let min_x = |l: &Line<f64>| l.start.x.min(l.end.x);
    let max_x = |l: &Line<f64>| l.start.x.max(l.end.x);
    order.sort_by(|&a, &b| min_x(&edges[a]).total_cmp(&min_x(&edges[b])));
    for (k, &i) in order.iter().enumerate() {
        let li = edges[i];
        let (ly0, ly1) = (li.start.y.min(li.end.y), li.start.y.max(li.end.y));
        for &j in &order[k + 1..] {
            let lj = edges[j];
            if min_x(&lj) > max_x(&li) {
                break;
            }
            if *budget == 0 {
                return Err(());
            }
            *budget -= 1;
            let neighbours = (i + 1) % n == j || (j + 1) % n == i;
            if neighbours || lj.start.y.max(lj.end.y) < ly0 || lj.start.y.min(lj.end.y) > ly1 {
                continue;
            }
            if segments_meet(li, lj) {
                return Ok(Some(li.start));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Polygon, polygon};

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
}
