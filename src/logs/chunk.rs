//! The sealed chunk: a run of one stream's lines in timestamp order,
//! columnar inside (timestamps as deltas, line lengths, metadata, then the
//! lines back to back) and zstd-compressed as a whole. Decoding gives
//! borrowed [`EntryRef`]s into one buffer.

use crate::model::Label;
use crate::storage::codec::{put_str, put_uvarint, put_varint, DecodeError, Reader};

use super::source::EntryRef;
use super::walrec::StoredEntry;

/// zstd level for chunks: fast to write, about 10× on JSON logs.
const ZSTD_LEVEL: i32 = 3;

/// Encodes entries (sorted by timestamp) into a compressed chunk; returns it
/// and its raw (uncompressed) length.
pub fn encode(entries: &[&StoredEntry]) -> std::io::Result<(Vec<u8>, usize)> {
    let lines: usize = entries.iter().map(|e| e.line.len()).sum();
    let mut raw = Vec::with_capacity(lines + entries.len() * 6 + 16);
    put_uvarint(&mut raw, entries.len() as u64);
    let mut prev = 0i64;
    for (i, e) in entries.iter().enumerate() {
        if i == 0 {
            put_varint(&mut raw, e.ts_ns);
        } else {
            put_varint(&mut raw, e.ts_ns.wrapping_sub(prev));
        }
        prev = e.ts_ns;
    }
    for e in entries {
        put_uvarint(&mut raw, e.line.len() as u64);
    }
    for e in entries {
        put_uvarint(&mut raw, e.metadata.len() as u64);
        for m in e.metadata.iter() {
            put_str(&mut raw, &m.name);
            put_str(&mut raw, &m.value);
        }
    }
    for e in entries {
        raw.extend_from_slice(e.line.as_bytes());
    }
    let compressed = zstd::bulk::compress(&raw, ZSTD_LEVEL)?;
    Ok((compressed, raw.len()))
}

/// A decompressed chunk.
pub struct DecodedChunk {
    raw: Vec<u8>,
    ts: Vec<i64>,
    /// Byte ranges of the lines in `raw`.
    lines: Vec<(u32, u32)>,
    metadata: Vec<Label>,
    /// Range of each entry's metadata in `metadata`.
    md_ranges: Vec<(u32, u32)>,
}

impl DecodedChunk {
    /// Decompresses and checks a chunk of `raw_len` raw bytes.
    pub fn decode(compressed: &[u8], raw_len: usize) -> Result<DecodedChunk, DecodeError> {
        let raw = zstd::bulk::decompress(compressed, raw_len)
            .map_err(|_| DecodeError("log chunk does not decompress"))?;
        if raw.len() != raw_len {
            return Err(DecodeError("log chunk has the wrong size"));
        }
        Self::parse(raw)
    }

    fn parse(raw: Vec<u8>) -> Result<DecodedChunk, DecodeError> {
        let mut r = Reader::new(&raw);
        let n = r.uvarint()?;
        if n > r.remaining() as u64 {
            return Err(DecodeError("log chunk entry count too large"));
        }
        let n = n as usize;
        let mut ts = Vec::with_capacity(n);
        let mut prev = 0i64;
        for i in 0..n {
            let v = r.varint()?;
            prev = if i == 0 { v } else { prev.wrapping_add(v) };
            ts.push(prev);
        }
        let mut lens = Vec::with_capacity(n);
        for _ in 0..n {
            lens.push(r.uvarint()?);
        }
        let mut metadata = Vec::new();
        let mut md_ranges = Vec::with_capacity(n);
        for _ in 0..n {
            let k = r.uvarint()?;
            if k > r.remaining() as u64 {
                return Err(DecodeError("log chunk metadata count too large"));
            }
            let start = metadata.len() as u32;
            for _ in 0..k {
                let name = r.str()?.to_string();
                let value = r.str()?.to_string();
                metadata.push(Label::new(name, value));
            }
            md_ranges.push((start, metadata.len() as u32));
        }
        let mut off = raw.len() - r.remaining();
        let total: u64 = lens.iter().sum();
        if total != r.remaining() as u64 {
            return Err(DecodeError("log chunk line lengths do not add up"));
        }
        let text = std::str::from_utf8(&raw[off..])
            .map_err(|_| DecodeError("log chunk lines are not UTF-8"))?;
        let base = off;
        let mut lines = Vec::with_capacity(n);
        for len in lens {
            let end = off + len as usize;
            if !text.is_char_boundary(off - base) || !text.is_char_boundary(end - base) {
                return Err(DecodeError("log chunk line splits a character"));
            }
            lines.push((off as u32, end as u32));
            off = end;
        }
        Ok(DecodedChunk {
            raw,
            ts,
            lines,
            metadata,
            md_ranges,
        })
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn ts(&self, i: usize) -> i64 {
        self.ts[i]
    }

    /// The lines region, all lines back to back (for raw substring scans).
    pub fn line(&self, i: usize) -> &str {
        let (a, b) = self.lines[i];
        // Checked to be UTF-8 on char boundaries in `parse`.
        std::str::from_utf8(&self.raw[a as usize..b as usize]).unwrap_or("")
    }

    pub fn entry(&self, i: usize) -> EntryRef<'_> {
        let (a, b) = self.md_ranges[i];
        EntryRef {
            ts_ns: self.ts[i],
            line: self.line(i),
            metadata: &self.metadata[a as usize..b as usize],
        }
    }

    /// All lines' bytes back to back.
    pub fn text(&self) -> &[u8] {
        match (self.lines.first(), self.lines.last()) {
            (Some(f), Some(l)) => &self.raw[f.0 as usize..l.1 as usize],
            _ => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let entries: Vec<StoredEntry> = (0..100)
            .map(|i| StoredEntry {
                ts_ns: 1_700_000_000_000_000_000 + i * 1000,
                line: format!("{{\"msg\":\"line {i} é\"}}").into(),
                metadata: if i % 10 == 0 {
                    vec![Label::new("trace_id", format!("t{i}"))].into_boxed_slice()
                } else {
                    Box::new([])
                },
            })
            .collect();
        let refs: Vec<&StoredEntry> = entries.iter().collect();
        let (c, raw_len) = encode(&refs).unwrap();
        assert!(c.len() < raw_len);
        let d = DecodedChunk::decode(&c, raw_len).unwrap();
        assert_eq!(d.len(), 100);
        for (i, e) in entries.iter().enumerate() {
            let r = d.entry(i);
            assert_eq!(r.ts_ns, e.ts_ns);
            assert_eq!(r.line, &*e.line);
            assert_eq!(r.metadata, &*e.metadata);
        }
        assert!(DecodedChunk::decode(&c, raw_len + 1).is_err());
        assert!(DecodedChunk::decode(&c[..c.len() / 2], raw_len).is_err());
    }
}
