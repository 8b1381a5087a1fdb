//! Sums of point counts and facilities per area, year and hierarchy level; the run pipeline.
//!
//! [`run`]: assign points and facilities to the finest level (one [`GridIndex`], built once) →
//! sum every count column per area and year ([`sum_by_area`]) → roll the sums up along the
//! parent ids to every coarser level and a synthetic whole-city level `gesamt` (ratios are
//! always computed from these sums: ratio of sums, never mean of ratios) → join area tables by
//! id → disclosure control → indicators → indices → [`AggregateResult`].

use crate::config::AnalysisConfig;
use crate::disclosure::{self, CellLayout, ColumnRelation, LevelCells};
use crate::index::{IndexIndicator, compute_index};
use crate::indicators::{self, Eval, Names, Operand};
use crate::model::AreaTable;
use crate::model::{Area, Dataset};
use crate::protection::{self, ColumnBound};
use crate::result::{
    AggregateResult, AreaResult, AreaYear, AssignmentReport, Count, CountFlag, FacilityStats,
    IndexValue, IndicatorValue, LevelResult, NullReason, ProtectionSummary, ReportedPoint,
};
use crate::spatial::{GridIndex, OUTSIDE, contains_rule};
use geo::{Area as _, BoundingRect as _, MultiPolygon};
use rayon::prelude::*;
use std::collections::HashMap;

/// Key of the synthetic top level holding the whole city.
pub const TOTAL_LEVEL_KEY: &str = "gesamt";
/// Id of the one area of the top level.
pub const TOTAL_AREA_ID: &str = "gesamt";
/// Title and name of the top level.
pub const TOTAL_TITLE: &str = "Gesamtstadt";
/// How many outside points the report lists.
const OUTSIDE_EXAMPLES: usize = 10;

/// Why a run cannot be done. Each variant names the indicator, index, level, table or column at
/// fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// An operand names nothing the dataset has.
    #[error("indicator {indicator:?}: unknown operand {operand:?}: {hint}")]
    UnknownOperand {
        /// The indicator or index id.
        indicator: String,
        /// The operand as written.
        operand: String,
        /// What would be valid.
        hint: String,
    },
    /// An indicator definition is inconsistent.
    #[error("indicator {indicator:?}: {message}")]
    Indicator {
        /// Indicator id.
        indicator: String,
        /// What is wrong.
        message: String,
    },
    /// An index definition cannot be computed.
    #[error("index {index:?}: {message}")]
    Index {
        /// Index id.
        index: String,
        /// What is wrong.
        message: String,
    },
    /// The hierarchy is inconsistent.
    #[error("level {level:?}: {message}")]
    Level {
        /// Level key.
        level: String,
        /// What is wrong, naming the area.
        message: String,
    },
    /// An area table cannot be joined.
    #[error("table {table:?}: {message}")]
    Table {
        /// Table name.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// The point layer is inconsistent.
    #[error("points: {message}")]
    Points {
        /// What is wrong, naming the column.
        message: String,
    },
    /// The disclosure configuration names unknown columns.
    #[error("disclosure: {message}")]
    Disclosure {
        /// What is wrong.
        message: String,
    },
}

/// Sums count columns per area.
///
/// `assignment[i]` is the area index of point `i` (or [`OUTSIDE`]; any value ≥ `n_areas` is
/// skipped). Returns `sums[area * columns.len() + col]`. Runs on all cores: chunks of points
/// are summed into per-thread accumulators that are merged at the end.
///
/// # Panics
/// If a column is shorter than `assignment`.
pub fn sum_by_area(assignment: &[u32], n_areas: usize, columns: &[&[u32]]) -> Vec<u64> {
    const CHUNK: usize = 1 << 15;
    let nc = columns.len();
    let n = assignment.len();
    let len = n_areas * nc;
    // Column by column into `by_column[col * n_areas + area]`: one column's sums are small
    // enough to stay in the first-level cache while the points hit them in any order (the 2M
    // points of the benchmark city: 6.3 -> 3.9 ms beside point by point into area rows).
    let by_column = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || vec![0u64; len],
            |mut acc, k| {
                let lo = k * CHUNK;
                let hi = (lo + CHUNK).min(n);
                let asg = &assignment[lo..hi];
                for (col, sums) in columns.iter().zip(acc.chunks_exact_mut(n_areas.max(1))) {
                    for (&a, &v) in asg.iter().zip(&col[lo..hi]) {
                        if let Some(slot) = sums.get_mut(a as usize) {
                            *slot += u64::from(v);
                        }
                    }
                }
                acc
            },
        )
        .reduce(
            || vec![0u64; len],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    let mut sums = vec![0u64; len];
    for (col, column_sums) in by_column.chunks_exact(n_areas.max(1)).enumerate() {
        for (area, &v) in column_sums.iter().enumerate() {
            sums[area * nc + col] = v;
        }
    }
    sums
}

/// Why a count cell has no value (see [`LevelData::missing`]).
pub(crate) const PRESENT: u8 = 0;
/// The area table has no value for this area and year (a marker such as `*`, or no row).
pub(crate) const MISSING_IN_SOURCE: u8 = 1;
/// A coarser area one of whose parts is [`MISSING_IN_SOURCE`].
pub(crate) const MISSING_PART: u8 = 2;

/// One level while the run is in progress: true counts and their flags.
#[derive(Debug, Clone)]
pub(crate) struct LevelData {
    pub key: String,
    pub title: String,
    pub areas: Vec<AreaResult>,
    pub parent: Vec<Option<usize>>,
    pub layout: CellLayout,
    /// True counts, laid out as [`CellLayout::cell`].
    pub counts: Vec<u64>,
    /// Disclosure flags, aligned with `counts`.
    pub flags: Vec<CountFlag>,
    /// Per count cell (aligned with `counts`): [`PRESENT`], [`MISSING_IN_SOURCE`] or
    /// [`MISSING_PART`].
    pub missing: Vec<u8>,
    /// `facilities[area * n_categories + category]`.
    pub facilities: Vec<FacilityStats>,
    pub n_categories: usize,
    /// Values of the area tables' value columns (rates and other non-counts):
    /// `values[value column][area * n_years + year]`, on every level (see [`table_values`]).
    pub values: Vec<Vec<Eval>>,
}

impl LevelData {
    pub(crate) fn facility(&self, area: usize, cat: usize) -> FacilityStats {
        self.facilities[area * self.n_categories + cat]
    }
}

/// Pairs indicator positions with their per-area values as index input.
fn as_input<'a>(
    inds: &'a [crate::config::IndicatorConfig],
    ixs: &[usize],
    vals: &'a [Vec<IndicatorValue>],
) -> Vec<IndexIndicator<'a>> {
    ixs.iter()
        .zip(vals)
        .map(|(&i, v)| IndexIndicator {
            id: inds[i].id.as_str(),
            polarity: inds[i].polarity,
            values: v.as_slice(),
        })
        .collect()
}

