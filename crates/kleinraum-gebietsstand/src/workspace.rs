//! Gebietsstände at run time: every stored version recomputed from the address points, drafts
//! edited in server-side sessions with incremental recomputation, crosswalks, comparisons and
//! the differencing guard.
//!
//! The workspace holds the address points (they never leave it: every answer is a sum that
//! passed disclosure control) and the store. Versions are immutable once computed; a write
//! builds the new state completely and only then swaps it in, so a failed import or
//! redefinition leaves the previous state whole (in memory as in the store).

use crate::Error;
use crate::guard::{GuardCache, SliverWarning};
use crate::reuse::PublishedNodes;
use crate::session::Session;
use geo::MultiPolygon;
use kleinraum_aggregate::aggregate::{self, FinestSums};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{
    Area, AreaTable, CountColumn, Dataset, FacilityLayer, Level, PointLayer, TableColumn,
    WeightLayer, Weighting,
};
use kleinraum_aggregate::redefine::{self, Crosswalk, Measure, PointGrid};
use kleinraum_aggregate::result::{AggregateResult, AssignmentReport, FacilityStats};
use kleinraum_aggregate::spatial::OUTSIDE;
use kleinraum_store::{AuditEntry, Store, StoredArea, VersionMeta};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};

/// Reprojection between the working CRS and WGS 84 lon/lat (the binary implements it with
/// PROJ; this crate links no C library).
pub trait Projector: Send + Sync {
    /// Working CRS → (lon, lat).
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String>;
    /// (lon, lat) → working CRS.
    fn wgs84_to_working(&self, lon: f64, lat: f64) -> Result<(f64, f64), String>;
}

/// Settings of the workspace.
#[derive(Debug, Clone)]
pub struct WorkspaceConfig {
    /// Key of the Gebietsstand formed by the configured finest level.
    pub base_key: String,
    /// Key of the configured finest level (indices and tables refer to it).
    pub level_key: String,
    /// Its title.
    pub level_title: String,
    /// Point count column with the residents (crosswalk weights, differencing guard).
    pub residents_column: String,
}

/// Lattice points of area weighting at most (about 8 MB per version's assignment).
pub const AREA_LATTICE_POINTS: usize = 1_000_000;

/// A computed version.
#[derive(Debug)]
pub struct Computed {
    /// Metadata from the store.
    pub meta: VersionMeta,
    /// Areas in the working CRS, in stored order.
    pub areas: Vec<Area>,
    /// The same geometries in WGS 84 (lon, lat), reprojected once when the version was
    /// computed (`None` where an area has no geometry or a vertex cannot be reprojected).
    pub wgs84: Vec<Option<MultiPolygon<f64>>>,
    /// Area index per address point (or OUTSIDE).
    pub assignment: Vec<u32>,
    /// Area index per facility, per category.
    pub fac_assignment: Vec<Vec<u32>>,
    /// Finest-level sums.
    pub finest: FinestSums,
    /// The engine's result (levels[0] = these areas, then `gesamt`).
    pub result: AggregateResult,
    /// Indicators and count columns whose values were interpolated from another Gebietsstand.
    pub estimated: Vec<String>,
    /// How the estimates were weighted (`None` when nothing is estimated).
    pub weighting: Option<Weighting>,
    /// The area tables the run used (configured or interpolated), for drafts starting here.
    pub tables: Vec<AreaTable>,
}

