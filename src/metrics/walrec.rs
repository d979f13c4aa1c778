//! The TSDB's WAL record types and their binary encoding. One record holds
//! one kind of entry for many series, so a remote-write request becomes a
//! handful of records and one group-committed write.

use crate::metrics::hist_chunk::{self, HistChunk};
use crate::model::{HistogramSample, Label, Labels};
use crate::storage::codec::{put_bytes, put_str, put_uvarint, put_varint, DecodeError, Reader};

/// A head series id, unique within a tenant's head for the life of the WAL.
pub type SeriesId = u32;

const T_SERIES: u8 = 1;
const T_SAMPLES: u8 = 2;
const T_METADATA: u8 = 3;
const T_EXEMPLARS: u8 = 4;
const T_CHUNK: u8 = 5;
const T_HISTOGRAMS: u8 = 6;

/// Metric metadata as remote-write carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricMetadata {
    pub metric_family: String,
    /// Prometheus type name: counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown.
    pub kind: String,
    pub help: String,
    pub unit: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExemplarRecord {
    pub series: SeriesId,
    pub labels: Labels,
    pub value: f64,
    pub t: i64,
}

/// One decoded WAL record.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Series(Vec<(SeriesId, Labels)>),
    Samples(Vec<(SeriesId, i64, f64)>),
    Metadata(Vec<MetricMetadata>),
    Exemplars(Vec<ExemplarRecord>),
    /// Native histogram samples.
    Histograms(Vec<(SeriesId, HistogramSample)>),
    /// A compressed chunk of one series (checkpoints only).
    Chunk {
        series: SeriesId,
        data: Vec<u8>,
    },
}

fn put_labels(buf: &mut Vec<u8>, l: &Labels) {
    put_uvarint(buf, l.len() as u64);
    for lab in l {
        put_str(buf, &lab.name);
        put_str(buf, &lab.value);
    }
}

fn get_labels(r: &mut Reader<'_>) -> Result<Labels, DecodeError> {
    let n = r.uvarint()? as usize;
    if n > r.remaining() {
        return Err(DecodeError("label count larger than record"));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?.to_string();
        let value = r.str()?.to_string();
        v.push(Label { name, value });
    }
    // Sorted on write; re-sort defensively so a corrupt record cannot break invariants.
    Ok(Labels::from_pairs(v.into_iter().map(|l| (l.name, l.value))))
}

pub fn encode_series(series: &[(SeriesId, &Labels)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + series.len() * 64);
    b.push(T_SERIES);
    put_uvarint(&mut b, series.len() as u64);
    for (id, l) in series {
        put_uvarint(&mut b, *id as u64);
        put_labels(&mut b, l);
    }
    b
}

