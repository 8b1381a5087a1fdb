//! HTTP routes of the Gebietsstände workflow: versions, their areas with statistics, crosswalks
//! and comparisons, draft sessions, uploads, publishing and the audit log.
//!
//! Everything here depends on who asks (drafts, guard warnings), so responses carry
//! `Cache-Control: no-store` and bypass the ETag and gzip caches of the static catalog.

use crate::auth::{AuthError, Caller, Role, Tokens};
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kleinraum_aggregate::model::Area;
use kleinraum_aggregate::result::AggregateResult;
use kleinraum_gebietsstand::compare::{Comparison, area_values};
use kleinraum_gebietsstand::{
    Computed, DraftOp, Error as WsError, GeometryError, SliverWarning, Warning, Workspace,
    now_rfc3339,
};
use kleinraum_store::{AuditEntry, Status, VersionMeta};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Rendered `/gebietsstaende/{key}/areas` bodies: (version, year, view) → the
/// version and guard findings they were rendered from, and the body.
type AreasCache = HashMap<(String, i32, u8), (Arc<Computed>, Arc<Vec<SliverWarning>>, Bytes)>;
/// WGS 84 GeoJSON geometry text of every area, per version (and the version it was made from).
type GeometryCache = HashMap<String, (Arc<Computed>, Arc<Vec<String>>)>;

/// State of the routes.
pub struct RedefineState {
    /// The Gebietsstände.
    pub ws: Workspace,
    /// API tokens.
    pub tokens: Tokens,
    /// Costly work (recomputations, draft operations, renders): bounded and budgeted.
    pub work: crate::work::WorkLimiter,
    /// Area GeoJSON geometries in WGS 84 per version, reprojected once per computed version.
    geometries: Mutex<GeometryCache>,
    areas_cache: Mutex<AreasCache>,
    /// Whether `ws` has computed its versions: the server listens before (they take about a
    /// second on Berlin, the OGC API needs none of them); these routes wait until then.
    ready: tokio::sync::watch::Receiver<Readiness>,
}

/// The state of the versions' computation at start.
#[derive(Clone, Debug, PartialEq)]
pub enum Readiness {
    /// Still computing.
    Computing,
    /// Every version computed.
    Ready,
    /// The computation failed (the message names the version and the cause).
    Failed(String),
}

/// Reports the end of the versions' computation to the routes (see [`RedefineState::computing`]).
/// Dropped without [`ReadySignal::done`] (the computing thread panicked), the routes answer 503.
pub struct ReadySignal(tokio::sync::watch::Sender<Readiness>);

impl ReadySignal {
    /// The versions are computed (`Ok`) or cannot be (`Err` with the reason). Logged as
    /// "Gebietsstände ready" or "Gebietsstände failed" (scripts and tests wait for the line).
    pub fn done(self, result: Result<(), String>) {
        let r = match result {
            Ok(()) => {
                tracing::info!("Gebietsstände ready");
                Readiness::Ready
            }
            Err(e) => {
                tracing::error!("Gebietsstände failed; their routes answer 503: {e}");
                Readiness::Failed(e)
            }
        };
        // No receiver left means the server has shut down: nobody to tell.
        let _ = self.0.send(r);
    }
}

impl RedefineState {
    /// The routes' state, on a workspace whose versions are computed.
    pub fn new(ws: Workspace, tokens: Tokens, work: crate::work::WorkLimiter) -> Self {
        let (tx, state) = Self::computing(ws, tokens, work);
        tx.done(Ok(()));
        state
    }

    /// The routes' state on a workspace still computing its versions: the routes wait for the
    /// signal's [`ReadySignal::done`].
    pub fn computing(
        ws: Workspace,
        tokens: Tokens,
        work: crate::work::WorkLimiter,
    ) -> (ReadySignal, Self) {
        let (tx, ready) = tokio::sync::watch::channel(Readiness::Computing);
        let state = Self {
            ws,
            tokens,
            work,
            geometries: Mutex::new(HashMap::new()),
            areas_cache: Mutex::new(HashMap::new()),
            ready,
        };
        (ReadySignal(tx), state)
    }

    /// The state of the versions' computation now.
    pub fn readiness(&self) -> Readiness {
        self.ready.borrow().clone()
    }

    /// The WGS 84 GeoJSON geometry text of every area of `c`, rendered once per version (the
    /// reprojection happened when the version was computed).
    fn geometries_of(&self, c: &Arc<Computed>) -> Arc<Vec<String>> {
        let mut m = self.geometries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, g)) = m.get(&c.meta.key)
            && Arc::ptr_eq(cached, c)
        {
            return g.clone();
        }
        let g: Arc<Vec<String>> = Arc::new(
            c.wgs84
                .iter()
                .map(|g| g.as_ref().map_or_else(|| "null".to_string(), wgs84_text))
                .collect(),
        );
        m.insert(c.meta.key.clone(), (c.clone(), g.clone()));
        g
    }
}

/// Errors of this module as problem documents.
#[derive(Debug)]
pub enum RouteError {
    /// Auth.
    Auth(AuthError),
    /// Workspace.
    Ws(WsError),
    /// Bad request.
    Bad(String),
    /// An error of the shared API layer (busy, too expensive, internal).
    Api(ApiError),
}

impl From<ApiError> for RouteError {
    fn from(e: ApiError) -> Self {
        RouteError::Api(e)
    }
}

impl From<AuthError> for RouteError {
    fn from(e: AuthError) -> Self {
        RouteError::Auth(e)
    }
}
impl From<WsError> for RouteError {
    fn from(e: WsError) -> Self {
        RouteError::Ws(e)
    }
}

impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        let (status, detail) = match self {
            RouteError::Auth(a) => return a.into_response(),
            RouteError::Api(e) => return e.into_response(),
            RouteError::Bad(m) => (StatusCode::BAD_REQUEST, m),
            RouteError::Ws(e) => {
                use kleinraum_gebietsstand::Error as E;
                let status = match &e {
                    E::UnknownVersion { .. } | E::UnknownSession { .. } | E::UnknownArea { .. } => {
                        StatusCode::NOT_FOUND
                    }
                    E::NoAreas
                    | E::NoGeometry { .. }
                    | E::NoYear { .. }
                    | E::Geometry(_)
                    | E::UnknownWeighting { .. }
                    | E::Edit(_) => StatusCode::BAD_REQUEST,
                    E::Engine(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    E::NoWeights { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                    E::Store(se) => return store_error(se),
                };
                (status, e.to_string())
            }
        };
        crate::error::problem(status, "Redefine", &detail)
    }
}

/// A store failure as an answer: refusals are the client's (the file path is the operator's,
/// so it is cut from the message); a full or read-only disk says what the administration does.
fn store_error(e: &kleinraum_store::StoreError) -> Response {
    use kleinraum_store::StoreError as E;
    if e.is_disk_full() {
        tracing::error!(error = %e, "store: disk full");
        return crate::error::problem(
            StatusCode::INSUFFICIENT_STORAGE,
            "DiskFull",
            "Der Datenträger des Speichers ist voll; nichts wurde geändert. \
             Bitte Speicherplatz freigeben (Administration) und erneut versuchen.",
        );
    }
    if e.is_read_only() {
        tracing::error!(error = %e, "store: read-only");
        return crate::error::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "ReadOnly",
            "Der Speicher ist schreibgeschützt; nichts wurde geändert. \
             Die Administration muss Schreibrechte auf die Datei und ihr Verzeichnis geben.",
        );
    }
    let st = match e {
        E::Exists { .. } | E::NotDraft { .. } | E::Locked { .. } => StatusCode::CONFLICT,
        E::NotFound { .. } => StatusCode::NOT_FOUND,
        E::Invalid { .. } | E::CrsMismatch { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if st == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = %e, "store failure");
        return crate::error::problem(st, "Redefine", "internal error");
    }
    let m = e.to_string();
    let m = match m.split_once(": ") {
        Some((head, rest)) if head.ends_with(".gpkg") => rest.to_string(),
        _ => m,
    };
    crate::error::problem(st, "Redefine", &m)
}

type R = Result<Response, RouteError>;

/// The routes (merged into the app by [`crate::app_with`]).
pub fn router(state: Arc<RedefineState>) -> Router {
    use axum::extract::DefaultBodyLimit;
    Router::new()
        .route("/auth", get(whoami))
        // Boundary uploads are whole GeoJSON files (Berlin's 542 PLR in WGS 84: 5.6 MB).
        .route(
            "/gebietsstaende",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/gebietsstaende/{key}", axum::routing::delete(delete_draft))
        .route("/gebietsstaende/{key}/areas", get(areas))
        .route("/gebietsstaende/{key}/veroeffentlichen", post(publish))
        .route("/gebietsstaende/{a}/vergleich/{b}", get(compare))
        .route("/gebietsstaende/{a}/crosswalk/{b}", get(crosswalk))
        .route("/entwurf", post(start))
        .route(
            "/entwurf/{id}/operation",
            post(operation).layer(DefaultBodyLimit::max(OPERATION_LIMIT)),
        )
        .route("/entwurf/{id}/areas", get(session_areas))
        .route("/entwurf/{id}/speichern", post(save))
        .route("/audit", get(audit))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            when_ready,
        ))
        // Every write needs a planner's token, checked before a byte of the body is read (and
        // before waiting for the versions): an anonymous client cannot make the server buffer
        // megabytes.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            writers_only,
        ))
        .layer(axum::middleware::map_response(
            |mut r: Response| async move {
                r.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            },
        ))
        // Everything else is small JSON (start, save).
        .layer(DefaultBodyLimit::max(SMALL_LIMIT))
        .with_state(state)
}

/// Largest accepted upload (a boundary file; planners only).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
/// Largest accepted draft operation (a drawn or reshaped geometry).
pub const OPERATION_LIMIT: usize = 4 * 1024 * 1024;
/// Largest accepted body of the other writes.
pub const SMALL_LIMIT: usize = 64 * 1024;

/// Middleware: waits until the versions are computed, at most as long as a request waits for
/// a slot of costly work (then 503 with `Retry-After`, like a busy server); if they could not
/// be computed, says why.
async fn when_ready(
    State(st): State<Arc<RedefineState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut rx = st.ready.clone();
    // No `watch::Ref` may live across the await below (it is not `Send`): cloned out here.
    let state = match tokio::time::timeout(
        st.work.queue_timeout,
        rx.wait_for(|r| *r != Readiness::Computing),
    )
    .await
    {
        Err(_) => {
            return ApiError::Busy(
                "Die Gebietsstände werden nach dem Start des Servers noch berechnet; bitte in einigen Sekunden erneut versuchen"
                    .into(),
            )
            .into_response();
        }
        Ok(Ok(r)) => Ok(r.clone()),
        Ok(Err(e)) => Err(e),
    };
    match state {
        Ok(Readiness::Ready) => next.run(req).await,
        Ok(Readiness::Failed(why)) => crate::error::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Redefine",
            &format!("Die Gebietsstände konnten beim Start nicht berechnet werden: {why}"),
        ),
        _ => crate::error::problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Redefine",
            "Die Gebietsstände konnten beim Start nicht berechnet werden (unerwarteter Abbruch; siehe Server-Log)",
        ),
    }
}

