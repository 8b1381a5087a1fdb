//! HTTP routes of the Gebietsstände workflow: versions, their areas with statistics, crosswalks
//! and comparisons, draft sessions, uploads, publishing and the audit log.
//!
//! Everything here depends on who asks (drafts, guard warnings), so responses carry
//! `Cache-Control: no-store` and bypass the ETag and gzip caches of the static catalog.

use crate::auth::{AuthError, Caller, Role, Tokens};
use crate::error::ApiError;
use crate::workspace::{
    Computed, OpOutcome, Session, SliverWarning, Warning, Workspace, WsError, now_rfc3339,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kleinraum_aggregate::model::Area;
use kleinraum_aggregate::result::{AggregateResult, CountFlag};
use kleinraum_store::{AuditEntry, Status, VersionMeta};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

/// Rendered `/gebietsstaende/{key}/areas` bodies: (version, year, planner view) → the
/// version and guard findings they were rendered from, and the body.
type AreasCache = HashMap<(String, i32, bool), (Arc<Computed>, Arc<Vec<SliverWarning>>, Bytes)>;
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
}

impl RedefineState {
    /// The routes' state.
    pub fn new(ws: Workspace, tokens: Tokens, work: crate::work::WorkLimiter) -> Self {
        Self {
            ws,
            tokens,
            work,
            geometries: Mutex::new(HashMap::new()),
            areas_cache: Mutex::new(HashMap::new()),
        }
    }

    /// The WGS 84 GeoJSON geometry text of every area of `c`, rendered once per version.
    fn geometries_of(&self, c: &Arc<Computed>) -> Arc<Vec<String>> {
        let mut m = self.geometries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((cached, g)) = m.get(&c.meta.key)
            && Arc::ptr_eq(cached, c)
        {
            return g.clone();
        }
        let g: Arc<Vec<String>> = Arc::new(
            c.areas
                .iter()
                .map(|a| {
                    a.geometry.as_ref().map_or_else(
                        || "null".to_string(),
                        |g| self.ws.geometry_to_geojson(g).to_string(),
                    )
                })
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
            RouteError::Ws(WsError::NotFound(m)) => (StatusCode::NOT_FOUND, m),
            RouteError::Ws(WsError::Invalid(m)) => (StatusCode::BAD_REQUEST, m),
            RouteError::Ws(WsError::Engine(e)) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            RouteError::Ws(WsError::Store(e)) => {
                use kleinraum_store::StoreError as E;
                // Refusals by the store are the client's; the file path is the operator's.
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
                let st = match &e {
                    E::Exists { .. } | E::NotDraft { .. } | E::Locked { .. } => {
                        StatusCode::CONFLICT
                    }
                    E::NotFound { .. } => StatusCode::NOT_FOUND,
                    E::Invalid { .. } | E::CrsMismatch { .. } => StatusCode::BAD_REQUEST,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let m = e.to_string();
                let m = match m.split_once(": ") {
                    Some((head, rest)) if head.ends_with(".gpkg") => rest.to_string(),
                    _ => m,
                };
                if st == StatusCode::INTERNAL_SERVER_ERROR {
                    tracing::error!(error = %e, "store failure");
                }
                (st, m)
            }
        };
        crate::error::problem(status, "Redefine", &detail)
    }
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
        // Every write needs a planner's token, checked before a byte of the body is read: an
        // anonymous client cannot make the server buffer megabytes.
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
            RouteError::Ws(WsError::NotFound(format!(
                "Gebietsstand {key} nicht gefunden"
            )))
        })
}

fn meta_json(m: &VersionMeta, base: &str) -> Value {
    json!({
        "key": m.key, "name": m.name, "valid_from": m.valid_from, "source": m.source,
        "lineage": m.lineage, "note": m.note, "status": status_str(&m.status),
        "created_at": m.created_at, "created_by": m.created_by, "n_areas": m.n_areas,
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
        .map(|v| meta_json(&v.meta, &base))
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
    }))
}

/// Values of one area in one year as the API shows them.
struct AreaValues {
    residents: Option<u64>,
    values: BTreeMap<String, Option<f64>>,
    status_class: Option<u8>,
    dynamics_class: Option<u8>,
    group: Option<String>,
    attention: bool,
}

