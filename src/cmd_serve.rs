//! `kleinraum serve [CONFIG] [--bind ADDR:PORT]`: load, aggregate, reproject once, serve.
//!
//! Without CONFIG it serves the demo municipality (`data/demo.toml`, looked up in the current
//! directory, else in the repository the executable was built in). All reprojection happens
//! here, once, with PROJ; the server crate gets pre-reprojected geometry and links no C library.
//! Address-level points are only handed to the engine; the server gets the publishable result.

use anyhow::{Context, Result, bail};
use kleinraum_load::{ProjectConfig, project};
use kleinraum_serve::auth::{Token, Tokens};
use kleinraum_serve::{Catalog, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Finds `rel` in the current directory or above the executable (target/<profile>/kleinraum
/// sits two levels below the repository root).
pub(crate) fn locate(rel: &str) -> Option<PathBuf> {
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
    let loaded = project::load_all_strict(&cfg)
        .with_context(|| format!("loading the data named in {}", config.display()))?;
    for n in loaded.report.notes() {
        tracing::warn!("{n}");
    }
    tracing::info!(
        points = loaded.dataset.points.len(),
        levels = loaded.dataset.levels.len(),
        seconds = started.elapsed().as_secs_f64(),
        "data loaded"
    );
    // The address points are joined to the base level once (with the index the loader built
    // while it read them): the engine's run and the Gebietsstände workspace share the
    // assignment.
    let joined = Instant::now();
    let assignment = loaded
        .assign_base_points()
        .with_context(|| format!("joining the points of {}", config.display()))?;
    let (dataset, weights) = (loaded.dataset, loaded.weights);
    let join_s = joined.elapsed().as_secs_f64();
    let (result, _) =
        kleinraum_aggregate::aggregate::run_assigned(&dataset, &cfg.analysis(), &assignment)
            .with_context(|| format!("aggregating {}", config.display()))?;
    tracing::info!(
        join_seconds = join_s,
        seconds = started.elapsed().as_secs_f64(),
        "points joined once; statistics computed"
    );
    let facilities = dataset.facilities.clone();
    // The address points move into the Gebietsstände workspace (recomputation of drafts);
    // they never leave it.
    let tokens = tokens(&cfg)?;
    let server_settings = server_settings(&cfg.server, &config)?;
    let working = result.working_epsg;
    let work = server_settings.work.clone();
    let settings = Settings {
        title: cfg.title.clone(),
        web_dir: web_dir(&config),
        ..server_settings
    };
    // The store is opened and locked before the server listens (a second process on the same
    // store must stop here). Computing the Gebietsstände (other partitions estimated from the
    // points, about a second on Berlin) is not needed to answer the OGC API: it runs on its
    // own thread, and the Gebietsstände routes wait for it.
    let base_areas = dataset.levels[0].areas.clone();
    let workspace = crate::cmd_redefine::open_store_workspace(&cfg, dataset, weights)?;
    let (signal, redefine) =
        kleinraum_serve::redefine::RedefineState::computing(workspace, tokens, work);
    let redefine = Arc::new(redefine);
    let bootstrap = {
        let (cfg, redefine) = (cfg.clone(), Arc::clone(&redefine));
        std::thread::Builder::new()
            .name("gebietsstaende".into())
            .spawn(move || {
                // A panic is reported like an error: the routes and the log say so.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    crate::cmd_redefine::bootstrap_versions(
                        &cfg,
                        &redefine.ws,
                        base_areas,
                        Some(assignment),
                    )
                }));
                crate::alloc::release_free_memory();
                signal.done(match r {
                    Ok(r) => r.map_err(|e| format!("{e:#}")),
                    Err(_) => Err("unexpected internal error (see the log above)".into()),
                });
            })
            .context("starting the Gebietsstände thread")?
    };
    // PROJ objects are per thread (`WorkingCrs`): the catalogue reprojects on all cores.
    let working_crs = kleinraum_load::crs::WorkingCrs { epsg: working };
    let reproject = Arc::new(
        move |epsg: u32, x: f64, y: f64| -> Result<(f64, f64), String> {
            working_crs.to(epsg, x, y)
        },
    );
    let catalog_started = Instant::now();
    let mut catalog = Catalog::build_owned(settings, result, &facilities, reproject)
        .with_context(|| format!("preparing the API for {}", config.display()))?;
    tracing::info!(
        seconds = catalog_started.elapsed().as_secs_f64(),
        "API catalogue built"
    );
    let gpkg = add_gpkg_downloads(&mut catalog);
    catalog.reports = Some(Arc::new(kleinraum_serve::reports::Reports::new(
        cfg.report.clone(),
        crate::cmd_report::meta(&cfg)?,
        catalog.settings.work.queue_timeout,
    )));
    tracing::info!(
        collections = catalog.collections.len(),
        seconds = started.elapsed().as_secs_f64(),
        web_dir = ?catalog.settings.web_dir,
        gpkg_downloads = gpkg,
        "catalog ready"
    );
    crate::alloc::release_free_memory();
    let bind = bind.unwrap_or_else(|| cfg.server.bind.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Costly work is limited by the WorkLimiter; a small blocking pool also keeps the
        // allocator from growing one arena per thread.
        .max_blocking_threads(32)
        .build()
        .context("starting the async runtime")?;
    let catalog = Arc::new(catalog);
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot bind {bind}"))?;
        // The geometry in CRS84 (what the map and GIS clients ask for) is rendered once the
        // server listens: /conformance and the landing page need none of it; the items wait
        // for their collection, /collections (the extents) for all of them.
        let warm = Arc::clone(&catalog);
        std::thread::Builder::new()
            .name("crs84".into())
            .spawn(move || {
                let t = Instant::now();
                match warm.warm() {
                    Ok(()) => tracing::info!(
                        seconds = t.elapsed().as_secs_f64(),
                        "geometries in CRS84 rendered"
                    ),
                    Err(e) => {
                        tracing::error!(error = %e, "rendering the geometries in CRS84 failed")
                    }
                }
            })
            .context("starting the CRS84 thread")?;
        kleinraum_serve::serve_with(listener, catalog, Some(redefine))
            .await
            .context("serving")
    })?;
    // A shutdown during the computation waits for it: the store is written there.
    let _ = bootstrap.join();
    Ok(())
}

