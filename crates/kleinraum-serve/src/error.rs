//! Errors as OGC exception documents (`application/problem+json`, RFC 9457).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answered to the client. The message is written for the client; it never contains
/// address-level data (the server holds none).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// A query parameter or path segment is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The representation asked for is not offered (406).
    #[error("{0}")]
    NotAcceptable(String),
    /// The feature exists in principle but this server cannot render it (501).
    #[error("{0}")]
    NotImplemented(String),
    /// The request would need more computing time than a request may use (400: retrying the
    /// same request will not help; a simpler one will).
    #[error("{0}")]
    TooExpensive(String),
    /// The server is busy with other costly requests (503, with `Retry-After`).
    #[error("{0}")]
    Busy(String),
    /// The URL or a header is longer than the server accepts (414).
    #[error("{0}")]
    UriTooLong(String),
    /// A fault of the server (500); the details are logged, not sent.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::TooExpensive(_) => StatusCode::BAD_REQUEST,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "InvalidParameterValue",
            ApiError::NotFound(_) => "NotFound",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::NotImplemented(_) => "NotImplemented",
            ApiError::TooExpensive(_) => "TooExpensive",
            ApiError::Busy(_) => "Busy",
            ApiError::UriTooLong(_) => "UriTooLong",
            ApiError::Internal(_) => "InternalError",
        }
    }
}

/// Renders a problem document with the status's standard title.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    problem_titled(
        status,
        status.canonical_reason().unwrap_or("Error"),
        code,
        detail,
    )
}

/// Renders a problem document (the one path every error of the server takes to the client).
pub fn problem_titled(status: StatusCode, title: &str, code: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://httpstatuses.io/{}", status.as_u16()),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
        "code": code,
        "description": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::debug!(status = self.status().as_u16(), error = %self, "request rejected");
        let mut r = problem(self.status(), self.code(), &self.to_string());
        if matches!(self, ApiError::Busy(_)) {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        r
    }
}
