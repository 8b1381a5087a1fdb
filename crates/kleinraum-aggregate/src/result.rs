//! The immutable, publishable result of a run: every count has passed disclosure control.
//!
//! Writers (CSV, GeoJSON, GeoPackage) and the server render this type; nothing in it is
//! address-level.

use crate::config::{DisclosureConfig, IndexConfig, IndicatorConfig};
use geo::MultiPolygon;
use serde::Serialize;

/// Why a published count is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountFlag {
    /// Published as computed.
    Published,
    /// Below the disclosure threshold.
    Suppressed,
    /// Suppressed so that another suppressed count cannot be recovered by subtraction.
    SecondarySuppressed,
    /// The column has no data for this year.
    NoData,
    /// The source has no value for this area and year (a cell marked `*`, `.`, `-` … or an
    /// area without a row in an area table), or — on a coarser level — for one of its parts.
    Missing,
}

/// A published count: `value` is `None` unless `flag == Published`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The count, if published.
    pub value: Option<u64>,
    /// Publication status.
    pub flag: CountFlag,
}

impl Count {
    /// A published value.
    pub fn published(v: u64) -> Self {
        Self {
            value: Some(v),
            flag: CountFlag::Published,
        }
    }
    /// No data for this year.
    pub fn no_data() -> Self {
        Self {
            value: None,
            flag: CountFlag::NoData,
        }
    }
}

/// Why an indicator or index value is `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NullReason {
    /// The denominator is 0 (no children, no residents): the rate is undefined.
    DenominatorZero,
    /// An operand is suppressed, so publishing the value would reveal it.
    Suppressed,
    /// An operand has no data for this year (or the earlier year of a change).
    NoData,
    /// The area has fewer residents than the index's minimum population.
    BelowMinPopulation,
    /// The area is excluded from the index by configuration (outlier).
    Excluded,
    /// The source marks the value as missing (`*`, `.`, `-`, `x`, `/`) or has no row for it.
    SourceMissing,
    /// A rate from an area table on a coarser level without a declared weight column: rates
    /// are not averaged silently.
    NotAdditive,
    /// On a coarser level: one of the parts has no value, so the sum or mean would be wrong.
    Incomplete,
    /// The index cannot be computed over this set of areas (a draft or upload with fewer than
    /// two valid areas, or an indicator equal in all of them).
    TooFewAreas,
}

impl NullReason {
    /// The reason in plain German, for tables and the map.
    pub fn german(self) -> &'static str {
        match self {
            NullReason::DenominatorZero => "Nenner ist 0 (keine Bezugsgruppe)",
            NullReason::Suppressed => {
                "gesperrt (Datenschutz: kleine Fallzahl oder daraus errechenbar)"
            }
            NullReason::NoData => "keine Daten für dieses Jahr",
            NullReason::BelowMinPopulation => "zu wenige Einwohner:innen für den Index",
            NullReason::Excluded => "vom Index ausgeschlossen",
            NullReason::SourceMissing => "in der Quelle ohne Wert (z. B. „*“ oder „.“)",
            NullReason::NotAdditive => {
                "Anteilswert der Quelle: ohne Gewichtung nicht zusammenfassbar"
            }
            NullReason::Incomplete => "für ein Teilgebiet fehlt der Wert",
            NullReason::TooFewAreas => "zu wenige Gebiete für den Index",
        }
    }
}

/// An indicator value with the reason when it is undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IndicatorValue {
    /// The value in the indicator's unit.
    pub value: Option<f64>,
    /// Set when `value` is `None`.
    pub reason: Option<NullReason>,
}

impl IndicatorValue {
    /// A defined value.
    pub fn some(v: f64) -> Self {
        Self {
            value: Some(v),
            reason: None,
        }
    }
    /// An undefined value with its reason.
    pub fn null(reason: NullReason) -> Self {
        Self {
            value: None,
            reason: Some(reason),
        }
    }
}

/// The per-indicator share of an area's index value: its z-value (or scaled deviation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// Indicator id.
    pub indicator: String,
    /// The z-value of the indicator for this area.
    pub z: f64,
}

/// Output field suffixes of an index, in order: `<index id>_<suffix>` in every table, layer
/// and API response.
pub const INDEX_FIELDS: [&str; 6] = [
    "status_value",
    "status_class",
    "dynamics_value",
    "dynamics_class",
    "group",
    "attention",
];

