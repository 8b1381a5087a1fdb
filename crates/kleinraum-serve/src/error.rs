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
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "InvalidParameterValue",
            ApiError::NotFound(_) => "NotFound",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::NotImplemented(_) => "NotImplemented",
        }
    }
}

/// Renders a problem document.
pub fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
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
        problem(self.status(), self.code(), &self.to_string())
    }
}
