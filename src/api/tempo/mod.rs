//! The Tempo HTTP API as Grafana's Tempo datasource calls it: the routes,
//! Tempo's plain-text errors, the echo and build-info endpoints, and the
//! common path of every query (tenant, query gate, blocking pool,
//! timeout). Each endpoint family lives in its own module: [`trace_by_id`],
//! [`search`], [`tags`]; parameters in [`params`], encodings in [`json`]
//! and [`proto`].

pub mod json;
pub mod params;
pub mod proto;
pub mod search;
pub mod tags;
pub mod trace_by_id;

#[cfg(test)]
mod tests;

use std::time::Instant;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::model::TenantId;
use crate::server::state::SharedState;

/// The Tempo version Cairn reports: Grafana enables features by it.
pub const TEMPO_VERSION: &str = "2.7.2";

/// Every route of the Tempo query API.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/api/echo", get(echo))
        .route("/api/status/buildinfo", get(buildinfo))
        .route("/api/traces/{id}", get(trace_by_id::v1))
        .route("/api/v2/traces/{id}", get(trace_by_id::v2))
        .route("/api/search", get(search::handler))
        .route("/api/search/tags", get(tags::names_v1))
        .route("/api/v2/search/tags", get(tags::names_v2))
        .route("/api/search/tag/{tag}/values", get(tags::values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tags::values_v2))
}

/// An error as Tempo answers it: a status and a plain-text line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempoError {
    pub status: StatusCode,
    pub message: String,
}

impl TempoError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        TempoError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    pub fn timeout() -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "context deadline exceeded")
    }
}

impl IntoResponse for TempoError {
    fn into_response(self) -> Response {
        let mut body = self.message;
        body.push('\n');
        (
            self.status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

impl From<std::io::Error> for TempoError {
    fn from(e: std::io::Error) -> Self {
        TempoError::internal(e.to_string())
    }
}

/// The request's tenant (`X-Scope-OrgID`), 400 when malformed.
pub fn tenant_of(headers: &HeaderMap) -> Result<TenantId, TempoError> {
    crate::server::body::tenant(headers).map_err(TempoError::bad_request)
}

/// Runs `f` on the blocking pool under the query gate (429 when it
/// refuses) and the query timeout. `f` gets the deadline so that long
/// scans stop by themselves when the caller has given up.
pub async fn run_query<T, F>(st: &SharedState, f: F) -> Result<T, TempoError>
where
    T: Send + 'static,
    F: FnOnce(Instant) -> Result<T, TempoError> + Send + 'static,
{
    let Some(_permit) = st.queries.acquire().await else {
        return Err(TempoError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many outstanding requests",
        ));
    };
    let timeout = st.cfg.query.timeout.0;
    let deadline = Instant::now() + timeout;
    let job = tokio::task::spawn_blocking(move || f(deadline));
    match tokio::time::timeout(timeout, job).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(TempoError::internal(format!("query task failed: {e}"))),
        Err(_) => Err(TempoError::timeout()),
    }
}

/// `GET /api/echo`: Grafana's health check.
async fn echo() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "echo\n",
    )
        .into_response()
}

/// `GET /api/status/buildinfo`: flat, as Tempo answers it.
async fn buildinfo() -> Response {
    Json(serde_json::json!({
        "version": TEMPO_VERSION,
        "revision": concat!("cairn-", env!("CARGO_PKG_VERSION")),
        "branch": "HEAD",
        "buildDate": "",
        "buildUser": "cairn",
        "goVersion": "none (Cairn is written in Rust)",
    }))
    .into_response()
}