/// One area's composite index for one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexValue {
    /// Re-standardised status index (positive = more disadvantage).
    pub status_value: Option<f64>,
    /// 1 hoch, 2 mittel, 3 niedrig, 4 sehr niedrig.
    pub status_class: Option<u8>,
    /// Re-standardised dynamics index (positive = getting worse).
    pub dynamics_value: Option<f64>,
    /// 1 positiv, 2 stabil, 3 negativ.
    pub dynamics_class: Option<u8>,
    /// Gesamtindex group, e.g. `2-` or `3+/-`.
    pub group: Option<String>,
    /// Flagged as Sozialraumgebiet (area needing attention).
    pub attention: bool,
    /// Why the area has no index value, if it has none.
    pub reason: Option<NullReason>,
    /// Per-indicator z-values of the status indicators (why the area is classed as it is).
    pub status_contributions: Vec<Contribution>,
    /// Per-indicator z-values of the dynamics indicators.
    pub dynamics_contributions: Vec<Contribution>,
}

/// Facilities of one category inside one area. Public data: not suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FacilityStats {
    /// Number of facilities.
    pub count: u64,
    /// Sum of capacities (places, beds); facilities without capacity count as 0.
    pub capacity: f64,
}

/// One area in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaYear {
    /// Reference year.
    pub year: i32,
    /// Aligned with [`AggregateResult::count_columns`].
    pub counts: Vec<Count>,
    /// Aligned with [`AggregateResult::indicators`].
    pub indicators: Vec<IndicatorValue>,
    /// Aligned with [`AggregateResult::indices`]; `None` where the index is not computed for
    /// this level or year.
    pub indices: Vec<Option<IndexValue>>,
}

/// One area with all its years.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaResult {
    /// Area id (leading zeros kept).
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent id on the next coarser level.
    pub parent: Option<String>,
    /// Geometry in the working CRS, if the level has geometry.
    pub geometry: Option<MultiPolygon<f64>>,
    /// Area in m² (from the geometry; for geometry-less levels the sum of the children).
    pub area_m2: f64,
    /// Aligned with [`AggregateResult::facility_categories`].
    pub facilities: Vec<FacilityStats>,
    /// Aligned with [`AggregateResult::years`].
    pub years: Vec<AreaYear>,
}

/// One hierarchy level of the result.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelResult {
    /// Level key (`planungsraeume`); the last level may be the synthetic `gesamt` (whole city).
    pub key: String,
    /// German title.
    pub title: String,
    /// Areas.
    pub areas: Vec<AreaResult>,
}

/// A point listed in the assignment report (check output); coordinates stay on the server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportedPoint {
    /// The point's key (row key), or its row number if it has none.
    pub key: String,
    /// Working-CRS coordinates.
    pub x: f64,
    /// Working-CRS coordinates.
    pub y: f64,
}

/// How the points were assigned. For the operator only: never served.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AssignmentReport {
    /// Address points in total.
    pub points: usize,
    /// Address points inside some area of the finest level.
    pub assigned: usize,
    /// Address points outside every area.
    pub outside: usize,
    /// The first few outside points.
    pub outside_examples: Vec<ReportedPoint>,
    /// Facilities outside every area, per category: (category, count).
    pub facilities_outside: Vec<(String, usize)>,
    /// Ids in area tables that match no area: (table, ids).
    pub unmatched_table_ids: Vec<(String, Vec<String>)>,
}

/// The publishable result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateResult {
    /// EPSG code of the working CRS of the geometries.
    pub working_epsg: u32,
    /// Years, ascending.
    pub years: Vec<i32>,
    /// Count column names.
    pub count_columns: Vec<String>,
    /// Facility category keys.
    pub facility_categories: Vec<String>,
    /// Facility category titles, aligned with `facility_categories`.
    pub facility_titles: Vec<String>,
    /// Indicator definitions.
    pub indicators: Vec<IndicatorConfig>,
    /// Index definitions.
    pub indices: Vec<IndexConfig>,
    /// Disclosure settings that were applied.
    pub disclosure: DisclosureConfig,
    /// Levels, finest first.
    pub levels: Vec<LevelResult>,
    /// Assignment report (operator only).
    pub report: AssignmentReport,
    /// What the protection step of disclosure control did (operator only).
    pub protection: ProtectionSummary,
}

/// Counts of the protection step (see [`crate::protection`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProtectionSummary {
    /// Primary suppressions checked.
    pub primary: usize,
    /// Secondary suppressions added to widen intervals.
    pub added: usize,
    /// Primary suppressions whose interval stayed too narrow (should be 0).
    pub unprotected: usize,
}

impl AggregateResult {
    /// A level by key.
    pub fn level(&self, key: &str) -> Option<&LevelResult> {
        self.levels.iter().find(|l| l.key == key)
    }

    /// Position of a year in [`Self::years`].
    pub fn year_index(&self, year: i32) -> Option<usize> {
        self.years.iter().position(|&y| y == year)
    }
}
