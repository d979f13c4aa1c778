//! One tenant's traces: pushes are write-ahead logged and added to the
//! in-memory head; the seal cuts traces that stopped receiving spans into
//! an immutable partition (with its search index) and checkpoints the WAL
//! down to what is still live; reads look at the head, traces being
//! sealed and the partitions; retention and the disk cap drop whole
//! partitions.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use parking_lot::{Mutex, RwLock};
use prost::Message;

use crate::config::Config;
use crate::storage::clock::Clock;
use crate::storage::wal::{Wal, WalOptions};

use super::head::{collect_names, collect_values, split_by_trace, Head, LiveTrace, ValueKey};
use super::model::{span_count, TraceId};
use super::partition::{encode_traces_data, parse_dir_name, Partition};
use super::prefilter::IndexedValue;
use super::store::{PushError, ScanRequest, ScanStats, TagNames, TagScope, MAX_TAG_VALUES};

/// Settings of one tenant's trace store.
#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub retention_ns: u64,
    pub idle_timeout_ms: i64,
    pub max_head_bytes: u64,
    pub max_head_age_ms: i64,
    pub index: bool,
    pub max_trace_bytes: u64,
    pub wal: WalOptions,
}

impl TraceOptions {
    pub fn from_config(cfg: &Config, tenant: &str) -> Self {
        let t = &cfg.traces;
        TraceOptions {
            retention_ns: cfg
                .traces_retention(tenant)
                .as_nanos()
                .min(u64::MAX as u128) as u64,
            idle_timeout_ms: t.trace_idle_timeout.as_millis_i64(),
            max_head_bytes: t.max_head_bytes.0,
            max_head_age_ms: t.max_head_age.as_millis_i64(),
            index: t.index,
            max_trace_bytes: t.max_trace_bytes.0,
            wal: WalOptions {
                segment_size: cfg.storage.wal_segment_size.0,
                fsync: crate::storage::tenants::fsync_policy(&cfg.storage),
                fsync_observer: None,
            },
        }
    }
}

/// Traces cut from the head, readable while their partition is written.
struct Frozen {
    traces: HashMap<TraceId, LiveTrace>,
}

pub struct TenantTraces {
    pub tenant: String,
    dir: PathBuf,
    opts: TraceOptions,
    clock: Arc<dyn Clock>,
    wal: Wal,
    /// Pushes hold it shared from WAL append to head insert; the seal holds
    /// it exclusively to rotate the WAL and cut the head consistently.
    gate: RwLock<()>,
    head: RwLock<Head>,
    frozen: RwLock<Vec<Arc<Frozen>>>,
    /// Oldest first.
    partitions: RwLock<Vec<Arc<Partition>>>,
    next_seq: AtomicU64,
    maintenance: Mutex<()>,
}

fn now_ns(clock: &dyn Clock) -> u64 {
    (clock.now_ms().max(0) as u64).saturating_mul(1_000_000)
}

impl TenantTraces {
    pub fn open(
        tenant: &str,
        dir: &Path,
        opts: TraceOptions,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Self> {
        let pdir = dir.join("partitions");
        std::fs::create_dir_all(&pdir)?;
        let mut partitions = Vec::new();
        let mut next_seq = 1;
        for entry in std::fs::read_dir(&pdir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".tmp") {
                std::fs::remove_dir_all(entry.path())?;
                continue;
            }
            let Some(seq) = parse_dir_name(&name) else {
                continue;
            };
            next_seq = next_seq.max(seq + 1);
            match Partition::open(&entry.path(), seq) {
                Ok(p) => partitions.push(Arc::new(p)),
                Err(e) => {
                    tracing::error!(dir = %entry.path().display(), error = %e, "skipping unreadable trace partition")
                }
            }
        }
        partitions.sort_by_key(|p| p.seq);
        let mut head = Head::default();
        let now_ms = clock.now_ms();
        let (wal, stats) = Wal::open(&dir.join("wal"), opts.wal.clone(), |rec| {
            let td = TracesData::decode(rec).map_err(|e| format!("trace WAL record: {e}"))?;
            for (id, rs) in split_by_trace(td.resource_spans) {
                head.append(id, rs, now_ms);
            }
            Ok(())
        })?;
        tracing::info!(
            tenant,
            partitions = partitions.len(),
            head_traces = head.traces.len(),
            head_spans = head.spans,
            wal_records = stats.records,
            "trace store opened"
        );
        Ok(TenantTraces {
            tenant: tenant.to_string(),
            dir: dir.to_path_buf(),
            opts,
            clock,
            wal,
            gate: RwLock::new(()),
            head: RwLock::new(head),
            frozen: RwLock::new(Vec::new()),
            partitions: RwLock::new(partitions),
            next_seq: AtomicU64::new(next_seq),
            maintenance: Mutex::new(()),
        })
    }

