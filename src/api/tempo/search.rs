//! `GET /api/search`: a TraceQL query (or the legacy tag search turned
//! into one) run over the tenant's traces in the time range (the store
//! yields the newest first), the first `limit` matches answered, newest
//! start first, as Tempo's
//! `TraceSearchMetadata`, with exactly the fields Grafana's strict
//! decoder knows.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::params::{self, Window, DEFAULT_LIMIT, DEFAULT_SPSS};
use super::{json as tjson, run_query, tenant_of, TempoError};
use crate::api::params::Params;
use crate::model::TenantId;
use crate::server::state::SharedState;
use crate::traceql::ast::{Expr, Query};
use crate::traceql::data::TraceData;
use crate::traceql::eval::{self, Spanset, Value as EvalValue};
use crate::traces::store::ScanStats;
use crate::traces::{prefilter, trace_id_hex, ScanRequest, TraceId, TraceStore};

/// Tempo's `rootServiceName` when the root span is not (yet) stored.
pub const ROOT_NOT_RECEIVED: &str = "<root span not yet received>";

/// A parsed search request.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub query: Prepared,
    pub limit: usize,
    pub spss: usize,
    pub window: Window,
}

impl SearchRequest {
    /// From the URL parameters; TraceQL syntax errors are 400s that name
    /// the position.
    pub fn from_params(p: &Params) -> Result<Self, TempoError> {
        let text = params::search_query(p)?;
        let query = crate::traceql::parse(&text)
            .map_err(|e| TempoError::bad_request(format!("invalid TraceQL query: {e}")))?;
        let query = Prepared::new(query).map_err(|e| TempoError::bad_request(e.to_string()))?;
        let limit = params::count(p, "limit", DEFAULT_LIMIT)?;
        let spss = params::count(p, "spss", DEFAULT_SPSS)?;
        if limit > MAX_LIMIT {
            return Err(TempoError::bad_request(format!(
                "limit {limit} is over the maximum of {MAX_LIMIT}"
            )));
        }
        if spss > MAX_SPSS {
            return Err(TempoError::bad_request(format!(
                "spss must be less than or equal to {MAX_SPSS}"
            )));
        }
        Ok(SearchRequest {
            query,
            limit,
            spss,
            window: params::window(p)?.unwrap_or(Window::ALL),
        })
    }
}

pub async fn handler(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let tenant = tenant_of(&headers)?;
        let req = SearchRequest::from_params(&Params::from_parts(q.as_deref(), None))?;
        let store = st.traces.clone();
        run_query(&st, move |deadline| search(&store, &tenant, &req, deadline)).await
    };
    match run.await {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Whether the query is the bare `{}`: every span matches, no engine
/// needed.
fn is_match_all(q: &Query) -> bool {
    q.hints.is_empty() && matches!(q.expr, Expr::Filter(None))
}

/// Most traces one search returns.
pub const MAX_LIMIT: usize = 10_000;
/// Most spans per spanset one search returns (Tempo's default
/// `max_spans_per_span_set`).
pub const MAX_SPSS: usize = 100;

/// A parsed query, compiled once (regular expressions included) for all
/// the traces it runs on.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub query: Query,
    /// `None` for the bare `{}`: every span matches, no engine needed.
    compiled: Option<eval::CompiledQuery>,
}

impl Prepared {
    pub fn new(query: Query) -> Result<Self, eval::EvalError> {
        let compiled = if is_match_all(&query) {
            None
        } else {
            Some(eval::compile(&query)?)
        };
        Ok(Prepared { query, compiled })
    }

    /// The spansets the query yields for a trace.
    pub fn spansets(&self, data: &TraceData<'_>) -> Vec<Spanset> {
        match &self.compiled {
            Some(c) => c.evaluate(data),
            None if data.spans.is_empty() => Vec::new(),
            None => {
                let n = data.spans.len();
                vec![Spanset {
                    spans: (0..n).collect(),
                    attributes: Vec::new(),
                    selected: vec![Vec::new(); n],
                }]
            }
        }
    }
}

