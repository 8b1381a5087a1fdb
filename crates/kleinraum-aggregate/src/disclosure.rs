//! Statistical disclosure control: primary and secondary suppression of counts.
//!
//! # Rule
//! 1. **Primary:** a count `1 ≤ n < threshold` is suppressed. `0` is published (it reveals no
//!    person).
//! 2. **Secondary**, repeated until nothing changes (a fixed point) over every additive
//!    relation `total = Σ parts`:
//!    - the hierarchy: a parent area's count = Σ of its children's counts, for every count
//!      column and year, on every level up to the synthetic whole-city level;
//!    - the configured [`AdditiveRelation`](crate::config::AdditiveRelation)s inside one area
//!      and year (age groups sum to residents), in years where all their columns have data.
//!
//!    A relation with exactly one suppressed cell leaks it (`total − Σ published parts`), so
//!    one more cell is suppressed: the smallest published part with a value > 0; if there is
//!    none, the total; failing that, any published part. The new suppressions are marked
//!    [`CountFlag::SecondarySuppressed`]; they may open new single-suppression relations
//!    elsewhere (a suppressed child makes its parent's relation and its own age relation
//!    relevant), hence the fixed point.
//!
//! # Limits
//! The guarantee is per relation: no suppressed cell equals `total − Σ published parts` of any
//! single relation. It does not solve the full linear system over all relations at once: an
//! attacker combining several relations (e.g. the age relation of a parent and of its
//! children together with the hierarchy relations of each age column) can in rare patterns
//! still narrow a suppressed cell down or recover it; closing that needs an audit by linear
//! programming (as τ-ARGUS does), which this module does not do. Differences between two
//! area definitions (differencing) are out of scope here as well.

use crate::result::CountFlag;

/// Shape of the count cells of every level: `value index = (area * n_years + year) * n_cols +
/// col`.
#[derive(Debug, Clone, PartialEq)]
pub struct CellLayout {
    /// Number of years.
    pub n_years: usize,
    /// Number of count columns.
    pub n_cols: usize,
    /// Whether column `col` has data in year `year`: `has_data[year * n_cols + col]`.
    pub has_data: Vec<bool>,
}

impl CellLayout {
    /// Index of a cell within its level.
    #[inline]
    pub fn cell(&self, area: usize, year: usize, col: usize) -> usize {
        (area * self.n_years + year) * self.n_cols + col
    }

    /// Whether column `col` has data in year `year`.
    #[inline]
    pub fn has(&self, year: usize, col: usize) -> bool {
        self.has_data[year * self.n_cols + col]
    }
}

/// The true counts of one level, and each area's parent on the next level.
#[derive(Debug, Clone, Copy)]
pub struct LevelCells<'a> {
    /// True (unsuppressed) counts, laid out as [`CellLayout::cell`].
    pub values: &'a [u64],
    /// Index of each area's parent in the next level (`None` on the last level).
    pub parent: &'a [Option<usize>],
}

/// An additive relation among cells: `cells[0]` (the total) = Σ `cells[1..]`, each cell as
/// `(level, cell index)`.
pub type Relation = Vec<(usize, usize)>;

/// An additive relation inside each area, as column indices: `total` = Σ `parts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRelation {
    /// Total column index.
    pub total: usize,
    /// Part column indices.
    pub parts: Vec<usize>,
}