    /// Logs the batches, then adds them to the head; returns the spans
    /// stored (spans without a valid trace id are skipped).
    pub fn push(&self, batches: Vec<ResourceSpans>) -> Result<usize, PushError> {
        let mut per_trace = split_by_trace(batches);
        // A live trace may not grow past `max_trace_bytes`.
        {
            let head = self.head.read();
            let mut added: HashMap<TraceId, u64> = HashMap::new();
            per_trace.retain(|(id, rs)| {
                let had = head.traces.get(id).map_or(0, |t| t.bytes);
                let extra = added.entry(*id).or_default();
                let size = rs.encoded_len() as u64;
                if had + *extra + size > self.opts.max_trace_bytes {
                    return false;
                }
                *extra += size;
                true
            });
        }
        if per_trace.is_empty() {
            return Ok(0);
        }
        let mut rec = Vec::new();
        for (_, rs) in &per_trace {
            prost::encoding::message::encode(1, rs, &mut rec);
        }
        let _g = self.gate.read();
        self.wal.append(&[&rec])?;
        let now = self.clock.now_ms();
        let mut head = self.head.write();
        let mut n = 0;
        for (id, rs) in per_trace {
            n += head.append(id, rs, now);
        }
        Ok(n)
    }

    pub fn head_bytes(&self) -> u64 {
        self.head.read().bytes
    }

    pub fn head_spans(&self) -> u64 {
        self.head.read().spans
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.read().len()
    }

    pub fn disk_bytes(&self) -> u64 {
        self.partitions
            .read()
            .iter()
            .map(|p| p.disk_bytes())
            .sum::<u64>()
            + self.wal.disk_bytes()
    }

    /// Seals the traces that received no span for the idle timeout into a
    /// partition when they are due (their size reached the head limit, or
    /// the oldest waited `max_head_age`), or all of them with `force`
    /// (which also treats every live trace as idle). Returns partitions
    /// written.
    pub fn seal(&self, force: bool) -> io::Result<usize> {
        let _m = self.maintenance.lock();
        let now = self.clock.now_ms();
        let (idle, idle_bytes, oldest_idle) = {
            let head = self.head.read();
            let mut ids = Vec::new();
            let mut bytes = 0u64;
            let mut oldest = i64::MAX;
            for (id, t) in &head.traces {
                if force || now - t.last_append_ms >= self.opts.idle_timeout_ms {
                    ids.push(*id);
                    bytes += t.bytes;
                    oldest = oldest.min(t.last_append_ms);
                }
            }
            (ids, bytes, oldest)
        };
        if idle.is_empty() {
            return Ok(0);
        }
        let due = force
            || idle_bytes >= self.opts.max_head_bytes
            || now - oldest_idle - self.opts.idle_timeout_ms >= self.opts.max_head_age_ms;
        if !due {
            return Ok(0);
        }
        let (frozen, seg, keep) = {
            let _g = self.gate.write();
            let seg = self.wal.rotate()?;
            let mut head = self.head.write();
            let mut traces = HashMap::with_capacity(idle.len());
            for id in idle {
                if let Some(t) = head.remove(&id) {
                    traces.insert(id, t);
                }
            }
            let keep: Vec<(TraceId, usize)> = head
                .traces
                .iter()
                .map(|(id, t)| (*id, t.batches.len()))
                .collect();
            let frozen = Arc::new(Frozen { traces });
            self.frozen.write().push(frozen.clone());
            (frozen, seg, keep)
        };
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        let list: Vec<(TraceId, &[ResourceSpans])> = frozen
            .traces
            .iter()
            .map(|(id, t)| (*id, t.batches.as_slice()))
            .collect();
        let written = Partition::write(&self.dir.join("partitions"), seq, &list, self.opts.index);
        let part = match written {
            Ok(p) => Arc::new(p),
            Err(e) => {
                // Put the traces back: the WAL still holds them.
                let mut head = self.head.write();
                self.frozen.write().retain(|f| !Arc::ptr_eq(f, &frozen));
                for (id, t) in &frozen.traces {
                    for rs in &t.batches {
                        head.append(*id, rs.clone(), t.last_append_ms);
                    }
                }
                return Err(e);
            }
        };
        self.partitions.write().push(part);
        self.frozen.write().retain(|f| !Arc::ptr_eq(f, &frozen));
        // The WAL now only needs what is still live, as it was at the cut.
        let records: Vec<Vec<u8>> = {
            let head = self.head.read();
            keep.iter()
                .filter_map(|(id, n)| {
                    let t = head.traces.get(id)?;
                    let mut buf = Vec::new();
                    encode_traces_data(&t.batches[..(*n).min(t.batches.len())], &mut buf);
                    Some(buf)
                })
                .collect()
        };
        self.wal
            .write_checkpoint(seg, records.into_iter().map(Ok))?;
        Ok(1)
    }

