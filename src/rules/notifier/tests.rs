//! The notifier against in-process Alertmanager stand-ins (axum on
//! 127.0.0.1:0): batching, drop-oldest, auth headers, external labels,
//! error accounting, reload and flush.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use parking_lot::Mutex;
use serde_json::json;

use super::*;
use crate::config::BasicAuth;

type Seen = Arc<Mutex<Vec<(HeaderMap, serde_json::Value)>>>;

/// A fake Alertmanager recording every `POST /api/v2/alerts`.
struct Sink {
    base: String,
    seen: Seen,
    status: Arc<AtomicU16>,
}

impl Sink {
    async fn start(status: u16) -> Sink {
        Self::start_delayed(status, Duration::ZERO).await
    }

    async fn start_delayed(status: u16, delay: Duration) -> Sink {
        let seen: Seen = Arc::default();
        let status = Arc::new(AtomicU16::new(status));
        let app = axum::Router::new()
            .route(
                "/api/v2/alerts",
                post(
                    move |State((seen, status)): State<(Seen, Arc<AtomicU16>)>,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        tokio::time::sleep(delay).await;
                        let v = serde_json::from_slice(&body)
                            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)));
                        seen.lock().push((headers, v));
                        StatusCode::from_u16(status.load(Ordering::Relaxed))
                            .unwrap_or(StatusCode::OK)
                    },
                ),
            )
            .with_state((seen.clone(), status.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            base: format!("http://{addr}"),
            seen,
            status,
        }
    }

    fn url(&self) -> String {
        format!("{}/api/v2/alerts", self.base)
    }

    /// Waits until `n` requests arrived (at most 10 s) and returns them all.
    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, serde_json::Value)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let s = self.seen.lock();
                if s.len() >= n {
                    return s.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} requests at {}, got {}",
                self.base,
                self.seen.lock().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn count(&self) -> usize {
        self.seen.lock().len()
    }
}

fn cfg(urls: &[&str], f: impl FnOnce(&mut RulesConfig)) -> RulesConfig {
    let mut c = RulesConfig::default();
    c.alertmanager.urls = urls.iter().map(|u| u.to_string()).collect();
    f(&mut c);
    c
}

