//! Gebietsstände at run time: every stored version recomputed from the address points, drafts
//! edited in server-side sessions with incremental recomputation, crosswalks, comparisons and
//! the differencing guard.
//!
//! The workspace holds the address points (they never leave it: every answer is a sum that
//! passed disclosure control) and the store. Versions are immutable once computed; a write
//! builds the new state completely and only then swaps it in, so a failed import or
//! redefinition leaves the previous state whole (in memory as in the store).

use geo::{Area as _, BooleanOps, BoundingRect, MultiPolygon, Polygon};
use kleinraum_aggregate::aggregate::{self, FinestSums};
use kleinraum_aggregate::config::AnalysisConfig;
use kleinraum_aggregate::model::{
    Area, AreaTable, CountColumn, Dataset, FacilityLayer, Level, PointLayer,
};
use kleinraum_aggregate::redefine::{self, Crosswalk, Measure, PointGrid};
use kleinraum_aggregate::result::{AggregateResult, AssignmentReport, CountFlag, FacilityStats};
use kleinraum_aggregate::spatial::OUTSIDE;
use kleinraum_store::{AuditEntry, Status, Store, StoredArea, VersionMeta};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Reprojection between the working CRS and WGS 84 lon/lat (the binary implements it with
/// PROJ; this crate links no C library).
pub trait Projector: Send + Sync {
    /// Working CRS → (lon, lat).
    fn working_to_wgs84(&self, x: f64, y: f64) -> Result<(f64, f64), String>;
    /// (lon, lat) → working CRS.
    fn wgs84_to_working(&self, lon: f64, lat: f64) -> Result<(f64, f64), String>;
}

/// Why a workspace operation failed. Messages are for planners (German where they reach the UI)
/// and never contain address-level data.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// Bad input: names the feature, field or parameter.
    #[error("{0}")]
    Invalid(String),
    /// No such version, draft session or area.
    #[error("{0}")]
    NotFound(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] kleinraum_store::StoreError),
    /// The engine refused the definition.
    #[error("Berechnung: {0}")]
    Engine(#[from] aggregate::EngineError),
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
    /// Table columns that are counts (summed when interpolated); others are ratios (averaged).
    pub extensive_columns: Vec<String>,
}

/// A computed version.
#[derive(Debug)]
pub struct Computed {
    /// Metadata from the store.
    pub meta: VersionMeta,
    /// Areas in the working CRS, in stored order.
    pub areas: Vec<Area>,
    /// Area index per address point (or OUTSIDE).
    pub assignment: Vec<u32>,
    /// Area index per facility, per category.
    pub fac_assignment: Vec<Vec<u32>>,
    /// Finest-level sums.
    pub finest: FinestSums,
    /// The engine's result (levels[0] = these areas, then `gesamt`).
    pub result: AggregateResult,
    /// Indicators whose values were interpolated from another Gebietsstand.
    pub estimated: Vec<String>,
    /// The area tables the run used (configured or interpolated), for drafts starting here.
    pub tables: Vec<AreaTable>,
}

/// One finding of the differencing guard.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SliverWarning {
    /// Area of this version (or draft).
    pub area: String,
    /// The other version.
    pub other_version: String,
    /// The other area.
    pub other_area: String,
    /// Year of the residents.
    pub year: i32,
    /// Residents only in this area.
    pub only_here: u64,
    /// Residents only in the other area.
    pub only_there: u64,
    /// Mean position of the isolated addresses (working CRS), for the planner's map.
    #[serde(skip)]
    pub location: Option<(f64, f64)>,
}

/// Most vertices of one geometry a draft operation accepts (a drawn area has tens; a reshaped
/// Berlin PLR a few thousand).
pub const MAX_DRAFT_VERTICES: usize = 20_000;
/// Edge-pair comparisons the simplicity check of a draft geometry may make (~0.1 s).
const DRAFT_CHECK_BUDGET: u64 = 20_000_000;

/// A draft being edited.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Version it started from.
    pub base: String,
    /// Who started it.
    pub created_by: String,
    /// Areas (working CRS).
    pub areas: Vec<Area>,
    /// Area index per point.
    pub assignment: Vec<u32>,
    /// Area index per facility, per category.
    pub fac_assignment: Vec<Vec<u32>>,
    /// Current finest sums.
    pub finest: FinestSums,
    /// Operations applied, for the audit log.
    pub operations: Vec<String>,
    /// Ids of areas whose geometry differs from the base version (their table values are
    /// interpolated; all others keep the base's).
    pub touched: BTreeSet<String>,
}

/// Result of one draft operation.
#[derive(Debug)]
pub struct OpOutcome {
    /// Areas whose geometry or statistics changed (ids).
    pub changed: Vec<String>,
    /// Areas that no longer exist.
    pub removed: Vec<String>,
    /// Untouched neighbours that got a vertex of the edit inserted into a shared edge (same
    /// land and statistics; the client needs their new outline for later vertex moves).
    pub vertices_added: Vec<String>,
    /// Warnings: (kind, area, message, location in working CRS).
    pub warnings: Vec<Warning>,
    /// The draft's recomputed result.
    pub result: AggregateResult,
    /// Indicators interpolated.
    pub estimated: Vec<String>,
}

/// A warning for the planner.
#[derive(Debug, Clone)]
pub struct Warning {
    /// `gap`, `overlap` or `sliver`.
    pub kind: &'static str,
    /// Area id.
    pub area: String,
    /// German message.
    pub message: String,
    /// Where (working CRS).
    pub location: Option<(f64, f64)>,
}

/// Differencing-guard results kept between refreshes (each write adds one version's pairs).
#[derive(Debug, Default)]
struct GuardCache {
    /// (version a, version b) → findings, each with the version it withholds.
    pairs: HashMap<(String, String), Vec<(String, SliverWarning)>>,
    /// Areas of a non-official version that hold exactly the addresses of an official area.
    copies: HashMap<String, BTreeSet<u32>>,
}

/// The run-time state of all Gebietsstände.
pub struct Workspace {
    /// Settings.
    pub cfg: WorkspaceConfig,
    analysis: AnalysisConfig,
    working_epsg: u32,
    points: PointLayer,
    /// The point layer without values (the engine's column list for runs from sums).
    header: PointLayer,
    facilities: Vec<FacilityLayer>,
    fac_header: Vec<FacilityLayer>,
    base_tables: Vec<AreaTable>,
    grid: PointGrid,
    fac_grids: Vec<PointGrid>,
    /// Reprojection to and from WGS 84.
    pub projector: Arc<dyn Projector>,
    store: Mutex<Store>,
    computed: RwLock<BTreeMap<String, Arc<Computed>>>,
    /// Area indices whose statistics the guard withholds from non-planners, per version.
    guarded: RwLock<HashMap<String, Arc<Vec<SliverWarning>>>>,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    counter: AtomicU64,
    /// The guard's findings per pair of versions and each version's copies of official areas.
    guard_cache: Mutex<GuardCache>,
    /// Versions published by the statistics office itself (the configured ones): their
    /// mutual differences are published facts, so the guard compares only against them.
    official: RwLock<BTreeSet<String>>,
    /// This process's claim on the store file (one writer per store).
    lock: Mutex<Option<kleinraum_store::StoreLock>>,
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

/// Whether two boxes meet when `b` is widened by `margin` (m).
fn boxes_meet(a: ([f64; 2], [f64; 2]), b: ([f64; 2], [f64; 2]), margin: f64) -> bool {
    a.1[0] >= b.0[0] - margin
        && a.0[0] <= b.1[0] + margin
        && a.1[1] >= b.0[1] - margin
        && a.0[1] <= b.1[1] + margin
}

/// Every vertex of every ring.
fn vertices(g: &MultiPolygon<f64>) -> impl Iterator<Item = geo::Coord<f64>> + '_ {
    g.0.iter().flat_map(|p| {
        std::iter::once(p.exterior())
            .chain(p.interiors())
            .flat_map(|r| r.0.iter().copied())
    })
}

