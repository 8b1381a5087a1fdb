//! Point-in-polygon assignment: every point to exactly one area, or to none.
//!
//! # The rule (also for points exactly on a border)
//! A point belongs to a polygon when a ray from the point towards +x crosses the polygon's
//! rings an odd number of times, where an edge counts if one end lies strictly above the point's
//! y and the other does not (`(a.y > y) != (b.y > y)`) and the crossing lies strictly right of
//! the point. This is the classic crossing-number test with half-open conventions. Its
//! consequence for borders: a point exactly on a shared border belongs to the area **east** of
//! the border, and on an east–west border to the area **north** of it; a point on a vertex
//! follows the same rule as if it were moved by an infinitesimal step east-north-east. On a
//! partition without gaps and overlaps every point of the plane inside the union thus belongs
//! to exactly one area. Where areas overlap (faulty data, reported by `check`), a point in the
//! overlap goes to the area that comes first in the order given to [`GridIndex::build`].
//!
//! [`locate_brute_force`] is that rule written plainly over all polygons; [`GridIndex`] gives
//! the same answer fast and is tested against it.

use geo::{BoundingRect, Coord, MultiPolygon};

/// Marker for "outside every area" in assignment vectors.
pub const OUTSIDE: u32 = u32::MAX;

/// The crossing-number rule for one ring: toggles `inside` for each edge crossed by the ray.
#[inline]
fn ring_crossings(ring: &[Coord<f64>], x: f64, y: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 2 {
        return false;
    }
    let mut a = ring[n - 1];
    for &b in ring {
        if (a.y > y) != (b.y > y) {
            let xint = a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y);
            if x < xint {
                inside = !inside;
            }
        }
        a = b;
    }
    inside
}

/// Whether `(x, y)` belongs to `poly` under the module's rule (holes included).
pub fn contains_rule(poly: &MultiPolygon<f64>, x: f64, y: f64) -> bool {
    let mut inside = false;
    for p in &poly.0 {
        if ring_crossings(&p.exterior().0, x, y) {
            inside = !inside;
        }
        for hole in p.interiors() {
            if ring_crossings(&hole.0, x, y) {
                inside = !inside;
            }
        }
    }
    inside
}

/// The reference implementation: the first polygon (in slice order) containing the point under
/// the module's rule, by testing every polygon.
pub fn locate_brute_force(polys: &[MultiPolygon<f64>], x: f64, y: f64) -> Option<u32> {
    polys
        .iter()
        .position(|p| contains_rule(p, x, y))
        .map(|i| i as u32)
}

/// Spatial index answering "which area contains this point" with the module's rule.
#[derive(Debug, Clone)]
pub struct GridIndex {
    polys: Vec<MultiPolygon<f64>>,
    bboxes: Vec<geo::Rect<f64>>,
}

impl GridIndex {
    /// Builds the index over the polygons (working CRS, metres). The slice order is the
    /// priority where polygons overlap.
    pub fn build(polys: &[MultiPolygon<f64>]) -> Self {
        let bboxes = polys
            .iter()
            .map(|p| {
                p.bounding_rect().unwrap_or(geo::Rect::new(
                    Coord {
                        x: f64::INFINITY,
                        y: f64::INFINITY,
                    },
                    Coord {
                        x: f64::INFINITY,
                        y: f64::INFINITY,
                    },
                ))
            })
            .collect();
        Self {
            polys: polys.to_vec(),
            bboxes,
        }
    }

    /// Number of polygons indexed.
    pub fn len(&self) -> usize {
        self.polys.len()
    }

    /// True if no polygons are indexed.
    pub fn is_empty(&self) -> bool {
        self.polys.is_empty()
    }

    /// The polygon containing the point, if any.
    pub fn locate(&self, x: f64, y: f64) -> Option<u32> {
        for (i, (p, b)) in self.polys.iter().zip(&self.bboxes).enumerate() {
            if x >= b.min().x
                && x <= b.max().x
                && y >= b.min().y
                && y <= b.max().y
                && contains_rule(p, x, y)
            {
                return Some(i as u32);
            }
        }
        None
    }

    /// Assigns every point; [`OUTSIDE`] for points in no polygon. Runs on all cores.
    pub fn assign(&self, xs: &[f64], ys: &[f64]) -> Vec<u32> {
        use rayon::prelude::*;
        xs.par_iter()
            .zip(ys.par_iter())
            .map(|(&x, &y)| self.locate(x, y).unwrap_or(OUTSIDE))
            .collect()
    }

    /// Whether the point lies within `tolerance` metres of any polygon boundary (for the
    /// "points on a border" count of `check`).
    ///
    /// # Units
    /// `tolerance` in metres (working CRS units).
    pub fn near_boundary(&self, x: f64, y: f64, tolerance: f64) -> bool {
        let p = Coord { x, y };
        for (poly, b) in self.polys.iter().zip(&self.bboxes) {
            if x < b.min().x - tolerance
                || x > b.max().x + tolerance
                || y < b.min().y - tolerance
                || y > b.max().y + tolerance
            {
                continue;
            }
            for pg in &poly.0 {
                for ring in std::iter::once(pg.exterior()).chain(pg.interiors()) {
                    for seg in ring.0.windows(2) {
                        if segment_distance(p, seg[0], seg[1]) <= tolerance {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// Distance from `p` to the segment `a`–`b`.
pub(crate) fn segment_distance(p: Coord<f64>, a: Coord<f64>, b: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0)
    };
    let q = Coord {
        x: a.x + t * d.x,
        y: a.y + t * d.y,
    };
    ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
}
