//! Indicator formulas: operands, kinds, undefined values and suppression.
//!
//! Every indicator is computed from the **true** counts. Publication rule: if any count operand
//! of the value (numerator or denominator, for `change` in either year) is suppressed by
//! disclosure control, the published value is `null` with [`NullReason::Suppressed`]. This is
//! stricter than "numerator suppressed and denominator published": a published share with a
//! published numerator reveals a (secondarily) suppressed denominator just as well
//! (`denominator = numerator / share`), and a share of two suppressed counts below the
//! threshold has only a handful of possible pairs. Facility measures and area sizes are public.
//! Values of the index are computed from the true indicator values (see [`crate::index`]).

use crate::aggregate::{EngineError, LevelData};
use crate::config::{IndicatorConfig, IndicatorKind};
use crate::model::AreaTable;
use crate::result::{CountFlag, IndicatorValue, NullReason};

/// An operand of an indicator formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// A count column (index into the count columns).
    Count(usize),
    /// Number of facilities of a category.
    FacilityCount(usize),
    /// Capacity sum of a category.
    FacilityCapacity(usize),
    /// A value column (rate or other non-count) of an area table: index into the run's value
    /// columns. Count columns of tables resolve to [`Operand::Count`].
    Table(usize),
}

/// What the engine knows to resolve operand names.
pub(crate) struct Names<'a> {
    pub counts: &'a [String],
    pub facilities: &'a [String],
    pub tables: &'a [AreaTable],
    /// (table, column) of every value column, in the order of [`Operand::Table`].
    pub value_cols: &'a [(usize, usize)],
}

/// Parses an operand: `residents`, `kitas.count`, `kitas.capacity`, `mss2021.S1`.
pub(crate) fn parse_operand(
    owner: &str,
    s: &str,
    names: &Names<'_>,
) -> Result<Operand, EngineError> {
    let unknown = |hint: String| EngineError::UnknownOperand {
        indicator: owner.to_string(),
        operand: s.to_string(),
        hint,
    };
    if let Some((prefix, suffix)) = s.split_once('.') {
        if let Some(f) = names.facilities.iter().position(|c| c == prefix) {
            return match suffix {
                "count" => Ok(Operand::FacilityCount(f)),
                "capacity" => Ok(Operand::FacilityCapacity(f)),
                _ => Err(unknown(format!(
                    "facility measures are `{prefix}.count` and `{prefix}.capacity`"
                ))),
            };
        }
        // A table may be loaded from several files (one per year): any of them with the
        // column resolves it.
        let mut found_table = false;
        for (t, table) in names.tables.iter().enumerate() {
            if table.name != prefix {
                continue;
            }
            found_table = true;
            let Some(c) = table.columns.iter().position(|col| col.name == suffix) else {
                continue;
            };
            if table.columns[c].count {
                if let Some(k) = names.counts.iter().position(|n| n == suffix) {
                    return Ok(Operand::Count(k));
                }
            } else if let Some(v) = names.value_cols.iter().position(|&vc| vc == (t, c)) {
                return Ok(Operand::Table(v));
            }
        }
        if found_table {
            let mut cols: Vec<&str> = names
                .tables
                .iter()
                .filter(|t| t.name == prefix)
                .flat_map(|t| t.columns.iter().map(|c| c.name.as_str()))
                .collect();
            cols.dedup();
            return Err(unknown(format!(
                "table {prefix:?} has the columns {}",
                cols.join(", ")
            )));
        }
        let tables: Vec<&str> = names.tables.iter().map(|t| t.name.as_str()).collect();
        return Err(unknown(format!(
            "{prefix:?} is neither a facility category ({}) nor a table ({})",
            names.facilities.join(", "),
            tables.join(", ")
        )));
    }
    names
        .counts
        .iter()
        .position(|c| c == s)
        .map(Operand::Count)
        .ok_or_else(|| {
            unknown(format!(
                "not a count column (available: {})",
                names.counts.join(", ")
            ))
        })
}

/// A checked indicator formula.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Formula {
    /// numerator / denominator × factor.
    Ratio {
        num: Operand,
        den: Operand,
        factor: f64,
    },
    /// numerator per km² of area.
    Density { num: Operand },
    /// value(y) − value(y − years) of indicator `of`.
    Change { of: usize, years: i32 },
    /// The operand as it is.
    Value { num: Operand },
}

/// Checks every indicator and resolves its operands.
pub(crate) fn compile(
    inds: &[IndicatorConfig],
    names: &Names<'_>,
) -> Result<Vec<Formula>, EngineError> {
    let mut seen = std::collections::HashSet::new();
    inds.iter()
        .map(|ind| {
            if !seen.insert(ind.id.as_str()) {
                return Err(EngineError::Indicator {
                    indicator: ind.id.clone(),
                    message: "the id is used twice".into(),
                });
            }
            let den = || -> Result<Operand, EngineError> {
                let d = ind
                    .denominator
                    .as_deref()
                    .ok_or_else(|| EngineError::Indicator {
                        indicator: ind.id.clone(),
                        message: format!("kind {:?} needs a denominator", ind.kind),
                    })?;
                parse_operand(&ind.id, d, names)
            };
            let num = || parse_operand(&ind.id, &ind.numerator, names);
            Ok(match ind.kind {
                IndicatorKind::Share => Formula::Ratio {
                    num: num()?,
                    den: den()?,
                    factor: 100.0,
                },
                IndicatorKind::RatePer1000 => Formula::Ratio {
                    num: num()?,
                    den: den()?,
                    factor: 1000.0,
                },
                IndicatorKind::SupplyRate => Formula::Ratio {
                    num: num()?,
                    den: den()?,
                    factor: 100.0,
                },
                IndicatorKind::DensityKm2 => Formula::Density { num: num()? },
                IndicatorKind::Value => Formula::Value { num: num()? },
                IndicatorKind::Change => {
                    let of = inds
                        .iter()
                        .position(|i| i.id == ind.numerator)
                        .ok_or_else(|| EngineError::UnknownOperand {
                            indicator: ind.id.clone(),
                            operand: ind.numerator.clone(),
                            hint: "kind change takes the id of another indicator as numerator"
                                .into(),
                        })?;
                    if inds[of].kind == IndicatorKind::Change {
                        return Err(EngineError::Indicator {
                            indicator: ind.id.clone(),
                            message: format!(
                                "the change of a change ({:?}) is not supported",
                                ind.numerator
                            ),
                        });
                    }
                    let years =
                        ind.years
                            .filter(|&y| y > 0)
                            .ok_or_else(|| EngineError::Indicator {
                                indicator: ind.id.clone(),
                                message: "kind change needs `years` ≥ 1".into(),
                            })?;
                    Formula::Change { of, years }
                }
            })
        })
        .collect()
}

