//! The trace store of all tenants: opening tenants (lazily, or all at
//! start), the push entry point, reads (trace by id, scans, tags) and the
//! background sealer that cuts complete traces into partitions and applies
//! retention and the disk cap.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use parking_lot::{Mutex, RwLock};

use crate::config::Config;
use crate::model::TenantId;
use crate::storage::clock::Clock;

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

/// Attribute names by scope.
pub type TagNames = BTreeMap<TagScope, BTreeSet<String>>;

/// A trace store the whole server shares.
pub struct TraceStore {
    root: PathBuf,
    cfg: Arc<Config>,
    clock: Arc<dyn Clock>,
    tenants: RwLock<HashMap<String, Arc<TenantTraces>>>,
    open_lock: Mutex<()>,
}

impl TraceStore {
    pub fn new(cfg: Arc<Config>, clock: Arc<dyn Clock>) -> Self {
        TraceStore {
            root: cfg.storage.data_dir.join("traces"),
            cfg,
            clock,
            tenants: RwLock::new(HashMap::new()),
            open_lock: Mutex::new(()),
        }
    }

    fn options_for(&self, tenant: &str) -> TraceOptions {
        TraceOptions::from_config(&self.cfg, tenant)
    }

    /// Opens every tenant found on disk (replaying WALs); returns how many.
    pub fn open_existing(&self) -> io::Result<usize> {
        std::fs::create_dir_all(&self.root)?;
        let mut n = 0;
        for entry in std::fs::read_dir(&self.root)? {
            let entry = entry?;
            if !entry.path().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            match TenantId::parse(&name) {
                Ok(t) => {
                    self.tenant(&t)?;
                    n += 1;
                }
                Err(e) => {
                    tracing::warn!(dir = %entry.path().display(), error = %e, "ignoring directory that is not a tenant")
                }
            }
        }
        Ok(n)
    }

    /// A tenant's traces, opened (and created) on first use.
    pub fn tenant(&self, t: &TenantId) -> io::Result<Arc<TenantTraces>> {
        if let Some(x) = self.tenants.read().get(t.as_str()) {
            return Ok(x.clone());
        }
        let _g = self.open_lock.lock();
        if let Some(x) = self.tenants.read().get(t.as_str()) {
            return Ok(x.clone());
        }
        let x = Arc::new(TenantTraces::open(
            t.as_str(),
            &self.root.join(t.as_str()),
            self.options_for(t.as_str()),
            self.clock.clone(),
        )?);
        self.tenants
            .write()
            .insert(t.as_str().to_string(), x.clone());
        Ok(x)
    }

    fn existing(&self, t: &TenantId) -> Option<Arc<TenantTraces>> {
        self.tenants.read().get(t.as_str()).cloned()
    }

    pub fn all(&self) -> Vec<Arc<TenantTraces>> {
        self.tenants.read().values().cloned().collect()
    }

    /// Stores spans (write-ahead logged before this returns) and returns
    /// how many were stored. Spans without a 16-byte trace id are not
    /// stored; the caller reports them as rejected.
    pub fn push(&self, t: &TenantId, batches: Vec<ResourceSpans>) -> Result<usize, PushError> {
        self.tenant(t)?.push(batches)
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
