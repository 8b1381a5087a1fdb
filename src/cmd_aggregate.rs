//! `kleinraum aggregate CONFIG --out FILE [--excel]`: load, run the engine, write a table or
//! layer chosen by the extension (.csv, .geojson, .gpkg), print a short summary to stderr.

use anyhow::{Context, Result};
use kleinraum_aggregate::aggregate;
use kleinraum_aggregate::result::AggregateResult;
use kleinraum_load::config::ProjectConfig;
use kleinraum_load::project::{Prepare, load_all_strict_with};
use std::path::Path;
use std::time::Instant;

/// Runs the subcommand.
pub fn run(config: &Path, out: &Path, excel: bool, timings: bool) -> Result<()> {
    let t0 = Instant::now();
    kleinraum_load::write::OutputFormat::of(out)?;
    let cfg = ProjectConfig::load(config)
        .with_context(|| format!("reading the config {}", config.display()))?;
    // One join: the base level indexed while the points are read, the points left in file
    // order (the join visits them in Morton order without moving them).
    let loaded = load_all_strict_with(&cfg, Prepare::ONE_JOIN).context("loading the data")?;
    // The same notes `check` lists as warnings (keys matching no area, cells without a value,
    // repaired geometries).
    for n in loaded.report.notes() {
        eprintln!("note: {n}");
    }
    let loaded_stages = loaded.report.stages;
    let mut dataset = loaded.dataset;
    let t_load = t0.elapsed();
    let mut stages = Vec::new();
    // The dataset's geometries are not needed after the run: moved into the result.
    let result = aggregate::run_located_taking_geometries(
        &mut dataset,
        &cfg.analysis(),
        loaded.base_locator.as_ref(),
        loaded.point_order.as_deref(),
        &mut stages,
    )
    .with_context(|| format!("computing {}", config.display()))?;
    let t_run = t0.elapsed() - t_load;
    let t_write = Instant::now();
    kleinraum_load::write::write_by_extension(&result, out, excel)?;
    if timings {
        let n = dataset.points.len() as f64;
        eprintln!(
            "  stage load (files, reprojection, point order) {:8.1} ms",
            t_load.as_secs_f64() * 1e3
        );
        for (stage, d) in &loaded_stages {
            eprintln!("    {stage:44} {:8.1} ms", d.as_secs_f64() * 1e3);
        }
        for (stage, d) in &stages {
            eprintln!("  stage {stage:40} {:8.1} ms", d.as_secs_f64() * 1e3);
        }
        eprintln!(
            "  stage write {:42} {:8.1} ms",
            out.display(),
            t_write.elapsed().as_secs_f64() * 1e3
        );
        let join: f64 = stages
            .iter()
            .filter(|(s, _)| {
                s.starts_with("index build") || s.starts_with("spatial") || s.starts_with("sums")
            })
            .map(|(_, d)| d.as_secs_f64())
            .sum();
        eprintln!(
            "timing: join + aggregate {:.1} ms for {} points ({:.1} M points/s)",
            join * 1e3,
            dataset.points.len(),
            n / join / 1e6
        );
    }
    eprint!("{}", summary(&result));
    eprintln!(
        "wrote {} (load {:.1} s, aggregate {:.2} s, total {:.1} s)",
        out.display(),
        t_load.as_secs_f64(),
        t_run.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    // The process ends here: the kernel takes the memory back in one go, faster than freeing
    // the points, areas and index block by block first.
    std::mem::forget((dataset, result, loaded.base_locator, loaded.point_order));
    Ok(())
}

/// The summary for the operator: assignment, areas per level, flagged areas per index.
fn summary(r: &AggregateResult) -> String {
    let rep = &r.report;
    let mut s = String::new();
    if rep.points > 0 {
        s += &format!(
            "points: {} assigned, {} outside of {}\n",
            rep.assigned, rep.outside, rep.points
        );
    }
    for p in &rep.outside_examples {
        s += &format!("  outside: {} ({:.1}, {:.1})\n", p.key, p.x, p.y);
    }
    for (cat, n) in &rep.facilities_outside {
        s += &format!("facilities outside every area: {cat}: {n}\n");
    }
    // Table keys that match no area were listed as notes when loading (with their lines).
    let levels: Vec<String> = r
        .levels
        .iter()
        .map(|l| format!("{} {}", l.key, l.areas.len()))
        .collect();
    s += &format!("areas: {}\n", levels.join(", "));
    let (mut primary, mut secondary) = (0usize, 0usize);
    for l in &r.levels {
        for a in &l.areas {
            for y in &a.years {
                for c in &y.counts {
                    match c.flag {
                        kleinraum_aggregate::result::CountFlag::Suppressed => primary += 1,
                        kleinraum_aggregate::result::CountFlag::SecondarySuppressed => {
                            secondary += 1
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    s += &format!(
        "disclosure: {primary} counts withheld as small, {secondary} more so none can be computed back ({} of them for protection intervals); {} small counts not protected\n",
        r.protection.added, r.protection.unprotected
    );
    if let (Some(a), Some(b)) = (r.years.first(), r.years.last()) {
        s += &format!("years: {a}–{b} ({} years)\n", r.years.len());
    }
    for (k, ix) in r.indices.iter().enumerate() {
        let Some(level) = r.level(&ix.level) else {
            continue;
        };
        for (y, year) in r.years.iter().enumerate() {
            let vals: Vec<_> = level
                .areas
                .iter()
                .filter_map(|a| a.years[y].indices.get(k).cloned().flatten())
                .collect();
            if vals.is_empty() {
                continue;
            }
            let valid = vals.iter().filter(|v| v.status_class.is_some()).count();
            let flagged = vals.iter().filter(|v| v.attention).count();
            s += &format!(
                "index {} {year}: {valid} areas with an index value, {flagged} Sozialraumgebiete\n",
                ix.id
            );
        }
    }
    s
}
