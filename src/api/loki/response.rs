//! What every Loki endpoint function returns: a status, a content type and
//! a body, built without axum so the endpoints can be tested as plain
//! functions. Errors are Loki's plain-text bodies (`http.Error` style: the
//! message and a newline).

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// `application/json; charset=UTF-8`, as Loki sends.
pub const JSON: &str = "application/json; charset=UTF-8";
/// Loki's error bodies.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// A finished HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: String,
}

impl ApiResponse {
    /// 200 with a JSON document.
    pub fn json(body: String) -> Self {
        ApiResponse {
            status: StatusCode::OK,
            content_type: JSON,
            body,
        }
    }

    /// A plain-text error as Loki writes it.
    pub fn error(status: StatusCode, msg: &str) -> Self {
        ApiResponse {
            status,
            content_type: TEXT,
            body: format!("{msg}\n"),
        }
    }

    /// 400 with Loki's plain-text message.
    pub fn bad_request(msg: &str) -> Self {
        Self::error(StatusCode::BAD_REQUEST, msg)
    }

    /// 404 as Go's mux answers unknown paths.
    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "404 page not found")
    }
}

impl From<ApiError> for ApiResponse {
    fn from(e: ApiError) -> Self {
        ApiResponse::error(e.status, &e.message)
    }
}

impl IntoResponse for ApiResponse {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, self.content_type)],
            self.body,
        )
            .into_response()
    }
}

/// An error on the way to a response: status and plain-text message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: msg.into(),
        }
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: msg.into(),
        }
    }
}

impl From<crate::logs::SourceError> for ApiError {
    fn from(e: crate::logs::SourceError) -> Self {
        match e {
            crate::logs::SourceError::Limit(m) => ApiError::bad(m),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<crate::logql::eval::QueryError> for ApiError {
    fn from(e: crate::logql::eval::QueryError) -> Self {
        use crate::logql::eval::QueryError as Q;
        match e {
            Q::Bad(m) | Q::Limit(m) => ApiError::bad(m),
            // Loki answers a timed-out query with 504 and this text.
            Q::Timeout => ApiError {
                status: StatusCode::GATEWAY_TIMEOUT,
                message: "context deadline exceeded".into(),
            },
            Q::Source(s) => s.into(),
        }
    }
}

/// Runs a fallible endpoint body and turns its error into Loki's answer.
pub fn respond(r: Result<ApiResponse, ApiError>) -> ApiResponse {
    r.unwrap_or_else(ApiResponse::from)
}
