//! HTTP glue for Prometheus remote write (`/api/v1/write`, `/api/v1/push`):
//! tenant, rate limit, decode, store, and the status codes and
//! `X-Prometheus-Remote-Write-*-Written` headers senders expect.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ingest::remote_write::{self, DecodeError, Version};
use crate::server::body::tenant;
use crate::server::state::SharedState;

const SAMPLES_WRITTEN: &str = "x-prometheus-remote-write-samples-written";
const HISTOGRAMS_WRITTEN: &str = "x-prometheus-remote-write-histograms-written";
const EXEMPLARS_WRITTEN: &str = "x-prometheus-remote-write-exemplars-written";

fn plain(status: StatusCode, msg: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg.into() + "\n",
    )
        .into_response()
}

fn with_written(
    mut resp: Response,
    v2: bool,
    samples: u64,
    histograms: u64,
    exemplars: u64,
) -> Response {
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

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `POST /api/v1/write`
pub async fn remote_write(
    State(st): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = match remote_write::detect_version(
        header_str(&headers, header::CONTENT_TYPE),
        header_str(&headers, header::CONTENT_ENCODING),
    ) {
        Ok(v) => v,
        Err(DecodeError::Unsupported(m)) => return plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, m),
        Err(e) => return plain(StatusCode::BAD_REQUEST, format!("{e:?}")),
    };
    let v2 = version == Version::V2;
    let t = match tenant(&headers) {
        Ok(t) => t,
        Err(e) => return with_written(plain(StatusCode::BAD_REQUEST, e), v2, 0, 0, 0),
    };
    let limits = st.cfg.limits_for(t.as_str());
    let max = st.cfg.server.max_request_body.0 as usize;
    let raw = match remote_write::decompress(&body, max) {
        Ok(r) => r,
        Err(DecodeError::TooLarge(m)) => {
            return with_written(plain(StatusCode::PAYLOAD_TOO_LARGE, m), v2, 0, 0, 0)
        }
        Err(DecodeError::Malformed(m) | DecodeError::Unsupported(m)) => {
            return with_written(plain(StatusCode::BAD_REQUEST, m), v2, 0, 0, 0)
        }
    };
    let decoded = match remote_write::decode(&raw, version, &limits) {
        Ok(d) => d,
        Err(DecodeError::TooLarge(m)) => {
            return with_written(plain(StatusCode::PAYLOAD_TOO_LARGE, m), v2, 0, 0, 0)
        }
        Err(DecodeError::Malformed(m) | DecodeError::Unsupported(m)) => {
            return with_written(plain(StatusCode::BAD_REQUEST, m), v2, 0, 0, 0)
        }
    };
    let n_samples: u64 = decoded.series.iter().map(|s| s.samples.len() as u64).sum();
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
        let mut resp = plain(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "ingestion rate limit of {} samples/s exceeded for tenant {t}; retry after {retry}s",
                limits.ingestion_rate_samples
            ),
        );
        if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return with_written(resp, v2, 0, 0, 0);
    }
    if decoded.histograms_dropped > 0 {
        st.selfmon
            .histograms_dropped
            .add(decoded.histograms_dropped);
        tracing::debug!(tenant = %t, n = decoded.histograms_dropped, "native histogram samples are not stored yet");
    }
    let db = match st.metrics.tenant(&t) {
        Ok(db) => db,
        Err(e) => {
            return with_written(
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("storage error: {e}"),
                ),
                v2,
                0,
                0,
                0,
            )
        }
    };
    let series = decoded.series;
    let metadata = decoded.metadata;
    let res = tokio::task::spawn_blocking(move || db.write(&series, &metadata)).await;
    let outcome = match res {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            tracing::error!(tenant = %t, error = %e, "remote write could not be stored");
            return with_written(
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("storage error: {e}"),
                ),
                v2,
                0,
                0,
                0,
            );
        }
        Err(e) => {
            return with_written(
                plain(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("write task failed: {e}"),
                ),
                v2,
                0,
                0,
                0,
            )
        }
    };
    st.selfmon
        .ingested_samples
        .with(&["metrics"])
        .add(outcome.samples_written);
    st.selfmon.exemplars_ingested.add(outcome.exemplars_written);
    if outcome.rejected_samples > 0 {
        st.selfmon
            .rejected_samples
            .with(&["invalid_sample"])
            .add(outcome.rejected_samples);
    }
    if decoded.invalid_samples > 0 {
        st.selfmon
            .rejected_samples
            .with(&["invalid_series"])
            .add(decoded.invalid_samples);
    }
    let mut problems = decoded.invalid;
    problems.extend(outcome.errors);
    let resp = if problems.is_empty() {
        StatusCode::NO_CONTENT.into_response()
    } else {
        let total = problems.len();
        let shown: Vec<String> = problems.into_iter().take(10).collect();
        plain(
            StatusCode::BAD_REQUEST,
            format!(
                "{} of the request's data was rejected (valid series were stored): {}{}",
                if total == 1 { "part" } else { "some" },
                shown.join("; "),
                if total > shown.len() { "; ..." } else { "" }
            ),
        )
    };
    with_written(
        resp,
        v2,
        outcome.samples_written,
        0,
        outcome.exemplars_written,
    )
}