/// Sorted by x (then y), duplicates removed: the anchor order the snapping functions expect.
fn sort_anchors(mut v: Vec<geo::Coord<f64>>) -> Vec<geo::Coord<f64>> {
    v.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    v.dedup();
    v
}

fn bbox(mp: &MultiPolygon<f64>) -> Option<([f64; 2], [f64; 2])> {
    mp.bounding_rect()
        .map(|r| ([r.min().x, r.min().y], [r.max().x, r.max().y]))
}

/// Draft sessions kept in memory at once.
const MAX_SESSIONS: usize = 32;

/// The running number in a session id `e<n>-<hex>`.
fn session_number(id: &str) -> u64 {
    id.strip_prefix('e')
        .and_then(|r| r.split('-').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Areas below this size (m²) count as empty after an edit (numerical crumbs).
const MIN_AREA_M2: f64 = 1.0;

/// Vertices sent back by the browser within this distance (m) of an existing vertex are that
/// vertex: WGS 84 with 7 decimals is ~1 cm, plus reprojection noise.
const SNAP_M: f64 = 0.05;

/// Anchors (sorted by x) closer than this (m) to an edge's interior are inserted into it.
const ON_EDGE_M: f64 = 0.001;

/// Vertices computed by a cut or union within this distance (m) of an existing vertex are that
/// vertex (the overlay works on a fixed-precision grid).
const CUT_SNAP_M: f64 = 0.01;

/// Snaps `g`'s vertices to anchors within `snap_m`, then inserts anchors lying on its edges.
fn conform(g: MultiPolygon<f64>, anchors: &[geo::Coord<f64>], snap_m: f64) -> MultiPolygon<f64> {
    insert_on_edges(snap_vertices(g, anchors, snap_m), anchors)
}

/// Inserts every anchor (sorted by x) that lies on an edge of `g` into that edge.
fn insert_on_edges(mut g: MultiPolygon<f64>, anchors: &[geo::Coord<f64>]) -> MultiPolygon<f64> {
    let fix = |ls: &mut geo::LineString<f64>| {
        let pts = &ls.0;
        if pts.len() < 2 {
            return;
        }
        let mut out = Vec::with_capacity(pts.len());
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push(a);
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let len2 = dx * dx + dy * dy;
            if len2 == 0.0 {
                continue;
            }
            let (xmin, xmax) = (a.x.min(b.x) - ON_EDGE_M, a.x.max(b.x) + ON_EDGE_M);
            let lo = anchors.partition_point(|p| p.x < xmin);
            let mut on: Vec<(f64, geo::Coord<f64>)> = Vec::new();
            for p in anchors[lo..].iter().take_while(|p| p.x <= xmax) {
                if p.y < a.y.min(b.y) - ON_EDGE_M || p.y > a.y.max(b.y) + ON_EDGE_M {
                    continue;
                }
                let t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2;
                if t <= 0.0 || t >= 1.0 || *p == a || *p == b {
                    continue;
                }
                let (qx, qy) = (a.x + t * dx, a.y + t * dy);
                if (p.x - qx).hypot(p.y - qy) < ON_EDGE_M {
                    on.push((t, *p));
                }
            }
            on.sort_by(|x, y| x.0.total_cmp(&y.0));
            out.extend(on.into_iter().map(|(_, p)| p));
        }
        out.push(*pts.last().unwrap_or(&geo::Coord { x: 0.0, y: 0.0 }));
        out.dedup();
        ls.0 = out;
    };
    for p in g.0.iter_mut() {
        p.exterior_mut(fix);
        p.interiors_mut(|rings| rings.iter_mut().for_each(fix));
    }
    g
}

/// Replaces each vertex of `g` within `tol` of an anchor by the anchor (`anchors` sorted by x).
fn snap_vertices(
    mut g: MultiPolygon<f64>,
    anchors: &[geo::Coord<f64>],
    tol: f64,
) -> MultiPolygon<f64> {
    let snap = |c: &mut geo::Coord<f64>| {
        let lo = anchors.partition_point(|a| a.x < c.x - tol);
        let mut best: Option<(f64, geo::Coord<f64>)> = None;
        for a in anchors[lo..].iter().take_while(|a| a.x <= c.x + tol) {
            let d = (a.x - c.x).hypot(a.y - c.y);
            if d <= tol && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, *a));
            }
        }
        if let Some((_, a)) = best {
            *c = a;
        }
    };
    for p in g.0.iter_mut() {
        p.exterior_mut(|ls| ls.0.iter_mut().for_each(snap));
        p.interiors_mut(|rings| {
            for r in rings {
                r.0.iter_mut().for_each(snap);
            }
        });
    }
    g
}

impl Workspace {
    /// Builds the workspace from the loaded dataset (points, facilities, the base level's
    /// tables) and the store; computes every stored version.
    pub fn new(
        cfg: WorkspaceConfig,
        dataset: Dataset,
        analysis: AnalysisConfig,
        store: Store,
        projector: Arc<dyn Projector>,
    ) -> Result<Workspace, WsError> {
        let Dataset {
            working_epsg,
            levels: _,
            points,
            facilities,
            tables,
        } = dataset;
        let header = PointLayer {
            x: Vec::new(),
            y: Vec::new(),
            keys: Vec::new(),
            columns: points
                .columns
                .iter()
                .map(|c| CountColumn {
                    name: c.name.clone(),
                    year: c.year,
                    values: Vec::new(),
                })
                .collect(),
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
        if !points
            .columns
            .iter()
            .any(|c| c.name == cfg.residents_column)
        {
            return Err(WsError::Invalid(format!(
                "the points have no count column {:?} (needed as crosswalk weight)",
                cfg.residents_column
            )));
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
            guard_cache: Mutex::new(GuardCache::default()),
            lock: Mutex::new(None),
        };
        Ok(ws)
    }

    /// Keeps the store's lock for the lifetime of the workspace.
    pub fn hold(&self, lock: kleinraum_store::StoreLock) {
        *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
    }

    /// Working CRS.
    pub fn working_epsg(&self) -> u32 {
        self.working_epsg
    }

    /// Years with point counts.
    pub fn years(&self) -> Vec<i32> {
        self.points.years()
    }

    /// The analysis (indicator titles for the UI).
    pub fn analysis(&self) -> &AnalysisConfig {
        &self.analysis
    }

    /// Imports a version into the store if it has none of that key (start-up: the base level
    /// and the configured Gebietsstände) and marks it official (see [`Self::refresh_guard`]).
    /// Returns whether it was imported.
    pub fn ensure_version(&self, meta: VersionMeta, areas: &[Area]) -> Result<bool, WsError> {
        self.official
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(meta.key.clone());
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

    /// Computes every stored version that is not computed yet (base first: the others
    /// interpolate its tables), then refreshes the differencing guard.
    pub fn compute_all(&self) -> Result<(), WsError> {
        let metas = self.store_versions()?;
        let mut order: Vec<&VersionMeta> = metas.iter().collect();
        order.sort_by_key(|m| m.key != self.cfg.base_key);
        for m in order {
            if self.get(&m.key).is_some() {
                continue;
            }
            let areas = self.stored_areas(&m.key)?;
            let c = self.compute(m.clone(), areas)?;
            self.computed
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(m.key.clone(), Arc::new(c));
        }
        self.refresh_guard();
        Ok(())
    }

    fn store_versions(&self) -> Result<Vec<VersionMeta>, WsError> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .versions()?)
    }

