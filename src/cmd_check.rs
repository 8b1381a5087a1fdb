//! `kleinraum check CONFIG [--json] [--min-area-m2 A]`: load everything a config names and
//! report problems.
//!
//! Exit codes: 0 = usable (possibly with warnings), 1 = blocking problems (invalid geometries,
//! duplicate/empty ids, unreadable rows, unknown parents), 2 = the data could not be loaded at
//! all (missing file, missing column, no CRS, broken config).

use kleinraum_load::check::{CheckOptions, run_checks_with};
use kleinraum_load::{ProjectConfig, project};
use std::path::Path;
use std::time::Instant;

/// Exit code for a fatal load error.
const EXIT_FATAL: i32 = 2;

/// Runs the check and prints the report (text or JSON on stdout). Returns the exit code.
pub fn run(config: &Path, json: bool, min_area_m2: f64) -> anyhow::Result<i32> {
    if !(min_area_m2.is_finite() && min_area_m2 >= 0.0) {
        let msg = format!("--min-area-m2 must be a number ≥ 0, got {min_area_m2}");
        return Ok(fatal(config, json, "check", &msg));
    }
    let started = Instant::now();
    let cfg = match ProjectConfig::load(config) {
        Ok(c) => c,
        Err(e) => return Ok(fatal(config, json, "read the config", &e.to_string())),
    };
    // The checks index every level themselves: no base index from the loader.
    let prep = project::Prepare {
        base_index: false,
        spatial_order: true,
    };
    let loaded = match project::load_all_with(&cfg, prep) {
        Ok(d) => d,
        Err(e) => return Ok(fatal(config, json, "load the data of", &e.to_string())),
    };
    let load_seconds = started.elapsed().as_secs_f64();
    let opts = CheckOptions {
        min_area_m2,
        ..CheckOptions::default()
    };
    let mut report = run_checks_with(&cfg, &loaded.dataset, &loaded.report, &opts);
    report.config = Some(config.display().to_string());
    report.load_seconds = Some(load_seconds);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render_text());
    }
    Ok(report.exit_code)
}

/// Prints a fatal error (stderr; with `--json` also a JSON document on stdout) and returns
/// exit code 2.
fn fatal(config: &Path, json: bool, stage: &str, message: &str) -> i32 {
    eprintln!("kleinraum check: cannot {stage} {}:", config.display());
    eprintln!("  {message}");
    eprintln!("  (exit code {EXIT_FATAL}: nothing was checked)");
    if json {
        let v = serde_json::json!({
            "config": config.display().to_string(),
            "verdict": "fatal",
            "exit_code": EXIT_FATAL,
            "error": message,
        });
        println!("{v:#}");
    }
    EXIT_FATAL
}
