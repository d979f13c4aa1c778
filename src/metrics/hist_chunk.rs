//! The native-histogram chunk: a compact, append-only encoding of one
//! series' histogram samples, used in the head, in checkpoints and in
//! blocks next to the Gorilla float chunks (see [`super::chunk`]).
//!
//! Layout: the marker byte [`HIST_CHUNK_MARKER`] (a float chunk starts with
//! the high byte of its sample count, always 0 for our chunk sizes, so the
//! two never collide), then one record per sample:
//!
//! - the timestamp: a zigzag varint, absolute for the first sample and
//!   after that the change of the interval between samples (delta of
//!   delta, one byte for regular scrapes);
//! - a flags byte: bit 0 set when the bucket layout (schema, zero threshold,
//!   spans, custom bounds) repeats the previous sample's; bits 1–2 the
//!   counter-reset hint;
//! - the layout when it changed;
//! - count, sum, zero count, then every positive and negative bucket count,
//!   each coded against the same field of the previous sample (0 for a
//!   new layout): a whole-number difference of whole numbers as a tagged
//!   zigzag varint (one byte for small increments, the usual case for
//!   counters), the same bits as a one-byte tag, anything else as the raw
//!   float.
//!
//! Integer histograms (the common case) therefore cost one or two bytes per
//! bucket per sample, plus about ten for the float `sum`.

use crate::model::histogram::{CounterResetHint, FloatHistogram, HistogramSample, Span};
use crate::storage::codec::{put_uvarint, put_varint, DecodeError, Reader};

/// First byte of every histogram chunk.
pub const HIST_CHUNK_MARKER: u8 = 0xF1;

const FLAG_SAME_LAYOUT: u8 = 1;
const TAG_RAW: u64 = 1;
const TAG_SAME: u64 = 3;
/// Largest magnitude for which whole-number floats are coded as integers.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Whether chunk bytes hold histograms (rather than Gorilla floats).
pub fn is_hist_chunk(bytes: &[u8]) -> bool {
    bytes.first() == Some(&HIST_CHUNK_MARKER)
}

/// An open histogram chunk being appended to.
#[derive(Clone, Debug, Default)]
pub struct HistChunk {
    bytes: Vec<u8>,
    num: usize,
    first_t: Option<i64>,
    last_t: i64,
    last_dt: i64,
    prev: Option<Box<FloatHistogram>>,
}

impl HistChunk {
    pub fn new() -> Self {
        HistChunk::default()
    }

    pub fn num_samples(&self) -> usize {
        self.num
    }

    pub fn first_t(&self) -> Option<i64> {
        self.first_t
    }

    pub fn last_t(&self) -> Option<i64> {
        self.first_t.map(|_| self.last_t)
    }

