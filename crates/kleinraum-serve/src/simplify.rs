//! Topology-preserving simplification of a level's polygons, for maps at coarse zoom levels.
//!
//! A partition's neighbours share their border vertices. Simplifying each polygon on its own
//! (Douglas–Peucker per ring) would drop different vertices on the two sides of a border and
//! open gaps and overlaps between neighbours. Here the rings are cut into *arcs* at the
//! junctions (vertices where the set of neighbouring rings changes, as in TopoJSON), every arc
//! is simplified once, and both rings that use it keep the same vertices. The result is a keep
//! mask per ring vertex: the kept vertices are a subset of the original ones, so the mask
//! applies to the geometry in any CRS (reprojection maps vertex to vertex).
//!
//! Pure and deterministic: no I/O. Cost is linear in the number of vertices plus the
//! Douglas–Peucker work per arc.

use geo::{Coord, MultiPolygon};
use std::collections::HashMap;

/// Keep mask of one feature: per polygon, per ring (exterior first), per vertex (the closing
/// vertex included); `true` = the vertex stays.
pub type Mask = Vec<Vec<Vec<bool>>>;

/// Where a ring comes from: feature, polygon, ring.
#[derive(Clone, Copy)]
struct RingRef {
    feature: usize,
    polygon: usize,
    ring: usize,
}

/// One arc: vertex ids in canonical direction, and whether it must keep an interior vertex
/// (because a ring that uses it has too few arcs to stay a polygon otherwise).
struct Arc {
    ids: Vec<u32>,
    needs_interior: bool,
    closed: bool,
}