    /// Drops partitions whose newest span is older than the retention;
    /// returns how many.
    pub fn apply_retention(&self) -> io::Result<usize> {
        let _m = self.maintenance.lock();
        let cutoff = now_ns(&*self.clock).saturating_sub(self.opts.retention_ns);
        let doomed: Vec<Arc<Partition>> = self
            .partitions
            .read()
            .iter()
            .filter(|p| p.meta.max_end_ns < cutoff)
            .cloned()
            .collect();
        for p in &doomed {
            self.remove_partition(p)?;
        }
        Ok(doomed.len())
    }

    fn remove_partition(&self, p: &Arc<Partition>) -> io::Result<()> {
        self.partitions.write().retain(|x| !Arc::ptr_eq(x, p));
        std::fs::remove_dir_all(&p.dir)?;
        tracing::info!(tenant = %self.tenant, partition = p.seq, "trace partition deleted");
        Ok(())
    }

    /// The oldest partition's newest span time, for the disk cap.
    pub fn oldest_partition(&self) -> Option<u64> {
        self.partitions
            .read()
            .iter()
            .map(|p| p.meta.max_end_ns)
            .min()
    }

    /// Deletes the partition with the oldest data; false if none.
    pub fn delete_oldest_partition(&self) -> io::Result<bool> {
        let _m = self.maintenance.lock();
        let oldest = self
            .partitions
            .read()
            .iter()
            .min_by_key(|p| p.meta.max_end_ns)
            .cloned();
        match oldest {
            Some(p) => self.remove_partition(&p).map(|_| true),
            None => Ok(false),
        }
    }