/// Tokens from the config (secrets in env vars) and env `KLEINRAUM_TOKENS`.
pub fn tokens(cfg: &ProjectConfig) -> Result<Tokens> {
    let mut list = Vec::new();
    for t in &cfg.auth.token {
        let secret = std::env::var(&t.token_env).unwrap_or_default();
        if secret.is_empty() {
            tracing::warn!(token = %t.name, env = %t.token_env, "token disabled: environment variable not set");
            continue;
        }
        if secret.len() < 8 {
            bail!(
                "auth.token {:?}: the secret in {} must have at least 8 characters",
                t.name,
                t.token_env
            );
        }
        list.push(Token {
            name: t.name.clone(),
            role: kleinraum_serve::auth::Role::parse(&t.role)
                .with_context(|| format!("auth.token {:?}: role {:?}", t.name, t.role))?,
            secret,
        });
    }
    if let Ok(spec) = std::env::var("KLEINRAUM_TOKENS") {
        list.extend(Tokens::parse_list(&spec).map_err(anyhow::Error::msg)?);
    }
    Ok(Tokens::new(list))
}

/// The `[server]` section as the server's settings, validated (errors name the key).
fn server_settings(s: &kleinraum_load::config::ServerConfig, config: &Path) -> Result<Settings> {
    use kleinraum_serve::net::{ConnLimits, IpNet, ProxyPolicy, parse_public_url};
    let at = || format!("[server] in {}", config.display());
    if s.default_limit == 0 || s.max_limit == 0 {
        bail!("{}: default_limit and max_limit must be at least 1", at());
    }
    if s.max_connections < 2 || s.max_connections_per_ip == 0 {
        bail!(
            "{}: max_connections must be at least 2 and max_connections_per_ip at least 1",
            at()
        );
    }
    if s.header_timeout_s == 0 || s.request_timeout_s == 0 || s.work_budget_s == 0 {
        bail!(
            "{}: header_timeout_s, request_timeout_s and work_budget_s must be at least 1",
            at()
        );
    }
    // The environment overrides the file (containers, test set-ups behind a proxy).
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let public_url_raw = env("KLEINRAUM_PUBLIC_URL").or_else(|| s.public_url.clone());
    let trusted_raw: Vec<String> = match env("KLEINRAUM_TRUSTED_PROXIES") {
        Some(v) => v.split(',').map(|t| t.trim().to_string()).collect(),
        None => s.trusted_proxies.clone(),
    };
    let public_url = public_url_raw
        .as_deref()
        .map(parse_public_url)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{}: {e}", at()))?;
    let trusted: Vec<IpNet> = trusted_raw
        .iter()
        .map(|t| IpNet::parse(t))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: trusted_proxies: {e}", at()))?;
    // Keep connections below the file-descriptor limit, with room for files and the store.
    let fd_room = crate::raise_fd_limit().saturating_sub(64) as usize;
    let max_connections = if fd_room > 0 && s.max_connections > fd_room {
        tracing::warn!(
            configured = s.max_connections,
            used = fd_room,
            "max_connections exceeds the file-descriptor limit; lowered"
        );
        fd_room
    } else {
        s.max_connections
    };
    if s.impressum_url.is_none() || s.datenschutz_url.is_none() {
        tracing::warn!(
            "[server] impressum_url or datenschutz_url is not set: a map a public body publishes needs both links"
        );
    }
    Ok(Settings {
        title: String::new(),
        default_limit: s.default_limit,
        max_limit: s.max_limit,
        cors_origins: s.cors_origins.clone(),
        web_dir: None,
        timeout: Duration::from_secs(s.request_timeout_s),
        proxy: ProxyPolicy {
            public_url,
            trusted_proxies: trusted.clone(),
        },
        limits: ConnLimits {
            max_connections,
            max_per_ip: s.max_connections_per_ip,
            header_read_timeout: Duration::from_secs(s.header_timeout_s),
            trusted_proxies: trusted,
        },
        work: kleinraum_serve::work::WorkLimiter::new(
            s.work_slots,
            Duration::from_secs(s.request_timeout_s / 2).max(Duration::from_secs(1)),
            Duration::from_secs(s.work_budget_s),
        ),
        map: kleinraum_serve::catalog::MapSettings {
            outline_level: s.map_outline_level.clone(),
            basemap: s.basemap.clone(),
            impressum_url: s.impressum_url.clone(),
            datenschutz_url: s.datenschutz_url.clone(),
        },
    })
}