/// Runs a search: the answer document (`traces` and `metrics`).
pub fn search(
    store: &TraceStore,
    tenant: &TenantId,
    req: &SearchRequest,
    deadline: Instant,
) -> Result<Value, TempoError> {
    let scan = ScanRequest {
        start_ns: req.window.start_ns,
        end_ns: req.window.end_ns,
        prefilter: prefilter::from_query(&req.query.query),
    };
    let mut hits: Vec<(u64, Value)> = Vec::new();
    let mut failure: Option<TempoError> = None;
    let stats = store.scan(tenant, &scan, &mut |id, batches| {
        if Instant::now() > deadline {
            failure = Some(TempoError::timeout());
            return ControlFlow::Break(());
        }
        let data = TraceData::new(batches);
        let sets = req.query.spansets(&data);
        if !sets.is_empty() {
            hits.push((data.start_ns, trace_metadata(id, &data, &sets, req.spss)));
            // The store yields the newest data first: like Tempo, stop at
            // the first `limit` matches.
            if hits.len() >= req.limit {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    keep_newest(&mut hits, req.limit);
    let traces: Vec<Value> = hits.into_iter().map(|(_, v)| v).collect();
    Ok(json!({ "traces": traces, "metrics": metrics(&stats) }))
}

/// Sorts by start time, newest first, and keeps `limit`.
fn keep_newest(hits: &mut Vec<(u64, Value)>, limit: usize) {
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    hits.truncate(limit);
}

/// Tempo's `SearchMetrics` (zero counters left out, as jsonpb does).
fn metrics(s: &ScanStats) -> Value {
    let mut m = Map::new();
    let u32_of = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    if s.inspected_traces != 0 {
        m.insert("inspectedTraces".into(), json!(u32_of(s.inspected_traces)));
    }
    if s.inspected_bytes != 0 {
        m.insert(
            "inspectedBytes".into(),
            json!(s.inspected_bytes.to_string()),
        );
    }
    if s.total_blocks != 0 {
        m.insert("totalBlocks".into(), json!(u32_of(s.total_blocks)));
        m.insert("completedJobs".into(), json!(u32_of(s.total_blocks)));
        m.insert("totalJobs".into(), json!(u32_of(s.total_blocks)));
    }
    if s.total_block_bytes != 0 {
        m.insert(
            "totalBlockBytes".into(),
            json!(s.total_block_bytes.to_string()),
        );
    }
    if s.inspected_spans != 0 {
        m.insert(
            "inspectedSpans".into(),
            json!(s.inspected_spans.to_string()),
        );
    }
    Value::Object(m)
}

/// A trace id as Tempo's search prints it: hex without leading zeros.
pub fn search_trace_id(id: &TraceId) -> String {
    trace_id_hex(id).trim_start_matches('0').to_string()
}

/// A span id as Tempo's search prints it: 16 hex digits, zero-padded.
pub fn search_span_id(id: &[u8]) -> String {
    let hex = trace_id_hex(id);
    let trimmed = hex.trim_start_matches('0');
    format!("{trimmed:0>16}")
}

/// One `TraceSearchMetadata`.
fn trace_metadata(id: &TraceId, data: &TraceData<'_>, sets: &[Spanset], spss: usize) -> Value {
    let mut m = Map::new();
    m.insert("traceID".into(), json!(search_trace_id(id)));
    match data
        .root_span()
        .filter(|r| r.span.parent_span_id.is_empty())
    {
        Some(root) => {
            let svc = root
                .resource
                .and_then(|r| crate::traces::model::string_attr(&r.attributes, "service.name"))
                .unwrap_or("");
            if !svc.is_empty() {
                m.insert("rootServiceName".into(), json!(svc));
            }
            if !root.span.name.is_empty() {
                m.insert("rootTraceName".into(), json!(root.span.name));
            }
        }
        None => {
            m.insert("rootServiceName".into(), json!(ROOT_NOT_RECEIVED));
        }
    }
    if data.start_ns != 0 {
        m.insert("startTimeUnixNano".into(), json!(data.start_ns.to_string()));
    }
    let duration_ms = data.end_ns.saturating_sub(data.start_ns) / 1_000_000;
    if duration_ms != 0 {
        m.insert(
            "durationMs".into(),
            json!(u32::try_from(duration_ms).unwrap_or(u32::MAX)),
        );
    }
    let sets: Vec<Value> = sets.iter().map(|s| spanset(data, s, spss)).collect();
    if let Some(first) = sets.first() {
        m.insert("spanSet".into(), first.clone());
    }
    m.insert("spanSets".into(), Value::Array(sets));
    m.insert("serviceStats".into(), service_stats(data));
    Value::Object(m)
}

/// Spans and errors per `service.name` over the whole trace.
fn service_stats(data: &TraceData<'_>) -> Value {
    let mut by: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for v in &data.spans {
        let svc = v
            .resource
            .and_then(|r| crate::traces::model::string_attr(&r.attributes, "service.name"))
            .unwrap_or("");
        let e = by.entry(svc).or_default();
        e.0 += 1;
        if v.span.status.as_ref().is_some_and(|s| s.code == 2) {
            e.1 += 1;
        }
    }
    let mut m = Map::new();
    for (svc, (spans, errors)) in by {
        let mut s = Map::new();
        s.insert("spanCount".into(), json!(spans));
        if errors != 0 {
            s.insert("errorCount".into(), json!(errors));
        }
        m.insert(svc.to_string(), Value::Object(s));
    }
    Value::Object(m)
}

/// One `SpanSet`: up to `spss` spans, how many matched, its attributes.
fn spanset(data: &TraceData<'_>, set: &Spanset, spss: usize) -> Value {
    let mut spans = Vec::new();
    for (i, &pos) in set.spans.iter().enumerate().take(spss) {
        let Some(v) = data.spans.get(pos) else {
            continue;
        };
        let s = v.span;
        let mut m = Map::new();
        m.insert("spanID".into(), json!(search_span_id(&s.span_id)));
        if !s.name.is_empty() {
            m.insert("name".into(), json!(s.name));
        }
        if s.start_time_unix_nano != 0 {
            m.insert(
                "startTimeUnixNano".into(),
                json!(s.start_time_unix_nano.to_string()),
            );
        }
        let dur = s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano);
        if dur != 0 {
            m.insert("durationNanos".into(), json!(dur.to_string()));
        }
        let attrs = attributes(set.selected.get(i).map(Vec::as_slice).unwrap_or(&[]));
        if !attrs.is_empty() {
            m.insert("attributes".into(), Value::Array(attrs));
        }
        spans.push(Value::Object(m));
    }
    let mut m = Map::new();
    if !spans.is_empty() {
        m.insert("spans".into(), Value::Array(spans));
    }
    m.insert(
        "matched".into(),
        json!(u32::try_from(set.spans.len()).unwrap_or(u32::MAX)),
    );
    let attrs = attributes(&set.attributes);
    if !attrs.is_empty() {
        m.insert("attributes".into(), Value::Array(attrs));
    }
    Value::Object(m)
}

/// Engine values as OTLP `KeyValue`s (nil values left out).
fn attributes(attrs: &[(String, EvalValue)]) -> Vec<Value> {
    attrs
        .iter()
        .filter_map(|(k, v)| eval_value(v).map(|v| json!({ "key": k, "value": v })))
        .collect()
}

/// An engine value as an OTLP `AnyValue`, as Tempo renders it: durations
/// as Go duration text, status and kind by their TraceQL names.
pub fn eval_value(v: &EvalValue) -> Option<Value> {
    Some(match v {
        EvalValue::Str(s) => json!({ "stringValue": s }),
        EvalValue::Int(i) => json!({ "intValue": i.to_string() }),
        EvalValue::Float(f) => json!({ "doubleValue": tjson::double(*f) }),
        EvalValue::Bool(b) => json!({ "boolValue": b }),
        EvalValue::Duration(ns) => json!({ "stringValue": go_duration(*ns) }),
        EvalValue::Status(c) => json!({ "stringValue": status_name(*c) }),
        EvalValue::Kind(k) => json!({ "stringValue": kind_name(*k) }),
        EvalValue::Nil => return None,
    })
}

/// TraceQL's name of a status code.
pub fn status_name(code: i32) -> &'static str {
    match code {
        1 => "ok",
        2 => "error",
        _ => "unset",
    }
}

/// TraceQL's name of a span kind.
pub fn kind_name(kind: i32) -> &'static str {
    match kind {
        1 => "internal",
        2 => "server",
        3 => "client",
        4 => "producer",
        5 => "consumer",
        _ => "unspecified",
    }
}

/// `v / unit` with the remainder as a decimal fraction, trailing zeros
/// dropped (`1.5`, `2`).
fn fraction(v: u64, unit: u64, digits: usize) -> String {
    let (whole, rem) = (v / unit, v % unit);
    if rem == 0 {
        return whole.to_string();
    }
    let frac = format!("{rem:0>digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

/// A duration as Go's `time.Duration.String()` prints it.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", fraction(u, 1_000, 3))
    } else if u < 1_000_000_000 {
        format!("{}ms", fraction(u, 1_000_000, 6))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let s = fraction(u % 60_000_000_000, 1_000_000_000, 9);
        match (h, m) {
            (0, 0) => format!("{s}s"),
            (0, m) => format!("{m}m{s}s"),
            (h, m) => format!("{h}h{m}m{s}s"),
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_tempo_search_prints_them() {
        let mut id = [0u8; 16];
        id[14] = 0x0a;
        id[15] = 0xbc;
        assert_eq!(search_trace_id(&id), "abc");
        assert_eq!(
            search_span_id(&[0, 0, 0, 0, 0, 0, 0x0a, 0xbc]),
            "0000000000000abc"
        );
        assert_eq!(
            search_span_id(&[0xff, 1, 2, 3, 4, 5, 6, 7]),
            "ff01020304050607"
        );
    }

    #[test]
    fn go_duration_text() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(2_000_000), "2ms");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(-1_000_000_000), "-1s");
    }

    #[test]
    fn engine_values_as_any_values() {
        assert_eq!(
            eval_value(&EvalValue::Int(3)),
            Some(json!({"intValue": "3"}))
        );
        assert_eq!(
            eval_value(&EvalValue::Duration(250_000_000)),
            Some(json!({"stringValue": "250ms"}))
        );
        assert_eq!(
            eval_value(&EvalValue::Status(2)),
            Some(json!({"stringValue": "error"}))
        );
        assert_eq!(
            eval_value(&EvalValue::Kind(3)),
            Some(json!({"stringValue": "client"}))
        );
        assert_eq!(eval_value(&EvalValue::Nil), None);
    }
}
