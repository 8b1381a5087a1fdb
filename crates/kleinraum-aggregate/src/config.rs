//! The analysis part of the configuration: indicators, composite indices, disclosure control.
//!
//! Deserialised from the `[[indicator]]`, `[[index]]` and `[disclosure]` sections of the TOML
//! config (the loading crate owns the rest of the file). Unknown keys are rejected by name.
//! Everything a city varies (indicator set, minimum size, thresholds, the Sozialraumgebiet rule)
//! is here, not in code.

use serde::{Deserialize, Serialize};

/// The analysis sections of a config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Indicators, in display order.
    #[serde(default, rename = "indicator")]
    pub indicators: Vec<IndicatorConfig>,
    /// Composite indices (e.g. the MSS status/dynamics index).
    #[serde(default, rename = "index")]
    pub indices: Vec<IndexConfig>,
    /// Statistical disclosure control.
    #[serde(default)]
    pub disclosure: DisclosureConfig,
    /// Name of the whole municipality (the one area of the top level): "Gesamtstadt" unless
    /// set (a Kreis: its name).
    #[serde(default)]
    pub total_title: Option<String>,
}

/// How an indicator is computed. Operands name a count column (`residents`), a facility measure
/// (`kitas.capacity`, `kitas.count`), a table column (`mss2021.S1`) or another indicator (for
/// `change`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// numerator / denominator × 100, in %.
    Share,
    /// numerator / denominator × 1000, per 1,000.
    #[serde(rename = "rate_per_1000")]
    RatePer1000,
    /// numerator / area in km².
    DensityKm2,
    /// capacity / target group × 100: places per 100 of the target group (Versorgungsquote).
    SupplyRate,
    /// value(year) − value(year − years) of another indicator, in percentage points (or the
    /// indicator's unit).
    Change,
    /// A value taken as it is from an area table column (`numerator = "mss2021.S1"`).
    Value,
}

/// Whether a high value means more disadvantage.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Higher is worse (SGB II share, child poverty).
    #[default]
    HigherIsWorse,
    /// Higher is better (Kita places per 100 children).
    HigherIsBetter,
    /// No judgement (share aged 65+).
    Neutral,
}

/// One indicator, declared in config.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndicatorConfig {
    /// Machine id, also the output column name (`s4`, `kita_versorgung`).
    pub id: String,
    /// German title (`Kinderarmut`).
    pub title: String,
    /// The formula.
    pub kind: IndicatorKind,
    /// Numerator operand (for `change`: the id of the indicator whose change is taken).
    pub numerator: String,
    /// Denominator operand (share, rate, supply rate).
    #[serde(default)]
    pub denominator: Option<String>,
    /// For `change`: the number of years between the two values.
    #[serde(default)]
    pub years: Option<i32>,
    /// Unit shown in the UI; defaults from the kind (`%`, `je 1.000`, `je km²`, `je 100`, `Pp.`).
    #[serde(default)]
    pub unit: Option<String>,
    /// Where the data come from, for the indicator catalogue.
    #[serde(default)]
    pub source: Option<String>,
    /// Longer explanation for the catalogue and the profile panel.
    #[serde(default)]
    pub description: Option<String>,
    /// Polarity, for colour ramps and the index.
    #[serde(default)]
    pub polarity: Polarity,
    /// Decimal places in tables.
    #[serde(default = "default_decimals")]
    pub decimals: u8,
}

impl IndicatorConfig {
    /// The unit shown beside values: the configured one, else the kind's (one rule for the
    /// API, the map and the reports).
    pub fn unit_label(&self) -> String {
        if let Some(u) = &self.unit {
            return u.clone();
        }
        match self.kind {
            IndicatorKind::Share => "%",
            IndicatorKind::RatePer1000 => "je 1.000",
            IndicatorKind::DensityKm2 => "je km²",
            IndicatorKind::SupplyRate => "je 100",
            IndicatorKind::Change => "Pp.",
            IndicatorKind::Value => "",
        }
        .to_string()
    }
}

fn default_decimals() -> u8 {
    2
}

/// How classes of a composite index are formed.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum IndexMethod {
    /// Berlin MSS: z-standardise over the valid areas, sum, z-standardise again.
    #[default]
    Zscore,
    /// Small-n variant for Kreise with 15–20 Sozialräume: each indicator is compared with a
    /// configured external reference value (e.g. the Land average) and scaled by a configured
    /// spread instead of the areas' own mean and SD.
    Reference,
}

