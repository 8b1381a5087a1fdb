//! Gebietsstände from the command line, and the workspace set-up shared with `serve`.
//!
//! `kleinraum redefine list|import|compare|crosswalk CONFIG …`: the store named by the config
//! (`[store] path`, env `KLEINRAUM_STORE`), the configured base level and `[[gebietsstand]]`
//! entries imported on first use, every version recomputed from the address points.

use anyhow::{Context, Result, bail};
use kleinraum_aggregate::model::{Area, Dataset, WeightLayer};
use kleinraum_gebietsstand::{Workspace, WorkspaceConfig, now_rfc3339};
use kleinraum_load::config::{GebietsstandSource, LevelSource};
use kleinraum_load::{ProjectConfig, project};
use kleinraum_store::{AuditEntry, Status, Store, VersionMeta};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The store file: env `KLEINRAUM_STORE`, else the config's `[store] path`, else
/// `<config name>.gpkg` beside the config.
pub fn store_path(cfg: &ProjectConfig) -> PathBuf {
    store_choice(cfg).0
}

/// The store file and where that choice comes from (for the start-up message).
pub fn store_choice(cfg: &ProjectConfig) -> (PathBuf, &'static str) {
    match std::env::var("KLEINRAUM_STORE") {
        Ok(p) if !p.is_empty() => (PathBuf::from(p), "KLEINRAUM_STORE"),
        _ => match cfg.store_file() {
            (p, true) => (p, "[store] path"),
            (p, false) => (p, "default"),
        },
    }
}

/// Opens the store, imports the base level and the configured Gebietsstände it lacks, and
/// computes every version. Consumes the dataset (the points move into the workspace);
/// `base_assignment` is the base level's point assignment when the caller has computed it
/// already (the workspace reuses it instead of joining the points again).
pub fn open_workspace_with(
    cfg: &ProjectConfig,
    dataset: Dataset,
    weights: Option<WeightLayer>,
    base_assignment: Option<Vec<u32>>,
) -> Result<Workspace> {
    let base_areas = dataset.levels[0].areas.clone();
    let ws = open_store_workspace(cfg, dataset, weights)?;
    bootstrap_versions(cfg, &ws, base_areas, base_assignment)?;
    Ok(ws)
}

