//! The in-memory head of a tenant's TSDB: the series index (labels → id,
//! label postings) and, per series, Gorilla-compressed chunks of recent
//! samples plus a small buffer of out-of-order samples. Queries read it
//! directly; sealing cuts its oldest chunks into on-disk blocks.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::metrics::chunk::{self, XorChunk, XorIter};
use crate::metrics::head_spill::{SpillFile, SpillFiles};
use crate::metrics::hist_chunk::{self, HistChunk};
use crate::metrics::postings::PostingsIndex;
use crate::metrics::walrec::SeriesId;
use crate::model::labels::{LabelKey, SeriesLabels};
use crate::model::{FloatHistogram, HistogramSample, Labels, Matcher, Sample};
use crate::promql::source::Series;

/// Samples per chunk before a new one is cut (as Prometheus).
const SAMPLES_PER_CHUNK: usize = 120;

/// The value `last()` reports when a series' newest sample is a histogram:
/// a NaN payload no float sample is judged equal to in practice (a float at
/// the same timestamp is refused as a conflicting duplicate).
const HIST_LAST_BITS: u64 = 0x7ff8_4849_5354_0001;

/// Why a sample was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleRejection {
    OutOfOrder,
    OutOfBounds,
    DuplicateTimestamp,
    TooFarInFuture,
}

impl SampleRejection {
    pub fn message(&self) -> &'static str {
        match self {
            SampleRejection::OutOfOrder => "out of order sample",
            SampleRejection::OutOfBounds => {
                "out of bounds: sample is older than the oldest time the head accepts"
            }
            SampleRejection::DuplicateTimestamp => {
                "duplicate sample for timestamp with a different value"
            }
            SampleRejection::TooFarInFuture => {
                "sample timestamp too far in the future (limits.creation_grace_period)"
            }
        }
    }
}

/// The verdict on one incoming sample, before it is written.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// Identical to a stored sample: acknowledged, not stored again.
    Duplicate,
    Reject(SampleRejection),
}

/// Cardinality statistics of a head.
#[derive(Debug, Default, Clone)]
pub struct TsdbStats {
    pub num_series: u64,
    pub num_label_pairs: u64,
    pub chunk_count: u64,
    pub min_t: i64,
    pub max_t: i64,
    pub series_count_by_metric_name: Vec<(String, u64)>,
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

/// One series in the head: labels (immutable, compared without a lock)
/// and samples.
pub struct HeadSeries {
    key: LabelKey,
    /// Has a WAL series record for this id been written? Until it has, every
    /// writer of the series logs one, so samples never precede their series.
    logged: AtomicBool,
    data: Mutex<MemSeries>,
}

impl HeadSeries {
    pub fn labels(&self) -> Labels {
        self.key.to_labels()
    }

    /// The float and histogram samples in `[mint, maxt]`.
    pub fn samples_in(
        &self,
        mint: i64,
        maxt: i64,
    ) -> io::Result<(Vec<Sample>, Vec<HistogramSample>)> {
        let s = self.data.lock();
        Ok((s.samples_in(mint, maxt)?, s.histograms_in(mint, maxt)?))
    }

    /// Every sample of the series as encoded chunks (checkpoints).
    pub fn checkpoint_chunks(&self) -> io::Result<Vec<Vec<u8>>> {
        self.data.lock().checkpoint_chunks()
    }
}

/// Where a closed chunk's bytes are.
enum ChunkData {
    Mem(Box<[u8]>),
    /// In a spill file (see `head_spill`).
    Spilled {
        file: Arc<SpillFile>,
        offset: u64,
        len: u32,
    },
}

/// A full chunk: its bytes (in memory or spilled) and the bounds queries
/// filter on (the encoder state of an open chunk is not kept).
struct ClosedChunk {
    first_t: i64,
    last_t: i64,
    /// The last float value; [`HIST_LAST_BITS`] for a histogram chunk.
    last_v: f64,
    /// A histogram chunk (see `hist_chunk`) rather than a Gorilla one.
    hist: bool,
    data: ChunkData,
}

/// Read access shared by open and closed chunks.
trait ChunkRead {
    fn first_t(&self) -> Option<i64>;
    fn last_t(&self) -> Option<i64>;
    /// The encoded chunk (read back from disk if spilled).
    fn load(&self) -> io::Result<Cow<'_, [u8]>>;
}

impl ChunkRead for ClosedChunk {
    fn first_t(&self) -> Option<i64> {
        Some(self.first_t)
    }
    fn last_t(&self) -> Option<i64> {
        Some(self.last_t)
    }
    fn load(&self) -> io::Result<Cow<'_, [u8]>> {
        match &self.data {
            ChunkData::Mem(b) => Ok(Cow::Borrowed(b)),
            ChunkData::Spilled { file, offset, len } => file.read(*offset, *len).map(Cow::Owned),
        }
    }
}

impl ChunkRead for XorChunk {
    fn first_t(&self) -> Option<i64> {
        XorChunk::first_t(self)
    }
    fn last_t(&self) -> Option<i64> {
        XorChunk::last_t(self)
    }
    fn load(&self) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self.bytes()))
    }
}

impl ChunkRead for HistChunk {
    fn first_t(&self) -> Option<i64> {
        HistChunk::first_t(self)
    }
    fn last_t(&self) -> Option<i64> {
        HistChunk::last_t(self)
    }
    fn load(&self) -> io::Result<Cow<'_, [u8]>> {
        Ok(Cow::Borrowed(self.bytes()))
    }
}

/// The float samples of encoded chunk bytes (ours always decode; an empty
/// iterator otherwise, also for histogram chunks).
fn samples_of(bytes: &[u8]) -> XorIter<'_> {
    chunk::decode(bytes).unwrap_or_else(|_| chunk::empty_iter())
}

/// The histogram samples of encoded chunk bytes (none for float chunks).
fn histograms_of(bytes: &[u8]) -> impl Iterator<Item = HistogramSample> + '_ {
    hist_chunk::decode(bytes).into_iter().flatten()
}

