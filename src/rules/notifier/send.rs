//! Delivery of one batch: the same JSON body posted to every configured
//! Alertmanager concurrently, with the configured timeout and
//! authentication; any 2xx is success. Alerts are counted as sent or
//! failed per Alertmanager URL, and the latency observed, as Prometheus'
//! notifier does.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use reqwest::header::{CONTENT_TYPE, USER_AGENT};

use super::settings::{Auth, Settings, Target};
use super::{wire, PostableAlert};
use crate::selfmon::SelfMetrics;

/// `User-Agent` of alert requests.
pub(super) const USER_AGENT_VALUE: &str = concat!("Cairn/", env!("CARGO_PKG_VERSION"));

/// Sends `alerts` to every Alertmanager of `settings`. True when at least
/// one Alertmanager took them (or none is configured), as Prometheus'
/// `sendAll`: a batch no Alertmanager took is dropped, not retried.
pub(super) async fn send_all(
    client: &reqwest::Client,
    settings: &Arc<Settings>,
    selfmon: &Arc<SelfMetrics>,
    alerts: &[PostableAlert],
) -> bool {
    if alerts.is_empty() || settings.targets.is_empty() {
        return true;
    }
    let payload = match wire::encode(alerts) {
        Ok(b) => Bytes::from(b),
        Err(e) => {
            tracing::error!(error = %e, "encoding alerts for Alertmanager failed");
            return false;
        }
    };
    let count = alerts.len() as u64;
    let begin = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..settings.targets.len() {
        let client = client.clone();
        let settings = settings.clone();
        let selfmon = selfmon.clone();
        let payload = payload.clone();
        set.spawn(async move {
            let t = &settings.targets[i];
            let ok = match send_one(&client, &settings, t, payload).await {
                Ok(()) => {
                    selfmon.notifications_sent.with(&[&t.url]).add(count);
                    true
                }
                Err(Failure::Quiet) => {
                    selfmon.notification_errors.with(&[&t.url]).add(count);
                    return false;
                }
                Err(Failure::Request(e)) => {
                    tracing::error!(
                        alertmanager = %t.url,
                        count,
                        error = %e,
                        "error sending alerts"
                    );
                    selfmon.notification_errors.with(&[&t.url]).add(count);
                    false
                }
            };
            selfmon
                .notification_latency
                .with(&[&t.url])
                .observe(begin.elapsed());
            ok
        });
    }
    let mut delivered = false;
    while let Some(r) = set.join_next().await {
        delivered |= matches!(r, Ok(true));
    }
    delivered
}

/// Why one send failed.
enum Failure {
    /// Not sent because of a configuration problem already logged once.
    Quiet,
    /// The request failed or was refused.
    Request(String),
}

async fn send_one(
    client: &reqwest::Client,
    settings: &Settings,
    t: &Target,
    payload: Bytes,
) -> Result<(), Failure> {
    if let Some(why) = &t.unusable {
        if t.first_failure() {
            tracing::error!(alertmanager = %t.url, "{why}; alerts to it are counted as errors");
        }
        return Err(Failure::Quiet);
    }
    let mut rb = client
        .post(&t.url)
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, USER_AGENT_VALUE)
        .body(payload);
    if !settings.timeout.is_zero() {
        rb = rb.timeout(settings.timeout);
    }
    rb = match &settings.auth {
        Auth::None => rb,
        Auth::Basic { username, password } => rb.basic_auth(username, Some(password)),
        Auth::Bearer(token) => rb.bearer_auth(token),
        Auth::Broken(why) => {
            if settings.first_auth_failure() {
                tracing::error!(
                    "Alertmanager authentication: {why}; alerts are not sent until the config is fixed"
                );
            }
            return Err(Failure::Quiet);
        }
    };
    let resp = rb
        .send()
        .await
        .map_err(|e| Failure::Request(error_chain(&e)))?;
    let status = resp.status();
    // Read the body so the connection can be reused.
    let _ = resp.bytes().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::Request(format!("bad response status {status}")))
    }
}

/// An error with its causes, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
