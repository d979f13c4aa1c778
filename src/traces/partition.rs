//! A sealed trace partition on disk: complete traces, each stored whole as
//! one zstd-compressed protobuf `TracesData` blob, a table of trace ids
//! sorted for binary search (kept in memory once opened), the partition's
//! time range, and (built beside them) the tantivy search index.
//!
//! ```text
//! <tenant>/partitions/p-00000007/
//!     traces.dat   blob | blob | ...
//!     traces.ids   "CTI1" u32 count, then per trace (sorted by id):
//!                  id[16] offset u64 len u32 start_ns u64 end_ns u64 spans u32
//!     meta.json    {min_start_ns, max_end_ns, traces, spans, data_bytes}
//!     search/      tantivy index, one document per row (see `index.rs`)
//! ```
//! A partition is written under `p-N.tmp` and renamed into place, so a
//! directory without the suffix is always complete.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, TracesData};
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::storage::fsutil;

use super::index::TraceIndex;
use super::model::TraceId;

const IDS_MAGIC: &[u8; 4] = b"CTI1";
const ROW_BYTES: usize = 16 + 8 + 4 + 8 + 8 + 4;
const ZSTD_LEVEL: i32 = 1;

/// One trace's entry in the id table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub id: TraceId,
    pub offset: u64,
    pub len: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    pub spans: u32,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PartitionMeta {
    pub min_start_ns: u64,
    pub max_end_ns: u64,
    pub traces: u64,
    pub spans: u64,
    pub data_bytes: u64,
}

/// An open, immutable partition.
pub struct Partition {
    pub seq: u64,
    pub dir: PathBuf,
    pub meta: PartitionMeta,
    rows: Vec<Row>,
    data: File,
    disk_bytes: u64,
    index: parking_lot::RwLock<Option<std::sync::Arc<TraceIndex>>>,
}

/// Directory name of partition `seq`.
pub fn dir_name(seq: u64) -> String {
    format!("p-{seq:08}")
}

/// The sequence number of a partition directory name.
pub fn parse_dir_name(name: &str) -> Option<u64> {
    name.strip_prefix("p-")?.parse().ok()
}

impl Partition {
    /// Writes `traces` (any order; ids distinct) as partition `seq` under
    /// `root`, with its search index when `index` is set, and opens it.
    pub fn write(
        root: &Path,
        seq: u64,
        traces: &[(TraceId, &[ResourceSpans])],
        index: bool,
    ) -> io::Result<Partition> {
        let final_dir = root.join(dir_name(seq));
        let tmp = root.join(format!("{}.tmp", dir_name(seq)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let mut order: Vec<usize> = (0..traces.len()).collect();
        order.sort_by(|&a, &b| traces[a].0.cmp(&traces[b].0));
        // The search index is built on a second thread while this one
        // compresses and writes the traces (both only read `traces`).
        let sorted: Vec<&[ResourceSpans]> = order.iter().map(|&i| traces[i].1).collect();
        let index_dir = tmp.join("search");
        std::thread::scope(|scope| -> io::Result<()> {
            let indexer = index.then(|| scope.spawn(|| TraceIndex::build(&index_dir, &sorted)));
            let written = write_data(&tmp, traces, &order);
            if let Some(h) = indexer {
                h.join()
                    .map_err(|_| io::Error::other("the trace index builder panicked"))??;
            }
            written
        })?;
        fsutil::fsync_dir(&tmp)?;
        fsutil::publish_dir(&tmp, &final_dir)?;
        Partition::open(&final_dir, seq)
    }

    /// Opens a complete partition directory.
    pub fn open(dir: &Path, seq: u64) -> io::Result<Partition> {
        let meta: PartitionMeta = serde_json::from_slice(&std::fs::read(dir.join("meta.json"))?)
            .map_err(|e| corrupt(dir, &format!("meta.json: {e}")))?;
        let ids = std::fs::read(dir.join("traces.ids"))?;
        if ids.len() < 8 || &ids[..4] != IDS_MAGIC {
            return Err(corrupt(dir, "traces.ids: bad header"));
        }
        let n = u32::from_le_bytes([ids[4], ids[5], ids[6], ids[7]]) as usize;
        if ids.len() != 8 + n * ROW_BYTES {
            return Err(corrupt(dir, "traces.ids: wrong length"));
        }
        let mut rows = Vec::with_capacity(n);
        for chunk in ids[8..].chunks_exact(ROW_BYTES) {
            let u64_at = |o: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&chunk[o..o + 8]);
                u64::from_le_bytes(b)
            };
            let u32_at = |o: usize| {
                let mut b = [0u8; 4];
                b.copy_from_slice(&chunk[o..o + 4]);
                u32::from_le_bytes(b)
            };
            let mut id = [0u8; 16];
            id.copy_from_slice(&chunk[..16]);
            rows.push(Row {
                id,
                offset: u64_at(16),
                len: u32_at(24),
                start_ns: u64_at(28),
                end_ns: u64_at(36),
                spans: u32_at(44),
            });
        }
        let data = File::open(dir.join("traces.dat"))?;
        let index = TraceIndex::open_if_complete(&dir.join("search")).map(std::sync::Arc::new);
        Ok(Partition {
            seq,
            dir: dir.to_path_buf(),
            disk_bytes: fsutil::dir_size(dir),
            meta,
            rows,
            data,
            index: parking_lot::RwLock::new(index),
        })
    }

    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    pub fn index(&self) -> Option<std::sync::Arc<TraceIndex>> {
        self.index.read().clone()
    }

