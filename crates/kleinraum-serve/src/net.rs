//! The connection layer: accepting TCP connections with bounded resources, and deciding which
//! base URL the links in a response carry (behind a reverse proxy or not).
//!
//! Why not `axum::serve`: it sets no header-read timeout and no connection cap, so a client
//! that opens connections and sends nothing (or one byte a minute) exhausts the file
//! descriptors. Here every connection gets
//! - `TCP_NODELAY` (small responses are not held back by Nagle's algorithm waiting for the
//!   client's delayed ACK: ~40 ms per static file on keep-alive connections otherwise);
//! - a header-read timeout that also bounds the idle time between requests on a keep-alive
//!   connection (hyper starts it whenever it waits for a request head);
//! - a slot under a global cap and a per-client-address cap (trusted reverse proxies are
//!   exempt from the latter: every request arrives from their address). A connection over a
//!   cap is closed at once, so the server keeps accepting and answering the others.

use crate::error::ApiError;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// The address of the TCP peer, set on every request by [`serve_router`].
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// An IP network (`10.0.0.0/8`, `::1/128`, or a single address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `addr/n`.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (a, p) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("'{s}' is not an IP address or network (e.g. 10.0.0.0/8)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("'{s}': prefix length must be 0–{max}"))?,
        };
        Ok(IpNet { addr, prefix })
    }

    /// Whether `ip` lies in the network (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// How links are made absolute.
#[derive(Debug, Clone, Default)]
pub struct ProxyPolicy {
    /// The configured public base URL (`https://geo.kreis.de/kleinraum`, no trailing slash):
    /// used for every link when set.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-Proto`, `-Host` and `-Prefix` headers are honoured.
    /// From anyone else these headers are ignored (a client could otherwise put any host into
    /// the links of responses that caches then hand to others).
    pub trusted_proxies: Vec<IpNet>,
}

impl ProxyPolicy {
    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.trusted_proxies.iter().any(|n| n.contains(ip)))
    }
}

/// Checks and normalises a configured public URL: `http(s)://host[:port][/prefix]`, returned
/// without a trailing slash.
pub fn parse_public_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| format!("public_url '{s}' must start with http:// or https://"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if !valid_host(host) {
        return Err(format!(
            "public_url '{s}': '{host}' is not a host name[:port]"
        ));
    }
    if path.contains(['?', '#', ' ', '"', '<', '>', '\\']) {
        return Err(format!(
            "public_url '{s}': the path may not contain a query, fragment, spaces or quotes"
        ));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// A Host header value safe to put into links: `name[:port]` or `[v6]:port`, ASCII letters,
/// digits, `-`, `.`, `:`, `[`, `]`, `_` only.
fn valid_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
}

/// A path prefix from `X-Forwarded-Prefix`: `/a/b`, without trailing slash.
fn valid_prefix(p: &str) -> Option<String> {
    let p = p.trim().trim_end_matches('/');
    if p.is_empty() {
        return Some(String::new());
    }
    (p.starts_with('/')
        && p.len() <= 200
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)))
    .then(|| p.to_string())
}

/// The base URL (`scheme://host[/prefix]`) links of this request are built on.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

/// Computes the base URL of a request under `policy`.
pub fn base_url(
    policy: &ProxyPolicy,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<String, ApiError> {
    if let Some(u) = &policy.public_url {
        return Ok(u.clone());
    }
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    // A proxy may list several values (one per hop): the first is the client's view.
    let first = |v: &str| v.split(',').next().unwrap_or("").trim().to_string();
    let trusted = policy.trusts(peer);
    let forwarded_host = h("x-forwarded-host").filter(|_| trusted).map(first);
    let host = match forwarded_host {
        Some(fh) => fh,
        None => h(header::HOST.as_str()).unwrap_or("localhost").to_string(),
    };
    if !valid_host(&host) {
        return Err(ApiError::BadRequest(format!(
            "the Host header '{}' is not a host name",
            host.chars().take(64).collect::<String>()
        )));
    }
    let proto = match h("x-forwarded-proto").filter(|_| trusted).map(first) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let prefix = match h("x-forwarded-prefix").filter(|_| trusted).map(first) {
        Some(p) => valid_prefix(&p)
            .ok_or_else(|| ApiError::BadRequest("X-Forwarded-Prefix is not a URL path".into()))?,
        None => String::new(),
    };
    Ok(format!("{proto}://{host}{prefix}"))
}

/// Longest accepted request target (path and query), in bytes.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Middleware: refuses over-long URLs (414), and puts the request's [`BaseUrl`] into its
/// extensions for the handlers and the response caches.
pub async fn request_context(
    axum::extract::State(policy): axum::extract::State<Arc<ProxyPolicy>>,
    mut req: Request,
    next: Next,
) -> Response {
    let len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if len > MAX_URI_BYTES {
        return ApiError::UriTooLong(format!(
            "the URL is {len} bytes long; at most {MAX_URI_BYTES} are accepted"
        ))
        .into_response();
    }
    let peer = req.extensions().get::<PeerAddr>().map(|p| p.0.ip());
    match base_url(&policy, peer, req.headers()) {
        Ok(b) => {
            req.extensions_mut().insert(BaseUrl(b));
            next.run(req).await
        }
        Err(e) => e.into_response(),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<BaseUrl>()
            .cloned()
            .unwrap_or_else(|| BaseUrl("http://localhost".into())))
    }
}

/// Resource limits of the connection layer.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// Open connections at most (keep it below the process's file-descriptor limit).
    pub max_connections: usize,
    /// Open connections per client address at most (trusted proxies are exempt).
    pub max_per_ip: usize,
    /// Time a client has to send a request head, also between requests on a kept-alive
    /// connection.
    pub header_read_timeout: Duration,
    /// Addresses exempt from the per-address cap.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_per_ip: 64,
            header_read_timeout: Duration::from_secs(10),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A connection's place under the caps, given back when it is dropped.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: Option<IpAddr>,
}

impl Slot {
    fn acquire(counts: &Arc<Mutex<Counts>>, ip: IpAddr, limits: &ConnLimits) -> Option<Slot> {
        let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= limits.max_connections {
            return None;
        }
        let exempt = limits.trusted_proxies.iter().any(|n| n.contains(ip));
        if !exempt {
            let n = c.per_ip.entry(ip).or_insert(0);
            if *n >= limits.max_per_ip {
                return None;
            }
            *n += 1;
        }
        c.total += 1;
        Some(Slot {
            counts: counts.clone(),
            ip: (!exempt).then_some(ip),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(ip) = self.ip
            && let Some(n) = c.per_ip.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&ip);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish
/// (at most 30 s). Every request carries its [`PeerAddr`].
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let counts = Arc::new(Mutex::new(Counts::default()));
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors (EMFILE) or a connection reset before accept:
                    // wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = Slot::acquire(&counts, peer.ip(), &limits) else {
            refused += 1;
            if refused.is_power_of_two() {
                tracing::warn!(peer = %peer, refused, "connection limit reached: connection closed");
            }
            drop(stream);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let svc = router
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(PeerAddr(peer));
                req
            });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            // Request heads above 64 KiB are refused (431); URLs are limited to 16 KiB anyway.
            .max_buf_size(64 * 1024)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(svc),
            );
        let fut = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = fut.await {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(30)) => {
            tracing::warn!("open connections did not finish within 30 s; stopping anyway");
        }
    }
    Ok(())
}
