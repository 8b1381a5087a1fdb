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
#[doc(hidden)] // public for tests/it/units
pub fn segments_meet(l: Line<f64>, m: Line<f64>) -> bool {
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
#[doc(hidden)] // public for tests/it/units
pub fn spike(l: Line<f64>, m: Line<f64>) -> bool {
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
