//! One tenant's logs: the push path (WAL, then head), cutting the head into
//! a sealed partition, building partition indexes, retention, WAL replay on
//! open, and reading (the [`LogSource`] implementation).
//!
//! Locking: pushes hold `gate` shared while they write the WAL and the head;
//! cutting the head takes it exclusively, so a cut never splits a push and
//! every push's sequence number is either in the cut head or after it.
//! Readers take a consistent snapshot (partitions, frozen heads, head) under
//! `gate` shared and then read without locks.

use std::collections::HashMap;
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::model::{Labels, Matcher};
use crate::storage::clock::Clock;
use crate::storage::wal::{Wal, WalOptions};

use super::chunk::DecodedChunk;
use super::head::Head;
use super::index::NgramIndex;
use super::partition::Partition;
use super::source::{ChunkStats, EntryRef, LogSource, SelectRequest, SourceError};
use super::streams::StreamIndex;
use super::walrec::{self, StoredEntry};

/// Most frozen heads waiting to be sealed before pushes are refused (429).
pub const MAX_FROZEN_HEADS: usize = 3;

/// Settings of one tenant's log store.
#[derive(Clone, Debug)]
pub struct TenantOptions {
    pub max_head_bytes: u64,
    pub max_head_age_ms: i64,
    pub chunk_target_bytes: usize,
    pub retention_ns: i64,
    pub index: bool,
    pub wal: WalOptions,
}

/// A push could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// Sealing is behind: retry later (429).
    #[error("log store is busy sealing; retry later")]
    Backpressure,
    #[error("log WAL write failed: {0}")]
    Io(#[from] io::Error),
}

/// A partition and the tenant stream id of each of its streams.
struct SealedPartition {
    part: Arc<Partition>,
    /// tenant stream id → position in `part.streams`
    ids: HashMap<u32, usize>,
}

#[derive(Default)]
struct Sealed {
    partitions: Vec<Arc<SealedPartition>>,
    /// Heads cut but not yet written, oldest first, with the WAL segment
    /// that started after each cut.
    frozen: Vec<(Arc<Head>, u64)>,
}

pub struct TenantLogs {
    pub tenant: String,
    dir: PathBuf,
    opts: TenantOptions,
    clock: Arc<dyn Clock>,
    wal: Wal,
    gate: RwLock<()>,
    next_seq: AtomicU64,
    streams: RwLock<StreamIndex>,
    head: RwLock<Head>,
    sealed: RwLock<Sealed>,
    /// One seal / retention pass at a time.
    maintenance: Mutex<()>,
    /// One index build at a time (apart from `maintenance`, so a long
    /// build never holds up cutting the head).
    indexing: Mutex<()>,
}

fn now_ns(clock: &dyn Clock) -> i64 {
    clock.now_ms().saturating_mul(1_000_000)
}