/// Middleware: writes (anything but GET/HEAD) need at least a planner's token.
async fn writers_only(
    State(st): State<Arc<RedefineState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let read = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if !read && let Err(e) = st.tokens.require(req.headers(), Role::Planner) {
        return e.into_response();
    }
    next.run(req).await
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn ok(v: Value) -> R {
    Ok(json_response(StatusCode::OK, &v))
}

/// Runs costly work through the shared [`crate::work::WorkLimiter`].
async fn blocking<T: Send + 'static>(
    work: crate::work::WorkLimiter,
    f: impl FnOnce() -> Result<T, RouteError> + Send + 'static,
) -> Result<T, RouteError> {
    work.run(move |_deadline| f()).await
}

fn audit_entry(caller: &Caller, action: &str, target: &str, detail: String) -> AuditEntry {
    AuditEntry {
        at: now_rfc3339(),
        actor: caller.actor(),
        role: caller.role.as_str().into(),
        action: action.into(),
        target: target.into(),
        detail,
    }
}

fn status_str(s: &Status) -> &'static str {
    match s {
        Status::Published => "published",
        Status::Draft => "draft",
    }
}

/// A version is visible to the caller: published to all, drafts to viewer+.
fn visible(c: &Computed, caller: &Caller) -> bool {
    matches!(c.meta.status, Status::Published) || caller.role >= Role::Viewer
}

fn get_visible(
    st: &RedefineState,
    key: &str,
    caller: &Caller,
) -> Result<Arc<Computed>, RouteError> {
    st.ws
        .get(key)
        .filter(|c| visible(c, caller))
        .ok_or_else(|| {
            RouteError::Ws(WsError::UnknownVersion {
                key: key.to_string(),
            })
        })
}

/// A version's metadata. The public sees no server paths (only a source's file name) and no
/// token holder names: both describe the installation and its staff, not the data.
fn meta_json(m: &VersionMeta, base: &str, role: Role) -> Value {
    let internal = role >= Role::Viewer;
    let source = if internal {
        m.source.clone()
    } else {
        m.source
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .to_string()
    };
    json!({
        "key": m.key, "name": m.name, "valid_from": m.valid_from, "source": source,
        "lineage": m.lineage, "note": m.note, "status": status_str(&m.status),
        "created_at": m.created_at,
        "created_by": if internal { json!(m.created_by) } else { Value::Null },
        "n_areas": m.n_areas,
        "base": m.key == base,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearQ {
    year: Option<i32>,
    f: Option<String>,
}

async fn whoami(State(st): State<Arc<RedefineState>>, headers: HeaderMap) -> R {
    let c = st.tokens.caller(&headers)?;
    ok(json!({"role": c.role.as_str(), "name": c.name}))
}

async fn list(State(st): State<Arc<RedefineState>>, headers: HeaderMap) -> R {
    let c = st.tokens.caller(&headers)?;
    let base = st.ws.cfg.base_key.clone();
    let versions: Vec<Value> = st
        .ws
        .list()
        .iter()
        .filter(|v| visible(v, &c))
        .map(|v| meta_json(&v.meta, &base, c.role))
        .collect();
    let inds: Vec<Value> = st
        .ws
        .analysis()
        .indicators
        .iter()
        .map(|i| json!({"id": i.id, "title": i.title, "unit": i.unit}))
        .collect();
    let index_years: BTreeSet<i32> = st
        .ws
        .analysis()
        .indices
        .iter()
        .flat_map(|i| i.years.iter().copied())
        .collect();
    ok(json!({
        "base": base, "years": st.ws.years(), "index_years": index_years,
        "indicators": inds, "gebietsstaende": versions,
        "weighting": {"key": st.ws.weighting().key(), "label": st.ws.weighting().label()},
    }))
}

fn default_year(ws: &Workspace, year: Option<i32>) -> Result<i32, RouteError> {
    Ok(ws.year_or_latest(year)?)
}

/// The `properties` of area `i` of a version or draft in `year`; values withheld when
/// `suppress`.
#[expect(
    clippy::too_many_arguments,
    reason = "one feature's properties need every part of its version"
)]
fn feature_props(
    areas: &[Area],
    result: &AggregateResult,
    estimated: &[String],
    weighting: Option<&str>,
    i: usize,
    year: i32,
    suppress: bool,
    warnings: &[String],
) -> Value {
    let a = &areas[i];
    let v = area_values(result, i, year);
    let (residents, values, sc, dc, group, attention) = match (&v, suppress) {
        (Some(v), false) => (
            json!(v.residents),
            json!(v.values),
            json!(v.status_class),
            json!(v.dynamics_class),
            json!(v.group),
            v.attention,
        ),
        (Some(v), true) => (
            Value::Null,
            Value::Object(v.values.keys().map(|k| (k.clone(), Value::Null)).collect()),
            Value::Null,
            Value::Null,
            Value::Null,
            false,
        ),
        (None, _) => (
            Value::Null,
            json!({}),
            Value::Null,
            Value::Null,
            Value::Null,
            false,
        ),
    };
    json!({
        "id": a.id, "name": a.name, "year": year, "residents": residents,
        "status_class": sc, "dynamics_class": dc, "group": group, "attention": attention,
        "values": values, "estimated": estimated,
        // Every estimated value says how it was estimated.
        "weighting": if estimated.is_empty() { None } else { weighting },
        "suppressed": suppress,
        "warnings": warnings,
    })
}

/// A GeoJSON feature as text, around a pre-rendered geometry.
fn feature_text(out: &mut String, id: &str, geometry: &str, props: &Value) {
    out.push_str("{\"type\":\"Feature\",\"id\":");
    out.push_str(&Value::String(id.to_string()).to_string());
    out.push_str(",\"geometry\":");
    out.push_str(geometry);
    out.push_str(",\"properties\":");
    out.push_str(&props.to_string());
    out.push('}');
}

/// A feature of a draft session (geometry rendered on the spot: only edited areas); values
/// withheld when `suppress`.
#[expect(clippy::too_many_arguments, reason = "one call shape, four call sites")]
fn session_feature(
    ws: &Workspace,
    areas: &[Area],
    result: &AggregateResult,
    estimated: &[String],
    i: usize,
    year: i32,
    warnings: &[String],
    suppress: bool,
) -> Value {
    let a = &areas[i];
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": a
            .geometry
            .as_ref()
            .and_then(|g| ws.to_wgs84(g))
            .and_then(|g| serde_json::from_str::<Value>(&wgs84_text(&g)).ok())
            .unwrap_or(Value::Null),
        "properties": feature_props(
            areas,
            result,
            estimated,
            Some(&ws.weighting().label()),
            i,
            year,
            suppress,
            warnings
        ),
    })
}

