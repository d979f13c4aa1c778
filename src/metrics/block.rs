//! Sealed, immutable time partitions of the TSDB ("blocks"), one directory
//! each: `chunks` (Gorilla chunks back to back), `index` (every series' labels
//! and chunk references, CRC-protected) and `meta.json`. A block is written
//! to a temporary directory and published by rename, so a crash never leaves
//! a half-written block visible. Opening a block loads its index into memory
//! (labels, chunk refs, postings); chunk bytes are read on demand.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::metrics::postings::PostingsIndex;
use crate::metrics::{chunk, hist_chunk};
use crate::model::{HistogramSample, Label, Labels, Matcher, Sample};
use crate::promql::source::Series;
use crate::storage::codec::{put_str, put_uvarint, put_varint, Reader};
use crate::storage::fsutil;

const INDEX_MAGIC: &[u8; 8] = b"CAIRNIX1";

/// `meta.json` of a block. Time range is half-open: `[min_t, max_t)`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BlockMeta {
    pub id: String,
    pub min_t: i64,
    pub max_t: i64,
    pub num_series: u64,
    pub num_chunks: u64,
    pub num_samples: u64,
    /// 1 for blocks cut from the head, +1 per compaction.
    pub level: u32,
    /// Ids of the blocks this one replaced (compaction); they are deleted if
    /// still present at open.
    pub sources: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
struct ChunkRef {
    min_t: i64,
    max_t: i64,
    offset: u64,
    len: u32,
}

struct BlockSeries {
    labels: Labels,
    chunks: Vec<ChunkRef>,
}

/// An open block.
pub struct Block {
    pub dir: PathBuf,
    pub meta: BlockMeta,
    series: Vec<BlockSeries>,
    postings: PostingsIndex,
    chunks_file: File,
    size_bytes: u64,
}

