//! `GET /reports/{kind}`: the Berichtswesen over HTTP — the same reports as `kleinraum report`,
//! rendered from the catalog's publishable result (exactly what the API serves, disclosure
//! control applied).
//!
//! Bounds: one report is typeset at a time (its own slot, so reports never take the slots of
//! filters and drafts); parameters are checked against the data before any work; a Steckbrief
//! set is offered over HTTP only for levels of at most [`MAX_SET_AREAS`] areas (a whole city's
//! 542 Planungsräume is a job for the command line); every rendered report is kept in a
//! bounded cache (the data are immutable while the server runs), so a repeated request costs
//! nothing.

use crate::api::Ctx;
use crate::catalog::Catalog;
use crate::error::ApiError;
use crate::work::WorkLimiter;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kleinraum_load::config::{ReportClassification, ReportConfig};
use kleinraum_report::{Format, ReportError, ReportKind, ReportMeta, ReportRequest};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Steckbrief sets over HTTP: at most this many areas in one document.
pub const MAX_SET_AREAS: usize = 150;
/// Rendered reports kept in memory, in bytes.
#[doc(hidden)] // public for tests/it/units
pub const CACHE_BYTES: usize = 256 * 1024 * 1024;
/// Longest accepted parameter value (ids, keys).
const MAX_PARAM: usize = 64;

/// The report set-up of a server.
pub struct Reports {
    /// The `[report]` template.
    pub config: ReportConfig,
    /// Municipality, Gebietsstand, logo, date.
    pub meta: ReportMeta,
    limiter: WorkLimiter,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reports")
            .field("municipality", &self.meta.municipality)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
#[doc(hidden)] // public for tests/it/units
pub struct Cache {
    map: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Cache {
    #[doc(hidden)] // public for tests/it/units
    pub fn put(&mut self, key: String, value: Bytes) {
        if value.len() > CACHE_BYTES / 4 || self.map.contains_key(&key) {
            return;
        }
        while self.bytes + value.len() > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.map.remove(&old) {
                self.bytes -= v.len();
            }
        }
        self.bytes += value.len();
        self.order.push_back(key.clone());
        self.map.insert(key, value);
    }

    /// Bytes held (what the bound applies to).
    #[doc(hidden)] // public for tests/it/units
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    #[doc(hidden)] // public for tests/it/units
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }
}

impl Reports {
    /// One report at a time; a request waits up to `queue_timeout` for its turn.
    pub fn new(config: ReportConfig, meta: ReportMeta, queue_timeout: Duration) -> Reports {
        Reports {
            config,
            meta,
            // The budget is not checked inside the typesetter; the work is bounded by the data
            // (see MAX_SET_AREAS), not by the client.
            limiter: WorkLimiter::new(1, queue_timeout, Duration::from_secs(60)),
            cache: Mutex::new(Cache::default()),
        }
    }
}

fn bounded<'a>(ctx: &'a Ctx, name: &str) -> Result<Option<&'a str>, ApiError> {
    let v = ctx
        .pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    if let Some(v) = v
        && (v.is_empty() || v.len() > MAX_PARAM)
    {
        return Err(ApiError::BadRequest(format!(
            "{name}: 1 to {MAX_PARAM} characters expected"
        )));
    }
    Ok(v)
}