impl ClosedChunk {
    fn from_open(c: XorChunk) -> Option<Self> {
        Some(ClosedChunk {
            first_t: c.first_t()?,
            last_t: c.last_t()?,
            last_v: c.last_v()?,
            hist: false,
            data: ChunkData::Mem(c.into_bytes().into_boxed_slice()),
        })
    }

    fn from_open_hist(c: HistChunk) -> Option<Self> {
        Some(ClosedChunk {
            first_t: c.first_t()?,
            last_t: c.last_t()?,
            last_v: f64::from_bits(HIST_LAST_BITS),
            hist: true,
            data: ChunkData::Mem(c.into_bytes().into_boxed_slice()),
        })
    }
}

/// The samples of one head series.
pub struct MemSeries {
    /// Closed chunks, oldest first; each lies within one block-aligned window.
    closed: Vec<ClosedChunk>,
    open: XorChunk,
    /// The open histogram chunk. At most one of `open` and `hist_open`
    /// holds samples: switching kinds closes the other one, so `closed`
    /// stays in time order.
    hist_open: Option<Box<HistChunk>>,
    /// Out-of-order samples, sorted by time, merged at read and at sealing.
    ooo: Vec<Sample>,
    /// The newest sample judged `Append` but not yet applied (its WAL write
    /// is in flight), so that concurrent or repeated writes are judged
    /// against it.
    reserved: Option<(i64, f64)>,
}

impl MemSeries {
    fn new() -> Self {
        MemSeries {
            closed: Vec::new(),
            open: XorChunk::new(),
            hist_open: None,
            ooo: Vec::new(),
            reserved: None,
        }
    }

    /// The newest in-order sample: its time and float value (a histogram
    /// reports the [`HIST_LAST_BITS`] NaN).
    pub fn last(&self) -> Option<(i64, f64)> {
        if let Some(t) = self.hist_open.as_ref().and_then(|h| h.last_t()) {
            return Some((t, f64::from_bits(HIST_LAST_BITS)));
        }
        match (self.open.last_t(), self.open.last_v()) {
            (Some(t), Some(v)) => Some((t, v)),
            _ => self.closed.last().map(|c| (c.last_t, c.last_v)),
        }
    }

    /// The open histogram chunk, if it holds samples.
    fn open_hist(&self) -> Option<&HistChunk> {
        self.hist_open.as_deref().filter(|h| h.num_samples() > 0)
    }

    /// Closed chunks then the open ones, oldest first (of the two open
    /// chunks at most one holds samples).
    fn chunks(&self) -> impl Iterator<Item = &dyn ChunkRead> {
        self.closed
            .iter()
            .map(|c| c as &dyn ChunkRead)
            .chain(std::iter::once(&self.open as &dyn ChunkRead))
            .chain(self.open_hist().map(|h| h as &dyn ChunkRead))
    }

    pub fn is_empty(&self) -> bool {
        self.open.num_samples() == 0
            && self.open_hist().is_none()
            && self.closed.is_empty()
            && self.ooo.is_empty()
    }

