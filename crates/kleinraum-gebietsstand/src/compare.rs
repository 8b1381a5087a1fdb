//! The comparison of two Gebietsstände for one year: per area of the newer one, where its
//! residents came from, its values old and new, and why its index class differs — because its
//! boundaries changed (`Change::Boundary`), because something changed on the ground in the same
//! area (`Change::Real`), or both.

use crate::Error;
use crate::workspace::{Computed, Workspace};
use kleinraum_aggregate::redefine::Crosswalk;
use kleinraum_aggregate::result::{AggregateResult, CountFlag};
use std::collections::{BTreeMap, BTreeSet};

/// An area counts as unchanged when at least this share (‰) of its residents comes from one
/// predecessor that keeps at least this share of its own residents in it: 99.5 % each way, so
/// a handful of addresses moved by a redrawn line (or rounding at a border) is no change.
pub const UNCHANGED_PER_MILLE: u64 = 995;

/// Why an area's picture differs between the two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Change {
    /// Same area, same status class as in the previous index year.
    Unchanged,
    /// The boundaries changed.
    Boundary,
    /// Same area, but its status class differs from the previous index year's.
    Real,
    /// Both.
    Both,
}

impl Change {
    /// The German label of reports and the map.
    pub fn label(self) -> &'static str {
        match self {
            Change::Unchanged => "unverändert",
            Change::Boundary => "Gebietsänderung",
            Change::Real => "reale Veränderung",
            Change::Both => "beides",
        }
    }
}

/// Values of one area in one year as the API publishes them.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaValues {
    /// Residents, when published (not suppressed).
    pub residents: Option<u64>,
    /// Indicator values by indicator id.
    pub values: BTreeMap<String, Option<f64>>,
    /// Status class of the first index.
    pub status_class: Option<u8>,
    /// Dynamics class of the first index.
    pub dynamics_class: Option<u8>,
    /// Group (Gesamtindex).
    pub group: Option<String>,
    /// Sozialraumgebiet.
    pub attention: bool,
}

/// The values of area `i` (of the result's first level) in `year`.
pub fn area_values(result: &AggregateResult, i: usize, year: i32) -> Option<AreaValues> {
    let yi = result.year_index(year)?;
    let a = result.levels.first()?.areas.get(i)?;
    let ay = a.years.get(yi)?;
    let rc = result.count_columns.iter().position(|c| c == "residents");
    let residents = rc
        .and_then(|k| ay.counts.get(k))
        .filter(|c| matches!(c.flag, CountFlag::Published))
        .and_then(|c| c.value);
    let values = result
        .indicators
        .iter()
        .zip(&ay.indicators)
        .map(|(d, v)| (d.id.clone(), v.value))
        .collect();
    let ix = ay.indices.iter().flatten().next();
    Some(AreaValues {
        residents,
        values,
        status_class: ix.and_then(|x| x.status_class),
        dynamics_class: ix.and_then(|x| x.dynamics_class),
        group: ix.and_then(|x| x.group.clone()),
        attention: ix.is_some_and(|x| x.attention),
    })
}

fn class_of(result: &AggregateResult, i: usize, year: i32) -> Option<u8> {
    area_values(result, i, year).and_then(|v| v.status_class)
}

/// One predecessor of an area: an area of the older version with residents in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Predecessor {
    /// Index into the older version's areas.
    pub area: usize,
    /// Residents it shares with the new area (the crosswalk cell).
    pub residents: u64,
    /// That as a share of the new area's residents.
    pub share: f64,
}

/// One area of the newer version.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index into the newer version's areas.
    pub area: usize,
    /// Predecessors, most residents first.
    pub predecessors: Vec<Predecessor>,
    /// The main predecessor (most residents; else the area with the same id).
    pub main: Option<usize>,
    /// Values of the main predecessor.
    pub old: Option<AreaValues>,
    /// Values of the new area.
    pub new: Option<AreaValues>,
    /// Status class of the main predecessor in this year.
    pub class_old: Option<u8>,
    /// Status class of the new area in this year.
    pub class_new: Option<u8>,
    /// The boundaries changed (see [`UNCHANGED_PER_MILLE`]).
    pub geometry_changed: bool,
    /// The class differs from the main predecessor's in the same year: caused by the lines.
    pub boundary_effect: bool,
    /// The class differs from the previous index year's in the same area (`None` without a
    /// previous index year).
    pub real_change: Option<bool>,
    /// The cause.
    pub change: Change,
    /// The differencing guard withholds the area (or its main predecessor) from non-planners.
    pub withheld: bool,
}

/// The comparison of two versions.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Key of the older version.
    pub from: String,
    /// Key of the newer version.
    pub to: String,
    /// The year compared.
    pub year: i32,
    /// Years with an index.
    pub index_years: Vec<i32>,
    /// The index year before `year`.
    pub previous_index_year: Option<i32>,
    /// One row per area of the newer version.
    pub rows: Vec<Row>,
    /// The address-weighted crosswalk of `year`.
    pub crosswalk: Crosswalk,
    /// Areas of the older version the guard withholds from non-planners (empty for planners).
    pub withheld_from: BTreeSet<String>,
    /// Areas of the newer version the guard withholds from non-planners (empty for planners).
    pub withheld_to: BTreeSet<String>,
}

