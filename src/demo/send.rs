//! The demo's wire side: each step's metrics as a Prometheus remote-write
//! 1.0 request (snappy protobuf, with exemplars), its log lines as a Loki
//! push (JSON, as Fluent Bit's `loki` output sends it) and its spans as an
//! OTLP/HTTP protobuf export, all to a running Cairn. 429 and 503 answers
//! are retried after their `Retry-After`.

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;

use crate::demo::registry::Point;
use crate::demo::world::{Attr, LogLine, SpanKind, SpanOut};
use crate::ingest::proto::prometheus as rw;
use crate::otlp::pb::collector::trace::v1::ExportTraceServiceRequest;
use crate::otlp::pb::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use crate::otlp::pb::resource::v1::Resource;
use crate::otlp::pb::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};

/// Where and as whom the demo writes.
pub struct Target {
    pub client: reqwest::Client,
    /// Cairn's HTTP base URL (remote write and Loki push).
    pub base: String,
    /// OTLP/HTTP base URL (`/v1/traces` is appended).
    pub otlp: String,
    pub tenant: Option<String>,
}

/// Remote-write 1.0 body of one scrape (snappy-compressed protobuf).
pub fn remote_write_body(points: &[Point], t_ms: i64) -> Vec<u8> {
    let timeseries = points
        .iter()
        .map(|p| rw::TimeSeries {
            labels: p
                .labels
                .iter()
                .map(|(n, v)| rw::Label {
                    name: n.clone(),
                    value: v.clone(),
                })
                .collect(),
            samples: vec![rw::Sample {
                value: p.value,
                timestamp: t_ms,
            }],
            exemplars: p
                .exemplar
                .iter()
                .map(|e| rw::Exemplar {
                    labels: vec![rw::Label {
                        name: "trace_id".into(),
                        value: e.trace_id.clone(),
                    }],
                    value: e.value,
                    timestamp: e.t_ms,
                })
                .collect(),
            histograms: Vec::new(),
        })
        .collect();
    let req = rw::WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap_or_default()
}