/// Writes a new block under `parent`, returning its directory. `id` must be
/// unique; `series` must be sorted by labels, each with its encoded chunks in
/// time order.
pub fn write_block(
    parent: &Path,
    id: &str,
    min_t: i64,
    max_t: i64,
    level: u32,
    sources: Vec<String>,
    series: &[(Labels, Vec<Vec<u8>>)],
) -> io::Result<PathBuf> {
    fs::create_dir_all(parent)?;
    let tmp = parent.join(format!("{id}.tmp"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    let mut chunks_w = BufWriter::new(File::create(tmp.join("chunks"))?);
    let mut index = Vec::with_capacity(series.len() * 128);
    index.extend_from_slice(INDEX_MAGIC);
    put_uvarint(&mut index, series.len() as u64);
    let mut offset: u64 = 0;
    let (mut num_chunks, mut num_samples) = (0u64, 0u64);
    for (labels, chunks) in series {
        put_uvarint(&mut index, labels.len() as u64);
        for l in labels {
            put_str(&mut index, &l.name);
            put_str(&mut index, &l.value);
        }
        put_uvarint(&mut index, chunks.len() as u64);
        for c in chunks {
            let invalid = |e: crate::storage::codec::DecodeError| {
                io::Error::new(io::ErrorKind::InvalidData, e.to_string())
            };
            let mut first = None;
            let mut last = 0;
            let mut n = 0u64;
            let mut note = |t: i64| {
                first.get_or_insert(t);
                last = t;
                n += 1;
            };
            if hist_chunk::is_hist_chunk(c) {
                hist_chunk::decode(c)
                    .map_err(invalid)?
                    .for_each(|s| note(s.t));
            } else {
                let it = chunk::decode(c)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                it.for_each(|(t, _)| note(t));
            }
            let first = first.unwrap_or(0);
            num_samples += n;
            num_chunks += 1;
            chunks_w.write_all(c)?;
            put_varint(&mut index, first);
            put_uvarint(&mut index, (last.wrapping_sub(first)) as u64);
            put_uvarint(&mut index, offset);
            put_uvarint(&mut index, c.len() as u64);
            offset += c.len() as u64;
        }
    }
    let crc = crc32fast::hash(&index);
    index.extend_from_slice(&crc.to_le_bytes());
    let chunks_file = chunks_w.into_inner().map_err(|e| e.into_error())?;
    chunks_file.sync_all()?;
    fsutil::write_file_synced(&tmp.join("index"), &index)?;
    let meta = BlockMeta {
        id: id.to_string(),
        min_t,
        max_t,
        num_series: series.len() as u64,
        num_chunks,
        num_samples,
        level,
        sources,
    };
    let meta_json = serde_json::to_vec_pretty(&meta).map_err(io::Error::other)?;
    fsutil::write_file_synced(&tmp.join("meta.json"), &meta_json)?;
    let final_dir = parent.join(id);
    fsutil::publish_dir(&tmp, &final_dir)?;
    Ok(final_dir)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Block {
    /// Opens a published block directory.
    pub fn open(dir: &Path) -> io::Result<Block> {
        let meta: BlockMeta = serde_json::from_slice(&fs::read(dir.join("meta.json"))?)
            .map_err(|e| bad(format!("{}: bad meta.json: {e}", dir.display())))?;
        let index = fs::read(dir.join("index"))?;
        if index.len() < INDEX_MAGIC.len() + 4 || &index[..8] != INDEX_MAGIC {
            return Err(bad(format!("{}: bad index header", dir.display())));
        }
        let (body, crc) = index.split_at(index.len() - 4);
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(body) != want {
            return Err(bad(format!("{}: index checksum mismatch", dir.display())));
        }
        let mut r = Reader::new(&body[8..]);
        let n = r.uvarint().map_err(|e| bad(e.to_string()))? as usize;
        let mut series = Vec::with_capacity(n.min(body.len()));
        let mut postings = PostingsIndex::default();
        let e = |e: crate::storage::codec::DecodeError| bad(format!("{}: {e}", dir.display()));
        for id in 0..n {
            let nl = r.uvarint().map_err(e)? as usize;
            let mut v = Vec::with_capacity(nl.min(256));
            for _ in 0..nl {
                let name = r.str().map_err(e)?.to_string();
                let value = r.str().map_err(e)?.to_string();
                v.push(Label { name, value });
            }
            let labels = Labels::from_pairs(v.into_iter().map(|l| (l.name, l.value)));
            let nc = r.uvarint().map_err(e)? as usize;
            let mut chunks = Vec::with_capacity(nc.min(4096));
            for _ in 0..nc {
                let min_t = r.varint().map_err(e)?;
                let span = r.uvarint().map_err(e)?;
                let offset = r.uvarint().map_err(e)?;
                let len =
                    u32::try_from(r.uvarint().map_err(e)?).map_err(|_| bad("chunk too long"))?;
                chunks.push(ChunkRef {
                    min_t,
                    max_t: min_t.wrapping_add(span as i64),
                    offset,
                    len,
                });
            }
            postings.add(id as u32, &labels);
            series.push(BlockSeries { labels, chunks });
        }
        let chunks_file = File::open(dir.join("chunks"))?;
        let size_bytes = fsutil::dir_size(dir);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            series,
            postings,
            chunks_file,
            size_bytes,
        })
    }

    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    pub fn overlaps(&self, mint: i64, maxt: i64) -> bool {
        self.meta.min_t <= maxt && self.meta.max_t > mint
    }

    fn read_chunk(&self, c: &ChunkRef) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; c.len as usize];
        self.chunks_file.read_exact_at(&mut buf, c.offset)?;
        Ok(buf)
    }

    /// Series matching the matchers with their samples in `[mint, maxt]`.
    pub fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> io::Result<Vec<Series>> {
        let mut out = Vec::new();
        for (labels, idx) in self.select_refs(matchers, mint, maxt) {
            let (samples, histograms) = self.series_samples(idx, mint, maxt)?;
            if !samples.is_empty() || !histograms.is_empty() {
                out.push(Series {
                    labels,
                    samples,
                    histograms,
                });
            }
        }
        Ok(out)
    }

    /// Matching series with a chunk overlapping the range: labels and the
    /// series' index in this block (for [`Block::series_samples`]).
    pub fn select_refs(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<(Labels, usize)> {
        self.postings
            .select(matchers)
            .into_iter()
            .filter_map(|id| Some((id as usize, self.series.get(id as usize)?)))
            .filter(|(_, s)| s.chunks.iter().any(|c| c.max_t >= mint && c.min_t <= maxt))
            .map(|(i, s)| (s.labels.clone(), i))
            .collect()
    }

    /// The float and histogram samples in `[mint, maxt]` of the series at
    /// `idx` (from [`Block::select_refs`]).
    pub fn series_samples(
        &self,
        idx: usize,
        mint: i64,
        maxt: i64,
    ) -> io::Result<(Vec<Sample>, Vec<HistogramSample>)> {
        let mut samples = Vec::new();
        let mut histograms = Vec::new();
        let Some(s) = self.series.get(idx) else {
            return Ok((samples, histograms));
        };
        for c in s
            .chunks
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
        {
            let bytes = self.read_chunk(c)?;
            if hist_chunk::is_hist_chunk(&bytes) {
                let it = hist_chunk::decode(&bytes)
                    .map_err(|e| bad(format!("{}: {e}", self.dir.display())))?;
                histograms.extend(it.filter(|h| h.t >= mint && h.t <= maxt));
                continue;
            }
            let it =
                chunk::decode(&bytes).map_err(|e| bad(format!("{}: {e}", self.dir.display())))?;
            samples.extend(
                it.filter(|(t, _)| *t >= mint && *t <= maxt)
                    .map(|(t, v)| Sample::new(t, v)),
            );
        }
        Ok((samples, histograms))
    }

    /// Label sets of matching series with a chunk overlapping the range.
    pub fn series_labels(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        self.postings
            .select(matchers)
            .into_iter()
            .filter_map(|id| self.series.get(id as usize))
            .filter(|s| s.chunks.iter().any(|c| c.max_t >= mint && c.min_t <= maxt))
            .map(|s| s.labels.clone())
            .collect()
    }

    /// Label names present in this block.
    pub fn label_names(&self) -> Vec<&str> {
        self.postings.names()
    }

    /// Values of one label present in this block.
    pub fn label_values(&self, name: &str) -> Vec<&str> {
        self.postings.values(name).collect()
    }

    /// Every series with its raw chunks (compaction).
    pub fn all_chunks(&self) -> io::Result<Vec<(Labels, Vec<Vec<u8>>)>> {
        self.series
            .iter()
            .map(|s| {
                let chunks = s
                    .chunks
                    .iter()
                    .map(|c| self.read_chunk(c))
                    .collect::<io::Result<Vec<_>>>()?;
                Ok((s.labels.clone(), chunks))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::chunk::XorChunk;
    use crate::model::MatchOp;

    #[test]
    fn write_open_select() {
        let dir = tempfile::tempdir().unwrap();
        let mut series = Vec::new();
        for job in ["a", "b"] {
            let mut c1 = XorChunk::new();
            let mut c2 = XorChunk::new();
            for i in 0..120 {
                c1.append(i * 1000, i as f64);
                c2.append(120_000 + i * 1000, (120 + i) as f64);
            }
            series.push((
                Labels::from_pairs([("__name__", "m"), ("job", job)]),
                vec![c1.bytes().to_vec(), c2.bytes().to_vec()],
            ));
        }
        let p = write_block(dir.path(), "b1", 0, 7_200_000, 1, vec![], &series).unwrap();
        assert!(!dir.path().join("b1.tmp").exists());
        let b = Block::open(&p).unwrap();
        assert_eq!(b.meta.num_series, 2);
        assert_eq!(b.meta.num_samples, 480);
        assert_eq!(b.meta.num_chunks, 4);
        let m = Matcher::new(MatchOp::Equal, "job", "b").unwrap();
        let got = b.select(&[m], 100_000, 130_000).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].samples.len(), 31);
        assert_eq!(got[0].samples[0], Sample::new(100_000, 100.0));
        assert_eq!(b.all_chunks().unwrap().len(), 2);
    }

    #[test]
    fn corrupt_index_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = XorChunk::new();
        c.append(1, 1.0);
        let series = vec![(Labels::from_pairs([("a", "b")]), vec![c.bytes().to_vec()])];
        let p = write_block(dir.path(), "b1", 0, 10, 1, vec![], &series).unwrap();
        let mut idx = fs::read(p.join("index")).unwrap();
        let mid = idx.len() / 2;
        idx[mid] ^= 0xff;
        fs::write(p.join("index"), idx).unwrap();
        assert!(Block::open(&p).is_err());
    }
}