    fn stored_areas(&self, key: &str) -> Result<Vec<Area>, WsError> {
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

    /// The guard's findings for a version (empty when none).
    pub fn guard(&self, key: &str) -> Arc<Vec<SliverWarning>> {
        self.guarded
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    /// The dataset the engine runs on for a set of areas: one level plus `gesamt`, header-only
    /// points (runs start from sums), the given tables.
    fn dataset_for(&self, areas: &[Area], tables: Vec<AreaTable>) -> Dataset {
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

    fn column_refs(&self) -> Vec<&[u32]> {
        self.points
            .columns
            .iter()
            .map(|c| c.values.as_slice())
            .collect()
    }

    fn residents(&self, year: i32) -> Option<&[u32]> {
        self.points
            .columns
            .iter()
            .find(|c| c.name == self.cfg.residents_column && c.year == year)
            .map(|c| c.values.as_slice())
    }

    /// The residents column of `year`, else of the nearest year with residents.
    fn residents_near(&self, year: i32) -> &[u32] {
        self.residents_col_near(year)
            .map_or(&[], |j| self.points.columns[j].values.as_slice())
    }

    fn finest_sums(&self, assignment: &[u32], fac_assignment: &[Vec<u32>], n: usize) -> FinestSums {
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
    /// the base through the address-weighted crosswalk (marked as estimates).
    fn tables_for(
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
        let mut out = Vec::new();
        for t in &self.base_tables {
            let weights = self.residents_near(t.year);
            if weights.is_empty() {
                continue;
            }
            let cw = Crosswalk::build(
                &base.assignment,
                assignment,
                weights,
                base.areas.len(),
                areas.len(),
            );
            // Table rows in base-area order.
            let row_of: HashMap<&str, usize> = t
                .ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            let mut columns = Vec::new();
            for (name, vals) in &t.columns {
                let from: Vec<Option<f64>> = base
                    .areas
                    .iter()
                    .map(|a| row_of.get(a.id.as_str()).and_then(|&r| vals[r]))
                    .collect();
                let m = if self.cfg.extensive_columns.iter().any(|c| c == name) {
                    Measure::Extensive
                } else {
                    Measure::Intensive
                };
                let est = redefine::interpolate(&cw, &from, m);
                columns.push((name.clone(), est.into_iter().map(|e| e.value).collect()));
            }
            out.push(AreaTable {
                name: t.name.clone(),
                level: self.cfg.level_key.clone(),
                year: t.year,
                ids: areas.iter().map(|a| a.id.clone()).collect(),
                columns,
            });
        }
        let estimated = self.indicators_using(&out);
        (out, estimated)
    }

    /// Indicators with an operand from one of `tables` (`table.column`).
    fn indicators_using(&self, tables: &[AreaTable]) -> Vec<String> {
        self.analysis
            .indicators
            .iter()
            .filter(|i| {
                let uses = |op: &str| {
                    tables
                        .iter()
                        .any(|t| op.starts_with(&format!("{}.", t.name)))
                };
                uses(&i.numerator) || i.denominator.as_deref().is_some_and(uses)
            })
            .map(|i| i.id.clone())
            .collect()
    }

    /// Recomputes a whole definition from the address points.
    pub fn compute(&self, meta: VersionMeta, areas: Vec<Area>) -> Result<Computed, WsError> {
        let mut layers: Vec<(&[f64], &[f64])> = vec![(&self.points.x, &self.points.y)];
        layers.extend(
            self.facilities
                .iter()
                .map(|f| (f.x.as_slice(), f.y.as_slice())),
        );
        let mut assigned = assign_layers(&areas, &layers)?.into_iter();
        let assignment = assigned.next().unwrap_or_default();
        let fac_assignment: Vec<Vec<u32>> = assigned.collect();
        let finest = self.finest_sums(&assignment, &fac_assignment, areas.len());
        let (tables, estimated) = self.tables_for(&meta.key, &assignment, &areas);
        let result = aggregate::run_from_sums(
            &self.dataset_for(&areas, tables.clone()),
            &self.analysis,
            &finest,
        )?;
        Ok(Computed {
            meta,
            areas,
            assignment,
            fac_assignment,
            finest,
            result,
            estimated,
            tables,
        })
    }

    /// Recomputes the differencing guard over every pair of versions in which at least one is
    /// not official (drafts, uploads: their statistics reach viewers, so two drafts one house
    /// apart are a leak too). Only the non-official side of a pair is withheld: the official
    /// versions are published by the statistics office anyway.
    pub fn refresh_guard(&self) {
        let all = self.list();
        let official = self
            .official
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let threshold = self.analysis.disclosure.threshold;
        let years = self.years();
        let keys: BTreeSet<&str> = all.iter().map(|v| v.meta.key.as_str()).collect();
        let mut cache = self.guard_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .pairs
            .retain(|(a, b), _| keys.contains(a.as_str()) && keys.contains(b.as_str()));
        cache.copies.retain(|k, _| keys.contains(k.as_str()));
        // An area holding exactly the addresses of an official area (e.g. the untouched areas
        // of a draft) reveals nothing new: its slivers against official versions are the
        // official ones, which are published anyway. Without this, every draft would hide
        // dozens of unchanged areas. Computed once per version.
        for v in all.iter().filter(|v| !official.contains(&v.meta.key)) {
            if cache.copies.contains_key(&v.meta.key) {
                continue;
            }
            let mut set = BTreeSet::new();
            for o in all.iter().filter(|o| official.contains(&o.meta.key)) {
                copies_of(
                    &v.assignment,
                    &o.assignment,
                    v.areas.len(),
                    o.areas.len(),
                    &mut set,
                );
            }
            cache.copies.insert(v.meta.key.clone(), set);
        }
        // Only pairs not seen before are computed: a write adds the pairs of one version.
        for (i, a) in all.iter().enumerate() {
            for b in all.iter().skip(i + 1) {
                let (off_a, off_b) = (
                    official.contains(&a.meta.key),
                    official.contains(&b.meta.key),
                );
                let pair = (a.meta.key.clone(), b.meta.key.clone());
                if (off_a && off_b) || cache.pairs.contains_key(&pair) {
                    continue;
                }
                let is_copy =
                    |key: &str, area: u32| cache.copies.get(key).is_some_and(|s| s.contains(&area));
                let mut findings = Vec::new();
                for &y in &years {
                    let Some(w) = self.residents(y) else { continue };
                    let cw = Crosswalk::build(
                        &a.assignment,
                        &b.assignment,
                        w,
                        a.areas.len(),
                        b.areas.len(),
                    );
                    for s in redefine::differencing_slivers(&cw, threshold) {
                        if !(off_a || off_b && is_copy(&a.meta.key, s.draft)) {
                            findings.push((
                                a.meta.key.clone(),
                                SliverWarning {
                                    area: a.areas[s.draft as usize].id.clone(),
                                    other_version: b.meta.key.clone(),
                                    other_area: b.areas[s.other as usize].id.clone(),
                                    year: y,
                                    only_here: s.draft_only,
                                    only_there: s.other_only,
                                    location: None,
                                },
                            ));
                        }
                        if off_b || (off_a && is_copy(&b.meta.key, s.other)) {
                            continue;
                        }
                        findings.push((
                            b.meta.key.clone(),
                            SliverWarning {
                                area: b.areas[s.other as usize].id.clone(),
                                other_version: a.meta.key.clone(),
                                other_area: a.areas[s.draft as usize].id.clone(),
                                year: y,
                                only_here: s.other_only,
                                only_there: s.draft_only,
                                location: None,
                            },
                        ));
                    }
                }
                cache.pairs.insert(pair, findings);
            }
        }
        let mut found: HashMap<String, Vec<SliverWarning>> = HashMap::new();
        for list in cache.pairs.values() {
            for (k, w) in list {
                found.entry(k.clone()).or_default().push(w.clone());
            }
        }
        drop(cache);
        let mut g = self.guarded.write().unwrap_or_else(|e| e.into_inner());
        g.clear();
        for (k, v) in found {
            g.insert(k, Arc::new(v));
        }
    }

    /// Forgets the guard's cached pairs of `key` (the version was replaced or deleted).
    fn forget_guard(&self, key: &str) {
        let mut cache = self.guard_cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.pairs.retain(|(a, b), _| a != key && b != key);
        cache.copies.remove(key);
    }

    /// Imports a version (boundary upload or a saved draft): store first (atomic), then compute,
    /// then swap in. A failure at any step leaves the previous state.
    pub fn import(
        &self,
        meta: VersionMeta,
        areas: Vec<Area>,
        audit: AuditEntry,
    ) -> Result<Arc<Computed>, WsError> {
        if areas.is_empty() {
            return Err(WsError::Invalid(
                "der Gebietsstand hat keine Gebiete".into(),
            ));
        }
        // Compute before writing: a definition the engine refuses is not stored.
        let computed = Arc::new(self.compute(meta.clone(), areas)?);
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
        let computed = Arc::new(Computed {
            meta,
            ..Arc::try_unwrap(computed).map_err(|_| WsError::Invalid("internal: shared".into()))?
        });
        self.forget_guard(&computed.meta.key);
        self.computed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(computed.meta.key.clone(), computed.clone());
        self.refresh_guard();
        Ok(computed)
    }

    /// Publishes a draft.
    pub fn publish(&self, key: &str, audit: AuditEntry) -> Result<(), WsError> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.publish(key, &audit)?;
        let meta = store
            .version(key)?
            .ok_or_else(|| WsError::NotFound(format!("Gebietsstand {key} nicht gefunden")))?;
        drop(store);
        let mut map = self.computed.write().unwrap_or_else(|e| e.into_inner());
        if let Some(old) = map.get(key).cloned() {
            let c = Computed {
                meta,
                areas: old.areas.clone(),
                assignment: old.assignment.clone(),
                fac_assignment: old.fac_assignment.clone(),
                finest: old.finest.clone(),
                result: old.result.clone(),
                estimated: old.estimated.clone(),
                tables: old.tables.clone(),
            };
            map.insert(key.to_string(), Arc::new(c));
        }
        Ok(())
    }

    /// Deletes a draft.
    pub fn delete_draft(&self, key: &str, audit: AuditEntry) -> Result<(), WsError> {
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

    /// The audit log, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, WsError> {
        Ok(self
            .store
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .audit_log(limit)?)
    }

    // ---------------------------------------------------------------------------------------
    // Draft sessions

    /// Starts a draft session from a version.
    pub fn start_session(&self, base: &str, who: &str) -> Result<String, WsError> {
        let b = self
            .get(base)
            .ok_or_else(|| WsError::NotFound(format!("Gebietsstand {base} nicht gefunden")))?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let id = format!("e{n}-{nanos:08x}");
        let s = Session {
            id: id.clone(),
            base: base.to_string(),
            created_by: who.to_string(),
            areas: b.areas.clone(),
            assignment: b.assignment.clone(),
            fac_assignment: b.fac_assignment.clone(),
            finest: b.finest.clone(),
            operations: Vec::new(),
            touched: BTreeSet::new(),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        // Each session holds a copy of the point assignment (4 bytes per address): keep the
        // newest MAX_SESSIONS, dropping the oldest unsaved one.
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.keys().min_by_key(|k| session_number(k)).cloned()
        {
            sessions.remove(&oldest);
        }
        sessions.insert(id.clone(), Arc::new(Mutex::new(s)));
        Ok(id)
    }

    /// A session by id.
    pub fn session(&self, id: &str) -> Result<Arc<Mutex<Session>>, WsError> {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| {
                WsError::NotFound(format!(
                    "Entwurf {id} nicht gefunden (Server neu gestartet?)"
                ))
            })
    }

    /// The whole draft recomputed from its sums (no point pass).
    pub fn session_result(&self, s: &Session) -> Result<(AggregateResult, Vec<String>), WsError> {
        let (tables, estimated) = self.session_tables(s)?;
        let r = aggregate::run_from_sums(
            &self.dataset_for(&s.areas, tables),
            &self.analysis,
            &s.finest,
        )?;
        Ok((r, estimated))
    }

    /// A draft's tables: the base version's rows for untouched areas, address-weighted
    /// interpolation from the base areas for touched ones (only their points are visited).
    fn session_tables(&self, s: &Session) -> Result<(Vec<AreaTable>, Vec<String>), WsError> {
        let base = self
            .get(&s.base)
            .ok_or_else(|| WsError::NotFound(format!("Gebietsstand {} nicht gefunden", s.base)))?;
        // Points of the touched areas, found through their boxes.
        let mut pts: Vec<(u32, u32)> = Vec::new();
        for (t, a) in s.areas.iter().enumerate() {
            if !s.touched.contains(&a.id) {
                continue;
            }
            let Some((min, max)) = a.geometry.as_ref().and_then(bbox) else {
                continue;
            };
            self.grid.for_each_in(min, max, |p| {
                if s.assignment[p as usize] as usize == t {
                    pts.push((p, t as u32));
                }
            });
        }
        // The same interpolation as for a whole version, restricted to these points; the
        // base areas' totals (the denominators of counts) come from the base's sums.
        let nc = self.points.columns.len();
        let sub_from: Vec<u32> = pts
            .iter()
            .map(|&(p, _)| base.assignment[p as usize])
            .collect();
        let sub_to: Vec<u32> = pts.iter().map(|&(_, t)| t).collect();
        let touched: Vec<bool> = s.areas.iter().map(|a| s.touched.contains(&a.id)).collect();
        let mut out = Vec::with_capacity(base.tables.len());
        for tb in &base.tables {
            let row: HashMap<&str, usize> = tb
                .ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.as_str(), i))
                .collect();
            let base_row: Vec<Option<usize>> = base
                .areas
                .iter()
                .map(|a| row.get(a.id.as_str()).copied())
                .collect();
            // Weights: residents of the nearest year.
            let cw = self.residents_col_near(tb.year).map(|col| {
                let values = &self.points.columns[col].values;
                let w: Vec<u32> = pts.iter().map(|&(p, _)| values[p as usize]).collect();
                let mut cw =
                    Crosswalk::build(&sub_from, &sub_to, &w, base.areas.len(), s.areas.len());
                for (f, total) in cw.from_total.iter_mut().enumerate() {
                    *total = base.finest.sums[f * nc + col];
                }
                cw
            });
            let mut columns = Vec::with_capacity(tb.columns.len());
            for (name, vals) in &tb.columns {
                let m = if self.cfg.extensive_columns.iter().any(|c| c == name) {
                    Measure::Extensive
                } else {
                    Measure::Intensive
                };
                let from: Vec<Option<f64>> =
                    base_row.iter().map(|r| r.and_then(|r| vals[r])).collect();
                let est = cw.as_ref().map(|cw| redefine::interpolate(cw, &from, m));
                let v: Vec<Option<f64>> = s
                    .areas
                    .iter()
                    .enumerate()
                    .map(|(t, a)| {
                        if touched[t] {
                            est.as_ref().and_then(|e| e[t].value)
                        } else {
                            row.get(a.id.as_str()).and_then(|&r| vals[r])
                        }
                    })
                    .collect();
                columns.push((name.clone(), v));
            }
            out.push(AreaTable {
                name: tb.name.clone(),
                level: self.cfg.level_key.clone(),
                year: tb.year,
                ids: s.areas.iter().map(|a| a.id.clone()).collect(),
                columns,
            });
        }
        let mut estimated = base.estimated.clone();
        if !s.touched.is_empty() {
            for id in self.indicators_using(&out) {
                if !estimated.contains(&id) {
                    estimated.push(id);
                }
            }
        }
        Ok((out, estimated))
    }

    fn residents_col_near(&self, year: i32) -> Option<usize> {
        self.points
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.name == self.cfg.residents_column)
            .min_by_key(|(_, c)| (c.year - year).abs())
            .map(|(j, _)| j)
    }

