//! Changing area definitions (Gebietsstände): crosswalks between two partitions, address-weighted
//! interpolation of published values, incremental reassignment of points after a draft edit, and
//! the differencing guard.
//!
//! Everything here works on assignments (area index per address point, [`OUTSIDE`] for none), so
//! two partitions are compared through the addresses they share: the weight of a pair (old area,
//! new area) is the number of residents (or any count) at the addresses lying in both. That is
//! the dasymetric idea: people live at addresses, not uniformly over an area.

use crate::spatial::{OUTSIDE, contains_rule};
use geo::{BoundingRect as _, MultiPolygon};
use std::collections::HashMap;

/// One pair of areas sharing weight: `weight` is the sum of the point weights assigned to `from`
/// in the first partition and to `to` in the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrosswalkCell {
    /// Area index in the `from` partition.
    pub from: u32,
    /// Area index in the `to` partition.
    pub to: u32,
    /// Shared weight (e.g. residents), > 0.
    pub weight: u64,
}

/// The overlap of two partitions measured in point weights.
///
/// Only pairs with weight > 0 are listed, so `share_of_from` over the cells of one `from` area
/// sums to 1 whenever that area has weight. Totals count only points assigned in both
/// partitions; the weight of the rest is `unmatched`.
#[derive(Debug, Clone, PartialEq)]
pub struct Crosswalk {
    /// Number of areas of the `from` partition.
    pub n_from: usize,
    /// Number of areas of the `to` partition.
    pub n_to: usize,
    /// Pairs with weight > 0, sorted by (`from`, `to`).
    pub cells: Vec<CrosswalkCell>,
    /// Σ weight per `from` area (over points assigned in both partitions).
    pub from_total: Vec<u64>,
    /// Σ weight per `to` area (over points assigned in both partitions).
    pub to_total: Vec<u64>,
    /// Weight of points [`OUTSIDE`] (or out of range) in either assignment.
    pub unmatched: u64,
}

/// Which pair of areas (one per partition) each point lies in, for two assignments of the same
/// points: worked out once, so that a crosswalk per weight column (every count of every year, as
/// the differencing guard needs) is one sequential pass over the weights instead of a hash
/// lookup per point and column.
#[derive(Debug, Clone)]
pub struct Pairing {
    n_from: usize,
    n_to: usize,
    /// The distinct (from, to) pairs, sorted, so crosswalk cells come out in order.
    pairs: Vec<(u32, u32)>,
    /// Per point: its index in `pairs`, or [`Pairing::UNPAIRED`].
    slot: Vec<u32>,
}

impl Pairing {
    /// A point outside (or out of range in) either assignment.
    const UNPAIRED: u32 = u32::MAX;
    /// Up to this many possible pairs (`n_from × n_to`, 16 MB of slots) the pairs are found
    /// through a dense table; beyond it through a hash map. Also through the hash map when the
    /// table would have more than [`Self::DENSE_PER_POINT`] slots per point: a draft area's
    /// few hundred addresses against a whole version must not fill a table for every pair.
    const DENSE_LIMIT: usize = 1 << 22;
    const DENSE_PER_POINT: usize = 4;

