//! One publication: an area of any Gebietsstand whose address points are exactly those of an
//! area of the statistics (any level of the configured hierarchy: a Sozialraum, a Stadtteil,
//! the whole city) has the same counts, so it must withhold what the statistics withhold —
//! else the copy publishes the cell the hierarchy's secondary suppression hid, and the
//! hierarchy gives the small cell back.
//!
//! Identity is decided on the address points, not on the lines: a redrawn boundary that
//! moves no address changes nothing that is published.

use kleinraum_aggregate::aggregate::Withhold;
use kleinraum_aggregate::result::{AggregateResult, CountFlag};
use kleinraum_aggregate::spatial::OUTSIDE;
use std::collections::HashMap;

/// The statistics' areas by the base areas (with points) they consist of, with their
/// withheld cells.
#[derive(Debug, Default)]
pub struct PublishedNodes {
    /// Base area per address point (or OUTSIDE).
    base_assignment: Vec<u32>,
    /// Address points per base area.
    base_points: Vec<u32>,
    /// Sorted base areas with points → withheld (year, column) of every area with them.
    by_signature: HashMap<Vec<u32>, Vec<(i32, String)>>,
}

impl PublishedNodes {
    /// From the statistics' result (levels[0] = the base areas in `base_assignment`'s order,
    /// coarser levels linked by `parent`).
    pub fn new(result: &AggregateResult, base_assignment: Vec<u32>) -> PublishedNodes {
        let n0 = result.levels.first().map_or(0, |l| l.areas.len());
        let mut base_points = vec![0u32; n0];
        for &b in &base_assignment {
            if let Some(n) = base_points.get_mut(b as usize) {
                *n += 1;
            }
        }
        let mut by_signature: HashMap<Vec<u32>, Vec<(i32, String)>> = HashMap::new();
        let mut members: Vec<Vec<u32>> = (0..n0 as u32).map(|b| vec![b]).collect();
        for (li, level) in result.levels.iter().enumerate() {
            if li > 0 {
                let child = &result.levels[li - 1];
                let index: HashMap<&str, usize> = level
                    .areas
                    .iter()
                    .enumerate()
                    .map(|(k, a)| (a.id.as_str(), k))
                    .collect();
                let mut next = vec![Vec::new(); level.areas.len()];
                for (c, a) in child.areas.iter().enumerate() {
                    if let Some(&k) = a.parent.as_deref().and_then(|p| index.get(p)) {
                        next[k].extend_from_slice(&members[c]);
                    }
                }
                members = next;
            }
            for (k, a) in level.areas.iter().enumerate() {
                let mut sig: Vec<u32> = members[k]
                    .iter()
                    .copied()
                    .filter(|&b| base_points[b as usize] > 0)
                    .collect();
                sig.sort_unstable();
                sig.dedup();
                if sig.is_empty() {
                    continue;
                }
                let cells = by_signature.entry(sig).or_default();
                for y in &a.years {
                    for (c, count) in y.counts.iter().enumerate() {
                        if matches!(
                            count.flag,
                            CountFlag::Suppressed | CountFlag::SecondarySuppressed
                        ) {
                            cells.push((y.year, result.count_columns[c].clone()));
                        }
                    }
                }
                cells.sort_unstable();
                cells.dedup();
            }
        }
        PublishedNodes {
            base_assignment,
            base_points,
            by_signature,
        }
    }

    /// Per area of a definition (`assignment[p]` = area of point `p`): the withheld cells of
    /// the statistics' area with exactly its points, if there is one.
    pub fn identical(&self, assignment: &[u32], n_areas: usize) -> Vec<Option<&[(i32, String)]>> {
        // Per area: (base area, points) pairs; areas rarely span more than a few base areas.
        let mut parts: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_areas];
        let mut spoiled = vec![false; n_areas];
        if assignment.len() != self.base_assignment.len() {
            return vec![None; n_areas];
        }
        for (&v, &b) in assignment.iter().zip(&self.base_assignment) {
            let Some(p) = parts.get_mut(v as usize) else {
                continue;
            };
            if b == OUTSIDE {
                spoiled[v as usize] = true;
                continue;
            }
            match p.iter_mut().find(|(x, _)| *x == b) {
                Some((_, n)) => *n += 1,
                None => p.push((b, 1)),
            }
        }
        parts
            .into_iter()
            .zip(spoiled)
            .map(|(mut p, spoiled)| {
                if spoiled
                    || p.is_empty()
                    || p.iter().any(|&(b, n)| self.base_points[b as usize] != n)
                {
                    return None;
                }
                p.sort_unstable();
                let sig: Vec<u32> = p.into_iter().map(|(b, _)| b).collect();
                self.by_signature.get(&sig).map(Vec::as_slice)
            })
            .collect()
    }

    /// The cells an engine run over a definition must withhold from the start.
    pub fn withhold_for(&self, assignment: &[u32], n_areas: usize) -> Vec<Withhold> {
        self.identical(assignment, n_areas)
            .into_iter()
            .enumerate()
            .flat_map(|(area, cells)| {
                cells
                    .unwrap_or_default()
                    .iter()
                    .map(move |(year, column)| Withhold {
                        area,
                        year: *year,
                        column: column.clone(),
                    })
            })
            .collect()
    }
}