/// `x` rounded to `decimals` places (half away from zero), without a negative zero.
fn round_decimals(x: f64, decimals: u8) -> f64 {
    let f = 10f64.powi(i32::from(decimals.min(12)));
    let r = (x * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

fn level_err(level: &str, message: String) -> EngineError {
    EngineError::Level {
        level: level.to_string(),
        message,
    }
}

/// Runs the whole engine on a dataset.
pub fn run(dataset: &Dataset, analysis: &AnalysisConfig) -> Result<AggregateResult, EngineError> {
    run_timed(dataset, analysis, &mut Vec::new())
}

/// Wall time per stage of a run, for `kleinraum aggregate --timings` and the benchmark.
pub type StageTimes = Vec<(&'static str, std::time::Duration)>;

struct Stopwatch<'a> {
    last: std::time::Instant,
    stages: &'a mut StageTimes,
}

impl Stopwatch<'_> {
    fn lap(&mut self, stage: &'static str) {
        let now = std::time::Instant::now();
        self.stages.push((stage, now - self.last));
        self.last = now;
    }
}

/// Everything a run derives from the dataset before the finest-level sums: years, columns,
/// the cell layout, and the levels with zeroed counts.
struct Prepared<'d> {
    count_columns: Vec<String>,
    years: Vec<i32>,
    layout: CellLayout,
    /// Point column j → (year index, count column index).
    col_pos: Vec<(usize, usize)>,
    /// Table count columns: (table, column in the table, count column index).
    table_counts: Vec<(usize, usize, usize)>,
    /// Table value columns: (table, column in the table); the order of [`LevelData::values`].
    value_cols: Vec<(usize, usize)>,
    levels: Vec<LevelData>,
    id_maps: Vec<HashMap<&'d str, usize>>,
    n_cat: usize,
}

/// Whether a run copies the areas' geometries into its result.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Geometries {
    Copy,
    /// The caller moves them in afterwards ([`run_located_taking_geometries`]).
    Leave,
}