    /// Does the partition hold data in `[start_ns, end_ns]`?
    pub fn overlaps(&self, start_ns: u64, end_ns: u64) -> bool {
        self.meta.traces > 0 && self.meta.min_start_ns <= end_ns && self.meta.max_end_ns >= start_ns
    }

    /// The row of a trace id.
    pub fn find(&self, id: &TraceId) -> Option<usize> {
        self.rows.binary_search_by(|r| r.id.cmp(id)).ok()
    }

    /// Reads and decodes row `i`'s trace.
    pub fn read(&self, i: usize) -> io::Result<Vec<ResourceSpans>> {
        let Some(r) = self.rows.get(i) else {
            return Err(corrupt(&self.dir, "row out of range"));
        };
        let mut blob = vec![0u8; r.len as usize];
        read_exact_at(&self.data, &mut blob, r.offset)?;
        let raw = zstd::stream::decode_all(blob.as_slice())?;
        let td = TracesData::decode(raw.as_slice())
            .map_err(|e| corrupt(&self.dir, &format!("trace blob: {e}")))?;
        Ok(td.resource_spans)
    }

    /// Builds the search index if it is missing (partitions written with
    /// indexing off, or whose index was unreadable).
    pub fn ensure_index(&self) -> io::Result<bool> {
        if self.index.read().is_some() {
            return Ok(false);
        }
        let mut traces = Vec::with_capacity(self.rows.len());
        for i in 0..self.rows.len() {
            traces.push(self.read(i)?);
        }
        let refs: Vec<&[ResourceSpans]> = traces.iter().map(|t| t.as_slice()).collect();
        let ix = TraceIndex::build(&self.dir.join("search"), &refs)?;
        *self.index.write() = Some(std::sync::Arc::new(ix));
        Ok(true)
    }
}

/// Writes the compressed traces (in `order`), the id table and the
/// metadata of a partition into `tmp`.
fn write_data(
    tmp: &Path,
    traces: &[(TraceId, &[ResourceSpans])],
    order: &[usize],
) -> io::Result<()> {
    let mut data = io::BufWriter::new(File::create(tmp.join("traces.dat"))?);
    let mut rows = Vec::with_capacity(traces.len());
    let mut meta = PartitionMeta {
        min_start_ns: u64::MAX,
        ..Default::default()
    };
    let mut offset = 0u64;
    let mut buf = Vec::new();
    for &i in order {
        let (id, batches) = traces[i];
        buf.clear();
        encode_traces_data(batches, &mut buf);
        let blob = zstd::bulk::compress(&buf, ZSTD_LEVEL)?;
        data.write_all(&blob)?;
        let (start_ns, end_ns) = super::model::time_bounds(batches);
        let spans = super::model::span_count(batches) as u32;
        rows.push(Row {
            id,
            offset,
            len: blob.len() as u32,
            start_ns,
            end_ns,
            spans,
        });
        offset += blob.len() as u64;
        meta.min_start_ns = meta.min_start_ns.min(start_ns);
        meta.max_end_ns = meta.max_end_ns.max(end_ns);
        meta.traces += 1;
        meta.spans += u64::from(spans);
    }
    if meta.traces == 0 {
        meta.min_start_ns = 0;
    }
    meta.data_bytes = offset;
    let data = data.into_inner().map_err(|e| e.into_error())?;
    data.sync_all()?;
    drop(data);
    let mut ids = Vec::with_capacity(8 + rows.len() * ROW_BYTES);
    ids.extend_from_slice(IDS_MAGIC);
    ids.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    for r in &rows {
        ids.extend_from_slice(&r.id);
        ids.extend_from_slice(&r.offset.to_le_bytes());
        ids.extend_from_slice(&r.len.to_le_bytes());
        ids.extend_from_slice(&r.start_ns.to_le_bytes());
        ids.extend_from_slice(&r.end_ns.to_le_bytes());
        ids.extend_from_slice(&r.spans.to_le_bytes());
    }
    fsutil::write_file_synced(&tmp.join("traces.ids"), &ids)?;
    let meta_json = serde_json::to_vec(&meta).map_err(io::Error::other)?;
    fsutil::write_file_synced(&tmp.join("meta.json"), &meta_json)?;
    Ok(())
}

/// Encodes batches as a protobuf `TracesData` (field 1, repeated) without
/// copying them into one.
pub fn encode_traces_data(batches: &[ResourceSpans], buf: &mut Vec<u8>) {
    for rs in batches {
        prost::encoding::message::encode(1, rs, buf);
    }
}

fn corrupt(dir: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("trace partition {}: {what}", dir.display()),
    )
}

#[cfg(unix)]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(f, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(f: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = f.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}