    /// Pairs the points of two assignments. An index ≥ `n_from` / `n_to` (such as
    /// [`OUTSIDE`]) leaves the point unpaired.
    ///
    /// # Panics
    /// If the two slices differ in length (a caller bug, not bad data).
    pub fn new(assign_from: &[u32], assign_to: &[u32], n_from: usize, n_to: usize) -> Self {
        assert_eq!(
            assign_from.len(),
            assign_to.len(),
            "Pairing::new: assignments of different lengths"
        );
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let dense = n_from.saturating_mul(n_to)
            <= Self::DENSE_LIMIT.min(assign_from.len().saturating_mul(Self::DENSE_PER_POINT));
        let mut table = vec![Self::UNPAIRED; if dense { n_from * n_to } else { 0 }];
        let mut hashed: HashMap<(u32, u32), u32> = HashMap::new();
        let mut slot: Vec<u32> = assign_from
            .iter()
            .zip(assign_to)
            .map(|(&f, &t)| {
                if f as usize >= n_from || t as usize >= n_to {
                    return Self::UNPAIRED;
                }
                let cell = if dense {
                    &mut table[f as usize * n_to + t as usize]
                } else {
                    hashed.entry((f, t)).or_insert(Self::UNPAIRED)
                };
                if *cell == Self::UNPAIRED {
                    *cell = pairs.len() as u32;
                    pairs.push((f, t));
                }
                *cell
            })
            .collect();
        // Renumber the pairs in sorted order.
        let mut order: Vec<u32> = (0..pairs.len() as u32).collect();
        order.sort_unstable_by_key(|&k| pairs[k as usize]);
        let mut rank = vec![0u32; pairs.len()];
        for (r, &k) in order.iter().enumerate() {
            rank[k as usize] = r as u32;
        }
        for s in slot.iter_mut().filter(|s| **s != Self::UNPAIRED) {
            *s = rank[*s as usize];
        }
        let pairs = order.iter().map(|&k| pairs[k as usize]).collect();
        Pairing {
            n_from,
            n_to,
            pairs,
            slot,
        }
    }

    /// The crosswalk for one weight per point (as [`Crosswalk::build`]).
    ///
    /// # Panics
    /// If `weights` is not one per point (a caller bug, not bad data).
    pub fn crosswalk(&self, weights: &[u32]) -> Crosswalk {
        assert_eq!(
            weights.len(),
            self.slot.len(),
            "Pairing::crosswalk: {} weights for {} points",
            weights.len(),
            self.slot.len()
        );
        let mut sums = vec![0u64; self.pairs.len()];
        let mut unmatched = 0u64;
        for (&s, &w) in self.slot.iter().zip(weights) {
            match sums.get_mut(s as usize) {
                Some(sum) => *sum += u64::from(w),
                None => unmatched += u64::from(w),
            }
        }
        let cells = self
            .pairs
            .iter()
            .zip(&sums)
            .filter(|&(_, &weight)| weight > 0)
            .map(|(&(from, to), &weight)| CrosswalkCell { from, to, weight })
            .collect();
        Crosswalk::from_cells(self.n_from, self.n_to, cells, unmatched)
    }
}

impl Crosswalk {
    /// Builds the crosswalk from two assignments of the same points and one weight per point.
    /// An index ≥ `n_from` / `n_to` (such as [`OUTSIDE`]) counts as unassigned.
    /// For several weight columns over the same two assignments, build one [`Pairing`] and ask
    /// it for each column.
    ///
    /// # Panics
    /// If the three slices differ in length (a caller bug, not bad data).
    pub fn build(
        assign_from: &[u32],
        assign_to: &[u32],
        weights: &[u32],
        n_from: usize,
        n_to: usize,
    ) -> Crosswalk {
        Pairing::new(assign_from, assign_to, n_from, n_to).crosswalk(weights)
    }

    /// One crosswalk per weight column, from one [`Pairing`] of the points (the differencing
    /// guard checks every count column, not only residents). Same rules as [`Crosswalk::build`].
    ///
    /// # Panics
    /// If the slices differ in length (a caller bug, not bad data).
    pub fn build_many(
        assign_from: &[u32],
        assign_to: &[u32],
        weights: &[&[u32]],
        n_from: usize,
        n_to: usize,
    ) -> Vec<Crosswalk> {
        let pairing = Pairing::new(assign_from, assign_to, n_from, n_to);
        weights.iter().map(|w| pairing.crosswalk(w)).collect()
    }