    fn min_t(&self) -> Option<i64> {
        let c = self
            .closed
            .first()
            .map(|c| c.first_t)
            .or_else(|| self.open.first_t())
            .or_else(|| self.open_hist().and_then(|h| h.first_t()));
        match (c, self.ooo.first().map(|s| s.t)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Judges a sample against this series' state (and `last`, the newest
    /// timestamp accepted so far in the current request).
    fn verdict(&self, s: Sample, last: Option<(i64, f64)>, ooo_window: i64) -> Verdict {
        let Some((lt, lv)) = last else {
            return Verdict::Append;
        };
        if s.t > lt {
            return Verdict::Append;
        }
        if s.t == lt {
            return if s.v.to_bits() == lv.to_bits() {
                Verdict::Duplicate
            } else {
                Verdict::Reject(SampleRejection::DuplicateTimestamp)
            };
        }
        if ooo_window > 0 && s.t >= lt - ooo_window {
            if let Some(existing) = self.sample_at(s.t) {
                return if existing.to_bits() == s.v.to_bits() {
                    Verdict::Duplicate
                } else {
                    Verdict::Reject(SampleRejection::DuplicateTimestamp)
                };
            }
            return Verdict::Append;
        }
        Verdict::Reject(SampleRejection::OutOfOrder)
    }

    fn sample_at(&self, t: i64) -> Option<f64> {
        if let Ok(i) = self.ooo.binary_search_by_key(&t, |s| s.t) {
            return Some(self.ooo[i].v);
        }
        for c in self
            .chunks()
            .filter(|c| c.first_t().is_some_and(|f| f <= t) && c.last_t().is_some_and(|l| l >= t))
        {
            let Ok(bytes) = c.load() else { continue };
            if let Some((_, v)) = samples_of(&bytes).find(|(ct, _)| *ct == t) {
                return Some(v);
            }
        }
        None
    }

    /// Appends a sample already judged `Append`.
    fn append(&mut self, s: Sample, block_ms: i64) {
        match self.last() {
            Some((lt, _)) if s.t <= lt => {
                match self.ooo.binary_search_by_key(&s.t, |x| x.t) {
                    Ok(i) => self.ooo[i] = s,
                    Err(i) => self.ooo.insert(i, s),
                }
                return;
            }
            _ => {}
        }
        if let Some(h) = self.hist_open.take() {
            self.closed.extend(ClosedChunk::from_open_hist(*h));
        }
        if let Some(first) = self.open.first_t() {
            if self.open.num_samples() >= SAMPLES_PER_CHUNK
                || first.div_euclid(block_ms) != s.t.div_euclid(block_ms)
            {
                let full = std::mem::take(&mut self.open);
                self.closed.extend(ClosedChunk::from_open(full));
            }
        }
        self.open.append(s.t, s.v);
    }

    /// Appends a histogram sample already judged `Append` (newer than
    /// every stored sample: histograms have no out-of-order window).
    fn append_hist(&mut self, t: i64, h: &FloatHistogram, block_ms: i64) {
        if self.open.num_samples() > 0 {
            let full = std::mem::take(&mut self.open);
            self.closed.extend(ClosedChunk::from_open(full));
        }
        let open = self.hist_open.get_or_insert_with(Default::default);
        // Stored with the hint Prometheus' TSDB would give it on reading.
        let mut h = h.clone();
        h.counter_reset_hint = h.stored_hint(open.last());
        if let Some(first) = open.first_t() {
            if open.num_samples() >= SAMPLES_PER_CHUNK
                || first.div_euclid(block_ms) != t.div_euclid(block_ms)
            {
                let full = std::mem::take(&mut **open);
                self.closed.extend(ClosedChunk::from_open_hist(full));
            }
        }
        open.append(t, &h);
    }

    /// The histogram stored at exactly `t`, if the newest sample is one.
    fn last_hist_at(&self, t: i64) -> Option<&FloatHistogram> {
        self.open_hist()
            .filter(|h| h.last_t() == Some(t))
            .and_then(|h| h.last())
    }

    /// Histogram samples in `[mint, maxt]`, sorted.
    pub fn histograms_in(&self, mint: i64, maxt: i64) -> io::Result<Vec<HistogramSample>> {
        let mut out = Vec::new();
        let hist_chunks = self
            .closed
            .iter()
            .filter(|c| c.hist)
            .map(|c| c as &dyn ChunkRead)
            .chain(self.open_hist().map(|h| h as &dyn ChunkRead));
        for c in hist_chunks {
            let (Some(f), Some(l)) = (c.first_t(), c.last_t()) else {
                continue;
            };
            if l < mint || f > maxt {
                continue;
            }
            let bytes = c.load()?;
            out.extend(histograms_of(&bytes).filter(|s| s.t >= mint && s.t <= maxt));
        }
        Ok(out)
    }

    /// Samples in `[mint, maxt]`, sorted, out-of-order ones merged in.
    pub fn samples_in(&self, mint: i64, maxt: i64) -> io::Result<Vec<Sample>> {
        let mut out = Vec::new();
        let float_chunks = self
            .closed
            .iter()
            .filter(|c| !c.hist)
            .map(|c| c as &dyn ChunkRead)
            .chain(std::iter::once(&self.open as &dyn ChunkRead));
        for c in float_chunks {
            let (Some(f), Some(l)) = (c.first_t(), c.last_t()) else {
                continue;
            };
            if l < mint || f > maxt {
                continue;
            }
            let bytes = c.load()?;
            out.extend(
                samples_of(&bytes)
                    .filter(|(t, _)| *t >= mint && *t <= maxt)
                    .map(|(t, v)| Sample::new(t, v)),
            );
        }
        if self.ooo.iter().any(|s| s.t >= mint && s.t <= maxt) {
            out.extend(
                self.ooo
                    .iter()
                    .filter(|s| s.t >= mint && s.t <= maxt)
                    .copied(),
            );
            out.sort_by_key(|s| s.t);
            out.dedup_by_key(|s| s.t);
        }
        Ok(out)
    }

    /// Chunk bytes with all data before `boundary`, ready for a block: the
    /// closed chunks (and the open one if its window ended) re-encoded with
    /// out-of-order samples merged where needed.
    fn chunks_before(&self, boundary: i64) -> io::Result<Vec<Vec<u8>>> {
        let ooo: Vec<Sample> = self
            .ooo
            .iter()
            .filter(|s| s.t < boundary)
            .copied()
            .collect();
        let chunks: Vec<&dyn ChunkRead> = self
            .chunks()
            .filter(|c| c.last_t().is_some_and(|l| l < boundary))
            .collect();
        if ooo.is_empty() {
            return chunks
                .into_iter()
                .map(|c| c.load().map(Cow::into_owned))
                .collect();
        }
        let mut all: Vec<Sample> = ooo;
        let mut out = Vec::new();
        for c in chunks {
            let bytes = c.load()?;
            if hist_chunk::is_hist_chunk(&bytes) {
                out.push(bytes.into_owned());
            } else {
                all.extend(samples_of(&bytes).map(|(t, v)| Sample::new(t, v)));
            }
        }
        all.sort_by_key(|s| s.t);
        all.dedup_by_key(|s| s.t);
        let mut cur = XorChunk::new();
        for s in all {
            if cur.num_samples() >= SAMPLES_PER_CHUNK {
                out.push(std::mem::take(&mut cur).into_bytes());
            }
            cur.append(s.t, s.v);
        }
        if cur.num_samples() > 0 {
            out.push(cur.into_bytes());
        }
        Ok(out)
    }

    /// Drops all data before `boundary` (after it was written to a block).
    fn truncate_before(&mut self, boundary: i64) {
        self.closed.retain(|c| c.last_t >= boundary);
        if self.open.last_t().is_some_and(|l| l < boundary) {
            // Keep the last sample's value known for in-order checks by
            // leaving an empty open chunk; the next append starts a new one.
            self.open = XorChunk::new();
        }
        if self
            .hist_open
            .as_ref()
            .is_some_and(|h| h.last_t().is_some_and(|l| l < boundary))
        {
            self.hist_open = None;
        }
        self.ooo.retain(|s| s.t >= boundary);
    }

    pub fn memory_bytes(&self) -> usize {
        self.closed
            .iter()
            .map(|c| {
                std::mem::size_of::<ClosedChunk>()
                    + match &c.data {
                        ChunkData::Mem(b) => b.len(),
                        ChunkData::Spilled { .. } => 0,
                    }
            })
            .sum::<usize>()
            + self.open.size_bytes()
            + self.hist_open.as_ref().map_or(0, |h| h.size_bytes())
            + self.ooo.capacity() * std::mem::size_of::<Sample>()
    }

    /// Every sample of the series as checkpoint chunks.
    fn checkpoint_chunks(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut v: Vec<Vec<u8>> = self
            .chunks()
            .filter(|c| c.first_t().is_some())
            .map(|c| c.load().map(Cow::into_owned))
            .collect::<io::Result<_>>()?;
        for part in self.ooo.chunks(SAMPLES_PER_CHUNK) {
            let mut c = XorChunk::new();
            for s in part {
                c.append(s.t, s.v);
            }
            v.push(c.into_bytes());
        }
        Ok(v)
    }
}

struct HeadIndex {
    /// Label hash → series; a second series with the same hash (a 64-bit
    /// collision, practically never) goes to `collisions`.
    by_hash: HashMap<u64, (SeriesId, Arc<HeadSeries>), FastBuild>,
    collisions: HashMap<u64, Vec<(SeriesId, Arc<HeadSeries>)>, FastBuild>,
    series: HashMap<SeriesId, Arc<HeadSeries>, FastBuild>,
    postings: PostingsIndex,
    next_id: SeriesId,
}

/// The head of one tenant's TSDB.
pub struct Head {
    index: RwLock<HeadIndex>,
    block_ms: i64,
    ooo_window_ms: i64,
    /// Samples older than this are out of bounds (they belong to sealed blocks).
    min_valid_t: AtomicI64,
    /// Incremented after each [`Head::truncate_before`].
    truncations: std::sync::atomic::AtomicU64,
    min_t: AtomicI64,
    max_t: AtomicI64,
    /// Where closed chunks are moved out of memory (none in unit tests).
    spill: Option<SpillFiles>,
}

/// A series handle returned by [`Head::get_or_create`].
pub struct SeriesHandle {
    pub id: SeriesId,
    pub created: bool,
    series: Arc<HeadSeries>,
}

impl SeriesHandle {
    /// Does the WAL still need a series record for this series?
    pub fn needs_logging(&self) -> bool {
        !self.series.logged.load(Ordering::Acquire)
    }

    pub fn mark_logged(&self) {
        self.series.logged.store(true, Ordering::Release);
    }

    pub fn labels(&self) -> Labels {
        self.series.labels()
    }
}

/// A chunk-level copy of the head's data before a boundary, for a block.
pub struct HeadCut {
    pub series: Vec<(Labels, Vec<Vec<u8>>)>,
}

impl Head {
    pub fn new(block_ms: i64, ooo_window_ms: i64) -> Self {
        Head {
            index: RwLock::new(HeadIndex {
                by_hash: HashMap::default(),
                collisions: HashMap::default(),
                series: HashMap::default(),
                postings: PostingsIndex::default(),
                next_id: 1,
            }),
            block_ms,
            ooo_window_ms,
            min_valid_t: AtomicI64::new(i64::MIN),
            truncations: std::sync::atomic::AtomicU64::new(0),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            spill: None,
        }
    }

    /// Spills closed chunks to these files on [`Head::spill`].
    pub fn with_spill(mut self, spill: SpillFiles) -> Self {
        self.spill = Some(spill);
        self
    }

    pub fn spill_disk_bytes(&self) -> u64 {
        self.spill.as_ref().map(|s| s.disk_bytes()).unwrap_or(0)
    }

    /// Moves the bytes of closed chunks still in memory to the spill files,
    /// a batch of series at a time (one write per window per batch). Returns
    /// the number of chunks moved.
    pub fn spill(&self) -> io::Result<usize> {
        let Some(spill) = &self.spill else {
            return Ok(0);
        };
        let handles: Vec<Arc<HeadSeries>> = self.index.read().series.values().cloned().collect();
        let mut moved = 0;
        for batch in handles.chunks(10_000) {
            // (series in batch, chunk index, chunk first_t, window, offset in buffer, len)
            let mut refs: Vec<(usize, usize, i64, i64, u64, u32)> = Vec::new();
            let mut bufs: BTreeMap<i64, Vec<u8>> = BTreeMap::new();
            for (bi, h) in batch.iter().enumerate() {
                let s = h.data.lock();
                for (ci, c) in s.closed.iter().enumerate() {
                    if let ChunkData::Mem(b) = &c.data {
                        let w = spill.window_of(c.first_t);
                        let buf = bufs.entry(w).or_default();
                        refs.push((bi, ci, c.first_t, w, buf.len() as u64, b.len() as u32));
                        buf.extend_from_slice(b);
                    }
                }
            }
            let mut placed: HashMap<i64, (Arc<SpillFile>, u64)> = HashMap::new();
            for (w, buf) in &bufs {
                placed.insert(*w, spill.append(*w, buf)?);
            }
            for (bi, ci, first_t, w, off, len) in refs {
                let Some((file, base)) = placed.get(&w) else {
                    continue;
                };
                let mut s = batch[bi].data.lock();
                // Chunks are only appended while spilling runs (truncation
                // shares the maintenance thread), so the index still holds;
                // the first_t check makes sure.
                if let Some(c) = s.closed.get_mut(ci) {
                    if c.first_t == first_t && matches!(c.data, ChunkData::Mem(_)) {
                        c.data = ChunkData::Spilled {
                            file: file.clone(),
                            offset: base + off,
                            len,
                        };
                        moved += 1;
                    }
                }
            }
        }
        Ok(moved)
    }

    pub fn num_series(&self) -> usize {
        self.index.read().series.len()
    }

    pub fn min_t(&self) -> i64 {
        self.min_t.load(Ordering::Relaxed)
    }

    pub fn max_t(&self) -> i64 {
        self.max_t.load(Ordering::Relaxed)
    }

    pub fn min_valid_t(&self) -> i64 {
        self.min_valid_t.load(Ordering::Relaxed)
    }

    pub fn set_min_valid_t(&self, t: i64) {
        self.min_valid_t.fetch_max(t, Ordering::SeqCst);
    }

    /// The oldest timestamp a new in-order sample may have: not inside a
    /// sealed block, and (as Prometheus) not more than half a block behind
    /// the head's newest sample unless an out-of-order window allows it.
    pub fn appendable_min_t(&self) -> i64 {
        let max = self.max_t();
        let by_head = if max == i64::MIN {
            i64::MIN
        } else {
            max.saturating_sub((self.block_ms / 2).max(self.ooo_window_ms))
        };
        self.min_valid_t().max(by_head)
    }

    /// Finds the series with these labels, creating it (with a new id) if
    /// absent. `limit` caps the number of series (0 = none); over the cap
    /// `None` is returned for new series.
    pub fn get_or_create(&self, labels: &SeriesLabels<'_>, limit: u64) -> Option<SeriesHandle> {
        self.get_or_create_many(&[labels], limit).pop().flatten()
    }

    /// [`Head::get_or_create`] for a whole request: one shared lock for all
    /// lookups, one exclusive lock only if some series are new.
    pub fn get_or_create_many(
        &self,
        all: &[&SeriesLabels<'_>],
        limit: u64,
    ) -> Vec<Option<SeriesHandle>> {
        let hashes: Vec<u64> = all.iter().map(|l| l.hash64()).collect();
        let mut out: Vec<Option<SeriesHandle>> = {
            let idx = self.index.read();
            all.iter()
                .zip(&hashes)
                .map(|(l, h)| lookup(&idx, *h, l))
                .collect()
        };
        if out.iter().all(|o| o.is_some()) {
            return out;
        }
        let mut idx = self.index.write();
        for ((slot, l), h) in out.iter_mut().zip(all).zip(&hashes) {
            if slot.is_some() {
                continue;
            }
            if let Some(found) = lookup(&idx, *h, l) {
                *slot = Some(found);
                continue;
            }
            if limit > 0 && idx.series.len() as u64 >= limit {
                continue;
            }
            let mut id = idx.next_id;
            while id == 0 || idx.series.contains_key(&id) {
                id = id.wrapping_add(1);
            }
            idx.next_id = id.wrapping_add(1);
            *slot = Some(insert(&mut idx, id, l.to_labels(), *h));
        }
        out
    }

    /// Re-creates a series under a known id (WAL replay).
    pub fn create_with_id(&self, id: SeriesId, labels: Labels) {
        let h = labels.hash64();
        let mut idx = self.index.write();
        if idx.series.contains_key(&id) {
            return;
        }
        if id >= idx.next_id {
            idx.next_id = id.wrapping_add(1);
        }
        let handle = insert(&mut idx, id, labels, h);
        handle.mark_logged();
    }

    /// The id of the series with exactly these labels, if it is in the head.
    pub fn id_of(&self, labels: &Labels) -> Option<SeriesId> {
        let idx = self.index.read();
        lookup(&idx, labels.hash64(), &SeriesLabels::Owned(labels.clone())).map(|h| h.id)
    }

    /// Forgets the reservations of judged samples that were never applied
    /// (their WAL write failed).
    pub fn release(&self, handle: &SeriesHandle) {
        handle.series.data.lock().reserved = None;
    }

    pub fn series_by_id(&self, id: SeriesId) -> Option<SeriesHandle> {
        let idx = self.index.read();
        idx.series.get(&id).map(|s| SeriesHandle {
            id,
            created: false,
            series: s.clone(),
        })
    }

    /// Judges each sample of one incoming series, in order, without storing.
    pub fn judge(&self, handle: &SeriesHandle, samples: &[Sample]) -> Vec<Verdict> {
        let mut out = Vec::with_capacity(samples.len());
        self.judge_each(handle, samples, i64::MAX, |_, v| out.push(v));
        out
    }

    /// Calls `f(index, verdict)` for each sample in order, without storing;
    /// samples after `max_t` are refused as too far in the future. Accepted
    /// samples are reserved until applied or released.
    pub fn judge_each(
        &self,
        handle: &SeriesHandle,
        samples: &[Sample],
        max_t: i64,
        mut f: impl FnMut(usize, Verdict),
    ) {
        let min_t = self.appendable_min_t();
        let mut s = handle.series.data.lock();
        let mut last = match (s.last(), s.reserved) {
            (Some(a), Some(r)) if r.0 > a.0 => Some(r),
            (a, r) => a.or(r),
        };
        let mut reserve = None;
        for (i, smp) in samples.iter().enumerate() {
            let v = match s.verdict(*smp, last, self.ooo_window_ms) {
                Verdict::Append if smp.t < min_t => Verdict::Reject(SampleRejection::OutOfBounds),
                Verdict::Append if smp.t > max_t => {
                    Verdict::Reject(SampleRejection::TooFarInFuture)
                }
                v => v,
            };
            if v == Verdict::Append && last.is_none_or(|(lt, _)| smp.t > lt) {
                last = Some((smp.t, smp.v));
                reserve = last;
            }
            f(i, v);
        }
        if reserve.is_some() {
            s.reserved = reserve;
        }
    }

    /// Stores samples already judged `Append` (also used by WAL replay, where
    /// samples that would be rejected now are skipped).
    pub fn append(&self, handle: &SeriesHandle, samples: &[Sample]) -> usize {
        let mut s = handle.series.data.lock();
        let min_valid = self.min_valid_t();
        let mut n = 0;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for smp in samples {
            if smp.t < min_valid {
                continue;
            }
            if let Some((lt, _)) = s.last() {
                if smp.t == lt {
                    // Same timestamp: an exact repeat, or a conflict the
                    // judge already refused; never a second value.
                    continue;
                }
                if smp.t < lt && (self.ooo_window_ms == 0 || s.sample_at(smp.t).is_some()) {
                    continue;
                }
            }
            s.append(*smp, self.block_ms);
            lo = lo.min(smp.t);
            hi = hi.max(smp.t);
            n += 1;
        }
        self.applied(s, n, lo, hi)
    }

    /// Calls `f(index, verdict)` for each histogram sample in order, as
    /// [`Head::judge_each`] does for floats. Histograms are in-order only:
    /// one at or before the newest stored sample is a duplicate (if equal to
    /// the histogram stored there) or refused.
    pub fn judge_histograms(
        &self,
        handle: &SeriesHandle,
        samples: &[HistogramSample],
        max_t: i64,
        mut f: impl FnMut(usize, Verdict),
    ) {
        let min_t = self.appendable_min_t();
        let mut s = handle.series.data.lock();
        let mut last_t = match (s.last(), s.reserved) {
            (Some(a), Some(r)) => Some(a.0.max(r.0)),
            (a, r) => a.or(r).map(|x| x.0),
        };
        let mut prev_in_request: Option<&HistogramSample> = None;
        let mut reserve = None;
        for (i, smp) in samples.iter().enumerate() {
            let v = match last_t {
                Some(lt) if smp.t == lt => {
                    let same = match prev_in_request {
                        Some(p) if p.t == lt => p.h == smp.h,
                        _ => s.last_hist_at(lt).is_some_and(|h| *h == *smp.h),
                    };
                    if same {
                        Verdict::Duplicate
                    } else {
                        Verdict::Reject(SampleRejection::DuplicateTimestamp)
                    }
                }
                Some(lt) if smp.t < lt => Verdict::Reject(SampleRejection::OutOfOrder),
                _ if smp.t < min_t => Verdict::Reject(SampleRejection::OutOfBounds),
                _ if smp.t > max_t => Verdict::Reject(SampleRejection::TooFarInFuture),
                _ => Verdict::Append,
            };
            if v == Verdict::Append {
                last_t = Some(smp.t);
                prev_in_request = Some(smp);
                reserve = Some((smp.t, f64::from_bits(HIST_LAST_BITS)));
            }
            f(i, v);
        }
        if reserve.is_some() {
            s.reserved = reserve;
        }
    }

    /// Stores histogram samples already judged `Append` (also WAL replay,
    /// where samples that would be refused now are skipped).
    pub fn append_histograms(&self, handle: &SeriesHandle, samples: &[HistogramSample]) -> usize {
        let mut s = handle.series.data.lock();
        let min_valid = self.min_valid_t();
        let mut n = 0;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for smp in samples {
            if smp.t < min_valid || s.last().is_some_and(|(lt, _)| smp.t <= lt) {
                continue;
            }
            s.append_hist(smp.t, &smp.h, self.block_ms);
            lo = lo.min(smp.t);
            hi = hi.max(smp.t);
            n += 1;
        }
        self.applied(s, n, lo, hi)
    }

    /// Matching series as (labels, handle), for reading their samples
    /// later with [`HeadSeries::samples_in`].
    pub fn select_refs(&self, matchers: &[Matcher]) -> Vec<(Labels, Arc<HeadSeries>)> {
        let idx = self.index.read();
        idx.postings
            .select(matchers)
            .into_iter()
            .filter_map(|id| idx.series.get(&id).map(|h| (h.labels(), h.clone())))
            .collect()
    }

    /// How many times the head let go of sealed data; a reader holding
    /// series references compares it to know whether data moved to blocks.
    pub fn truncations(&self) -> u64 {
        self.truncations.load(Ordering::Acquire)
    }

    /// Bookkeeping after `n` samples in `[lo, hi]` were applied to a series:
    /// its reservation is released once applied, the head's bounds grow.
    fn applied(
        &self,
        mut s: parking_lot::MutexGuard<'_, MemSeries>,
        n: usize,
        lo: i64,
        hi: i64,
    ) -> usize {
        if s.reserved
            .is_some_and(|(rt, _)| s.last().is_some_and(|(lt, _)| lt >= rt))
        {
            s.reserved = None;
        }
        drop(s);
        if n > 0 {
            self.min_t.fetch_min(lo, Ordering::Relaxed);
            self.max_t.fetch_max(hi, Ordering::Relaxed);
        }
        n
    }

    /// Series matching the matchers with their samples in `[mint, maxt]`.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> io::Result<Vec<Series>> {
        let handles: Vec<Arc<HeadSeries>> = {
            let idx = self.index.read();
            idx.postings
                .select(matchers)
                .into_iter()
                .filter_map(|id| idx.series.get(&id).cloned())
                .collect()
        };
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            let (samples, histograms) = {
                let s = h.data.lock();
                (s.samples_in(mint, maxt)?, s.histograms_in(mint, maxt)?)
            };
            if !samples.is_empty() || !histograms.is_empty() {
                out.push(Series {
                    labels: h.labels(),
                    samples,
                    histograms,
                });
            }
        }
        Ok(out)
    }

    /// Label sets of series matching the matchers that have data in the range.
    pub fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let handles: Vec<Arc<HeadSeries>> = {
            let idx = self.index.read();
            idx.postings
                .select(matchers)
                .into_iter()
                .filter_map(|id| idx.series.get(&id).cloned())
                .collect()
        };
        handles
            .into_iter()
            .filter_map(|h| {
                let s = h.data.lock();
                let overlaps = s.min_t().is_some_and(|lo| lo <= maxt)
                    && s.last().is_some_and(|(hi, _)| hi >= mint)
                    || s.ooo.iter().any(|x| x.t >= mint && x.t <= maxt);
                overlaps.then(|| h.labels())
            })
            .collect()
    }