fn area_values(result: &AggregateResult, i: usize, year: i32) -> Option<AreaValues> {
    let yi = result.year_index(year)?;
    let a = result.levels.first()?.areas.get(i)?;
    let ay = a.years.get(yi)?;
    let rc = result.count_columns.iter().position(|c| c == "residents");
    let residents = rc
        .and_then(|k| ay.counts.get(k))
        .filter(|c| matches!(c.flag, CountFlag::Published))
        .and_then(|c| c.value);
    let values = result
        .indicators
        .iter()
        .zip(&ay.indicators)
        .map(|(d, v)| (d.id.clone(), v.value))
        .collect();
    let ix = ay.indices.iter().flatten().next();
    Some(AreaValues {
        residents,
        values,
        status_class: ix.and_then(|x| x.status_class),
        dynamics_class: ix.and_then(|x| x.dynamics_class),
        group: ix.and_then(|x| x.group.clone()),
        attention: ix.is_some_and(|x| x.attention),
    })
}

fn default_year(ws: &Workspace, year: Option<i32>) -> Result<i32, RouteError> {
    let years = ws.years();
    match year {
        Some(y) if years.contains(&y) => Ok(y),
        Some(y) => Err(RouteError::Bad(format!(
            "year={y}: keine Daten (Jahre: {})",
            years
                .iter()
                .map(|y| y.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        None => years
            .last()
            .copied()
            .ok_or_else(|| RouteError::Bad("keine Jahre mit Daten".into())),
    }
}

/// The `properties` of area `i` of a version or draft in `year`; values withheld when
/// `suppress`.
fn feature_props(
    areas: &[Area],
    result: &AggregateResult,
    estimated: &[String],
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
        "values": values, "estimated": estimated, "suppressed": suppress,
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

/// A feature of a draft session (geometry rendered on the spot: only edited areas).
fn session_feature(
    ws: &Workspace,
    areas: &[Area],
    result: &AggregateResult,
    estimated: &[String],
    i: usize,
    year: i32,
    warnings: &[String],
) -> Value {
    let a = &areas[i];
    json!({
        "type": "Feature",
        "id": a.id,
        "geometry": a.geometry.as_ref().map_or(Value::Null, |g| ws.geometry_to_geojson(g)),
        "properties": feature_props(areas, result, estimated, i, year, false, warnings),
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
        let ck = (key.clone(), year, planner);
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
                "Differenzbildung möglich gegenüber {} ({}): {} / {} Einwohner:innen ({})",
                w.other_area, w.other_version, w.only_here, w.only_there, w.year
            ));
        }
        let geoms = st.geometries_of(&c);
        let mut out = String::with_capacity(geoms.iter().map(|g| g.len() + 512).sum());
        let _ = write!(
            out,
            "{{\"type\":\"FeatureCollection\",\"gebietsstand\":{},\"year\":{year},\"numberReturned\":{},\"features\":[",
            meta_json(&c.meta, &st.ws.cfg.base_key),
            c.areas.len()
        );
        for i in 0..c.areas.len() {
            let id = c.areas[i].id.as_str();
            let warn = by_area.get(id).cloned().unwrap_or_default();
            let suppress = !warn.is_empty() && !planner;
            // The public learns that a value is withheld, not why in detail.
            let shown = if planner {
                warn
            } else if suppress {
                vec!["Werte zum Schutz vor Differenzbildung unterdrückt".into()]
            } else {
                vec![]
            };
            if i > 0 {
                out.push(',');
            }
            let props = feature_props(&c.areas, &c.result, &c.estimated, i, year, suppress, &shown);
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

fn json_bytes(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The status class of `i` in `year` (index years only).
fn class_of(result: &AggregateResult, i: usize, year: i32) -> Option<u8> {
    area_values(result, i, year).and_then(|v| v.status_class)
}

/// The comparison report of two versions for one year (see the API description). Areas the
/// differencing guard withholds lose their values unless `planner`.
pub fn comparison(
    ws: &Workspace,
    a: &Computed,
    b: &Computed,
    year: i32,
    planner: bool,
    show_shares: bool,
) -> Value {
    let (hidden_a, hidden_b) = if planner {
        (BTreeSet::new(), BTreeSet::new())
    } else {
        (ws.guarded_areas(&a.meta.key), ws.guarded_areas(&b.meta.key))
    };
    let cw = ws.crosswalk(a, b, year);
    let index_years: Vec<i32> = {
        let mut v: Vec<i32> = ws
            .analysis()
            .indices
            .first()
            .map(|i| i.years.clone())
            .unwrap_or_default();
        v.sort_unstable();
        v
    };
    let prev_year = index_years.iter().copied().filter(|&y| y < year).max();
    let mut preds: Vec<Vec<(u32, u64)>> = vec![Vec::new(); b.areas.len()];
    for c in &cw.cells {
        preds[c.to as usize].push((c.from, c.weight));
    }
    let mut rows = Vec::new();
    let (mut unchanged, mut boundary, mut real) = (0usize, 0usize, 0usize);
    for (t, area) in b.areas.iter().enumerate() {
        let p = &mut preds[t];
        p.sort_by_key(|x| std::cmp::Reverse(x.1));
        let to_total = cw.to_total[t];
        let main = p
            .first()
            .map(|&(f, _)| f as usize)
            .or_else(|| a.areas.iter().position(|x| x.id == area.id));
        let hide = !planner
            && (hidden_b.contains(&area.id)
                || main.is_some_and(|m| hidden_a.contains(&a.areas[m].id)));
        // Shares are ratios of resident counts: with public totals they would reveal small
        // intersections, so only viewers and above get them, and not where the guard withholds
        // an area (an exact ratio like 1/1870 gives both counts back).
        let predecessors: Vec<Value> = p
            .iter()
            .map(|&(f, w)| {
                let show_shares = show_shares
                    && !hide
                    && (planner || !hidden_a.contains(&a.areas[f as usize].id));
                let share = if to_total > 0 {
                    w as f64 / to_total as f64
                } else {
                    0.0
                };
                json!({"id": a.areas[f as usize].id, "name": a.areas[f as usize].name,
                       "share": if show_shares { json!(share) } else { Value::Null }})
            })
            .collect();
        let geometry_changed = match p.first() {
            Some(&(f, w)) => {
                let from_total = cw.from_total[f as usize];
                !(to_total > 0 && w * 1000 >= to_total * 995 && w * 1000 >= from_total * 995)
            }
            None => main.is_none_or(|m| a.areas[m].id != area.id),
        };
        let new_v = area_values(&b.result, t, year);
        let old_v = main.and_then(|m| area_values(&a.result, m, year));
        let class_new = class_of(&b.result, t, year);
        let class_old = main.and_then(|m| class_of(&a.result, m, year));
        let class_prev = prev_year.and_then(|y| class_of(&b.result, t, y));
        let boundary_effect = class_new.is_some() && class_old.is_some() && class_new != class_old;
        let real_change = prev_year
            .map(|_| class_new.is_some() && class_prev.is_some() && class_new != class_prev);
        let change = match (geometry_changed, real_change == Some(true)) {
            (false, false) => "unverändert",
            (true, false) => "Gebietsänderung",
            (false, true) => "reale Veränderung",
            (true, true) => "beides",
        };
        match change {
            "unverändert" => unchanged += 1,
            "Gebietsänderung" => boundary += 1,
            "reale Veränderung" => real += 1,
            _ => {
                boundary += 1;
                real += 1;
            }
        }
        let mut values = serde_json::Map::new();
        if let (Some(n), false) = (&new_v, hide) {
            for (k, v) in &n.values {
                let o = old_v
                    .as_ref()
                    .and_then(|o| o.values.get(k).copied().flatten());
                values.insert(k.clone(), json!({"old": o, "new": v}));
            }
        }
        rows.push(json!({
            "id": area.id, "name": area.name, "predecessors": predecessors,
            "residents_old": if hide { Value::Null } else { json!(old_v.as_ref().and_then(|v| v.residents)) },
            "residents_new": if hide { Value::Null } else { json!(new_v.as_ref().and_then(|v| v.residents)) },
            "values": values,
            "class_old": if hide { Value::Null } else { json!(class_old) },
            "class_new": if hide { Value::Null } else { json!(class_new) },
            "geometry_changed": geometry_changed,
            "boundary_effect": boundary_effect, "real_change": real_change, "change": change,
            "suppressed": hide,
        }));
    }
    let cells: Vec<Value> = if planner {
        cw.cells
            .iter()
            .map(|c| json!({"from": a.areas[c.from as usize].id, "to": b.areas[c.to as usize].id,
                            "residents": c.weight, "share_of_from": cw.share_of_from(c), "share_of_to": cw.share_of_to(c)}))
            .collect()
    } else if show_shares {
        // Viewers: shares only, and none touching an area the guard withholds (shares and
        // the published totals of the neighbours would give the isolated count back).
        cw.cells
            .iter()
            .filter(|c| {
                !hidden_a.contains(&a.areas[c.from as usize].id)
                    && !hidden_b.contains(&b.areas[c.to as usize].id)
            })
            .map(|c| {
                json!({"from": a.areas[c.from as usize].id, "to": b.areas[c.to as usize].id,
                            "share_of_from": cw.share_of_from(c), "share_of_to": cw.share_of_to(c)})
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "from": a.meta.key, "to": b.meta.key, "year": year,
        "index_years": index_years, "previous_index_year": prev_year,
        "summary": {"areas_from": a.areas.len(), "areas_to": b.areas.len(), "unchanged": unchanged,
                    "boundary_effect": boundary, "real_change": real,
                    "class_changed_by_boundary": rows.iter().filter(|r| r["boundary_effect"] == true).count()},
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
        format!("\u{feff}{body}"),
    )
        .into_response()
}

fn csv_cell(s: &str) -> String {
    if s.contains(';') || s.contains('"') || s.contains('\n') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num_de(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string().replace('.', ","),
        Value::Bool(b) => {
            if *b {
                "ja".into()
            } else {
                "nein".into()
            }
        }
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
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
                .analysis()
                .indices
                .first()
                .and_then(|i| i.years.iter().max().copied())
                .map_or_else(|| default_year(&st.ws, None), Ok)?,
        };
        let v = comparison(
            &st.ws,
            &ca,
            &cb,
            year,
            caller.role >= Role::Planner,
            caller.role >= Role::Viewer,
        );
        if q.f.as_deref() == Some("csv") {
            let out = comparison_csv(&st.ws, &v);
            return Ok(csv_response(&format!("vergleich_{a}_{b}_{year}.csv"), out));
        }
        ok(v)
    })
    .await
}

/// The comparison report as CSV (semicolon, decimal comma, German headers; one row per area of
/// the newer version).
pub fn comparison_csv(ws: &Workspace, v: &Value) -> String {
    let decimals: Vec<u8> = ws
        .analysis()
        .indicators
        .iter()
        .map(|i| i.decimals)
        .collect();
    let inds: Vec<String> = ws
        .analysis()
        .indicators
        .iter()
        .map(|i| i.id.clone())
        .collect();
    let mut out = String::from(
        "Gebiet;Name;Vorgänger (Anteil der Einwohner:innen);Einwohner:innen Vorgängergebiet;Einwohner:innen neu;Klasse Vorgängergebiet;Klasse neu;Grenzänderung;Klassenwechsel durch Grenzen;Klassenwechsel real;Ursache",
    );
    for i in &inds {
        let _ = write!(out, ";{i} alt;{i} neu");
    }
    out.push('\n');
    for r in v["areas"].as_array().into_iter().flatten() {
        let preds: Vec<String> = r["predecessors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                let id = p["id"].as_str().unwrap_or("");
                // Without a share (public, guarded) only the id: "0,0 %" would be false.
                match p["share"].as_f64() {
                    Some(sh) => format!("{id} ({:.1} %)", sh * 100.0).replace('.', ","),
                    None => id.to_string(),
                }
            })
            .collect();
        let _ = write!(
            out,
            "{};{};{};{};{};{};{};{};{};{};{}",
            csv_cell(r["id"].as_str().unwrap_or("")),
            csv_cell(r["name"].as_str().unwrap_or("")),
            csv_cell(&preds.join(", ")),
            num_de(&r["residents_old"]),
            num_de(&r["residents_new"]),
            num_de(&r["class_old"]),
            num_de(&r["class_new"]),
            num_de(&r["geometry_changed"]),
            num_de(&r["boundary_effect"]),
            num_de(&r["real_change"]),
            csv_cell(r["change"].as_str().unwrap_or("")),
        );
        for (i, dec) in inds.iter().zip(&decimals) {
            let cell = |v: &Value| {
                v.as_f64()
                    .map(|x| format!("{x:.dec$}", dec = *dec as usize).replace('.', ","))
                    .unwrap_or_default()
            };
            let _ = write!(
                out,
                ";{};{}",
                cell(&r["values"][i]["old"]),
                cell(&r["values"][i]["new"])
            );
        }
        out.push('\n');
    }
    out
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
        let cw = st.ws.crosswalk(&ca, &cb, year);
        let planner = caller.role >= Role::Planner;
        let guarded_a = st.ws.guarded_areas(&a);
        let guarded_b = st.ws.guarded_areas(&b);
        // Viewers: no cell touching a withheld area, none below the disclosure threshold, and
        // shares rounded to 0.1 % so a small intersection cannot be computed back exactly.
        let threshold = st.ws.analysis().disclosure.threshold;
        let hidden = |c: &kleinraum_aggregate::redefine::CrosswalkCell| {
            !planner
                && (c.weight < threshold
                    || guarded_a.contains(&ca.areas[c.from as usize].id)
                    || guarded_b.contains(&cb.areas[c.to as usize].id))
        };
        let share = |x: f64| if planner { x } else { (x * 1000.0).round() / 1000.0 };
        if q.f.as_deref() == Some("csv") {
            let mut out = String::from(if planner { "von;nach;Einwohner:innen;Anteil von;Anteil nach\n" } else { "von;nach;Anteil von;Anteil nach\n" });
            for c in cw.cells.iter().filter(|c| !hidden(c)) {
                let f = &ca.areas[c.from as usize].id;
                let t = &cb.areas[c.to as usize].id;
                let sf = format!("{:.6}", share(cw.share_of_from(c))).replace('.', ",");
                let stt = format!("{:.6}", share(cw.share_of_to(c))).replace('.', ",");
                if planner {
                    let _ = writeln!(out, "{f};{t};{};{sf};{stt}", c.weight);
                } else {
                    let _ = writeln!(out, "{f};{t};{sf};{stt}");
                }
            }
            return Ok(csv_response(&format!("crosswalk_{a}_{b}_{year}.csv"), out));
        }
        let cells: Vec<Value> = cw.cells.iter().filter(|c| !hidden(c)).map(|c| {
            let mut v = json!({"from": ca.areas[c.from as usize].id, "to": cb.areas[c.to as usize].id,
                               "share_of_from": share(cw.share_of_from(c)), "share_of_to": share(cw.share_of_to(c))});
            if planner { v["residents"] = json!(c.weight); }
            v
        }).collect();
        ok(json!({"from": a, "to": b, "year": year, "weight": "residents", "unmatched": if planner { json!(cw.unmatched) } else { Value::Null }, "crosswalk": cells}))
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

/// A draft operation as the map sends it (`{"op": "split", …}`).
#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum DraftOp {
    /// Split `area` by a drawn polygon.
    Split { area: String, geometry: Value },
    /// Merge areas into the first.
    Merge { areas: Vec<String> },
    /// Replace geometries (vertex moves).
    Reshape { geometries: BTreeMap<String, Value> },
    /// Draw a new area over existing ones.
    Draw {
        geometry: Value,
        #[serde(default)]
        name: Option<String>,
    },
}

/// Locks a draft session, waiting briefly if another operation on it is running. A session
/// whose lock was poisoned by a panic is still whole: operations work on a copy and replace
/// the session only when they succeed.
fn lock_session(
    sess: &std::sync::Mutex<Session>,
) -> Result<std::sync::MutexGuard<'_, Session>, RouteError> {
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
    st.tokens.require(&headers, Role::Planner)?;
    let op: DraftOp = serde_json::from_slice(&body).map_err(|e| {
        RouteError::Bad(format!(
            "Operation: {e} (erwartet op = split, merge, reshape oder draw)"
        ))
    })?;
    blocking(st.work.clone(), move || {
        let started = std::time::Instant::now();
        let year = default_year(&st.ws, q.year)?;
        let sess = st.ws.session(&id)?;
        let mut guard = lock_session(&sess)?;
        // Work on a copy; the session changes only if every step succeeds.
        let mut s = guard.clone();
        let out: OpOutcome = match op {
            DraftOp::Split { area, geometry } => {
                let g = st.ws.draft_geometry(&geometry)?;
                st.ws.op_split(&mut s, &area, &g)?
            }
            DraftOp::Merge { areas } => st.ws.op_merge(&mut s, &areas)?,
            DraftOp::Reshape { geometries } => {
                if geometries.is_empty() {
                    return Err(RouteError::Bad("reshape: 'geometries' ist leer".into()));
                }
                let mut geoms = Vec::new();
                for (k, g) in &geometries {
                    geoms.push((
                        k.clone(),
                        st.ws
                            .draft_geometry(g)
                            .map_err(|e| RouteError::Bad(format!("Gebiet {k}: {e}")))?,
                    ));
                }
                st.ws.op_reshape(&mut s, geoms)?
            }
            DraftOp::Draw { geometry, name } => {
                let g = st.ws.draft_geometry(&geometry)?;
                st.ws.op_draw(&mut s, &g, name)?
            }
        };
        *guard = s;
        let s = &*guard;
        let server_ms = started.elapsed().as_secs_f64() * 1000.0;
        let changed: Vec<Value> = out
            .changed
            .iter()
            .filter_map(|cid| s.areas.iter().position(|a| &a.id == cid))
            .map(|i| {
                let w: Vec<String> = out
                    .warnings
                    .iter()
                    .filter(|w| w.area == s.areas[i].id)
                    .map(|w| w.message.clone())
                    .collect();
                session_feature(&st.ws, &s.areas, &out.result, &out.estimated, i, year, &w)
            })
            .collect();
        let geometry_updates: Vec<Value> = out
            .vertices_added
            .iter()
            .filter_map(|cid| s.areas.iter().position(|a| &a.id == cid))
            .map(|i| session_feature(&st.ws, &s.areas, &out.result, &out.estimated, i, year, &[]))
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
    st.tokens.require(&headers, Role::Planner)?;
    blocking(st.work.clone(), move || {
        let year = default_year(&st.ws, q.year)?;
        let sess = st.ws.session(&id)?;
        let s = lock_session(&sess)?;
        let (result, estimated) = st.ws.session_result(&s)?;
        let feats: Vec<Value> = (0..s.areas.len())
            .map(|i| session_feature(&st.ws, &s.areas, &result, &estimated, i, year, &[]))
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

/// Parses an uploaded FeatureCollection (WGS 84) into areas; errors name the feature and field.
pub fn parse_upload(
    ws: &Workspace,
    body: &[u8],
    id_field: &str,
    name_field: Option<&str>,
) -> Result<Vec<Area>, RouteError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| RouteError::Bad(format!("GeoJSON: {e}")))?;
    let feats = v.get("features").and_then(Value::as_array).ok_or_else(|| {
        RouteError::Bad("GeoJSON: FeatureCollection mit 'features' erwartet".into())
    })?;
    let mut out: Vec<Area> = Vec::with_capacity(feats.len());
    let mut seen = HashMap::new();
    for (i, f) in feats.iter().enumerate() {
        let n = i + 1;
        let props = f.get("properties").cloned().unwrap_or(Value::Null);
        let id = match props.get(id_field) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(x)) => x.to_string(),
            _ => {
                return Err(RouteError::Bad(format!(
                    "Feature {n}: Feld {id_field:?} fehlt oder ist leer"
                )));
            }
        };
        if let Some(first) = seen.insert(id.clone(), n) {
            return Err(RouteError::Bad(format!(
                "Feature {n}: Kennung {id:?} doppelt (zuerst in Feature {first})"
            )));
        }
        let name = name_field
            .and_then(|nf| props.get(nf))
            .and_then(Value::as_str)
            .map_or_else(|| id.clone(), String::from);
        let g = ws
            .geometry_from_geojson(f.get("geometry").unwrap_or(&Value::Null))
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
