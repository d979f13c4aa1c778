//! Sealed log partitions: the lines of one cut head, on disk, immutable.
//!
//! ```text
//! <tenant>/partitions/p-<seq>/chunks   zstd chunks back to back
//! <tenant>/partitions/p-<seq>/meta     streams, their chunks (offset, sizes,
//!                                      time range, counts), crc32 at the end
//! <tenant>/partitions/p-<seq>/index/   tantivy n-gram index (built later)
//! ```
//!
//! `seq` is the highest push sequence number the partition holds: WAL
//! records at or below it are skipped on replay. A partition is written in a
//! temporary directory, fsynced and renamed into place, so it exists whole
//! or not at all.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::model::{Label, Labels};
use crate::storage::codec::{put_str, put_uvarint, put_varint, DecodeError, Reader};
use crate::storage::fsutil;

use super::chunk::{self, DecodedChunk};
use super::head::Head;
use super::index::NgramIndex;
use super::source::ChunkStats;

const META_MAGIC: &[u8; 4] = b"CLP1";
const META_FILE: &str = "meta";
const CHUNKS_FILE: &str = "chunks";

/// Where one chunk lives and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Position among all chunks of the partition (the index's document key).
    pub ordinal: u32,
    pub offset: u64,
    pub len: u32,
    pub raw_len: u32,
    pub stats: ChunkStats,
}

/// One stream's chunks in a partition, in time order.
#[derive(Clone, Debug)]
pub struct PartStream {
    pub labels: Arc<Labels>,
    pub chunks: Vec<ChunkMeta>,
}

/// A sealed partition, open for reading.
pub struct Partition {
    pub dir: PathBuf,
    pub seq: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    pub streams: Vec<PartStream>,
    pub chunk_count: u32,
    pub raw_bytes: u64,
    file: File,
    /// Set once the n-gram index is built (or found on open).
    pub index: OnceLock<NgramIndex>,
}

impl Partition {
    pub fn dir_name(seq: u64) -> String {
        format!("p-{seq:020}")
    }

    /// Writes `head` (with `labels_of` giving each stream's labels) as a
    /// partition under `root`; returns it opened.
    pub fn write(
        root: &Path,
        seq: u64,
        head: &Head,
        labels_of: &dyn Fn(u32) -> Option<Arc<Labels>>,
        chunk_target: usize,
    ) -> io::Result<Partition> {
        fs::create_dir_all(root)?;
        let name = Self::dir_name(seq);
        let tmp = root.join(format!(".tmp-{name}"));
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, File::create(tmp.join(CHUNKS_FILE))?);
        let mut offset = 0u64;
        let mut ordinal = 0u32;
        let mut streams = Vec::new();
        let mut ids: Vec<&u32> = head.streams().map(|(id, _)| id).collect();
        ids.sort_unstable();
        for id in ids {
            let Some(hs) = head.stream(*id) else { continue };
            let Some(labels) = labels_of(*id) else {
                continue;
            };
            let sorted = hs.sorted_entries();
            let mut chunks = Vec::new();
            let mut start = 0;
            while start < sorted.len() {
                let mut end = start;
                let mut size = 0usize;
                while end < sorted.len() && (end == start || size < chunk_target) {
                    size += sorted[end].line.len();
                    end += 1;
                }
                let part = &sorted[start..end];
                let (data, raw_len) = chunk::encode(part)?;
                w.write_all(&data)?;
                chunks.push(ChunkMeta {
                    ordinal,
                    offset,
                    len: data.len() as u32,
                    raw_len: raw_len as u32,
                    stats: ChunkStats {
                        min_ts_ns: part[0].ts_ns,
                        max_ts_ns: part[part.len() - 1].ts_ns,
                        entries: part.len() as u64,
                        bytes: size as u64,
                    },
                });
                offset += data.len() as u64;
                ordinal += 1;
                start = end;
            }
            streams.push(PartStream { labels, chunks });
        }
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        drop(f);
        let meta = encode_meta(seq, &streams);
        fsutil::write_file_synced(&tmp.join(META_FILE), &meta)?;
        let final_dir = root.join(&name);
        fsutil::publish_dir(&tmp, &final_dir)?;
        Partition::open(&final_dir)
    }

    /// Opens a published partition.
    pub fn open(dir: &Path) -> io::Result<Partition> {
        let meta = fs::read(dir.join(META_FILE))?;
        let (seq, streams) = decode_meta(&meta).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {}", dir.display(), e.0),
            )
        })?;
        let file = File::open(dir.join(CHUNKS_FILE))?;
        let file_len = file.metadata()?.len();
        let mut min_ts = i64::MAX;
        let mut max_ts = i64::MIN;
        let mut chunk_count = 0u32;
        let mut raw_bytes = 0u64;
        for s in &streams {
            for c in &s.chunks {
                if c.offset + u64::from(c.len) > file_len {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: chunk beyond the end of the file", dir.display()),
                    ));
                }
                min_ts = min_ts.min(c.stats.min_ts_ns);
                max_ts = max_ts.max(c.stats.max_ts_ns);
                chunk_count += 1;
                raw_bytes += c.stats.bytes;
            }
        }
        let p = Partition {
            dir: dir.to_path_buf(),
            seq,
            min_ts,
            max_ts,
            streams,
            chunk_count,
            raw_bytes,
            file,
            index: OnceLock::new(),
        };
        if let Some(ix) = NgramIndex::open_if_complete(&p.index_dir()) {
            let _ = p.index.set(ix);
        }
        Ok(p)
    }

    pub fn index_dir(&self) -> PathBuf {
        self.dir.join("index")
    }

    /// Reads and decompresses one chunk.
    pub fn read_chunk(&self, c: &ChunkMeta) -> io::Result<DecodedChunk> {
        let mut buf = vec![0u8; c.len as usize];
        self.file.read_exact_at(&mut buf, c.offset)?;
        DecodedChunk::decode(&buf, c.raw_len as usize).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: chunk {}: {}", self.dir.display(), c.ordinal, e.0),
            )
        })
    }

    /// Bytes on disk (chunks, meta and index).
    pub fn disk_bytes(&self) -> u64 {
        fsutil::dir_size(&self.dir)
    }
}