    /// Applies an edit: `changed` areas get new geometry (`None` removes the area; indices
    /// beyond the current list append new areas). Only points and facilities near the edit are
    /// re-located; the sums are updated by the difference.
    pub fn apply_edit(
        &self,
        s: &mut Session,
        changed: Vec<(usize, Option<MultiPolygon<f64>>, Option<String>)>,
        new_ids: Vec<(String, String)>,
        label: String,
        snap_m: f64,
    ) -> Result<OpOutcome, WsError> {
        let n_before = s.areas.len();
        // New edges meet the existing ones exactly: vertices within `snap_m` of an existing
        // vertex become that vertex, and existing vertices lying on a new edge are inserted
        // into it (a union or cut drops collinear vertices that neighbours still have; moving
        // such a vertex later would otherwise open a gap).
        let n_requested = changed.len();
        let changed: Vec<(usize, Option<MultiPolygon<f64>>, Option<String>)> = {
            let boxes: Vec<_> = changed
                .iter()
                .filter_map(|(_, g, _)| g.as_ref().and_then(bbox))
                .collect();
            let anchors = self.anchors_near(s, &boxes);
            let mut changed: Vec<_> = changed
                .into_iter()
                .map(|(i, g, n)| (i, g.map(|g| conform(g, &anchors, snap_m)), n))
                .collect();
            // The other way round: a new vertex on an untouched neighbour's edge goes into the
            // neighbour too (same land, one vertex more), so every border stays vertex-shared.
            let fresh = sort_anchors(
                changed
                    .iter()
                    .filter_map(|(_, g, _)| g.as_ref())
                    .flat_map(vertices)
                    .collect(),
            );
            let touched: BTreeSet<usize> = changed.iter().map(|(i, _, _)| *i).collect();
            for (k, a) in s.areas.iter().enumerate() {
                if touched.contains(&k) {
                    continue;
                }
                let Some(g) = &a.geometry else { continue };
                if !bbox(g).is_some_and(|ab| boxes.iter().any(|&b| boxes_meet(ab, b, 1.0))) {
                    continue;
                }
                let g2 = insert_on_edges(g.clone(), &fresh);
                if &g2 != g {
                    changed.push((k, Some(g2), None));
                }
            }
            changed
        };
        // Old bounding boxes (new areas: their new one).
        let mut old_boxes = Vec::new();
        for (idx, g, _) in &changed {
            let b = if *idx < n_before {
                s.areas[*idx].geometry.as_ref().and_then(bbox)
            } else {
                g.as_ref().and_then(bbox)
            };
            old_boxes.push(b.unwrap_or(([0.0, 0.0], [0.0, 0.0])));
        }
        let old_area_m2: f64 = changed
            .iter()
            .filter(|(i, _, _)| *i < n_before)
            .filter_map(|(i, _, _)| s.areas[*i].geometry.as_ref())
            .map(|g| g.unsigned_area())
            .sum();
        let new_area_m2: f64 = changed
            .iter()
            .filter_map(|(_, g, _)| g.as_ref())
            .map(|g| g.unsigned_area())
            .sum();
        // Append new areas.
        for (id, name) in new_ids {
            s.areas.push(Area {
                id,
                name,
                parent: None,
                geometry: None,
                attributes: BTreeMap::new(),
            });
        }
        let n = s.areas.len();
        let nc = self.points.columns.len();
        let ncat = self.facilities.len();
        s.finest.sums.resize(n * nc, 0);
        s.finest.facilities.resize(
            n * ncat,
            FacilityStats {
                count: 0,
                capacity: 0.0,
            },
        );
        for (idx, g, name) in &changed {
            if let Some(name) = name {
                s.areas[*idx].name = name.clone();
            }
            s.areas[*idx].geometry = g.clone();
        }
        let spec: Vec<(u32, Option<&MultiPolygon<f64>>)> = changed
            .iter()
            .map(|(i, g, _)| (*i as u32, g.as_ref()))
            .collect();
        let re = redefine::reassign(
            &self.grid,
            &self.points.x,
            &self.points.y,
            &s.assignment,
            &spec,
            &old_boxes,
        );
        let cols = self.column_refs();
        for d in &re.deltas {
            let p = d.point as usize;
            for (j, col) in cols.iter().enumerate() {
                let v = u64::from(col[p]);
                if d.from != OUTSIDE {
                    s.finest.sums[d.from as usize * nc + j] -= v;
                }
                if d.to != OUTSIDE {
                    s.finest.sums[d.to as usize * nc + j] += v;
                }
            }
            s.assignment[p] = d.to;
        }
        for (c, (fac, grid)) in self.facilities.iter().zip(&self.fac_grids).enumerate() {
            let fre = redefine::reassign(
                grid,
                &fac.x,
                &fac.y,
                &s.fac_assignment[c],
                &spec,
                &old_boxes,
            );
            for d in &fre.deltas {
                let i = d.point as usize;
                let cap = fac.capacity.get(i).copied().flatten().unwrap_or(0.0);
                if d.from != OUTSIDE {
                    let st = &mut s.finest.facilities[d.from as usize * ncat + c];
                    st.count -= 1;
                    st.capacity -= cap;
                }
                if d.to != OUTSIDE {
                    let st = &mut s.finest.facilities[d.to as usize * ncat + c];
                    st.count += 1;
                    st.capacity += cap;
                }
                s.fac_assignment[c][i] = d.to;
            }
        }
        let mut warnings = Vec::new();
        if !re.gap_points.is_empty() {
            let loc = mean_position(&self.points, &re.gap_points);
            warnings.push(Warning {
                kind: "gap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "{} Adressen liegen nach der Änderung in keinem Gebiet (Lücke).",
                    re.gap_points.len()
                ),
                location: loc,
            });
        }
        if !re.overlap_points.is_empty() {
            warnings.push(Warning {
                kind: "overlap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "{} Adressen liegen in zwei Gebieten (Überlappung); sie bleiben beim bisherigen Gebiet.",
                    re.overlap_points.len()
                ),
                location: mean_position(&self.points, &re.overlap_points),
            });
        }
        if (new_area_m2 - old_area_m2).abs() > MIN_AREA_M2.max(old_area_m2 * 2e-6) {
            warnings.push(Warning {
                kind: "gap",
                area: changed
                    .first()
                    .map(|(i, _, _)| s.areas[*i].id.clone())
                    .unwrap_or_default(),
                message: format!(
                    "Die Gesamtfläche der geänderten Gebiete ändert sich um {:.0} m² – Lücke oder Überlappung mit Nachbargebieten.",
                    new_area_m2 - old_area_m2
                ),
                location: None,
            });
        }
        // Ids before removal: swap-removes move indices.
        let vertices_added: Vec<String> = changed[n_requested..]
            .iter()
            .map(|(i, _, _)| s.areas[*i].id.clone())
            .collect();
        let mut changed_ids: Vec<String> = changed[..n_requested]
            .iter()
            .filter(|(_, g, _)| g.is_some())
            .map(|(i, _, _)| s.areas[*i].id.clone())
            .collect();
        s.touched.extend(changed_ids.iter().cloned());
        changed_ids.sort();
        changed_ids.dedup();
        // Removed areas: drop them (swap-remove, remapping the last index).
        let mut removed_idx: Vec<usize> = changed
            .iter()
            .filter(|(_, g, _)| g.is_none())
            .map(|(i, _, _)| *i)
            .collect();
        removed_idx.sort_unstable_by(|a, b| b.cmp(a));
        let mut removed = Vec::new();
        for r in removed_idx {
            removed.push(s.areas[r].id.clone());
            s.touched.remove(&s.areas[r].id);
            self.remove_area(s, r);
        }
        s.operations.push(label);
        let (result, estimated) = self.session_result(s)?;
        // Differencing guard for the changed areas against every version.
        warnings.extend(self.guard_session(s, &changed_ids));
        Ok(OpOutcome {
            changed: changed_ids,
            removed,
            vertices_added,
            warnings,
            result,
            estimated,
        })
    }

    /// Vertices of the session's areas whose boxes meet any of `boxes` (1 m margin), sorted by x.
    fn anchors_near(&self, s: &Session, boxes: &[([f64; 2], [f64; 2])]) -> Vec<geo::Coord<f64>> {
        let mut anchors = Vec::new();
        for g in s.areas.iter().filter_map(|a| a.geometry.as_ref()) {
            if bbox(g).is_some_and(|ab| boxes.iter().any(|&b| boxes_meet(ab, b, 1.0))) {
                anchors.extend(vertices(g));
            }
        }
        sort_anchors(anchors)
    }

    fn remove_area(&self, s: &mut Session, r: usize) {
        let last = s.areas.len() - 1;
        let nc = self.points.columns.len();
        let ncat = self.facilities.len();
        s.areas.swap_remove(r);
        if r != last {
            for a in s.assignment.iter_mut() {
                if *a as usize == last {
                    *a = r as u32;
                } else if *a as usize == r {
                    *a = OUTSIDE;
                }
            }
            for fa in s.fac_assignment.iter_mut() {
                for a in fa.iter_mut() {
                    if *a as usize == last {
                        *a = r as u32;
                    } else if *a as usize == r {
                        *a = OUTSIDE;
                    }
                }
            }
            for j in 0..nc {
                s.finest.sums[r * nc + j] = s.finest.sums[last * nc + j];
            }
            for c in 0..ncat {
                s.finest.facilities[r * ncat + c] = s.finest.facilities[last * ncat + c];
            }
        } else {
            for a in s.assignment.iter_mut().filter(|a| **a as usize == r) {
                *a = OUTSIDE;
            }
        }
        s.finest.sums.truncate(last * nc);
        s.finest.facilities.truncate(last * ncat);
    }

    /// Guard for a session's changed areas: against every stored version, by the points in
    /// each changed area's box (the rest of the city cannot intersect it).
    fn guard_session(&self, s: &Session, changed: &[String]) -> Vec<Warning> {
        let threshold = self.analysis.disclosure.threshold;
        let mut out = Vec::new();
        let versions = self.list();
        for id in changed {
            let Some(d) = s.areas.iter().position(|a| &a.id == id) else {
                continue;
            };
            let Some(g) = s.areas[d].geometry.as_ref() else {
                continue;
            };
            let Some((min, max)) = bbox(g) else { continue };
            let mut inside = Vec::new();
            self.grid.for_each_in(min, max, |p| {
                if s.assignment[p as usize] as usize == d {
                    inside.push(p);
                }
            });
            let nc = self.points.columns.len();
            let from: Vec<u32> = vec![d as u32; inside.len()];
            for v in &versions {
                // The draft area against the other version's areas, per year of residents:
                // the intersections come from the area's own points, the totals from the sums.
                let to: Vec<u32> = inside.iter().map(|&p| v.assignment[p as usize]).collect();
                let sliver = self
                    .points
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.name == self.cfg.residents_column)
                    .find_map(|(col, c)| {
                        let w: Vec<u32> = inside.iter().map(|&p| c.values[p as usize]).collect();
                        let mut cw = Crosswalk::build(&from, &to, &w, s.areas.len(), v.areas.len());
                        cw.from_total[d] = s.finest.sums[d * nc + col];
                        for (o, t) in cw.to_total.iter_mut().enumerate() {
                            *t = v.finest.sums[o * nc + col];
                        }
                        redefine::differencing_slivers(&cw, threshold)
                            .into_iter()
                            .next()
                            .map(|sl| (sl, c.year))
                    });
                let Some((sl, y)) = sliver else { continue };
                let o = sl.other;
                let pts: Vec<u32> = inside
                    .iter()
                    .copied()
                    .filter(|&p| v.assignment[p as usize] != o)
                    .collect();
                let small = |x: u64| x > 0 && x < threshold;
                out.push(Warning {
                    kind: "sliver",
                    area: id.clone(),
                    message: format!(
                        "Achtung: Differenzbildung möglich – {id} unterscheidet sich von {} ({}) nur um {} Einwohner:innen ({y}). Die Werte werden für die Öffentlichkeit unterdrückt.",
                        v.areas[o as usize].id,
                        v.meta.name,
                        if small(sl.draft_only) { sl.draft_only } else { sl.other_only }
                    ),
                    location: mean_position(&self.points, &pts).or_else(|| {
                        g.0.first()
                            .and_then(|p| p.exterior().0.first().map(|c| (c.x, c.y)))
                    }),
                });
            }
        }
        out
    }

    /// Saves a session as a draft Gebietsstand.
    pub fn save_session(
        &self,
        s: &Session,
        key: &str,
        name: &str,
        valid_from: Option<String>,
        note: String,
        (actor, role): (&str, &str),
    ) -> Result<Arc<Computed>, WsError> {
        let meta = VersionMeta {
            key: key.to_string(),
            name: name.to_string(),
            valid_from,
            source: "Entwurf im Browser".into(),
            lineage: vec![s.base.clone()],
            note,
            status: Status::Draft,
            created_at: now_rfc3339(),
            created_by: actor.to_string(),
            epsg: self.working_epsg,
            n_areas: s.areas.len(),
        };
        let audit = AuditEntry {
            at: meta.created_at.clone(),
            actor: actor.to_string(),
            role: role.to_string(),
            action: "entwurf_speichern".into(),
            target: key.to_string(),
            detail: format!(
                "{} Gebiete aus {}; Operationen: {}",
                s.areas.len(),
                s.base,
                s.operations.join("; ")
            ),
        };
        self.import(meta, s.areas.clone(), audit)
    }

    // ---------------------------------------------------------------------------------------
    // Geometry edits (working CRS)

    /// Splits area `id` by polygon `by`: `id-1` inside, `id-2` outside.
    pub fn op_split(
        &self,
        s: &mut Session,
        id: &str,
        by: &MultiPolygon<f64>,
    ) -> Result<OpOutcome, WsError> {
        let i = find(s, id)?;
        let g = s.areas[i]
            .geometry
            .clone()
            .unwrap_or_else(|| MultiPolygon(vec![]));
        let inside = g.intersection(by);
        let outside = g.difference(by);
        if inside.unsigned_area() < MIN_AREA_M2 || outside.unsigned_area() < MIN_AREA_M2 {
            return Err(WsError::Invalid(format!(
                "Die gezeichnete Fläche muss das Gebiet {id} teilen (sie liegt ganz außerhalb oder deckt es ganz ab)."
            )));
        }
        let id1 = unique_id(s, &format!("{id}-1"));
        let id2 = unique_id(s, &format!("{id}-2"));
        let name = s.areas[i].name.clone();
        // The area keeps its slot as part 1 under the new id; part 2 is appended.
        s.areas[i].id = id1.clone();
        let n = s.areas.len();
        let mut out = self.apply_edit(
            s,
            vec![
                (i, Some(inside), Some(format!("{name} (Teil 1)"))),
                (n, Some(outside), Some(format!("{name} (Teil 2)"))),
            ],
            vec![(id2, format!("{name} (Teil 2)"))],
            format!("{id} geteilt"),
            CUT_SNAP_M,
        )?;
        out.removed.push(id.to_string());
        Ok(out)
    }

    /// Merges areas into the first.
    pub fn op_merge(&self, s: &mut Session, ids: &[String]) -> Result<OpOutcome, WsError> {
        if ids.len() < 2 {
            return Err(WsError::Invalid(
                "Zum Zusammenlegen mindestens zwei Gebiete wählen.".into(),
            ));
        }
        let idx: Vec<usize> = ids.iter().map(|id| find(s, id)).collect::<Result<_, _>>()?;
        let mut u = s.areas[idx[0]]
            .geometry
            .clone()
            .unwrap_or_else(|| MultiPolygon(vec![]));
        for &i in &idx[1..] {
            if let Some(g) = &s.areas[i].geometry {
                u = u.union(g);
            }
        }
        // "X (Teil 1)" + "X (Teil 2)" → "X".
        let first = s.areas[idx[0]].name.clone();
        let name = match first.rsplit_once(" (Teil ") {
            Some((stem, rest)) if rest.ends_with(')') => stem.to_string(),
            _ => first,
        };
        let mut changed = vec![(idx[0], Some(u), Some(name))];
        for &i in &idx[1..] {
            changed.push((i, None, None));
        }
        self.apply_edit(
            s,
            changed,
            Vec::new(),
            format!("{} zusammengelegt", ids.join("+")),
            CUT_SNAP_M,
        )
    }

    /// Replaces geometries (vertex moves; the client moves shared vertices in every area).
    pub fn op_reshape(
        &self,
        s: &mut Session,
        geoms: Vec<(String, MultiPolygon<f64>)>,
    ) -> Result<OpOutcome, WsError> {
        let mut changed = Vec::new();
        for (id, g) in geoms {
            let i = find(s, &id)?;
            if g.unsigned_area() < MIN_AREA_M2 {
                return Err(WsError::Invalid(format!(
                    "Gebiet {id}: die neue Geometrie hat keine Fläche."
                )));
            }
            changed.push((i, Some(g), None));
        }
        let label = format!(
            "Grenze geändert: {}",
            changed
                .iter()
                .map(|(i, _, _)| s.areas[*i].id.clone())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Vertices sent back by the browser (rounded to ~1 cm in WGS 84) snap to the existing
        // vertex they stand for, so only the vertices really moved change.
        self.apply_edit(s, changed, Vec::new(), label, SNAP_M)
    }

    /// A new area drawn over existing ones: it takes its territory from them.
    pub fn op_draw(
        &self,
        s: &mut Session,
        by: &MultiPolygon<f64>,
        name: Option<String>,
    ) -> Result<OpOutcome, WsError> {
        let Some(drawn) = bbox(by) else {
            return Err(WsError::Invalid("leere Geometrie".into()));
        };
        let mut changed = Vec::new();
        let mut taken = MultiPolygon::<f64>(vec![]);
        for (i, a) in s.areas.iter().enumerate() {
            let Some(g) = &a.geometry else { continue };
            if !bbox(g).is_some_and(|ab| boxes_meet(ab, drawn, 0.0)) {
                continue;
            }
            let part = g.intersection(by);
            if part.unsigned_area() < MIN_AREA_M2 {
                continue;
            }
            taken = taken.union(&part);
            let rest = g.difference(by);
            changed.push((
                i,
                if rest.unsigned_area() < MIN_AREA_M2 {
                    None
                } else {
                    Some(rest)
                },
                None,
            ));
        }
        if taken.unsigned_area() < MIN_AREA_M2 {
            return Err(WsError::Invalid(
                "Das gezeichnete Gebiet liegt außerhalb aller Gebiete.".into(),
            ));
        }
        let n = s.areas.len();
        let id = unique_id(s, "neu-1");
        let name = name.unwrap_or_else(|| format!("Neues Gebiet {id}"));
        changed.push((n, Some(taken), Some(name.clone())));
        self.apply_edit(
            s,
            changed,
            vec![(id.clone(), name)],
            format!("{id} gezeichnet"),
            CUT_SNAP_M,
        )
    }

    /// Parses a GeoJSON (Multi)Polygon in WGS 84 into the working CRS.
    pub fn geometry_from_geojson(&self, v: &Value) -> Result<MultiPolygon<f64>, WsError> {
        let t = v.get("type").and_then(Value::as_str).unwrap_or("");
        let coords = v
            .get("coordinates")
            .ok_or_else(|| WsError::Invalid("geometry: 'coordinates' fehlt".into()))?;
        let ring = |r: &Value| -> Result<geo::LineString<f64>, WsError> {
            let pts = r
                .as_array()
                .ok_or_else(|| WsError::Invalid("geometry: ein Ring ist keine Liste".into()))?;
            let mut out = Vec::with_capacity(pts.len());
            for (k, p) in pts.iter().enumerate() {
                let (Some(lon), Some(lat)) = (
                    p.get(0).and_then(Value::as_f64),
                    p.get(1).and_then(Value::as_f64),
                ) else {
                    return Err(WsError::Invalid(format!(
                        "geometry: Punkt {} ist keine Koordinate",
                        k + 1
                    )));
                };
                if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                    return Err(WsError::Invalid(format!(
                        "geometry: Punkt {} ({lon}, {lat}) ist keine Länge/Breite (EPSG:4326 erwartet)",
                        k + 1
                    )));
                }
                let (x, y) = self
                    .projector
                    .wgs84_to_working(lon, lat)
                    .map_err(|e| WsError::Invalid(format!("geometry: Punkt {}: {e}", k + 1)))?;
                out.push(geo::Coord { x, y });
            }
            if out.len() < 4 {
                return Err(WsError::Invalid(
                    "geometry: ein Ring braucht mindestens 4 Punkte".into(),
                ));
            }
            Ok(geo::LineString(out))
        };
        let poly = |p: &Value| -> Result<Polygon<f64>, WsError> {
            let rings = p
                .as_array()
                .ok_or_else(|| WsError::Invalid("geometry: Polygon ohne Ringe".into()))?;
            let mut it = rings.iter();
            let ext = ring(
                it.next()
                    .ok_or_else(|| WsError::Invalid("geometry: Polygon ohne Ringe".into()))?,
            )?;
            let holes = it.map(ring).collect::<Result<Vec<_>, _>>()?;
            Ok(Polygon::new(ext, holes))
        };
        let mp = match t {
            "Polygon" => MultiPolygon(vec![poly(coords)?]),
            "MultiPolygon" => MultiPolygon(
                coords
                    .as_array()
                    .ok_or_else(|| WsError::Invalid("geometry: MultiPolygon ohne Polygone".into()))?
                    .iter()
                    .map(poly)
                    .collect::<Result<_, _>>()?,
            ),
            other => {
                return Err(WsError::Invalid(format!(
                    "geometry: Polygon oder MultiPolygon erwartet, nicht {other:?}"
                )));
            }
        };
        Ok(mp)
    }

    /// A geometry a client sent for a draft operation: parsed like [`Self::geometry_from_geojson`],
    /// then refused unless its rings are simple and it has at most [`MAX_DRAFT_VERTICES`]
    /// vertices — the overlays that follow would otherwise run for minutes on a ring that crosses
    /// itself.
    pub fn draft_geometry(&self, v: &Value) -> Result<MultiPolygon<f64>, WsError> {
        use kleinraum_aggregate::simple::{RingProblem, check_simple};
        let g = self.geometry_from_geojson(v)?;
        check_simple(&g, MAX_DRAFT_VERTICES, DRAFT_CHECK_BUDGET).map_err(|e| {
            WsError::Invalid(match e {
                RingProblem::SelfIntersection { x, y, .. } => {
                    let at = self
                        .projector
                        .working_to_wgs84(x, y)
                        .map(|(lon, lat)| format!(" (bei {lat:.5} N, {lon:.5} O)"))
                        .unwrap_or_default();
                    format!("Die Fläche schneidet oder berührt sich selbst{at}; bitte ohne Überkreuzung zeichnen.")
                }
                RingProblem::TooManyVertices { count, max } => format!(
                    "Die Fläche hat {count} Stützpunkte; höchstens {max} sind möglich."
                ),
                RingProblem::TooComplex(_) => {
                    "Die Fläche ist zu verwinkelt, um sie zu prüfen; bitte vereinfachen.".into()
                }
            })
        })?;
        Ok(g)
    }

    /// Renders a working-CRS geometry as GeoJSON in WGS 84 (7 decimals ≈ 1 cm).
    pub fn geometry_to_geojson(&self, mp: &MultiPolygon<f64>) -> Value {
        let r7 = |v: f64| (v * 1e7).round() / 1e7;
        let ring = |ls: &geo::LineString<f64>| -> Value {
            Value::Array(
                ls.0.iter()
                    .filter_map(|c| self.projector.working_to_wgs84(c.x, c.y).ok())
                    .map(|(lon, lat)| json!([r7(lon), r7(lat)]))
                    .collect(),
            )
        };
        let polys: Vec<Value> =
            mp.0.iter()
                .map(|p| {
                    let mut rings = vec![ring(p.exterior())];
                    rings.extend(p.interiors().iter().map(ring));
                    Value::Array(rings)
                })
                .collect();
        json!({"type": "MultiPolygon", "coordinates": polys})
    }

    /// Public suppression for a version's area: the guard found a sliver.
    pub fn guarded_areas(&self, key: &str) -> BTreeSet<String> {
        self.guard(key).iter().map(|w| w.area.clone()).collect()
    }

    /// A crosswalk between two versions weighted by one year's residents.
    pub fn crosswalk(&self, a: &Computed, b: &Computed, year: i32) -> Crosswalk {
        let w = self.residents_near(year);
        Crosswalk::build(
            &a.assignment,
            &b.assignment,
            w,
            a.areas.len(),
            b.areas.len(),
        )
    }

    /// Flag of a count cell: is it published?
    pub fn published(flag: CountFlag) -> bool {
        matches!(flag, CountFlag::Published)
    }
}

