//! kleinraum-serve: the axum application serving a [`kleinraum_aggregate::AggregateResult`] as
//! OGC API – Features (Part 1 Core/GeoJSON/HTML/OAS 3.0, Part 2 CRS, Part 3 queryables and
//! CQL2-text filter), plus the indicator catalogue, per-area time series, index rankings,
//! downloads and the web map's files.
//!
//! Owns: HTTP. Must not: do I/O on data files, reproject per request, link PROJ or GDAL, or hold
//! address-level data. [`Catalog::build`] does every costly step once; handlers assemble
//! responses from pre-rendered pieces.
//!
//! ```no_run
//! # async fn f(catalog: kleinraum_serve::Catalog) -> std::io::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! kleinraum_serve::serve(listener, std::sync::Arc::new(catalog)).await
//! # }
//! ```

pub mod api;
pub mod auth;
pub mod catalog;
pub mod cql;
pub mod crs;
pub mod error;
pub mod net;
pub mod openapi;
pub mod precompressed;
pub mod query;
pub mod redefine;
pub mod reports;
pub mod simplify;
pub mod work;

pub use catalog::{BuildError, Catalog, DownloadFormat, Settings};
pub use crs::OutputCrs;
pub use error::ApiError;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The router with every route and the middleware stack (trace, compression, timeout,
/// catch-panic, CORS when configured, ETag/Cache-Control).
pub fn app(state: Arc<Catalog>) -> Router {
    app_with(state, None)
}

/// As [`app`], plus the Gebietsstände routes (versions, drafts, comparisons) when given.
pub fn app_with(state: Arc<Catalog>, redefine: Option<Arc<redefine::RedefineState>>) -> Router {
    let api = Router::new()
        .route("/", get(api::landing))
        .route("/api", get(openapi::api))
        .route("/conformance", get(api::conformance))
        .route("/collections", get(api::collections))
        .route("/collections/{id}", get(api::collection))
        .route("/collections/{id}/items", get(api::items))
        .route("/collections/{id}/items/{fid}", get(api::item))
        .route(
            "/collections/{id}/items/{fid}/timeseries",
            get(api::timeseries),
        )
        .route("/collections/{id}/queryables", get(api::queryables))
        .route("/collections/{id}/schema", get(api::schema))
        .route("/collections/{id}/feature-schema", get(api::feature_schema))
        .route("/collections/{id}/index", get(api::index_ranking))
        .route("/collections/{id}/download", get(api::download))
        .route("/collections/{id}/missing", get(api::missing))
        .route("/indicators", get(api::indicators))
        .route("/map-config", get(api::map_config))
        .route("/reports/{kind}", get(reports::report))
        .layer(middleware::from_fn_with_state(state.clone(), etag))
        // Whole levels and downloads compressed once, then served from memory (inside the
        // general compression layer, which leaves encoded responses alone).
        .layer(middleware::from_fn_with_state(
            Arc::new(precompressed::GzipCache::new(128 * 1024 * 1024)),
            precompressed::precompress,
        ))
        .with_state(state.clone());
    let mut router = api;
    if let Some(r) = redefine {
        router = router.merge(redefine::router(r));
    }
    if let Some(dir) = &state.settings.web_dir {
        router = router.nest_service(
            "/map",
            ServeDir::new(dir).append_index_html_on_directories(true),
        );
    }
    router = router.fallback(api::not_found);
    let router = router
        .layer(CatchPanicLayer::custom(|_| {
            error::problem(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "internal error")
        }))
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, state.settings.timeout))
        // Fastest level: a 5.7 MB level compresses in tens of ms instead of ~0.4 s at default.
        .layer(CompressionLayer::new().quality(tower_http::CompressionLevel::Fastest))
        // URL length limit and the base URL of links (before every cache that keys on it).
        .layer(middleware::from_fn_with_state(
            Arc::new(state.settings.proxy.clone()),
            net::request_context,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri())
                })
                .on_response(
                    |resp: &Response, latency: std::time::Duration, _span: &tracing::Span| {
                        tracing::info!(status = resp.status().as_u16(), latency_us = latency.as_micros() as u64, "response");
                    },
                ),
        );
    if state.settings.cors_origins.is_empty() {
        router
    } else {
        let origins: Vec<HeaderValue> = state
            .settings
            .cors_origins
            .iter()
            .filter_map(|o| HeaderValue::from_str(o).ok())
            .collect();
        router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::HEAD,
                    Method::OPTIONS,
                    Method::POST,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        )
    }
}

/// ETag from the dataset version and everything the body depends on (the request target,
/// `Accept`, the base URL of its links); `If-None-Match` → 304 before any rendering. Every
/// answer says it varies with `Accept` (shared caches must not hand HTML to a JSON client).
async fn etag(State(cat): State<Arc<Catalog>>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    cat.version.hash(&mut h);
    req.uri().hash(&mut h);
    req.headers()
        .get(header::ACCEPT)
        .map(|v| v.as_bytes())
        .hash(&mut h);
    req.extensions()
        .get::<net::BaseUrl>()
        .map(|b| b.0.as_str())
        .hash(&mut h);
    let tag = format!("W/\"{:016x}\"", h.finish());
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let cache = HeaderValue::from_static("public, max-age=300");
    let vary = HeaderValue::from_static("accept");
    if matches {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&tag) {
            r.headers_mut().insert(header::ETAG, v);
        }
        r.headers_mut().insert(header::CACHE_CONTROL, cache);
        r.headers_mut().append(header::VARY, vary);
        return r;
    }
    let mut resp = next.run(req).await;
    resp.headers_mut().append(header::VARY, vary);
    if resp.status() == StatusCode::OK {
        if let Ok(v) = HeaderValue::from_str(&tag) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        resp.headers_mut().insert(header::CACHE_CONTROL, cache);
    }
    resp
}

/// Serves `catalog` on `listener` until SIGINT or SIGTERM, then drains open requests.
/// Logs `listening on http://ADDR` once bound (tests read the port from it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    catalog: Arc<Catalog>,
) -> std::io::Result<()> {
    serve_with(listener, catalog, None).await
}

/// As [`serve`], with the Gebietsstände routes.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    catalog: Arc<Catalog>,
    redefine: Option<Arc<redefine::RedefineState>>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let limits = catalog.settings.limits.clone();
    tracing::info!("listening on http://{addr}");
    net::serve_router(
        listener,
        app_with(catalog, redefine),
        limits,
        shutdown_signal(),
    )
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