/// Simplifies the polygons of one level (`None` = an area without geometry) with `tolerance`
/// in the units of the coordinates (metres in the working CRS). Returns a keep mask per feature.
pub fn simplify_level(polys: &[Option<&MultiPolygon<f64>>], tolerance: f64) -> Vec<Option<Mask>> {
    // 1. Vertex ids: equal coordinates (bit for bit) are the same vertex.
    let mut ids: HashMap<(u64, u64), u32> = HashMap::new();
    let mut coords: Vec<Coord<f64>> = Vec::new();
    let mut rings: Vec<(RingRef, Vec<u32>)> = Vec::new();
    for (fi, mp) in polys.iter().enumerate() {
        let Some(mp) = mp else { continue };
        for (pi, p) in mp.0.iter().enumerate() {
            for (ri, r) in std::iter::once(p.exterior())
                .chain(p.interiors())
                .enumerate()
            {
                let mut pts = &r.0[..];
                // The closing vertex repeats the first one.
                if pts.len() > 1 && pts.first() == pts.last() {
                    pts = &pts[..pts.len() - 1];
                }
                let ring: Vec<u32> = pts
                    .iter()
                    .map(|c| {
                        let key = (c.x.to_bits(), c.y.to_bits());
                        *ids.entry(key).or_insert_with(|| {
                            coords.push(*c);
                            (coords.len() - 1) as u32
                        })
                    })
                    .collect();
                rings.push((
                    RingRef {
                        feature: fi,
                        polygon: pi,
                        ring: ri,
                    },
                    ring,
                ));
            }
        }
    }

    // 2. Junctions: a vertex whose neighbours differ between its occurrences (where borders
    //    meet or part), or that occurs twice in one ring.
    let mut seen: HashMap<u32, ((u32, u32), usize)> = HashMap::new();
    let mut junction = vec![false; coords.len()];
    for (ri, (_, ring)) in rings.iter().enumerate() {
        let n = ring.len();
        for i in 0..n {
            let v = ring[i];
            let a = ring[(i + n - 1) % n];
            let b = ring[(i + 1) % n];
            let pair = (a.min(b), a.max(b));
            match seen.get(&v) {
                None => {
                    seen.insert(v, (pair, ri));
                }
                Some(&(p, r)) => {
                    if p != pair || r == ri {
                        junction[v as usize] = true;
                    }
                }
            }
        }
    }

    // 3. Cut every ring into arcs at its junctions; identical arcs (either direction) are one.
    let mut arcs: Vec<Arc> = Vec::new();
    let mut arc_of: HashMap<Vec<u32>, usize> = HashMap::new();
    // Per ring: (arc index, reversed, ring position of the arc's first vertex).
    let mut ring_arcs: Vec<Vec<(usize, bool, usize)>> = Vec::with_capacity(rings.len());
    for (_, ring) in &rings {
        let n = ring.len();
        let mut pieces: Vec<(Vec<u32>, usize)> = Vec::new();
        if n == 0 {
            ring_arcs.push(Vec::new());
            continue;
        }
        let starts: Vec<usize> = (0..n).filter(|&i| junction[ring[i] as usize]).collect();
        if starts.is_empty() {
            // A ring without junctions (an island, or a polygon whose whole border is shared with
            // one enclosing ring): one closed arc, started at its smallest vertex id so both
            // rings that share it start at the same place.
            let s = (0..n).min_by_key(|&i| ring[i]).unwrap_or(0);
            let mut seq: Vec<u32> = (0..=n).map(|k| ring[(s + k) % n]).collect();
            if seq.len() < 2 {
                seq.push(seq[0]);
            }
            pieces.push((seq, s));
        } else {
            for (k, &s) in starts.iter().enumerate() {
                let e = starts[(k + 1) % starts.len()];
                let len = if e > s { e - s } else { e + n - s };
                let seq: Vec<u32> = (0..=len).map(|j| ring[(s + j) % n]).collect();
                pieces.push((seq, s));
            }
        }
        let mut list = Vec::with_capacity(pieces.len());
        let count = pieces.len();
        for (seq, start) in pieces {
            let rev: Vec<u32> = seq.iter().rev().copied().collect();
            let (key, reversed) = if rev < seq { (rev, true) } else { (seq, false) };
            let closed = key.first() == key.last();
            let ai = *arc_of.entry(key.clone()).or_insert_with(|| {
                arcs.push(Arc {
                    ids: key,
                    needs_interior: false,
                    closed,
                });
                arcs.len() - 1
            });
            // A ring of two arcs collapses to a line unless each keeps an interior vertex.
            if count <= 2 {
                arcs[ai].needs_interior = true;
            }
            list.push((ai, reversed, start));
        }
        ring_arcs.push(list);
    }

    // 4. Simplify each arc once.
    let kept: Vec<Vec<bool>> = arcs
        .iter()
        .map(|a| {
            let pts: Vec<Coord<f64>> = a.ids.iter().map(|&i| coords[i as usize]).collect();
            if a.closed {
                simplify_closed(&pts, tolerance)
            } else {
                simplify_open(&pts, tolerance, a.needs_interior)
            }
        })
        .collect();

    // 5. Masks per feature, in the order of the input rings (closing vertex = first vertex).
    let mut out: Vec<Option<Mask>> = polys
        .iter()
        .map(|mp| {
            mp.map(|mp| {
                mp.0.iter()
                    .map(|p| {
                        std::iter::once(p.exterior())
                            .chain(p.interiors())
                            .map(|r| vec![true; r.0.len()])
                            .collect()
                    })
                    .collect()
            })
        })
        .collect();
    for ((rr, ring), list) in rings.iter().zip(&ring_arcs) {
        let n = ring.len();
        let Some(Some(mask)) = out.get_mut(rr.feature) else {
            continue;
        };
        let m = &mut mask[rr.polygon][rr.ring];
        for &(ai, reversed, start) in list {
            let k = &kept[ai];
            let len = k.len();
            for j in 0..len {
                let keep = if reversed { k[len - 1 - j] } else { k[j] };
                m[(start + j) % n] = keep;
            }
        }
        // Closing vertex follows the first.
        if m.len() > n {
            let first = m[0];
            for x in m.iter_mut().skip(n) {
                *x = first;
            }
        }
    }
    out
}

