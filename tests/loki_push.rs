//! Loki push over HTTP: JSON (plain and gzip) and snappy protobuf with
//! structured metadata, Loki's 400 messages naming the stream while the
//! valid rest is stored, the tenant header, and the byte rate limit's 429
//! with `Retry-After`.

mod common;

use std::io::Write;
use std::ops::ControlFlow;

use cairn::ingest::proto::logproto;
use cairn::logs::SelectRequest;
use cairn::model::{MatchOp, Matcher, TenantId};
use prost::Message;

/// A stored line: stream labels, line, structured metadata.
type StoredLine = (String, String, Vec<(String, String)>);

/// (stream labels, line, metadata) of everything a tenant stored for `ns`.
fn stored(st: &cairn::server::state::SharedState, tenant: &str, ns: &str) -> Vec<StoredLine> {
    let src = st.logs.source(&TenantId::parse(tenant).unwrap());
    let m = vec![Matcher::new(MatchOp::Equal, "namespace", ns).unwrap()];
    let mut out = Vec::new();
    src.select(
        &SelectRequest {
            matchers: &m,
            start_ns: 0,
            end_ns: i64::MAX,
            filter: None,
        },
        &mut |l, es| {
            for e in es {
                out.push((
                    l.to_string(),
                    e.line.to_string(),
                    e.metadata
                        .iter()
                        .map(|m| (m.name.clone(), m.value.clone()))
                        .collect(),
                ));
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out.sort();
    out
}

fn now_ns() -> i64 {
    common::now_ms() * 1_000_000
}

#[tokio::test]
async fn json_and_gzip_json_pushes_are_stored_with_metadata() {
    let srv = common::start(|_| {}).await;
    let t = now_ns();
    let body = serde_json::json!({"streams": [{
        "stream": {"namespace": "wordpress-staging", "pod": "wp-0"},
        "values": [
            [t.to_string(), "clone started", {"trace_id": "abc"}],
            [(t + 1).to_string(), "clone done"]
        ]
    }]});
    let r = srv
        .client
        .post(srv.url("/loki/api/v1/push"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{}", r.text().await.unwrap());

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let body2 = serde_json::json!({"streams": [{
        "stream": {"namespace": "wordpress-staging", "pod": "wp-1"},
        "values": [[(t + 2).to_string(), "gzipped line"]]
    }]});
    gz.write_all(body2.to_string().as_bytes()).unwrap();
    let r = srv
        .client
        .post(srv.url("/api/prom/push"))
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);

    assert_eq!(
        stored(&srv.state, "fake", "wordpress-staging"),
        vec![
            (
                "{namespace=\"wordpress-staging\", pod=\"wp-0\"}".to_string(),
                "clone done".to_string(),
                vec![]
            ),
            (
                "{namespace=\"wordpress-staging\", pod=\"wp-0\"}".to_string(),
                "clone started".to_string(),
                vec![("trace_id".to_string(), "abc".to_string())]
            ),
            (
                "{namespace=\"wordpress-staging\", pod=\"wp-1\"}".to_string(),
                "gzipped line".to_string(),
                vec![]
            ),
        ]
    );
}

fn proto_push(streams: Vec<(&str, Vec<(i64, &str)>)>) -> Vec<u8> {
    let req = logproto::PushRequest {
        streams: streams
            .into_iter()
            .map(|(labels, entries)| logproto::StreamAdapter {
                labels: labels.into(),
                entries: entries
                    .into_iter()
                    .map(|(ts, line)| logproto::EntryAdapter {
                        timestamp: Some(logproto::Timestamp {
                            seconds: ts.div_euclid(1_000_000_000),
                            nanos: ts.rem_euclid(1_000_000_000) as i32,
                        }),
                        line: line.into(),
                        structured_metadata: vec![logproto::LabelPairAdapter {
                            name: "span_id".into(),
                            value: "s1".into(),
                        }],
                        parsed: vec![],
                    })
                    .collect(),
                hash: 0,
            })
            .collect(),
        format: String::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap()
}

#[tokio::test]
async fn protobuf_push_keeps_valid_streams_and_names_the_bad_ones() {
    let srv = common::start(|c| {
        c.limits.log_max_line_size = cairn::units::ByteSize(20);
    })
    .await;
    let t = now_ns();
    let body = proto_push(vec![
        (
            r#"{namespace="wordpress-production", pod="wp-2"}"#,
            vec![
                (t, "short line"),
                (t + 1, "this line is longer than twenty bytes"),
            ],
        ),
        (
            r#"{namespace="wordpress-production", bad-label="x"}"#,
            vec![(t, "x")],
        ),
        (
            r#"{namespace="wordpress-production", pod="wp-3"}"#,
            vec![(t - 30 * 86_400_000_000_000, "ancient")],
        ),
    ]);
    let r = srv
        .client
        .post(srv.url("/loki/api/v1/push"))
        .header("Content-Type", "application/x-protobuf")
        // Loki ignores Content-Encoding for protobuf: always snappy.
        .header("Content-Encoding", "gzip")
        .header("X-Scope-OrgID", "team-a")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let msg = r.text().await.unwrap();
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 3, "{msg}");
    assert_eq!(
        lines[0],
        "max entry size '20' bytes exceeded for stream '{namespace=\"wordpress-production\", pod=\"wp-2\"}' while adding an entry with length '37' bytes"
    );
    assert!(
        lines[1].starts_with(
            "error parsing labels '{namespace=\"wordpress-production\", bad-label=\"x\"}'"
        ),
        "{msg}"
    );
    assert!(lines[2].starts_with("entry for stream '{namespace=\"wordpress-production\", pod=\"wp-3\"}' has timestamp too old"), "{msg}");
    // The valid line of the first stream is stored, for tenant team-a only.
    assert_eq!(
        stored(&srv.state, "team-a", "wordpress-production"),
        vec![(
            "{namespace=\"wordpress-production\", pod=\"wp-2\"}".to_string(),
            "short line".to_string(),
            vec![("span_id".to_string(), "s1".to_string())]
        )]
    );
    assert!(stored(&srv.state, "fake", "wordpress-production").is_empty());
}

#[tokio::test]
async fn malformed_bodies_are_400_and_the_server_keeps_serving() {
    let srv = common::start(|_| {}).await;
    for (ct, body) in [
        ("application/json", b"{not json".to_vec()),
        ("application/x-protobuf", b"\xff\xff\xffnot snappy".to_vec()),
        (
            "application/json",
            br#"{"streams":[{"stream":{"a":"b"},"values":[["notanumber","x"]]}]}"#.to_vec(),
        ),
    ] {
        let r = srv
            .client
            .post(srv.url("/loki/api/v1/push"))
            .header("Content-Type", ct)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{ct}");
        assert!(!r.text().await.unwrap().is_empty());
    }
    let r = srv
        .client
        .post(srv.url("/loki/api/v1/push"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400, "no content type");
    let r = srv.client.get(srv.url("/ready")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn over_the_byte_rate_limit_is_429_with_retry_after() {
    let srv = common::start(|c| {
        c.limits.log_ingestion_rate_bytes = cairn::units::ByteSize(1000);
        c.limits.log_ingestion_burst_bytes = cairn::units::ByteSize(1000);
    })
    .await;
    let t = now_ns();
    let line = "x".repeat(600);
    let push = |i: i64| {
        serde_json::json!({"streams": [{
            "stream": {"namespace": "wordpress-staging"},
            "values": [[(t + i).to_string(), line.clone()]]
        }]})
        .to_string()
    };
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..3 {
        let r = srv
            .client
            .post(srv.url("/loki/api/v1/push"))
            .header("Content-Type", "application/json")
            .body(push(i))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status().as_u16() == 429 {
            retry_after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            let msg = r.text().await.unwrap();
            assert!(
                msg.starts_with(
                    "Ingestion rate limit exceeded for user fake (limit: 1000 bytes/sec)"
                ),
                "{msg}"
            );
        }
    }
    // The bucket lets one request overdraw it; the next one waits.
    assert_eq!(statuses, vec![204, 204, 429]);
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    // What was refused is not stored.
    assert_eq!(stored(&srv.state, "fake", "wordpress-staging").len(), 2);
}