    fn from_cells(n_from: usize, n_to: usize, cells: Vec<CrosswalkCell>, unmatched: u64) -> Self {
        let mut from_total = vec![0u64; n_from];
        let mut to_total = vec![0u64; n_to];
        for c in &cells {
            from_total[c.from as usize] += c.weight;
            to_total[c.to as usize] += c.weight;
        }
        Crosswalk {
            n_from,
            n_to,
            cells,
            from_total,
            to_total,
            unmatched,
        }
    }

    /// The same crosswalk in the other direction (`to` → `from`), cells sorted anew.
    pub fn transpose(&self) -> Crosswalk {
        let mut cells: Vec<CrosswalkCell> = self
            .cells
            .iter()
            .map(|c| CrosswalkCell {
                from: c.to,
                to: c.from,
                weight: c.weight,
            })
            .collect();
        cells.sort_unstable_by_key(|c| (c.from, c.to));
        Crosswalk {
            n_from: self.n_to,
            n_to: self.n_from,
            cells,
            from_total: self.to_total.clone(),
            to_total: self.from_total.clone(),
            unmatched: self.unmatched,
        }
    }

    /// Share of the `from` area's weight lying in the `to` area (0 if the area has none).
    pub fn share_of_from(&self, c: &CrosswalkCell) -> f64 {
        ratio(c.weight, self.from_total[c.from as usize])
    }

    /// Share of the `to` area's weight coming from the `from` area (0 if the area has none).
    pub fn share_of_to(&self, c: &CrosswalkCell) -> f64 {
        ratio(c.weight, self.to_total[c.to as usize])
    }
}

fn ratio(w: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        w as f64 / total as f64
    }
}

/// How a value behaves when areas are cut and combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A count (residents, recipients): split in proportion to the weight.
    Extensive,
    /// A ratio or mean (a share in %): weighted mean of the sources.
    Intensive,
}

/// An interpolated value of one target area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// `None` if no source with a value shares weight with the target.
    pub value: Option<f64>,
    /// Share of the target's weight that comes from sources with a value (0–1).
    pub coverage: f64,
}

/// Address-weighted (dasymetric) interpolation from the `from` areas onto the `to` areas.
///
/// Extensive: Σ v_f · w(f,t) / from_total\[f\]; Intensive: Σ v_f · w(f,t) / Σ w(f,t) over
/// sources with a value. `coverage` = share of the target's weight from sources with a value.
/// A source with a value but no weight cannot be distributed (its value is lost: the caller
/// can see that from `cw.from_total`). `from_values` shorter than `n_from` counts as missing.
pub fn interpolate(cw: &Crosswalk, from_values: &[Option<f64>], m: Measure) -> Vec<Estimate> {
    let mut num = vec![0.0f64; cw.n_to];
    let mut covered = vec![0u64; cw.n_to];
    for c in &cw.cells {
        let Some(v) = from_values.get(c.from as usize).copied().flatten() else {
            continue;
        };
        let t = c.to as usize;
        covered[t] += c.weight;
        num[t] += match m {
            Measure::Extensive => v * cw.share_of_from(c),
            Measure::Intensive => v * c.weight as f64,
        };
    }
    (0..cw.n_to)
        .map(|t| {
            let coverage = ratio(covered[t], cw.to_total[t]);
            let value = if covered[t] == 0 {
                None
            } else {
                Some(match m {
                    Measure::Extensive => num[t],
                    Measure::Intensive => num[t] / covered[t] as f64,
                })
            };
            Estimate { value, coverage }
        })
        .collect()
}

/// Point lookup by rectangle: a uniform grid over the points' bounding box, about 8 points per
/// cell on average, cells holding point indices in a compressed (CSR) layout. Built once per
/// process; a query visits the points of every cell overlapping the rectangle, so the caller
/// tests exact containment.
#[derive(Debug, Clone)]
pub struct PointGrid {
    x0: f64,
    y0: f64,
    inv_cell: f64,
    #[doc(hidden)] // public for tests/it/units
    pub nx: usize,
    #[doc(hidden)]
    pub ny: usize,
    /// Points of cell `c`: `items[start[c]..start[c + 1]]`, ascending.
    start: Vec<u32>,
    #[doc(hidden)]
    pub items: Vec<u32>,
}