impl TenantLogs {
    /// Opens (creating if needed) a tenant's store: partitions, then WAL
    /// replay of what they do not hold.
    pub fn open(
        tenant: &str,
        dir: &Path,
        opts: TenantOptions,
        clock: Arc<dyn Clock>,
    ) -> io::Result<TenantLogs> {
        let part_root = dir.join("partitions");
        std::fs::create_dir_all(&part_root)?;
        let mut streams = StreamIndex::default();
        let mut partitions = Vec::new();
        let mut sealed_seq = 0u64;
        let mut names: Vec<PathBuf> = Vec::new();
        for e in std::fs::read_dir(&part_root)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(".tmp-") || name.ends_with(".tmp") {
                std::fs::remove_dir_all(e.path())?;
            } else if name.starts_with("p-") {
                names.push(e.path());
            }
        }
        names.sort();
        for p in names {
            let part = Partition::open(&p)?;
            sealed_seq = sealed_seq.max(part.seq);
            partitions.push(Arc::new(register(&mut streams, part)));
        }
        let mut head = Head::default();
        let mut max_seq = sealed_seq;
        let now_ms = clock.now_ms();
        let (wal, stats) = Wal::open(&dir.join("wal"), opts.wal.clone(), |rec| {
            let r = walrec::decode(rec).map_err(|e| e.0.to_string())?;
            max_seq = max_seq.max(r.seq);
            if r.seq > sealed_seq {
                let id = streams.get_or_create(&r.labels);
                head.append(id, r.entries, r.seq, now_ms);
            }
            Ok(())
        })?;
        tracing::info!(
            tenant,
            partitions = partitions.len(),
            head_lines = head.lines,
            wal_records = stats.records,
            torn_tail_bytes = stats.torn_tail_bytes_cut,
            "log store opened"
        );
        Ok(TenantLogs {
            tenant: tenant.to_string(),
            dir: dir.to_path_buf(),
            opts,
            clock,
            wal,
            gate: RwLock::new(()),
            next_seq: AtomicU64::new(max_seq + 1),
            streams: RwLock::new(streams),
            head: RwLock::new(head),
            sealed: RwLock::new(Sealed {
                partitions,
                frozen: Vec::new(),
            }),
            maintenance: Mutex::new(()),
            indexing: Mutex::new(()),
        })
    }

    /// Stores validated streams: WAL first (durable per the fsync policy),
    /// then the head. Returns once queries can see the lines.
    pub fn push(&self, streams: Vec<(Labels, Vec<StoredEntry>)>) -> Result<(), PushError> {
        if streams.is_empty() {
            return Ok(());
        }
        if self.sealed.read().frozen.len() >= MAX_FROZEN_HEADS {
            return Err(PushError::Backpressure);
        }
        let _g = self.gate.read();
        let seq = self.next_seq.fetch_add(1, Ordering::SeqCst);
        let records: Vec<Vec<u8>> = streams
            .iter()
            .map(|(l, e)| walrec::encode_entries(seq, l, e))
            .collect();
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        self.wal.append(&refs)?;
        drop(records);
        let ids: Vec<u32> = {
            let known: Option<Vec<u32>> = {
                let s = self.streams.read();
                streams.iter().map(|(l, _)| s.get(l)).collect()
            };
            match known {
                Some(ids) => ids,
                None => {
                    let mut s = self.streams.write();
                    streams.iter().map(|(l, _)| s.get_or_create(l)).collect()
                }
            }
        };
        let now_ms = self.clock.now_ms();
        let mut head = self.head.write();
        for (id, (_, entries)) in ids.into_iter().zip(streams) {
            head.append(id, entries, seq, now_ms);
        }
        Ok(())
    }

    /// Should the head be cut now?
    pub fn head_due(&self) -> bool {
        let h = self.head.read();
        !h.is_empty()
            && (h.bytes >= self.opts.max_head_bytes
                || self.clock.now_ms() - h.first_append_ms >= self.opts.max_head_age_ms)
    }

    pub fn head_bytes(&self) -> u64 {
        self.head.read().bytes
    }

    /// Cuts the head (if not empty) and writes every frozen head as a
    /// partition; then drops the WAL segments they covered. `force` cuts
    /// even when the head is not due.
    pub fn seal(&self, force: bool) -> io::Result<usize> {
        let _m = self.maintenance.lock();
        if force || self.head_due() {
            let _g = self.gate.write();
            let mut h = self.head.write();
            if !h.is_empty() {
                let cut = Arc::new(std::mem::take(&mut *h));
                let seg = self.wal.rotate()?;
                self.sealed.write().frozen.push((cut, seg));
            }
        }
        let mut n = 0;
        loop {
            let Some((frozen, seg)) = self.sealed.read().frozen.first().cloned() else {
                break;
            };
            let part = {
                let streams = self.streams.read();
                let labels_of = |id: u32| streams.labels(id).cloned();
                Partition::write(
                    &self.dir.join("partitions"),
                    frozen.max_seq,
                    &frozen,
                    &labels_of,
                    self.opts.chunk_target_bytes,
                )?
            };
            let sp = {
                let mut streams = self.streams.write();
                Arc::new(register(&mut streams, part))
            };
            {
                let mut s = self.sealed.write();
                s.partitions.push(sp);
                s.frozen.remove(0);
            }
            self.wal.write_checkpoint(seg, std::iter::empty())?;
            n += 1;
        }
        Ok(n)
    }

    /// Builds the index of every partition that lacks one.
    pub fn build_indexes(&self) -> io::Result<usize> {
        if !self.opts.index {
            return Ok(0);
        }
        let _i = self.indexing.lock();
        let todo: Vec<Arc<SealedPartition>> = self
            .sealed
            .read()
            .partitions
            .iter()
            .filter(|p| p.part.index.get().is_none())
            .cloned()
            .collect();
        let mut n = 0;
        for sp in todo {
            let p = &sp.part;
            let ix = NgramIndex::build(&p.index_dir(), |add| {
                for s in &p.streams {
                    for c in &s.chunks {
                        let d = p.read_chunk(c)?;
                        add(d.text())?;
                    }
                }
                Ok(())
            })?;
            if ix.docs() != p.chunk_count {
                return Err(io::Error::other(format!(
                    "log index of {} has {} documents for {} chunks",
                    p.dir.display(),
                    ix.docs(),
                    p.chunk_count
                )));
            }
            let _ = p.index.set(ix);
            n += 1;
        }
        Ok(n)
    }

    /// Deletes partitions whose newest line is past retention.
    pub fn apply_retention(&self) -> io::Result<usize> {
        let _m = self.maintenance.lock();
        let cutoff = now_ns(&*self.clock).saturating_sub(self.opts.retention_ns);
        let expired: Vec<Arc<SealedPartition>> = {
            let mut s = self.sealed.write();
            let (old, keep): (Vec<_>, Vec<_>) =
                s.partitions.drain(..).partition(|p| p.part.max_ts < cutoff);
            s.partitions = keep;
            old
        };
        for p in &expired {
            std::fs::remove_dir_all(&p.part.dir)?;
        }
        Ok(expired.len())
    }

    /// The oldest partition's newest timestamp and size, for the disk cap.
    pub fn oldest_partition(&self) -> Option<(i64, u64)> {
        self.sealed
            .read()
            .partitions
            .iter()
            .min_by_key(|p| p.part.max_ts)
            .map(|p| (p.part.max_ts, p.part.disk_bytes()))
    }

    /// Deletes the partition with the oldest data (disk cap).
    pub fn delete_oldest_partition(&self) -> io::Result<bool> {
        let _m = self.maintenance.lock();
        let victim = {
            let mut s = self.sealed.write();
            let Some(i) = s
                .partitions
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.part.max_ts)
                .map(|(i, _)| i)
            else {
                return Ok(false);
            };
            s.partitions.remove(i)
        };
        std::fs::remove_dir_all(&victim.part.dir)?;
        Ok(true)
    }

    /// Bytes on disk: partitions and WAL.
    pub fn disk_bytes(&self) -> u64 {
        let parts: u64 = self
            .sealed
            .read()
            .partitions
            .iter()
            .map(|p| p.part.disk_bytes())
            .sum();
        parts + self.wal.disk_bytes()
    }

    pub fn partition_count(&self) -> usize {
        self.sealed.read().partitions.len()
    }

    /// Closes the WAL (pushes fail afterwards).
    pub fn close(&self) -> io::Result<()> {
        self.wal.close()
    }

    fn snapshot(&self, matchers: &[Matcher], start_ns: i64, end_ns: i64) -> Snapshot {
        let _g = self.gate.read();
        let ids = self.streams.read().select(matchers);
        let s = self.sealed.read();
        let partitions = s
            .partitions
            .iter()
            .filter(|p| p.part.max_ts >= start_ns && p.part.min_ts < end_ns)
            .cloned()
            .collect();
        let frozen = s.frozen.iter().map(|(h, _)| h.clone()).collect();
        drop(s);
        let streams = self.streams.read();
        let labels = ids
            .iter()
            .filter_map(|&id| streams.labels(id).map(|l| (id, l.clone())))
            .collect();
        Snapshot {
            streams: labels,
            partitions,
            frozen,
        }
    }
}

