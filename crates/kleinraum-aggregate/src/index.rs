//! Composite indices: Berlin's MSS "gestuftes Indexverfahren" and a small-n reference variant.
//!
//! # Method `zscore` (MSS 2013–2021)
//! 1. Valid areas: population ≥ `min_population`, not in `exclude`, and every status and
//!    dynamics indicator defined.
//! 2. Each indicator is z-standardised over the valid areas with the plain, unweighted mean and
//!    the **population** standard deviation (divisor n). This reproduces the official MSS 2021
//!    z-values (`mss2021_index_indicators_zvalues_plr.csv`) to their 2 published decimals for
//!    all 536 valid PLR (largest |diff| 0.0050); the sample SD (divisor n − 1) misses by up to
//!    0.0103. Indicators with polarity `higher_is_better` enter with the sign reversed so that
//!    positive always means more disadvantage.
//! 3. The z-values are summed with equal weights and the sum is z-standardised again.
//! 4. Status classes: 1 hoch (x < t0), 2 mittel (t0 ≤ x ≤ t1), 3 niedrig (t1 < x ≤ t2),
//!    4 sehr niedrig (x > t2); dynamics: 1 positiv (x < t0), 2 stabil (t0 ≤ x ≤ t1),
//!    3 negativ (x > t1).
//! 5. Group: status class, then `+` / `+/-` / `-` for the dynamics class (`2-`); attention if
//!    the group matches a pattern (`3*` = status 3 with any dynamics).
//!
//! # Method `reference` (Kreise with 15–20 Sozialräume)
//! Mean and SD over so few areas are unstable, and a z-score forces a fixed share of areas into
//! the outer classes whatever the actual level. Instead each indicator's deviation is
//! `d = (x − reference) / reference_spread` (an external benchmark, e.g. the Land's mean and its
//! SD across Kreise), and the index is the **mean** of the deviations. The mean (not the sum,
//! not the sum ÷ √k) keeps the index on the scale of one indicator whatever the number of
//! indicators: an area one spread worse than the benchmark in every indicator has index 1.0,
//! exactly what the thresholds ±1 / 1.5 mean for the MSS. With the sum ÷ √k the scale would
//! depend on how strongly the indicators correlate, which the benchmark does not tell.
//! The classes use the same thresholds; nothing is re-standardised.

use crate::aggregate::EngineError;
use crate::config::{IndexConfig, IndexMethod, Polarity};
use crate::result::{Contribution, IndexValue, IndicatorValue, NullReason};

/// One indicator's values over the areas, as input of [`compute_index`].
#[derive(Debug, Clone, Copy)]
pub struct IndexIndicator<'a> {
    /// Indicator id (for contributions and errors).
    pub id: &'a str,
    /// Polarity: `higher_is_better` enters with reversed sign.
    pub polarity: Polarity,
    /// One value per area (the true value, before disclosure control).
    pub values: &'a [IndicatorValue],
}

/// z-scores with the plain mean and the population SD (divisor n), as the MSS does.
/// `None` if there are no values or the SD is 0 (every value equal).
pub fn zscores(xs: &[f64]) -> Option<Vec<f64>> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    if sd <= 0.0 || !sd.is_finite() {
        return None;
    }
    Some(xs.iter().map(|x| (x - mean) / sd).collect())
}

/// Status class of an index value: 1 hoch (x < t0), 2 mittel (t0 ≤ x ≤ t1), 3 niedrig
/// (t1 < x ≤ t2), 4 sehr niedrig (x > t2).
pub fn status_class(x: f64, t: &[f64; 3]) -> u8 {
    if x < t[0] {
        1
    } else if x <= t[1] {
        2
    } else if x <= t[2] {
        3
    } else {
        4
    }
}

/// Dynamics class: 1 positiv (x < t0), 2 stabil (t0 ≤ x ≤ t1), 3 negativ (x > t1).
pub fn dynamics_class(x: f64, t: &[f64; 2]) -> u8 {
    if x < t[0] {
        1
    } else if x <= t[1] {
        2
    } else {
        3
    }
}

/// The Gesamtindex group: status class followed by `+`, `+/-` or `-` for dynamics 1, 2, 3
/// (just the status class without dynamics).
pub fn group(status: u8, dynamics: Option<u8>) -> String {
    let d = match dynamics {
        Some(1) => "+",
        Some(2) => "+/-",
        Some(3) => "-",
        _ => "",
    };
    format!("{status}{d}")
}

/// Whether a group matches one of the attention patterns (`3*`: prefix match; else exact).
pub fn matches_attention(group: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => group.starts_with(prefix),
        None => group == p,
    })
}

fn sign(p: Polarity) -> f64 {
    if p == Polarity::HigherIsBetter {
        -1.0
    } else {
        1.0
    }
}

fn index_err(cfg: &IndexConfig, message: String) -> EngineError {
    EngineError::Index {
        index: cfg.id.clone(),
        message,
    }
}

