//! OTLP/HTTP: `POST /v1/traces`, `/v1/logs` and `/v1/metrics` (plus
//! Prometheus' `/api/v1/otlp/v1/metrics` and Loki's `/otlp/v1/logs`),
//! on the main port (`routes`) and on the standalone OTLP port (`router`).
//! Answers as OTLP/HTTP wants: 200 with the export response (and any
//! partial success) in the request's format; errors as `google.rpc.Status`
//! with 400, 413, 415, 429 or 503 (the last two with `Retry-After`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::decode::{self, code, decode_request, encode_message, encode_status, Format};
use super::ingest::{self, IngestError, PartialSuccess, Transport};
use crate::model::TenantId;
use crate::otlp::pb::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use crate::otlp::pb::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use crate::otlp::pb::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use crate::server::body::tenant;
use crate::server::state::SharedState;

/// The OTLP routes, to merge into the main router.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/v1/traces", post(traces))
        .route("/v1/logs", post(logs))
        .route("/v1/metrics", post(metrics))
        .route("/otlp/v1/logs", post(logs))
        .route("/api/v1/otlp/v1/metrics", post(metrics))
}

/// The standalone OTLP/HTTP application (`otlp.http_listen_address`).
pub fn router(st: SharedState) -> Router {
    let limit = st.cfg.server.max_request_body.0 as usize;
    routes().layer(DefaultBodyLimit::max(limit)).with_state(st)
}

fn with_body(status: StatusCode, format: Format, body: Vec<u8>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, format.content_type())],
        body,
    )
        .into_response()
}

fn error(
    status: StatusCode,
    grpc_code: i32,
    message: &str,
    retry_after_s: Option<u64>,
    format: Format,
) -> Response {
    let mut r = with_body(
        status,
        format,
        encode_status(grpc_code, message, retry_after_s, format),
    );
    if let Some(v) = retry_after_s.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn ingest_error(e: &IngestError, format: Format) -> Response {
    match e {
        IngestError::Malformed(m) => error(
            StatusCode::BAD_REQUEST,
            code::INVALID_ARGUMENT,
            m,
            None,
            format,
        ),
        IngestError::RateLimited {
            retry_after_s,
            message,
        } => error(
            StatusCode::TOO_MANY_REQUESTS,
            code::RESOURCE_EXHAUSTED,
            message,
            Some(*retry_after_s),
            format,
        ),
        IngestError::Unavailable {
            retry_after_s,
            message,
        } => error(
            StatusCode::SERVICE_UNAVAILABLE,
            code::UNAVAILABLE,
            message,
            Some(*retry_after_s),
            format,
        ),
    }
}

type IngestFn<Req> =
    fn(&SharedState, &TenantId, Req, Transport) -> Result<PartialSuccess, IngestError>;

/// Decodes, ingests and answers one export (decoding and storing run on
/// the blocking pool).
async fn handle<Req, Resp>(
    st: SharedState,
    headers: HeaderMap,
    body: Bytes,
    ingest: IngestFn<Req>,
    respond: fn(PartialSuccess) -> Resp,
) -> Response
where
    Req: prost::Message + Default + DeserializeOwned + Send + 'static,
    Resp: prost::Message + Serialize + Send + 'static,
{
    // Errors before the format is known are answered in JSON.
    let format = match decode::format_of(&headers) {
        Ok(f) => f,
        Err(e) => {
            return error(
                e.status(),
                code::INVALID_ARGUMENT,
                e.message(),
                None,
                Format::Json,
            )
        }
    };
    let t = match tenant(&headers) {
        Ok(t) => t,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                code::INVALID_ARGUMENT,
                &e,
                None,
                format,
            )
        }
    };
    let limit = st.cfg.server.max_request_body.0 as usize;
    let task = tokio::task::spawn_blocking(move || {
        let (req, _) = decode_request::<Req>(&headers, &body, limit).map_err(Err)?;
        ingest(&st, &t, req, Transport::Http)
            .map(respond)
            .map_err(Ok)
    });
    match task.await {
        Ok(Ok(resp)) => with_body(StatusCode::OK, format, encode_message(&resp, format)),
        Ok(Err(Ok(e))) => ingest_error(&e, format),
        Ok(Err(Err(e))) => error(
            e.status(),
            code::INVALID_ARGUMENT,
            e.message(),
            None,
            format,
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            &format!("ingest task failed: {e}"),
            None,
            format,
        ),
    }
}

/// The export response for an outcome (shared with the gRPC receiver).
pub fn trace_response(p: PartialSuccess) -> ExportTraceServiceResponse {
    ExportTraceServiceResponse {
        partial_success: (!p.is_full()).then_some(ExportTracePartialSuccess {
            rejected_spans: p.rejected,
            error_message: p.error_message,
        }),
    }
}

/// The export response for an outcome (shared with the gRPC receiver).
pub fn logs_response(p: PartialSuccess) -> ExportLogsServiceResponse {
    ExportLogsServiceResponse {
        partial_success: (!p.is_full()).then_some(ExportLogsPartialSuccess {
            rejected_log_records: p.rejected,
            error_message: p.error_message,
        }),
    }
}

/// The export response for an outcome (shared with the gRPC receiver).
pub fn metrics_response(p: PartialSuccess) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse {
        partial_success: (!p.is_full()).then_some(ExportMetricsPartialSuccess {
            rejected_data_points: p.rejected,
            error_message: p.error_message,
        }),
    }
}

/// `POST /v1/traces`
pub async fn traces(State(st): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    handle::<ExportTraceServiceRequest, _>(st, headers, body, ingest::ingest_traces, trace_response)
        .await
}

/// `POST /v1/logs`, `/otlp/v1/logs`
pub async fn logs(State(st): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    handle::<ExportLogsServiceRequest, _>(st, headers, body, ingest::ingest_logs, logs_response)
        .await
}

/// `POST /v1/metrics`, `/api/v1/otlp/v1/metrics`
pub async fn metrics(State(st): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    handle::<ExportMetricsServiceRequest, _>(
        st,
        headers,
        body,
        ingest::ingest_metrics,
        metrics_response,
    )
    .await
}
