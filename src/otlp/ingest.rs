//! One ingest function per OTLP signal, shared by the gRPC and HTTP
//! receivers: readiness, validation, the tenant's rate limit, storing, and
//! the outcome as OTLP reports it (full or partial success, or an error a
//! transport turns into its status code). The functions block (stores
//! write their WALs): transports call them on the blocking pool.

use std::sync::atomic::Ordering;

use crate::logs::validate::{validate, PushLimits};
use crate::model::TenantId;
use crate::otlp::pb::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::pb::collector::metrics::v1::ExportMetricsServiceRequest;
use crate::otlp::pb::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::pb::metrics::v1::metric::Data;
use crate::server::state::SharedState;

/// Most messages a partial success lists.
const MAX_MESSAGES: usize = 10;

/// Seconds clients are asked to wait while the stores replay their WALs.
const REPLAY_RETRY_AFTER_S: u64 = 5;

/// Which receiver a request came through (a self-metrics label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Grpc,
    Http,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Grpc => "grpc",
            Transport::Http => "http",
        }
    }
}

/// What was stored: everything (`rejected == 0`) or all but `rejected`
/// items (spans, log records or data points), with why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartialSuccess {
    pub rejected: i64,
    pub error_message: String,
}

impl PartialSuccess {
    fn new(rejected: u64, messages: Vec<String>) -> Self {
        if rejected == 0 && messages.is_empty() {
            return PartialSuccess::default();
        }
        let total = messages.len();
        let mut msg = messages
            .into_iter()
            .take(MAX_MESSAGES)
            .collect::<Vec<_>>()
            .join("; ");
        if total > MAX_MESSAGES {
            msg.push_str(&format!("; (and {} more)", total - MAX_MESSAGES));
        }
        PartialSuccess {
            rejected: rejected.min(i64::MAX as u64) as i64,
            error_message: msg,
        }
    }

    /// Whether everything was stored (OTLP then leaves `partial_success` unset).
    pub fn is_full(&self) -> bool {
        self.rejected == 0 && self.error_message.is_empty()
    }
}

/// Why nothing of a request was stored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// Bad data, not to be retried: HTTP 400 / `INVALID_ARGUMENT`.
    #[error("{0}")]
    Malformed(String),
    /// The tenant is over its rate: HTTP 429 + `Retry-After` /
    /// `RESOURCE_EXHAUSTED` with `RetryInfo`.
    #[error("{message}")]
    RateLimited { retry_after_s: u64, message: String },
    /// Not now (WAL replay, store trouble): HTTP 503 + `Retry-After` /
    /// `UNAVAILABLE`.
    #[error("{message}")]
    Unavailable { retry_after_s: u64, message: String },
}

fn check_ready(st: &SharedState) -> Result<(), IngestError> {
    if st.ready.load(Ordering::SeqCst) {
        Ok(())
    } else {
        Err(IngestError::Unavailable {
            retry_after_s: REPLAY_RETRY_AFTER_S,
            message: "Cairn is starting: replaying write-ahead logs".into(),
        })
    }
}

fn count(st: &SharedState, signal: &str, transport: Transport, reason: Option<&str>, n: u64) {
    if n == 0 {
        return;
    }
    match reason {
        None => st
            .selfmon
            .otlp_received
            .with(&[signal, transport.as_str()])
            .add(n),
        Some(r) => st
            .selfmon
            .otlp_rejected
            .with(&[signal, transport.as_str(), r])
            .add(n),
    }
}

/// A trace id has 16 bytes, a span id 8, and neither is all zeros.
fn valid_id(id: &[u8], len: usize) -> bool {
    id.len() == len && id.iter().any(|b| *b != 0)
}

