//! `kleinraum serve [CONFIG] [--bind ADDR:PORT]`: load, aggregate, reproject once, serve.
//!
//! Without CONFIG it serves the demo municipality (`data/demo.toml`, looked up in the current
//! directory, else in the repository the executable was built in). All reprojection happens
//! here, once, with PROJ; the server crate gets pre-reprojected geometry and links no C library.
//! Address-level points are only handed to the engine; the server gets the publishable result.

use anyhow::{Context, Result, bail};
use kleinraum_load::crs::Reprojector;
use kleinraum_load::{ProjectConfig, project};
use kleinraum_serve::{Catalog, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Finds `rel` in the current directory or above the executable (target/<profile>/kleinraum
/// sits two levels below the repository root).
fn locate(rel: &str) -> Option<PathBuf> {
    let here = PathBuf::from(rel);
    if here.exists() {
        return Some(here);
    }
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|a| a.join(rel))
        .find(|p| p.exists())
}

/// The web map directory: `web/` beside the config's `data/` directory, else in the current
/// directory or the executable's repository. `None` (no map route) if there is none.
fn web_dir(config: &Path) -> Option<PathBuf> {
    let beside = config
        .parent()
        .and_then(|d| d.parent())
        .map(|repo| repo.join("web"))
        .filter(|p| p.join("index.html").exists());
    beside.or_else(|| locate("web").filter(|p| p.join("index.html").exists()))
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(config: Option<PathBuf>, bind: Option<String>) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();

    let config = match config {
        Some(c) => c,
        None => locate("data/demo.toml")
            .context("no config given and data/demo.toml not found (run `kleinraum generate-demo` or pass a config)")?,
    };
    let started = Instant::now();
    let cfg =
        ProjectConfig::load(&config).with_context(|| format!("reading {}", config.display()))?;
    let dataset = project::load_project_strict(&cfg)
        .with_context(|| format!("loading the data named in {}", config.display()))?;
    tracing::info!(
        points = dataset.points.len(),
        levels = dataset.levels.len(),
        seconds = started.elapsed().as_secs_f64(),
        "data loaded"
    );
    let result = kleinraum_aggregate::aggregate::run(&dataset, &cfg.analysis())
        .with_context(|| format!("aggregating {}", config.display()))?;
    let facilities = dataset.facilities.clone();
    // The address points move into the Gebietsstände workspace (recomputation of drafts);
    // they never leave it.
    let tokens = crate::cmd_redefine::tokens(&cfg)?;
    let workspace = crate::cmd_redefine::open_workspace(&cfg, dataset)?;
    tracing::info!(
        store = %crate::cmd_redefine::store_path(&cfg).display(),
        tokens = tokens.len(),
        versions = workspace.list().len(),
        "Gebietsstände ready"
    );
    let redefine = Arc::new(kleinraum_serve::redefine::RedefineState {
        ws: workspace,
        tokens,
    });

    let working = result.working_epsg;
    let targets = [4326u32, 25832, 25833];
    let reprojectors: Vec<(u32, Reprojector)> = targets
        .iter()
        .map(|&t| Reprojector::new(working, t).map(|r| (t, r)))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let mut reproject = |epsg: u32, x: f64, y: f64| -> Result<(f64, f64), String> {
        match reprojectors.iter().find(|(t, _)| *t == epsg) {
            Some((_, r)) => r.transform(x, y),
            None => Err(format!("no reprojector for EPSG:{epsg}")),
        }
    };
    let settings = Settings {
        title: cfg.title.clone(),
        default_limit: cfg.server.default_limit,
        max_limit: cfg.server.max_limit,
        cors_origins: cfg.server.cors_origins.clone(),
        web_dir: web_dir(&config),
        timeout: Duration::from_secs(30),
    };
    if settings.default_limit == 0 || settings.max_limit == 0 {
        bail!(
            "[server] default_limit and max_limit must be at least 1 in {}",
            config.display()
        );
    }
    let mut catalog = Catalog::build(settings, &result, &facilities, &mut reproject)
        .with_context(|| format!("preparing the API for {}", config.display()))?;
    let gpkg = add_gpkg_downloads(&mut catalog, &result);
    tracing::info!(
        collections = catalog.collections.len(),
        seconds = started.elapsed().as_secs_f64(),
        web_dir = ?catalog.settings.web_dir,
        gpkg_downloads = gpkg,
        "catalog ready"
    );
    let bind = bind.unwrap_or_else(|| cfg.server.bind.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot bind {bind}"))?;
        kleinraum_serve::serve_with(listener, Arc::new(catalog), Some(redefine))
            .await
            .context("serving")
    })
}

/// Renders each area level as a GeoPackage once (GDAL lives in the binary, not in the server
/// crate) and hands the bytes to the catalog. Returns how many levels got one.
#[cfg(feature = "gdal")]
fn add_gpkg_downloads(
    catalog: &mut Catalog,
    result: &kleinraum_aggregate::AggregateResult,
) -> usize {
    let Ok(dir) = tempfile_dir() else {
        tracing::warn!("no temporary directory: GeoPackage downloads unavailable");
        return 0;
    };
    let mut n = 0;
    for level in &result.levels {
        let mut one = result.clone();
        one.levels.retain(|l| l.key == level.key);
        let path = dir.join(format!("{}.gpkg", level.key));
        let rendered = kleinraum_load::write::write_gpkg(&one, &path)
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::read(&path).map_err(|e| e.to_string()));
        match rendered {
            Ok(bytes) => {
                if catalog.set_download(&level.key, kleinraum_serve::DownloadFormat::Gpkg, bytes) {
                    n += 1;
                }
            }
            Err(e) => {
                tracing::warn!(level = %level.key, error = %e, "GeoPackage download unavailable")
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir(&dir);
    n
}

#[cfg(not(feature = "gdal"))]
fn add_gpkg_downloads(_: &mut Catalog, _: &kleinraum_aggregate::AggregateResult) -> usize {
    0
}

#[cfg(feature = "gdal")]
fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kleinraum-gpkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
