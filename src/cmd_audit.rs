//! `kleinraum audit-disclosure CONFIG [--json]`: everything the server publishes from a
//! config, attacked the way the disclosure rules must withstand — every level and year of the
//! statistics, every Gebietsstand and draft in the store, the index.
//!
//! Checks (each must find nothing, else exit code 1):
//! - every withheld count's interval, bounded by linear programming over all published
//!   relations of its publication (hierarchy, column relations, bounds), covers `[0,
//!   threshold]`;
//! - no index value is published next to a withheld index indicator;
//! - indicator values carry no more decimals than declared;
//! - no area of a Gebietsstand with exactly the address points of an area of the statistics
//!   publishes a count the statistics withhold;
//! - no two published areas of any two versions (and no area minus the published areas of
//!   another version inside it) differ by 1 to threshold−1 people in any count column and year.

use anyhow::{Context, Result};
use kleinraum_aggregate::protection::{ResultAudit, audit_result, audit_result_as};
use kleinraum_gebietsstand::reuse::PublishedNodes;
use std::path::Path;

/// Runs the audit; returns the process exit code (0 clean, 1 findings).
pub fn run(config: &Path, json: bool) -> Result<i32> {
    let cfg = kleinraum_load::ProjectConfig::load(config)
        .with_context(|| format!("reading {}", config.display()))?;
    let loaded = kleinraum_load::project::load_all_strict(&cfg)
        .with_context(|| format!("loading the data named in {}", config.display()))?;
    let t0 = std::time::Instant::now();
    let assignment = loaded.assign_base_points()?;
    let (dataset, weights) = (loaded.dataset, loaded.weights);
    let (result, _) =
        kleinraum_aggregate::aggregate::run_assigned(&dataset, &cfg.analysis(), &assignment)?;
    // For comparison: the attacker of the old publication, which flagged primary and
    // secondary suppressions differently.
    let two_flags = audit_result_as(&result, true);
    let mut results: Vec<(String, ResultAudit)> =
        vec![("statistics (all levels)".into(), audit_result(&result))];
    // Areas of any version with exactly the address points of an area of the statistics
    // publish the same counts: a cell withheld there and published here undoes the hierarchy's
    // protection.
    let statistics = PublishedNodes::new(&result, assignment.clone());
    let ws = crate::cmd_redefine::open_workspace_with(&cfg, dataset, weights, Some(assignment))?;
    let mut copies = 0usize;
    let mut copy_leaks: Vec<String> = Vec::new();
    for v in ws.list() {
        results.push((
            format!("Gebietsstand {}", v.meta.key),
            audit_result(&v.result),
        ));
        let guarded = ws.guarded_areas(&v.meta.key);
        let l0 = &v.result.levels[0];
        for (k, cells) in statistics
            .identical(&v.assignment, v.areas.len())
            .into_iter()
            .enumerate()
        {
            let Some(cells) = cells else { continue };
            copies += 1;
            if guarded.contains(&v.areas[k].id) {
                continue;
            }
            for (year, column) in cells {
                let c = v.result.count_columns.iter().position(|c| c == column);
                let y = l0.areas[k].years.iter().find(|y| y.year == *year);
                if let (Some(c), Some(y)) = (c, y)
                    && y.counts[c].value.is_some()
                {
                    copy_leaks.push(format!("{} {} {year} {column}", v.meta.key, v.areas[k].id));
                }
            }
        }
    }
    let versions = ws.audit_versions();
    let unguarded = ws.audit_versions_as(false);
    let withheld_areas: Vec<(String, usize, usize)> = ws
        .list()
        .iter()
        .map(|v| {
            (
                v.meta.key.clone(),
                ws.guarded_areas(&v.meta.key).len(),
                v.areas.len(),
            )
        })
        .collect();
    let seconds = t0.elapsed().as_secs_f64();
    let failed = results
        .iter()
        .any(|(_, a)| !a.narrow.is_empty() || a.index_leaks > 0 || a.imprecise > 0)
        || !versions.leaks.is_empty()
        || !copy_leaks.is_empty();
    if json {
        let v = serde_json::json!({
            "ok": !failed,
            "seconds": seconds,
            "threshold": cfg.disclosure.threshold,
            "publications": results.iter().map(|(name, a)| serde_json::json!({
                "name": name, "withheld": a.withheld, "intervals": a.intervals,
                "narrowest": if a.narrowest.is_finite() { serde_json::json!(a.narrowest) } else { serde_json::Value::Null },
                "too_narrow": a.narrow.len(), "recovered": a.recovered,
                "index_leaks": a.index_leaks, "imprecise": a.imprecise,
            })).collect::<Vec<_>>(),
            "with_two_flags": {"recovered": two_flags.recovered, "recovered_primary": two_flags.recovered_primary,
                               "too_narrow": two_flags.narrow.len()},
            "versions": {"pairs": versions.pairs, "differences": versions.differences,
                         "unions": versions.unions, "leaks": versions.leaks.len(),
                         "leaks_without_guard": unguarded.leaks.len(),
                         "copies_of_statistics_areas": copies, "copies_publishing_withheld_cells": copy_leaks.len(),
                         "withheld_areas": withheld_areas.iter().map(|(k, n, of)| serde_json::json!({"version": k, "withheld": n, "areas": of})).collect::<Vec<_>>()},
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "Offenlegungsprüfung {} (Schwelle {})",
            config.display(),
            cfg.disclosure.threshold
        );
        for (name, a) in &results {
            println!(
                "  {name}: {} Zahlen zurückgehalten, {} Intervalle berechnet, engstes {}, zu eng {}, exakt rückrechenbar {}, Index neben zurückgehaltenen Werten {}, zu genaue Werte {}",
                a.withheld,
                a.intervals,
                if a.narrowest.is_finite() {
                    format!("{:.1}", a.narrowest)
                } else {
                    "unbeschränkt".into()
                },
                a.narrow.len(),
                a.recovered,
                a.index_leaks,
                a.imprecise
            );
            for n in a.narrow.iter().take(10) {
                println!(
                    "    zu eng: {} {} {} {}: [{:.2}, {:.2}]",
                    n.level, n.area, n.year, n.column, n.interval.0, n.interval.1
                );
            }
        }
        println!(
            "  zum Vergleich, mit zwei Markierungen (klein / zum Schutz) wie bisher: {} Zahlen exakt rückrechenbar, davon {} kleine; {} zu eng",
            two_flags.recovered,
            two_flags.recovered_primary,
            two_flags.narrow.len()
        );
        println!(
            "  Gebietsstände: {} Paare, {} Differenzen, {} Vereinigungen geprüft, {} Rückrechnungen möglich",
            versions.pairs,
            versions.differences,
            versions.unions,
            versions.leaks.len()
        );
        println!(
            "  ohne Differenzschutz wären {} Differenzen rückrechenbar; zurückgehaltene Gebiete: {}",
            unguarded.leaks.len(),
            withheld_areas
                .iter()
                .map(|(k, n, of)| format!("{k} {n}/{of}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "  {copies} Gebiete der Gebietsstände gleichen einem Gebiet der Statistik; {} veröffentlichen dort zurückgehaltene Zahlen",
            copy_leaks.len()
        );
        for l in copy_leaks.iter().take(20) {
            println!("    {l}");
        }
        for l in versions.leaks.iter().take(20) {
            println!(
                "    {} {} − {} {}: {} ({}, {})",
                l.a.0, l.a.1, l.b.0, l.b.1, l.difference, l.column, l.year
            );
        }
        println!(
            "  {} in {seconds:.1} s",
            if failed {
                "NICHT BESTANDEN"
            } else {
                "bestanden"
            }
        );
    }
    Ok(i32::from(failed))
}