/// `GET /gebietsstaende/{key}/areas`: rendered once per version, year and view (public or
/// planner), then served from memory until the version or its guard findings change.
async fn areas(
    State(st): State<Arc<RedefineState>>,
    Path(key): Path<String>,
    Query(q): Query<YearQ>,
    headers: HeaderMap,
) -> R {
    let caller = st.tokens.caller(&headers)?;
    blocking(st.work.clone(), move || {
        let c = get_visible(&st, &key, &caller)?;
        let year = default_year(&st.ws, q.year)?;
        let guard = st.ws.guard(&key);
        let planner = caller.role >= Role::Planner;
        let analyst = caller.role >= Role::Statistik;
        let view = u8::from(planner) + u8::from(analyst);
        let ck = (key.clone(), year, view);
        if let Some((cc, cg, body)) = st
            .areas_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&ck)
            && Arc::ptr_eq(cc, &c)
            && Arc::ptr_eq(cg, &guard)
        {
            return Ok(json_bytes(body.clone()));
        }
        let mut by_area: HashMap<&str, Vec<String>> = HashMap::new();
        for w in guard.iter() {
            by_area.entry(w.area.as_str()).or_default().push(format!(
                "Differenzbildung möglich gegenüber {} ({}): {} / {} ({}, {})",
                w.other_area, w.other_version, w.only_here, w.only_there, w.column, w.year
            ));
        }
        let small = st.ws.small_areas(&c.meta.key, &c.areas, &c.finest);
        let min_pop = st.ws.analysis().disclosure.min_population;
        for id in &small {
            by_area.entry(id.as_str()).or_default().push(format!(
                "Weniger als {min_pop} Einwohner:innen: keine Werte außerhalb der Statistikstelle"
            ));
        }
        let geoms = st.geometries_of(&c);
        let mut out = String::with_capacity(geoms.iter().map(|g| g.len() + 512).sum());
        let _ = write!(
            out,
            "{{\"type\":\"FeatureCollection\",\"gebietsstand\":{},\"year\":{year},\"numberReturned\":{},\"features\":[",
            meta_json(&c.meta, &st.ws.cfg.base_key, caller.role),
            c.areas.len()
        );
        for i in 0..c.areas.len() {
            let id = c.areas[i].id.as_str();
            let warn = by_area.get(id).cloned().unwrap_or_default();
            let suppress = !warn.is_empty() && !analyst;
            // The public learns that a value is withheld, not why in detail.
            let shown = if planner {
                warn
            } else if suppress {
                vec!["Werte zum Schutz vor Rückrechnung kleiner Zahlen zurückgehalten".into()]
            } else {
                vec![]
            };
            if i > 0 {
                out.push(',');
            }
            let weighting = c.weighting.as_ref().map(|w| w.label());
            let props = feature_props(
                &c.areas,
                &c.result,
                &c.estimated,
                weighting.as_deref(),
                i,
                year,
                suppress,
                &shown,
            );
            feature_text(&mut out, id, &geoms[i], &props);
        }
        out.push_str("]}");
        let body = Bytes::from(out);
        st.areas_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ck, (c.clone(), guard.clone(), body.clone()));
        Ok(json_bytes(body))
    })
    .await
}

/// A WGS 84 geometry as GeoJSON text (7 decimals ≈ 1 cm), with the catalog's writer.
fn wgs84_text(mp: &geo::MultiPolygon<f64>) -> String {
    crate::catalog::render_geometry(&geo::Geometry::MultiPolygon(mp.clone()), 7, false)
}