/// Average number of points per cell the grid aims at.
const POINTS_PER_CELL: f64 = 8.0;

impl PointGrid {
    /// Builds the grid. Points with a non-finite coordinate are left out (they lie in no area).
    ///
    /// # Panics
    /// If `x` and `y` differ in length or there are 2³² points or more.
    pub fn build(x: &[f64], y: &[f64]) -> Self {
        assert_eq!(
            x.len(),
            y.len(),
            "PointGrid::build: x and y differ in length"
        );
        assert!(x.len() < u32::MAX as usize, "too many points");
        let finite = |i: usize| x[i].is_finite() && y[i].is_finite();
        let (mut minx, mut miny, mut maxx, mut maxy) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        let mut n = 0usize;
        for i in 0..x.len() {
            if finite(i) {
                minx = minx.min(x[i]);
                maxx = maxx.max(x[i]);
                miny = miny.min(y[i]);
                maxy = maxy.max(y[i]);
                n += 1;
            }
        }
        if n == 0 {
            return Self {
                x0: 0.0,
                y0: 0.0,
                inv_cell: 1.0,
                nx: 0,
                ny: 0,
                start: vec![0],
                items: Vec::new(),
            };
        }
        let w = (maxx - minx).max(1e-6);
        let h = (maxy - miny).max(1e-6);
        let target_cells = (n as f64 / POINTS_PER_CELL).max(1.0);
        // Square cells, at most 4096 per axis (elongated extents).
        let cell = (w * h / target_cells).sqrt().max(w.max(h) / 4096.0);
        let nx = ((w / cell).floor() as usize + 1).min(4097);
        let ny = ((h / cell).floor() as usize + 1).min(4097);
        let mut grid = Self {
            x0: minx,
            y0: miny,
            inv_cell: 1.0 / cell,
            nx,
            ny,
            start: vec![0; nx * ny + 1],
            items: Vec::new(),
        };
        let cell_of: Vec<u32> = (0..x.len())
            .map(|i| {
                if finite(i) {
                    let (ci, cj) = (grid.col(x[i]), grid.row(y[i]));
                    (cj * nx + ci) as u32
                } else {
                    u32::MAX
                }
            })
            .collect();
        for &c in &cell_of {
            if c != u32::MAX {
                grid.start[c as usize + 1] += 1;
            }
        }
        for c in 0..nx * ny {
            grid.start[c + 1] += grid.start[c];
        }
        let mut fill = grid.start.clone();
        grid.items = vec![0; n];
        for (i, &c) in cell_of.iter().enumerate() {
            if c != u32::MAX {
                grid.items[fill[c as usize] as usize] = i as u32;
                fill[c as usize] += 1;
            }
        }
        grid
    }

    /// Column of an x coordinate, clamped to the grid (the same function for points and
    /// queries, so a point within a query's x range lies in a visited column).
    #[inline]
    fn col(&self, x: f64) -> usize {
        (((x - self.x0) * self.inv_cell).floor().max(0.0) as usize).min(self.nx - 1)
    }

    #[inline]
    fn row(&self, y: f64) -> usize {
        (((y - self.y0) * self.inv_cell).floor().max(0.0) as usize).min(self.ny - 1)
    }

    /// Calls `f` with the index of every point whose cell overlaps the rectangle `min`–`max`
    /// (a superset of the points inside it; each point once, ascending within a cell).
    pub fn for_each_in(&self, min: [f64; 2], max: [f64; 2], mut f: impl FnMut(u32)) {
        if self.nx == 0 || !(min[0] <= max[0] && min[1] <= max[1]) {
            return;
        }
        let (i0, i1) = (self.col(min[0]), self.col(max[0]));
        let (j0, j1) = (self.row(min[1]), self.row(max[1]));
        for j in j0..=j1 {
            let lo = self.start[j * self.nx + i0] as usize;
            let hi = self.start[j * self.nx + i1 + 1] as usize;
            // Cells i0..=i1 of one row are contiguous in the CSR layout.
            for &p in &self.items[lo..hi] {
                f(p);
            }
        }
    }
}