    /// Copies every chunk that ends before `boundary` (the head keeps them
    /// until [`Head::truncate_before`]).
    pub fn cut_before(&self, boundary: i64) -> io::Result<HeadCut> {
        let handles: Vec<Arc<HeadSeries>> = self.index.read().series.values().cloned().collect();
        let mut series: Vec<(Labels, Vec<Vec<u8>>)> = Vec::new();
        for h in handles {
            let chunks = h.data.lock().chunks_before(boundary)?;
            if !chunks.is_empty() {
                series.push((h.labels(), chunks));
            }
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(HeadCut { series })
    }

    /// Drops data before `boundary` and garbage-collects series left empty.
    pub fn truncate_before(&self, boundary: i64) {
        self.set_min_valid_t(boundary);
        if let Some(spill) = &self.spill {
            spill.drop_before(boundary);
        }
        let mut idx = self.index.write();
        let mut dead = Vec::new();
        let mut new_min = i64::MAX;
        for (id, h) in idx.series.iter() {
            let mut s = h.data.lock();
            s.truncate_before(boundary);
            if s.is_empty() {
                dead.push(*id);
            } else if let Some(m) = s.min_t() {
                new_min = new_min.min(m);
            }
        }
        if !dead.is_empty() {
            for id in &dead {
                if let Some(h) = idx.series.remove(id) {
                    unlink_hash(&mut idx, h.key.hash64(), *id);
                }
            }
            let dead: std::collections::HashSet<SeriesId> = dead.into_iter().collect();
            idx.postings.remove_ids(&dead);
        }
        self.min_t.store(new_min, Ordering::Relaxed);
        self.truncations.fetch_add(1, Ordering::AcqRel);
    }

    /// Every series with its id, sorted by id (for checkpoints, which then
    /// read one series' chunks at a time).
    pub fn checkpoint_series(&self) -> Vec<(SeriesId, Arc<HeadSeries>)> {
        let mut v: Vec<(SeriesId, Arc<HeadSeries>)> = self
            .index
            .read()
            .series
            .iter()
            .map(|(id, h)| (*id, h.clone()))
            .collect();
        v.sort_by_key(|x| x.0);
        v
    }

    /// Loads a checkpoint chunk into a series (WAL replay).
    pub fn load_chunk(&self, id: SeriesId, data: &[u8]) -> Result<usize, String> {
        let Some(handle) = self.series_by_id(id) else {
            return Err(format!("chunk for unknown series {id}"));
        };
        if hist_chunk::is_hist_chunk(data) {
            let hists: Vec<HistogramSample> = hist_chunk::decode(data)
                .map_err(|e| e.to_string())?
                .collect();
            return Ok(self.append_histograms(&handle, &hists));
        }
        let it = chunk::decode(data).map_err(|e| e.to_string())?;
        let samples: Vec<Sample> = it.map(|(t, v)| Sample::new(t, v)).collect();
        Ok(self.append(&handle, &samples))
    }

    /// Label names and values for the API (label names/values endpoints).
    /// Values of one label among the head's series.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.index
            .read()
            .postings
            .values(name)
            .map(str::to_string)
            .collect()
    }