fn json_bytes(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The comparison report of two versions as the API publishes it (see the API description).
/// Rows the differencing guard withholds lose their values unless `planner`; shares of
/// residents go to viewers and above only (with public totals they would reveal small
/// intersections), and not where the guard withholds an area (an exact ratio like 1/1870 gives
/// both counts back).
pub fn comparison_json(
    a: &Computed,
    b: &Computed,
    cmp: &Comparison,
    planner: bool,
    show_shares: bool,
    threshold: u64,
) -> Value {
    let (rows_hit, cols_hit) = cmp.hidden_lines(a, b, threshold);
    let rows: Vec<Value> = cmp
        .rows
        .iter()
        .map(|r| {
            let area = &b.areas[r.area];
            let hide = r.withheld;
            let predecessors: Vec<Value> = r
                .predecessors
                .iter()
                .map(|p| {
                    let pa = &a.areas[p.area];
                    let shown = show_shares
                        && (planner
                            || (!hide
                                && !cmp.withheld_from.contains(&pa.id)
                                && !rows_hit.contains(&(p.area as u32))
                                && !cols_hit.contains(&(r.area as u32))));
                    json!({"id": pa.id, "name": pa.name,
                           "share": if shown { json!(p.share) } else { Value::Null }})
                })
                .collect();
            let mut values = serde_json::Map::new();
            if let (Some(n), false) = (&r.new, hide) {
                for (k, v) in &n.values {
                    let o = r
                        .old
                        .as_ref()
                        .and_then(|o| o.values.get(k).copied().flatten());
                    values.insert(k.clone(), json!({"old": o, "new": v}));
                }
            }
            let shown = |v: Value| if hide { Value::Null } else { v };
            json!({
                "id": area.id, "name": area.name, "predecessors": predecessors,
                "residents_old": shown(json!(r.old.as_ref().and_then(|v| v.residents))),
                "residents_new": shown(json!(r.new.as_ref().and_then(|v| v.residents))),
                "values": values,
                "class_old": shown(json!(r.class_old)),
                "class_new": shown(json!(r.class_new)),
                "geometry_changed": r.geometry_changed,
                "boundary_effect": r.boundary_effect, "real_change": r.real_change,
                "change": r.change.label(),
                "suppressed": hide,
            })
        })
        .collect();
    let cw = &cmp.crosswalk;
    let cells: Vec<Value> = if planner {
        cw.cells
            .iter()
            .map(|c| json!({"from": a.areas[c.from as usize].id, "to": b.areas[c.to as usize].id,
                            "residents": c.weight, "share_of_from": cw.share_of_from(c), "share_of_to": cw.share_of_to(c)}))
            .collect()
    } else if show_shares {
        // Viewers: shares only, and none in a row or column with a small or withheld cell
        // (shares and the published totals would give the isolated count back).
        cw.cells
            .iter()
            .filter(|c| !rows_hit.contains(&c.from) && !cols_hit.contains(&c.to))
            .map(|c| {
                json!({"from": a.areas[c.from as usize].id, "to": b.areas[c.to as usize].id,
                       "share_of_from": cw.share_of_from(c), "share_of_to": cw.share_of_to(c)})
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "from": cmp.from, "to": cmp.to, "year": cmp.year,
        "index_years": cmp.index_years, "previous_index_year": cmp.previous_index_year,
        "summary": {"areas_from": a.areas.len(), "areas_to": b.areas.len(),
                    "unchanged": cmp.unchanged(), "boundary_effect": cmp.boundary(),
                    "real_change": cmp.real(),
                    "class_changed_by_boundary": cmp.class_changed_by_boundary()},
        "areas": rows,
        "crosswalk": cells,
    })
}

fn csv_response(name: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn compare(
    State(st): State<Arc<RedefineState>>,
    Path((a, b)): Path<(String, String)>,
    Query(q): Query<YearQ>,
    headers: HeaderMap,
) -> R {
    let caller = st.tokens.caller(&headers)?;
    blocking(st.work.clone(), move || {
        let ca = get_visible(&st, &a, &caller)?;
        let cb = get_visible(&st, &b, &caller)?;
        let year = match q.year {
            Some(y) => default_year(&st.ws, Some(y))?,
            None => st
                .ws
                .default_comparison_year()
                .map_or_else(|| default_year(&st.ws, None), Ok)?,
        };
        let analyst = caller.role >= Role::Statistik;
        let cmp = st.ws.compare(&ca, &cb, year, analyst);
        if q.f.as_deref() == Some("csv") {
            let out = kleinraum_load::write::comparison_csv(
                &ca,
                &cb,
                &cmp,
                st.ws.analysis(),
                caller.role >= Role::Viewer,
                analyst,
            );
            return Ok(csv_response(&format!("vergleich_{a}_{b}_{year}.csv"), out));
        }
        let threshold = st.ws.analysis().disclosure.threshold;
        ok(comparison_json(
            &ca,
            &cb,
            &cmp,
            analyst,
            caller.role >= Role::Viewer,
            threshold,
        ))
    })
    .await
}

async fn crosswalk(
    State(st): State<Arc<RedefineState>>,
    Path((a, b)): Path<(String, String)>,
    Query(q): Query<YearQ>,
    headers: HeaderMap,
) -> R {
    // Shares of resident counts per intersection: not for the public (small cells).
    let caller = st.tokens.require(&headers, Role::Viewer)?;
    blocking(st.work.clone(), move || {
        let ca = get_visible(&st, &a, &caller)?;
        let cb = get_visible(&st, &b, &caller)?;
        let year = default_year(&st.ws, q.year)?;
        // Exact counts for the statistics office only (`planner` names that view below).
        let planner = caller.role >= Role::Statistik;
        let cmp = st.ws.compare(&ca, &cb, year, false);
        let cw = &cmp.crosswalk;
        // Others: no cell touching a withheld area, none below the disclosure threshold,
        // shares rounded to 0.1 % — and no share at all in a row or column that has a hidden
        // cell, since 1 − Σ(shown shares) would give the hidden one back.
        let threshold = st.ws.analysis().disclosure.threshold;
        let (rows_hit, cols_hit) = cmp.hidden_lines(&ca, &cb, threshold);
        let hidden = |c: &kleinraum_aggregate::redefine::CrosswalkCell| {
            !planner && (rows_hit.contains(&c.from) || cols_hit.contains(&c.to))
        };
        let share = |x: f64| if planner { x } else { (x * 1000.0).round() / 1000.0 };
        if q.f.as_deref() == Some("csv") {
            use kleinraum_load::write::ExcelCsv;
            let weight_col = if st.ws.has_addresses() {
                "Einwohner:innen"
            } else {
                "Gewicht"
            };
            let header: &[&str] = if planner {
                &["von", "nach", weight_col, "Anteil von", "Anteil nach", "Gewichtung"]
            } else {
                &["von", "nach", "Anteil von", "Anteil nach", "Gewichtung"]
            };
            let label = st.ws.weighting().label();
            let mut w = ExcelCsv::new(header);
            for c in cw.cells.iter().filter(|c| !hidden(c)) {
                let mut row = vec![
                    ca.areas[c.from as usize].id.clone(),
                    cb.areas[c.to as usize].id.clone(),
                ];
                if planner {
                    row.push(c.weight.to_string());
                }
                row.push(ExcelCsv::num(Some(share(cw.share_of_from(c))), 6));
                row.push(ExcelCsv::num(Some(share(cw.share_of_to(c))), 6));
                row.push(label.clone());
                w.row(row);
            }
            let out = w.finish();
            return Ok(csv_response(&format!("crosswalk_{a}_{b}_{year}.csv"), out));
        }
        let cells: Vec<Value> = cw.cells.iter().filter(|c| !hidden(c)).map(|c| {
            let mut v = json!({"from": ca.areas[c.from as usize].id, "to": cb.areas[c.to as usize].id,
                               "share_of_from": share(cw.share_of_from(c)), "share_of_to": share(cw.share_of_to(c))});
            if planner { v["residents"] = json!(c.weight); }
            v
        }).collect();
        let weight = if st.ws.has_addresses() { "residents" } else { st.ws.weighting().key() };
        ok(json!({"from": a, "to": b, "year": year, "weight": weight, "weighting": st.ws.weighting().label(), "unmatched": if planner { json!(cw.unmatched) } else { Value::Null }, "crosswalk": cells}))
    })
    .await
}

#[derive(Deserialize)]
struct StartBody {
    base: String,
}

async fn start(State(st): State<Arc<RedefineState>>, headers: HeaderMap, body: Bytes) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    let b: StartBody =
        serde_json::from_slice(&body).map_err(|e| RouteError::Bad(format!("Body: {e}")))?;
    blocking(st.work.clone(), move || {
        get_visible(&st, &b.base, &caller)?;
        let id = st.ws.start_session(&b.base, &caller.actor())?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"id": id, "base": b.base}),
        ))
    })
    .await
}