/// A point that changes area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    /// Point index.
    pub point: u32,
    /// Previous area index ([`OUTSIDE`] for none).
    pub from: u32,
    /// New area index ([`OUTSIDE`] for none: a gap).
    pub to: u32,
}

/// Result of [`reassign`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reassignment {
    /// Points whose area changes, ascending by point.
    pub deltas: Vec<Delta>,
    /// Points that lost their area and lie in no changed geometry (new gaps), ascending.
    pub gap_points: Vec<u32>,
    /// Points of unchanged areas that a changed geometry also covers (overlaps), ascending.
    pub overlap_points: Vec<u32>,
}

/// Incremental reassignment after an edit.
///
/// `changed`: (area index, new geometry; `None` = area removed); `old_bboxes[k]`: bounding box
/// (min, max) of the previous geometry of `changed[k]`. Only points inside the union of old and
/// new boxes are tested. A point whose base area is changed (or that was [`OUTSIDE`]) goes to the
/// first changed geometry containing it, with the border rule of [`crate::spatial`]; pass the
/// changed areas in id order to match [`crate::aggregate::assign_points`] where they overlap.
/// If none contains it, a point of a changed area becomes [`OUTSIDE`] (a gap). A point of an
/// unchanged area inside a changed geometry stays and is reported as overlap.
///
/// # Panics
/// If `changed` and `old_bboxes` or `x`, `y` and `base` differ in length (a caller bug).
pub fn reassign(
    grid: &PointGrid,
    x: &[f64],
    y: &[f64],
    base: &[u32],
    changed: &[(u32, Option<&MultiPolygon<f64>>)],
    old_bboxes: &[([f64; 2], [f64; 2])],
) -> Reassignment {
    assert_eq!(
        changed.len(),
        old_bboxes.len(),
        "reassign: one old bounding box per changed area"
    );
    assert!(
        x.len() == y.len() && y.len() == base.len(),
        "reassign: {} x, {} y, {} base",
        x.len(),
        y.len(),
        base.len()
    );
    let new_boxes: Vec<Option<([f64; 2], [f64; 2])>> = changed
        .iter()
        .map(|(_, g)| {
            g.and_then(|g| g.bounding_rect())
                .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]))
        })
        .collect();
    let mut cands: Vec<u32> = Vec::new();
    for (k, &(min, max)) in old_bboxes.iter().enumerate() {
        grid.for_each_in(min, max, |p| cands.push(p));
        if let Some((min, max)) = new_boxes[k] {
            grid.for_each_in(min, max, |p| cands.push(p));
        }
    }
    cands.sort_unstable();
    cands.dedup();
    let is_changed = |a: u32| changed.iter().any(|&(c, _)| c == a);
    let mut out = Reassignment::default();
    for p in cands {
        let i = p as usize;
        let (px, py) = (x[i], y[i]);
        let hit = changed
            .iter()
            .zip(&new_boxes)
            .find(|((_, g), b)| match (g, b) {
                (Some(g), Some((min, max))) => {
                    px >= min[0]
                        && px <= max[0]
                        && py >= min[1]
                        && py <= max[1]
                        && contains_rule(g, px, py)
                }
                _ => false,
            })
            .map(|((a, _), _)| *a);
        let b = base[i];
        if b == OUTSIDE || is_changed(b) {
            let to = hit.unwrap_or(OUTSIDE);
            if to != b {
                out.deltas.push(Delta {
                    point: p,
                    from: b,
                    to,
                });
                if to == OUTSIDE {
                    out.gap_points.push(p);
                }
            }
        } else if hit.is_some() {
            out.overlap_points.push(p);
        }
    }
    out
}

