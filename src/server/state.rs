//! Shared server state handed to every handler: config, stores, engines,
//! limiters, self-metrics and readiness.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::ingest::limiter::RateLimiters;
use crate::logs::LogStore;
use crate::metrics::MetricsStore;
use crate::promql::Engine;
use crate::selfmon::SelfMetrics;
use crate::storage::clock::Clock;

pub struct AppState {
    pub cfg: Arc<Config>,
    pub metrics: Arc<MetricsStore>,
    pub logs: Arc<LogStore>,
    pub traces: Arc<crate::traces::TraceStore>,
    pub log_engine: Arc<crate::logql::eval::Engine>,
    /// The time source of ingestion checks and retention (tests move it).
    pub clock: Arc<dyn Clock>,
    pub engine: Arc<Engine>,
    pub queries: QueryGate,
    pub limiters: RateLimiters,
    pub selfmon: Arc<SelfMetrics>,
    /// Recording and alerting rules of every tenant.
    pub rules: Arc<crate::rules::RuleManager>,
    /// Sends alerts to the Alertmanagers.
    pub notifier: Arc<crate::rules::Notifier>,
    /// Re-reads the configuration (SIGHUP and `POST /-/reload`); `None`:
    /// reloads re-read the rule files of the configuration in force.
    pub config_loader: Option<ConfigLoader>,
    /// False while WAL replay runs; `/ready` answers 503 until it is true.
    pub ready: AtomicBool,
}

pub type SharedState = Arc<AppState>;

/// Loads the configuration again from its file, environment and flags.
pub type ConfigLoader = Arc<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// Bounds concurrent queries: `max` run at once, up to `4 × max` wait; more
/// are refused (429) rather than queued without bound.
pub struct QueryGate {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl QueryGate {
    pub fn new(max: usize) -> Self {
        QueryGate {
            permits: Arc::new(Semaphore::new(max.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: max.max(1) * 4,
        }
    }

    /// Waits for a slot, or returns `None` if too many are already waiting.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Some(p);
        }
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        // Decrement even if the caller gives up (client disconnects) while waiting.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        let _waiting = Waiting(&self.waiting);
        self.permits.clone().acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn query_gate_bounds_running_and_waiting() {
        let gate = Arc::new(QueryGate::new(1));
        let first = gate.acquire().await.expect("first runs");
        // Four may wait (4 × max); the fifth is refused at once.
        let mut waiters = Vec::new();
        for _ in 0..4 {
            let g = gate.clone();
            waiters.push(tokio::spawn(async move { g.acquire().await.is_some() }));
        }
        tokio::task::yield_now().await;
        while gate.waiting.load(Ordering::SeqCst) < 4 {
            tokio::task::yield_now().await;
        }
        assert!(gate.acquire().await.is_none(), "queue full: refused");
        drop(first);
        for w in waiters {
            assert!(w.await.unwrap(), "waiters run once a slot frees");
        }
    }
}