fn warnings_json(ws: &Workspace, w: &[Warning]) -> Value {
    Value::Array(
        w.iter()
            .map(|w| {
                let loc = w
                    .location
                    .and_then(|(x, y)| ws.projector.working_to_wgs84(x, y).ok())
                    .map(|(lon, lat)| json!([lon, lat]));
                json!({"kind": w.kind, "area": w.area, "message": w.message, "location": loc})
            })
            .collect(),
    )
}

/// A draft operation as the map sends it (`{"op": "split", …}`, geometries as GeoJSON in
/// WGS 84).
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum OpRequest {
    /// Split `area` by a drawn polygon.
    Split { area: String, geometry: Value },
    /// Merge areas into the first, optionally under a new name.
    Merge {
        areas: Vec<String>,
        #[serde(default)]
        name: Option<String>,
    },
    /// Replace geometries (vertex moves).
    Reshape { geometries: BTreeMap<String, Value> },
    /// Draw a new area over existing ones.
    Draw {
        geometry: Value,
        #[serde(default)]
        name: Option<String>,
    },
}

/// Longest name of a drawn or merged area, in characters.
const MAX_AREA_NAME: usize = 200;

/// A name a planner gave an area: trimmed, not empty, at most [`MAX_AREA_NAME`] characters.
fn area_name(name: Option<String>) -> Result<Option<String>, RouteError> {
    let Some(n) = name else { return Ok(None) };
    let t = n.trim();
    if t.is_empty() || t.chars().count() > MAX_AREA_NAME || t.chars().any(char::is_control) {
        return Err(RouteError::Bad(format!(
            "name: 1 bis {MAX_AREA_NAME} Zeichen ohne Steuerzeichen"
        )));
    }
    Ok(Some(t.to_string()))
}

/// A GeoJSON geometry (WGS 84) of a request as a polygon in the working CRS, checked for
/// simple rings and size (the loader's GeoJSON reader, the workspace's check).
fn draft_polygon(ws: &Workspace, v: &Value) -> Result<geo::MultiPolygon<f64>, RouteError> {
    let g = kleinraum_load::gj::parse_geometry(&v.to_string())
        .map_err(|e| RouteError::Bad(format!("geometry: {e}")))?;
    let mp = match g {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(mp) => mp,
        _ => return Err(WsError::from(GeometryError::NotAPolygon).into()),
    };
    Ok(ws.draft_geometry(&mp)?)
}

/// The request's operation with its geometries in the working CRS.
fn draft_op(ws: &Workspace, op: OpRequest) -> Result<DraftOp, RouteError> {
    Ok(match op {
        OpRequest::Split { area, geometry } => DraftOp::Split {
            area,
            by: draft_polygon(ws, &geometry)?,
        },
        OpRequest::Merge { areas, name } => DraftOp::Merge {
            areas,
            name: area_name(name)?,
        },
        OpRequest::Reshape { geometries } => {
            let mut out = Vec::with_capacity(geometries.len());
            for (k, g) in &geometries {
                let mp = draft_polygon(ws, g).map_err(|e| match e {
                    RouteError::Ws(e) => RouteError::Bad(format!("Gebiet {k}: {e}")),
                    RouteError::Bad(m) => RouteError::Bad(format!("Gebiet {k}: {m}")),
                    other => other,
                })?;
                out.push((k.clone(), mp));
            }
            DraftOp::Reshape { geometries: out }
        }
        OpRequest::Draw { geometry, name } => DraftOp::Draw {
            by: draft_polygon(ws, &geometry)?,
            name: area_name(name)?,
        },
    })
}