    /// Builds missing search indexes; returns how many.
    pub fn build_indexes(&self) -> io::Result<usize> {
        if !self.opts.index {
            return Ok(0);
        }
        let parts = self.partitions.read().clone();
        let mut n = 0;
        for p in parts {
            if p.ensure_index()? {
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn close(&self) -> io::Result<()> {
        self.wal.close()
    }

    pub fn trace_by_id(
        &self,
        id: &TraceId,
        window: Option<(u64, u64)>,
    ) -> io::Result<Option<Vec<ResourceSpans>>> {
        let mut out: Vec<ResourceSpans> = Vec::new();
        if let Some(t) = self.head.read().traces.get(id) {
            out.extend(t.batches.iter().cloned());
        }
        for f in self.frozen.read().iter() {
            if let Some(t) = f.traces.get(id) {
                out.extend(t.batches.iter().cloned());
            }
        }
        let parts = self.partitions.read().clone();
        for p in parts.iter().rev() {
            if let Some((s, e)) = window {
                if !p.overlaps(s, e) {
                    continue;
                }
            }
            if let Some(row) = p.find(id) {
                out.extend(p.read(row)?);
            }
        }
        if out.is_empty() {
            return Ok(None);
        }
        Ok(Some(dedupe_spans(out)))
    }

    pub fn scan(
        &self,
        req: &ScanRequest,
        f: &mut dyn FnMut(&TraceId, &[ResourceSpans]) -> ControlFlow<()>,
    ) -> io::Result<ScanStats> {
        let mut stats = ScanStats::default();
        let mut visited: HashSet<TraceId> = HashSet::new();
        let (s, e) = (req.start_ns, req.end_ns);
        // The head, newest first; each trace copied out under a short lock.
        let mut ids: Vec<(u64, TraceId)> = {
            let head = self.head.read();
            stats.total_blocks += 1;
            stats.total_block_bytes += head.bytes;
            head.traces
                .iter()
                .filter(|(_, t)| t.overlaps(s, e))
                .map(|(id, t)| (t.start_ns, *id))
                .collect()
        };
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let parts = self.partitions.read().clone();
        let frozen = self.frozen.read().clone();
        for (_, id) in ids {
            let Some(batches) = self.head.read().traces.get(&id).map(|t| t.batches.clone()) else {
                continue;
            };
            visited.insert(id);
            let batches = self.whole(&id, batches, Place::Head, &frozen, &parts)?;
            stats.inspected_traces += 1;
            stats.inspected_spans += span_count(&batches) as u64;
            stats.inspected_bytes += batches.iter().map(|b| b.encoded_len() as u64).sum::<u64>();
            if f(&id, &batches).is_break() {
                return Ok(stats);
            }
        }
        for (fi, fz) in frozen.iter().enumerate().rev() {
            stats.total_blocks += 1;
            for (id, t) in &fz.traces {
                if !t.overlaps(s, e) || !visited.insert(*id) {
                    continue;
                }
                stats.inspected_traces += 1;
                stats.inspected_spans += t.spans as u64;
                stats.inspected_bytes += t.bytes;
                let batches =
                    self.whole(id, t.batches.clone(), Place::Frozen(fi), &frozen, &parts)?;
                if f(id, &batches).is_break() {
                    return Ok(stats);
                }
            }
        }
        for (pi, p) in parts.iter().enumerate().rev() {
            if !p.overlaps(s, e) {
                continue;
            }
            stats.total_blocks += 1;
            stats.total_block_bytes += p.disk_bytes();
            let candidates = match p.index() {
                Some(ix) => ix.candidates(&req.prefilter)?,
                None => None,
            };
            let rows: Box<dyn Iterator<Item = usize>> = match candidates {
                Some(c) => Box::new(c.into_iter().map(|r| r as usize)),
                None => Box::new(0..p.rows().len()),
            };
            // Newest traces first within the partition too.
            let mut rows: Vec<usize> = rows
                .filter(|&r| {
                    p.rows()
                        .get(r)
                        .is_some_and(|x| x.start_ns <= e && x.end_ns >= s)
                })
                .collect();
            rows.sort_unstable_by_key(|&r| std::cmp::Reverse(p.rows()[r].start_ns));
            for r in rows {
                let row = p.rows()[r];
                if !visited.insert(row.id) {
                    continue;
                }
                let batches =
                    self.whole(&row.id, p.read(r)?, Place::Partition(pi), &frozen, &parts)?;
                stats.inspected_traces += 1;
                stats.inspected_spans += u64::from(row.spans);
                stats.inspected_bytes += u64::from(row.len);
                if f(&row.id, &batches).is_break() {
                    return Ok(stats);
                }
            }
        }
        Ok(stats)
    }

    /// The whole trace from one piece found at `found`: the pieces in the
    /// head, in traces being sealed, and in the partitions whose time range
    /// overlaps the piece (spans that arrived after the trace was sealed
    /// fall there), spans deduplicated. Usually there is one piece.
    fn whole(
        &self,
        id: &TraceId,
        piece: Vec<ResourceSpans>,
        found: Place,
        frozen: &[Arc<Frozen>],
        parts: &[Arc<Partition>],
    ) -> io::Result<Vec<ResourceSpans>> {
        let (lo, hi) = super::model::time_bounds(&piece);
        let mut out = piece;
        let mut more = false;
        if found != Place::Head {
            if let Some(t) = self.head.read().traces.get(id) {
                out.extend(t.batches.iter().cloned());
                more = true;
            }
        }
        for (i, fz) in frozen.iter().enumerate() {
            if found != Place::Frozen(i) {
                if let Some(t) = fz.traces.get(id) {
                    out.extend(t.batches.iter().cloned());
                    more = true;
                }
            }
        }
        for (i, p) in parts.iter().enumerate() {
            if found != Place::Partition(i) && p.overlaps(lo, hi) {
                if let Some(row) = p.find(id) {
                    out.extend(p.read(row)?);
                    more = true;
                }
            }
        }
        Ok(if more { dedupe_spans(out) } else { out })
    }

    pub fn tag_names(&self, start_ns: u64, end_ns: u64, limit: usize) -> io::Result<TagNames> {
        let mut out = TagNames::new();
        {
            let head = self.head.read();
            for t in head
                .traces
                .values()
                .filter(|t| t.overlaps(start_ns, end_ns))
            {
                for rs in &t.batches {
                    collect_names(&mut out, rs);
                }
            }
        }
        for p in self.partitions.read().iter() {
            if p.overlaps(start_ns, end_ns) {
                if let Some(ix) = p.index() {
                    ix.tag_names(&mut out)?;
                }
            }
        }
        let cap = if limit > 0 { limit } else { MAX_TAG_VALUES };
        for names in out.values_mut() {
            while names.len() > cap {
                names.pop_last();
            }
        }
        Ok(out)
    }

    pub fn tag_values(
        &self,
        scope: Option<TagScope>,
        name: &str,
        start_ns: u64,
        end_ns: u64,
        limit: usize,
    ) -> io::Result<Vec<IndexedValue>> {
        let mut seen = BTreeSet::new();
        {
            let head = self.head.read();
            for t in head
                .traces
                .values()
                .filter(|t| t.overlaps(start_ns, end_ns))
            {
                for rs in &t.batches {
                    collect_values(&mut seen, rs, scope, name);
                }
            }
        }
        for p in self.partitions.read().iter() {
            if p.overlaps(start_ns, end_ns) {
                if let Some(ix) = p.index() {
                    ix.tag_values(scope, name, &mut |v| {
                        seen.insert(ValueKey(v));
                        true
                    })?;
                }
            }
        }
        let mut out: Vec<IndexedValue> = seen.into_iter().map(|k| k.0).collect();
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
    }

    /// Distinct span names in `[start_ns, end_ns]`, sorted.
    pub fn span_names(&self, start_ns: u64, end_ns: u64, limit: usize) -> io::Result<Vec<String>> {
        let mut seen = BTreeSet::new();
        {
            let head = self.head.read();
            for t in head
                .traces
                .values()
                .filter(|t| t.overlaps(start_ns, end_ns))
            {
                for rs in &t.batches {
                    for ss in &rs.scope_spans {
                        for s in &ss.spans {
                            seen.insert(s.name.clone());
                        }
                    }
                }
            }
        }
        for p in self.partitions.read().iter() {
            if p.overlaps(start_ns, end_ns) {
                if let Some(ix) = p.index() {
                    ix.span_names(&mut |n| {
                        seen.insert(n.to_string());
                        true
                    })?;
                }
            }
        }
        let mut out: Vec<String> = seen.into_iter().collect();
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
    }
}

/// Where a scan met a piece of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Head,
    Frozen(usize),
    Partition(usize),
}

/// Keeps the first copy of every span id (a trace read from several
/// places, or a span re-sent by a retrying client), dropping emptied
/// scopes and batches.
pub fn dedupe_spans(batches: Vec<ResourceSpans>) -> Vec<ResourceSpans> {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut out = Vec::with_capacity(batches.len());
    for mut rs in batches {
        for ss in &mut rs.scope_spans {
            ss.spans.retain(|s| seen.insert(s.span_id.clone()));
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
        if !rs.scope_spans.is_empty() {
            out.push(rs);
        }
    }
    out
}

impl crate::storage::tenants::CappedStore for TenantTraces {
    fn tenant_name(&self) -> &str {
        &self.tenant
    }

    fn disk_bytes(&self) -> u64 {
        TenantTraces::disk_bytes(self)
    }

    fn oldest_data(&self) -> Option<i64> {
        self.oldest_partition()
            .map(|ns| i64::try_from(ns).unwrap_or(i64::MAX))
    }

    fn delete_oldest(&self) -> io::Result<bool> {
        self.delete_oldest_partition()
    }
}
