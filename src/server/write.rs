//! HTTP glue for Prometheus remote write (`/api/v1/write`, `/api/v1/push`):
//! tenant, rate limit, decode, store, and the status codes and
//! `X-Prometheus-Remote-Write-*-Written` headers senders expect. Decoding and
//! storing run together on the blocking pool, so label strings can borrow
//! from the request body all the way into the TSDB.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ingest::remote_write::{self, DecodeError, Version};
use crate::model::TenantId;
use crate::server::body::tenant;
use crate::server::state::SharedState;

const SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
const HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
const EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

/// What handling a write came to, before it becomes a response.
enum Outcome {
    Stored {
        samples: u64,
        histograms: u64,
        exemplars: u64,
        problems: Vec<String>,
    },
    Rejected {
        status: StatusCode,
        message: String,
        retry_after: Option<u64>,
    },
}

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into() + "\n",
    )
        .into_response()
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn rejected(status: StatusCode, message: impl Into<String>) -> Outcome {
    Outcome::Rejected {
        status,
        message: message.into(),
        retry_after: None,
    }
}

fn from_decode_error(e: DecodeError) -> Outcome {
    match e {
        DecodeError::TooLarge(m) => rejected(StatusCode::PAYLOAD_TOO_LARGE, m),
        DecodeError::Unsupported(m) => rejected(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
        DecodeError::Malformed(m) => rejected(StatusCode::BAD_REQUEST, m),
    }
}

/// Decodes and stores one request (runs on the blocking pool).
fn handle(st: &SharedState, t: &TenantId, version: Version, body: &[u8]) -> Outcome {
    let limits = st.cfg.limits_for(t.as_str());
    let raw = match remote_write::decompress(body, st.cfg.server.max_request_body.0 as usize) {
        Ok(r) => r,
        Err(e) => return from_decode_error(e),
    };
    let decoded = match remote_write::decode(&raw, version, &limits) {
        Ok(d) => d,
        Err(e) => return from_decode_error(e),
    };
    let n_samples: u64 = decoded
        .series
        .iter()
        .map(|s| (s.samples.len() + s.histograms.len()) as u64)
        .sum();
    if let Err(retry) = st.limiters.take(
        t.as_str(),
        n_samples,
        limits.ingestion_rate_samples,
        limits.ingestion_burst_samples,
    ) {
        st.selfmon
            .rejected_samples
            .with(&["rate_limited"])
            .add(n_samples);
        return Outcome::Rejected {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: format!(
                "ingestion rate limit of {} samples/s exceeded for tenant {t}; retry after {retry}s",
                limits.ingestion_rate_samples
            ),
            retry_after: Some(retry),
        };
    }
    if decoded.invalid_samples > 0 {
        st.selfmon
            .rejected_samples
            .with(&["invalid_series"])
            .add(decoded.invalid_samples);
    }
    let db = match st.metrics.tenant(t) {
        Ok(db) => db,
        Err(e) => {
            return rejected(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storage error: {e}"),
            )
        }
    };
    let outcome = match db.write(&decoded.series, &decoded.metadata) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(tenant = %t, error = %e, "remote write could not be stored");
            return rejected(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("storage error: {e}"),
            );
        }
    };
    st.selfmon
        .ingested_samples
        .with(&["metrics"])
        .add(outcome.samples_written);
    st.selfmon.exemplars_ingested.add(outcome.exemplars_written);
    st.selfmon
        .histograms_ingested
        .add(outcome.histograms_written);
    if outcome.rejected_samples > 0 {
        st.selfmon
            .rejected_samples
            .with(&["invalid_sample"])
            .add(outcome.rejected_samples);
    }
    let mut problems = decoded.invalid;
    problems.extend(outcome.errors);
    Outcome::Stored {
        samples: outcome.samples_written - outcome.histograms_written,
        histograms: outcome.histograms_written,
        exemplars: outcome.exemplars_written,
        problems,
    }
}

/// `POST /api/v1/write`
pub async fn remote_write(
    State(st): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = remote_write::detect_version(
        header_str(&headers, header::CONTENT_TYPE),
        header_str(&headers, header::CONTENT_ENCODING),
    );
    let v2 = matches!(version, Ok(Version::V2));
    let outcome = match (version, tenant(&headers)) {
        (Err(e), _) => from_decode_error(e),
        (_, Err(e)) => rejected(StatusCode::BAD_REQUEST, e),
        (Ok(version), Ok(t)) => {
            let st2 = st.clone();
            tokio::task::spawn_blocking(move || handle(&st2, &t, version, &body))
                .await
                .unwrap_or_else(|e| {
                    rejected(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("write task failed: {e}"),
                    )
                })
        }
    };
    let (mut resp, samples, histograms, exemplars) = match outcome {
        Outcome::Stored {
            samples,
            histograms,
            exemplars,
            problems,
        } if problems.is_empty() => (
            StatusCode::NO_CONTENT.into_response(),
            samples,
            histograms,
            exemplars,
        ),
        Outcome::Stored {
            samples,
            histograms,
            exemplars,
            problems,
        } => {
            let total = problems.len();
            let shown: Vec<String> = problems.into_iter().take(10).collect();
            let msg = format!(
                "{} of the request's data was rejected (valid series were stored): {}{}",
                if total == 1 { "part" } else { "some" },
                shown.join("; "),
                if total > shown.len() { "; ..." } else { "" }
            );
            (
                plain(StatusCode::BAD_REQUEST, msg),
                samples,
                histograms,
                exemplars,
            )
        }
        Outcome::Rejected {
            status,
            message,
            retry_after,
        } => {
            let mut r = plain(status, message);
            if let Some(s) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
                r.headers_mut().insert(header::RETRY_AFTER, s);
            }
            (r, 0, 0, 0)
        }
    };
    if v2 {
        for (name, v) in [
            (SAMPLES_WRITTEN, samples),
            (HISTOGRAMS_WRITTEN, histograms),
            (EXEMPLARS_WRITTEN, exemplars),
        ] {
            if let Ok(val) = HeaderValue::from_str(&v.to_string()) {
                resp.headers_mut()
                    .insert(HeaderName::from_static(name), val);
            }
        }
    }
    resp
}
