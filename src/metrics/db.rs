//! One tenant's TSDB: WAL + head + sealed blocks, tied together. Writes go
//! WAL first (group commit, fsync per policy), then into the head; queries
//! merge blocks and head; maintenance seals the head into blocks, compacts
//! blocks upward, truncates the WAL with a checkpoint and applies retention.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use crate::metrics::block::{write_block, Block};
use crate::metrics::exemplars::{Exemplar, ExemplarStore, SeriesExemplars};
use crate::metrics::head::{Head, HeadSeries, Verdict};
use crate::metrics::head_spill::SpillFiles;
use crate::metrics::walrec::{self, ExemplarRecord, MetricMetadata, Record, SeriesId};
use crate::model::labels::SeriesLabels;
use crate::model::{HistogramSample, Labels, Matcher, Sample};
use crate::promql::source::{SampleSource, Series, SourceError};
use crate::storage::clock::Clock;
use crate::storage::fsutil;
use crate::storage::wal::{ReplayStats, Wal, WalOptions};

/// Settings of one tenant's TSDB.
#[derive(Clone)]
pub struct DbOptions {
    pub block_ms: i64,
    pub ooo_window_ms: i64,
    pub retention_ms: i64,
    pub max_exemplars: usize,
    pub max_series: u64,
    /// How far past the clock a sample may be (later ones are refused, so
    /// one client with a wrong clock cannot push the head into the future).
    pub future_grace_ms: i64,
    pub wal: WalOptions,
}

impl Default for DbOptions {
    /// 2 h blocks, in-order only, no retention, no limits, default WAL.
    fn default() -> Self {
        DbOptions {
            block_ms: 7_200_000,
            ooo_window_ms: 0,
            retention_ms: i64::MAX,
            max_exemplars: 0,
            max_series: 0,
            future_grace_ms: 10 * 60 * 1000,
            wal: WalOptions::default(),
        }
    }
}

/// One incoming series of a write request, already validated for labels.
#[derive(Clone, Debug, Default)]
pub struct IncomingSeries<'a> {
    pub labels: SeriesLabels<'a>,
    pub samples: Vec<Sample>,
    pub exemplars: Vec<Exemplar>,
    /// Native histogram samples, sorted by timestamp.
    pub histograms: Vec<HistogramSample>,
    /// The series' created (start) timestamp, when the sender knows it: a
    /// zero sample is stored there if the series has nothing newer yet, so
    /// `rate` sees the counter start (Prometheus' created-timestamp zero ingestion).
    pub created_t: Option<i64>,
}

/// What a write did. Rejections are per sample; the valid rest is stored.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// Float and histogram samples stored (or acknowledged as duplicates).
    pub samples_written: u64,
    /// Of those, histogram samples.
    pub histograms_written: u64,
    pub exemplars_written: u64,
    pub new_series: u64,
    pub rejected_samples: u64,
    /// The first few rejection messages, each naming its series.
    pub errors: Vec<String>,
}

const MAX_ERROR_MESSAGES: usize = 10;

/// Result of a maintenance pass.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub blocks_sealed: usize,
    pub blocks_compacted: usize,
    pub blocks_deleted: usize,
}

pub struct Db {
    pub tenant: String,
    dir: PathBuf,
    opts: DbOptions,
    head: Head,
    wal: Wal,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Appenders hold it shared; sealing takes it exclusively for the moment
    /// it rotates the WAL and fixes the boundary.
    gate: RwLock<()>,
    metadata: RwLock<BTreeMap<String, MetricMetadata>>,
    exemplars: Mutex<ExemplarStore>,
    maintenance: Mutex<()>,
    clock: Arc<dyn Clock>,
    block_seq: AtomicU64,
    pub replay: ReplayStats,
}