/// Applies `mask` to a multipolygon with the same structure (the same geometry in another CRS).
pub fn apply_mask(mp: &MultiPolygon<f64>, mask: &Mask) -> MultiPolygon<f64> {
    use geo::{LineString, Polygon};
    let ring = |r: &LineString<f64>, m: &Vec<bool>| {
        LineString(
            r.0.iter()
                .zip(m.iter().chain(std::iter::repeat(&true)))
                .filter(|(_, k)| **k)
                .map(|(c, _)| *c)
                .collect(),
        )
    };
    MultiPolygon(
        mp.0.iter()
            .zip(mask)
            .map(|(p, pm)| {
                let ext = ring(p.exterior(), &pm[0]);
                let ints = p
                    .interiors()
                    .iter()
                    .zip(pm.iter().skip(1))
                    .map(|(r, m)| ring(r, m))
                    .collect();
                Polygon::new(ext, ints)
            })
            .collect(),
    )
}

/// Number of vertices a mask keeps (closing vertices included).
pub fn kept_vertices(mask: &Mask) -> usize {
    mask.iter().flatten().flatten().filter(|k| **k).count()
}

#[doc(hidden)] // public for tests/it/units
pub fn seg_dist(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (a.x + t * dx, a.y + t * dy);
    ((p.x - qx).powi(2) + (p.y - qy).powi(2)).sqrt()
}

/// Douglas–Peucker between `lo` and `hi` (both kept), iterative.
fn dp(pts: &[Coord<f64>], lo: usize, hi: usize, tol: f64, keep: &mut [bool]) {
    let mut stack = vec![(lo, hi)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let mut best = (0.0, a);
        for i in a + 1..b {
            let d = seg_dist(pts[i], pts[a], pts[b]);
            if d > best.0 {
                best = (d, i);
            }
        }
        if best.0 > tol {
            keep[best.1] = true;
            stack.push((a, best.1));
            stack.push((best.1, b));
        }
    }
}

/// The interior vertex farthest from the chord `lo`–`hi`, if any.
fn farthest(pts: &[Coord<f64>], lo: usize, hi: usize) -> Option<usize> {
    (lo + 1..hi).max_by(|&i, &j| {
        seg_dist(pts[i], pts[lo], pts[hi]).total_cmp(&seg_dist(pts[j], pts[lo], pts[hi]))
    })
}

fn simplify_open(pts: &[Coord<f64>], tol: f64, needs_interior: bool) -> Vec<bool> {
    let n = pts.len();
    let mut keep = vec![false; n];
    if n == 0 {
        return keep;
    }
    keep[0] = true;
    keep[n - 1] = true;
    dp(pts, 0, n - 1, tol, &mut keep);
    if needs_interior
        && !keep[1..n - 1].iter().any(|k| *k)
        && let Some(i) = farthest(pts, 0, n - 1)
    {
        keep[i] = true;
    }
    keep
}

/// A closed arc (first = last): keeps the start, the vertex farthest from it and one more, so
/// the ring stays a polygon, then Douglas–Peucker on both halves.
fn simplify_closed(pts: &[Coord<f64>], tol: f64) -> Vec<bool> {
    let n = pts.len();
    let mut keep = vec![false; n];
    if n == 0 {
        return keep;
    }
    keep[0] = true;
    keep[n - 1] = true;
    if n < 4 {
        return vec![true; n];
    }
    let d0 = |i: usize| (pts[i].x - pts[0].x).powi(2) + (pts[i].y - pts[0].y).powi(2);
    let far = (1..n - 1)
        .max_by(|&i, &j| d0(i).total_cmp(&d0(j)))
        .unwrap_or(1);
    keep[far] = true;
    dp(pts, 0, far, tol, &mut keep);
    dp(pts, far, n - 1, tol, &mut keep);
    // A triangle at least: a third vertex off the line start–far.
    if keep.iter().filter(|k| **k).count() < 4 {
        let third = (1..n - 1).filter(|&i| i != far).max_by(|&i, &j| {
            seg_dist(pts[i], pts[0], pts[far]).total_cmp(&seg_dist(pts[j], pts[0], pts[far]))
        });
        if let Some(i) = third {
            keep[i] = true;
        }
    }
    keep
}
