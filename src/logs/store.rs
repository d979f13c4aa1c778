//! The log store of all tenants: opening tenants (lazily, or all at start),
//! the push entry point with live-tail fan-out, and the background sealer
//! that cuts full heads, builds partition indexes and applies retention and
//! the disk cap.

use std::io;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::broadcast;

use crate::config::Config;
use crate::model::{Labels, Matcher, TenantId};
use crate::storage::clock::Clock;
use crate::storage::tenants::TenantMap;
use crate::storage::wal::WalOptions;

use super::source::{ChunkStats, EntryRef, LogSource, SelectRequest, SourceError};
use super::tenant::{PushError, TenantLogs, TenantOptions};
use super::walrec::StoredEntry;

/// Lines pushed to one tenant, as live tails receive them.
#[derive(Debug)]
pub struct TailBatch {
    pub tenant: String,
    pub streams: Vec<(Labels, Vec<StoredEntry>)>,
}

/// Capacity of the tail channel (batches); a slow tail loses the oldest.
const TAIL_CHANNEL: usize = 1024;

pub struct LogStore {
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    tenants: TenantMap<TenantLogs>,
    tail: broadcast::Sender<Arc<TailBatch>>,
    /// Wakes the sealer early (a head filled up).
    nudge: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
    stopping: AtomicBool,
}

/// What a maintenance pass did over all tenants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogsMaintenance {
    pub sealed: usize,
    pub indexed: usize,
    pub deleted: usize,
}

impl LogStore {
    pub fn new(cfg: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        LogStore {
            tenants: TenantMap::new(cfg.storage.data_dir.join("logs")),
            cfg,
            clock,
            tail: broadcast::channel(TAIL_CHANNEL).0,
            nudge: Mutex::new(None),
            stopping: AtomicBool::new(false),
        }
    }

    fn options_for(&self, tenant: &str) -> TenantOptions {
        let l = &self.cfg.logs;
        TenantOptions {
            max_head_bytes: l.max_head_bytes.0,
            max_head_age_ms: l.max_head_age.as_millis_i64(),
            chunk_target_bytes: l.chunk_target_bytes.0 as usize,
            retention_ns: self
                .cfg
                .logs_retention(tenant)
                .as_nanos()
                .min(i64::MAX as u128) as i64,
            index: l.index,
            wal: WalOptions {
                segment_size: self.cfg.storage.wal_segment_size.0,
                fsync: crate::storage::tenants::fsync_policy(&self.cfg.storage),
                fsync_observer: None,
            },
        }
    }

    /// Opens every tenant found on disk (replaying WALs); returns how many.
    pub fn open_existing(&self) -> io::Result<usize> {
        self.tenants.open_existing(|t| self.tenant(t).map(|_| ()))
    }

    /// A tenant's store, opened (and created) on first use.
    pub fn tenant(&self, t: &TenantId) -> io::Result<Arc<TenantLogs>> {
        self.tenants.get_or_open(t, |dir| {
            TenantLogs::open(
                t.as_str(),
                dir,
                self.options_for(t.as_str()),
                self.clock.clone(),
            )
        })
    }

    /// The tenant's logs for reading; a tenant that never pushed reads empty.
    pub fn source(&self, t: &TenantId) -> Arc<dyn LogSource> {
        match self.tenants.get(t) {
            Some(x) => x,
            None => Arc::new(EmptySource),
        }
    }

    pub fn all(&self) -> Vec<Arc<TenantLogs>> {
        self.tenants.all()
    }

    /// Stores validated lines for a tenant and hands them to live tails.
    pub fn push(
        &self,
        t: &TenantId,
        streams: Vec<(Labels, Vec<StoredEntry>)>,
    ) -> Result<(), PushError> {
        let x = self.tenant(t)?;
        let for_tail = (self.tail.receiver_count() > 0).then(|| streams.clone());
        x.push(streams)?;
        if let Some(streams) = for_tail {
            let _ = self.tail.send(Arc::new(TailBatch {
                tenant: t.as_str().to_string(),
                streams,
            }));
        }
        if x.head_bytes() >= self.cfg.logs.max_head_bytes.0 {
            if let Some(tx) = self.nudge.lock().as_ref() {
                let _ = tx.try_send(());
            }
        }
        Ok(())
    }