/// The first half of [`open_workspace_with`]: locks and opens the store and sets up the
/// workspace, without computing anything. Fast; its errors (another process holds the store)
/// must stop a server before it listens.
pub fn open_store_workspace(
    cfg: &ProjectConfig,
    dataset: Dataset,
    weights: Option<WeightLayer>,
) -> Result<Workspace> {
    let (path, why) = store_choice(cfg);
    if why == "default" {
        // Say it: an unconfigured store lands beside the config, where nobody would look.
        let msg = format!(
            "Gebietsstände-Speicher: {} (kein [store] path in {}; dort gespeichert)",
            path.display(),
            cfg.config_path.display()
        );
        eprintln!("{msg}");
        tracing::info!(store = %path.display(), "no [store] path configured: using the default beside the config");
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the store directory {}", dir.display()))?;
    }
    // One process per store: a second server (or a CLI import while a server runs) would
    // diverge from the first without noticing.
    let lock = Store::lock(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store =
        Store::open(&path).with_context(|| format!("opening the store {}", path.display()))?;
    if store.is_read_only() {
        tracing::warn!(
            store = %path.display(),
            "the store is read-only: versions are served, but uploads, drafts and publishing will fail until the file and its directory are writable"
        );
    }
    let level0 = &cfg.levels[0];
    let wcfg = WorkspaceConfig {
        base_key: cfg.store.base_key.clone(),
        level_key: level0.key.clone(),
        level_title: level0.title.clone(),
        residents_column: "residents".into(),
    };
    let working = dataset.working_epsg;
    let ws = Workspace::with_weights(
        wcfg,
        dataset,
        cfg.analysis(),
        store,
        Arc::new(kleinraum_load::crs::WorkingCrs { epsg: working }),
        weights,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(weighting = %ws.weighting().label(), "estimates for other Gebietsstände are weighted");
    ws.hold(lock);
    Ok(ws)
}

/// The second half of [`open_workspace_with`]: stores the base level (`base_areas`) and the
/// configured Gebietsstände the store lacks, and computes every version. The costly part
/// (about a second on Berlin): the server runs it after it has started listening.
pub fn bootstrap_versions(
    cfg: &ProjectConfig,
    ws: &Workspace,
    base_areas: Vec<Area>,
    base_assignment: Option<Vec<u32>>,
) -> Result<()> {
    let level0 = &cfg.levels[0];
    let working = ws.working_epsg();
    let base_meta = VersionMeta {
        key: cfg.store.base_key.clone(),
        name: cfg
            .store
            .base_name
            .clone()
            .unwrap_or_else(|| level0.title.clone()),
        valid_from: cfg.store.base_valid_from.clone(),
        source: level0.source.clone().unwrap_or_default(),
        lineage: Vec::new(),
        note: "Gebietsstand der Konfiguration".into(),
        status: Status::Published,
        created_at: now_rfc3339(),
        created_by: "kleinraum (Konfiguration)".into(),
        epsg: working,
        n_areas: base_areas.len(),
    };
    if ws
        .ensure_version(base_meta, &base_areas)
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        tracing::info!(key = %cfg.store.base_key, areas = base_areas.len(), "base Gebietsstand stored");
    }
    if let Some(a) = base_assignment {
        ws.offer_base_assignment(&base_areas, a);
    }
    drop(base_areas);
    for g in &cfg.gebietsstaende {
        if g.published_elsewhere {
            ws.declare_published_elsewhere(&g.key);
        }
        let areas = load_gebietsstand(g, &level0.key, working)?;
        let meta = VersionMeta {
            key: g.key.clone(),
            name: g.name.clone(),
            valid_from: g.valid_from.clone(),
            source: g.source.clone(),
            lineage: Vec::new(),
            note: g.note.clone().unwrap_or_default(),
            status: Status::Published,
            created_at: now_rfc3339(),
            created_by: "kleinraum (Konfiguration)".into(),
            epsg: working,
            n_areas: areas.len(),
        };
        if ws
            .ensure_version(meta, &areas)
            .map_err(|e| anyhow::anyhow!("gebietsstand {:?}: {e}", g.key))?
        {
            tracing::info!(key = %g.key, areas = areas.len(), "Gebietsstand stored");
        }
    }
    let t = std::time::Instant::now();
    ws.compute_all().map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        versions = ws.list().len(),
        seconds = t.elapsed().as_secs_f64(),
        "Gebietsstände computed"
    );
    Ok(())
}

/// Loads a boundary file as a Gebietsstand; row problems are logged (first few) — geometry
/// findings of official layers (e.g. a self-touching ring) must not block their use.
fn load_gebietsstand(g: &GebietsstandSource, level_key: &str, working: u32) -> Result<Vec<Area>> {
    load_areas(&g.as_level(level_key), working, &g.key)
}

fn load_areas(src: &LevelSource, working: u32, what: &str) -> Result<Vec<Area>> {
    let mut diags = Vec::new();
    let mut repairs = Vec::new();
    let level = project::load_level_report(
        src,
        working,
        None,
        &mut diags,
        &mut repairs,
        &mut Vec::new(),
    )
    .with_context(|| format!("loading Gebietsstand {what}"))?;
    for r in &repairs {
        eprintln!("repaired (Gebietsstand {what}): {}", r.describe());
    }
    for d in diags.iter().take(5) {
        tracing::warn!(gebietsstand = %what, "{d}");
    }
    if diags.len() > 5 {
        tracing::warn!(gebietsstand = %what, more = diags.len() - 5, "further findings");
    }
    Ok(level.areas)
}

/// The config and its data, opened as a workspace: the points joined to the base level once,
/// with the index the loader built while it read them.
fn open_config_workspace(config: &Path) -> Result<(ProjectConfig, Workspace)> {
    let cfg =
        ProjectConfig::load(config).with_context(|| format!("reading {}", config.display()))?;
    let loaded = project::load_all_strict(&cfg)
        .with_context(|| format!("loading the data named in {}", config.display()))?;
    for n in loaded.report.notes() {
        eprintln!("note: {n}");
    }
    let assignment = loaded
        .assign_base_points()
        .with_context(|| format!("joining the points of {}", config.display()))?;
    let ws = open_workspace_with(&cfg, loaded.dataset, loaded.weights, Some(assignment))?;
    Ok((cfg, ws))
}