/// A pair of areas whose difference would reveal a small group of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sliver {
    /// Area index in the draft (the crosswalk's `from`).
    pub draft: u32,
    /// Area index in the other partition (the crosswalk's `to`).
    pub other: u32,
    /// Weight in the draft area but not in the other one.
    pub draft_only: u64,
    /// Weight in the other area but not in the draft one.
    pub other_only: u64,
}

/// Differencing guard. For every pair (draft area d, other area o) sharing weight w > 0:
/// d∖o = from_total\[d\] − w, o∖d = to_total\[o\] − w; the pair is a sliver if either lies in
/// (0, threshold): publishing both areas would let anyone subtract a count below the disclosure
/// threshold. `cw` is draft (from) × other (to), built with one year's residents.
pub fn differencing_slivers(cw: &Crosswalk, threshold: u64) -> Vec<Sliver> {
    let small = |v: u64| v > 0 && v < threshold;
    cw.cells
        .iter()
        .filter_map(|c| {
            let draft_only = cw.from_total[c.from as usize] - c.weight;
            let other_only = cw.to_total[c.to as usize] - c.weight;
            (small(draft_only) || small(other_only)).then_some(Sliver {
                draft: c.from,
                other: c.to,
                draft_only,
                other_only,
            })
        })
        .collect()
}

/// Area weighting as points: a regular lattice of about `target` points over `areas`, keeping
/// the points that lie inside some area, each with weight 1 (each stands for the same area).
/// The spacing is a whole number of metres (at least 1), the lattice anchored at multiples of
/// it, so the same areas always give the same lattice. Crosswalks with these weights split a
/// count in proportion to area, to within about one lattice cell along each border.
pub fn area_lattice(
    areas: &[crate::model::Area],
    target: usize,
) -> Result<crate::model::WeightLayer, crate::aggregate::EngineError> {
    use geo::Area as _;
    let total: f64 = areas
        .iter()
        .filter_map(|a| a.geometry.as_ref())
        .map(|g| g.unsigned_area())
        .sum();
    let spacing = (total / target.max(1) as f64).sqrt().ceil().max(1.0);
    let mut min = [f64::INFINITY; 2];
    let mut max = [f64::NEG_INFINITY; 2];
    for g in areas.iter().filter_map(|a| a.geometry.as_ref()) {
        if let Some(r) = g.bounding_rect() {
            min = [min[0].min(r.min().x), min[1].min(r.min().y)];
            max = [max[0].max(r.max().x), max[1].max(r.max().y)];
        }
    }
    let mut out = crate::model::WeightLayer {
        x: Vec::new(),
        y: Vec::new(),
        weight: Vec::new(),
        weighting: crate::model::Weighting::Area { spacing_m: spacing },
    };
    if !(min[0].is_finite() && max[0].is_finite()) {
        return Ok(out);
    }
    let locator = crate::aggregate::AreaLocator::new(areas, "(lattice)")?;
    let x0 = (min[0] / spacing).floor() * spacing + spacing / 2.0;
    let y0 = (min[1] / spacing).floor() * spacing + spacing / 2.0;
    let nx = ((max[0] - x0) / spacing).floor().max(0.0) as usize + 1;
    let mut y = y0;
    // Row by row: the candidates of the bounding box can be several times the kept points.
    while y <= max[1] {
        let xs: Vec<f64> = (0..nx).map(|i| x0 + i as f64 * spacing).collect();
        let ys = vec![y; nx];
        for (k, a) in locator.assign(&xs, &ys)?.into_iter().enumerate() {
            if a != OUTSIDE {
                out.x.push(xs[k]);
                out.y.push(y);
            }
        }
        y += spacing;
    }
    out.weight = vec![1; out.x.len()];
    Ok(out)
}