/// Loki push JSON of some log lines, one stream per label set, entries in
/// time order.
pub fn loki_push_body(lines: &[LogLine]) -> Vec<u8> {
    // (namespace, app, container) → entries.
    type StreamKey = (String, String, String);
    let mut streams: BTreeMap<StreamKey, Vec<(i64, &str)>> = BTreeMap::new();
    for l in lines {
        streams
            .entry((l.namespace.clone(), l.app.clone(), l.container.clone()))
            .or_default()
            .push((l.t_ns, &l.line));
    }
    let streams: Vec<serde_json::Value> = streams
        .into_iter()
        .map(|((namespace, app, container), mut entries)| {
            entries.sort_by_key(|e| e.0);
            serde_json::json!({
                "stream": {
                    "job": "fluent-bit",
                    "namespace": namespace,
                    "app": app,
                    "container": container,
                },
                "values": entries
                    .into_iter()
                    .map(|(t, line)| serde_json::json!([t.to_string(), line]))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "streams": streams })
        .to_string()
        .into_bytes()
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

/// OTLP export of the spans, with `wp-k8s-service`'s resource.
pub fn otlp_traces_body(spans: &[SpanOut], service_pod: &str) -> Vec<u8> {
    let spans = spans
        .iter()
        .map(|s| Span {
            trace_id: s.trace_id.to_vec(),
            span_id: s.span_id.to_vec(),
            parent_span_id: s.parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: s.name.clone(),
            kind: match s.kind {
                SpanKind::Server => span::SpanKind::Server,
                SpanKind::Client => span::SpanKind::Client,
                SpanKind::Internal => span::SpanKind::Internal,
            } as i32,
            start_time_unix_nano: s.start_ns.max(0) as u64,
            end_time_unix_nano: s.end_ns.max(0) as u64,
            attributes: s
                .attrs
                .iter()
                .map(|(k, v)| match v {
                    Attr::Str(x) => kv(k, any_value::Value::StringValue(x.clone())),
                    Attr::Int(i) => kv(k, any_value::Value::IntValue(*i)),
                })
                .collect(),
            status: Some(match &s.error {
                Some(msg) => Status {
                    message: msg.clone(),
                    code: status::StatusCode::Error as i32,
                },
                None => Status::default(),
            }),
            ..Default::default()
        })
        .collect();
    let resource = Resource {
        attributes: vec![
            kv(
                "service.name",
                any_value::Value::StringValue("wp-k8s-service".into()),
            ),
            kv(
                "deployment.environment",
                any_value::Value::StringValue("demo".into()),
            ),
            kv(
                "k8s.namespace.name",
                any_value::Value::StringValue("wp-system".into()),
            ),
            kv(
                "k8s.pod.name",
                any_value::Value::StringValue(service_pod.to_string()),
            ),
        ],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "wp_k8s_service".into(),
                    version: "1.4.2".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A failed delivery, with what Cairn answered (in full: callers look
/// into it; [`SendError::short`] is for printing).
#[derive(Debug)]
pub struct SendError(pub String);

impl SendError {
    /// The first 300 characters, for a progress line.
    pub fn short(&self) -> String {
        let mut s: String = self.0.chars().take(300).collect();
        if s.len() < self.0.len() {
            s.push('…');
        }
        s
    }

    /// Did Cairn refuse only samples older than a series' newest (and
    /// store the rest)? Any other problem in the answer says no.
    pub fn only_out_of_order(&self) -> bool {
        self.0.contains("out of order sample")
            && ![
                "out of bounds",
                "duplicate sample",
                "too far in the future",
                "limit",
            ]
            .iter()
            .any(|other| self.0.contains(other))
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Target {
    /// POSTs a body, retrying up to three times on 429/503 after the
    /// answer's `Retry-After` (1 s when absent).
    pub async fn post(
        &self,
        url: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<(), SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.client.post(url).body(body.clone());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(t) = &self.tenant {
                req = req.header("X-Scope-OrgID", t);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| SendError(format!("POST {url}: {e}")))?;
            let status = resp.status();
            if status.is_success() {
                return Ok(());
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            let text = resp.text().await.unwrap_or_default();
            if (status.as_u16() == 429 || status.as_u16() == 503) && attempt < 4 {
                tokio::time::sleep(Duration::from_secs(retry_after.min(30))).await;
                continue;
            }
            return Err(SendError(format!("POST {url}: {status}: {}", text.trim())));
        }
    }

    /// A PromQL instant query at `t_ms`, as the rule manager would run it;
    /// the decoded JSON answer.
    pub async fn instant_query(
        &self,
        query: &str,
        t_ms: i64,
    ) -> Result<serde_json::Value, SendError> {
        let url = format!("{}/api/v1/query", self.base);
        let time = format!("{}.{:03}", t_ms.div_euclid(1000), t_ms.rem_euclid(1000));
        let time = time.as_str();
        let mut req = self
            .client
            .get(&url)
            .query(&[("query", query), ("time", time)]);
        if let Some(t) = &self.tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| SendError(format!("GET {url}: {e}")))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(SendError(format!(
                "GET {url} ({query}): {status}: {}",
                text.trim().chars().take(300).collect::<String>()
            )));
        }
        serde_json::from_str(&text).map_err(|e| SendError(format!("GET {url}: {e}")))
    }

    pub async fn remote_write(&self, points: &[Point], t_ms: i64) -> Result<(), SendError> {
        let url = format!("{}/api/v1/write", self.base);
        self.post(
            &url,
            remote_write_body(points, t_ms),
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
                ("X-Prometheus-Remote-Write-Version", "0.1.0"),
            ],
        )
        .await
    }

    pub async fn loki_push(&self, lines: &[LogLine]) -> Result<(), SendError> {
        if lines.is_empty() {
            return Ok(());
        }
        let url = format!("{}/loki/api/v1/push", self.base);
        self.post(
            &url,
            loki_push_body(lines),
            &[("Content-Type", "application/json")],
        )
        .await
    }

    pub async fn otlp_traces(&self, spans: &[SpanOut], service_pod: &str) -> Result<(), SendError> {
        if spans.is_empty() {
            return Ok(());
        }
        let url = format!("{}/v1/traces", self.otlp);
        self.post(
            &url,
            otlp_traces_body(spans, service_pod),
            &[("Content-Type", "application/x-protobuf")],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::registry::Registry;

    #[test]
    fn remote_write_body_round_trips() {
        let mut r = Registry::default();
        r.set(
            "wp_clones_active",
            &[("target_namespace", "wordpress-staging")],
            3.0,
        );
        let body = remote_write_body(&r.scrape(), 1_000);
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&body)
            .expect("snappy");
        let req = rw::WriteRequest::decode(raw.as_slice()).expect("protobuf");
        assert_eq!(req.timeseries.len(), 1);
        assert_eq!(req.timeseries[0].samples[0].value, 3.0);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 1_000);
        assert_eq!(req.timeseries[0].labels[0].name, "__name__");
    }

    #[test]
    fn loki_body_groups_streams_and_sorts_entries() {
        let line = |t, app: &str| LogLine {
            namespace: "wp-system".into(),
            app: app.into(),
            container: app.into(),
            t_ns: t,
            line: format!("l{t}"),
        };
        let body = loki_push_body(&[line(2, "a"), line(1, "a"), line(3, "b")]);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        let streams = v["streams"].as_array().expect("streams");
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[0]["stream"]["job"], "fluent-bit");
        assert_eq!(streams[0]["values"][0][0], "1");
        assert_eq!(streams[0]["values"][1][1], "l2");
    }
}
