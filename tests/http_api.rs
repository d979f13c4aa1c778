//! In-process HTTP tests of the Prometheus API and remote write: every
//! endpoint answers in Prometheus' shapes, bad input gets its 4xx with a clear
//! message in the API's error shape, and the server keeps serving.

mod common;

use common::*;
use serde_json::Value;

fn rw_url(s: &TestServer) -> String {
    s.url("/api/v1/write")
}

async fn seeded() -> (TestServer, i64) {
    let s = start(|_| {}).await;
    let t0 = (now_ms() / 60_000 - 30) * 60_000; // 30 minutes ago, on a minute
    let mut ts = Vec::new();
    for (job, inst) in [("api", "a"), ("api", "b"), ("web", "a")] {
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| (t0 + i * 15_000, (i * 10) as f64))
            .collect();
        ts.push(series(
            "http_requests_total",
            &[("job", job), ("instance", inst)],
            &samples,
        ));
    }
    let (code, body) = write_v1(&s.client, &rw_url(&s), ts, None).await;
    assert_eq!(code, 204, "{body}");
    (s, t0)
}

#[tokio::test]
async fn remote_write_then_query_and_query_range() {
    let (s, t0) = seeded().await;
    let at = (t0 + 119 * 15_000) as f64 / 1000.0;
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query=sum%20by%20(job)%20(http_requests_total)&time={at}"
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["status"], "success");
    assert_eq!(v["data"]["resultType"], "vector");
    let res = v["data"]["result"].as_array().unwrap();
    assert_eq!(res.len(), 2);
    assert_eq!(res[0]["metric"]["job"], "api");
    assert_eq!(res[0]["value"][1], "2380");
    assert!(
        res[0]["value"][0].is_number(),
        "timestamps are JSON numbers"
    );

    // POST form, as Grafana sends it.
    let form = [
        (
            "query",
            "rate(http_requests_total{job=\"web\"}[5m])".to_string(),
        ),
        ("start", format!("{}", (t0 + 600_000) / 1000)),
        ("end", format!("{}", (t0 + 1_200_000) / 1000)),
        ("step", "60".to_string()),
    ];
    let resp = s
        .client
        .post(s.url("/api/v1/query_range"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["resultType"], "matrix");
    let series = v["data"]["result"].as_array().unwrap();
    assert_eq!(series.len(), 1);
    let values = series[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 11);
    for p in values {
        let rate: f64 = p[1].as_str().unwrap().parse().unwrap();
        assert!((rate - 10.0 / 15.0).abs() < 1e-9, "rate {rate}");
    }
    assert!(
        series[0]["metric"].get("__name__").is_none(),
        "rate drops the metric name"
    );

    // Also under /prometheus, with a duration step and RFC3339 times.
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/prometheus/api/v1/query_range?query=http_requests_total&start={}&end={}&step=1m",
            (t0 + 60_000) / 1000,
            (t0 + 180_000) / 1000
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn series_labels_values_metadata_exemplars_status() {
    let (s, t0) = seeded().await;
    let start = t0 / 1000 - 60;
    let end = t0 / 1000 + 3600;
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/series?match[]=http_requests_total{{job=%22api%22}}&start={start}&end={end}"
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    let arr = v["data"].as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["__name__"], "http_requests_total");

    let (_, v) = get_json(&s.client, &s.url("/api/v1/labels")).await;
    assert_eq!(
        v["data"],
        serde_json::json!(["__name__", "instance", "job"])
    );
    let (_, v) = get_json(
        &s.client,
        &s.url("/api/v1/labels?match[]={job=%22web%22}&limit=2"),
    )
    .await;
    assert_eq!(v["data"], serde_json::json!(["__name__", "instance"]));
    assert_eq!(v["warnings"][0], "results truncated due to limit");

    let (_, v) = get_json(&s.client, &s.url("/api/v1/label/job/values")).await;
    assert_eq!(v["data"], serde_json::json!(["api", "web"]));
    let (_, v) = get_json(&s.client, &s.url("/api/v1/label/__name__/values")).await;
    assert_eq!(v["data"], serde_json::json!(["http_requests_total"]));
    let (_, v) = get_json(
        &s.client,
        &s.url("/api/v1/label/U__job/values?match[]={instance=%22b%22}"),
    )
    .await;
    assert_eq!(v["data"], serde_json::json!(["api"]));

    // Grafana's exemplar probe with millisecond "seconds".
    let (code, v) = get_json(
        &s.client,
        &s.url("/api/v1/query_exemplars?query=test&start=1700000000000&end=1700000001000"),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v, serde_json::json!({"status": "success", "data": []}));

    let (code, v) = get_json(&s.client, &s.url("/api/v1/status/buildinfo")).await;
    assert_eq!(code, 200);
    assert!(v["data"]["version"].is_string());
    assert!(
        v["data"].get("features").is_none(),
        "no features key: Grafana must see plain Prometheus"
    );

    let (code, _) = get_json(&s.client, &s.url("/api/v1/status/flags")).await;
    assert_eq!(code, 404);

    let (_, v) = get_json(&s.client, &s.url("/api/v1/status/tsdb")).await;
    assert_eq!(v["data"]["headStats"]["numSeries"], 3);
    assert_eq!(
        v["data"]["seriesCountByMetricName"][0]["name"],
        "http_requests_total"
    );
    assert_eq!(v["data"]["seriesCountByMetricName"][0]["value"], 3);

    let (_, v) = get_json(&s.client, &s.url("/api/v1/rules")).await;
    assert_eq!(
        v,
        serde_json::json!({"status": "success", "data": {"groups": []}})
    );
    let (_, v) = get_json(&s.client, &s.url("/api/v1/alerts")).await;
    assert_eq!(
        v,
        serde_json::json!({"status": "success", "data": {"alerts": []}})
    );

    let (_, v) = get_json(&s.client, &s.url("/api/v1/metadata")).await;
    assert_eq!(v["status"], "success");
    assert!(v["data"].is_object());

    let (code, v) = get_json(
        &s.client,
        &s.url("/api/v1/format_query?query=sum(rate(x[5m]))by(job)"),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert!(v["data"].as_str().unwrap().contains("sum by (job)"), "{v}");
}

#[tokio::test]
async fn metadata_and_exemplars_round_trip() {
    use cairn::ingest::proto::prometheus as pb;
    let s = start(|_| {}).await;
    let t = now_ms() - 60_000;
    let mut ts = series("req_duration_seconds_bucket", &[("le", "0.5")], &[(t, 3.0)]);
    ts.exemplars.push(pb::Exemplar {
        labels: vec![pb::Label {
            name: "trace_id".into(),
            value: "abc123".into(),
        }],
        value: 0.42,
        timestamp: t,
    });
    let req = pb::WriteRequest {
        timeseries: vec![ts],
        metadata: vec![pb::MetricMetadata {
            r#type: 3,
            metric_family_name: "req_duration_seconds".into(),
            help: "Request latency.".into(),
            unit: "seconds".into(),
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(&req))
        .unwrap();
    let resp = s
        .client
        .post(rw_url(&s))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let (_, v) = get_json(
        &s.client,
        &s.url("/api/v1/metadata?metric=req_duration_seconds"),
    )
    .await;
    assert_eq!(
        v["data"]["req_duration_seconds"][0],
        serde_json::json!({"type": "histogram", "help": "Request latency.", "unit": "seconds"})
    );
    let (_, v) = get_json(
        &s.client,
        &s.url(&format!("/api/v1/query_exemplars?query=sum(rate(req_duration_seconds_bucket[5m]))&start={}&end={}", t / 1000 - 10, t / 1000 + 10)),
    )
    .await;
    let first = &v["data"][0];
    assert_eq!(first["seriesLabels"]["le"], "0.5");
    assert_eq!(first["exemplars"][0]["labels"]["trace_id"], "abc123");
    assert_eq!(first["exemplars"][0]["value"], "0.42");
    assert!(first["exemplars"][0]["timestamp"].is_number());
}

#[tokio::test]
async fn bad_queries_get_prometheus_errors_and_server_keeps_serving() {
    let (s, _) = seeded().await;
    let cases = [
        ("/api/v1/query?query=sum(", 400, "bad_data"),
        ("/api/v1/query", 400, "bad_data"),
        ("/api/v1/query?query=up&time=notatime", 400, "bad_data"),
        (
            "/api/v1/query_range?query=up&start=10&end=5&step=1",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=100000&step=1",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=10&step=0",
            400,
            "bad_data",
        ),
        (
            "/api/v1/query_range?query=up&start=0&end=10",
            400,
            "bad_data",
        ),
        ("/api/v1/series", 400, "bad_data"),
        ("/api/v1/series?match[]=%7B", 400, "bad_data"),
        ("/api/v1/labels?limit=x", 400, "bad_data"),
        (
            "/api/v1/query?query=http_requests_total%20%2B%20on()%20http_requests_total",
            422,
            "execution",
        ),
    ];
    for (path, code, kind) in cases {
        let (got, v) = get_json(&s.client, &s.url(path)).await;
        assert_eq!(got, code, "{path}: {v}");
        assert_eq!(v["status"], "error", "{path}");
        assert_eq!(v["errorType"], kind, "{path}: {v}");
        assert!(
            !v["error"].as_str().unwrap_or("").is_empty(),
            "{path}: message"
        );
    }
    // Parse errors are worded and positioned as Prometheus does.
    let (_, v) = get_json(&s.client, &s.url("/api/v1/query?query=sum(")).await;
    assert_eq!(
        v["error"],
        "invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"
    );
    // An absurdly long query is refused before parsing.
    let long = "1+".repeat(100_000) + "1";
    let resp = s
        .client
        .post(s.url("/api/v1/query"))
        .form(&[("query", long)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("longer than the limit"),
        "{v}"
    );
    let resp = s
        .client
        .get(s.url("/api/v1/query?query=up"))
        .header("X-Scope-OrgID", "a/b")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let (code, v) = get_json(&s.client, &s.url("/api/v1/query?query=1%2B1&time=4")).await;
    assert_eq!(code, 200, "still serving: {v}");
    assert_eq!(
        v["data"],
        serde_json::json!({"resultType": "scalar", "result": [4, "2"]})
    );
}

#[tokio::test]
async fn bad_remote_writes_get_4xx_valid_series_are_kept() {
    let s = start(|_| {}).await;
    let url = rw_url(&s);
    let t = now_ms();

    // Not snappy.
    let resp = s
        .client
        .post(&url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("snappy"));
    // Snappy but not protobuf.
    let body = snap::raw::Encoder::new()
        .compress_vec(&[0xff, 0xff, 0xff, 0xff])
        .unwrap();
    let resp = s
        .client
        .post(&url)
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // Wrong content type.
    let resp = s
        .client
        .post(&url)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);

    // A batch with a valid series, an invalid label name and a duplicate label.
    let good = series("good_metric", &[("job", "x")], &[(t, 1.0)]);
    let bad_name = series("bad_metric", &[("in-valid", "x")], &[(t, 1.0)]);
    let mut dup = series("dup_metric", &[("job", "x")], &[(t, 1.0)]);
    dup.labels.push(cairn::ingest::proto::prometheus::Label {
        name: "job".into(),
        value: "y".into(),
    });
    let (code, body) = write_v1(&s.client, &url, vec![good, bad_name, dup], None).await;
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid label name \"in-valid\""), "{body}");
    assert!(body.contains("duplicate label name \"job\""), "{body}");
    assert!(
        body.contains("bad_metric"),
        "message names the series: {body}"
    );

    // Out of order and duplicate-with-different-value samples.
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![series("good_metric", &[("job", "x")], &[(t - 60_000, 2.0)])],
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("out of order sample"), "{body}");
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![series("good_metric", &[("job", "x")], &[(t, 5.0)])],
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("duplicate sample for timestamp"), "{body}");
    // An exact duplicate is fine (senders retry).
    let (code, _) = write_v1(
        &s.client,
        &url,
        vec![series("good_metric", &[("job", "x")], &[(t, 1.0)])],
        None,
    )
    .await;
    assert_eq!(code, 204);

    let (_, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query=good_metric&time={}",
            t / 1000 + 1
        )),
    )
    .await;
    assert_eq!(
        v["data"]["result"].as_array().unwrap().len(),
        1,
        "the valid series was stored: {v}"
    );
    assert_eq!(v["data"]["result"][0]["value"][1], "1");
    let (_, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query=bad_metric&time={}",
            t / 1000 + 1
        )),
    )
    .await;
    assert_eq!(v["data"]["result"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn remote_write_v2_sets_written_headers() {
    use cairn::ingest::proto::write_v2 as v2;
    let s = start(|_| {}).await;
    let t = now_ms();
    let req = v2::Request {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "rw2_metric".into(),
            "job".into(),
            "a".into(),
        ],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2::Sample {
                value: 7.0,
                timestamp: t,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(&req))
        .unwrap();
    let resp = s
        .client
        .post(rw_url(&s))
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
        resp.headers()["x-prometheus-remote-write-samples-written"],
        "1"
    );
    assert_eq!(
        resp.headers()["x-prometheus-remote-write-histograms-written"],
        "0"
    );
    assert_eq!(
        resp.headers()["x-prometheus-remote-write-exemplars-written"],
        "0"
    );
    let (_, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query=rw2_metric&time={}",
            t / 1000 + 1
        )),
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "7");
}

