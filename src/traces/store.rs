//! The trace store of all tenants: opening tenants (lazily, or all at
//! start), the push entry point, reads (trace by id, scans, tags) and the
//! background sealer that cuts complete traces into partitions and applies
//! retention and the disk cap.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use parking_lot::Mutex;

use crate::config::Config;
use crate::model::TenantId;
use crate::storage::clock::Clock;
use crate::storage::tenants::TenantMap;

use super::model::TraceId;
use super::prefilter::{IndexedValue, Prefilter};
use super::tenant::{TenantTraces, TraceOptions};

/// Scopes of attribute names, as `/api/v2/search/tags` lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TagScope {
    Resource,
    Span,
    Event,
    Link,
    Instrumentation,
}

impl TagScope {
    pub const ALL: [TagScope; 5] = [
        TagScope::Resource,
        TagScope::Span,
        TagScope::Event,
        TagScope::Link,
        TagScope::Instrumentation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Resource => "resource",
            TagScope::Span => "span",
            TagScope::Event => "event",
            TagScope::Link => "link",
            TagScope::Instrumentation => "instrumentation",
        }
    }
}

/// What to scan: traces overlapping `[start_ns, end_ns]` (0 and
/// `u64::MAX` for no bound) that pass `prefilter`.
#[derive(Clone, Debug)]
pub struct ScanRequest {
    pub start_ns: u64,
    pub end_ns: u64,
    pub prefilter: Prefilter,
}

impl ScanRequest {
    pub fn everything() -> Self {
        ScanRequest {
            start_ns: 0,
            end_ns: u64::MAX,
            prefilter: Prefilter::All,
        }
    }
}

/// What a scan looked at (Tempo's search metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScanStats {
    pub inspected_traces: u64,
    pub inspected_bytes: u64,
    pub inspected_spans: u64,
    /// Partitions (and the head) the time range touched.
    pub total_blocks: u64,
    pub total_block_bytes: u64,
}

/// Why spans were not stored.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("the trace store is shutting down")]
    Closed,
}

/// Most distinct values (or names per scope) one tag request collects when
/// it sets no limit, so that a high-cardinality attribute cannot exhaust
/// memory.
pub const MAX_TAG_VALUES: usize = 10_000;

/// Attribute names by scope.
pub type TagNames = BTreeMap<TagScope, BTreeSet<String>>;

/// A trace store the whole server shares.
pub struct TraceStore {
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    tenants: TenantMap<TenantTraces>,
    stopping: AtomicBool,
    /// Wakes the sealer early (a head filled up).
    nudge: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
}

/// What a maintenance pass did over all tenants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TracesMaintenance {
    pub sealed: usize,
    pub indexed: usize,
    pub deleted: usize,
}

impl TraceStore {
    pub fn new(cfg: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        TraceStore {
            tenants: TenantMap::new(cfg.storage.data_dir.join("traces")),
            cfg,
            clock,
            stopping: AtomicBool::new(false),
            nudge: Mutex::new(None),
        }
    }

    fn options_for(&self, tenant: &str) -> TraceOptions {
        TraceOptions::from_config(&self.cfg, tenant)
    }

    /// Opens every tenant found on disk (replaying WALs); returns how many.
    pub fn open_existing(&self) -> io::Result<usize> {
        self.tenants.open_existing(|t| self.tenant(t).map(|_| ()))
    }

    /// A tenant's traces, opened (and created) on first use.
    pub fn tenant(&self, t: &TenantId) -> io::Result<Arc<TenantTraces>> {
        self.tenants.get_or_open(t, |dir| {
            TenantTraces::open(
                t.as_str(),
                dir,
                self.options_for(t.as_str()),
                self.clock.clone(),
            )
        })
    }

    fn existing(&self, t: &TenantId) -> Option<Arc<TenantTraces>> {
        self.tenants.get(t)
    }

    pub fn all(&self) -> Vec<Arc<TenantTraces>> {
        self.tenants.all()
    }