/// Adds to `out` the areas of assignment `a` that hold exactly the points of one area of
/// assignment `b` (one linear pass, no hashing: it runs on every guard refresh).
fn copies_of(a: &[u32], b: &[u32], n_a: usize, n_b: usize, out: &mut BTreeSet<u32>) {
    let mut cand: Vec<Option<u32>> = vec![None; n_a];
    let mut mixed = vec![false; n_a];
    let mut count_a = vec![0u32; n_a];
    let mut count_b = vec![0u32; n_b];
    for (&d, &o) in a.iter().zip(b) {
        if (o as usize) < n_b {
            count_b[o as usize] += 1;
        }
        let d = d as usize;
        if d >= n_a {
            continue;
        }
        count_a[d] += 1;
        if (o as usize) >= n_b || cand[d].is_some_and(|c| c != o) {
            mixed[d] = true;
        }
        cand[d] = Some(o);
    }
    for d in 0..n_a {
        if let (Some(o), false) = (cand[d], mixed[d])
            && count_b[o as usize] == count_a[d]
        {
            out.insert(d as u32);
        }
    }
}

fn find(s: &Session, id: &str) -> Result<usize, WsError> {
    s.areas
        .iter()
        .position(|a| a.id == id)
        .ok_or_else(|| WsError::NotFound(format!("Gebiet {id} ist nicht im Entwurf")))
}