/// Per-indicator scores (z-values or scaled deviations) of the valid areas, sign-adjusted;
/// `scores[indicator][k]` for the k-th valid area.
fn scores(
    cfg: &IndexConfig,
    inds: &[IndexIndicator<'_>],
    valid: &[usize],
) -> Result<Vec<Vec<f64>>, EngineError> {
    inds.iter()
        .map(|ind| {
            let xs: Vec<f64> = valid
                .iter()
                .map(|&a| ind.values[a].value.unwrap_or(f64::NAN))
                .collect();
            let s = sign(ind.polarity);
            match cfg.method {
                IndexMethod::Zscore => zscores(&xs)
                    .map(|z| z.into_iter().map(|v| v * s).collect())
                    .ok_or_else(|| {
                        index_err(
                            cfg,
                            format!(
                                "indicator {:?} has the same value in all {} valid areas: z-scores are undefined (use method = \"reference\" for few areas)",
                                ind.id,
                                xs.len()
                            ),
                        )
                    }),
                IndexMethod::Reference => {
                    let r = cfg.reference.get(ind.id).copied().ok_or_else(|| {
                        index_err(cfg, format!("method reference: no reference value for indicator {:?}", ind.id))
                    })?;
                    let sp = cfg.reference_spread.get(ind.id).copied().ok_or_else(|| {
                        index_err(cfg, format!("method reference: no reference_spread for indicator {:?}", ind.id))
                    })?;
                    if sp.is_nan() || sp <= 0.0 || !sp.is_finite() || !r.is_finite() {
                        return Err(index_err(
                            cfg,
                            format!("method reference: indicator {:?}: reference {r} / spread {sp} must be finite and the spread > 0", ind.id),
                        ));
                    }
                    Ok(xs.iter().map(|x| s * (x - r) / sp).collect())
                }
            }
        })
        .collect()
}

/// The composite value per valid area from per-indicator scores: z-standardised sum (zscore)
/// or mean of deviations (reference).
fn combine(
    cfg: &IndexConfig,
    sc: &[Vec<f64>],
    n_valid: usize,
    what: &str,
) -> Result<Vec<f64>, EngineError> {
    let sums: Vec<f64> = (0..n_valid)
        .map(|k| sc.iter().map(|s| s[k]).sum::<f64>())
        .collect();
    match cfg.method {
        IndexMethod::Zscore => zscores(&sums).ok_or_else(|| {
            index_err(
                cfg,
                format!("the {what} sum has the same value in all {n_valid} valid areas: it cannot be standardised"),
            )
        }),
        IndexMethod::Reference => Ok(sums.iter().map(|s| s / sc.len() as f64).collect()),
    }
}

/// Computes the index for one level and year.
///
/// `ids`, `population` and every indicator's `values` are aligned (one entry per area).
/// Returns one [`IndexValue`] per area: areas that are not valid carry a reason and no classes
/// (excluded → `Excluded`; population missing → `NoData`; below `min_population` →
/// `BelowMinPopulation`; an indicator undefined → that indicator's reason).
pub fn compute_index(
    cfg: &IndexConfig,
    ids: &[String],
    population: &[Option<f64>],
    status: &[IndexIndicator<'_>],
    dynamics: &[IndexIndicator<'_>],
) -> Result<Vec<IndexValue>, EngineError> {
    let n = ids.len();
    if status.is_empty() {
        return Err(index_err(cfg, "no status indicators configured".into()));
    }
    if population.len() != n || status.iter().chain(dynamics).any(|i| i.values.len() != n) {
        return Err(index_err(
            cfg,
            "input lengths differ from the number of areas".into(),
        ));
    }
    let empty = IndexValue {
        status_value: None,
        status_class: None,
        dynamics_value: None,
        dynamics_class: None,
        group: None,
        attention: false,
        reason: None,
        status_contributions: Vec::new(),
        dynamics_contributions: Vec::new(),
    };
    let mut out = vec![empty; n];
    let mut valid = Vec::new();
    for a in 0..n {
        let reason = if cfg.exclude.iter().any(|e| e == &ids[a]) {
            Some(NullReason::Excluded)
        } else {
            match population[a] {
                None => Some(NullReason::NoData),
                Some(p) if p < cfg.min_population as f64 => Some(NullReason::BelowMinPopulation),
                Some(_) => status
                    .iter()
                    .chain(dynamics)
                    .find(|i| i.values[a].value.is_none())
                    .map(|i| i.values[a].reason.unwrap_or(NullReason::NoData)),
            }
        };
        match reason {
            Some(r) => out[a].reason = Some(r),
            None => valid.push(a),
        }
    }
    if valid.is_empty() {
        return Ok(out);
    }
    let computed = (|| {
        let s_sc = scores(cfg, status, &valid)?;
        let s_val = combine(cfg, &s_sc, valid.len(), "status")?;
        let (d_sc, d_val) = if dynamics.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let d_sc = scores(cfg, dynamics, &valid)?;
            let d_val = combine(cfg, &d_sc, valid.len(), "dynamics")?;
            (d_sc, d_val)
        };
        Ok((s_sc, s_val, d_sc, d_val))
    })();
    let (s_sc, s_val, d_sc, d_val) = match computed {
        Ok(c) => c,
        Err(_) if cfg.lenient && cfg.method == IndexMethod::Zscore => {
            for &a in &valid {
                out[a].reason = Some(NullReason::TooFewAreas);
            }
            return Ok(out);
        }
        Err(e) => return Err(e),
    };
    for (k, &a) in valid.iter().enumerate() {
        let o = &mut out[a];
        let sc = status_class(s_val[k], &cfg.status_thresholds);
        o.status_value = Some(s_val[k]);
        o.status_class = Some(sc);
        o.status_contributions = status
            .iter()
            .zip(&s_sc)
            .map(|(i, z)| Contribution {
                indicator: i.id.to_string(),
                z: z[k],
            })
            .collect();
        let dc = if dynamics.is_empty() {
            None
        } else {
            o.dynamics_value = Some(d_val[k]);
            o.dynamics_contributions = dynamics
                .iter()
                .zip(&d_sc)
                .map(|(i, z)| Contribution {
                    indicator: i.id.to_string(),
                    z: z[k],
                })
                .collect();
            Some(dynamics_class(d_val[k], &cfg.dynamics_thresholds))
        };
        o.dynamics_class = dc;
        let g = group(sc, dc);
        o.attention = matches_attention(&g, &cfg.attention);
        o.group = Some(g);
    }
    Ok(out)
}