/// Locks a draft session, waiting briefly if another operation on it is running. A session
/// whose lock was poisoned by a panic is still whole: operations work on a copy and replace
/// the session only when they succeed.
fn lock_session(
    sess: &std::sync::Mutex<kleinraum_gebietsstand::Session>,
) -> Result<std::sync::MutexGuard<'_, kleinraum_gebietsstand::Session>, RouteError> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match sess.try_lock() {
            Ok(g) => return Ok(g),
            Err(std::sync::TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(RouteError::Api(ApiError::Busy(
                    "Dieser Entwurf wird gerade von einer anderen Operation bearbeitet; bitte erneut versuchen."
                        .into(),
                )));
            }
        }
    }
}

async fn operation(
    State(st): State<Arc<RedefineState>>,
    Path(id): Path<String>,
    Query(q): Query<YearQ>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    let op: OpRequest = serde_json::from_slice(&body).map_err(|e| {
        RouteError::Bad(format!(
            "Operation: {e} (erwartet op = split, merge, reshape oder draw)"
        ))
    })?;
    blocking(st.work.clone(), move || {
        let started = std::time::Instant::now();
        let year = default_year(&st.ws, q.year)?;
        let sess = st.ws.session(&id)?;
        let op = draft_op(&st.ws, op)?;
        let mut guard = lock_session(&sess)?;
        // The session changes only if every step succeeded (the workspace works on a copy).
        let (next, out) = st.ws.apply(&guard, op)?;
        *guard = next;
        let s = &*guard;
        // Every operation that produces statistics is in the audit log with its caller.
        st.ws.log(audit_entry(
            &caller,
            "entwurf_operation",
            &id,
            s.operations.last().cloned().unwrap_or_default(),
        ))?;
        let server_ms = started.elapsed().as_secs_f64() * 1000.0;
        // Planners see only what passes the rules: no values of an edited area that is below
        // the minimum population or differs from a published area by a few people.
        let analyst = caller.role >= Role::Statistik;
        let (withheld_ids, _) = st.ws.session_withheld(s);
        let small = st.ws.session_small(s);
        let min_pop = st.ws.analysis().disclosure.min_population;
        let withheld = |area: &str| !analyst && withheld_ids.contains(area);
        let changed: Vec<Value> = out
            .changed
            .iter()
            .filter_map(|cid| s.areas.iter().position(|a| &a.id == cid))
            .map(|i| {
                let id = &s.areas[i].id;
                let mut w: Vec<String> = out
                    .warnings
                    .iter()
                    .filter(|w| &w.area == id)
                    .map(|w| w.message.clone())
                    .collect();
                if small.contains(id) {
                    w.push(format!(
                        "Weniger als {min_pop} Einwohner:innen: die Werte bleiben bei der Statistikstelle."
                    ));
                }
                session_feature(&st.ws, &s.areas, &out.result, &out.estimated, i, year, &w, withheld(id))
            })
            .collect();
        let geometry_updates: Vec<Value> = out
            .vertices_added
            .iter()
            .filter_map(|cid| s.areas.iter().position(|a| &a.id == cid))
            .map(|i| {
                let id = &s.areas[i].id;
                session_feature(&st.ws, &s.areas, &out.result, &out.estimated, i, year, &[], withheld(id))
            })
            .collect();
        ok(json!({
            "changed": changed, "removed": out.removed, "geometry_updates": geometry_updates,
            "warnings": warnings_json(&st.ws, &out.warnings),
            "n_areas": s.areas.len(),
            "server_ms": server_ms,
        }))
    })
    .await
}

async fn session_areas(
    State(st): State<Arc<RedefineState>>,
    Path(id): Path<String>,
    Query(q): Query<YearQ>,
    headers: HeaderMap,
) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    blocking(st.work.clone(), move || {
        let year = default_year(&st.ws, q.year)?;
        let sess = st.ws.session(&id)?;
        let s = lock_session(&sess)?;
        let (result, estimated) = st.ws.session_result(&s)?;
        let (withheld, _) = st.ws.session_withheld(&s);
        let analyst = caller.role >= Role::Statistik;
        let feats: Vec<Value> = (0..s.areas.len())
            .map(|i| {
                let hide = !analyst && withheld.contains(&s.areas[i].id);
                session_feature(&st.ws, &s.areas, &result, &estimated, i, year, &[], hide)
            })
            .collect();
        ok(json!({"type": "FeatureCollection", "id": id, "base": s.base, "year": year, "features": feats}))
    })
    .await
}

#[derive(Deserialize)]
struct SaveBody {
    key: String,
    name: String,
    valid_from: Option<String>,
    #[serde(default)]
    note: String,
}

