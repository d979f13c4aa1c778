//! The log WAL's record: one push's lines of one stream, with the stream's
//! labels inline (so replay never meets lines of a stream it does not know,
//! whatever order concurrent group commits reach the disk in) and the
//! push's sequence number (so replay skips what a sealed partition already
//! holds).
//!
//! Layout: `[u8 kind=1][uvarint seq][uvarint n_labels]([str name][str value])*
//! [uvarint n_entries]([varint ts_ns][str line][uvarint n_md]([str][str])*)*`.

use crate::model::{Label, Labels};
use crate::storage::codec::{put_str, put_uvarint, put_varint, DecodeError, Reader};

const KIND_ENTRIES: u8 = 1;

/// One line as the WAL and the head keep it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub ts_ns: i64,
    pub line: Box<str>,
    /// Structured metadata, sorted by name.
    pub metadata: Box<[Label]>,
}

/// Encodes one stream's lines of one push.
pub fn encode_entries(seq: u64, labels: &Labels, entries: &[StoredEntry]) -> Vec<u8> {
    let size: usize = entries
        .iter()
        .map(|e| e.line.len() + 12 + e.metadata.len() * 16)
        .sum();
    let mut buf = Vec::with_capacity(size + 64);
    buf.push(KIND_ENTRIES);
    put_uvarint(&mut buf, seq);
    put_uvarint(&mut buf, labels.len() as u64);
    for l in labels.iter() {
        put_str(&mut buf, &l.name);
        put_str(&mut buf, &l.value);
    }
    put_uvarint(&mut buf, entries.len() as u64);
    for e in entries {
        put_varint(&mut buf, e.ts_ns);
        put_str(&mut buf, &e.line);
        put_uvarint(&mut buf, e.metadata.len() as u64);
        for m in e.metadata.iter() {
            put_str(&mut buf, &m.name);
            put_str(&mut buf, &m.value);
        }
    }
    buf
}

/// A decoded record.
#[derive(Debug, PartialEq, Eq)]
pub struct EntriesRecord {
    pub seq: u64,
    pub labels: Labels,
    pub entries: Vec<StoredEntry>,
}

/// Decodes a record written by [`encode_entries`].
pub fn decode(buf: &[u8]) -> Result<EntriesRecord, DecodeError> {
    let mut r = Reader::new(buf);
    if r.u8()? != KIND_ENTRIES {
        return Err(DecodeError("unknown log WAL record kind"));
    }
    let seq = r.uvarint()?;
    let n_labels = bounded(r.uvarint()?, r.remaining())?;
    let mut pairs = Vec::with_capacity(n_labels);
    for _ in 0..n_labels {
        let name = r.str()?.to_string();
        let value = r.str()?.to_string();
        pairs.push(Label::new(name, value));
    }
    if pairs.windows(2).any(|w| w[0].name >= w[1].name) {
        return Err(DecodeError("log WAL record labels are not sorted"));
    }
    let labels = Labels::from_sorted_unchecked(pairs);
    let n = bounded(r.uvarint()?, r.remaining())?;
    let mut entries = Vec::with_capacity(n);
    for _ in 0..n {
        let ts_ns = r.varint()?;
        let line: Box<str> = r.str()?.into();
        let n_md = bounded(r.uvarint()?, r.remaining())?;
        let mut md = Vec::with_capacity(n_md);
        for _ in 0..n_md {
            let name = r.str()?.to_string();
            let value = r.str()?.to_string();
            md.push(Label::new(name, value));
        }
        entries.push(StoredEntry {
            ts_ns,
            line,
            metadata: md.into_boxed_slice(),
        });
    }
    if !r.is_empty() {
        return Err(DecodeError("trailing bytes in log WAL record"));
    }
    Ok(EntriesRecord {
        seq,
        labels,
        entries,
    })
}

/// A count read from disk may not promise more items than bytes are left.
fn bounded(n: u64, remaining: usize) -> Result<usize, DecodeError> {
    if n > remaining as u64 {
        return Err(DecodeError("count larger than the record"));
    }
    Ok(n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_damage() {
        let labels = Labels::from_pairs([("app", "wp"), ("namespace", "wordpress-staging")]);
        let entries = vec![
            StoredEntry {
                ts_ns: 1_700_000_000_000_000_001,
                line: "GET /clone 200".into(),
                metadata: vec![Label::new("trace_id", "abc")].into_boxed_slice(),
            },
            StoredEntry {
                ts_ns: -5,
                line: "".into(),
                metadata: Box::new([]),
            },
        ];
        let buf = encode_entries(42, &labels, &entries);
        let rec = decode(&buf).unwrap();
        assert_eq!(rec.seq, 42);
        assert_eq!(rec.labels, labels);
        assert_eq!(rec.entries, entries);
        for cut in 0..buf.len() {
            assert!(decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[0] = 9;
        assert!(decode(&bad).is_err());
    }
}