/// `kleinraum redefine list`.
pub fn list(config: &Path) -> Result<()> {
    let (cfg, ws) = open_config_workspace(config)?;

    println!("store: {}", store_path(&cfg).display());
    for c in ws.list() {
        let m = &c.meta;
        println!(
            "{:<16} {:<9} {:>5} Gebiete  gültig ab {:<10}  {}{}",
            m.key,
            match m.status {
                Status::Published => "publiziert",
                Status::Draft => "Entwurf",
            },
            c.areas.len(),
            m.valid_from.as_deref().unwrap_or("–"),
            m.name,
            if m.lineage.is_empty() {
                String::new()
            } else {
                format!("  (aus {})", m.lineage.join(", "))
            }
        );
        let g = ws.guard(&m.key);
        if !g.is_empty() {
            let areas: BTreeSet<&str> = g.iter().map(|w| w.area.as_str()).collect();
            println!(
                "{:<16} Differenzbildungsschutz: {} Gebiete unterdrückt",
                "",
                areas.len()
            );
        }
    }
    Ok(())
}

/// Options of `kleinraum redefine import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Boundary file: GeoJSON, Shapefile, GeoPackage, any OGR source.
    #[arg(long)]
    pub file: String,
    /// Key of the new version (a–z, 0–9, '_', '-').
    #[arg(long)]
    pub key: String,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Valid from (YYYY-MM-DD).
    #[arg(long)]
    pub valid_from: Option<String>,
    /// Field with the area id.
    #[arg(long)]
    pub id_field: String,
    /// Field with the area name.
    #[arg(long)]
    pub name_field: Option<String>,
    /// CRS of the file (EPSG code, WKT or PROJ string); overrides a .prj.
    #[arg(long)]
    pub crs: Option<String>,
    /// Make invalid polygons valid (GEOS MakeValid) and list what changed.
    #[arg(long)]
    pub repair: bool,
    /// Store as a draft.
    #[arg(long)]
    pub draft: bool,
    /// Features sharing an id form one area.
    #[arg(long)]
    pub merge_duplicates: bool,
    /// Keys of the versions this one derives from (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub lineage: Vec<String>,
}

/// `kleinraum redefine import`.
pub fn import(config: &Path, a: ImportArgs) -> Result<()> {
    let (cfg, ws) = open_config_workspace(config)?;
    let working = ws.working_epsg();
    let level_key = cfg.levels[0].key.clone();
    let src = LevelSource {
        key: level_key,
        title: a.name.clone().unwrap_or_else(|| a.key.clone()),
        source: Some(a.file.clone()),
        layer: None,
        id_field: a.id_field.clone(),
        name_field: a.name_field.clone(),
        parent_field: None,
        parent_prefix: None,
        crs: a
            .crs
            .as_deref()
            .map(parse_crs)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--crs: {e}"))?,
        encoding: None,
        merge_duplicates: a.merge_duplicates,
        repair: a.repair,
    };
    let areas = load_areas(&src, working, &a.key)?;
    let n = areas.len();
    let meta = VersionMeta {
        key: a.key.clone(),
        name: a.name.unwrap_or_else(|| a.key.clone()),
        valid_from: a.valid_from,
        source: a.file.clone(),
        lineage: a.lineage,
        note: String::new(),
        status: if a.draft {
            Status::Draft
        } else {
            Status::Published
        },
        created_at: now_rfc3339(),
        created_by: whoami(),
        epsg: working,
        n_areas: n,
    };
    let audit = AuditEntry {
        at: meta.created_at.clone(),
        actor: meta.created_by.clone(),
        role: "cli".into(),
        action: "import".into(),
        target: a.key.clone(),
        detail: format!("{n} Gebiete aus {}", a.file),
    };
    let t = std::time::Instant::now();
    let c = ws
        .import(meta, areas, audit)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.file))?;
    println!(
        "imported {} ({} areas) into {} in {:.2} s; {} of {} points inside",
        a.key,
        c.areas.len(),
        store_path(&cfg).display(),
        t.elapsed().as_secs_f64(),
        c.finest.report.assigned,
        c.finest.report.points
    );
    Ok(())
}