fn alert(name: &str) -> PostableAlert {
    PostableAlert {
        labels: [("alertname".to_string(), name.to_string())].into(),
        annotations: BTreeMap::new(),
        starts_at_ms: 1_700_000_000_000,
        ends_at_ms: 1_700_000_240_000,
        generator_url: String::new(),
    }
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body.as_array()
        .expect("an array")
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn batches_of_max_size_in_queue_order() {
    let am = Sink::start(200).await;
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(
        &cfg(&[&am.base], |c| c.alertmanager.max_batch_size = 2),
        sm.clone(),
    );
    n.send((1..=5).map(|i| alert(&format!("A{i}"))).collect());
    assert_eq!(n.queue_len(), 5);
    let task = n.spawn();
    let got = am.wait_for(3).await;
    let batches: Vec<Vec<String>> = got.iter().map(|(_, b)| names(b)).collect();
    assert_eq!(
        batches,
        vec![vec!["A1", "A2"], vec!["A3", "A4"], vec!["A5"]]
    );
    assert_eq!(sm.notifications_sent.with(&[&am.url()]).get(), 5);
    assert_eq!(sm.notification_errors.with(&[&am.url()]).get(), 0);
    assert_eq!(sm.notification_latency.with(&[&am.url()]).count(), 3);
    assert_eq!(sm.notifications_dropped.get(), 0);
    assert_eq!(n.queue_len(), 0);
    // Later alerts wake the loop again.
    n.send(vec![alert("B1")]);
    let got = am.wait_for(4).await;
    assert_eq!(names(&got[3].1), vec!["B1"]);
    task.abort();
}

#[tokio::test]
async fn full_queue_drops_the_oldest_and_counts_them() {
    let am = Sink::start(200).await;
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(
        &cfg(&[&am.base], |c| c.alertmanager.queue_capacity = 3),
        sm.clone(),
    );
    assert_eq!(n.queue_capacity(), 3);
    n.send(vec![alert("A1"), alert("A2")]);
    n.send(vec![alert("A3"), alert("A4")]);
    assert_eq!(n.queue_len(), 3);
    assert_eq!(sm.notifications_dropped.get(), 1);
    // A single send larger than the queue keeps its newest alerts.
    n.send((5..=9).map(|i| alert(&format!("A{i}"))).collect());
    assert_eq!(n.queue_len(), 3);
    assert_eq!(sm.notifications_dropped.get(), 1 + 2 + 3);
    n.flush(Duration::from_secs(5)).await;
    let got = am.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(names(&got[0].1), vec!["A7", "A8", "A9"]);
    assert_eq!(n.queue_len(), 0);
}

#[tokio::test]
async fn request_headers_and_basic_auth() {
    let am = Sink::start(200).await;
    let n = Notifier::new(
        &cfg(&[&am.base], |c| {
            c.alertmanager.basic_auth = Some(BasicAuth {
                username: "alice".into(),
                password: Some("s3cret".into()),
                password_file: None,
            })
        }),
        Arc::new(SelfMetrics::new()),
    );
    n.send(vec![alert("A")]);
    n.flush(Duration::from_secs(5)).await;
    let got = am.wait_for(1).await;
    let h = &got[0].0;
    assert_eq!(h["authorization"], "Basic YWxpY2U6czNjcmV0");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(
        h["user-agent"],
        concat!("Cairn/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn bearer_token_from_file() {
    let am = Sink::start(200).await;
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("token");
    std::fs::write(&tok, "tok-123\n").unwrap();
    let n = Notifier::new(
        &cfg(&[&am.base], |c| {
            c.alertmanager.bearer_token_file = Some(tok.clone())
        }),
        Arc::new(SelfMetrics::new()),
    );
    n.send(vec![alert("A")]);
    n.flush(Duration::from_secs(5)).await;
    let got = am.wait_for(1).await;
    assert_eq!(got[0].0["authorization"], "Bearer tok-123");
}

#[tokio::test]
async fn external_labels_are_added_unless_the_alert_has_them() {
    let am = Sink::start(200).await;
    let n = Notifier::new(
        &cfg(&[&am.base], |c| {
            c.external_labels = [
                ("cluster".to_string(), "eu-1".to_string()),
                ("replica".to_string(), "a".to_string()),
            ]
            .into()
        }),
        Arc::new(SelfMetrics::new()),
    );
    let mut own = alert("Own");
    own.labels.insert("cluster".into(), "us-2".into());
    n.send(vec![alert("Plain"), own]);
    n.flush(Duration::from_secs(5)).await;
    let got = am.wait_for(1).await;
    let labels: Vec<&serde_json::Value> = got[0]
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["labels"])
        .collect();
    assert_eq!(
        labels,
        vec![
            &json!({"alertname": "Plain", "cluster": "eu-1", "replica": "a"}),
            &json!({"alertname": "Own", "cluster": "us-2", "replica": "a"}),
        ]
    );
}

#[tokio::test]
async fn json_body_is_exactly_the_v2_postable_alerts() {
    let am = Sink::start(200).await;
    let n = Notifier::new(&cfg(&[&am.base], |_| {}), Arc::new(SelfMetrics::new()));
    let a = PostableAlert {
        labels: [
            ("alertname".to_string(), "DiskAlmostFull".to_string()),
            ("device".to_string(), "sda".to_string()),
        ]
        .into(),
        annotations: [("summary".to_string(), "Disk sda at 91%".to_string())].into(),
        starts_at_ms: 1_700_000_000_123,
        ends_at_ms: 1_700_000_240_000,
        generator_url: "http://cairn:3100/graph?g0.expr=x&g0.tab=1".into(),
    };
    n.send(vec![a, alert("Bare")]);
    n.flush(Duration::from_secs(5)).await;
    let got = am.wait_for(1).await;
    assert_eq!(
        got[0].1,
        json!([
            {
                "labels": {"alertname": "DiskAlmostFull", "device": "sda"},
                "annotations": {"summary": "Disk sda at 91%"},
                "startsAt": "2023-11-14T22:13:20.123Z",
                "endsAt": "2023-11-14T22:17:20.000Z",
                "generatorURL": "http://cairn:3100/graph?g0.expr=x&g0.tab=1"
            },
            {
                "labels": {"alertname": "Bare"},
                "startsAt": "2023-11-14T22:13:20.000Z",
                "endsAt": "2023-11-14T22:17:20.000Z"
            }
        ])
    );
}

#[tokio::test]
async fn server_errors_are_counted_per_alertmanager() {
    let bad = Sink::start(503).await;
    let good = Sink::start(202).await;
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(&cfg(&[&bad.base, &good.base], |_| {}), sm.clone());
    n.send(vec![alert("A"), alert("B")]);
    n.flush(Duration::from_secs(5)).await;
    assert_eq!(bad.count(), 1);
    assert_eq!(good.count(), 1);
    assert_eq!(sm.notification_errors.with(&[&bad.url()]).get(), 2);
    assert_eq!(sm.notifications_sent.with(&[&bad.url()]).get(), 0);
    assert_eq!(sm.notifications_sent.with(&[&good.url()]).get(), 2);
    assert_eq!(sm.notification_errors.with(&[&good.url()]).get(), 0);
    // One Alertmanager took the batch: nothing dropped.
    assert_eq!(sm.notifications_dropped.get(), 0);

    // Every Alertmanager failing: the batch is dropped, not retried.
    good.status.store(500, Ordering::Relaxed);
    n.send(vec![alert("C")]);
    n.flush(Duration::from_secs(5)).await;
    assert_eq!(bad.count(), 2);
    assert_eq!(good.count(), 2);
    assert_eq!(sm.notification_errors.with(&[&good.url()]).get(), 1);
    assert_eq!(sm.notifications_dropped.get(), 1);
    n.flush(Duration::from_secs(1)).await;
    assert_eq!(good.count(), 2, "a failed batch is not resent");
}

#[tokio::test]
async fn unreachable_and_https_alertmanagers_count_errors() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(
        &cfg(
            &[&format!("http://{closed}"), "https://am.example:9093"],
            |_| {},
        ),
        sm.clone(),
    );
    n.send(vec![alert("A")]);
    n.flush(Duration::from_secs(5)).await;
    assert_eq!(
        sm.notification_errors
            .with(&[&format!("http://{closed}/api/v2/alerts")])
            .get(),
        1
    );
    assert_eq!(
        sm.notification_errors
            .with(&["https://am.example:9093/api/v2/alerts"])
            .get(),
        1
    );
    assert_eq!(sm.notifications_dropped.get(), 1);
}

#[tokio::test]
async fn reload_swaps_alertmanagers() {
    let a = Sink::start(200).await;
    let b = Sink::start(200).await;
    let n = Notifier::new(&cfg(&[&a.base], |_| {}), Arc::new(SelfMetrics::new()));
    n.send(vec![alert("First")]);
    n.flush(Duration::from_secs(5)).await;
    n.apply_config(&cfg(&[&b.base], |c| c.alertmanager.queue_capacity = 1));
    assert_eq!(n.queue_capacity(), 1);
    n.send(vec![alert("Second")]);
    n.flush(Duration::from_secs(5)).await;
    assert_eq!(names(&a.wait_for(1).await[0].1), vec!["First"]);
    assert_eq!(a.count(), 1);
    assert_eq!(names(&b.wait_for(1).await[0].1), vec!["Second"]);
}

#[tokio::test]
async fn flush_gives_up_at_its_timeout() {
    let slow = Sink::start_delayed(200, Duration::from_secs(30)).await;
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(&cfg(&[&slow.base], |_| {}), sm.clone());
    n.send(vec![alert("A")]);
    let t0 = Instant::now();
    n.flush(Duration::from_millis(300)).await;
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // The batch was taken and abandoned with the flush.
    assert_eq!(n.queue_len(), 0);
    assert_eq!(n.in_flight.load(Ordering::Acquire), 0);
}

#[tokio::test]
async fn request_timeout_counts_an_error() {
    let slow = Sink::start_delayed(200, Duration::from_secs(30)).await;
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(
        &cfg(&[&slow.base], |c| {
            c.alertmanager.timeout = crate::units::PromDuration(Duration::from_millis(200))
        }),
        sm.clone(),
    );
    n.send(vec![alert("A")]);
    n.flush(Duration::from_secs(5)).await;
    assert_eq!(sm.notification_errors.with(&[&slow.url()]).get(), 1);
    assert_eq!(sm.notifications_dropped.get(), 1);
}

#[tokio::test]
async fn no_alertmanagers_means_nothing_to_do() {
    let sm = Arc::new(SelfMetrics::new());
    let n = Notifier::new(&RulesConfig::default(), sm.clone());
    n.send(vec![alert("A")]);
    n.flush(Duration::from_secs(1)).await;
    assert_eq!(n.queue_len(), 0);
    assert_eq!(sm.notifications_dropped.get(), 0);
}