/// Parses and checks a report request against the data (400/404 before any work).
pub fn parse_request(cat: &Catalog, kind: &str, ctx: &Ctx) -> Result<ReportRequest, ApiError> {
    crate::query::check_params(
        &ctx.pairs,
        &[
            "level",
            "year",
            "area",
            "indicator",
            "method",
            "classes",
            "format",
        ],
    )?;
    let kind = ReportKind::parse(kind).ok_or_else(|| {
        ApiError::NotFound(format!(
            "no report '{kind}'; reports: monitoring, steckbrief, sozialraumgebiete, karte"
        ))
    })?;
    let format = match bounded(ctx, "format")? {
        None => Format::Pdf,
        Some(f) => Format::parse(f).ok_or_else(|| {
            ApiError::BadRequest(format!("format '{f}' is not offered; use pdf or docx"))
        })?,
    };
    let year = bounded(ctx, "year")?
        .map(|y| {
            y.parse::<i32>()
                .map_err(|_| ApiError::BadRequest(format!("year '{y}' is not a year")))
        })
        .transpose()?;
    let method = bounded(ctx, "method")?
        .map(|m| match m {
            "quantile" => Ok(ReportClassification::Quantile),
            "equal" => Ok(ReportClassification::Equal),
            "jenks" => Ok(ReportClassification::Jenks),
            other => Err(ApiError::BadRequest(format!(
                "method '{other}': use quantile, equal or jenks"
            ))),
        })
        .transpose()?;
    let classes = bounded(ctx, "classes")?
        .map(|k| match k.parse::<usize>() {
            Ok(k) if (2..=7).contains(&k) => Ok(k),
            _ => Err(ApiError::BadRequest(format!("classes '{k}': 2 to 7"))),
        })
        .transpose()?;
    let req = ReportRequest {
        method,
        classes,
        kind,
        level: bounded(ctx, "level")?.map(str::to_string),
        year,
        area: bounded(ctx, "area")?.map(str::to_string),
        indicator: bounded(ctx, "indicator")?.map(str::to_string),
        format,
    };
    if req.area.is_some() && kind != ReportKind::Steckbrief {
        return Err(ApiError::BadRequest(
            "area: only the steckbrief report is made for one area".into(),
        ));
    }
    if (req.indicator.is_some() || req.method.is_some() || req.classes.is_some())
        && kind != ReportKind::Karte
    {
        return Err(ApiError::BadRequest(
            "indicator, method, classes: only for the karte report (one indicator)".into(),
        ));
    }
    if kind == ReportKind::Steckbrief && req.area.is_none() {
        let level = req
            .level
            .as_deref()
            .or_else(|| cat.result.levels.first().map(|l| l.key.as_str()));
        if let Some(l) = level.and_then(|l| cat.result.level(l))
            && l.areas.len() > MAX_SET_AREAS
        {
            return Err(ApiError::TooExpensive(format!(
                "the Steckbriefe of all {} areas of '{}' are too many for one request (at most {MAX_SET_AREAS}); ask for one area with area=ID, or make the whole set with `kleinraum report CONFIG --kind steckbrief`",
                l.areas.len(),
                l.key
            )));
        }
    }
    Ok(req)
}

