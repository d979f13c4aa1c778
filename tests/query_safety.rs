//! Query safety: a query that would hold too many samples fails with 422
//! and Prometheus' message, a query past its timeout fails with 503 and
//! `errorType: timeout`; while they run, ingestion keeps being acknowledged
//! and other queries keep being answered, and the server stays up after.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// 500 series of 1h at 15 s, ending now.
async fn load(s: &TestServer) -> i64 {
    let end = now_ms() / 15_000 * 15_000;
    let start = end - 3_600_000;
    for part in 0..5 {
        let mut ts = Vec::new();
        for i in 0..100 {
            let pod = format!("pod-{}", part * 100 + i);
            let samples: Vec<(i64, f64)> = (0..240)
                .map(|k| (start + k * 15_000, (k * (i + 1)) as f64))
                .collect();
            ts.push(series(
                "work_seconds_total",
                &[("pod", pod.as_str()), ("ns", "a")],
                &samples,
            ));
        }
        let (code, body) = write_v1(&s.client, &s.url("/api/v1/write"), ts, None).await;
        assert_eq!(code, 204, "{body}");
    }
    end
}

/// Ingests a fresh sample of a side series and checks it is acknowledged
/// promptly.
async fn ingest_works(s: &TestServer, k: i64) {
    let t0 = Instant::now();
    let (code, body) = write_v1(
        &s.client,
        &s.url("/api/v1/write"),
        vec![series("side", &[], &[(now_ms() + k, k as f64)])],
        None,
    )
    .await;
    assert_eq!(code, 204, "{body}");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "ingestion held up for {:?}",
        t0.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_timeout_answers_503_and_ingestion_goes_on() {
    let s =
        start(|c| c.query.timeout = cairn::units::PromDuration(Duration::from_millis(100))).await;
    let end = load(&s).await;
    // A subquery at a 1 s resolution over all series: far more than 100 ms.
    let heavy = format!(
        "/api/v1/query?query={}&time={}",
        urlencode("sum(max_over_time(rate(work_seconds_total[5m])[1h:1s]))"),
        end / 1000
    );
    let client = s.client.clone();
    let url = s.url(&heavy);
    let q = tokio::spawn(async move {
        let t0 = Instant::now();
        let resp = client.get(url).send().await.expect("send");
        let code = resp.status().as_u16();
        let v: serde_json::Value = resp.json().await.expect("json");
        (code, v, t0.elapsed())
    });
    for k in 0..5 {
        ingest_works(&s, k).await;
    }
    let (code, v, took) = q.await.expect("join");
    assert_eq!(code, 503, "{v}");
    assert_eq!(v["status"], "error");
    assert_eq!(v["errorType"], "timeout");
    assert_eq!(
        v["error"], "query timed out in expression evaluation",
        "{v}"
    );
    assert!(
        took < Duration::from_secs(10),
        "timeout enforced late: {took:?}"
    );
    // Still serving.
    ingest_works(&s, 10).await;
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query=count(work_seconds_total)&time={}",
            end / 1000
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_sample_limit_answers_422_and_the_server_keeps_serving() {
    let s = start(|c| c.query.max_samples = 50_000).await;
    let end = load(&s).await;
    // A range vector of 500 series × 240 samples = 120,000 samples held at
    // once. (`sum(count_over_time(...[1h]))` would pass, as in Prometheus:
    // a function over a range vector holds one series' points at a time.)
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query={}&time={}",
            urlencode("work_seconds_total[1h]"),
            end / 1000
        )),
    )
    .await;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["errorType"], "execution");
    assert_eq!(
        v["error"],
        "query processing would load too many samples into memory in query execution"
    );
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query={}&time={}",
            urlencode("sum(count_over_time(work_seconds_total[1h]))"),
            end / 1000
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "119500");
    // A range query over the limit too (points of the result count).
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query_range?query=work_seconds_total&start={}&end={}&step=15",
            end / 1000 - 3600,
            end / 1000
        )),
    )
    .await;
    assert_eq!(code, 422, "{v}");
    ingest_works(&s, 1).await;
    // A query under the limit still works.
    let (code, v) = get_json(
        &s.client,
        &s.url(&format!(
            "/api/v1/query?query={}&time={}",
            urlencode("count(work_seconds_total)"),
            end / 1000
        )),
    )
    .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "500");
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