    /// Stores spans (write-ahead logged before this returns) and returns
    /// how many were stored. Spans without a 16-byte trace id are not
    /// stored; the caller reports them as rejected.
    pub fn push(&self, t: &TenantId, batches: Vec<ResourceSpans>) -> Result<usize, PushError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(PushError::Closed);
        }
        let x = self.tenant(t)?;
        let n = x.push(batches)?;
        if x.head_bytes() >= self.cfg.traces.max_head_bytes.0 {
            if let Some(tx) = self.nudge.lock().as_ref() {
                let _ = tx.try_send(());
            }
        }
        Ok(n)
    }

    /// Seals due traces of every tenant (`force`: every live trace).
    pub fn seal(&self, force: bool) -> TracesMaintenance {
        let mut r = TracesMaintenance::default();
        for x in self.all() {
            match x.seal(force) {
                Ok(n) => r.sealed += n,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "sealing traces failed"),
            }
        }
        r
    }

    /// Builds missing partition indexes; returns how many.
    pub fn build_indexes(&self) -> usize {
        let mut n = 0;
        for x in self.all() {
            match x.build_indexes() {
                Ok(k) => n += k,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "indexing traces failed"),
            }
        }
        n
    }

    /// Retention, then the disk cap (`other_bytes`: what the other signals
    /// use of the shared cap): the partitions with the oldest data go
    /// first, across tenants.
    pub fn apply_retention(&self, other_bytes: u64) -> TracesMaintenance {
        let mut r = TracesMaintenance::default();
        for x in self.all() {
            match x.apply_retention() {
                Ok(n) => r.deleted += n,
                Err(e) => tracing::error!(tenant = %x.tenant, error = %e, "trace retention failed"),
            }
        }
        r.deleted +=
            self.tenants
                .enforce_disk_cap(self.cfg.storage.max_disk_bytes.0, other_bytes, "trace");
        r
    }

    pub fn disk_bytes(&self) -> u64 {
        self.tenants.disk_bytes()
    }

    /// Starts the sealer thread: every second (or when a push fills a
    /// head) it seals due traces and builds missing indexes. It stops
    /// after [`TraceStore::close`].
    pub fn start_sealer(self: &Arc<Self>) {
        let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
        *self.nudge.lock() = Some(tx);
        let store = Arc::clone(self);
        let r = std::thread::Builder::new()
            .name("cairn-trace-sealer".into())
            .spawn(move || {
                while !store.stopping.load(Ordering::SeqCst) {
                    let _ = rx.recv_timeout(Duration::from_secs(1));
                    if store.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let r = store.seal(false);
                    if r.sealed > 0 {
                        tracing::info!(sealed = r.sealed, "complete traces sealed into partitions");
                    }
                    store.build_indexes();
                }
            });
        if let Err(e) = r {
            tracing::error!(error = %e, "cannot start the trace sealer");
        }
    }

    /// Stops the sealer and closes every WAL (live traces stay in the WAL
    /// and come back on the next start).
    pub fn close(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(tx) = self.nudge.lock().take() {
            let _ = tx.try_send(());
        }
        for x in self.all() {
            if let Err(e) = x.close() {
                tracing::error!(tenant = %x.tenant, error = %e, "closing the trace WAL failed");
            }
        }
    }

    /// The whole trace (head and partitions, spans deduplicated), `None`
    /// when no span of it is stored. `window` (ns) limits the partitions
    /// looked at, as Tempo's `start`/`end` hints do.
    pub fn trace_by_id(
        &self,
        t: &TenantId,
        id: &TraceId,
        window: Option<(u64, u64)>,
    ) -> io::Result<Option<Vec<ResourceSpans>>> {
        match self.existing(t) {
            Some(x) => x.trace_by_id(id, window),
            None => Ok(None),
        }
    }

    /// Calls `f` with every stored trace the request selects, newest data
    /// first, until it answers `Break`.
    pub fn scan(
        &self,
        t: &TenantId,
        req: &ScanRequest,
        f: &mut dyn FnMut(&TraceId, &[ResourceSpans]) -> ControlFlow<()>,
    ) -> io::Result<ScanStats> {
        match self.existing(t) {
            Some(x) => x.scan(req, f),
            None => Ok(ScanStats::default()),
        }
    }

    /// Attribute names seen in `[start_ns, end_ns]`, by scope, at most
    /// `limit` per scope (0: no limit).
    pub fn tag_names(
        &self,
        t: &TenantId,
        start_ns: u64,
        end_ns: u64,
        limit: usize,
    ) -> io::Result<TagNames> {
        match self.existing(t) {
            Some(x) => x.tag_names(start_ns, end_ns, limit),
            None => Ok(TagNames::new()),
        }
    }

    /// Distinct span names in `[start_ns, end_ns]`, sorted, at most `limit`
    /// (0: no limit).
    pub fn span_names(
        &self,
        t: &TenantId,
        start_ns: u64,
        end_ns: u64,
        limit: usize,
    ) -> io::Result<Vec<String>> {
        match self.existing(t) {
            Some(x) => x.span_names(start_ns, end_ns, limit),
            None => Ok(Vec::new()),
        }
    }

    /// Distinct values of an attribute in `[start_ns, end_ns]`; `scope`
    /// `None` is TraceQL's unscoped `.name` (resource and span), at most
    /// `limit` (0: no limit), sorted.
    pub fn tag_values(
        &self,
        t: &TenantId,
        scope: Option<TagScope>,
        name: &str,
        start_ns: u64,
        end_ns: u64,
        limit: usize,
    ) -> io::Result<Vec<IndexedValue>> {
        match self.existing(t) {
            Some(x) => x.tag_values(scope, name, start_ns, end_ns, limit),
            None => Ok(Vec::new()),
        }
    }
}