/// Registers a partition's streams, giving the tenant ids.
fn register(streams: &mut StreamIndex, part: Partition) -> SealedPartition {
    let ids = part
        .streams
        .iter()
        .enumerate()
        .map(|(i, s)| (streams.get_or_create(&s.labels), i))
        .collect();
    SealedPartition {
        part: Arc::new(part),
        ids,
    }
}

/// What one read sees.
struct Snapshot {
    streams: Vec<(u32, Arc<Labels>)>,
    partitions: Vec<Arc<SealedPartition>>,
    frozen: Vec<Arc<Head>>,
}

fn io_err(e: io::Error) -> SourceError {
    SourceError::Io(e.to_string())
}

impl LogSource for TenantLogs {
    fn select(
        &self,
        req: &SelectRequest<'_>,
        sink: &mut dyn FnMut(&Labels, &[EntryRef<'_>]) -> ControlFlow<()>,
    ) -> Result<(), SourceError> {
        let (start, end) = (req.start_ns, req.end_ns);
        if start >= end {
            return Ok(());
        }
        let snap = self.snapshot(req.matchers, start, end);
        let needles = req
            .filter
            .map(|f| f.required_substrings())
            .unwrap_or_default();
        // Chunks each indexed partition may hold the needles in.
        let mut candidates = Vec::with_capacity(snap.partitions.len());
        for p in &snap.partitions {
            let c = match (p.part.index.get(), needles.is_empty()) {
                (Some(ix), false) => ix.candidates(&needles).map_err(io_err)?,
                _ => None,
            };
            candidates.push(c);
        }
        let head_copies: HashMap<u32, Vec<StoredEntry>> = {
            let h = self.head.read();
            snap.streams
                .iter()
                .map(|(id, _)| (*id, h.copy_selected(*id, start, end, req.filter)))
                .filter(|(_, v)| !v.is_empty())
                .collect()
        };
        let filter = req.filter;
        let passes = |e: &EntryRef<'_>| {
            e.ts_ns >= start && e.ts_ns < end && filter.is_none_or(|f| f.matches(e.line))
        };
        for (id, labels) in &snap.streams {
            let mut decoded: Vec<DecodedChunk> = Vec::new();
            for (p, cand) in snap.partitions.iter().zip(&candidates) {
                let Some(&si) = p.ids.get(id) else { continue };
                for c in &p.part.streams[si].chunks {
                    if c.stats.max_ts_ns < start || c.stats.min_ts_ns >= end {
                        continue;
                    }
                    if cand.as_ref().is_some_and(|set| !set.contains(&c.ordinal)) {
                        continue;
                    }
                    decoded.push(p.part.read_chunk(c).map_err(io_err)?);
                }
            }
            let frozen_copies: Vec<Vec<StoredEntry>> = snap
                .frozen
                .iter()
                .map(|h| h.copy_selected(*id, start, end, filter))
                .filter(|v| !v.is_empty())
                .collect();
            let mut refs: Vec<EntryRef<'_>> = Vec::new();
            let mut sources = 0;
            for d in &decoded {
                let before = refs.len();
                refs.extend((0..d.len()).map(|i| d.entry(i)).filter(|e| passes(e)));
                sources += usize::from(refs.len() > before);
            }
            for v in frozen_copies.iter().chain(head_copies.get(id)) {
                sources += 1;
                refs.extend(v.iter().map(|e| EntryRef {
                    ts_ns: e.ts_ns,
                    line: &e.line,
                    metadata: &e.metadata,
                }));
            }
            if refs.is_empty() {
                continue;
            }
            if sources > 1 {
                refs.sort_by_key(|e| e.ts_ns);
            }
            if sink(labels, &refs).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn series(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<Labels>, SourceError> {
        let mut out = Vec::new();
        self.chunk_stats(matchers, start_ns, end_ns, &mut |l, _| {
            if out.last() != Some(l) {
                out.push(l.clone());
            }
        })?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn chunk_stats(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        sink: &mut dyn FnMut(&Labels, ChunkStats),
    ) -> Result<(), SourceError> {
        let snap = self.snapshot(matchers, start_ns, end_ns);
        let overlaps = |s: &ChunkStats| s.max_ts_ns >= start_ns && s.min_ts_ns < end_ns;
        let head = self.head.read();
        for (id, labels) in &snap.streams {
            for p in &snap.partitions {
                if let Some(&si) = p.ids.get(id) {
                    for c in &p.part.streams[si].chunks {
                        if overlaps(&c.stats) {
                            sink(labels, c.stats);
                        }
                    }
                }
            }
            for h in snap.frozen.iter().map(|h| &**h).chain(Some(&*head)) {
                if let Some(s) = h.stream(*id) {
                    let st = s.stats();
                    if overlaps(&st) {
                        sink(labels, st);
                    }
                }
            }
        }
        Ok(())
    }
}

impl crate::storage::tenants::CappedStore for TenantLogs {
    fn tenant_name(&self) -> &str {
        &self.tenant
    }

    fn disk_bytes(&self) -> u64 {
        TenantLogs::disk_bytes(self)
    }

    fn oldest_data(&self) -> Option<i64> {
        self.oldest_partition().map(|(ts, _)| ts)
    }

    fn delete_oldest(&self) -> io::Result<bool> {
        self.delete_oldest_partition()
    }
}