/// A computed value: the true value (or why it is undefined) and whether a suppressed count
/// went into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Eval {
    pub value: Result<f64, NullReason>,
    pub suppressed: bool,
}

impl Eval {
    /// The value as published.
    pub fn published(&self) -> IndicatorValue {
        match self.value {
            Err(r) => IndicatorValue::null(r),
            Ok(_) if self.suppressed => IndicatorValue::null(NullReason::Suppressed),
            Ok(v) => IndicatorValue::some(v),
        }
    }

    /// The true value, for the index.
    pub fn truth(&self) -> IndicatorValue {
        match self.value {
            Err(r) => IndicatorValue::null(r),
            Ok(v) => IndicatorValue::some(v),
        }
    }
}

/// Evaluates an operand for an area and year index.
pub(crate) fn operand(op: Operand, level: &LevelData, area: usize, year: usize) -> Eval {
    match op {
        Operand::Count(c) => {
            if !level.layout.has(year, c) {
                return Eval {
                    value: Err(NullReason::NoData),
                    suppressed: false,
                };
            }
            let i = level.layout.cell(area, year, c);
            let value = match level.missing[i] {
                crate::aggregate::MISSING_IN_SOURCE => Err(NullReason::SourceMissing),
                crate::aggregate::MISSING_PART => Err(NullReason::Incomplete),
                _ => Ok(level.counts[i] as f64),
            };
            Eval {
                value,
                suppressed: matches!(
                    level.flags[i],
                    CountFlag::Suppressed | CountFlag::SecondarySuppressed
                ),
            }
        }
        Operand::FacilityCount(f) => Eval {
            value: Ok(level.facility(area, f).count as f64),
            suppressed: false,
        },
        Operand::FacilityCapacity(f) => Eval {
            value: Ok(level.facility(area, f).capacity),
            suppressed: false,
        },
        Operand::Table(v) => {
            let ny = level.layout.n_years;
            level
                .values
                .get(v)
                .and_then(|vals| vals.get(area * ny + year))
                .copied()
                .unwrap_or(Eval {
                    value: Err(NullReason::NoData),
                    suppressed: false,
                })
        }
    }
}

/// Computes every indicator for every area and year of a level:
/// `out[(area * n_years + year) * n_ind + ind]`.
pub(crate) fn compute_level(formulas: &[Formula], level: &LevelData, years: &[i32]) -> Vec<Eval> {
    let ny = years.len();
    let ni = formulas.len();
    let n_areas = level.areas.len();
    let mut out = vec![
        Eval {
            value: Err(NullReason::NoData),
            suppressed: false
        };
        n_areas * ny * ni
    ];
    let ratio = |n: Eval, d: Eval, f: &dyn Fn(f64, f64) -> Option<f64>| -> Eval {
        let suppressed = n.suppressed || d.suppressed;
        let value = match (n.value, d.value) {
            (Err(r), _) | (_, Err(r)) => Err(r),
            (Ok(a), Ok(b)) => f(a, b).ok_or(NullReason::DenominatorZero),
        };
        Eval { value, suppressed }
    };
    // Plain formulas first, then changes (which read them).
    for pass_changes in [false, true] {
        for a in 0..n_areas {
            for y in 0..ny {
                for (i, f) in formulas.iter().enumerate() {
                    let ev = match (f, pass_changes) {
                        (Formula::Change { of, years: k }, true) => {
                            let now = out[(a * ny + y) * ni + *of];
                            match years.iter().position(|&yy| yy == years[y] - k) {
                                None => Eval {
                                    value: Err(NullReason::NoData),
                                    suppressed: now.suppressed,
                                },
                                Some(y0) => {
                                    let before = out[(a * ny + y0) * ni + *of];
                                    ratio(now, before, &|x, b| Some(x - b))
                                }
                            }
                        }
                        (Formula::Change { .. }, false) | (_, true) => continue,
                        (Formula::Ratio { num, den, factor }, false) => ratio(
                            operand(*num, level, a, y),
                            operand(*den, level, a, y),
                            &|x, d| (d != 0.0).then(|| x / d * factor),
                        ),
                        (Formula::Density { num }, false) => {
                            let n = operand(*num, level, a, y);
                            let km2 = level.areas[a].area_m2 / 1e6;
                            Eval {
                                value: n.value.and_then(|x| {
                                    if km2 > 0.0 {
                                        Ok(x / km2)
                                    } else {
                                        Err(NullReason::DenominatorZero)
                                    }
                                }),
                                suppressed: n.suppressed,
                            }
                        }
                        (Formula::Value { num }, false) => operand(*num, level, a, y),
                    };
                    out[(a * ny + y) * ni + i] = ev;
                }
            }
        }
    }
    out
}