/// The run-time state of all Gebietsstände.
pub struct Workspace {
    /// Settings.
    pub cfg: WorkspaceConfig,
    pub(crate) analysis: AnalysisConfig,
    pub(crate) working_epsg: u32,
    /// The points every version is assigned: the address points with their counts, or —
    /// without address points — the weight points (grid cells or an area lattice) without
    /// counts.
    pub(crate) points: PointLayer,
    /// What crosswalks are weighted by.
    pub(crate) weighting: Weighting,
    /// Without address points: the weight of each point (with them: empty; the residents
    /// column of the nearest year is the weight).
    pub(crate) weights: Vec<u32>,
    /// A configured weight layer kept beside the address points, for estimates by another
    /// weighting (`kleinraum redefine interpolate --weighting gitter`).
    pub(crate) other_weights: Option<WeightLayer>,
    /// Years of the point counts and the tables.
    pub(crate) years: Vec<i32>,
    /// The point layer without values (the engine's column list for runs from sums).
    pub(crate) header: PointLayer,
    pub(crate) facilities: Vec<FacilityLayer>,
    pub(crate) fac_header: Vec<FacilityLayer>,
    pub(crate) base_tables: Vec<AreaTable>,
    pub(crate) grid: PointGrid,
    pub(crate) fac_grids: Vec<PointGrid>,
    /// Reprojection to and from WGS 84.
    pub projector: Arc<dyn Projector>,
    pub(crate) store: Mutex<Store>,
    pub(crate) computed: RwLock<BTreeMap<String, Arc<Computed>>>,
    /// Area indices whose statistics the guard withholds from non-planners, per version.
    pub(crate) guarded: RwLock<HashMap<String, Arc<Vec<SliverWarning>>>>,
    pub(crate) sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    pub(crate) counter: AtomicU64,
    /// The guard's findings per pair of versions and each version's copies of official areas.
    pub(crate) guard_cache: Mutex<GuardCache>,
    /// Versions published by the statistics office itself (the configured ones): their
    /// mutual differences are published facts, so the guard compares only against them.
    pub(crate) official: RwLock<BTreeSet<String>>,
    /// The official versions in the order they were declared (their rank in the guard).
    pub(crate) official_order: RwLock<Vec<String>>,
    /// Official versions whose numbers the statistical office publishes itself.
    pub(crate) published_elsewhere: RwLock<BTreeSet<String>>,
    /// This process's claim on the store file (one writer per store).
    pub(crate) lock: Mutex<Option<kleinraum_store::StoreLock>>,
    /// The base level's areas and their point assignment from the engine's run at start.
    pub(crate) base_hint: Mutex<Option<(Vec<Area>, Vec<u32>)>>,
    /// The configured levels (the statistics' hierarchy over the base level).
    pub(crate) hierarchy: Vec<Level>,
    /// The tables of every level, for the statistics over the hierarchy.
    pub(crate) all_tables: Vec<AreaTable>,
    /// The statistics' areas and their withheld cells, once the base version is computed:
    /// identical areas of every version reuse them ([`crate::reuse`]).
    pub(crate) nodes: RwLock<Option<Arc<PublishedNodes>>>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workspace({} points)", self.points.len())
    }
}

/// Current time as RFC 3339 UTC (no chrono: seconds since the epoch, civil-from-days).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

impl Workspace {
    /// Builds the workspace from the loaded dataset (points, facilities, the base level's
    /// tables) and the store; computes every stored version. Without address points, crosswalks
    /// are weighted by area (see [`Self::with_weights`]).
    pub fn new(
        cfg: WorkspaceConfig,
        dataset: Dataset,
        analysis: AnalysisConfig,
        store: Store,
        projector: Arc<dyn Projector>,
    ) -> Result<Workspace, Error> {
        Self::with_weights(cfg, dataset, analysis, store, projector, None)
    }