/// A composite index, declared in config. Defaults reproduce Berlin's MSS 2021.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    /// Machine id, prefix of the output columns (`mss` → `mss_status_class`).
    pub id: String,
    /// German title.
    pub title: String,
    /// Method.
    #[serde(default)]
    pub method: IndexMethod,
    /// Key of the level the index is computed on.
    pub level: String,
    /// Years to compute it for; empty = every year where all indicators have values.
    #[serde(default)]
    pub years: Vec<i32>,
    /// Status indicator ids.
    pub status: Vec<String>,
    /// Dynamics indicator ids (may be empty: then no dynamics classes).
    #[serde(default)]
    pub dynamics: Vec<String>,
    /// Count column giving the population for the minimum-size rule.
    #[serde(default = "default_population")]
    pub population: String,
    /// Areas with fewer residents get no index value (MSS: 300).
    #[serde(default = "default_min_population")]
    pub min_population: u64,
    /// Areas excluded by hand (outliers), by id.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Status class limits: hoch < t0 ≤ mittel ≤ t1 < niedrig ≤ t2 < sehr niedrig.
    #[serde(default = "default_status_thresholds")]
    pub status_thresholds: [f64; 3],
    /// Dynamics class limits: positiv < t0 ≤ stabil ≤ t1 < negativ.
    #[serde(default = "default_dynamics_thresholds")]
    pub dynamics_thresholds: [f64; 2],
    /// Gesamtindex groups that flag a Sozialraumgebiet ("3+", "4-", …); `*` matches any
    /// dynamics (`"3*"`). MSS: status niedrig or sehr niedrig, or mittel with negative dynamics.
    #[serde(default = "default_attention")]
    pub attention: Vec<String>,
    /// For `method = "reference"`: reference value per indicator id (e.g. the Land average).
    #[serde(default)]
    pub reference: std::collections::BTreeMap<String, f64>,
    /// For `method = "reference"`: spread per indicator id used as the scale (e.g. the Land's
    /// SD across Kreise); the deviation is (x − reference) / spread.
    #[serde(default)]
    pub reference_spread: std::collections::BTreeMap<String, f64>,
    /// Set by the Gebietsstände for drafts and uploads, not by configuration: when the index
    /// cannot be computed over their areas (fewer than two valid areas, or an indicator equal
    /// in all of them) the areas get no index value (`too_few_areas`) instead of an error — the
    /// config's author chose the method for the configured Sozialräume, not for every drawing.
    #[serde(skip)]
    pub lenient: bool,
}

fn default_population() -> String {
    "residents".into()
}
fn default_min_population() -> u64 {
    300
}
fn default_status_thresholds() -> [f64; 3] {
    [-1.0, 1.0, 1.5]
}
fn default_dynamics_thresholds() -> [f64; 2] {
    [-1.0, 1.0]
}
fn default_attention() -> Vec<String> {
    vec!["3*".into(), "4*".into(), "2-".into()]
}

/// Statistical disclosure control for every published count.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DisclosureConfig {
    /// Counts 1 ≤ n < threshold are suppressed (0 is published: it reveals no person).
    #[serde(default = "default_threshold")]
    pub threshold: u64,
    /// Additive relations within an area: `total` = sum of `parts` (age groups sum to
    /// residents). Secondary suppression keeps a suppressed part from being recovered by
    /// subtraction from the total.
    #[serde(default)]
    pub additive: Vec<AdditiveRelation>,
    /// Subsets within an area: `part` ≤ `whole` (children in SGB II households ≤ children
    /// under 15). An attacker knows them; protection intervals take them into account.
    #[serde(default, rename = "bound")]
    pub bounds: Vec<BoundRelation>,
    /// A threshold below 3 switches protection (nearly) off; it is refused unless this says
    /// why (e.g. "Daten sind bereits veröffentlicht: Statistisches Landesamt, Tabelle …").
    #[serde(default)]
    pub low_threshold_reason: Option<String>,
    /// Drafted, uploaded and interpolated areas with fewer residents than this (in any year)
    /// get no statistics outside the statistics role: a box drawn around one house would
    /// otherwise show its residents. 300 is the minimum the MSS and Hamburg use for a
    /// Sozialraum's index; the official versions' areas are published as they are.
    #[serde(default = "default_min_population")]
    pub min_population: u64,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self {
            threshold: default_threshold(),
            additive: Vec::new(),
            bounds: Vec::new(),
            low_threshold_reason: None,
            min_population: default_min_population(),
        }
    }
}

/// `part` ≤ `whole`, per area and year.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BoundRelation {
    /// The smaller count column.
    pub part: String,
    /// The count column it is part of.
    pub whole: String,
}

fn default_threshold() -> u64 {
    3
}

/// `total` = Σ `parts`, per area and year.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AdditiveRelation {
    /// The total column.
    pub total: String,
    /// The part columns.
    pub parts: Vec<String>,
}
