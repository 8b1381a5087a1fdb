//! `kleinraum`: the command line. Parses arguments, loads a config, runs the library crates.
//! With no arguments it serves the demo municipality (`data/demo.toml`).

mod cmd_aggregate;
mod cmd_check;
mod cmd_serve;
mod demo;

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
    /// Serve the OGC API Features and the web map.
    Serve {
        /// The config file (default: the demo municipality, data/demo.toml).
        config: Option<PathBuf>,
        /// Address and port (default from the config, else 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Regenerate the demo municipality in data/demo (deterministic).
    GenerateDemo {
        /// Output directory.
        #[arg(long, default_value = "data/demo")]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
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
        Some(Command::GenerateDemo { out }) => demo::generate(&out),
        None => cmd_serve::run(None, None),
    }
}