fn encode_meta(seq: u64, streams: &[PartStream]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + streams.len() * 128);
    b.extend_from_slice(META_MAGIC);
    put_uvarint(&mut b, seq);
    put_uvarint(&mut b, streams.len() as u64);
    for s in streams {
        put_uvarint(&mut b, s.labels.len() as u64);
        for l in s.labels.iter() {
            put_str(&mut b, &l.name);
            put_str(&mut b, &l.value);
        }
        put_uvarint(&mut b, s.chunks.len() as u64);
        for c in &s.chunks {
            put_uvarint(&mut b, c.offset);
            put_uvarint(&mut b, u64::from(c.len));
            put_uvarint(&mut b, u64::from(c.raw_len));
            put_varint(&mut b, c.stats.min_ts_ns);
            put_varint(&mut b, c.stats.max_ts_ns);
            put_uvarint(&mut b, c.stats.entries);
            put_uvarint(&mut b, c.stats.bytes);
        }
    }
    let crc = crc32fast::hash(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

fn decode_meta(buf: &[u8]) -> Result<(u64, Vec<PartStream>), DecodeError> {
    if buf.len() < 8 || &buf[..4] != META_MAGIC {
        return Err(DecodeError("not a log partition meta file"));
    }
    let (body, crc) = buf.split_at(buf.len() - 4);
    let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    if crc32fast::hash(body) != crc {
        return Err(DecodeError("log partition meta checksum mismatch"));
    }
    let mut r = Reader::new(&body[4..]);
    let seq = r.uvarint()?;
    let n = count(r.uvarint()?, &r)?;
    let mut streams = Vec::with_capacity(n);
    let mut ordinal = 0u32;
    for _ in 0..n {
        let nl = count(r.uvarint()?, &r)?;
        let mut pairs = Vec::with_capacity(nl);
        for _ in 0..nl {
            let name = r.str()?.to_string();
            let value = r.str()?.to_string();
            pairs.push(Label::new(name, value));
        }
        if pairs.windows(2).any(|w| w[0].name >= w[1].name) {
            return Err(DecodeError("log partition labels are not sorted"));
        }
        let nc = count(r.uvarint()?, &r)?;
        let mut chunks = Vec::with_capacity(nc);
        for _ in 0..nc {
            let offset = r.uvarint()?;
            let len = u32::try_from(r.uvarint()?).map_err(|_| DecodeError("chunk too large"))?;
            let raw_len =
                u32::try_from(r.uvarint()?).map_err(|_| DecodeError("chunk too large"))?;
            let stats = ChunkStats {
                min_ts_ns: r.varint()?,
                max_ts_ns: r.varint()?,
                entries: r.uvarint()?,
                bytes: r.uvarint()?,
            };
            chunks.push(ChunkMeta {
                ordinal,
                offset,
                len,
                raw_len,
                stats,
            });
            ordinal += 1;
        }
        streams.push(PartStream {
            labels: Arc::new(Labels::from_sorted_unchecked(pairs)),
            chunks,
        });
    }
    if !r.is_empty() {
        return Err(DecodeError("trailing bytes in log partition meta"));
    }
    Ok((seq, streams))
}

fn count(n: u64, r: &Reader<'_>) -> Result<usize, DecodeError> {
    if n > r.remaining() as u64 {
        return Err(DecodeError("count larger than the file"));
    }
    Ok(n as usize)
}
