//! Native histograms end to end over HTTP: remote write 1.0 (integer,
//! exponential buckets) and 2.0 (float, custom buckets) in; the query API
//! answers with Prometheus' `histogram` / `histograms` JSON shapes, and
//! PromQL functions and aggregations work on them.

mod common;

use cairn::ingest::proto::{prometheus as pb, write_v2 as v2};
use common::*;
use prost::Message;
use serde_json::{json, Value};

fn int_hist(t: i64, k: u64) -> pb::Histogram {
    // k observations in (0.5, 1], 2k in (1, 2]; sum 3k.
    pb::Histogram {
        timestamp: t,
        count: Some(pb::histogram::Count::CountInt(3 * k)),
        sum: 3.0 * k as f64,
        schema: 0,
        zero_threshold: 1e-128,
        positive_spans: vec![pb::BucketSpan {
            offset: 0,
            length: 2,
        }],
        // Delta-encoded: k, then 2k - k.
        positive_deltas: vec![k as i64, k as i64],
        reset_hint: if k == 1 { 1 } else { 2 },
        ..Default::default()
    }
}

async fn query(s: &TestServer, path: &str) -> Value {
    let (code, v) = get_json(&s.client, &s.url(path)).await;
    assert_eq!(code, 200, "{path}: {v}");
    assert_eq!(v["status"], "success", "{v}");
    v
}

fn enc(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn remote_written_histograms_come_back_in_prometheus_shapes() {
    let s = start(|_| {}).await;
    let t0 = (now_ms() / 60_000 - 20) * 60_000;
    // RW 1.0: 10 minutes of an integer counter histogram, one per minute.
    let mut ts = series("rpc_duration_seconds", &[("job", "api")], &[]);
    ts.histograms = (1..=10)
        .map(|k| int_hist(t0 + (k as i64 - 1) * 60_000, k))
        .collect();
    let (code, body) = write_v1(&s.client, &s.url("/api/v1/write"), vec![ts], None).await;
    assert_eq!(code, 204, "{body}");

    let t = t0 / 1000 + 9 * 60;
    // Instant: the newest histogram, k = 10.
    let v = query(
        &s,
        &format!("/api/v1/query?query=rpc_duration_seconds&time={t}"),
    )
    .await;
    let r = &v["data"]["result"][0];
    assert_eq!(r["metric"]["__name__"], "rpc_duration_seconds");
    assert!(r.get("value").is_none(), "{r}");
    assert_eq!(r["histogram"][0], json!(t));
    assert_eq!(
        r["histogram"][1],
        json!({"count": "30", "sum": "30", "buckets": [[0, "0.5", "1", "10"], [0, "1", "2", "20"]]})
    );
    // Range: "histograms" instead of "values".
    let v = query(
        &s,
        &format!(
            "/api/v1/query_range?query=rpc_duration_seconds&start={}&end={t}&step=60",
            t - 120
        ),
    )
    .await;
    let r = &v["data"]["result"][0];
    assert!(r.get("values").is_none(), "{r}");
    let hs = r["histograms"].as_array().unwrap();
    assert_eq!(hs.len(), 3);
    assert_eq!(hs[0][1]["count"], "24");
    // Functions and aggregations.
    for (q, want) in [
        ("histogram_count(rpc_duration_seconds)", "30"),
        ("histogram_sum(rpc_duration_seconds)", "30"),
        ("histogram_count(sum(rpc_duration_seconds))", "30"),
        // 3 observations a minute over 5 minutes.
        ("histogram_count(increase(rpc_duration_seconds[5m]))", "15"),
    ] {
        let v = query(&s, &format!("/api/v1/query?query={}&time={t}", enc(q))).await;
        assert_eq!(v["data"]["result"][0]["value"][1], want, "{q}: {v}");
    }
    let v = query(
        &s,
        &format!(
            "/api/v1/query?query={}&time={t}",
            enc("histogram_quantile(0.5, rpc_duration_seconds)")
        ),
    )
    .await;
    let median: f64 = v["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(median > 1.0 && median <= 2.0, "{v}");
}

#[tokio::test]
async fn remote_write_2_float_histograms_with_custom_buckets() {
    let s = start(|_| {}).await;
    let t = (now_ms() / 60_000 - 5) * 60_000;
    let req = v2::Request {
        symbols: vec!["".into(), "__name__".into(), "latency".into()],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2],
            histograms: vec![v2::Histogram {
                timestamp: t,
                count: Some(v2::histogram::Count::CountFloat(4.5)),
                sum: 2.25,
                schema: -53,
                positive_spans: vec![v2::BucketSpan {
                    offset: 0,
                    length: 3,
                }],
                positive_counts: vec![1.5, 2.0, 1.0],
                custom_values: vec![0.1, 0.5],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap();
    let resp = s
        .client
        .post(s.url("/api/v1/write"))
        .header(
            "Content-Type",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
        )
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "2.0.0")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(
        resp.headers()["X-Prometheus-Remote-Write-Histograms-Written"],
        "1"
    );
    assert_eq!(
        resp.headers()["X-Prometheus-Remote-Write-Samples-Written"],
        "0"
    );
    let v = query(
        &s,
        &format!("/api/v1/query?query=latency&time={}", t / 1000),
    )
    .await;
    assert_eq!(
        v["data"]["result"][0]["histogram"][1],
        json!({"count": "4.5", "sum": "2.25", "buckets": [
            [3, "-Inf", "0.1", "1.5"], [0, "0.1", "0.5", "2"], [0, "0.5", "+Inf", "1"]
        ]})
    );
}