    /// The newest histogram appended.
    pub fn last(&self) -> Option<&FloatHistogram> {
        self.prev.as_deref()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn size_bytes(&self) -> usize {
        self.bytes.capacity()
            + self.prev.as_ref().map_or(0, |h| {
                std::mem::size_of::<FloatHistogram>()
                    + 8 * (h.positive_buckets.len() + h.negative_buckets.len())
            })
    }

    /// The encoded chunk (its encoder state is dropped).
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Appends a sample; timestamps must increase (the caller checks).
    pub fn append(&mut self, t: i64, h: &FloatHistogram) {
        if self.first_t.is_none() {
            self.bytes.push(HIST_CHUNK_MARKER);
            put_varint(&mut self.bytes, t);
            self.first_t = Some(t);
        } else {
            let dt = t.wrapping_sub(self.last_t);
            put_varint(&mut self.bytes, dt.wrapping_sub(self.last_dt));
            self.last_dt = dt;
        }
        self.last_t = t;
        let prev = self.prev.as_deref().filter(|p| same_layout(p, h));
        let mut flags = hint_bits(h.counter_reset_hint) << 1;
        if prev.is_some() {
            flags |= FLAG_SAME_LAYOUT;
        }
        self.bytes.push(flags);
        if prev.is_none() {
            put_layout(&mut self.bytes, h);
        }
        let b = &mut self.bytes;
        put_value(b, h.count, prev.map_or(0.0, |p| p.count));
        put_value(b, h.sum, prev.map_or(0.0, |p| p.sum));
        put_value(b, h.zero_count, prev.map_or(0.0, |p| p.zero_count));
        for (i, v) in h.positive_buckets.iter().enumerate() {
            put_value(b, *v, prev.map_or(0.0, |p| p.positive_buckets[i]));
        }
        for (i, v) in h.negative_buckets.iter().enumerate() {
            put_value(b, *v, prev.map_or(0.0, |p| p.negative_buckets[i]));
        }
        self.num += 1;
        match &mut self.prev {
            Some(p) => (**p).clone_from(h),
            None => self.prev = Some(Box::new(h.clone())),
        }
    }
}

fn same_layout(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.schema == b.schema
        && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.positive_buckets.len() == b.positive_buckets.len()
        && a.negative_buckets.len() == b.negative_buckets.len()
        && a.custom_values.len() == b.custom_values.len()
        && a.custom_values
            .iter()
            .zip(&b.custom_values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fn hint_bits(h: CounterResetHint) -> u8 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_of(bits: u8) -> CounterResetHint {
    match bits & 3 {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    }
}

fn put_spans(b: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(b, spans.len() as u64);
    for s in spans {
        put_varint(b, i64::from(s.offset));
        put_uvarint(b, u64::from(s.length));
    }
}

fn put_layout(b: &mut Vec<u8>, h: &FloatHistogram) {
    put_varint(b, i64::from(h.schema));
    b.extend_from_slice(&h.zero_threshold.to_bits().to_le_bytes());
    put_spans(b, &h.positive_spans);
    put_uvarint(b, h.positive_buckets.len() as u64);
    put_spans(b, &h.negative_spans);
    put_uvarint(b, h.negative_buckets.len() as u64);
    put_uvarint(b, h.custom_values.len() as u64);
    for v in &h.custom_values {
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

fn is_exact_int(v: f64) -> bool {
    v.fract() == 0.0 && v.abs() < MAX_EXACT_INT
}

fn put_value(b: &mut Vec<u8>, v: f64, prev: f64) {
    if v.to_bits() == prev.to_bits() {
        put_uvarint(b, TAG_SAME);
    } else if is_exact_int(v) && is_exact_int(prev) {
        let d = (v - prev) as i64;
        let zz = ((d << 1) ^ (d >> 63)) as u64;
        put_uvarint(b, zz << 1);
    } else {
        put_uvarint(b, TAG_RAW);
        b.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

fn get_value(r: &mut Reader<'_>, prev: f64) -> Result<f64, DecodeError> {
    let u = r.uvarint()?;
    if u & 1 == 0 {
        let zz = u >> 1;
        let d = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        return Ok(prev + d as f64);
    }
    match u {
        TAG_SAME => Ok(prev),
        TAG_RAW => r.f64(),
        _ => Err(DecodeError("unknown histogram value tag")),
    }
}

fn get_spans(r: &mut Reader<'_>) -> Result<Vec<Span>, DecodeError> {
    let n = r.uvarint()? as usize;
    if n > r.remaining() {
        return Err(DecodeError("span count larger than chunk"));
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let offset =
            i32::try_from(r.varint()?).map_err(|_| DecodeError("span offset out of range"))?;
        let length =
            u32::try_from(r.uvarint()?).map_err(|_| DecodeError("span length out of range"))?;
        v.push(Span { offset, length });
    }
    Ok(v)
}

fn get_count(r: &mut Reader<'_>) -> Result<usize, DecodeError> {
    let n = r.uvarint()? as usize;
    if n > r.remaining() {
        return Err(DecodeError("bucket count larger than chunk"));
    }
    Ok(n)
}

/// Reads a layout into `h`, zeroing its values.
fn get_layout(r: &mut Reader<'_>, h: &mut FloatHistogram) -> Result<(), DecodeError> {
    h.schema = i32::try_from(r.varint()?).map_err(|_| DecodeError("schema out of range"))?;
    h.zero_threshold = r.f64()?;
    h.positive_spans = get_spans(r)?;
    h.positive_buckets = vec![0.0; get_count(r)?];
    h.negative_spans = get_spans(r)?;
    h.negative_buckets = vec![0.0; get_count(r)?];
    let n = get_count(r)?;
    h.custom_values = (0..n).map(|_| r.f64()).collect::<Result<_, _>>()?;
    h.count = 0.0;
    h.sum = 0.0;
    h.zero_count = 0.0;
    Ok(())
}

/// Iterates the samples of a histogram chunk.
pub struct HistIter<'a> {
    r: Reader<'a>,
    started: bool,
    t: i64,
    dt: i64,
    cur: FloatHistogram,
    failed: bool,
}

/// Decodes a histogram chunk; fails if the marker is missing.
pub fn decode(bytes: &[u8]) -> Result<HistIter<'_>, DecodeError> {
    if !is_hist_chunk(bytes) {
        return Err(DecodeError("not a histogram chunk"));
    }
    Ok(HistIter {
        r: Reader::new(&bytes[1..]),
        started: false,
        t: 0,
        dt: 0,
        cur: FloatHistogram::default(),
        failed: false,
    })
}

impl HistIter<'_> {
    fn next_sample(&mut self) -> Result<HistogramSample, DecodeError> {
        let v = self.r.varint()?;
        if self.started {
            self.dt = self.dt.wrapping_add(v);
            self.t = self.t.wrapping_add(self.dt);
        } else {
            self.t = v;
        }
        self.started = true;
        let flags = self.r.u8()?;
        if flags & FLAG_SAME_LAYOUT == 0 {
            get_layout(&mut self.r, &mut self.cur)?;
        }
        let h = &mut self.cur;
        h.counter_reset_hint = hint_of(flags >> 1);
        h.count = get_value(&mut self.r, h.count)?;
        h.sum = get_value(&mut self.r, h.sum)?;
        h.zero_count = get_value(&mut self.r, h.zero_count)?;
        for v in h.positive_buckets.iter_mut() {
            *v = get_value(&mut self.r, *v)?;
        }
        for v in h.negative_buckets.iter_mut() {
            *v = get_value(&mut self.r, *v)?;
        }
        Ok(HistogramSample {
            t: self.t,
            h: Box::new(h.clone()),
        })
    }

    /// Whether decoding stopped on corrupt data (rather than the end).
    pub fn failed(&self) -> bool {
        self.failed
    }
}

impl Iterator for HistIter<'_> {
    type Item = HistogramSample;

    fn next(&mut self) -> Option<HistogramSample> {
        if self.failed || self.r.is_empty() {
            return None;
        }
        match self.next_sample() {
            Ok(s) => Some(s),
            Err(_) => {
                self.failed = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(count: f64, sum: f64, buckets: Vec<f64>) -> FloatHistogram {
        FloatHistogram {
            schema: 1,
            zero_threshold: 1e-128,
            zero_count: 1.0,
            count,
            sum,
            positive_spans: vec![Span {
                offset: -1,
                length: buckets.len() as u32,
            }],
            positive_buckets: buckets,
            ..Default::default()
        }
    }

    #[test]
    fn round_trips_counters_gauges_and_layout_changes() {
        let mut samples = Vec::new();
        for i in 0..50 {
            let f = i as f64;
            samples.push((1000 + i * 15_000, hist(3.0 * f, 0.1 * f, vec![f, f, f])));
        }
        // A layout change (new bucket), a float-valued gauge, custom bounds.
        samples.push((800_000, hist(200.0, 5.5, vec![50.0, 60.0, 70.0, 20.0])));
        let mut g = hist(1.5, -2.25, vec![0.5, 1.0]);
        g.counter_reset_hint = CounterResetHint::Gauge;
        g.negative_spans = vec![Span {
            offset: 2,
            length: 1,
        }];
        g.negative_buckets = vec![0.25];
        samples.push((815_000, g));
        samples.push((
            830_000,
            FloatHistogram {
                schema: crate::model::histogram::CUSTOM_BUCKETS_SCHEMA,
                count: 4.0,
                sum: 10.0,
                positive_spans: vec![Span {
                    offset: 0,
                    length: 2,
                }],
                positive_buckets: vec![1.0, 3.0],
                custom_values: vec![0.5, 1.0],
                counter_reset_hint: CounterResetHint::CounterReset,
                ..Default::default()
            },
        ));
        let mut c = HistChunk::new();
        for (t, h) in &samples {
            c.append(*t, h);
        }
        assert_eq!(c.num_samples(), samples.len());
        assert_eq!(c.first_t(), Some(1000));
        assert_eq!(c.last_t(), Some(830_000));
        let bytes = c.into_bytes();
        assert!(is_hist_chunk(&bytes));
        let got: Vec<(i64, FloatHistogram)> =
            decode(&bytes).unwrap().map(|s| (s.t, *s.h)).collect();
        assert_eq!(got, samples);
        // Integer counters cost a few bytes per sample: 3 buckets + count +
        // zero count at 1 byte, the float sum at 9, timestamp and flags 1.
        // 50 regular samples at 16 bytes, 3 irregular ones with layouts.
        assert!(bytes.len() <= 50 * 16 + 160, "{} bytes", bytes.len());
    }

    #[test]
    fn truncated_chunks_end_without_panicking() {
        let mut c = HistChunk::new();
        for i in 0..5 {
            c.append(i * 1000, &hist(i as f64, 1.5, vec![1.0, 2.0]));
        }
        let bytes = c.into_bytes();
        for cut in 1..bytes.len() {
            let mut it = decode(&bytes[..cut]).unwrap();
            let n = it.by_ref().count();
            assert!(n < 5 || cut == bytes.len());
        }
        assert!(decode(&[0, 1, 2]).is_err());
    }
}
