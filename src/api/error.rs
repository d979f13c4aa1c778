//! Errors of the Prometheus-compatible API in Prometheus' own shape:
//! `{"status":"error","errorType":"bad_data","error":"..."}` with the status
//! codes Grafana expects (400 bad_data, 422 execution, 503 timeout, ...).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::promql::QueryError;

#[derive(Debug)]
pub struct PromError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl PromError {
    pub fn bad_data(msg: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::BAD_REQUEST,
            error_type: "bad_data",
            message: msg.into(),
            retry_after: None,
        }
    }
    pub fn execution(msg: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            error_type: "execution",
            message: msg.into(),
            retry_after: None,
        }
    }
    pub fn timeout(msg: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error_type: "timeout",
            message: msg.into(),
            retry_after: None,
        }
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "internal",
            message: msg.into(),
            retry_after: None,
        }
    }
    pub fn unavailable(msg: impl Into<String>) -> Self {
        PromError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            error_type: "unavailable",
            message: msg.into(),
            retry_after: Some(1),
        }
    }
    pub fn too_many_queries() -> Self {
        PromError {
            status: StatusCode::TOO_MANY_REQUESTS,
            error_type: "unavailable",
            message: "too many concurrent queries, try again later".into(),
            retry_after: Some(1),
        }
    }
}

impl From<QueryError> for PromError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::BadData(m) => PromError::bad_data(m),
            QueryError::Execution(m) => PromError::execution(m),
            e @ QueryError::TooManySamples => PromError::execution(e.to_string()),
            QueryError::Timeout => PromError::timeout("query timed out in expression evaluation"),
            QueryError::Storage(s) => PromError::internal(s.to_string()),
        }
    }
}

impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.error_type,
            "error": self.message,
        });
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