    /// As [`Self::new`], with a weight layer (a population grid). The weighting of every
    /// estimate: residents at the address points when the dataset has address points; else
    /// the weight layer; else area (a lattice over the base level's areas).
    pub fn with_weights(
        cfg: WorkspaceConfig,
        dataset: Dataset,
        analysis: AnalysisConfig,
        store: Store,
        projector: Arc<dyn Projector>,
        weight_layer: Option<WeightLayer>,
    ) -> Result<Workspace, Error> {
        let Dataset {
            working_epsg,
            levels,
            points,
            facilities,
            tables,
        } = dataset;
        let mut years = points.years();
        years.extend(aggregate::table_years(&tables));
        years.sort_unstable();
        years.dedup();
        let has_addresses = !points.is_empty() || !points.columns.is_empty();
        let (points, weighting, weights, other_weights) = if has_addresses {
            if !points
                .columns
                .iter()
                .any(|c| c.name == cfg.residents_column)
            {
                return Err(Error::NoWeights {
                    column: cfg.residents_column.clone(),
                });
            }
            (points, Weighting::Addresses, Vec::new(), weight_layer)
        } else {
            let layer = match weight_layer {
                Some(l) => l,
                None => {
                    let base = levels
                        .iter()
                        .find(|l| l.key == cfg.level_key)
                        .map(|l| l.areas.as_slice())
                        .unwrap_or_default();
                    redefine::area_lattice(base, AREA_LATTICE_POINTS)?
                }
            };
            let pts = PointLayer {
                x: layer.x,
                y: layer.y,
                keys: Default::default(),
                columns: Vec::new(),
                in_spatial_order: false,
            };
            (pts, layer.weighting, layer.weight, None)
        };
        // The statistics over the whole hierarchy use every table ([`Self::publish_statistics`]).
        let all_tables = tables.clone();
        // Tables of coarser levels cannot be carried to other definitions of the finest one.
        let tables: Vec<AreaTable> = tables
            .into_iter()
            .filter(|t| t.level == cfg.level_key)
            .collect();
        let header = PointLayer {
            x: Vec::new(),
            y: Vec::new(),
            keys: Default::default(),
            columns: points
                .columns
                .iter()
                .map(|c| CountColumn {
                    name: c.name.clone(),
                    year: c.year,
                    values: Vec::new(),
                })
                .collect(),
            in_spatial_order: false,
        };
        let fac_header = facilities
            .iter()
            .map(|f| FacilityLayer {
                category: f.category.clone(),
                title: f.title.clone(),
                x: Vec::new(),
                y: Vec::new(),
                ids: Vec::new(),
                names: Vec::new(),
                capacity: Vec::new(),
                attributes: Vec::new(),
            })
            .collect();
        // Drafts and uploads may have too few areas for a z-standardised index: no index
        // values there, not a refused definition (the base itself was checked at start).
        let mut analysis = analysis;
        for idx in &mut analysis.indices {
            idx.lenient = true;
        }
        let grid = PointGrid::build(&points.x, &points.y);
        let fac_grids = facilities
            .iter()
            .map(|f| PointGrid::build(&f.x, &f.y))
            .collect();
        let ws = Workspace {
            cfg,
            analysis,
            working_epsg,
            points,
            weighting,
            weights,
            other_weights,
            years,
            header,
            facilities,
            fac_header,
            base_tables: tables,
            grid,
            fac_grids,
            projector,
            store: Mutex::new(store),
            computed: RwLock::new(BTreeMap::new()),
            guarded: RwLock::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(1),
            official: RwLock::new(BTreeSet::new()),
            official_order: RwLock::new(Vec::new()),
            published_elsewhere: RwLock::new(BTreeSet::new()),
            guard_cache: Mutex::new(GuardCache::default()),
            lock: Mutex::new(None),
            base_hint: Mutex::new(None),
            hierarchy: levels,
            all_tables,
            nodes: RwLock::new(None),
        };
        Ok(ws)
    }