    pub fn label_names(&self) -> Vec<String> {
        self.index
            .read()
            .postings
            .names()
            .into_iter()
            .map(|s| s.to_string())
            .collect()
    }

    /// Cardinality statistics for `/api/v1/status/tsdb`, top `limit` per list.
    pub fn stats(&self, limit: usize) -> TsdbStats {
        let idx = self.index.read();
        let p = &idx.postings;
        let top = |mut v: Vec<(String, u64)>| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        let names = p.names();
        let mut pairs = Vec::new();
        let mut value_counts = Vec::new();
        let mut memory = Vec::new();
        let mut num_label_pairs = 0u64;
        for n in &names {
            let mut bytes = 0u64;
            let mut count = 0u64;
            for v in p.values(n) {
                let c = p.get(n, v).len() as u64;
                bytes += (v.len() as u64) * c;
                count += 1;
                pairs.push((format!("{n}={v}"), c));
            }
            num_label_pairs += count;
            value_counts.push((n.to_string(), count));
            memory.push((n.to_string(), bytes));
        }
        let by_metric: Vec<(String, u64)> = p
            .values("__name__")
            .map(|v| (v.to_string(), p.get("__name__", v).len() as u64))
            .collect();
        let chunk_count = idx
            .series
            .values()
            .map(|h| {
                let s = h.data.lock();
                (s.closed.len() + usize::from(s.open.num_samples() > 0)) as u64
            })
            .sum();
        TsdbStats {
            num_series: idx.series.len() as u64,
            num_label_pairs,
            chunk_count,
            min_t: self.min_t(),
            max_t: self.max_t(),
            series_count_by_metric_name: top(by_metric),
            label_value_count_by_label_name: top(value_counts),
            memory_in_bytes_by_label_name: top(memory),
            series_count_by_label_value_pair: top(pairs),
        }
    }