/// Stores the spans of an export in the tenant's trace store. Spans
/// without a valid trace or span id are dropped and reported.
pub fn ingest_traces(
    st: &SharedState,
    tenant: &TenantId,
    mut req: ExportTraceServiceRequest,
    transport: Transport,
) -> Result<PartialSuccess, IngestError> {
    const SIGNAL: &str = "traces";
    let total: u64 = req
        .resource_spans
        .iter()
        .flat_map(|r| r.scope_spans.iter())
        .map(|s| s.spans.len() as u64)
        .sum();
    count(st, SIGNAL, transport, None, total);
    check_ready(st)?;
    let mut invalid = 0u64;
    for rs in &mut req.resource_spans {
        for ss in &mut rs.scope_spans {
            ss.spans.retain(|s| {
                let ok = valid_id(&s.trace_id, 16) && valid_id(&s.span_id, 8);
                if !ok {
                    invalid += 1;
                }
                ok
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    req.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    let accepted = total - invalid;
    count(st, SIGNAL, transport, Some("invalid"), invalid);
    let mut messages = Vec::new();
    if invalid > 0 {
        messages.push(format!(
            "{invalid} spans without a valid trace id (16 bytes, not all zero) or span id (8 bytes, not all zero)"
        ));
    }
    if accepted > 0 {
        let limits = st.cfg.limits_for(tenant.as_str());
        if let Err(retry) = st.limiters.take(
            &format!("traces/{tenant}"),
            accepted,
            limits.trace_ingestion_rate_spans,
            limits.trace_ingestion_burst_spans,
        ) {
            count(st, SIGNAL, transport, Some("rate_limited"), accepted);
            return Err(IngestError::RateLimited {
                retry_after_s: retry,
                message: format!(
                    "trace ingestion rate limit of {} spans/s exceeded for tenant {tenant} while pushing {accepted} spans; retry after {retry}s",
                    limits.trace_ingestion_rate_spans
                ),
            });
        }
        let stored = match st.traces.push(tenant, req.resource_spans) {
            Ok(n) => n as u64,
            Err(e) => {
                tracing::error!(tenant = %tenant, error = %e, "OTLP spans could not be stored");
                count(st, SIGNAL, transport, Some("store_error"), accepted);
                return Err(IngestError::Unavailable {
                    retry_after_s: 1,
                    message: format!("spans could not be stored: {e}"),
                });
            }
        };
        st.selfmon.ingested_samples.with(&["traces"]).add(stored);
        let too_large = accepted.saturating_sub(stored);
        if too_large > 0 {
            count(st, SIGNAL, transport, Some("trace_too_large"), too_large);
            messages.push(format!(
                "{too_large} spans refused: their trace reached traces.max_trace_bytes ({} bytes)",
                st.cfg.traces.max_trace_bytes.0
            ));
        }
        return Ok(PartialSuccess::new(invalid + too_large, messages));
    }
    Ok(PartialSuccess::new(invalid, messages))
}

/// Maps, validates (as Loki push does) and stores the records of an export.
pub fn ingest_logs(
    st: &SharedState,
    tenant: &TenantId,
    req: ExportLogsServiceRequest,
    transport: Transport,
) -> Result<PartialSuccess, IngestError> {
    const SIGNAL: &str = "logs";
    let total: u64 = req
        .resource_logs
        .iter()
        .flat_map(|r| r.scope_logs.iter())
        .map(|s| s.log_records.len() as u64)
        .sum();
    count(st, SIGNAL, transport, None, total);
    check_ready(st)?;
    let now_ns = st.clock.now_ms().saturating_mul(1_000_000);
    let streams =
        crate::otlp::logs::to_push_streams(&req, &st.cfg.otlp.log_label_attributes, now_ns);
    drop(req);
    let limits = st.cfg.limits_for(tenant.as_str());
    let lim = PushLimits::new(&limits, st.cfg.logs_retention(tenant.as_str()), now_ns);
    let v = validate(streams, &lim);
    count(st, SIGNAL, transport, Some("invalid"), v.rejected_lines);
    if v.accepted_lines > 0 {
        // The same budget as Loki push.
        if let Err(retry) = st.limiters.take(
            &format!("logs/{tenant}"),
            v.accepted_bytes,
            limits.log_ingestion_rate_bytes.0,
            limits.log_ingestion_burst_bytes.0,
        ) {
            count(
                st,
                SIGNAL,
                transport,
                Some("rate_limited"),
                v.accepted_lines,
            );
            return Err(IngestError::RateLimited {
                retry_after_s: retry,
                message: format!(
                    "log ingestion rate limit of {} bytes/s exceeded for tenant {tenant} while pushing {} records totaling {} bytes; retry after {retry}s",
                    limits.log_ingestion_rate_bytes.0, v.accepted_lines, v.accepted_bytes
                ),
            });
        }
        if let Err(e) = st.logs.push(tenant, v.streams) {
            tracing::error!(tenant = %tenant, error = %e, "OTLP log records could not be stored");
            count(st, SIGNAL, transport, Some("store_error"), v.accepted_lines);
            return Err(IngestError::Unavailable {
                retry_after_s: 1,
                message: format!("log records could not be stored: {e}"),
            });
        }
        st.selfmon
            .ingested_samples
            .with(&["logs"])
            .add(v.accepted_lines);
    }
    Ok(PartialSuccess::new(v.rejected_lines, v.errors))
}

/// Data points in an export (what `rejected_data_points` counts).
pub fn count_data_points(req: &ExportMetricsServiceRequest) -> u64 {
    req.resource_metrics
        .iter()
        .flat_map(|r| r.scope_metrics.iter())
        .flat_map(|s| s.metrics.iter())
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            Some(Data::Sum(s)) => s.data_points.len(),
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            Some(Data::Summary(s)) => s.data_points.len(),
            None => 0,
        } as u64)
        .sum()
}

/// Translates (as Prometheus' OTLP receiver does) and stores the data
/// points of an export in the tenant's TSDB.
pub fn ingest_metrics(
    st: &SharedState,
    tenant: &TenantId,
    req: ExportMetricsServiceRequest,
    transport: Transport,
) -> Result<PartialSuccess, IngestError> {
    const SIGNAL: &str = "metrics";
    let total = count_data_points(&req);
    count(st, SIGNAL, transport, None, total);
    check_ready(st)?;
    let translated = crate::otlp::metrics::translate(&req);
    drop(req);
    count(
        st,
        SIGNAL,
        transport,
        Some("invalid"),
        translated.rejected_points,
    );
    let samples: u64 = translated
        .series
        .iter()
        .map(|s| (s.samples.len() + s.histograms.len()) as u64)
        .sum();
    let limits = st.cfg.limits_for(tenant.as_str());
    if samples > 0 {
        // The same budget as remote write.
        if let Err(retry) = st.limiters.take(
            tenant.as_str(),
            samples,
            limits.ingestion_rate_samples,
            limits.ingestion_burst_samples,
        ) {
            count(st, SIGNAL, transport, Some("rate_limited"), total);
            return Err(IngestError::RateLimited {
                retry_after_s: retry,
                message: format!(
                    "ingestion rate limit of {} samples/s exceeded for tenant {tenant}; retry after {retry}s",
                    limits.ingestion_rate_samples
                ),
            });
        }
    }
    let mut rejected = translated.rejected_points;
    let mut messages = translated.errors;
    if !translated.series.is_empty() || !translated.metadata.is_empty() {
        let store_err = |e: std::io::Error| {
            tracing::error!(tenant = %tenant, error = %e, "OTLP metrics could not be stored");
            count(st, SIGNAL, transport, Some("store_error"), total);
            IngestError::Unavailable {
                retry_after_s: 1,
                message: format!("data points could not be stored: {e}"),
            }
        };
        let db = st.metrics.tenant(tenant).map_err(store_err)?;
        let outcome = db
            .write(&translated.series, &translated.metadata)
            .map_err(store_err)?;
        st.selfmon
            .ingested_samples
            .with(&["metrics"])
            .add(outcome.samples_written);
        st.selfmon
            .histograms_ingested
            .add(outcome.histograms_written);
        st.selfmon.exemplars_ingested.add(outcome.exemplars_written);
        count(
            st,
            SIGNAL,
            transport,
            Some("invalid_sample"),
            outcome.rejected_samples,
        );
        rejected += outcome.rejected_samples;
        messages.extend(outcome.errors);
    }
    Ok(PartialSuccess::new(rejected, messages))
}