/// Stages "checks on the inputs" and "levels and hierarchy".
fn prepare<'d>(
    dataset: &'d Dataset,
    analysis: &AnalysisConfig,
    geometries: Geometries,
    sw: &mut Stopwatch<'_>,
) -> Result<Prepared<'d>, EngineError> {
    let pts = &dataset.points;
    if dataset.levels.is_empty() {
        return Err(level_err("(none)", "the dataset has no levels".into()));
    }
    // --- checks on the inputs -----------------------------------------------------------
    if pts.y.len() != pts.x.len() {
        return Err(EngineError::Points {
            message: format!("{} x but {} y coordinates", pts.x.len(), pts.y.len()),
        });
    }
    for c in &pts.columns {
        if c.values.len() != pts.x.len() {
            return Err(EngineError::Points {
                message: format!(
                    "column {:?} of {} has {} values for {} points",
                    c.name,
                    c.year,
                    c.values.len(),
                    pts.x.len()
                ),
            });
        }
    }
    let mut count_columns = pts.column_names();
    let n_point_columns = count_columns.len();
    // Count columns of area tables join the point columns: summed up the hierarchy, under
    // disclosure control, usable in every indicator like a point count.
    let mut table_counts = Vec::new();
    let mut value_cols = Vec::new();
    for (t, table) in dataset.tables.iter().enumerate() {
        if table.ids.len() != table.years.len()
            || table
                .columns
                .iter()
                .any(|c| c.values.len() != table.ids.len())
        {
            return Err(EngineError::Table {
                table: table.name.clone(),
                message: "ids, years and column values differ in length".into(),
            });
        }
        for (c, col) in table.columns.iter().enumerate() {
            if !col.count {
                value_cols.push((t, c));
                continue;
            }
            if table.level != dataset.levels[0].key {
                return Err(EngineError::Table {
                    table: table.name.clone(),
                    message: format!(
                        "count column {:?}: counts are summed from the finest level {:?} upwards, but this table is on level {:?}; declare the column as a value (not in `counts`) to show it on {:?} only",
                        col.name, dataset.levels[0].key, table.level, table.level
                    ),
                });
            }
            if let Some(k) = count_columns.iter().position(|n| n == &col.name) {
                let other = if k < n_point_columns {
                    "a count column of the address points".to_string()
                } else {
                    let (t0, _, _) = table_counts
                        .iter()
                        .find(|(_, _, kk)| *kk == k)
                        .copied()
                        .unwrap_or((t, c, k));
                    format!("a count column of table {:?}", dataset.tables[t0].name)
                };
                return Err(EngineError::Table {
                    table: table.name.clone(),
                    message: format!(
                        "count column {:?} is also {other}; rename one of them (columns = {{ new_name = \"{}\" }})",
                        col.name, col.name
                    ),
                });
            }
            count_columns.push(col.name.clone());
            table_counts.push((t, c, count_columns.len() - 1));
        }
    }
    let mut years: Vec<i32> = pts.years();
    for t in &dataset.tables {
        years.extend(t.distinct_years());
    }
    years.sort_unstable();
    years.dedup();
    let ny = years.len();
    let nc = count_columns.len();
    let mut has_data = vec![false; ny * nc];
    for &(t, _, k) in &table_counts {
        for year in dataset.tables[t].distinct_years() {
            let y = years.binary_search(&year).unwrap_or_default();
            has_data[y * nc + k] = true;
        }
    }
    // Column j of the point layer → cell (year, col).
    let mut col_pos = Vec::with_capacity(pts.columns.len());
    for c in &pts.columns {
        let y = years.binary_search(&c.year).unwrap_or_default();
        let k = count_columns
            .iter()
            .position(|n| n == &c.name)
            .unwrap_or_default();
        if has_data[y * nc + k] {
            return Err(EngineError::Points {
                message: format!("column {:?} appears twice for {}", c.name, c.year),
            });
        }
        has_data[y * nc + k] = true;
        col_pos.push((y, k));
    }
    let layout = CellLayout {
        n_years: ny,
        n_cols: nc,
        has_data,
    };
    for idx in &analysis.indices {
        for y in &idx.years {
            if !years.contains(y) {
                return Err(EngineError::Index {
                    index: idx.id.clone(),
                    message: format!(
                        "year {y} has no data (years with data: {})",
                        years
                            .iter()
                            .map(|y| y.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
    }

    sw.lap("checks on the inputs");
    // --- levels and hierarchy -------------------------------------------------------------
    let n_cat = dataset.facilities.len();
    let mut levels: Vec<LevelData> = Vec::with_capacity(dataset.levels.len() + 1);
    let mut id_maps: Vec<HashMap<&str, usize>> = Vec::new();
    for lv in &dataset.levels {
        let mut map = HashMap::with_capacity(lv.areas.len());
        for (i, a) in lv.areas.iter().enumerate() {
            if map.insert(a.id.as_str(), i).is_some() {
                return Err(level_err(
                    &lv.key,
                    format!("area id {:?} appears twice", a.id),
                ));
            }
        }
        id_maps.push(map);
    }
    for (li, lv) in dataset.levels.iter().enumerate() {
        let last = li + 1 == dataset.levels.len();
        let mut parent = Vec::with_capacity(lv.areas.len());
        for a in &lv.areas {
            if last {
                parent.push(Some(0));
                continue;
            }
            let next = &dataset.levels[li + 1];
            let p = a.parent.as_deref().ok_or_else(|| {
                level_err(
                    &lv.key,
                    format!(
                        "area {:?} has no parent id (level {:?} follows)",
                        a.id, next.key
                    ),
                )
            })?;
            let pi = id_maps[li + 1].get(p).copied().ok_or_else(|| {
                level_err(
                    &lv.key,
                    format!(
                        "area {:?}: parent {:?} is not an area of level {:?}",
                        a.id, p, next.key
                    ),
                )
            })?;
            parent.push(Some(pi));
        }
        // Each geometry copied (unless the caller moves it in) and measured on all cores
        // (5,000 areas: 11 MB, 11 ms on one).
        let areas = lv
            .areas
            .par_iter()
            .map(|a| AreaResult {
                id: a.id.clone(),
                name: a.name.clone(),
                parent: if last {
                    Some(TOTAL_AREA_ID.to_string())
                } else {
                    a.parent.clone()
                },
                geometry: match geometries {
                    Geometries::Copy => a.geometry.clone(),
                    Geometries::Leave => None,
                },
                area_m2: a.geometry.as_ref().map_or(0.0, |g| g.unsigned_area()),
                facilities: Vec::new(),
                years: Vec::new(),
            })
            .collect();
        levels.push(LevelData {
            key: lv.key.clone(),
            title: lv.title.clone(),
            areas,
            parent,
            layout: layout.clone(),
            counts: vec![0; lv.areas.len() * ny * nc],
            flags: Vec::new(),
            missing: vec![PRESENT; lv.areas.len() * ny * nc],
            facilities: vec![
                FacilityStats {
                    count: 0,
                    capacity: 0.0
                };
                lv.areas.len() * n_cat
            ],
            n_categories: n_cat,
            values: Vec::new(),
        });
    }
    levels.push(LevelData {
        key: TOTAL_LEVEL_KEY.into(),
        title: TOTAL_TITLE.into(),
        areas: vec![AreaResult {
            id: TOTAL_AREA_ID.into(),
            name: analysis
                .total_title
                .clone()
                .unwrap_or_else(|| TOTAL_TITLE.into()),
            parent: None,
            geometry: None,
            area_m2: 0.0,
            facilities: Vec::new(),
            years: Vec::new(),
        }],
        parent: vec![None],
        layout: layout.clone(),
        counts: vec![0; ny * nc],
        flags: Vec::new(),
        missing: vec![PRESENT; ny * nc],
        facilities: vec![
            FacilityStats {
                count: 0,
                capacity: 0.0
            };
            n_cat
        ],
        n_categories: n_cat,
        values: Vec::new(),
    });

    sw.lap("levels and hierarchy");
    Ok(Prepared {
        count_columns,
        years,
        layout,
        col_pos,
        table_counts,
        value_cols,
        levels,
        id_maps,
        n_cat,
    })
}

/// As [`run`], recording the wall time of each stage into `stages`.
pub fn run_timed(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    stages: &mut StageTimes,
) -> Result<AggregateResult, EngineError> {
    run_located(dataset, analysis, None, None, stages)
}

/// As [`run_timed`], with the finest level's index built beforehand (the loader builds it
/// while it reads the points), and the order the join visits the points in
/// ([`AreaLocator::assign_layer_in`]). An index over another number of areas is not used.
pub fn run_located(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    locator: Option<&AreaLocator>,
    order: Option<&[u32]>,
    stages: &mut StageTimes,
) -> Result<AggregateResult, EngineError> {
    located(dataset, analysis, locator, order, Geometries::Copy, stages)
}

/// As [`run_located`], moving the areas' geometries from the dataset into the result instead
/// of copying them (5,000 areas: 11 MB less to allocate and copy, on the path of `kleinraum
/// aggregate`): the same result, and the dataset is left without geometries.
pub fn run_located_taking_geometries(
    dataset: &mut Dataset,
    analysis: &AnalysisConfig,
    locator: Option<&AreaLocator>,
    order: Option<&[u32]>,
    stages: &mut StageTimes,
) -> Result<AggregateResult, EngineError> {
    let mut result = located(dataset, analysis, locator, order, Geometries::Leave, stages)?;
    // The result's levels are the dataset's, area for area, and then the whole city.
    for (out, lv) in result.levels.iter_mut().zip(&mut dataset.levels) {
        debug_assert_eq!(out.areas.len(), lv.areas.len());
        for (o, a) in out.areas.iter_mut().zip(&mut lv.areas) {
            debug_assert_eq!(o.id, a.id);
            o.geometry = a.geometry.take();
        }
    }
    Ok(result)
}

fn located(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    locator: Option<&AreaLocator>,
    order: Option<&[u32]>,
    geometries: Geometries,
    stages: &mut StageTimes,
) -> Result<AggregateResult, EngineError> {
    let mut sw = Stopwatch {
        last: std::time::Instant::now(),
        stages,
    };
    let prep = prepare(dataset, analysis, geometries, &mut sw)?;
    let pts = &dataset.points;
    let finest = &dataset.levels[0];
    // --- spatial assignment to the finest level ---------------------------------------------
    let built;
    let locator = match locator.filter(|l| l.order.len() == finest.areas.len()) {
        Some(l) => l,
        None => {
            built = AreaLocator::new(&finest.areas, &finest.key)?;
            &built
        }
    };
    sw.lap("index build");
    let assignment = locator.assign_layer_in(pts, order)?;
    let report = assignment_report(dataset, &assignment);

    sw.lap("spatial assignment to the finest level");
    // --- sums on the finest level ------------------------------------------------------------
    let sums = finest_sums(dataset, &assignment, report, |fac| {
        locator.assign(&fac.x, &fac.y).unwrap_or_default()
    });
    sw.lap("sums on the finest level");
    finish(dataset, analysis, prep, &sums, &[], &mut sw)
}

/// Finest-level sums computed elsewhere (incremental drafts, a stored assignment).
///
/// The input of [`run_from_sums`]; [`run_assigned`] returns the sums it computed so a caller
/// can keep them and apply deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct FinestSums {
    /// `sums[area * n_point_columns + j]`: sum of point column `j` (in the order of
    /// `dataset.points.columns`) over the points of finest-level area `area`.
    pub sums: Vec<u64>,
    /// `facilities[area * n_categories + c]` for facility layer `c` of `dataset.facilities`.
    pub facilities: Vec<FacilityStats>,
    /// Points assigned and outside, facilities outside (the table joins are added by the run).
    pub report: AssignmentReport,
}

/// As [`run`], with the points' finest-level areas given: `assignment[i]` is the index of
/// point `i`'s area in `dataset.levels[0].areas`, or [`OUTSIDE`]. Builds no polygon index over
/// the points; facilities (few) are located by a bounding-box scan of the areas in id order,
/// the same rule and priority as [`run`]. Returns the result and the finest-level sums.
pub fn run_assigned(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    assignment: &[u32],
) -> Result<(AggregateResult, FinestSums), EngineError> {
    let mut stages = Vec::new();
    let mut sw = Stopwatch {
        last: std::time::Instant::now(),
        stages: &mut stages,
    };
    let prep = prepare(dataset, analysis, Geometries::Copy, &mut sw)?;
    let finest = &dataset.levels[0];
    if assignment.len() != dataset.points.len() {
        return Err(EngineError::Points {
            message: format!(
                "the assignment has {} entries for {} points",
                assignment.len(),
                dataset.points.len()
            ),
        });
    }
    let n0 = finest.areas.len();
    if let Some((i, &a)) = assignment
        .iter()
        .enumerate()
        .find(|&(_, &a)| a != OUTSIDE && a as usize >= n0)
    {
        return Err(EngineError::Points {
            message: format!(
                "point {} is assigned to area index {a}, but level {:?} has {n0} areas",
                i + 1,
                finest.key
            ),
        });
    }
    let locator = if dataset.facilities.is_empty() {
        None
    } else {
        let (order, polys) = finest_polygons(finest)?;
        Some(BboxLocator::new(order, polys))
    };
    let report = assignment_report(dataset, assignment);
    let sums = finest_sums(dataset, assignment, report, |fac| match &locator {
        Some(l) => l.assign(&fac.x, &fac.y),
        None => Vec::new(),
    });
    let result = finish(dataset, analysis, prep, &sums, &[], &mut sw)?;
    Ok((result, sums))
}

/// As [`run`], from finest-level sums computed elsewhere: no point is looked at.
pub fn run_from_sums(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    finest: &FinestSums,
) -> Result<AggregateResult, EngineError> {
    run_from_sums_withholding(dataset, analysis, finest, &[])
}

/// A finest-level count withheld whatever its value: the same count is withheld in another
/// publication of the same data (an area identical to an area published elsewhere reuses that
/// area's withheld cells; publishing them here would undo the protection there).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Withhold {
    /// Area index in `dataset.levels[0].areas`.
    pub area: usize,
    /// The year.
    pub year: i32,
    /// The count column.
    pub column: String,
}

/// As [`run_from_sums`], with cells withheld from the start (see [`Withhold`]; cells that
/// name an unknown year or column are ignored: they have no value here to protect).
pub fn run_from_sums_withholding(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    finest: &FinestSums,
    withhold: &[Withhold],
) -> Result<AggregateResult, EngineError> {
    let mut stages = Vec::new();
    let mut sw = Stopwatch {
        last: std::time::Instant::now(),
        stages: &mut stages,
    };
    let prep = prepare(dataset, analysis, Geometries::Copy, &mut sw)?;
    let n0 = dataset.levels[0].areas.len();
    let want = n0 * dataset.points.columns.len();
    if finest.sums.len() != want {
        return Err(EngineError::Points {
            message: format!(
                "finest sums have {} values, expected {n0} areas × {} point columns = {want}",
                finest.sums.len(),
                dataset.points.columns.len()
            ),
        });
    }
    let want = n0 * dataset.facilities.len();
    if finest.facilities.len() != want {
        return Err(EngineError::Points {
            message: format!(
                "finest facility sums have {} values, expected {n0} areas × {} categories = {want}",
                finest.facilities.len(),
                dataset.facilities.len()
            ),
        });
    }
    finish(dataset, analysis, prep, finest, withhold, &mut sw)
}

/// Assigns points to areas with the rule of [`run`]: the area index (into `areas`) per point,
/// or [`OUTSIDE`]; where areas overlap, the area with the lowest id wins.
pub fn assign_points(areas: &[Area], x: &[f64], y: &[f64]) -> Result<Vec<u32>, EngineError> {
    Ok(assign_layers(areas, &[(x, y)])?.pop().unwrap_or_default())
}

/// [`assign_points`] for several point layers (addresses, each facility category) with one
/// polygon index.
pub fn assign_layers(
    areas: &[Area],
    layers: &[(&[f64], &[f64])],
) -> Result<Vec<Vec<u32>>, EngineError> {
    let locator = AreaLocator::new(areas, "(areas)")?;
    layers.iter().map(|(x, y)| locator.assign(x, y)).collect()
}

/// [`assign_layers`] for few points (facilities) without building the polygon index: the areas'
/// bounding boxes are scanned in id order, with the same rule and priority, so the answer is
/// the same. For when the address points are already joined and an index would be built for
/// a few hundred points only.
pub fn assign_few(
    areas: &[Area],
    layers: &[(&[f64], &[f64])],
) -> Result<Vec<Vec<u32>>, EngineError> {
    if layers.iter().all(|(x, _)| x.is_empty()) {
        return Ok(layers.iter().map(|_| Vec::new()).collect());
    }
    let (order, polys) = polygons_by_id(areas, "(areas)")?;
    let locator = BboxLocator::new(order, polys);
    layers
        .iter()
        .map(|(x, y)| {
            if x.len() != y.len() {
                return Err(EngineError::Points {
                    message: format!("{} x but {} y coordinates", x.len(), y.len()),
                });
            }
            Ok(locator.assign(x, y))
        })
        .collect()
}

/// The one assignment rule of kleinraum (used by [`run`], the Gebietsstände and the drafts):
/// a point goes to the area whose polygon contains it by the rule of [`crate::spatial`]; where
/// areas overlap, the area with the lowest id wins. Built once per set of areas.
#[derive(Debug, Clone)]
pub struct AreaLocator {
    /// Area index (into the areas given) per polygon of the grid, in id order.
    order: Vec<usize>,
    grid: GridIndex,
}

impl AreaLocator {
    /// Builds the polygon index over `areas` (every one needs a geometry; `level` names them
    /// in errors).
    pub fn new(areas: &[Area], level: &str) -> Result<AreaLocator, EngineError> {
        let (order, polys) = polygons_by_id(areas, level)?;
        Ok(AreaLocator {
            order,
            grid: GridIndex::build_refs(&polys),
        })
    }

    /// The area index per point, or [`OUTSIDE`].
    pub fn assign(&self, x: &[f64], y: &[f64]) -> Result<Vec<u32>, EngineError> {
        if x.len() != y.len() {
            return Err(EngineError::Points {
                message: format!("{} x but {} y coordinates", x.len(), y.len()),
            });
        }
        Ok(self.areas_of(self.grid.assign(x, y)))
    }

    /// [`AreaLocator::assign`] for the points of a layer: in their order if they are in
    /// Morton order, else visited in Morton order through a permutation (a join over points
    /// in file order is several times slower: every lookup misses the cache).
    pub fn assign_layer(&self, points: &crate::model::PointLayer) -> Result<Vec<u32>, EngineError> {
        self.assign_layer_in(points, None)
    }

    /// [`AreaLocator::assign_layer`] visiting the points in `order` when it is given (a
    /// permutation of the points computed beforehand, [`crate::spatial::coarse_morton_order`];
    /// one of another length is not used): the same answer in any order.
    pub fn assign_layer_in(
        &self,
        points: &crate::model::PointLayer,
        order: Option<&[u32]>,
    ) -> Result<Vec<u32>, EngineError> {
        let (x, y) = (&points.x, &points.y);
        if points.in_spatial_order || x.len() != y.len() {
            return self.assign(x, y);
        }
        let found = match order.filter(|o| o.len() == x.len()) {
            Some(order) => self.grid.assign_in_order(x, y, order),
            None => self
                .grid
                .assign_in_order(x, y, &crate::spatial::coarse_morton_order(x, y)),
        };
        Ok(self.areas_of(found))
    }

    /// Grid polygon indices (sorted by id) → area indices of the level.
    fn areas_of(&self, mut found: Vec<u32>) -> Vec<u32> {
        // Areas listed in id order (the usual file) need no renumbering; else on all cores:
        // a pass over every point, on the way from the join to the sums.
        if self.order.iter().enumerate().all(|(i, &k)| i == k) {
            return found;
        }
        found
            .par_iter_mut()
            .with_min_len(1 << 16)
            .filter(|k| **k != OUTSIDE)
            .for_each(|k| *k = self.order[*k as usize] as u32);
        found
    }
}

/// The finest level's polygons sorted by id (the overlap priority of [`run`]) and their
/// positions in the level.
fn finest_polygons(
    finest: &crate::model::Level,
) -> Result<(Vec<usize>, Vec<&MultiPolygon<f64>>), EngineError> {
    polygons_by_id(&finest.areas, &finest.key)
}

/// The areas' geometries in id order (not copied) and their positions in `areas`.
fn polygons_by_id<'a>(
    areas: &'a [Area],
    level: &str,
) -> Result<(Vec<usize>, Vec<&'a MultiPolygon<f64>>), EngineError> {
    // Sorted by id so that a point in an overlap goes to the lowest id.
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| areas[a].id.cmp(&areas[b].id));
    let mut polys = Vec::with_capacity(order.len());
    for &i in &order {
        let a = &areas[i];
        polys.push(a.geometry.as_ref().ok_or_else(|| {
            level_err(
                level,
                format!("area {:?} of the finest level has no geometry", a.id),
            )
        })?);
    }
    Ok((order, polys))
}

/// Locates few points (facilities) without building a grid: polygons in priority order, each
/// tested with the exact rule of [`crate::spatial`] where its bounding box holds the point. The
/// answer equals [`GridIndex`]'s (both equal [`crate::spatial::locate_brute_force`]).
struct BboxLocator<'a> {
    order: Vec<usize>,
    polys: Vec<&'a MultiPolygon<f64>>,
    bboxes: Vec<[f64; 4]>,
}