    pub fn memory_bytes(&self) -> usize {
        let idx = self.index.read();
        idx.series
            .values()
            .map(|h| h.data.lock().memory_bytes() + h.key.size_bytes() + 64)
            .sum()
    }
}

fn lookup(idx: &HeadIndex, h: u64, labels: &SeriesLabels<'_>) -> Option<SeriesHandle> {
    let handle = |(id, s): &(SeriesId, Arc<HeadSeries>)| {
        labels.matches_key(&s.key).then(|| SeriesHandle {
            id: *id,
            created: false,
            series: s.clone(),
        })
    };
    if let Some(found) = idx.by_hash.get(&h).and_then(handle) {
        return Some(found);
    }
    idx.collisions.get(&h)?.iter().find_map(handle)
}

fn unlink_hash(idx: &mut HeadIndex, h: u64, id: SeriesId) {
    if let Some(v) = idx.collisions.get_mut(&h) {
        v.retain(|(x, _)| *x != id);
        if idx.by_hash.get(&h).is_some_and(|(x, _)| *x == id) {
            match v.pop() {
                Some(promoted) => {
                    idx.by_hash.insert(h, promoted);
                }
                None => {
                    idx.by_hash.remove(&h);
                }
            }
        }
        if v.is_empty() {
            idx.collisions.remove(&h);
        }
    } else if idx.by_hash.get(&h).is_some_and(|(x, _)| *x == id) {
        idx.by_hash.remove(&h);
    }
}

