//! A cache of gzip-compressed response bodies.
//!
//! The served data never change while the process runs, so the same request always yields the
//! same body. Compressing a whole Berlin level (5.7 MB) costs ~50 ms per request; here it is
//! done once per distinct request and then served from memory. Responses that are not `200`,
//! already encoded, or small pass through untouched; the general compression layer outside
//! still handles those.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Bodies smaller than this are left to the streaming compression layer.
const MIN_BYTES: usize = 16 * 1024;
/// Largest body rendered into the cache (the biggest download is well below this); larger
/// ones pass through to the streaming compression layer.
const MAX_BODY: usize = 256 * 1024 * 1024;
/// Bodies up to this size are compressed at the default level, larger ones at the fast level.
const BEST_UP_TO: usize = 2 * 1024 * 1024;
/// Most entries kept (the key includes the query string, which clients choose freely).
const MAX_ENTRIES: usize = 2_048;

/// What a cached body depends on: the request target, content negotiation (`Accept`) and the
/// base URL its links are built on (which depends on `Host` or the configured public URL).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    uri: String,
    accept: String,
    base: String,
}

#[derive(Debug)]
struct Entry {
    headers: HeaderMap,
    body: Bytes,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Lru {
    map: HashMap<Key, Entry>,
    used: usize,
    tick: u64,
}

/// The cache, bounded in total size and in entries; the least recently used entries go first.
#[derive(Debug)]
pub struct GzipCache {
    inner: Mutex<Lru>,
    capacity: usize,
}

impl GzipCache {
    /// An empty cache holding at most `capacity` compressed bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Lru::default()),
            capacity,
        }
    }

    fn get(&self, key: &Key) -> Option<(HeaderMap, Bytes)> {
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        lru.tick += 1;
        let tick = lru.tick;
        let e = lru.map.get_mut(key)?;
        e.last_used = tick;
        Some((e.headers.clone(), e.body.clone()))
    }

    fn put(&self, key: Key, headers: HeaderMap, body: Bytes) {
        if body.len() > self.capacity {
            return;
        }
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        lru.tick += 1;
        let tick = lru.tick;
        if let Some(old) = lru.map.remove(&key) {
            lru.used -= old.body.len();
        }
        while lru.used + body.len() > self.capacity || lru.map.len() >= MAX_ENTRIES {
            // Linear scan: the map holds at most MAX_ENTRIES entries, and this runs only when a
            // new body is rendered, which costs far more.
            let Some(oldest) = lru
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = lru.map.remove(&oldest) {
                lru.used -= e.body.len();
            }
        }
        lru.used += body.len();
        lru.map.insert(
            key,
            Entry {
                headers,
                body,
                last_used: tick,
            },
        );
    }

    /// Number of cached bodies and their total size (for tests and logs).
    pub fn stats(&self) -> (usize, usize) {
        let lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (lru.map.len(), lru.used)
    }
}

/// Whether the client accepts gzip (`gzip` listed without `q=0`).
#[doc(hidden)] // public for tests/it/units
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let q_zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !q_zero
        })
}

fn gzipped(headers: &HeaderMap, body: &Bytes) -> Response {
    let mut res = Response::new(Body::from(body.clone()));
    *res.headers_mut() = headers.clone();
    res
}

/// Middleware: serve a cached gzip body, or render, compress and remember it.
pub async fn precompress(
    State(cache): State<Arc<GzipCache>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() != Method::GET || !accepts_gzip(req.headers()) {
        return next.run(req).await;
    }
    let key = Key {
        uri: req.uri().to_string(),
        accept: req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        base: req
            .extensions()
            .get::<crate::net::BaseUrl>()
            .map(|b| b.0.clone())
            .unwrap_or_default(),
    };
    if let Some((headers, body)) = cache.get(&key) {
        // A hit bypasses the ETag layer inside, so answer conditional requests here.
        if let (Some(tag), Some(inm)) = (
            headers.get(header::ETAG),
            req.headers().get(header::IF_NONE_MATCH),
        ) && inm.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().as_bytes() == tag.as_bytes())
        }) {
            let mut res = Response::new(Body::empty());
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            res.headers_mut().insert(header::ETAG, tag.clone());
            for name in [header::CACHE_CONTROL, header::VARY] {
                if let Some(v) = headers.get(&name) {
                    res.headers_mut().insert(name, v.clone());
                }
            }
            return res;
        }
        return gzipped(&headers, &body);
    }
    let res = next.run(req).await;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::CONTENT_ENCODING) {
        return res;
    }
    // Only bodies of known, bounded size are collected (the handlers render whole bodies, so
    // the size is exact); anything else streams through untouched.
    let size = axum::body::HttpBody::size_hint(res.body()).exact();
    if !size.is_some_and(|n| (MIN_BYTES..=MAX_BODY).contains(&(n as usize))) {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "response body could not be read for compression");
            return crate::error::problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "internal error",
            );
        }
    };
    let compressed = {
        // Compressed once, then served from memory: bodies up to a few megabytes (values of a
        // year, simplified outlines) get the default level (a third smaller, tens of ms once);
        // whole levels and downloads the fast one, so their first request stays quick.
        let level = if bytes.len() <= BEST_UP_TO {
            flate2::Compression::default()
        } else {
            flate2::Compression::fast()
        };
        let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), level);
        match enc.write_all(&bytes).and_then(|()| enc.finish()) {
            Ok(v) => Bytes::from(v),
            Err(_) => return Response::from_parts(parts, Body::from(bytes)),
        }
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    parts
        .headers
        .append(header::VARY, HeaderValue::from_static("accept-encoding"));
    cache.put(key, parts.headers.clone(), compressed.clone());
    Response::from_parts(parts, Body::from(compressed))
}