fn unique_id(s: &Session, want: &str) -> String {
    if !s.areas.iter().any(|a| a.id == want) {
        return want.to_string();
    }
    let stem = want.rsplit_once('-').map_or(want, |(a, _)| a);
    (1..)
        .map(|k| format!("{stem}-{k}"))
        .find(|c| !s.areas.iter().any(|a| &a.id == c))
        .unwrap_or_else(|| want.to_string())
}

fn mean_position(points: &PointLayer, idx: &[u32]) -> Option<(f64, f64)> {
    if idx.is_empty() {
        return None;
    }
    let n = idx.len() as f64;
    let (sx, sy) = idx.iter().fold((0.0, 0.0), |(sx, sy), &p| {
        (sx + points.x[p as usize], sy + points.y[p as usize])
    });
    Some((sx / n, sy / n))
}

fn to_stored(areas: &[Area]) -> Result<Vec<StoredArea>, WsError> {
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
                    .ok_or_else(|| WsError::Invalid(format!("Gebiet {}: keine Geometrie", a.id)))?,
            })
        })
        .collect()
}

/// Assigns several point layers with one polygon index (the rule of
/// [`aggregate::assign_points`]: where areas overlap, the lowest id wins).
fn assign_layers(areas: &[Area], layers: &[(&[f64], &[f64])]) -> Result<Vec<Vec<u32>>, WsError> {
    let mut order: Vec<usize> = (0..areas.len()).collect();
    order.sort_by(|&a, &b| areas[a].id.cmp(&areas[b].id));
    let polys = order
        .iter()
        .map(|&i| {
            areas[i]
                .geometry
                .clone()
                .ok_or_else(|| WsError::Invalid(format!("Gebiet {}: keine Geometrie", areas[i].id)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let grid = kleinraum_aggregate::spatial::GridIndex::build(&polys);
    Ok(layers
        .iter()
        .map(|(x, y)| {
            grid.assign(x, y)
                .into_iter()
                .map(|k| {
                    if k == OUTSIDE {
                        OUTSIDE
                    } else {
                        order[k as usize] as u32
                    }
                })
                .collect()
        })
        .collect())
}