/// Hasher for keys that are already hashes or small ids.
#[derive(Default)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
    fn write_u32(&mut self, v: u32) {
        self.0 = (v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type FastBuild = std::hash::BuildHasherDefault<FastHasher>;

fn insert(idx: &mut HeadIndex, id: SeriesId, labels: Labels, h: u64) -> SeriesHandle {
    idx.postings.add(id, &labels);
    let s = Arc::new(HeadSeries {
        key: LabelKey::from_labels(&labels),
        logged: AtomicBool::new(false),
        data: Mutex::new(MemSeries::new()),
    });
    idx.series.insert(id, s.clone());
    match idx.by_hash.entry(h) {
        std::collections::hash_map::Entry::Occupied(_) => {
            idx.collisions.entry(h).or_default().push((id, s.clone()));
        }
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert((id, s.clone()));
        }
    }
    SeriesHandle {
        id,
        created: true,
        series: s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchOp;

    fn lbl(job: &str) -> Labels {
        Labels::from_pairs([("__name__", "up"), ("job", job)])
    }

    #[test]
    fn append_select_and_verdicts() {
        let head = Head::new(7_200_000, 0);
        let h = head
            .get_or_create(&SeriesLabels::from(lbl("a")), 0)
            .unwrap();
        assert!(h.created);
        let samples: Vec<Sample> = (0..300)
            .map(|i| Sample::new(i * 15_000, i as f64))
            .collect();
        assert!(head
            .judge(&h, &samples)
            .iter()
            .all(|v| *v == Verdict::Append));
        assert_eq!(head.append(&h, &samples), 300);
        let again = head
            .get_or_create(&SeriesLabels::from(lbl("a")), 0)
            .unwrap();
        assert!(!again.created);
        assert_eq!(again.id, h.id);
        let v = head.judge(
            &h,
            &[
                Sample::new(0, 5.0),
                Sample::new(299 * 15_000, 299.0),
                Sample::new(299 * 15_000, 1.0),
            ],
        );
        assert_eq!(
            v,
            vec![
                Verdict::Reject(SampleRejection::OutOfOrder),
                Verdict::Duplicate,
                Verdict::Reject(SampleRejection::DuplicateTimestamp)
            ]
        );
        let m = Matcher::new(MatchOp::Equal, "job", "a").unwrap();
        let got = head.select(&[m], 15_000, 30_000).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].samples,
            vec![Sample::new(15_000, 1.0), Sample::new(30_000, 2.0)]
        );
    }

    #[test]
    fn out_of_order_window() {
        let head = Head::new(7_200_000, 600_000);
        let h = head
            .get_or_create(&SeriesLabels::from(lbl("a")), 0)
            .unwrap();
        head.append(&h, &[Sample::new(1_000_000, 1.0)]);
        let v = head.judge(&h, &[Sample::new(500_000, 2.0), Sample::new(100_000, 3.0)]);
        assert_eq!(v[0], Verdict::Append);
        assert_eq!(v[1], Verdict::Reject(SampleRejection::OutOfOrder));
        head.append(&h, &[Sample::new(500_000, 2.0)]);
        let all = Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap();
        let got = head.select(&[all], 0, 2_000_000).unwrap();
        assert_eq!(
            got[0].samples,
            vec![Sample::new(500_000, 2.0), Sample::new(1_000_000, 1.0)]
        );
    }

    #[test]
    fn cut_truncate_and_gc() {
        let block = 7_200_000;
        let head = Head::new(block, 0);
        let a = head
            .get_or_create(&SeriesLabels::from(lbl("a")), 0)
            .unwrap();
        let b = head
            .get_or_create(&SeriesLabels::from(lbl("b")), 0)
            .unwrap();
        let samples: Vec<Sample> = (0..1000).map(|i| Sample::new(i * 15_000, 1.0)).collect();
        head.append(&a, &samples);
        head.append(&b, &samples[..100]);
        let cut = head.cut_before(block).unwrap();
        assert_eq!(cut.series.len(), 2);
        let n: usize = cut.series[0]
            .1
            .iter()
            .map(|c| chunk::decode(c).map(|it| it.count()).unwrap_or(0))
            .sum();
        assert_eq!(n, 480);
        head.truncate_before(block);
        assert_eq!(head.num_series(), 1, "series b had only old data");
        assert_eq!(head.min_t(), block);
        let all = Matcher::new(MatchOp::NotEqual, "__name__", "").unwrap();
        let left = head.select(&[all], 0, i64::MAX).unwrap();
        assert_eq!(left[0].samples.len(), 520);
        assert_eq!(
            head.judge(&a, &[Sample::new(block - 1, 0.0)])[0],
            Verdict::Reject(SampleRejection::OutOfOrder)
        );
    }

    #[test]
    fn hash_collisions_keep_series_apart() {
        let head = Head::new(7_200_000, 0);
        let mut idx = head.index.write();
        let (a, b) = (lbl("a"), lbl("b"));
        insert(&mut idx, 1, a.clone(), 42);
        insert(&mut idx, 2, b.clone(), 42);
        let find = |idx: &HeadIndex, l: &Labels| {
            lookup(idx, 42, &SeriesLabels::from(l.clone())).map(|h| h.id)
        };
        assert_eq!(find(&idx, &a), Some(1));
        assert_eq!(find(&idx, &b), Some(2));
        assert_eq!(find(&idx, &lbl("c")), None);
        unlink_hash(&mut idx, 42, 1);
        assert_eq!(find(&idx, &a), None);
        assert_eq!(find(&idx, &b), Some(2), "the colliding series was promoted");
        unlink_hash(&mut idx, 42, 2);
        assert!(idx.by_hash.is_empty() && idx.collisions.is_empty());
    }

    #[test]
    fn series_limit() {
        let head = Head::new(7_200_000, 0);
        assert!(head
            .get_or_create(&SeriesLabels::from(lbl("a")), 1)
            .is_some());
        assert!(head
            .get_or_create(&SeriesLabels::from(lbl("a")), 1)
            .is_some());
        assert!(head
            .get_or_create(&SeriesLabels::from(lbl("b")), 1)
            .is_none());
    }
}