impl Comparison {
    /// Rows (older areas) and columns (newer areas) of the crosswalk whose shares may not be
    /// shown outside the statistics role: those with a cell below `threshold` people or
    /// touching a withheld area, closed over the crosswalk — a hidden cell hides its whole row
    /// and its whole column, since 1 − Σ(shown shares of a line) would give it back, and so on
    /// until no line shows part of itself.
    pub fn hidden_lines(
        &self,
        a: &Computed,
        b: &Computed,
        threshold: u64,
    ) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let mut rows = BTreeSet::new();
        let mut cols = BTreeSet::new();
        for c in &self.crosswalk.cells {
            if c.weight < threshold
                || self.withheld_from.contains(&a.areas[c.from as usize].id)
                || self.withheld_to.contains(&b.areas[c.to as usize].id)
            {
                rows.insert(c.from);
                cols.insert(c.to);
            }
        }
        loop {
            let mut grew = false;
            for c in &self.crosswalk.cells {
                if rows.contains(&c.from) != cols.contains(&c.to) {
                    grew |= rows.insert(c.from) | cols.insert(c.to);
                }
            }
            if !grew {
                return (rows, cols);
            }
        }
    }

    /// Areas without any change.
    pub fn unchanged(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.change == Change::Unchanged)
            .count()
    }
    /// Areas with changed boundaries (alone or with a real change).
    pub fn boundary(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.change, Change::Boundary | Change::Both))
            .count()
    }
    /// Areas with a real change (alone or with changed boundaries).
    pub fn real(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.change, Change::Real | Change::Both))
            .count()
    }
    /// Areas whose class differs from the main predecessor's in the same year.
    pub fn class_changed_by_boundary(&self) -> usize {
        self.rows.iter().filter(|r| r.boundary_effect).count()
    }
}

impl Workspace {
    /// Compares version `a` (older) with `b` (newer) in `year`. Unless `planner`, rows of areas
    /// the differencing guard withholds are marked `withheld` (their values must not be shown).
    pub fn compare(&self, a: &Computed, b: &Computed, year: i32, planner: bool) -> Comparison {
        let (hidden_a, hidden_b) = if planner {
            (BTreeSet::new(), BTreeSet::new())
        } else {
            (
                self.guarded_areas(&a.meta.key),
                self.guarded_areas(&b.meta.key),
            )
        };
        let cw = self.crosswalk(a, b, year);
        let mut index_years: Vec<i32> = self
            .analysis()
            .indices
            .first()
            .map(|i| i.years.clone())
            .unwrap_or_default();
        index_years.sort_unstable();
        let prev_year = index_years.iter().copied().filter(|&y| y < year).max();
        let mut preds: Vec<Vec<(u32, u64)>> = vec![Vec::new(); b.areas.len()];
        for c in &cw.cells {
            preds[c.to as usize].push((c.from, c.weight));
        }
        let mut rows = Vec::with_capacity(b.areas.len());
        for (t, area) in b.areas.iter().enumerate() {
            let p = &mut preds[t];
            p.sort_by_key(|x| std::cmp::Reverse(x.1));
            let to_total = cw.to_total[t];
            let main = p
                .first()
                .map(|&(f, _)| f as usize)
                .or_else(|| a.areas.iter().position(|x| x.id == area.id));
            let withheld = !planner
                && (hidden_b.contains(&area.id)
                    || main.is_some_and(|m| hidden_a.contains(&a.areas[m].id)));
            let predecessors = p
                .iter()
                .map(|&(f, w)| Predecessor {
                    area: f as usize,
                    residents: w,
                    share: if to_total > 0 {
                        w as f64 / to_total as f64
                    } else {
                        0.0
                    },
                })
                .collect();
            let geometry_changed = match p.first() {
                Some(&(f, w)) => {
                    let from_total = cw.from_total[f as usize];
                    !(to_total > 0
                        && w * 1000 >= to_total * UNCHANGED_PER_MILLE
                        && w * 1000 >= from_total * UNCHANGED_PER_MILLE)
                }
                None => main.is_none_or(|m| a.areas[m].id != area.id),
            };
            let class_new = class_of(&b.result, t, year);
            let class_old = main.and_then(|m| class_of(&a.result, m, year));
            let class_prev = prev_year.and_then(|y| class_of(&b.result, t, y));
            let boundary_effect =
                class_new.is_some() && class_old.is_some() && class_new != class_old;
            let real_change = prev_year
                .map(|_| class_new.is_some() && class_prev.is_some() && class_new != class_prev);
            let change = match (geometry_changed, real_change == Some(true)) {
                (false, false) => Change::Unchanged,
                (true, false) => Change::Boundary,
                (false, true) => Change::Real,
                (true, true) => Change::Both,
            };
            rows.push(Row {
                area: t,
                predecessors,
                main,
                old: main.and_then(|m| area_values(&a.result, m, year)),
                new: area_values(&b.result, t, year),
                class_old,
                class_new,
                geometry_changed,
                boundary_effect,
                real_change,
                change,
                withheld,
            });
        }
        Comparison {
            from: a.meta.key.clone(),
            to: b.meta.key.clone(),
            year,
            index_years,
            previous_index_year: prev_year,
            rows,
            crosswalk: cw,
            withheld_from: hidden_a,
            withheld_to: hidden_b,
        }
    }

    /// The year a comparison shows by default: the latest index year, else the latest year.
    pub fn default_comparison_year(&self) -> Option<i32> {
        self.analysis()
            .indices
            .first()
            .and_then(|i| i.years.iter().max().copied())
            .or_else(|| self.years().last().copied())
    }

    /// A year with point counts, or the latest when `None`.
    pub fn year_or_latest(&self, year: Option<i32>) -> Result<i32, Error> {
        let years = self.years();
        match year {
            Some(y) if years.contains(&y) => Ok(y),
            Some(y) => Err(Error::NoYear {
                year: y,
                years: years.clone(),
            }),
            None => years.last().copied().ok_or(Error::NoYear {
                year: 0,
                years: Vec::new(),
            }),
        }
    }
}
