//! The Prometheus HTTP API (`/api/v1/*`, also under `/prometheus`), with the
//! parameters, JSON shapes and error codes Grafana's stock Prometheus
//! datasource relies on. Handlers parse parameters, call the PromQL engine or
//! the TSDB, and shape the answer; evaluation lives in `promql/`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};

use crate::api::error::PromError;
use crate::api::params::{parse_duration_ms, parse_time, Params};
use crate::api::prom_json::{self, success_with, write_json_str, write_labels, write_timestamp};
use crate::metrics::Db;
use crate::model::{Matcher, TenantId};
use crate::promql::source::{MemorySource, SampleSource};
use crate::promql::QueryError;
use crate::promql::{parse_series_selector, Engine, EngineOptions, QueryResult};
use crate::server::body::{decode_body, tenant};
use crate::server::state::SharedState;

/// Prometheus refuses range queries with more points than this per series.
const MAX_POINTS: i64 = 11_000;

/// Longest query text accepted: far beyond any real dashboard query, short
/// enough that parsing cannot exhaust a thread's stack.
const MAX_QUERY_BYTES: usize = 128 * 1024;

/// The `query` parameter, present and of sane length.
fn query_param(p: &Params) -> Result<String, PromError> {
    let q = required(p, "query")?;
    if q.len() > MAX_QUERY_BYTES {
        return Err(PromError::bad_data(format!(
            "invalid parameter \"query\": query is {} bytes, longer than the limit of {MAX_QUERY_BYTES}",
            q.len()
        )));
    }
    Ok(q.to_string())
}

