//! `kleinraum report CONFIG --kind monitoring|steckbrief|sozialraumgebiete|karte --out FILE`:
//! load, run the engine, render the report from the publishable result (PDF or DOCX by the
//! extension of FILE).

use anyhow::{Context, Result, bail};
use kleinraum_load::ProjectConfig;
use kleinraum_load::project::load_project_strict;
use kleinraum_report::{Format, ReportKind, ReportMeta, ReportRequest};
use std::path::Path;
use std::time::Instant;

/// The report's arguments.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// monitoring, steckbrief, sozialraumgebiete or karte (one A4 landscape map).
    #[arg(long)]
    pub kind: String,
    /// Output file: .pdf or .docx.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// Level key (default: the index's level for monitoring/sozialraumgebiete, else the finest).
    #[arg(long)]
    pub level: Option<String>,
    /// Year (default: the latest year with index values).
    #[arg(long)]
    pub year: Option<i32>,
    /// One area's Steckbrief (its id).
    #[arg(long)]
    pub area: Option<String>,
    /// The indicator of a `karte`.
    #[arg(long)]
    pub indicator: Option<String>,
}

/// The meta facts of a config: municipality, Gebietsstand name, logo (read here: the report
/// crate does no I/O).
pub fn meta(cfg: &ProjectConfig) -> Result<ReportMeta> {
    let mut meta = ReportMeta::today(cfg.title.clone());
    meta.gebietsstand = cfg.store.base_name.clone();
    if let Some(path) = &cfg.report.logo {
        let bytes =
            std::fs::read(path).with_context(|| format!("report.logo: cannot read {path}"))?;
        let ext = Path::new(path)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase()
            .replace("jpeg", "jpg");
        meta.logo = Some((bytes, ext));
    }
    Ok(meta)
}

/// Parses the request parts shared by the CLI and tests.
pub fn request(args: &ReportArgs) -> Result<ReportRequest> {
    let kind = ReportKind::parse(&args.kind).with_context(|| {
        format!(
            "--kind {:?}: expected monitoring, steckbrief, sozialraumgebiete or karte",
            args.kind
        )
    })?;
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let Some(format) = Format::parse(&ext) else {
        bail!(
            "--out {}: the file must end in .pdf or .docx",
            args.out.display()
        );
    };
    Ok(ReportRequest {
        kind,
        level: args.level.clone(),
        year: args.year,
        area: args.area.clone(),
        indicator: args.indicator.clone(),
        method: None,
        classes: None,
        format,
    })
}

/// Runs the subcommand.
pub fn run(config: &Path, args: &ReportArgs) -> Result<()> {
    let req = request(args)?;
    let t0 = Instant::now();
    let cfg = ProjectConfig::load(config)
        .with_context(|| format!("reading the config {}", config.display()))?;
    let meta = meta(&cfg)?;
    let dataset = load_project_strict(&cfg).context("loading the data")?;
    let result = kleinraum_aggregate::aggregate::run(&dataset, &cfg.analysis())
        .with_context(|| format!("computing {}", config.display()))?;
    drop(dataset);
    let t_data = t0.elapsed();
    let t1 = Instant::now();
    let bytes = kleinraum_report::render(&result, &cfg.report, &meta, &req)
        .with_context(|| format!("making the {} report", req.kind.as_str()))?;
    let t_render = t1.elapsed();
    // Written next to the target first: a failed write leaves an older report whole.
    let tmp = args
        .out
        .with_extension(format!("{}.part", req.format.ext()));
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} KB; data {:.1} s, report {:.2} s)",
        args.out.display(),
        bytes.len() / 1024,
        t_data.as_secs_f64(),
        t_render.as_secs_f64()
    );
    Ok(())
}