/// Every additive relation among the cells: the hierarchy and the in-area column relations.
pub fn relations(
    levels: &[LevelCells<'_>],
    layout: &CellLayout,
    additive: &[ColumnRelation],
) -> Vec<Relation> {
    let mut out = Vec::new();
    for (li, level) in levels.iter().enumerate() {
        let n_areas = level.parent.len();
        // Hierarchy: children of each parent on level li + 1.
        if li + 1 < levels.len() {
            let n_parents = levels[li + 1].parent.len();
            let mut children: Vec<Vec<usize>> = vec![Vec::new(); n_parents];
            for (a, p) in level.parent.iter().enumerate() {
                if let Some(p) = *p
                    && p < n_parents
                {
                    children[p].push(a);
                }
            }
            for (p, ch) in children.iter().enumerate() {
                if ch.is_empty() {
                    continue;
                }
                for y in 0..layout.n_years {
                    for c in 0..layout.n_cols {
                        if !layout.has(y, c) {
                            continue;
                        }
                        let mut rel = Vec::with_capacity(ch.len() + 1);
                        rel.push((li + 1, layout.cell(p, y, c)));
                        rel.extend(ch.iter().map(|&a| (li, layout.cell(a, y, c))));
                        out.push(rel);
                    }
                }
            }
        }
        // In-area relations.
        for r in additive {
            for y in 0..layout.n_years {
                if !layout.has(y, r.total) || !r.parts.iter().all(|&c| layout.has(y, c)) {
                    continue;
                }
                for a in 0..n_areas {
                    let mut rel = Vec::with_capacity(r.parts.len() + 1);
                    rel.push((li, layout.cell(a, y, r.total)));
                    rel.extend(r.parts.iter().map(|&c| (li, layout.cell(a, y, c))));
                    out.push(rel);
                }
            }
        }
    }
    out
}

/// Not published and not derivable: suppressed here, or missing in the source (an area table's
/// `*`): both count as unknown in a relation.
fn is_suppressed(f: CountFlag) -> bool {
    matches!(
        f,
        CountFlag::Suppressed | CountFlag::SecondarySuppressed | CountFlag::Missing
    )
}

/// Applies primary and secondary suppression. Returns one flag per cell and level, aligned with
/// the values; cells of columns without data in a year are [`CountFlag::NoData`].
///
/// `withhold` lists finest-level cells withheld whatever their value (another publication
/// of the same data withholds them); they enter as secondary suppressions, so the relation
/// rule protects them like any other withheld cell.
pub fn suppress(
    levels: &[LevelCells<'_>],
    layout: &CellLayout,
    additive: &[ColumnRelation],
    threshold: u64,
    withhold: &[usize],
) -> Vec<Vec<CountFlag>> {
    suppress_with_missing(levels, layout, additive, threshold, &[], withhold)
}

/// As [`suppress`], with cells the source has no value for (`missing[level][cell]`; an empty
/// slice for none): they are [`CountFlag::Missing`], count as unknown in every relation (a
/// published total with one missing part would reveal it, so another part is suppressed) and
/// are never picked for secondary suppression.
pub fn suppress_with_missing(
    levels: &[LevelCells<'_>],
    layout: &CellLayout,
    additive: &[ColumnRelation],
    threshold: u64,
    missing: &[&[bool]],
    withhold: &[usize],
) -> Vec<Vec<CountFlag>> {
    let mut flags: Vec<Vec<CountFlag>> = levels
        .iter()
        .enumerate()
        .map(|(li, l)| {
            let miss = missing.get(li).copied().unwrap_or_default();
            l.values
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let year = (i / layout.n_cols) % layout.n_years.max(1);
                    let col = i % layout.n_cols;
                    if !layout.has(year, col) {
                        CountFlag::NoData
                    } else if miss.get(i).copied().unwrap_or(false) {
                        CountFlag::Missing
                    } else if v >= 1 && v < threshold {
                        CountFlag::Suppressed
                    } else {
                        CountFlag::Published
                    }
                })
                .collect()
        })
        .collect();
    if let Some(f0) = flags.first_mut() {
        for &i in withhold {
            if f0.get(i) == Some(&CountFlag::Published) {
                f0[i] = CountFlag::SecondarySuppressed;
            }
        }
    }
    let rels = relations(levels, layout, additive);
    loop {
        let mut changed = false;
        for rel in &rels {
            if rel.len() < 2 {
                continue;
            }
            let n_supp = rel
                .iter()
                .filter(|&&(l, c)| is_suppressed(flags[l][c]))
                .count();
            if n_supp != 1 {
                continue;
            }
            let value = |&(l, c): &(usize, usize)| levels[l].values[c];
            let published = |&&(l, c): &&(usize, usize)| flags[l][c] == CountFlag::Published;
            // Smallest published part > 0, else the total, else any published part.
            let pick = rel[1..]
                .iter()
                .filter(published)
                .filter(|cell| value(cell) > 0)
                .min_by_key(|cell| value(cell))
                .or_else(|| Some(&rel[0]).filter(published))
                .or_else(|| rel[1..].iter().find(published))
                .copied();
            if let Some((l, c)) = pick {
                flags[l][c] = CountFlag::SecondarySuppressed;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    flags
}

/// The relations in which exactly one cell is suppressed, i.e. whose suppressed cell can be
/// recovered as `total − Σ published parts` (or `Σ parts` for a suppressed total). Empty after
/// [`suppress`]; used to verify it.
pub fn leaking_relations<'r>(rels: &'r [Relation], flags: &[Vec<CountFlag>]) -> Vec<&'r Relation> {
    rels.iter()
        .filter(|rel| {
            rel.iter()
                .filter(|&&(l, c)| is_suppressed(flags[l][c]))
                .count()
                == 1
        })
        .collect()
}