impl<'a> BboxLocator<'a> {
    fn new(order: Vec<usize>, polys: Vec<&'a MultiPolygon<f64>>) -> Self {
        let bboxes = polys
            .iter()
            .map(|p| match p.bounding_rect() {
                Some(r) => [r.min().x, r.min().y, r.max().x, r.max().y],
                // Empty geometry: a box nothing lies in.
                None => [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ],
            })
            .collect();
        Self {
            order,
            polys,
            bboxes,
        }
    }

    fn assign(&self, x: &[f64], y: &[f64]) -> Vec<u32> {
        x.iter()
            .zip(y)
            .map(|(&px, &py)| {
                self.bboxes
                    .iter()
                    .zip(&self.polys)
                    .position(|(b, p)| {
                        px >= b[0]
                            && px <= b[2]
                            && py >= b[1]
                            && py <= b[3]
                            && contains_rule(p, px, py)
                    })
                    .map_or(OUTSIDE, |k| self.order[k] as u32)
            })
            .collect()
    }
}

/// Points in total, assigned and outside, with the first outside points as examples.
fn assignment_report(dataset: &Dataset, assignment: &[u32]) -> AssignmentReport {
    let pts = &dataset.points;
    // Counted on all cores; the examples, the first outside points in file order, looked for
    // only when there are any.
    let outside = assignment
        .par_iter()
        .with_min_len(1 << 16)
        .filter(|&&a| a == OUTSIDE)
        .count();
    let mut report = AssignmentReport {
        points: pts.len(),
        outside,
        ..Default::default()
    };
    if outside > 0 {
        report.outside_examples = (assignment.iter().enumerate())
            .filter(|&(_, &a)| a == OUTSIDE)
            .take(OUTSIDE_EXAMPLES)
            .map(|(i, _)| ReportedPoint {
                key: pts
                    .keys
                    .get(i)
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_else(|| format!("row {}", i + 1)),
                x: pts.x[i],
                y: pts.y[i],
            })
            .collect();
    }
    report.assigned = report.points - report.outside;
    report
}

