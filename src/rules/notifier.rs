//! Sends alerts to Alertmanagers (`POST <url>/api/v2/alerts`): a bounded
//! queue that drops the oldest alerts (counted) when the Alertmanagers are
//! down or slow, batches, concurrent sends to every configured
//! Alertmanager, basic or bearer auth, timeouts, and self metrics.
//!
//! Semantics follow Prometheus' `notifier` package: external labels are
//! added when alerts are queued (an alert's own label wins); a sender task
//! wakes when alerts arrive and sends batches of at most `max_batch_size`
//! until the queue is empty; a batch no Alertmanager accepted is counted as
//! dropped and not retried (the rule manager resends firing alerts every
//! resend delay).
//!
//! - [`settings`]: URLs, auth, timeout and limits from the config.
//! - [`wire`]: the JSON body.
//! - [`send`]: one batch to every Alertmanager, with metrics.

mod send;
mod settings;
#[cfg(test)]
mod tests;
mod wire;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;

use crate::config::RulesConfig;
use crate::selfmon::SelfMetrics;

use settings::Settings;

/// One alert as Alertmanager's API v2 takes it.
#[derive(Clone, Debug, PartialEq)]
pub struct PostableAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    pub generator_url: String,
}

/// The alert sender. Cheap to share.
pub struct Notifier {
    selfmon: Arc<SelfMetrics>,
    settings: RwLock<Arc<Settings>>,
    queue: Mutex<VecDeque<PostableAlert>>,
    /// Batches taken from the queue and not yet sent.
    in_flight: AtomicUsize,
    /// Set when alerts are queued; the sender task waits on it.
    more: Notify,
    /// `None` only if the HTTP client could not be built (then every send
    /// fails and is counted).
    client: Option<reqwest::Client>,
}

impl Notifier {
    /// A notifier for the Alertmanagers of `cfg` (external labels are added
    /// to every alert, alert labels win).
    pub fn new(cfg: &RulesConfig, selfmon: Arc<SelfMetrics>) -> Arc<Notifier> {
        let client = match reqwest::Client::builder().build() {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "cannot build the HTTP client for Alertmanagers; alerts will not be sent");
                None
            }
        };
        Arc::new(Notifier {
            selfmon,
            settings: RwLock::new(Arc::new(Settings::from_config(cfg))),
            queue: Mutex::new(VecDeque::new()),
            in_flight: AtomicUsize::new(0),
            more: Notify::new(),
            client,
        })
    }

    /// Replaces the configuration (on reload): Alertmanager URLs, auth
    /// (secret files are read again), timeout, external labels, batch size
    /// and queue capacity (a smaller queue drops its oldest alerts, counted).
    pub fn apply_config(&self, cfg: &RulesConfig) {
        let s = Arc::new(Settings::from_config(cfg));
        let cap = s.capacity;
        *self.settings.write() = s;
        let mut q = self.queue.lock();
        if q.len() > cap {
            let d = q.len() - cap;
            q.drain(..d);
            self.dropped(
                d,
                "alert notification queue shrunk by a reload, dropping alerts",
            );
        }
    }

    /// Queues alerts without waiting; drops the oldest when full.
    pub fn send(&self, mut alerts: Vec<PostableAlert>) {
        if alerts.is_empty() {
            return;
        }
        let settings = self.settings.read().clone();
        for a in &mut alerts {
            for (k, v) in &settings.external_labels {
                let e = a.labels.entry(k.clone()).or_default();
                if e.is_empty() {
                    e.clone_from(v);
                }
            }
        }
        let cap = settings.capacity;
        // More alerts than the whole queue holds: keep the newest.
        if alerts.len() > cap {
            let d = alerts.len() - cap;
            alerts.drain(..d);
            self.dropped(d, "alert batch larger than queue capacity, dropping alerts");
        }
        {
            let mut q = self.queue.lock();
            let total = q.len() + alerts.len();
            if total > cap {
                let d = total - cap;
                q.drain(..d);
                self.dropped(d, "alert notification queue full, dropping alerts");
            }
            q.extend(alerts);
        }
        self.more.notify_one();
    }

    pub fn queue_len(&self) -> usize {
        self.queue.lock().len()
    }

    pub fn queue_capacity(&self) -> usize {
        self.settings.read().capacity
    }

    /// Starts the sending loop on the current tokio runtime.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.more.notified().await;
                while me.send_one_batch().await {}
            }
        })
    }

    /// Sends what is queued, waiting at most `timeout` (shutdown). Batches
    /// the sending loop has in flight are waited for too.
    pub async fn flush(&self, timeout: Duration) {
        let drained = tokio::time::timeout(timeout, async {
            loop {
                if self.send_one_batch().await {
                    continue;
                }
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = self.queue_len(),
                timeout_ms = timeout.as_millis() as u64,
                "alerts still queued after the flush timeout"
            );
        }
    }

    /// Takes the next batch and sends it. False when the queue was empty.
    async fn send_one_batch(&self) -> bool {
        let settings = self.settings.read().clone();
        let batch: Vec<PostableAlert> = {
            let mut q = self.queue.lock();
            if q.is_empty() {
                return false;
            }
            let n = q.len().min(settings.max_batch);
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            q.drain(..n).collect()
        };
        // Decrements `in_flight` even if this future is dropped mid-send.
        let _guard = InFlight(&self.in_flight);
        let delivered = match &self.client {
            Some(c) => send::send_all(c, &settings, &self.selfmon, &batch).await,
            None => {
                for t in &settings.targets {
                    self.selfmon
                        .notification_errors
                        .with(&[&t.url])
                        .add(batch.len() as u64);
                }
                settings.targets.is_empty()
            }
        };
        if !delivered {
            self.selfmon.notifications_dropped.add(batch.len() as u64);
        }
        true
    }

    fn dropped(&self, n: usize, msg: &str) {
        tracing::warn!(num_dropped = n, "{msg}");
        self.selfmon.notifications_dropped.add(n as u64);
    }
}

/// Marks one batch as no longer in flight when dropped.
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