/// Samples are written as (id, timestamp delta to the record's base, value bits).
pub fn encode_samples(samples: &[(SeriesId, i64, f64)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + samples.len() * 13);
    b.push(T_SAMPLES);
    put_uvarint(&mut b, samples.len() as u64);
    let base = samples.first().map(|s| s.1).unwrap_or(0);
    put_varint(&mut b, base);
    for (id, t, v) in samples {
        put_uvarint(&mut b, *id as u64);
        put_varint(&mut b, t.wrapping_sub(base));
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    b
}

/// Histogram samples: (id, a one-sample histogram chunk) each.
pub fn encode_histograms(samples: &[(SeriesId, &HistogramSample)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + samples.len() * 64);
    b.push(T_HISTOGRAMS);
    put_uvarint(&mut b, samples.len() as u64);
    for (id, s) in samples {
        put_uvarint(&mut b, *id as u64);
        let mut c = HistChunk::new();
        c.append(s.t, &s.h);
        put_bytes(&mut b, c.bytes());
    }
    b
}

pub fn encode_metadata(md: &[MetricMetadata]) -> Vec<u8> {
    let mut b = vec![T_METADATA];
    put_uvarint(&mut b, md.len() as u64);
    for m in md {
        put_str(&mut b, &m.metric_family);
        put_str(&mut b, &m.kind);
        put_str(&mut b, &m.help);
        put_str(&mut b, &m.unit);
    }
    b
}

pub fn encode_exemplars(ex: &[ExemplarRecord]) -> Vec<u8> {
    let mut b = vec![T_EXEMPLARS];
    put_uvarint(&mut b, ex.len() as u64);
    for e in ex {
        put_uvarint(&mut b, e.series as u64);
        put_labels(&mut b, &e.labels);
        b.extend_from_slice(&e.value.to_bits().to_le_bytes());
        put_varint(&mut b, e.t);
    }
    b
}

pub fn encode_chunk(series: SeriesId, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(data.len() + 8);
    b.push(T_CHUNK);
    put_uvarint(&mut b, series as u64);
    put_bytes(&mut b, data);
    b
}

fn series_id(r: &mut Reader<'_>) -> Result<SeriesId, DecodeError> {
    SeriesId::try_from(r.uvarint()?).map_err(|_| DecodeError("series id out of range"))
}

pub fn decode(buf: &[u8]) -> Result<Record, DecodeError> {
    let mut r = Reader::new(buf);
    let kind = r.u8()?;
    match kind {
        T_SERIES => {
            let n = r.uvarint()? as usize;
            let mut out = Vec::with_capacity(n.min(r.remaining()));
            for _ in 0..n {
                let id = series_id(&mut r)?;
                out.push((id, get_labels(&mut r)?));
            }
            Ok(Record::Series(out))
        }
        T_SAMPLES => {
            let n = r.uvarint()? as usize;
            let base = r.varint()?;
            let mut out = Vec::with_capacity(n.min(r.remaining() / 10 + 1));
            for _ in 0..n {
                let id = series_id(&mut r)?;
                let t = base.wrapping_add(r.varint()?);
                let v = r.f64()?;
                out.push((id, t, v));
            }
            Ok(Record::Samples(out))
        }
        T_METADATA => {
            let n = r.uvarint()? as usize;
            let mut out = Vec::with_capacity(n.min(r.remaining()));
            for _ in 0..n {
                out.push(MetricMetadata {
                    metric_family: r.str()?.to_string(),
                    kind: r.str()?.to_string(),
                    help: r.str()?.to_string(),
                    unit: r.str()?.to_string(),
                });
            }
            Ok(Record::Metadata(out))
        }
        T_EXEMPLARS => {
            let n = r.uvarint()? as usize;
            let mut out = Vec::with_capacity(n.min(r.remaining()));
            for _ in 0..n {
                let series = series_id(&mut r)?;
                let labels = get_labels(&mut r)?;
                let value = r.f64()?;
                let t = r.varint()?;
                out.push(ExemplarRecord {
                    series,
                    labels,
                    value,
                    t,
                });
            }
            Ok(Record::Exemplars(out))
        }
        T_HISTOGRAMS => {
            let n = r.uvarint()? as usize;
            let mut out = Vec::with_capacity(n.min(r.remaining()));
            for _ in 0..n {
                let id = series_id(&mut r)?;
                let mut it = hist_chunk::decode(r.bytes()?)?;
                let s = it.next().ok_or(DecodeError("empty histogram sample"))?;
                out.push((id, s));
            }
            Ok(Record::Histograms(out))
        }
        T_CHUNK => {
            let series = series_id(&mut r)?;
            let data = r.bytes()?.to_vec();
            Ok(Record::Chunk { series, data })
        }
        _ => Err(DecodeError("unknown record type")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
        let r = decode(&encode_series(&[(7, &l)])).unwrap();
        assert_eq!(r, Record::Series(vec![(7, l.clone())]));
        let s = vec![(1, 1000, 1.5), (2, 999, f64::INFINITY), (3, -5, -0.0)];
        match decode(&encode_samples(&s)).unwrap() {
            Record::Samples(got) => {
                assert_eq!(got.len(), 3);
                for (a, b) in got.iter().zip(&s) {
                    assert_eq!((a.0, a.1, a.2.to_bits()), (b.0, b.1, b.2.to_bits()));
                }
            }
            other => panic!("unexpected {other:?}"),
        }
        let md = vec![MetricMetadata {
            metric_family: "up".into(),
            kind: "gauge".into(),
            help: "h".into(),
            unit: "".into(),
        }];
        assert_eq!(decode(&encode_metadata(&md)).unwrap(), Record::Metadata(md));
        let ex = vec![ExemplarRecord {
            series: 3,
            labels: l.clone(),
            value: 2.0,
            t: 5,
        }];
        assert_eq!(
            decode(&encode_exemplars(&ex)).unwrap(),
            Record::Exemplars(ex)
        );
        assert_eq!(
            decode(&encode_chunk(9, &[1, 2, 3])).unwrap(),
            Record::Chunk {
                series: 9,
                data: vec![1, 2, 3]
            }
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[99]).is_err());
        let mut b = encode_samples(&[(1, 1, 1.0)]);
        b.truncate(b.len() - 3);
        assert!(decode(&b).is_err());
        assert!(decode(&[T_SERIES, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    }
}