/// The OpenAPI paths of the reports (only when the server makes reports).
pub fn openapi_paths(cat: &Catalog) -> Vec<(String, serde_json::Value)> {
    use serde_json::json;
    if cat.reports.is_none() {
        return Vec::new();
    }
    let levels: Vec<&str> = cat
        .result
        .levels
        .iter()
        .filter(|l| l.key != kleinraum_aggregate::aggregate::TOTAL_LEVEL_KEY)
        .map(|l| l.key.as_str())
        .collect();
    let years = &cat.result.years;
    let mut indicators: Vec<String> = cat.result.indicators.iter().map(|i| i.id.clone()).collect();
    indicators.extend(
        cat.result
            .indices
            .iter()
            .map(|i| format!("{}_status_class", i.id)),
    );
    let p = |name: &str, description: &str, schema: serde_json::Value| json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema, "style": "form", "explode": false});
    let level = p(
        "level",
        "Ebene (Standard: die Ebene des Index, sonst die feinste)",
        json!({"type": "string", "enum": levels}),
    );
    let year = p(
        "year",
        "Jahr (Standard: das letzte Jahr mit Indexwerten)",
        json!({"type": "integer", "enum": years}),
    );
    let format = p(
        "format",
        "Dateiformat",
        json!({"type": "string", "enum": ["pdf", "docx"], "default": "pdf"}),
    );
    let area = p(
        "area",
        "Ein Gebiet (seine ID); ohne: alle Gebiete der Ebene (höchstens 150)",
        json!({"type": "string", "minLength": 1, "maxLength": MAX_PARAM}),
    );
    let method = p(
        "method",
        "Klassenbildung der Karte (Standard: aus der Konfiguration)",
        json!({"type": "string", "enum": ["quantile", "equal", "jenks"]}),
    );
    let classes = p(
        "classes",
        "Anzahl der Klassen der Karte",
        json!({"type": "integer", "minimum": 2, "maximum": 7}),
    );
    let indicator = p(
        "indicator",
        "Indikator der Karte",
        json!({"type": "string", "enum": indicators}),
    );
    let responses = json!({
        "200": {"description": "Der Bericht als Datei", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {"schema": {"type": "string", "format": "binary"}}}},
        "304": {"description": "Nicht geändert (If-None-Match)"},
        "default": {"description": "Fehler (400 ungültiger Parameter oder zu aufwendig, 404 nicht gefunden, 503 ausgelastet)",
                    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
    });
    let op = |summary: &str, params: Vec<serde_json::Value>| json!({"get": {"summary": summary, "parameters": params, "responses": responses.clone()}});
    vec![
        (
            "/reports/monitoring".into(),
            op(
                "Monitoring-Bericht (PDF oder DOCX)",
                vec![level.clone(), year.clone(), format.clone()],
            ),
        ),
        (
            "/reports/steckbrief".into(),
            op(
                "Steckbrief eines Gebiets oder aller Gebiete einer Ebene",
                vec![level.clone(), year.clone(), area, format.clone()],
            ),
        ),
        (
            "/reports/sozialraumgebiete".into(),
            op(
                "Vorlage zu den Sozialraumgebieten",
                vec![level.clone(), year.clone(), format.clone()],
            ),
        ),
        (
            "/reports/karte".into(),
            op(
                "Karte eines Indikators auf einer A4-Seite (quer)",
                vec![level, year, indicator, method, classes, format],
            ),
        ),
    ]
}

fn cache_key(r: &ReportRequest) -> String {
    format!(
        "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
        r.kind.as_str(),
        r.level,
        r.year,
        r.area,
        r.indicator,
        r.method,
        r.classes,
        r.format.ext()
    )
}

#[doc(hidden)] // public for tests/it/units
pub fn file_name(r: &ReportRequest) -> String {
    let mut parts = vec![r.kind.as_str().to_string()];
    for p in [&r.level, &r.area, &r.indicator].into_iter().flatten() {
        parts.push(p.clone());
    }
    if let Some(y) = r.year {
        parts.push(y.to_string());
    }
    let name: String = parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.{}", r.format.ext())
}

/// `GET /reports/{kind}?level=&year=&area=&indicator=&format=pdf|docx`.
pub async fn report(
    State(cat): State<Arc<Catalog>>,
    Path(kind): Path<String>,
    ctx: Ctx,
) -> Result<Response, ApiError> {
    let Some(reports) = cat.reports.clone() else {
        return Err(ApiError::NotImplemented(
            "this server makes no reports".into(),
        ));
    };
    let req = parse_request(&cat, &kind, &ctx)?;
    let key = cache_key(&req);
    let cached = reports
        .cache
        .lock()
        .map_err(|_| ApiError::Internal("report cache poisoned".into()))?
        .map
        .get(&key)
        .cloned();
    let body = match cached {
        Some(b) => b,
        None => {
            let (cat2, reports2, req2) = (cat.clone(), reports.clone(), req.clone());
            let bytes = reports
                .limiter
                .run(move |_deadline| {
                    kleinraum_report::render(&cat2.result, &reports2.config, &reports2.meta, &req2)
                        .map_err(|e| match e {
                            ReportError::Parameter { .. } => ApiError::BadRequest(e.to_string()),
                            other => {
                                tracing::error!(error = %other, "report failed");
                                ApiError::Internal("the report could not be made".into())
                            }
                        })
                })
                .await?;
            let b = Bytes::from(bytes);
            if let Ok(mut c) = reports.cache.lock() {
                c.put(key, b.clone());
            }
            b
        }
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(req.format.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file_name(&req))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