/// Sums the point columns per finest area and counts the facilities, located by `locate`
/// (area index per facility or [`OUTSIDE`]).
fn finest_sums(
    dataset: &Dataset,
    assignment: &[u32],
    mut report: AssignmentReport,
    locate: impl Fn(&crate::model::FacilityLayer) -> Vec<u32>,
) -> FinestSums {
    let pts = &dataset.points;
    let cols: Vec<&[u32]> = pts.columns.iter().map(|c| c.values.as_slice()).collect();
    let n0 = dataset.levels[0].areas.len();
    let n_cat = dataset.facilities.len();
    let sums = sum_by_area(assignment, n0, &cols);
    let mut facilities = vec![
        FacilityStats {
            count: 0,
            capacity: 0.0
        };
        n0 * n_cat
    ];
    for (f, fac) in dataset.facilities.iter().enumerate() {
        let asg = locate(fac);
        let mut outside = 0;
        for (i, &a) in asg.iter().enumerate() {
            if a == OUTSIDE {
                outside += 1;
                continue;
            }
            let s = &mut facilities[a as usize * n_cat + f];
            s.count += 1;
            s.capacity += fac.capacity.get(i).copied().flatten().unwrap_or(0.0);
        }
        if outside > 0 {
            report
                .facilities_outside
                .push((fac.category.clone(), outside));
        }
    }
    FinestSums {
        sums,
        facilities,
        report,
    }
}