fn parse_crs(s: &str) -> Result<kleinraum_load::config::Crs, String> {
    kleinraum_load::config::Crs::parse(s)
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .map(|u| format!("{u} (CLI)"))
        .unwrap_or_else(|_| "CLI".into())
}

/// `kleinraum redefine compare A B`.
pub fn compare(
    config: &Path,
    from: &str,
    to: &str,
    year: Option<i32>,
    csv: Option<&Path>,
) -> Result<()> {
    let (_, ws) = open_config_workspace(config)?;

    let a = ws
        .get(from)
        .with_context(|| format!("no Gebietsstand {from:?} in the store"))?;
    let b = ws
        .get(to)
        .with_context(|| format!("no Gebietsstand {to:?} in the store"))?;
    let year = match year {
        Some(y) => y,
        None => ws.default_comparison_year().context("no year with data")?,
    };
    // The CLI user is the operator: no public suppression.
    let cmp = ws.compare(&a, &b, year, true);
    println!(
        "{from} ({} areas) → {to} ({} areas), {year}: unverändert {}, Gebietsänderung {}, reale Veränderung {}, Klassenwechsel durch Grenzen {}",
        a.areas.len(),
        b.areas.len(),
        cmp.unchanged(),
        cmp.boundary(),
        cmp.real(),
        cmp.class_changed_by_boundary()
    );
    if let Some(path) = csv {
        let text = kleinraum_load::write::comparison_csv(&a, &b, &cmp, ws.analysis(), true, true);
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Options of `kleinraum redefine interpolate`.
#[derive(clap::Args, Debug)]
pub struct InterpolateArgs {
    /// Gebietsstand the table's ids belong to.
    #[arg(long)]
    pub from: String,
    /// Gebietsstand to estimate for.
    #[arg(long)]
    pub to: String,
    /// CSV table (comma-separated, header row).
    #[arg(long)]
    pub table: PathBuf,
    /// Id column.
    #[arg(long)]
    pub id_field: String,
    /// Columns to carry over (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub columns: Vec<String>,
    /// Columns that are ratios or means (weighted mean); the others are counts.
    #[arg(long, value_delimiter = ',')]
    pub ratios: Vec<String>,
    /// Only rows with COLUMN=VALUE (e.g. period=2020-02).
    #[arg(long = "where", value_parser = parse_filter)]
    pub filter: Option<(String, String)>,
    /// Year of the residents used as weights (default: the latest).
    #[arg(long)]
    pub year: Option<i32>,
    /// What the estimates are weighted by: `adressen` (residents at the address points),
    /// `gitter` (the [weights] population grid), `flaeche` (area). Default: the best the
    /// configuration has, in that order.
    #[arg(long)]
    pub weighting: Option<String>,
    /// Output CSV.
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_filter(f: &str) -> Result<(String, String), String> {
    f.split_once('=')
        .map(|(c, v)| (c.to_string(), v.to_string()))
        .ok_or_else(|| format!("{f:?}: expected COLUMN=VALUE"))
}

/// `kleinraum redefine interpolate`: values that exist only per area of one Gebietsstand
/// (e.g. published counts on the old LOR) estimated for the areas of another by address
/// weights, written with a coverage column and marked as estimates.
pub fn interpolate(config: &Path, a: InterpolateArgs) -> Result<()> {
    use kleinraum_aggregate::redefine::{Measure, interpolate as interp};
    let (_, ws) = open_config_workspace(config)?;

    let from = ws
        .get(&a.from)
        .with_context(|| format!("no Gebietsstand {:?} in the store", a.from))?;
    let to = ws
        .get(&a.to)
        .with_context(|| format!("no Gebietsstand {:?} in the store", a.to))?;
    let table = a.table.display().to_string();
    // Any CSV dialect (`;`, decimal comma, BOM, Windows-1252), as the loader reads tables.
    let csv = kleinraum_load::table::CsvTable::open(&a.table, &Default::default())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let col =
        |name: &str| -> Result<usize> { csv.column(name).map_err(|e| anyhow::anyhow!("{e}")) };
    let id_col = col(&a.id_field)?;
    let value_cols: Vec<usize> = a.columns.iter().map(|c| col(c)).collect::<Result<_>>()?;
    let filter = match &a.filter {
        Some((c, v)) => Some((col(c)?, v.clone())),
        None => None,
    };
    let index: HashMap<&str, usize> = from
        .areas
        .iter()
        .enumerate()
        .map(|(i, ar)| (ar.id.as_str(), i))
        .collect();
    let mut values: Vec<Vec<Option<f64>>> = vec![vec![None; from.areas.len()]; a.columns.len()];
    let mut seen = vec![false; from.areas.len()];
    let mut diags = Vec::new();
    let rows = csv.rows(&mut diags).map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(d) = diags.first() {
        bail!("{d}");
    }
    for (line, rec) in &rows {
        if let Some((fc, fv)) = &filter
            && rec[*fc].trim() != fv.as_str()
        {
            continue;
        }
        let id = rec[id_col].trim();
        let Some(&i) = index.get(id) else {
            bail!(
                "{table}: line {line}, column {:?}: id {id:?} is not an area of Gebietsstand {}",
                a.id_field,
                a.from
            );
        };
        if std::mem::replace(&mut seen[i], true) {
            bail!("{table}: line {line}: id {id:?} appears twice (use --where to pick one period)");
        }
        for (k, &c) in value_cols.iter().enumerate() {
            let raw = rec[c].as_str();
            values[k][i] = match csv.cell(raw, &[]) {
                kleinraum_load::table::Cell::Number(v) => Some(v),
                kleinraum_load::table::Cell::Empty | kleinraum_load::table::Cell::Marker(_) => None,
                kleinraum_load::table::Cell::NotANumber => bail!(
                    "{table}: line {line}, column {:?}: {raw:?} is not a number",
                    a.columns[k]
                ),
            };
        }
    }
    let year = match a.year {
        Some(y) => y,
        None => *ws.years().last().context("no year with data")?,
    };
    let key = a
        .weighting
        .clone()
        .unwrap_or_else(|| ws.weighting().key().to_string());
    let (cw, weighting) = ws
        .crosswalk_by(&from, &to, year, &key)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let missing = seen.iter().filter(|s| !**s).count();
    let mut est = Vec::new();
    for (k, name) in a.columns.iter().enumerate() {
        let m = if a.ratios.contains(name) {
            Measure::Intensive
        } else {
            Measure::Extensive
        };
        est.push(interp(&cw, &values[k], m));
    }
    let mut out = String::from("\u{feff}id;name");
    for c in &a.columns {
        out.push(';');
        out.push_str(c);
    }
    out.push_str(";abdeckung;schaetzung;gewichtung\n");
    let mut low_cover = 0;
    for (t, area) in to.areas.iter().enumerate() {
        out.push_str(&format!("{};{}", area.id, area.name.replace(';', ",")));
        for e in &est {
            match e[t].value {
                Some(v) => out.push_str(&format!(";{}", format!("{v:.2}").replace('.', ","))),
                None => out.push(';'),
            }
        }
        let cover = est.first().map_or(0.0, |e| e[t].coverage);
        if cover < 0.999 {
            low_cover += 1;
        }
        out.push_str(&format!(
            ";{};ja;{}\n",
            format!("{cover:.3}").replace('.', ","),
            weighting.label()
        ));
    }
    std::fs::write(&a.out, out).with_context(|| format!("writing {}", a.out.display()))?;
    for (k, name) in a.columns.iter().enumerate() {
        if a.ratios.contains(name) {
            continue;
        }
        let sin: f64 = values[k].iter().flatten().sum();
        let sout: f64 = est[k].iter().filter_map(|e| e.value).sum();
        println!("{name}: Σ {sin:.0} on {} → Σ {sout:.0} on {}", a.from, a.to);
    }
    let weights = match weighting {
        kleinraum_aggregate::model::Weighting::Addresses => {
            format!("residents {year} at the addresses")
        }
        _ => weighting.label(),
    };
    println!(
        "{} areas of {} estimated from {} rows ({} areas of {} without a row); {} target areas with coverage < 99.9 %; weighting ({}): {weights}; wrote {}",
        to.areas.len(),
        a.to,
        from.areas.len() - missing,
        missing,
        a.from,
        low_cover,
        weighting.key(),
        a.out.display()
    );
    Ok(())
}