#[tokio::test]
async fn tenants_are_isolated_and_rate_limited() {
    let s = start(|c| {
        c.limits.ingestion_rate_samples = 100;
        c.limits.ingestion_burst_samples = 100;
    })
    .await;
    let t = now_ms();
    let samples: Vec<(i64, f64)> = (0..150)
        .map(|i| (t - 150_000 + i * 1000, i as f64))
        .collect();
    let (code, _) = write_v1(
        &s.client,
        &rw_url(&s),
        vec![series("tenant_metric", &[], &samples)],
        Some("team-a"),
    )
    .await;
    assert_eq!(code, 204, "a full bucket may be overdrawn once");
    let resp = s
        .client
        .post(rw_url(&s))
        .header("X-Scope-OrgID", "team-a")
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .body(encode_v1(vec![series("tenant_metric", &[], &[(t, 1.0)])]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_some());

    let q = format!(
        "/api/v1/query?query=count_over_time(tenant_metric[10m])&time={}",
        t / 1000
    );
    let resp = s
        .client
        .get(s.url(&q))
        .header("X-Scope-OrgID", "team-a")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "150");
    let (_, v) = get_json(&s.client, &s.url(&q)).await;
    assert_eq!(
        v["data"]["result"].as_array().unwrap().len(),
        0,
        "default tenant sees nothing of team-a"
    );
}