impl Db {
    /// Opens (or creates) a tenant's TSDB in `dir`, loading blocks and
    /// replaying the WAL into the head.
    pub fn open(
        tenant: &str,
        dir: &Path,
        opts: DbOptions,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Db> {
        let blocks_dir = dir.join("blocks");
        fs::create_dir_all(&blocks_dir)?;
        let blocks = open_blocks(&blocks_dir)?;
        let head = Head::new(opts.block_ms, opts.ooo_window_ms)
            .with_spill(SpillFiles::open(&dir.join("head_chunks"), opts.block_ms)?);
        if let Some(max) = blocks.iter().map(|b| b.meta.max_t).max() {
            head.set_min_valid_t(max);
        }
        let metadata = RwLock::new(BTreeMap::new());
        let exemplars = Mutex::new(ExemplarStore::new(opts.max_exemplars));
        let (wal, replay) = Wal::open(&dir.join("wal"), opts.wal.clone(), |rec| {
            replay_record(&head, &metadata, &exemplars, rec)
        })?;
        // Replay rebuilt the head in memory; move its closed chunks out now.
        head.spill()?;
        tracing::info!(
            tenant,
            series = head.num_series(),
            blocks = blocks.len(),
            records = replay.records,
            "metrics store opened"
        );
        Ok(Db {
            tenant: tenant.to_string(),
            dir: dir.to_path_buf(),
            opts,
            head,
            wal,
            blocks: RwLock::new(blocks),
            gate: RwLock::new(()),
            metadata,
            exemplars,
            maintenance: Mutex::new(()),
            clock,
            block_seq: AtomicU64::new(0),
            replay,
        })
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.blocks.read().clone()
    }

    /// Validates samples against the head, writes the accepted ones to the
    /// WAL (durably, per the fsync policy) and then makes them visible.
    /// Returns an I/O error only for storage faults (the caller answers 5xx).
    pub fn write(
        &self,
        series: &[IncomingSeries<'_>],
        metadata: &[MetricMetadata],
    ) -> io::Result<WriteOutcome> {
        let _gate = self.gate.read();
        let mut out = WriteOutcome::default();
        // Series whose WAL series record must go with this request: new
        // ones, and any whose record has not been written successfully yet.
        let mut to_log: Vec<(SeriesId, Labels)> = Vec::new();
        let max_t = self
            .clock
            .now_ms()
            .saturating_add(self.opts.future_grace_ms);
        let labels: Vec<&SeriesLabels<'_>> = series.iter().map(|s| &s.labels).collect();
        let handles = self.head.get_or_create_many(&labels, self.opts.max_series);
        // Accepted samples of all series, flat: (series index, sample).
        let mut keep: Vec<(usize, Sample)> = Vec::with_capacity(series.len());
        let mut wal_samples: Vec<(SeriesId, i64, f64)> = Vec::with_capacity(series.len());
        // Accepted histogram samples: (series index, index in its histograms).
        let mut keep_hist: Vec<(usize, usize)> = Vec::new();
        for (i, (s, handle)) in series.iter().zip(&handles).enumerate() {
            let Some(handle) = handle else {
                out.rejected_samples += (s.samples.len() + s.histograms.len()) as u64;
                push_error(
                    &mut out.errors,
                    format!(
                        "per-tenant series limit of {} exceeded, series {} dropped",
                        self.opts.max_series, s.labels
                    ),
                );
                continue;
            };
            if handle.created {
                out.new_series += 1;
            }
            if handle.needs_logging() {
                to_log.push((handle.id, handle.labels()));
            }
            if let (Some(ct), Some(first)) = (s.created_t, s.samples.first()) {
                let zero = Sample::new(ct, 0.0);
                if ct < first.t && self.head.judge(handle, &[zero]) == [Verdict::Append] {
                    keep.push((i, zero));
                    wal_samples.push((handle.id, ct, 0.0));
                }
            }
            self.head.judge_each(handle, &s.samples, max_t, |j, v| {
                let smp = s.samples[j];
                match v {
                    Verdict::Append => {
                        keep.push((i, smp));
                        wal_samples.push((handle.id, smp.t, smp.v));
                    }
                    Verdict::Duplicate => out.samples_written += 1,
                    Verdict::Reject(r) => {
                        out.rejected_samples += 1;
                        push_error(
                            &mut out.errors,
                            format!(
                                "{} for series {}: timestamp {}",
                                r.message(),
                                s.labels,
                                smp.t
                            ),
                        );
                    }
                }
            });
            if s.histograms.is_empty() {
                continue;
            }
            self.head
                .judge_histograms(handle, &s.histograms, max_t, |j, v| match v {
                    Verdict::Append => keep_hist.push((i, j)),
                    Verdict::Duplicate => {
                        out.samples_written += 1;
                        out.histograms_written += 1;
                    }
                    Verdict::Reject(r) => {
                        out.rejected_samples += 1;
                        push_error(
                            &mut out.errors,
                            format!(
                                "{} for histogram series {}: timestamp {}",
                                r.message(),
                                s.labels,
                                s.histograms[j].t
                            ),
                        );
                    }
                });
        }
        let exemplar_recs: Vec<ExemplarRecord> = series
            .iter()
            .zip(&handles)
            .filter_map(|(s, h)| h.as_ref().map(|h| (s, h)))
            .flat_map(|(s, h)| {
                s.exemplars.iter().map(|e| ExemplarRecord {
                    series: h.id,
                    labels: e.labels.clone(),
                    value: e.value,
                    t: e.t,
                })
            })
            .collect();
        let mut records: Vec<Vec<u8>> = Vec::with_capacity(4);
        if !to_log.is_empty() {
            let refs: Vec<(SeriesId, &Labels)> = to_log.iter().map(|(id, l)| (*id, l)).collect();
            records.push(walrec::encode_series(&refs));
        }
        if !wal_samples.is_empty() {
            records.push(walrec::encode_samples(&wal_samples));
        }
        if !keep_hist.is_empty() {
            let hs: Vec<(SeriesId, &HistogramSample)> = keep_hist
                .iter()
                .filter_map(|&(i, j)| Some((handles[i].as_ref()?.id, &series[i].histograms[j])))
                .collect();
            records.push(walrec::encode_histograms(&hs));
        }
        if !metadata.is_empty() {
            records.push(walrec::encode_metadata(metadata));
        }
        if !exemplar_recs.is_empty() {
            records.push(walrec::encode_exemplars(&exemplar_recs));
        }
        if !records.is_empty() {
            let refs: Vec<&[u8]> = records.iter().map(|r| r.as_slice()).collect();
            if let Err(e) = self.wal.append(&refs) {
                for h in handles.iter().flatten() {
                    self.head.release(h);
                }
                return Err(e);
            }
        }
        for h in handles.iter().flatten() {
            if h.needs_logging() && to_log.iter().any(|(id, _)| *id == h.id) {
                h.mark_logged();
            }
        }
        // Apply: runs of the same series go in one call (one lock).
        let mut k = 0;
        let mut run: Vec<Sample> = Vec::new();
        while k < keep.len() {
            let i = keep[k].0;
            run.clear();
            while k < keep.len() && keep[k].0 == i {
                run.push(keep[k].1);
                k += 1;
            }
            if let Some(handle) = &handles[i] {
                out.samples_written += self.head.append(handle, &run) as u64;
            }
        }
        let mut k = 0;
        while k < keep_hist.len() {
            let i = keep_hist[k].0;
            let mut run: Vec<HistogramSample> = Vec::new();
            while k < keep_hist.len() && keep_hist[k].0 == i {
                run.push(series[i].histograms[keep_hist[k].1].clone());
                k += 1;
            }
            if let Some(handle) = &handles[i] {
                let n = self.head.append_histograms(handle, &run) as u64;
                out.samples_written += n;
                out.histograms_written += n;
            }
        }
        for (s, h) in series.iter().zip(&handles) {
            if s.exemplars.is_empty() || h.is_none() {
                continue;
            }
            let series_labels = s.labels.to_labels();
            let mut ex = self.exemplars.lock();
            for e in &s.exemplars {
                if ex.add(&series_labels, e.clone()) {
                    out.exemplars_written += 1;
                }
            }
        }
        if !metadata.is_empty() {
            let mut md = self.metadata.write();
            for m in metadata {
                md.insert(m.metric_family.clone(), m.clone());
            }
        }
        Ok(out)
    }

    /// Metric metadata, optionally for one metric, at most `limit` metrics.
    pub fn metadata(&self, metric: Option<&str>, limit: usize) -> Vec<MetricMetadata> {
        self.metadata
            .read()
            .values()
            .filter(|m| metric.is_none_or(|n| n == m.metric_family))
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn exemplars(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<SeriesExemplars> {
        self.exemplars.lock().select(matcher_sets, mint, maxt)
    }

    /// Label sets of series matching any matcher set with data in the range.
    pub fn series(&self, matcher_sets: &[Vec<Matcher>], mint: i64, maxt: i64) -> Vec<Labels> {
        let mut set: std::collections::BTreeSet<Labels> = Default::default();
        // Head before blocks, as in `select`.
        for ms in matcher_sets {
            set.extend(self.head.series_labels(ms, mint, maxt));
        }
        let blocks = self.blocks();
        for ms in matcher_sets {
            for b in blocks.iter().filter(|b| b.overlaps(mint, maxt)) {
                set.extend(b.series_labels(ms, mint, maxt));
            }
        }
        set.into_iter().collect()
    }

    /// Label names (`None`) or the values of one label (`Some(name)`) among
    /// all series with data in the range, from the postings alone (no label
    /// sets are built): the head counts if its time range overlaps, blocks
    /// by their time range, as Prometheus does.
    pub fn label_index(
        &self,
        name: Option<&str>,
        mint: i64,
        maxt: i64,
    ) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        let (hmin, hmax) = (self.head.min_t(), self.head.max_t());
        if hmin <= maxt && hmax >= mint {
            match name {
                None => out.extend(self.head.label_names()),
                Some(n) => out.extend(self.head.label_values(n)),
            }
        }
        for b in self.blocks().iter().filter(|b| b.overlaps(mint, maxt)) {
            match name {
                None => out.extend(b.label_names().into_iter().map(str::to_string)),
                Some(n) => out.extend(b.label_values(n).into_iter().map(str::to_string)),
            }
        }
        out
    }

    /// Seals, compacts, truncates the WAL and applies retention.
    pub fn maintain(&self) -> io::Result<MaintenanceReport> {
        let _m = self.maintenance.lock();
        let mut report = MaintenanceReport::default();
        let block = self.opts.block_ms;
        loop {
            let (mint, maxt) = (self.head.min_t(), self.head.max_t());
            if mint == i64::MAX
                || maxt == i64::MIN
                || (maxt as i128 - mint as i128) <= (block / 2 * 3) as i128
            {
                break;
            }
            let Some(boundary) = mint
                .div_euclid(block)
                .checked_mul(block)
                .and_then(|b| b.checked_add(block))
            else {
                tracing::warn!(tenant = %self.tenant, mint, "head minimum time out of range, not sealing");
                break;
            };
            self.seal(boundary)?;
            report.blocks_sealed += 1;
        }
        // Move closed head chunks out of process memory.
        self.head.spill()?;
        report.blocks_compacted = self.compact()?;
        report.blocks_deleted = self.apply_retention()?;
        Ok(report)
    }

    /// Cuts everything before `boundary` into a block, then truncates head and WAL.
    pub fn seal(&self, boundary: i64) -> io::Result<()> {
        let segment = {
            // Drain in-flight writers, then fix the boundary: from here on no
            // sample before it is accepted, so what the head holds there is
            // immutable and can be copied without holding up writers.
            let _g = self.gate.write();
            self.head.set_min_valid_t(boundary);
            self.wal.rotate()?
        };
        let cut = self.head.cut_before(boundary)?;
        if !cut.series.is_empty() {
            let series = cut.series;
            let start = boundary - self.opts.block_ms;
            let id = self.new_block_id(start, boundary, 1);
            let dir = write_block(
                &self.dir.join("blocks"),
                &id,
                start,
                boundary,
                1,
                vec![],
                &series,
            )?;
            let b = Arc::new(Block::open(&dir)?);
            tracing::info!(tenant = %self.tenant, block = %id, series = b.meta.num_series, samples = b.meta.num_samples, "sealed head into block");
            let mut blocks = self.blocks.write();
            blocks.push(b);
            blocks.sort_by_key(|b| b.meta.min_t);
        }
        {
            // Dropping empty series must not race a writer that holds one
            // of them between its WAL write and its head append.
            let _g = self.gate.write();
            self.head.truncate_before(boundary);
        }
        self.write_checkpoint(segment)
    }

    /// Writes the head's state as the WAL checkpoint covering every segment
    /// before `segment`, streaming: one series' chunks in memory at a time.
    fn write_checkpoint(&self, segment: u64) -> io::Result<()> {
        let series = self.head.checkpoint_series();
        let md: Vec<MetricMetadata> = self.metadata.read().values().cloned().collect();
        let exemplars: Vec<ExemplarRecord> = self
            .exemplars
            .lock()
            .all()
            .filter_map(|(labels, e)| {
                Some(ExemplarRecord {
                    series: self.head.id_of(labels)?,
                    labels: e.labels.clone(),
                    value: e.value,
                    t: e.t,
                })
            })
            .collect();
        let series_records = series.chunks(1000).map(|batch| {
            let labels: Vec<(SeriesId, Labels)> =
                batch.iter().map(|(id, h)| (*id, h.labels())).collect();
            let refs: Vec<(SeriesId, &Labels)> = labels.iter().map(|(id, l)| (*id, l)).collect();
            Ok(walrec::encode_series(&refs))
        });
        let chunk_records = series
            .iter()
            .flat_map(|(id, h)| match h.checkpoint_chunks() {
                Ok(chunks) => chunks
                    .iter()
                    .map(|c| Ok(walrec::encode_chunk(*id, c)))
                    .collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            });
        let md_record = (!md.is_empty()).then(|| walrec::encode_metadata(&md));
        let ex_record = (!exemplars.is_empty()).then(|| walrec::encode_exemplars(&exemplars));
        let tail = md_record.into_iter().chain(ex_record).map(Ok);
        self.wal
            .write_checkpoint(segment, series_records.chain(chunk_records).chain(tail))
    }

    fn new_block_id(&self, min_t: i64, max_t: i64, level: u32) -> String {
        let seq = self.block_seq.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!("b{min_t}-{max_t}-l{level}-{nanos:x}{seq:x}")
    }

    /// Merges adjacent blocks into larger aligned windows (3×, 9×, 27× the
    /// block length, up to a tenth of the retention) once a window is complete.
    fn compact(&self) -> io::Result<usize> {
        let block = self.opts.block_ms;
        let mut merged = 0;
        let mut range = block * 3;
        while range <= (self.opts.retention_ms / 10).max(block * 3) {
            loop {
                let blocks = self.blocks();
                let complete_before = self.head.min_valid_t();
                let mut groups: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
                for b in &blocks {
                    let w = b.meta.min_t.div_euclid(range);
                    if b.meta.max_t <= (w + 1) * range {
                        groups.entry(w).or_default().push(b.clone());
                    }
                }
                let Some((w, group)) = groups
                    .into_iter()
                    .find(|(w, g)| g.len() > 1 && (w + 1) * range <= complete_before)
                else {
                    break;
                };
                self.merge_blocks(w * range, (w + 1) * range, &group)?;
                merged += group.len();
            }
            range *= 3;
        }
        Ok(merged)
    }

    fn merge_blocks(&self, min_t: i64, max_t: i64, group: &[Arc<Block>]) -> io::Result<()> {
        let mut by_labels: BTreeMap<Labels, Vec<Vec<u8>>> = BTreeMap::new();
        for b in group {
            for (l, chunks) in b.all_chunks()? {
                by_labels.entry(l).or_default().extend(chunks);
            }
        }
        let series: Vec<(Labels, Vec<Vec<u8>>)> = by_labels.into_iter().collect();
        let level = group.iter().map(|b| b.meta.level).max().unwrap_or(1) + 1;
        let id = self.new_block_id(min_t, max_t, level);
        let sources: Vec<String> = group.iter().map(|b| b.meta.id.clone()).collect();
        let dir = write_block(
            &self.dir.join("blocks"),
            &id,
            min_t,
            max_t,
            level,
            sources,
            &series,
        )?;
        let nb = Arc::new(Block::open(&dir)?);
        let gone: HashSet<String> = group.iter().map(|b| b.meta.id.clone()).collect();
        {
            let mut blocks = self.blocks.write();
            blocks.retain(|b| !gone.contains(&b.meta.id));
            blocks.push(nb);
            blocks.sort_by_key(|b| b.meta.min_t);
        }
        for b in group {
            fs::remove_dir_all(&b.dir)?;
        }
        tracing::info!(tenant = %self.tenant, block = %id, sources = group.len(), "compacted blocks");
        Ok(())
    }

    /// Deletes blocks whose newest data is older than the retention.
    pub fn apply_retention(&self) -> io::Result<usize> {
        let cutoff = self.clock.now_ms().saturating_sub(self.opts.retention_ms);
        let expired: Vec<Arc<Block>> = self
            .blocks()
            .into_iter()
            .filter(|b| b.meta.max_t <= cutoff)
            .collect();
        for b in &expired {
            self.delete_block(b)?;
            tracing::info!(tenant = %self.tenant, block = %b.meta.id, "deleted block past retention");
        }
        Ok(expired.len())
    }

    /// Removes one block from the store and from disk.
    pub fn delete_block(&self, b: &Block) -> io::Result<()> {
        self.blocks.write().retain(|x| x.meta.id != b.meta.id);
        // Rename first, so a crash mid-delete never leaves a half block that
        // looks valid; leftovers are removed at open.
        let doomed = b.dir.with_extension("deleting");
        match fs::rename(&b.dir, &doomed) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        match fs::remove_dir_all(&doomed) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Bytes on disk: blocks and WAL.
    pub fn disk_bytes(&self) -> u64 {
        self.blocks().iter().map(|b| b.size_bytes()).sum::<u64>()
            + self.wal.disk_bytes()
            + self.head.spill_disk_bytes()
    }

    /// Flushes and closes the WAL; later writes fail.
    pub fn close(&self) -> io::Result<()> {
        let _g = self.gate.write();
        self.wal.close()
    }
}

fn push_error(errors: &mut Vec<String>, msg: String) {
    if errors.len() < MAX_ERROR_MESSAGES {
        errors.push(msg);
    }
}

fn open_blocks(dir: &Path) -> io::Result<Vec<Arc<Block>>> {
    let mut blocks = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if !path.is_dir() {
            continue;
        }
        if name.ends_with(".tmp") || name.ends_with(".deleting") {
            fs::remove_dir_all(&path)?;
            continue;
        }
        match Block::open(&path) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                tracing::error!(block = %path.display(), error = %e, "cannot open block, skipping it")
            }
        }
    }
    // A compaction that crashed after publishing its output leaves its sources behind.
    let replaced: HashSet<String> = blocks.iter().flat_map(|b| b.meta.sources.clone()).collect();
    let (gone, keep): (Vec<_>, Vec<_>) = blocks
        .into_iter()
        .partition(|b| replaced.contains(&b.meta.id));
    for b in gone {
        fs::remove_dir_all(&b.dir)?;
    }
    let mut keep = keep;
    keep.sort_by_key(|b| b.meta.min_t);
    fsutil::fsync_dir(dir)?;
    Ok(keep)
}

fn replay_record(
    head: &Head,
    metadata: &RwLock<BTreeMap<String, MetricMetadata>>,
    exemplars: &Mutex<ExemplarStore>,
    rec: &[u8],
) -> Result<(), String> {
    match walrec::decode(rec).map_err(|e| e.to_string())? {
        Record::Series(v) => {
            for (id, l) in v {
                head.create_with_id(id, l);
            }
        }
        Record::Samples(v) => {
            let mut i = 0;
            while i < v.len() {
                let id = v[i].0;
                let mut j = i;
                let mut batch = Vec::new();
                while j < v.len() && v[j].0 == id {
                    batch.push(Sample::new(v[j].1, v[j].2));
                    j += 1;
                }
                // A record whose series record was lost (should not happen) costs
                // only that series' samples, never the rest of the record.
                match head.series_by_id(id) {
                    Some(h) => {
                        head.append(&h, &batch);
                    }
                    None => tracing::warn!(
                        series = id,
                        samples = batch.len(),
                        "WAL samples for an unknown series skipped"
                    ),
                }
                i = j;
            }
        }
        Record::Histograms(v) => {
            for (id, s) in v {
                match head.series_by_id(id) {
                    Some(h) => {
                        head.append_histograms(&h, std::slice::from_ref(&s));
                    }
                    None => {
                        tracing::warn!(series = id, "WAL histogram for an unknown series skipped")
                    }
                }
            }
        }
        Record::Chunk { series, data } => {
            head.load_chunk(series, &data)?;
        }
        Record::Metadata(v) => {
            let mut md = metadata.write();
            for m in v {
                md.insert(m.metric_family.clone(), m);
            }
        }
        Record::Exemplars(v) => {
            let mut ex = exemplars.lock();
            for e in v {
                if let Some(h) = head.series_by_id(e.series) {
                    let labels = h.labels();
                    ex.add(
                        &labels,
                        Exemplar {
                            labels: e.labels,
                            value: e.value,
                            t: e.t,
                        },
                    );
                }
            }
        }
    }
    Ok(())
}

/// Where one series' data lives for a streamed select.
enum Part {
    Head(Arc<HeadSeries>),
    /// Index into the block snapshot, series index in that block.
    Block(usize, usize),
}

/// Appends one part's samples.
fn read_part(
    part: &Part,
    blocks: &[Arc<Block>],
    mint: i64,
    maxt: i64,
    out: &mut (Vec<Sample>, Vec<HistogramSample>),
) -> io::Result<()> {
    let (s, h) = match part {
        Part::Head(h) => h.samples_in(mint, maxt)?,
        Part::Block(b, i) => match blocks.get(*b) {
            Some(b) => b.series_samples(*i, mint, maxt)?,
            None => return Ok(()),
        },
    };
    out.0.extend(s);
    out.1.extend(h);
    Ok(())
}

impl SampleSource for Db {
    /// Streams series one batch at a time: only label sets and references
    /// are collected up front; samples are decoded batch by batch. The
    /// head is read lazily; if it lets go of sealed data meanwhile (a seal
    /// finished), blocks published since are read too, so nothing is missed.
    fn select_batched(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        batch: usize,
        f: &mut dyn FnMut(Vec<Series>) -> bool,
    ) -> Result<(), SourceError> {
        let err = |e: io::Error| SourceError(e.to_string());
        let truncations = self.head.truncations();
        let head_refs = self.head.select_refs(matchers);
        let mut blocks = self.blocks();
        let mut parts: BTreeMap<Labels, Vec<Part>> = BTreeMap::new();
        for (bi, b) in blocks.iter().enumerate() {
            if !b.overlaps(mint, maxt) {
                continue;
            }
            for (labels, idx) in b.select_refs(matchers, mint, maxt) {
                parts.entry(labels).or_default().push(Part::Block(bi, idx));
            }
        }
        for (labels, h) in head_refs {
            parts.entry(labels).or_default().push(Part::Head(h));
        }
        // Series of blocks published after the snapshot, by labels (filled
        // only if the head was truncated while we read).
        let mut late: Option<HashMap<Labels, Vec<Part>>> = None;
        let mut out: Vec<Series> = Vec::with_capacity(batch.min(parts.len()));
        for (labels, ps) in parts {
            let mut data = (Vec::new(), Vec::new());
            for p in &ps {
                read_part(p, &blocks, mint, maxt, &mut data).map_err(err)?;
            }
            let mut sources = ps.len();
            if late.is_none() && self.head.truncations() != truncations {
                let known: HashSet<String> = blocks.iter().map(|b| b.meta.id.clone()).collect();
                let mut map: HashMap<Labels, Vec<Part>> = HashMap::new();
                for b in self.blocks() {
                    if known.contains(&b.meta.id) || !b.overlaps(mint, maxt) {
                        continue;
                    }
                    blocks.push(b.clone());
                    let bi = blocks.len() - 1;
                    for (l, idx) in b.select_refs(matchers, mint, maxt) {
                        map.entry(l).or_default().push(Part::Block(bi, idx));
                    }
                }
                late = Some(map);
            }
            if let Some(extra) = late.as_ref().and_then(|m| m.get(&labels)) {
                for p in extra {
                    read_part(p, &blocks, mint, maxt, &mut data).map_err(err)?;
                }
                sources += extra.len();
            }
            let (mut samples, mut histograms) = data;
            if sources > 1 {
                if !samples.is_sorted_by(|a, b| a.t < b.t) {
                    samples.sort_by_key(|s| s.t);
                    samples.dedup_by_key(|s| s.t);
                }
                if !histograms.is_sorted_by(|a, b| a.t < b.t) {
                    histograms.sort_by_key(|s| s.t);
                    histograms.dedup_by_key(|s| s.t);
                }
            }
            if samples.is_empty() && histograms.is_empty() {
                continue;
            }
            out.push(Series {
                labels,
                samples,
                histograms,
            });
            if out.len() >= batch.max(1) && !f(std::mem::take(&mut out)) {
                return Ok(());
            }
        }
        if !out.is_empty() {
            f(out);
        }
        Ok(())
    }

    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, SourceError> {
        let mut all = Vec::new();
        self.select_batched(matchers, mint, maxt, usize::MAX, &mut |b| {
            all.extend(b);
            true
        })?;
        Ok(all)
    }
}