    /// What the workspace's points are, in German (plural), for warnings.
    pub(crate) fn point_noun(&self) -> &'static str {
        match self.weighting {
            Weighting::Addresses => "Adressen",
            Weighting::Grid { .. } => "Gitterpunkte",
            Weighting::Area { .. } => "Rasterpunkte",
        }
    }

    /// What estimates for other Gebietsstände are weighted by.
    pub fn weighting(&self) -> &Weighting {
        &self.weighting
    }

    /// Whether the workspace holds address points (only then can a draft reveal residents by
    /// differencing; estimates from published tables reveal nothing the tables do not).
    pub fn has_addresses(&self) -> bool {
        self.weighting == Weighting::Addresses
    }

    /// Keeps the store's lock for the lifetime of the workspace.
    pub fn hold(&self, lock: kleinraum_store::StoreLock) {
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
    }

    /// Working CRS.
    pub fn working_epsg(&self) -> u32 {
        self.working_epsg
    }

    /// Years with point counts or table values.
    pub fn years(&self) -> Vec<i32> {
        self.years.clone()
    }

    /// The analysis (indicator titles for the UI).
    pub fn analysis(&self) -> &AnalysisConfig {
        &self.analysis
    }

    /// Imports a version into the store if it has none of that key (start-up: the base level
    /// and the configured Gebietsstände) and marks it official (see [`Self::refresh_guard`]).
    /// Returns whether it was imported.
    pub fn ensure_version(&self, meta: VersionMeta, areas: &[Area]) -> Result<bool, Error> {
        if self
            .official
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(meta.key.clone())
        {
            self.official_order
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(meta.key.clone());
        }
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if store.version(&meta.key)?.is_some() {
            return Ok(false);
        }
        let stored = to_stored(areas)?;
        let audit = AuditEntry {
            at: meta.created_at.clone(),
            actor: meta.created_by.clone(),
            role: "system".into(),
            action: "import".into(),
            target: meta.key.clone(),
            detail: format!("{} Gebiete aus {}", stored.len(), meta.source),
        };
        match store.import(&meta, &stored, &audit) {
            Ok(()) => Ok(true),
            // Another process (a second server on the same store) imported it meanwhile.
            Err(kleinraum_store::StoreError::Exists { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Declares an official version's numbers as published by the statistical office itself:
    /// the guard does not compare it with other such versions.
    pub fn declare_published_elsewhere(&self, key: &str) {
        self.published_elsewhere
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string());
    }

    /// Computes every stored version that is not computed yet (base first: the others
    /// interpolate its tables), then refreshes the differencing guard.
    pub fn compute_all(&self) -> Result<(), Error> {
        use rayon::prelude::*;
        let metas = self.store_versions()?;
        let (base, others): (Vec<&VersionMeta>, Vec<&VersionMeta>) = metas
            .iter()
            .filter(|m| self.get(&m.key).is_none())
            .partition(|m| m.key == self.cfg.base_key);
        for m in base {
            let areas = self.stored_areas(&m.key)?;
            // The base version's points may already be joined (the engine's run at start).
            let hint = if m.key == self.cfg.base_key {
                self.base_hint
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .filter(|(hint_areas, _)| same_areas(hint_areas, &areas))
                    .map(|(_, a)| a)
            } else {
                None
            };
            let c = self.compute_assigned(m.clone(), areas, hint)?;
            self.computed
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(m.key.clone(), Arc::new(c));
        }
        // The other versions need only the base: computed side by side (each builds its own
        // polygon index once), kept in store order up to the first failure as one by one.
        let computed: Vec<Result<Computed, Error>> = others
            .par_iter()
            .map(|m| {
                let areas = self.stored_areas(&m.key)?;
                self.compute_assigned((*m).clone(), areas, None)
            })
            .collect();
        for (m, c) in others.iter().zip(computed) {
            self.computed
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(m.key.clone(), Arc::new(c?));
        }
        self.refresh_guard();
        Ok(())
    }

    pub(crate) fn store_versions(&self) -> Result<Vec<VersionMeta>, Error> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .versions()?)
    }

    pub(crate) fn stored_areas(&self, key: &str) -> Result<Vec<Area>, Error> {
        let stored = self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .areas(key)?;
        Ok(stored
            .into_iter()
            .map(|s| Area {
                id: s.id,
                name: s.name,
                parent: s.parent,
                geometry: Some(s.geometry),
                attributes: BTreeMap::new(),
            })
            .collect())
    }

    /// A computed version.
    pub fn get(&self, key: &str) -> Option<Arc<Computed>> {
        self.computed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// All computed versions, base first then by valid-from.
    pub fn list(&self) -> Vec<Arc<Computed>> {
        let mut v: Vec<Arc<Computed>> = self
            .computed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        v.sort_by(|a, b| {
            (
                a.meta.key != self.cfg.base_key,
                &a.meta.valid_from,
                &a.meta.key,
            )
                .cmp(&(
                    b.meta.key != self.cfg.base_key,
                    &b.meta.valid_from,
                    &b.meta.key,
                ))
        });
        v
    }

    /// The dataset the engine runs on for a set of areas: one level plus `gesamt`, header-only
    /// points (runs start from sums), the given tables.
    pub(crate) fn dataset_for(&self, areas: &[Area], tables: Vec<AreaTable>) -> Dataset {
        Dataset {
            working_epsg: self.working_epsg,
            levels: vec![Level {
                key: self.cfg.level_key.clone(),
                title: self.cfg.level_title.clone(),
                areas: areas
                    .iter()
                    .map(|a| Area {
                        parent: None,
                        attributes: BTreeMap::new(),
                        ..a.clone()
                    })
                    .collect(),
            }],
            points: self.header.clone(),
            facilities: self.fac_header.clone(),
            tables,
        }
    }

    pub(crate) fn column_refs(&self) -> Vec<&[u32]> {
        self.points
            .columns
            .iter()
            .map(|c| c.values.as_slice())
            .collect()
    }

    /// The weight of every point for estimates in `year`: the residents column of `year` (else
    /// of the nearest year with residents) at the address points, else the weight layer's.
    pub(crate) fn weights_near(&self, year: i32) -> &[u32] {
        if !self.has_addresses() {
            return &self.weights;
        }
        self.residents_col_near(year)
            .map_or(&[], |j| self.points.columns[j].values.as_slice())
    }

    /// Σ weight per area of a computed version for `year` (the denominators of a crosswalk
    /// restricted to some points).
    pub(crate) fn weight_totals(&self, c: &Computed, year: i32) -> Vec<u64> {
        let n = c.areas.len();
        if self.has_addresses() {
            let nc = self.points.columns.len();
            return match self.residents_col_near(year) {
                Some(col) => (0..n).map(|f| c.finest.sums[f * nc + col]).collect(),
                None => vec![0; n],
            };
        }
        let mut t = vec![0u64; n];
        for (&a, &w) in c.assignment.iter().zip(&self.weights) {
            if (a as usize) < n {
                t[a as usize] += u64::from(w);
            }
        }
        t
    }

    pub(crate) fn finest_sums(
        &self,
        assignment: &[u32],
        fac_assignment: &[Vec<u32>],
        n: usize,
    ) -> FinestSums {
        let cols = self.column_refs();
        let sums = aggregate::sum_by_area(assignment, n, &cols);
        let nc = self.facilities.len();
        let mut facilities = vec![
            FacilityStats {
                count: 0,
                capacity: 0.0
            };
            n * nc
        ];
        let mut report = AssignmentReport {
            points: assignment.len(),
            ..Default::default()
        };
        report.outside = assignment.iter().filter(|&&a| a == OUTSIDE).count();
        report.assigned = report.points - report.outside;
        for (c, (fac, asg)) in self.facilities.iter().zip(fac_assignment).enumerate() {
            let mut outside = 0;
            for (i, &a) in asg.iter().enumerate() {
                if a == OUTSIDE || a as usize >= n {
                    outside += 1;
                    continue;
                }
                let s = &mut facilities[a as usize * nc + c];
                s.count += 1;
                s.capacity += fac.capacity.get(i).copied().flatten().unwrap_or(0.0);
            }
            if outside > 0 {
                report
                    .facilities_outside
                    .push((fac.category.clone(), outside));
            }
        }
        FinestSums {
            sums,
            facilities,
            report,
        }
    }

    /// Tables for a version: the configured ones when it is the base, else interpolated from
    /// the base year by year through the crosswalk weighted by [`Self::weighting`] (counts split
    /// in proportion to the weights, values averaged by them), marked as estimates.
    pub(crate) fn tables_for(
        &self,
        key: &str,
        assignment: &[u32],
        areas: &[Area],
    ) -> (Vec<AreaTable>, Vec<String>) {
        if key == self.cfg.base_key {
            return (self.base_tables.clone(), Vec::new());
        }
        let Some(base) = self.get(&self.cfg.base_key) else {
            return (Vec::new(), Vec::new());
        };
        let mut crosswalks: HashMap<i32, Crosswalk> = HashMap::new();
        let mut out = Vec::new();
        for t in &self.base_tables {
            let years = t.distinct_years();
            let mut ids = Vec::with_capacity(years.len() * areas.len());
            let mut row_years = Vec::with_capacity(ids.capacity());
            let mut columns: Vec<TableColumn> = t
                .columns
                .iter()
                .map(|c| c.empty_like(ids.capacity()))
                .collect();
            let rows = rows_by_area_year(t);
            for &year in &years {
                let wy = self.weight_year(year);
                let cw = crosswalks.entry(wy).or_insert_with(|| {
                    Crosswalk::build(
                        &base.assignment,
                        assignment,
                        self.weights_near(year),
                        base.areas.len(),
                        areas.len(),
                    )
                });
                for (c, col) in t.columns.iter().enumerate() {
                    let from: Vec<Option<f64>> = base
                        .areas
                        .iter()
                        .map(|a| {
                            rows.get(&(a.id.as_str(), year))
                                .and_then(|&r| col.values[r])
                        })
                        .collect();
                    let m = if col.count {
                        Measure::Extensive
                    } else {
                        Measure::Intensive
                    };
                    let est = redefine::interpolate(cw, &from, m);
                    columns[c].values.extend(est.into_iter().map(|e| e.value));
                }
                ids.extend(areas.iter().map(|a| a.id.clone()));
                row_years.extend(std::iter::repeat_n(year, areas.len()));
            }
            for c in &mut columns {
                c.marks = vec![None; c.values.len()];
            }
            out.push(AreaTable {
                name: t.name.clone(),
                level: self.cfg.level_key.clone(),
                ids,
                years: row_years,
                columns,
            });
        }
        let estimated = self.estimated_names(&out);
        (out, estimated)
    }

    /// The year whose weights serve estimates for `year` (the nearest year with residents at
    /// the addresses; one key for the static weights of a grid or lattice).
    pub(crate) fn weight_year(&self, year: i32) -> i32 {
        if !self.has_addresses() {
            return 0;
        }
        self.residents_col_near(year)
            .map_or(0, |j| self.points.columns[j].year)
    }

    /// What is estimated when `tables` are interpolated: their count columns and every
    /// indicator with an operand from them (`table.column` or a table count by its name), also
    /// through `change` indicators.
    pub(crate) fn estimated_names(&self, tables: &[AreaTable]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for t in tables {
            for c in t.count_columns() {
                if !names.iter().any(|n| n == c) {
                    names.push(c.to_string());
                }
            }
        }
        let counts = names.clone();
        let uses = |op: &str, known: &[String]| {
            tables
                .iter()
                .any(|t| op.starts_with(&format!("{}.", t.name)))
                || counts.iter().any(|c| c == op)
                || known.iter().any(|k| k == op)
        };
        // Changes refer to indicators: repeat until nothing is added.
        loop {
            let mut added = false;
            for i in &self.analysis.indicators {
                if names.contains(&i.id) {
                    continue;
                }
                if uses(&i.numerator, &names)
                    || i.denominator.as_deref().is_some_and(|d| uses(d, &names))
                {
                    names.push(i.id.clone());
                    added = true;
                }
            }
            if !added {
                break;
            }
        }
        names
    }

    /// Recomputes a whole definition from the address points.
    pub fn compute(&self, meta: VersionMeta, areas: Vec<Area>) -> Result<Computed, Error> {
        self.compute_assigned(meta, areas, None)
    }

    /// As [`Self::compute`], with the points' areas already known (`assignment[i]` = area
    /// index of point `i`, or `OUTSIDE`): the base version at start, whose points the engine's
    /// run has just joined — they are joined once, not twice.
    pub fn compute_assigned(
        &self,
        meta: VersionMeta,
        areas: Vec<Area>,
        assignment: Option<Vec<u32>>,
    ) -> Result<Computed, Error> {
        let mut layers: Vec<(&[f64], &[f64])> = Vec::new();
        if assignment.is_none() {
            layers.push((&self.points.x, &self.points.y));
        }
        layers.extend(
            self.facilities
                .iter()
                .map(|f| (f.x.as_slice(), f.y.as_slice())),
        );
        // With the points joined already, the facilities are too few to pay for a second
        // polygon index of the same areas.
        let mut assigned = match assignment {
            Some(_) => aggregate::assign_few(&areas, &layers)?,
            None => aggregate::assign_layers(&areas, &layers)?,
        }
        .into_iter();
        let assignment = match assignment {
            Some(a) => a,
            None => assigned.next().unwrap_or_default(),
        };
        let fac_assignment: Vec<Vec<u32>> = assigned.collect();
        let finest = self.finest_sums(&assignment, &fac_assignment, areas.len());
        if meta.key == self.cfg.base_key {
            self.publish_statistics(&areas, &assignment, &finest)?;
        }
        let (tables, estimated) = self.tables_for(&meta.key, &assignment, &areas);
        let result = self.run_engine(
            &self.dataset_for(&areas, tables.clone()),
            &finest,
            &assignment,
        )?;
        let wgs84 = areas
            .iter()
            .map(|a| a.geometry.as_ref().and_then(|g| self.to_wgs84(g)))
            .collect();
        let weighting = (!estimated.is_empty()).then(|| self.weighting.clone());
        Ok(Computed {
            meta,
            areas,
            wgs84,
            assignment,
            fac_assignment,
            finest,
            result,
            estimated,
            weighting,
            tables,
        })
    }

    /// The statistics over the configured hierarchy from the base version's sums — what the
    /// OGC API publishes — kept as [`PublishedNodes`]. Skipped (with a log line) when the
    /// stored base version is not the configured base level.
    fn publish_statistics(
        &self,
        areas: &[Area],
        assignment: &[u32],
        finest: &FinestSums,
    ) -> Result<(), Error> {
        let Some(level0) = self.hierarchy.first() else {
            return Ok(());
        };
        if !same_areas(&level0.areas, areas) {
            tracing::warn!(
                "the stored base Gebietsstand differs from the configured level {:?}: copies of its areas in other versions cannot reuse its withheld cells",
                level0.key
            );
            return Ok(());
        }
        let dataset = Dataset {
            working_epsg: self.working_epsg,
            levels: self.hierarchy.clone(),
            points: self.header.clone(),
            facilities: self.fac_header.clone(),
            tables: self.all_tables.clone(),
        };
        let stats = aggregate::run_from_sums(&dataset, &self.analysis, finest)?;
        *self.nodes.write().unwrap_or_else(|e| e.into_inner()) =
            Some(Arc::new(PublishedNodes::new(&stats, assignment.to_vec())));
        Ok(())
    }

    /// The engine over one definition, withholding what the statistics withhold in identical
    /// areas.
    pub(crate) fn run_engine(
        &self,
        dataset: &Dataset,
        finest: &FinestSums,
        assignment: &[u32],
    ) -> Result<AggregateResult, Error> {
        let nodes = self.nodes.read().unwrap_or_else(|e| e.into_inner()).clone();
        let withhold = nodes
            .map(|n| n.withhold_for(assignment, dataset.levels[0].areas.len()))
            .unwrap_or_default();
        Ok(aggregate::run_from_sums_withholding(
            dataset,
            &self.analysis,
            finest,
            &withhold,
        )?)
    }

    /// The statistics' areas and withheld cells (after the base version is computed).
    pub fn published_nodes(&self) -> Option<Arc<PublishedNodes>> {
        self.nodes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A working-CRS geometry in WGS 84 (lon, lat); `None` if a vertex cannot be reprojected.
    pub fn to_wgs84(&self, mp: &MultiPolygon<f64>) -> Option<MultiPolygon<f64>> {
        use geo::MapCoords;
        mp.try_map_coords(|c| {
            self.projector
                .working_to_wgs84(c.x, c.y)
                .map(|(x, y)| geo::Coord { x, y })
        })
        .ok()
    }

    /// The assignment of the address points to the base level computed elsewhere (the
    /// engine's run at start), used by [`Self::compute_all`] for the base version when its
    /// stored areas are exactly `areas` (same ids, order and geometry).
    pub fn offer_base_assignment(&self, areas: &[Area], assignment: Vec<u32>) {
        // Without address points the workspace's points are weight points: an assignment of
        // (no) address points does not describe them.
        if assignment.len() != self.points.len() {
            return;
        }
        *self.base_hint.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((areas.to_vec(), assignment));
    }

    /// Imports a version (boundary upload or a saved draft): store first (atomic), then compute,
    /// then swap in. A failure at any step leaves the previous state.
    pub fn import(
        &self,
        meta: VersionMeta,
        areas: Vec<Area>,
        audit: AuditEntry,
    ) -> Result<Arc<Computed>, Error> {
        if areas.is_empty() {
            return Err(Error::NoAreas);
        }
        // Compute before writing: a definition the engine refuses is not stored.
        let computed = self.compute(meta.clone(), areas)?;
        let stored = to_stored(&computed.areas)?;
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .import(&meta, &stored, &audit)?;
        // Re-read the metadata the store completes (n_areas).
        let meta = self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .version(&meta.key)?
            .unwrap_or(meta);
        let computed = Arc::new(Computed { meta, ..computed });
        self.forget_guard(&computed.meta.key);
        self.computed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(computed.meta.key.clone(), computed.clone());
        self.refresh_guard();
        Ok(computed)
    }

    /// Publishes a draft.
    pub fn publish(&self, key: &str, audit: AuditEntry) -> Result<(), Error> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.publish(key, &audit)?;
        let meta = store
            .version(key)?
            .ok_or_else(|| Error::UnknownVersion { key: key.into() })?;
        drop(store);
        let mut map = self.computed.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = map.get(key).cloned() {
            let c = Computed {
                meta,
                areas: old.areas.clone(),
                wgs84: old.wgs84.clone(),
                assignment: old.assignment.clone(),
                fac_assignment: old.fac_assignment.clone(),
                finest: old.finest.clone(),
                result: old.result.clone(),
                estimated: old.estimated.clone(),
                weighting: old.weighting.clone(),
                tables: old.tables.clone(),
            };
            map.insert(key.to_string(), Arc::new(c));
        }
        Ok(())
    }

    /// Deletes a draft.
    pub fn delete_draft(&self, key: &str, audit: AuditEntry) -> Result<(), Error> {
        self.store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .delete_draft(key, &audit)?;
        self.computed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        self.forget_guard(key);
        self.refresh_guard();
        Ok(())
    }

    /// Writes an entry to the audit log (an operation that changed no stored data but
    /// produced statistics, such as a draft edit).
    pub fn log(&self, entry: AuditEntry) -> Result<(), Error> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .log(&entry)?)
    }

    /// The audit log, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .audit_log(limit)?)
    }

    /// A crosswalk between two versions weighted by [`Self::weighting`] (residents of the
    /// nearest year at the addresses, or the grid or lattice weights).
    pub fn crosswalk(&self, a: &Computed, b: &Computed, year: i32) -> Crosswalk {
        let w = self.weights_near(year);
        Crosswalk::build(
            &a.assignment,
            &b.assignment,
            w,
            a.areas.len(),
            b.areas.len(),
        )
    }

    /// The weightings a crosswalk can use here: the workspace's own, a configured weight
    /// layer, and area (always).
    pub fn weightings(&self) -> Vec<Weighting> {
        let mut v = vec![self.weighting.clone()];
        if let Some(l) = &self.other_weights {
            v.push(l.weighting.clone());
        }
        if !matches!(self.weighting, Weighting::Area { .. }) {
            v.push(Weighting::Area { spacing_m: 0.0 });
        }
        v
    }

    /// A crosswalk by the weighting with key `key` (`adressen`, `gitter`, `flaeche`; see
    /// [`Weighting::key`]). The workspace's own weighting uses the stored assignments; another
    /// one assigns its points to both versions now (a lattice is laid over `a`'s areas).
    pub fn crosswalk_by(
        &self,
        a: &Computed,
        b: &Computed,
        year: i32,
        key: &str,
    ) -> Result<(Crosswalk, Weighting), Error> {
        if key == self.weighting.key() {
            return Ok((self.crosswalk(a, b, year), self.weighting.clone()));
        }
        let layer = match (key, &self.other_weights) {
            (k, Some(l)) if l.weighting.key() == k => l.clone(),
            ("flaeche", _) => redefine::area_lattice(&a.areas, AREA_LATTICE_POINTS)?,
            _ => {
                return Err(Error::UnknownWeighting {
                    key: key.to_string(),
                    available: self
                        .weightings()
                        .iter()
                        .map(|w| w.key().to_string())
                        .collect(),
                });
            }
        };
        let asg = aggregate::assign_layers(&a.areas, &[(&layer.x, &layer.y)])?
            .pop()
            .unwrap_or_default();
        let bsg = aggregate::assign_layers(&b.areas, &[(&layer.x, &layer.y)])?
            .pop()
            .unwrap_or_default();
        let cw = Crosswalk::build(&asg, &bsg, &layer.weight, a.areas.len(), b.areas.len());
        Ok((cw, layer.weighting))
    }

    pub(crate) fn residents_col_near(&self, year: i32) -> Option<usize> {
        self.points
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == self.cfg.residents_column)
            .min_by_key(|(_, c)| (c.year - year).abs())
            .map(|(j, _)| j)
    }
}

/// Same ids in the same order with the same geometry (names and parents may differ).
fn same_areas(a: &[Area], b: &[Area]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.id == y.id && x.geometry == y.geometry)
}

fn to_stored(areas: &[Area]) -> Result<Vec<StoredArea>, Error> {
    areas
        .iter()
        .map(|a| {
            Ok(StoredArea {
                id: a.id.clone(),
                name: a.name.clone(),
                parent: a.parent.clone(),
                geometry: a
                    .geometry
                    .clone()
                    .ok_or_else(|| Error::NoGeometry { area: a.id.clone() })?,
            })
        })
        .collect()
}

/// Row index of each (area id, year) of a table.
pub(crate) fn rows_by_area_year(t: &AreaTable) -> HashMap<(&str, i32), usize> {
    t.ids
        .iter()
        .zip(&t.years)
        .enumerate()
        .map(|(r, (id, &y))| ((id.as_str(), y), r))
        .collect()
}
