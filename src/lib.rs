//! `kleinraum`: the command line. Parses arguments, loads a config, runs the library crates.
//! With no arguments it serves the demo municipality (`data/demo.toml`).
//!
//! Two programs run this command line: `kleinraum`, which does not load GDAL (its libraries
//! cost 30–40 ms of every start), and `kleinraum-gdal`, the same with GDAL. `kleinraum` hands
//! a command that needs GDAL (a GeoPackage or PostGIS source, `repair`, a `.gpkg` output) to
//! `kleinraum-gdal` before it starts; see [`kleinraum_load::backend`].

mod alloc;
mod cmd_aggregate;
mod cmd_audit;
mod cmd_check;
mod cmd_init;
mod cmd_redefine;
mod cmd_report;
mod cmd_serve;
mod demo;
mod gdal_helper;
mod kreis;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Kleinräumige Sozialplanung: Sozialräume, Indikatoren, Sozialraumgebiete.
#[derive(Parser, Debug)]
#[command(name = "kleinraum", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load everything a config names and report problems (exit code 1 if something blocks use).
    Check {
        /// The config file (e.g. data/berlin.toml).
        config: PathBuf,
        /// Machine-readable report.
        #[arg(long)]
        json: bool,
        /// Overlaps and gaps below this area (m²) are only counted, not listed.
        #[arg(long, default_value_t = 1.0)]
        min_area_m2: f64,
    },
    /// Aggregate points per Sozialraum, compute indicators and indices, write a table or layer.
    Aggregate {
        /// The config file.
        config: PathBuf,
        /// Output file: .csv, .geojson or .gpkg.
        #[arg(long)]
        out: PathBuf,
        /// CSV for Excel: `;`, decimal comma, UTF-8 BOM, `·` for suppressed values.
        #[arg(long)]
        excel: bool,
        /// Print the wall time of every stage (load, index build, assignment, sums, …).
        #[arg(long)]
        timings: bool,
    },
    /// Make a report: Monitoring, Steckbriefe, Sozialraumgebiete or a map, as PDF or DOCX.
    Report {
        /// The config file.
        config: PathBuf,
        #[command(flatten)]
        args: cmd_report::ReportArgs,
    },
    /// Serve the OGC API Features and the web map.
    Serve {
        /// The config file (default: the demo municipality, data/demo.toml).
        config: Option<PathBuf>,
        /// Address and port (default from the config, else 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Propose a configuration for a folder of files (boundaries, tables, points), write it
    /// (DIR/kleinraum.toml) and check it.
    Init {
        /// The folder with the files.
        dir: PathBuf,
        /// Where to write the configuration (default DIR/kleinraum.toml).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Gebietsstände: list, import a boundary file, compare two versions.
    Redefine {
        #[command(subcommand)]
        action: RedefineCmd,
    },
    /// Attack everything published from a config (all levels, years, Gebietsstände, drafts,
    /// the index) and report any withheld count that can be narrowed down (exit code 1).
    AuditDisclosure {
        /// The config file.
        config: PathBuf,
        /// Machine-readable report.
        #[arg(long)]
        json: bool,
    },
    /// Regenerate the demo municipality in data/demo (deterministic); with --kreis the
    /// Landkreis demo in data/kreis and data/kreis.toml.
    GenerateDemo {
        /// Output directory (default data/demo, with --kreis data/kreis).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The Landkreis Musterland (tables only, no address points) instead of the town.
        #[arg(long)]
        kreis: bool,
    },
}

#[derive(Subcommand, Debug)]
enum RedefineCmd {
    /// List the Gebietsstände in the store (imports the configured ones on first use).
    List {
        /// The config file.
        config: PathBuf,
    },
    /// Import a boundary file as a new Gebietsstand (published, or a draft with --draft).
    Import {
        /// The config file.
        config: PathBuf,
        #[command(flatten)]
        args: cmd_redefine::ImportArgs,
    },
    /// Estimate values published per area of one Gebietsstand for the areas of another
    /// (address-weighted), e.g. old-LOR counts for the new LOR.
    Interpolate {
        /// The config file.
        config: PathBuf,
        #[command(flatten)]
        args: cmd_redefine::InterpolateArgs,
    },
    /// Compare two Gebietsstände: crosswalk, values old vs new, cause of class changes.
    Compare {
        /// The config file.
        config: PathBuf,
        /// Older version key.
        from: String,
        /// Newer version key.
        to: String,
        /// Year (default: the latest index year).
        #[arg(long)]
        year: Option<i32>,
        /// Write the report as CSV (semicolon, decimal comma).
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

/// Runs the command line. `gdal`: the GDAL backend this program installs (`kleinraum-gdal`),
/// or `None` (`kleinraum`: commands that need GDAL are handed to `kleinraum-gdal`).
pub fn main(gdal: Option<&'static dyn kleinraum_load::backend::GdalOps>) -> Result<()> {
    let cli = Cli::parse();
    alloc::tune(matches!(
        cli.command,
        Some(Command::Aggregate { .. } | Command::Check { .. })
    ));
    match gdal {
        Some(ops) => kleinraum_load::backend::install(ops),
        None => {
            if let Some(why) = gdal_helper::needed_by(&cli) {
                return gdal_helper::hand_over(&why);
            }
        }
    }
    run(cli)
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Check {
            config,
            json,
            min_area_m2,
        }) => {
            let code = cmd_check::run(&config, json, min_area_m2)?;
            std::process::exit(code);
        }
        Some(Command::Aggregate {
            config,
            out,
            excel,
            timings,
        }) => cmd_aggregate::run(&config, &out, excel, timings),
        Some(Command::Serve { config, bind }) => cmd_serve::run(config, bind),
        Some(Command::Report { config, args }) => {
            init_log();
            cmd_report::run(&config, &args)
        }
        Some(Command::AuditDisclosure { config, json }) => {
            init_log();
            let code = cmd_audit::run(&config, json)?;
            std::process::exit(code);
        }
        Some(Command::Init { dir, out, force }) => {
            let code = cmd_init::run(&dir, out, force)?;
            std::process::exit(code);
        }
        Some(Command::GenerateDemo { out, kreis: false }) => {
            demo::generate(&out.unwrap_or_else(|| PathBuf::from("data/demo")))
        }
        Some(Command::GenerateDemo { out, kreis: true }) => {
            kreis::generate(&out.unwrap_or_else(|| PathBuf::from("data/kreis")))
        }
        Some(Command::Redefine { action }) => {
            init_log();
            match action {
                RedefineCmd::List { config } => cmd_redefine::list(&config),
                RedefineCmd::Import { config, args } => cmd_redefine::import(&config, args),
                RedefineCmd::Interpolate { config, args } => {
                    cmd_redefine::interpolate(&config, args)
                }
                RedefineCmd::Compare {
                    config,
                    from,
                    to,
                    year,
                    csv,
                } => cmd_redefine::compare(&config, &from, &to, year, csv.as_deref()),
            }
        }
        None => cmd_serve::run(None, None),
    }
}

/// Log to stderr (level from RUST_LOG, default warn for CLI commands).
fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Raises the soft limit of open files to the hard limit (a server holds one descriptor per
/// connection; Debian's default soft limit is 1,024). Returns the limit in force.
pub(crate) fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}
