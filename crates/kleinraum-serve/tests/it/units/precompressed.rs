use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use bytes::Bytes;
use kleinraum_serve::precompressed::*;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

static RENDERED: AtomicUsize = AtomicUsize::new(0);

async fn big() -> Response {
    RENDERED.fetch_add(1, Ordering::SeqCst);
    let body: String = (0..20_000).map(|i| format!("{i},")).collect();
    let mut res = Response::new(Body::from(body));
    res.headers_mut()
        .insert(header::ETAG, HeaderValue::from_static("W/\"v1\""));
    res
}

async fn send(app: &Router, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().uri("/big");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        axum::body::to_bytes(body, usize::MAX).await.unwrap(),
    )
}

#[tokio::test]
async fn large_bodies_are_compressed_once_and_served_from_the_cache() {
    let cache = Arc::new(GzipCache::new(1 << 20));
    let app = Router::new()
        .route("/big", get(big))
        .layer(axum::middleware::from_fn_with_state(cache, precompress));
    let (s, h, plain) = send(&app, &[]).await;
    assert_eq!((s, h.get(header::CONTENT_ENCODING)), (StatusCode::OK, None));
    let before = RENDERED.load(Ordering::SeqCst);
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let (s, h, gz) = send(&app, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(h[header::CONTENT_ENCODING], "gzip");
        assert_eq!(h[header::ETAG], "W/\"v1\"");
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(gz.as_ref())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(
            out,
            plain.as_ref(),
            "gzip body decodes to the identity body"
        );
        assert!(gz.len() < plain.len(), "compressed body is smaller");
        bodies.push(gz);
    }
    assert_eq!(
        RENDERED.load(Ordering::SeqCst) - before,
        1,
        "rendered once, then cached"
    );
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let (s, _, body) = send(
        &app,
        &[("accept-encoding", "gzip"), ("if-none-match", "W/\"v1\"")],
    )
    .await;
    assert_eq!((s, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (s, h, _) = send(&app, &[("accept-encoding", "gzip;q=0")]).await;
    assert_eq!((s, h.get(header::CONTENT_ENCODING)), (StatusCode::OK, None));
}

fn h(v: &str) -> HeaderMap {
    let mut m = HeaderMap::new();
    m.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
    m
}

#[test]
fn accept_encoding_is_parsed_with_weights() {
    assert!(accepts_gzip(&h("gzip, deflate, br")));
    assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
    assert!(accepts_gzip(&h("*")));
    assert!(!accepts_gzip(&h("gzip;q=0")));
    assert!(!accepts_gzip(&h("br")));
    assert!(!accepts_gzip(&HeaderMap::new()));
}