    /// Receives every push from now on (all tenants; filter by `tenant`).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TailBatch>> {
        self.tail.subscribe()
    }

    /// Seals due heads and builds missing indexes (`force` seals every
    /// non-empty head).
    pub fn seal_and_index(&self, force: bool) -> LogsMaintenance {
        let mut r = self.seal(force);
        r.indexed = self.build_indexes();
        r
    }

    /// Seals due heads (`force`: every non-empty head).
    pub fn seal(&self, force: bool) -> LogsMaintenance {
        let mut r = LogsMaintenance::default();
        for x in self.all() {
            match x.seal(force) {
                Ok(n) => r.sealed += n,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "sealing logs failed"),
            }
        }
        r
    }

    /// Builds the index of every partition lacking one; returns how many.
    pub fn build_indexes(&self) -> usize {
        let mut r = LogsMaintenance::default();
        for x in self.all() {
            match x.build_indexes() {
                Ok(n) => r.indexed += n,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "indexing logs failed"),
            }
        }
        r.indexed
    }

    /// Retention, then the disk cap (`other_bytes`: what the other signals
    /// use of the shared cap).
    pub fn apply_retention(&self, other_bytes: u64) -> LogsMaintenance {
        let mut r = LogsMaintenance::default();
        for x in self.all() {
            match x.apply_retention() {
                Ok(n) => r.deleted += n,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "log retention failed"),
            }
        }
        r.deleted +=
            self.tenants
                .enforce_disk_cap(self.cfg.storage.max_disk_bytes.0, other_bytes, "log");
        r
    }

    pub fn disk_bytes(&self) -> u64 {
        self.tenants.disk_bytes()
    }

    /// Starts the background threads: the sealer checks heads every second
    /// (or when a push fills one) and seals them; the indexer builds the
    /// index of new partitions, apart so that a long build never delays a
    /// seal. Both stop after [`LogStore::close`].
    pub fn start_sealer(self: &Arc<Self>) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        *self.nudge.lock() = Some(tx);
        let store = Arc::clone(self);
        let sealer = std::thread::Builder::new()
            .name("cairn-log-sealer".into())
            .spawn(move || {
                while !store.stopping.load(Ordering::SeqCst) {
                    let _ = rx.recv_timeout(Duration::from_secs(1));
                    if store.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = store.seal(false);
                    if r.sealed > 0 {
                        tracing::info!(sealed = r.sealed, "log heads sealed into partitions");
                    }
                }
            });
        let store = Arc::clone(self);
        let indexer = std::thread::Builder::new()
            .name("cairn-log-indexer".into())
            .spawn(move || {
                while !store.stopping.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_secs(1));
                    if store.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let n = store.build_indexes();
                    if n > 0 {
                        tracing::info!(indexed = n, "log partition indexes built");
                    }
                }
            });
        for r in [sealer, indexer] {
            if let Err(e) = r {
                tracing::error!(error = %e, "cannot start a log store thread");
            }
        }
    }

    /// Stops the sealer and closes every WAL.
    pub fn close(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(tx) = self.nudge.lock().take() {
            let _ = tx.try_send(());
        }
        for x in self.all() {
            if let Err(e) = x.close() {
                tracing::error!(tenant = %x.tenant, error = %e, "closing the log WAL failed");
            }
        }
    }
}

/// The logs of a tenant that has never pushed.
pub struct EmptySource;

impl LogSource for EmptySource {
    fn select(
        &self,
        _req: &SelectRequest<'_>,
        _sink: &mut dyn FnMut(&Labels, &[EntryRef<'_>]) -> ControlFlow<()>,
    ) -> Result<(), SourceError> {
        Ok(())
    }

    fn series(&self, _m: &[Matcher], _s: i64, _e: i64) -> Result<Vec<Labels>, SourceError> {
        Ok(Vec::new())
    }

    fn chunk_stats(
        &self,
        _m: &[Matcher],
        _s: i64,
        _e: i64,
        _sink: &mut dyn FnMut(&Labels, ChunkStats),
    ) -> Result<(), SourceError> {
        Ok(())
    }
}
