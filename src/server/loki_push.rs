//! HTTP glue for Loki push (`/loki/api/v1/push`, `/api/prom/push`):
//! tenant, body decoding (gzip for JSON; protobuf is always snappy), the
//! per-tenant byte rate limit, validation and storing, answered as Loki
//! does: 204 when everything was stored, 400 with the rejected streams' and
//! lines' messages (the valid rest is stored), 429 with `Retry-After`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ingest::loki_push::{self, PushFormat};
use crate::logs::validate::{validate, PushLimits};
use crate::logs::PushError;
use crate::model::TenantId;
use crate::server::body::{decode_body, tenant, BodyError};
use crate::server::state::SharedState;

/// Most messages of rejected lines a 400 lists.
const MAX_MESSAGES: usize = 20;

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into() + "\n",
    )
        .into_response()
}

fn too_many(msg: String, retry_after: u64) -> Response {
    let mut r = plain(StatusCode::TOO_MANY_REQUESTS, msg);
    if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Decodes, limits, validates and stores one push (on the blocking pool).
fn handle(st: &SharedState, t: &TenantId, headers: &HeaderMap, body: &[u8]) -> Response {
    let limit = st.cfg.server.max_request_body.0 as usize;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let format = match loki_push::format_of(ct) {
        Ok(f) => f,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let decoded_body;
    let raw: &[u8] = match format {
        // Loki reads protobuf pushes as snappy whatever Content-Encoding says.
        PushFormat::Protobuf => body,
        PushFormat::Json => match decode_body(headers, body, limit, &[]) {
            Ok(b) => {
                decoded_body = b;
                &decoded_body
            }
            Err(e) => {
                let status = match e {
                    BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    BodyError::Corrupt(_) => StatusCode::BAD_REQUEST,
                    BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                };
                return plain(status, e.message());
            }
        },
    };
    let streams = match loki_push::decode(raw, format, limit) {
        Ok(s) => s,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let limits = st.cfg.limits_for(t.as_str());
    let now_ns = st.clock.now_ms().saturating_mul(1_000_000);
    let lim = PushLimits::new(&limits, st.cfg.logs_retention(t.as_str()), now_ns);
    let v = validate(streams, &lim);
    if v.accepted_lines > 0 {
        if let Err(retry) = st.limiters.take(
            &format!("logs/{t}"),
            v.accepted_bytes,
            limits.log_ingestion_rate_bytes.0,
            limits.log_ingestion_burst_bytes.0,
        ) {
            st.selfmon
                .rejected_samples
                .with(&["log_rate_limited"])
                .add(v.accepted_lines);
            return too_many(
                format!(
                    "Ingestion rate limit exceeded for user {t} (limit: {} bytes/sec) while attempting to ingest '{}' lines totaling '{}' bytes, reduce log volume or contact your Cairn administrator to see if the limit can be increased",
                    limits.log_ingestion_rate_bytes.0, v.accepted_lines, v.accepted_bytes
                ),
                retry,
            );
        }
    }
    if v.rejected_lines > 0 {
        st.selfmon
            .rejected_samples
            .with(&["log_invalid"])
            .add(v.rejected_lines);
    }
    let accepted = v.accepted_lines;
    match st.logs.push(t, v.streams) {
        Ok(()) => {}
        Err(PushError::Backpressure) => {
            return too_many(
                "log store is behind sealing partitions; retry later".into(),
                1,
            )
        }
        Err(PushError::Io(e)) => {
            tracing::error!(tenant = %t, error = %e, "Loki push could not be stored");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storage error: {e}"),
            );
        }
    }
    st.selfmon.ingested_samples.with(&["logs"]).add(accepted);
    if v.errors.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let total = v.errors.len();
    let mut msg = v
        .errors
        .into_iter()
        .take(MAX_MESSAGES)
        .collect::<Vec<_>>()
        .join("\n");
    if total > MAX_MESSAGES {
        msg.push_str(&format!("\n(and {} more)", total - MAX_MESSAGES));
    }
    plain(StatusCode::BAD_REQUEST, msg)
}

/// `POST /loki/api/v1/push`
pub async fn push(State(st): State<SharedState>, headers: HeaderMap, body: Bytes) -> Response {
    let t = match tenant(&headers) {
        Ok(t) => t,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let st2 = st.clone();
    tokio::task::spawn_blocking(move || handle(&st2, &t, &headers, &body))
        .await
        .unwrap_or_else(|e| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("push task failed: {e}"),
            )
        })
}