/// Offers every collection as a GeoPackage, rendered on first request with exactly the columns
/// of the API (flags, parent, area, capacities: one row per area and year, or per facility), in
/// the working CRS, through the store's pure-Rust GeoPackage writer. Returns how many
/// collections offer one.
fn add_gpkg_downloads(catalog: &mut Catalog) -> usize {
    let storage = catalog.storage_crs;
    let ids: Vec<String> = catalog.collections.iter().map(|c| c.id.clone()).collect();
    ids.iter()
        .filter(|id| {
            catalog.offer_download(
                id,
                kleinraum_serve::DownloadFormat::Gpkg,
                Arc::new(move |c: &kleinraum_serve::catalog::Collection| {
                    render_gpkg(c, storage)
                        .map_err(|e| {
                            tracing::warn!(collection = %c.id, error = %e, "GeoPackage download unavailable")
                        })
                        .ok()
                }),
            )
        })
        .count()
}

/// One collection as a GeoPackage (see [`add_gpkg_downloads`]).
fn render_gpkg(
    c: &kleinraum_serve::catalog::Collection,
    storage: kleinraum_serve::crs::OutputCrs,
) -> Result<Vec<u8>, String> {
    use kleinraum_serve::catalog::FieldType;
    use kleinraum_store::export::{Cell, ColumnType, ExportGeometry, FeatureTable};
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kleinraum-gpkg-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("no temporary directory: {e}"))?;
    {
        let table = FeatureTable {
            name: &c.id,
            description: &c.title,
            epsg: storage.epsg(),
            geometry_type: c.geometry_type.map(|t| {
                if t == "Point" {
                    "POINT"
                } else {
                    "MULTIPOLYGON"
                }
            }),
            columns: c
                .fields
                .iter()
                .map(|f| {
                    let ty = match f.ty {
                        FieldType::Integer => ColumnType::Integer,
                        FieldType::Number => ColumnType::Real,
                        FieldType::String => ColumnType::Text,
                        FieldType::Boolean => ColumnType::Boolean,
                    };
                    (f.name.clone(), ty)
                })
                .collect(),
        };
        let rows = c.features.iter().flat_map(|f| {
            let geom = match &f.geometry {
                Some(geo::Geometry::MultiPolygon(mp)) => {
                    Some(ExportGeometry::MultiPolygon(mp.clone()))
                }
                Some(geo::Geometry::Point(p)) => Some(ExportGeometry::Point(*p)),
                _ => None,
            };
            f.rows.iter().map(move |r| {
                let cells = r
                    .values
                    .iter()
                    .map(|v| match v {
                        serde_json::Value::Null => Cell::Null,
                        serde_json::Value::Bool(b) => Cell::Boolean(*b),
                        serde_json::Value::Number(n) => match n.as_i64() {
                            Some(i) if !n.is_f64() => Cell::Integer(i),
                            _ => n.as_f64().map_or(Cell::Null, Cell::Real),
                        },
                        serde_json::Value::String(s) => Cell::Text(s.clone()),
                        other => Cell::Text(other.to_string()),
                    })
                    .collect();
                (geom.clone(), cells)
            })
        });
        let path = dir.join(format!("{}.gpkg", c.id));
        let _ = std::fs::remove_file(&path);
        let result = kleinraum_store::export::write_feature_table(&path, &table, rows)
            .map_err(|e| e.to_string())
            .and_then(|()| std::fs::read(&path).map_err(|e| e.to_string()));
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir(&dir);
        result
    }
}