async fn save(
    State(st): State<Arc<RedefineState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    let b: SaveBody =
        serde_json::from_slice(&body).map_err(|e| RouteError::Bad(format!("Body: {e}")))?;
    blocking(st.work.clone(), move || {
        let sess = st.ws.session(&id)?;
        let s = lock_session(&sess)?;
        let valid_from = b.valid_from.filter(|v| !v.is_empty());
        let c = st.ws.save_session(
            &s,
            &b.key,
            &b.name,
            valid_from,
            b.note,
            (&caller.actor(), caller.role.as_str()),
        )?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"key": c.meta.key, "n_areas": c.areas.len()}),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UploadQ {
    key: Option<String>,
    name: Option<String>,
    valid_from: Option<String>,
    id_field: Option<String>,
    name_field: Option<String>,
    status: Option<String>,
    note: Option<String>,
    lineage: Option<String>,
}

/// Parses an uploaded FeatureCollection (WGS 84) into areas with the loader's GeoJSON reader
/// (its errors name feature and field); geometries reprojected into the working CRS.
pub fn parse_upload(
    ws: &Workspace,
    body: &[u8],
    id_field: &str,
    name_field: Option<&str>,
) -> Result<Vec<Area>, RouteError> {
    let layer = kleinraum_load::gj::parse(std::path::Path::new("Upload"), body)
        .map_err(|e| RouteError::Bad(e.to_string()))?;
    if layer.epsg.is_some_and(|e| e != 4326) {
        return Err(RouteError::Bad(format!(
            "Upload: Koordinaten in EPSG:{} – bitte als GeoJSON in WGS 84 (EPSG:4326) hochladen",
            layer.epsg.unwrap_or_default()
        )));
    }
    let mut out: Vec<Area> = Vec::with_capacity(layer.features.len());
    let mut seen = HashMap::new();
    for (i, f) in layer.features.into_iter().enumerate() {
        let n = i + 1;
        let id = f
            .props
            .get(id_field)
            .and_then(|v| v.as_text())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                RouteError::Bad(format!(
                    "Feature {n}: Feld {id_field:?} fehlt oder ist leer"
                ))
            })?;
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(RouteError::Bad(format!(
                "Feature {n}: Kennung {id:?} doppelt (zuerst in Feature {first})"
            )));
        }
        let name = name_field
            .and_then(|nf| f.props.get(nf))
            .and_then(|v| v.as_text())
            .unwrap_or_else(|| id.clone());
        let mp = match f.geometry {
            Some(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
            Some(geo::Geometry::MultiPolygon(mp)) => mp,
            _ => {
                return Err(RouteError::Bad(format!(
                    "Feature {n} ({id}): Polygon oder MultiPolygon erwartet"
                )));
            }
        };
        let g = ws
            .from_wgs84(&mp)
            .map_err(|e| RouteError::Bad(format!("Feature {n} ({id}): {e}")))?;
        out.push(Area {
            id,
            name,
            parent: None,
            geometry: Some(g),
            attributes: BTreeMap::new(),
        });
    }
    if out.is_empty() {
        return Err(RouteError::Bad("GeoJSON: keine Features".into()));
    }
    Ok(out)
}

async fn upload(
    State(st): State<Arc<RedefineState>>,
    Query(q): Query<UploadQ>,
    headers: HeaderMap,
    body: Bytes,
) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    let status = match q.status.as_deref() {
        None | Some("draft") => Status::Draft,
        Some("published") => {
            st.tokens.require(&headers, Role::Admin)?;
            Status::Published
        }
        Some(o) => return Err(RouteError::Bad(format!("status={o}: draft oder published"))),
    };
    let key = q
        .key
        .clone()
        .ok_or_else(|| RouteError::Bad("Parameter key fehlt".into()))?;
    let id_field = q
        .id_field
        .clone()
        .ok_or_else(|| RouteError::Bad("Parameter id_field fehlt".into()))?;
    blocking(st.work.clone(), move || {
        let areas = parse_upload(&st.ws, &body, &id_field, q.name_field.as_deref())?;
        let n = areas.len();
        let meta = VersionMeta {
            key: key.clone(),
            name: q.name.clone().unwrap_or_else(|| key.clone()),
            valid_from: q.valid_from.clone().filter(|v| !v.is_empty()),
            source: "Upload (GeoJSON)".into(),
            lineage: q
                .lineage
                .as_deref()
                .map(|l| l.split(',').map(String::from).collect())
                .unwrap_or_default(),
            note: q.note.clone().unwrap_or_default(),
            status,
            created_at: now_rfc3339(),
            created_by: caller.actor(),
            epsg: st.ws.working_epsg(),
            n_areas: n,
        };
        let a = audit_entry(&caller, "import", &key, format!("{n} Gebiete hochgeladen"));
        let c = st.ws.import(meta, areas, a)?;
        Ok(json_response(
            StatusCode::CREATED,
            &json!({"key": c.meta.key, "n_areas": c.areas.len()}),
        ))
    })
    .await
}

async fn publish(
    State(st): State<Arc<RedefineState>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> R {
    let caller = st.tokens.require(&headers, Role::Admin)?;
    blocking(st.work.clone(), move || {
        st.ws.publish(
            &key,
            audit_entry(&caller, "veroeffentlichen", &key, String::new()),
        )?;
        ok(json!({"key": key, "status": "published"}))
    })
    .await
}

async fn delete_draft(
    State(st): State<Arc<RedefineState>>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> R {
    let caller = st.tokens.require(&headers, Role::Planner)?;
    blocking(st.work.clone(), move || {
        st.ws.delete_draft(
            &key,
            audit_entry(&caller, "entwurf_loeschen", &key, String::new()),
        )?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitQ {
    limit: Option<usize>,
}

async fn audit(
    State(st): State<Arc<RedefineState>>,
    Query(q): Query<LimitQ>,
    headers: HeaderMap,
) -> R {
    st.tokens.require(&headers, Role::Admin)?;
    blocking(st.work.clone(), move || {
        let entries = st.ws.audit_log(q.limit.unwrap_or(200).min(10_000))?;
        ok(json!({"entries": entries}))
    })
    .await
}
