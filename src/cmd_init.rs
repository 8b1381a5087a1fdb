//! `kleinraum init DIR [--out FILE]`: propose a configuration for a folder of files, write it,
//! and check it right away.

use anyhow::{Context, Result, bail};
use kleinraum_load::check::{CheckOptions, run_checks_with};
use kleinraum_load::{ProjectConfig, project};
use std::path::{Path, PathBuf};

/// Runs the subcommand; returns the exit code of the check (0 usable, 1 blocking, 2 unusable).
pub fn run(dir: &Path, out: Option<PathBuf>, force: bool) -> Result<i32> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let out = out.unwrap_or_else(|| dir.join("kleinraum.toml"));
    if out.exists() && !force {
        bail!(
            "{} exists; choose another file with --out or replace it with --force",
            out.display()
        );
    }
    let config_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    std::fs::create_dir_all(&config_dir)
        .with_context(|| format!("creating {}", config_dir.display()))?;
    let p = kleinraum_load::init::propose(dir, &config_dir).map_err(anyhow::Error::msg)?;
    std::fs::write(&out, &p.toml).with_context(|| format!("writing {}", out.display()))?;
    println!("kleinraum init: {}", dir.display());
    for s in &p.summary {
        println!("  {s}");
    }
    for u in &p.undecided {
        println!("  could not decide: {u}");
    }
    println!("wrote {}", out.display());
    // Check it at once: the planner learns now what the configuration still needs.
    let cfg = match ProjectConfig::load(&out) {
        Ok(c) => c,
        Err(e) => {
            println!("check: the configuration does not parse: {e}");
            return Ok(2);
        }
    };
    // The checks index every level themselves: no base index from the loader.
    let prep = project::Prepare {
        base_index: false,
        spatial_order: true,
    };
    let loaded = match project::load_all_with(&cfg, prep) {
        Ok(l) => l,
        Err(e) => {
            println!("check: the data cannot be loaded: {e}");
            return Ok(2);
        }
    };
    let report = run_checks_with(
        &cfg,
        &loaded.dataset,
        &loaded.report,
        &CheckOptions::default(),
    );
    for b in &report.blocking {
        println!("  [blocking] {b}");
    }
    for w in &report.warnings {
        println!("  [warning]  {w}");
    }
    let years = kleinraum_aggregate::aggregate::table_years(&loaded.dataset.tables);
    match kleinraum_aggregate::aggregate::run(&loaded.dataset, &cfg.analysis()) {
        Ok(r) => println!(
            "check: {} (exit code {}); aggregates {} area(s) for {} year(s){}",
            match report.exit_code {
                0 if report.warnings.is_empty() => "OK",
                0 => "OK with warnings",
                _ => "BLOCKING",
            },
            report.exit_code,
            r.levels.first().map_or(0, |l| l.areas.len()),
            r.years.len(),
            match (years.first(), years.last()) {
                (Some(a), Some(b)) => format!(" ({a}–{b})"),
                _ => String::new(),
            }
        ),
        Err(e) => {
            println!(
                "check: exit code {}; the engine refuses it: {e}",
                report.exit_code.max(1)
            );
            return Ok(report.exit_code.max(1));
        }
    }
    Ok(report.exit_code)
}