#[tokio::test]
async fn ready_metrics_and_gzip_bodies() {
    let (s, t0) = seeded().await;
    let resp = s.client.get(s.url("/ready")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let text = s
        .client
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("cairn_ingested_samples_total{signal=\"metrics\"} 360"),
        "{text}"
    );
    assert!(text.contains("cairn_active_series 3"));
    assert!(text.contains("cairn_wal_fsync_duration_seconds_count"));
    assert!(
        text.contains(
            "cairn_http_requests_total{route=\"/api/v1/write\",method=\"POST\",code=\"204\"} 1"
        ),
        "{text}"
    );

    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    write!(
        enc,
        "query=count(http_requests_total)&time={}",
        t0 / 1000 + 60
    )
    .unwrap();
    let resp = s
        .client
        .post(s.url("/api/v1/query"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Content-Encoding", "gzip")
        .body(enc.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["result"][0]["value"][1], "3");
}

#[tokio::test]
async fn query_sample_limit_answers_422() {
    let (s, t0) = seeded().await;
    let s2 = start(|c| c.query.max_samples = 10).await;
    drop(s);
    let samples: Vec<(i64, f64)> = (0..120).map(|i| (t0 + i * 15_000, i as f64)).collect();
    let (code, _) = write_v1(
        &s2.client,
        &s2.url("/api/v1/write"),
        vec![series("many", &[], &samples)],
        None,
    )
    .await;
    assert_eq!(code, 204);
    let (code, v) = get_json(
        &s2.client,
        &s2.url(&format!(
            "/api/v1/query?query=count_over_time(many[1h])&time={}",
            t0 / 1000 + 1800
        )),
    )
    .await;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["errorType"], "execution");
    assert!(
        v["error"].as_str().unwrap().contains("too many samples"),
        "{v}"
    );
}

#[tokio::test]
async fn future_samples_histograms_and_conflicting_duplicates_are_rejected() {
    use cairn::ingest::proto::prometheus as pb;
    let s = start(|_| {}).await;
    let url = s.url("/api/v1/write");
    let t = now_ms();
    // A client with its clock an hour ahead.
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![series("future_metric", &[], &[(t + 3_600_000, 1.0)])],
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("too far in the future"), "{body}");
    // ...and does not block that series' normal samples afterwards.
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![series("future_metric", &[], &[(t, 1.0)])],
        None,
    )
    .await;
    assert_eq!(code, 204, "{body}");
    // The same series twice in one request with different values at one timestamp.
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![
            series("twice", &[], &[(t, 1.0)]),
            series("twice", &[], &[(t, 2.0)]),
        ],
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body.contains("duplicate sample for timestamp"), "{body}");
    // An invalid native histogram (spans promise two buckets, one is sent)
    // is refused naming its series; the rest of the request is stored.
    let mut h = series("native_hist", &[], &[]);
    h.histograms.push(pb::Histogram {
        timestamp: t,
        count: Some(pb::histogram::Count::CountInt(1)),
        positive_spans: vec![pb::BucketSpan {
            offset: 0,
            length: 2,
        }],
        positive_deltas: vec![1],
        ..Default::default()
    });
    let (code, body) = write_v1(
        &s.client,
        &url,
        vec![h, series("plain", &[], &[(t, 3.0)])],
        None,
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        body.contains("invalid native histogram")
            && body.contains("native_hist")
            && body.contains("histogram spans specify different number of buckets"),
        "{body}"
    );
    let (_, v) = get_json(
        &s.client,
        &s.url(&format!("/api/v1/query?query=plain&time={}", t / 1000 + 1)),
    )
    .await;
    assert_eq!(v["data"]["result"][0]["value"][1], "3");
    let (_, v) = get_json(
        &s.client,
        &s.url(&format!("/api/v1/query?query=twice&time={}", t / 1000 + 1)),
    )
    .await;
    assert_eq!(
        v["data"]["result"][0]["value"][1], "1",
        "the first value won, the conflicting one was refused"
    );
}

#[tokio::test]
async fn queries_answer_503_until_the_wal_replay_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = cairn::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    // Build the server without opening the stores: readiness stays false.
    let state = cairn::server::build_state(
        std::sync::Arc::new(cfg),
        std::sync::Arc::new(cairn::storage::clock::SystemClock),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, cairn::server::router(state)).await;
    });
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let (code, v) = get_json(&client, &format!("http://{addr}/api/v1/query?query=1")).await;
    assert_eq!(code, 503, "{v}");
    assert_eq!(v["errorType"], "unavailable");
    assert!(v["error"].as_str().unwrap().contains("replaying"), "{v}");
}