/// Everything after the finest-level sums: roll-up, tables, disclosure control, indicators,
/// indices, assembly.
fn finish(
    dataset: &Dataset,
    analysis: &AnalysisConfig,
    prep: Prepared<'_>,
    finest: &FinestSums,
    withhold: &[Withhold],
    sw: &mut Stopwatch<'_>,
) -> Result<AggregateResult, EngineError> {
    let Prepared {
        count_columns,
        years,
        layout,
        col_pos,
        table_counts,
        value_cols,
        mut levels,
        id_maps,
        n_cat,
    } = prep;
    let ny = years.len();
    let nc = count_columns.len();
    let mut report = finest.report.clone();
    {
        let np = dataset.points.columns.len();
        let l0 = &mut levels[0];
        let n0 = l0.areas.len();
        for a in 0..n0 {
            for (j, &(y, k)) in col_pos.iter().enumerate() {
                l0.counts[layout.cell(a, y, k)] = finest.sums[a * np + j];
            }
        }
        l0.facilities.copy_from_slice(&finest.facilities);
    }
    // --- tables ------------------------------------------------------------------------------
    // Each row to its area (by id) and year; a second row for the same area and year is an
    // error (the loader reports duplicates with their lines, so this is a caller's bug).
    let mut rows_of: Vec<TableRows> = Vec::with_capacity(dataset.tables.len());
    for table in &dataset.tables {
        let li = dataset
            .levels
            .iter()
            .position(|l| l.key == table.level)
            .ok_or_else(|| EngineError::Table {
                table: table.name.clone(),
                message: format!("level {:?} does not exist", table.level),
            })?;
        let mut row = vec![None; levels[li].areas.len() * ny];
        let mut unmatched: Vec<String> = Vec::new();
        for (r, (id, year)) in table.ids.iter().zip(&table.years).enumerate() {
            let y = years.binary_search(year).unwrap_or_default();
            match id_maps[li].get(id.as_str()) {
                Some(&a) => {
                    if row[a * ny + y].is_some() {
                        return Err(EngineError::Table {
                            table: table.name.clone(),
                            message: format!("id {id:?} appears twice for {year}"),
                        });
                    }
                    row[a * ny + y] = Some(r);
                }
                None => {
                    if !unmatched.contains(id) {
                        unmatched.push(id.clone());
                    }
                }
            }
        }
        if !unmatched.is_empty() {
            report
                .unmatched_table_ids
                .push((table.name.clone(), unmatched));
        }
        let mut has_year = vec![false; ny];
        for year in table.distinct_years() {
            has_year[years.binary_search(&year).unwrap_or_default()] = true;
        }
        rows_of.push(TableRows {
            level: li,
            row,
            has_year,
        });
    }
    // Count columns of the tables into the finest level's cells. A missing value (a marker, or
    // no row for an area in a year the table covers) makes the cell missing, not 0.
    {
        let l0 = &mut levels[0];
        let n0 = l0.areas.len();
        for &(t, c, k) in &table_counts {
            let tr = &rows_of[t];
            let col = &dataset.tables[t].columns[c];
            for a in 0..n0 {
                for y in (0..ny).filter(|&y| tr.has_year[y]) {
                    let i = layout.cell(a, y, k);
                    match tr.row[a * ny + y].and_then(|r| col.values[r]) {
                        // Interpolated estimates are fractional: a count cell holds the
                        // rounded value.
                        Some(v) if v.is_finite() => l0.counts[i] = v.round().max(0.0) as u64,
                        _ => l0.missing[i] = MISSING_IN_SOURCE,
                    }
                }
            }
        }
    }

    sw.lap("tables");
    // --- roll-up ------------------------------------------------------------------------------
    for li in 0..levels.len() - 1 {
        let (lo, hi) = levels.split_at_mut(li + 1);
        let child = &lo[li];
        let up = &mut hi[0];
        // From the dataset: a run may leave the geometries for its caller to move in. The
        // whole city (past the dataset's levels) has none.
        let has_geometry = |i: usize| {
            dataset
                .levels
                .get(li + 1)
                .is_some_and(|l| l.areas[i].geometry.is_some())
        };
        let derive_area = (0..up.areas.len()).any(|i| !has_geometry(i));
        let mut child_area = vec![0.0; up.areas.len()];
        for (a, p) in child.parent.iter().enumerate() {
            let Some(p) = *p else { continue };
            let n = ny * nc;
            for k in 0..n {
                up.counts[p * n + k] += child.counts[a * n + k];
                if child.missing[a * n + k] != PRESENT {
                    up.missing[p * n + k] = MISSING_PART;
                }
            }
            for f in 0..n_cat {
                let c = child.facility(a, f);
                let s = &mut up.facilities[p * n_cat + f];
                s.count += c.count;
                s.capacity += c.capacity;
            }
            child_area[p] += child.areas[a].area_m2;
        }
        if derive_area {
            for (i, (area, sum)) in up.areas.iter_mut().zip(child_area).enumerate() {
                if !has_geometry(i) {
                    area.area_m2 = sum;
                }
            }
        }
    }

    sw.lap("roll-up");
    // --- disclosure control --------------------------------------------------------------------
    let col_index = |name: &str| -> Result<usize, EngineError> {
        count_columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| EngineError::Disclosure {
                message: format!(
                    "additive relation names unknown count column {name:?} (available: {})",
                    count_columns.join(", ")
                ),
            })
    };
    let additive = analysis
        .disclosure
        .additive
        .iter()
        .map(|r| {
            Ok(ColumnRelation {
                total: col_index(&r.total)?,
                parts: r
                    .parts
                    .iter()
                    .map(|p| col_index(p))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    let protection_report;
    let flags = {
        let cells: Vec<LevelCells<'_>> = levels
            .iter()
            .map(|l| LevelCells {
                values: &l.counts,
                parent: &l.parent,
            })
            .collect();
        let n0 = levels[0].areas.len();
        let forced: Vec<usize> = withhold
            .iter()
            .filter(|w| w.area < n0)
            .filter_map(|w| {
                let y = years.iter().position(|&y| y == w.year)?;
                let c = count_columns.iter().position(|c| *c == w.column)?;
                Some(layout.cell(w.area, y, c))
            })
            .collect();
        let missing_owned: Vec<Vec<bool>> = if table_counts.is_empty() {
            Vec::new()
        } else {
            levels
                .iter()
                .map(|l| l.missing.iter().map(|&m| m != PRESENT).collect())
                .collect()
        };
        let missing: Vec<&[bool]> = missing_owned.iter().map(Vec::as_slice).collect();
        let mut flags = disclosure::suppress_with_missing(
            &cells,
            &layout,
            &additive,
            analysis.disclosure.threshold,
            &missing,
            &forced,
        );
        // Then every primary cell's interval over all published relations must cover
        // [0, threshold] (protection by linear programming, see `protection`).
        let rels = disclosure::relations(&cells, &layout, &additive);
        let bounds = analysis
            .disclosure
            .bounds
            .iter()
            .map(|b| {
                Ok(ColumnBound {
                    part: col_index(&b.part)?,
                    whole: col_index(&b.whole)?,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let cons = protection::Constraints::new(&cells, &layout, &rels, &bounds);
        protection_report = protection::protect(&cons, &mut flags, analysis.disclosure.threshold);
        flags
    };
    for (l, f) in levels.iter_mut().zip(flags) {
        l.flags = f;
    }

    sw.lap("disclosure control");
    // --- table values (rates and other non-counts) on every level --------------------------------
    let count_index = |name: &str| count_columns.iter().position(|c| c == name);
    let mut per_level: Vec<Vec<Vec<Eval>>> = vec![Vec::new(); levels.len()];
    for &(t, c) in &value_cols {
        let table = &dataset.tables[t];
        let col = &table.columns[c];
        let weight = match &col.weight {
            None => None,
            Some(w) => Some(count_index(w).ok_or_else(|| EngineError::Table {
                table: table.name.clone(),
                message: format!(
                    "column {:?}: weight {w:?} is not a count column (available: {})",
                    col.name,
                    count_columns.join(", ")
                ),
            })?),
        };
        let vals = table_values(&levels, &rows_of[t], col, weight, ny);
        for (li, v) in vals.into_iter().enumerate() {
            per_level[li].push(v);
        }
    }
    for (l, v) in levels.iter_mut().zip(per_level) {
        l.values = v;
    }

    sw.lap("table values");
    // --- indicators ------------------------------------------------------------------------------
    let categories: Vec<String> = dataset
        .facilities
        .iter()
        .map(|f| f.category.clone())
        .collect();
    let names = Names {
        counts: &count_columns,
        facilities: &categories,
        tables: &dataset.tables,
        value_cols: &value_cols,
    };
    let formulas = indicators::compile(&analysis.indicators, &names)?;
    let evals: Vec<Vec<Eval>> = levels
        .iter()
        .map(|l| indicators::compute_level(&formulas, l, &years))
        .collect();
    let ni = formulas.len();

    sw.lap("indicators");
    // --- indices ---------------------------------------------------------------------------------
    // index_values[index][level] = Some(per year: Option<per area values>)
    let mut index_values: Vec<(usize, Vec<Option<Vec<IndexValue>>>)> = Vec::new();
    for idx in &analysis.indices {
        let li = dataset
            .levels
            .iter()
            .position(|l| l.key == idx.level)
            .ok_or_else(|| EngineError::Index {
                index: idx.id.clone(),
                message: format!("level {:?} does not exist", idx.level),
            })?;
        let pos = |id: &String| -> Result<usize, EngineError> {
            analysis
                .indicators
                .iter()
                .position(|i| &i.id == id)
                .ok_or_else(|| EngineError::UnknownOperand {
                    indicator: idx.id.clone(),
                    operand: id.clone(),
                    hint: "status and dynamics name indicator ids".into(),
                })
        };
        let st: Vec<usize> = idx.status.iter().map(pos).collect::<Result<_, _>>()?;
        let dy: Vec<usize> = idx.dynamics.iter().map(pos).collect::<Result<_, _>>()?;
        let pop_op = indicators::parse_operand(&idx.id, &idx.population, &names)?;
        if matches!(
            pop_op,
            Operand::FacilityCount(_) | Operand::FacilityCapacity(_)
        ) {
            return Err(EngineError::Index {
                index: idx.id.clone(),
                message: format!(
                    "population {:?} must be a count or table column",
                    idx.population
                ),
            });
        }
        let level = &levels[li];
        let ev = &evals[li];
        let n_areas = level.areas.len();
        let ids: Vec<String> = level.areas.iter().map(|a| a.id.clone()).collect();
        let mut per_year = vec![None; ny];
        for y in 0..ny {
            // An area whose index indicator is withheld (a suppressed operand) takes no part
            // in the index: its index value would give the withheld value back (everything
            // is linear), and so would the means and SDs its true value entered.
            let withheld: Vec<bool> = (0..n_areas)
                .map(|a| {
                    st.iter().chain(&dy).any(|&i| {
                        ev[(a * ny + y) * ni + i].published().reason == Some(NullReason::Suppressed)
                    })
                })
                .collect();
            let truth = |i: usize| -> Vec<IndicatorValue> {
                (0..n_areas)
                    .map(|a| {
                        if withheld[a] {
                            IndicatorValue::null(NullReason::Suppressed)
                        } else {
                            ev[(a * ny + y) * ni + i].truth()
                        }
                    })
                    .collect()
            };
            let st_vals: Vec<Vec<IndicatorValue>> = st.iter().map(|&i| truth(i)).collect();
            let wanted = if idx.years.is_empty() {
                (0..n_areas).any(|a| st_vals.iter().all(|v| v[a].value.is_some()))
            } else {
                idx.years.contains(&years[y])
            };
            if !wanted {
                continue;
            }
            let dy_vals: Vec<Vec<IndicatorValue>> = dy.iter().map(|&i| truth(i)).collect();
            let pop: Vec<Option<f64>> = (0..n_areas)
                .map(|a| indicators::operand(pop_op, level, a, y).value.ok())
                .collect();
            let s_ii: Vec<IndexIndicator<'_>> = as_input(&analysis.indicators, &st, &st_vals);
            let d_ii: Vec<IndexIndicator<'_>> = as_input(&analysis.indicators, &dy, &dy_vals);
            let vals = compute_index(idx, &ids, &pop, &s_ii, &d_ii)?;
            per_year[y] = Some(vals);
        }
        index_values.push((li, per_year));
    }

    sw.lap("indices");
    // --- assemble ----------------------------------------------------------------------------------
    let mut out_levels = Vec::with_capacity(levels.len());
    for (li, l) in levels.into_iter().enumerate() {
        let ev = &evals[li];
        let mut areas = l.areas;
        for (a, area) in areas.iter_mut().enumerate() {
            area.facilities = (0..n_cat).map(|f| l.facilities[a * n_cat + f]).collect();
            area.years = (0..ny)
                .map(|y| AreaYear {
                    year: years[y],
                    counts: (0..nc)
                        .map(|c| {
                            let i = layout.cell(a, y, c);
                            match l.flags[i] {
                                CountFlag::Published => Count::published(l.counts[i]),
                                flag => Count { value: None, flag },
                            }
                        })
                        .collect(),
                    // Published at the indicator's declared precision: more digits of a
                    // share would turn it back into its exact counts.
                    indicators: (0..ni)
                        .map(|i| {
                            let mut v = ev[(a * ny + y) * ni + i].published();
                            v.value = v
                                .value
                                .map(|x| round_decimals(x, analysis.indicators[i].decimals));
                            v
                        })
                        .collect(),
                    indices: index_values
                        .iter()
                        .map(|(il, per_year)| {
                            if *il != li {
                                return None;
                            }
                            per_year[y].as_ref().map(|v| v[a].clone())
                        })
                        .collect(),
                })
                .collect();
        }
        out_levels.push(LevelResult {
            key: l.key,
            title: l.title,
            areas,
        });
    }
    sw.lap("assemble");
    Ok(AggregateResult {
        working_epsg: dataset.working_epsg,
        years,
        count_columns,
        facility_categories: categories,
        facility_titles: dataset.facilities.iter().map(|f| f.title.clone()).collect(),
        indicators: analysis.indicators.clone(),
        indices: analysis.indices.clone(),
        disclosure: analysis.disclosure.clone(),
        levels: out_levels,
        report,
        protection: ProtectionSummary {
            primary: protection_report.primary,
            added: protection_report.added,
            unprotected: protection_report.unprotected.len(),
        },
    })
}

/// The rows of one area table on its level: `row[area * n_years + year]`.
struct TableRows {
    /// Index of the table's level.
    level: usize,
    row: Vec<Option<usize>>,
    /// Whether the table has any row in the year.
    has_year: Vec<bool>,
}

/// A value column of an area table on every level, `out[level][area * n_years + year]`.
///
/// On the table's level: the row's value; [`NullReason::SourceMissing`] where the source marks
/// it missing or has no row for the area in a year it covers. Finer levels: no data. Coarser
/// levels: with a `weight` count column, the mean weighted by that column over the parts on
/// the table's level (Σ v·w / Σ w; a part without value or weight makes it
/// [`NullReason::Incomplete`], a suppressed weight makes it suppressed); without one,
/// [`NullReason::NotAdditive`] — a rate is not averaged silently.
fn table_values(
    levels: &[LevelData],
    tr: &TableRows,
    col: &crate::model::TableColumn,
    weight: Option<usize>,
    ny: usize,
) -> Vec<Vec<Eval>> {
    let err = |r: NullReason| Eval {
        value: Err(r),
        suppressed: false,
    };
    let mut out: Vec<Vec<Eval>> = levels
        .iter()
        .map(|l| vec![err(NullReason::NoData); l.areas.len() * ny])
        .collect();
    let tl = tr.level;
    for a in 0..levels[tl].areas.len() {
        for y in (0..ny).filter(|&y| tr.has_year[y]) {
            out[tl][a * ny + y] = match tr.row[a * ny + y].and_then(|r| col.values[r]) {
                Some(v) => Eval {
                    value: Ok(v),
                    suppressed: false,
                },
                None => err(NullReason::SourceMissing),
            };
        }
    }
    // Coarser levels: (Σ v·w, Σ w, a part without value or weight, a suppressed weight).
    let Some(k) = weight else {
        for (li, lv) in levels.iter().enumerate().skip(tl + 1) {
            for a in 0..lv.areas.len() {
                for y in (0..ny).filter(|&y| tr.has_year[y]) {
                    out[li][a * ny + y] = err(NullReason::NotAdditive);
                }
            }
        }
        return out;
    };
    #[derive(Clone, Copy)]
    struct Acc {
        num: f64,
        den: f64,
        incomplete: bool,
        suppressed: bool,
    }
    let zero = Acc {
        num: 0.0,
        den: 0.0,
        incomplete: false,
        suppressed: false,
    };
    let lt = &levels[tl];
    let mut acc: Vec<Acc> = (0..lt.areas.len() * ny)
        .map(|i| {
            let (a, y) = (i / ny, i % ny);
            if !tr.has_year[y] {
                return zero;
            }
            let v = out[tl][i].value.ok();
            if !lt.layout.has(y, k) {
                return Acc {
                    incomplete: true,
                    ..zero
                };
            }
            let c = lt.layout.cell(a, y, k);
            let w = lt.counts[c] as f64;
            let suppressed = matches!(
                lt.flags.get(c),
                Some(CountFlag::Suppressed | CountFlag::SecondarySuppressed)
            );
            match v {
                Some(v) if lt.missing[c] == PRESENT => Acc {
                    num: v * w,
                    den: w,
                    incomplete: false,
                    suppressed,
                },
                _ => Acc {
                    incomplete: true,
                    ..zero
                },
            }
        })
        .collect();
    for li in tl..levels.len() - 1 {
        let child = &levels[li];
        let mut up = vec![zero; levels[li + 1].areas.len() * ny];
        for (a, p) in child.parent.iter().enumerate() {
            let Some(p) = *p else { continue };
            for y in 0..ny {
                let c = acc[a * ny + y];
                let u = &mut up[p * ny + y];
                u.num += c.num;
                u.den += c.den;
                u.incomplete |= c.incomplete;
                u.suppressed |= c.suppressed;
            }
        }
        for (i, u) in up.iter().enumerate() {
            if !tr.has_year[i % ny] {
                continue;
            }
            out[li + 1][i] = if u.incomplete {
                err(NullReason::Incomplete)
            } else if u.den == 0.0 {
                err(NullReason::DenominatorZero)
            } else {
                Eval {
                    value: Ok(u.num / u.den),
                    suppressed: u.suppressed,
                }
            };
        }
        acc = up;
    }
    out
}

/// The years of the area tables, for callers that build datasets by hand.
pub fn table_years(tables: &[AreaTable]) -> Vec<i32> {
    let mut y: Vec<i32> = tables.iter().flat_map(|t| t.distinct_years()).collect();
    y.sort_unstable();
    y.dedup();
    y
}