/// The engine for one request: the shared options, with the request's
/// `timeout` (never above the configured one) so evaluation itself stops.
fn engine_for(st: &SharedState, timeout: Duration) -> Engine {
    Engine::new(EngineOptions {
        timeout,
        ..st.engine.options().clone()
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Collects parameters from the URL and, for form POSTs, the body.
fn params(
    st: &SharedState,
    headers: &HeaderMap,
    query: Option<String>,
    body: &Bytes,
) -> Result<Params, PromError> {
    if body.is_empty() {
        return Ok(Params::from_parts(query.as_deref(), None));
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(PromError::bad_data(format!(
            "unsupported Content-Type {ct:?} for a form POST, use application/x-www-form-urlencoded"
        )));
    }
    let raw = decode_body(
        headers,
        body,
        st.cfg.server.max_request_body.0 as usize,
        &[],
    )
    .map_err(|e| PromError::bad_data(e.message()))?;
    Ok(Params::from_parts(query.as_deref(), Some(&raw)))
}

fn tenant_of(headers: &HeaderMap) -> Result<TenantId, PromError> {
    tenant(headers).map_err(PromError::bad_data)
}

fn source(st: &SharedState, t: &TenantId) -> Arc<dyn SampleSource> {
    match st.metrics.existing(t) {
        Some(db) => db,
        None => Arc::new(MemorySource::new()),
    }
}

/// A parameter that must be present.
fn required<'a>(p: &'a Params, key: &str) -> Result<&'a str, PromError> {
    p.get(key)
        .ok_or_else(|| PromError::bad_data(format!("invalid parameter {key:?}: missing {key}")))
}

/// A time parameter; `default` None makes it required.
fn time_param(p: &Params, key: &str, default: impl Into<Option<i64>>) -> Result<i64, PromError> {
    match (p.get(key), default.into()) {
        (None, Some(d)) => Ok(d),
        (None, None) => required(p, key).map(|_| 0),
        (Some(s), _) => parse_time(s)
            .map_err(|e| PromError::bad_data(format!("invalid parameter {key:?}: {e}"))),
    }
}

fn query_timeout(st: &SharedState, p: &Params) -> Result<Duration, PromError> {
    let max = st.cfg.query.timeout.0;
    match p.get("timeout") {
        None => Ok(max),
        Some(s) => {
            let ms = parse_duration_ms(s)
                .map_err(|e| PromError::bad_data(format!("invalid parameter \"timeout\": {e}")))?;
            Ok(Duration::from_millis(ms.max(0) as u64).min(max))
        }
    }
}

/// Runs an engine call on the blocking pool, bounded by the query gate and timeout.
async fn run_query<F>(
    st: &SharedState,
    kind: &'static str,
    timeout: Duration,
    f: F,
) -> Result<QueryResult, PromError>
where
    F: FnOnce() -> Result<QueryResult, crate::promql::QueryError> + Send + 'static,
{
    let Some(_permit) = st.queries.acquire().await else {
        st.selfmon.queries_rejected.inc();
        return Err(PromError::too_many_queries());
    };
    let started = Instant::now();
    let res = tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await;
    st.selfmon
        .query_duration
        .with(&["promql", kind])
        .observe(started.elapsed());
    match res {
        Err(_) => Err(PromError::timeout(
            "query timed out in expression evaluation",
        )),
        Ok(Err(join)) => Err(PromError::internal(format!("query panicked: {join}"))),
        Ok(Ok(r)) => r.map_err(PromError::from),
    }
}

fn render_result(r: &QueryResult) -> Response {
    let mut out = String::with_capacity(1024);
    out.push_str(prom_json::SUCCESS_PREFIX);
    prom_json::write_query_data(&mut out, &r.value);
    json_response(prom_json::finish_success(out, &r.warnings, &r.infos))
}

/// Rejections of the query itself (syntax, types) name the parameter, as
/// Prometheus' `invalid parameter "query": 1:5: parse error: ...`.
fn invalid_query(e: QueryError) -> QueryError {
    match e {
        QueryError::BadData(m) => QueryError::BadData(format!("invalid parameter \"query\": {m}")),
        other => other,
    }
}

/// `GET|POST /api/v1/query`
pub async fn query(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let t = tenant_of(&headers)?;
    let expr = query_param(&p)?;
    let ts = time_param(&p, "time", now_ms())?;
    let timeout = query_timeout(&st, &p)?;
    let src = source(&st, &t);
    let engine = engine_for(&st, timeout);
    let r = run_query(&st, "instant", timeout, move || {
        engine
            .instant(src.as_ref(), &expr, ts)
            .map_err(invalid_query)
    })
    .await?;
    Ok(render_result(&r))
}

/// `GET|POST /api/v1/query_range`
pub async fn query_range(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let t = tenant_of(&headers)?;
    let expr = query_param(&p)?;
    let start = time_param(&p, "start", None)?;
    let end = time_param(&p, "end", None)?;
    if end < start {
        return Err(PromError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = parse_duration_ms(required(&p, "step")?)
        .map_err(|e| PromError::bad_data(format!("invalid parameter \"step\": {e}")))?;
    if step <= 0 {
        return Err(PromError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if (end as i128 - start as i128) / step as i128 > MAX_POINTS as i128 {
        return Err(PromError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let timeout = query_timeout(&st, &p)?;
    let src = source(&st, &t);
    let engine = engine_for(&st, timeout);
    let r = run_query(&st, "range", timeout, move || {
        engine
            .range(src.as_ref(), &expr, start, end, step)
            .map_err(invalid_query)
    })
    .await?;
    Ok(render_result(&r))
}

/// Parses every `match[]` (at least one) into matcher sets.
fn match_sets(p: &Params) -> Result<Vec<Vec<Matcher>>, PromError> {
    let raw = p.all("match[]");
    if raw.is_empty() {
        return Err(PromError::bad_data("no match[] parameter provided"));
    }
    raw.iter()
        .map(|m| {
            parse_series_selector(m)
                .map_err(|e| PromError::bad_data(format!("invalid parameter \"match[]\": {e}")))
        })
        .collect()
}

fn limit_param(p: &Params) -> Result<usize, PromError> {
    match p.get("limit") {
        None => Ok(0),
        Some(s) => s.parse::<i64>().map(|v| v.max(0) as usize).map_err(|_| {
            PromError::bad_data(format!(
                "invalid parameter \"limit\": cannot parse {s:?} to a valid limit"
            ))
        }),
    }
}

/// Series label sets for the request's tenant, matchers and time range.
async fn series_for(
    st: &SharedState,
    t: &TenantId,
    sets: Vec<Vec<Matcher>>,
    start: i64,
    end: i64,
) -> Result<Vec<crate::model::Labels>, PromError> {
    let Some(db) = st.metrics.existing(t) else {
        return Ok(Vec::new());
    };
    tokio::task::spawn_blocking(move || db.series(&sets, start, end))
        .await
        .map_err(|e| PromError::internal(e.to_string()))
}

fn truncated_warning(truncated: bool) -> Vec<String> {
    if truncated {
        vec!["results truncated due to limit".to_string()]
    } else {
        Vec::new()
    }
}

/// `GET|POST /api/v1/series`
pub async fn series(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let t = tenant_of(&headers)?;
    let sets = match_sets(&p)?;
    let start = time_param(&p, "start", i64::MIN)?;
    let end = time_param(&p, "end", i64::MAX)?;
    let limit = limit_param(&p)?;
    let mut all = series_for(&st, &t, sets, start, end).await?;
    let truncated = limit > 0 && all.len() > limit;
    if truncated {
        all.truncate(limit);
    }
    let mut data = String::from("[");
    for (i, l) in all.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        write_labels(&mut data, l);
    }
    data.push(']');
    Ok(json_response(success_with(
        &data,
        &truncated_warning(truncated),
        &[],
    )))
}

fn string_list(items: impl IntoIterator<Item = String>, limit: usize) -> (String, bool) {
    let mut data = String::from("[");
    let mut truncated = false;
    for (i, s) in items.into_iter().enumerate() {
        if limit > 0 && i >= limit {
            truncated = true;
            break;
        }
        if i > 0 {
            data.push(',');
        }
        write_json_str(&mut data, &s);
    }
    data.push(']');
    (data, truncated)
}

/// `GET|POST /api/v1/labels`
pub async fn labels(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let t = tenant_of(&headers)?;
    let limit = limit_param(&p)?;
    let names = label_index(&st, &t, &p, None).await?;
    let (data, truncated) = string_list(names, limit);
    Ok(json_response(success_with(
        &data,
        &truncated_warning(truncated),
        &[],
    )))
}

/// Label names (`name` = None) or one label's values for the request's
/// `match[]`, `start` and `end`. Without `match[]` they come straight from
/// the postings (what Grafana asks on every editor load); with it, from the
/// matching series' label sets.
async fn label_index(
    st: &SharedState,
    t: &TenantId,
    p: &Params,
    name: Option<&str>,
) -> Result<BTreeSet<String>, PromError> {
    let start = time_param(p, "start", i64::MIN)?;
    let end = time_param(p, "end", i64::MAX)?;
    if p.all("match[]").is_empty() {
        let Some(db) = st.metrics.existing(t) else {
            return Ok(BTreeSet::new());
        };
        let name = name.map(str::to_string);
        return tokio::task::spawn_blocking(move || db.label_index(name.as_deref(), start, end))
            .await
            .map_err(|e| PromError::internal(e.to_string()));
    }
    let sets = match_sets(p)?;
    let series = series_for(st, t, sets, start, end).await?;
    Ok(match name {
        None => series
            .iter()
            .flat_map(|l| l.iter().map(|x| x.name.clone()))
            .collect(),
        Some(n) => series
            .iter()
            .filter_map(|l| l.get(n).map(str::to_string))
            .collect(),
    })
}

/// Undoes Grafana's `U__` escaping of UTF-8 label names (`U__a_2e_b` → `a.b`).
pub fn unescape_label_name(name: &str) -> String {
    let Some(rest) = name.strip_prefix("U__") else {
        return name.to_string();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|c| *c != '_').collect();
        match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
            Some(ch) => out.push(ch),
            None => return name.to_string(),
        }
    }
    out
}

/// `GET /api/v1/label/<name>/values`
pub async fn label_values(
    State(st): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, PromError> {
    let p = Params::from_parts(q.as_deref(), None);
    let t = tenant_of(&headers)?;
    let name = unescape_label_name(&name);
    if name.is_empty() {
        return Err(PromError::bad_data(format!("invalid label name: {name:?}")));
    }
    let limit = limit_param(&p)?;
    let values = label_index(&st, &t, &p, Some(&name)).await?;
    let (data, truncated) = string_list(values, limit);
    Ok(json_response(success_with(
        &data,
        &truncated_warning(truncated),
        &[],
    )))
}

/// `GET /api/v1/metadata`
pub async fn metadata(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, PromError> {
    let p = Params::from_parts(q.as_deref(), None);
    let t = tenant_of(&headers)?;
    let limit = match limit_param(&p)? {
        0 => usize::MAX,
        n => n,
    };
    let md = st
        .metrics
        .existing(&t)
        .map(|db| db.metadata(p.get("metric"), limit))
        .unwrap_or_default();
    let mut obj = serde_json::Map::new();
    for m in md {
        obj.insert(
            m.metric_family.clone(),
            serde_json::json!([{ "type": m.kind, "help": m.help, "unit": m.unit }]),
        );
    }
    Ok(json_response(success_with(
        &serde_json::Value::Object(obj).to_string(),
        &[],
        &[],
    )))
}

/// Every vector selector in a PromQL expression, as matcher sets.
fn selectors_of(expr: &str) -> Result<Vec<Vec<Matcher>>, PromError> {
    use crate::promql::parser::{self, Expr};
    let ast = parser::parse(expr)
        .map_err(|e| PromError::bad_data(format!("invalid parameter \"query\": {e}")))?;
    let mut sels = Vec::new();
    let mut stack = vec![&ast];
    while let Some(e) = stack.pop() {
        match e {
            Expr::VectorSelector(vs) => sels.push(&**vs),
            Expr::MatrixSelector(ms) => sels.push(&ms.vs),
            other => stack.extend(other.children()),
        }
    }
    sels.iter()
        .map(|vs| {
            vs.matchers
                .iter()
                .map(|m| m.to_matcher())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| PromError::bad_data(format!("invalid parameter \"query\": {e}")))
        })
        .collect()
}

/// `GET|POST /api/v1/query_exemplars`
pub async fn query_exemplars(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let t = tenant_of(&headers)?;
    let expr = query_param(&p)?;
    let start = time_param(&p, "start", i64::MIN)?;
    let end = time_param(&p, "end", i64::MAX)?;
    if end < start {
        return Err(PromError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let sets = selectors_of(&expr)?;
    let found = st
        .metrics
        .existing(&t)
        .map(|db| db.exemplars(&sets, start, end))
        .unwrap_or_default();
    let mut data = String::from("[");
    for (i, s) in found.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        data.push_str("{\"seriesLabels\":");
        write_labels(&mut data, &s.series_labels);
        data.push_str(",\"exemplars\":[");
        for (j, e) in s.exemplars.iter().enumerate() {
            if j > 0 {
                data.push(',');
            }
            data.push_str("{\"labels\":");
            write_labels(&mut data, &e.labels);
            data.push_str(",\"value\":\"");
            data.push_str(&prom_json::format_value(e.value));
            data.push_str("\",\"timestamp\":");
            write_timestamp(&mut data, e.t);
            data.push('}');
        }
        data.push_str("]}");
    }
    data.push(']');
    Ok(json_response(success_with(&data, &[], &[])))
}

/// `GET /api/v1/status/buildinfo` — deliberately without `features`, so
/// Grafana treats Cairn as plain Prometheus (no ruler config API).
pub async fn buildinfo() -> Response {
    let data = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "revision": option_env!("CAIRN_GIT_REVISION").unwrap_or("unknown"),
        "branch": "",
        "buildUser": "",
        "buildDate": "",
        "goVersion": "none (Rust)",
    });
    json_response(success_with(&data.to_string(), &[], &[]))
}

/// `GET /api/v1/status/tsdb`
pub async fn tsdb_status(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, PromError> {
    let p = Params::from_parts(q.as_deref(), None);
    let t = tenant_of(&headers)?;
    let limit = match limit_param(&p)? {
        0 => 10,
        n => n,
    };
    let stats = st
        .metrics
        .existing(&t)
        .map(|db: Arc<Db>| db.head().stats(limit))
        .unwrap_or_default();
    let pairs = |v: &[(String, u64)]| -> serde_json::Value {
        serde_json::Value::Array(
            v.iter()
                .map(|(n, c)| serde_json::json!({"name": n, "value": c}))
                .collect(),
        )
    };
    let data = serde_json::json!({
        "headStats": {
            "numSeries": stats.num_series,
            "numLabelPairs": stats.num_label_pairs,
            "chunkCount": stats.chunk_count,
            "minTime": if stats.num_series == 0 { 0 } else { stats.min_t },
            "maxTime": if stats.num_series == 0 { 0 } else { stats.max_t },
        },
        "seriesCountByMetricName": pairs(&stats.series_count_by_metric_name),
        "labelValueCountByLabelName": pairs(&stats.label_value_count_by_label_name),
        "memoryInBytesByLabelName": pairs(&stats.memory_in_bytes_by_label_name),
        "seriesCountByLabelValuePair": pairs(&stats.series_count_by_label_value_pair),
    });
    Ok(json_response(success_with(&data.to_string(), &[], &[])))
}

/// `GET|POST /api/v1/format_query`
pub async fn format_query(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, PromError> {
    let p = params(&st, &headers, q, &body)?;
    let expr = query_param(&p)?;
    let pretty = crate::promql::format_query(&expr).map_err(invalid_query)?;
    Ok(json_response(success_with(
        &serde_json::Value::String(pretty).to_string(),
        &[],
        &[],
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_label_name_unescaping() {
        assert_eq!(unescape_label_name("job"), "job");
        assert_eq!(
            unescape_label_name("U__my_20_lovely__http_2e_status"),
            "my lovely_http.status"
        );
    }
}
