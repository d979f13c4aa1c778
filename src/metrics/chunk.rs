//! Gorilla float chunks: the Prometheus XOR chunk encoding (delta-of-delta
//! millisecond timestamps, XOR-compressed `f64` values), its append-only
//! encoder [`XorChunk`] and its decoder [`XorIter`] / [`decode`].
//!
//! The byte layout is the one Prometheus writes (`chunkenc.XORChunk`), so
//! chunks are interchangeable with Prometheus' own:
//!
//! * 2 bytes: big-endian sample count;
//! * sample 0: timestamp as a zig-zag varint, value as 64 raw bits;
//! * sample 1: timestamp delta as a uvarint, value XOR-encoded;
//! * sample n ≥ 2: delta-of-delta of the timestamp in one of the buckets
//!   `0` (dod = 0), `10` + 14 bits, `110` + 17 bits, `1110` + 20 bits or
//!   `1111` + 64 bits; value XOR-encoded.
//!
//! A value is XOR-ed with the previous one: `0` when equal; `10` + the
//! meaningful bits when they fit in the previous leading/trailing-zero
//! window; else `11` + leading zeros (5 bits) + significant bits (6 bits,
//! 0 meaning 64) + the significant bits.
//!
//! All timestamp arithmetic wraps, so any sequence of `i64` timestamps
//! round-trips bit-exactly, and so does every `f64` bit pattern (NaN
//! payloads such as the staleness marker, ±Inf, -0.0).
//!
//! Decoding never panics: truncated or corrupt bytes end the iteration with
//! an error that [`XorIter::err`] reports.

use std::fmt;
use std::iter::FusedIterator;

/// The most samples one chunk can hold (the header count is a `u16`).
pub const MAX_SAMPLES: usize = u16::MAX as usize;

/// Bytes of the sample-count header.
const HEADER_LEN: usize = 2;

/// Bytes kept writable (and zero) past the encoded data before each append.
/// One append writes at most 4 + 64 + 13 + 64 bits (< 19 bytes), and every
/// single write touches an 8-byte window.
const SLACK: usize = 32;

/// Initial buffer size, as in Prometheus: a 120-sample chunk of a regular
/// series fits in it or needs one or two doublings.
const INITIAL_LEN: usize = 128;

/// Sentinel for "no leading/trailing window yet".
const NO_WINDOW: u8 = 0xff;

/// Why chunk bytes could not be decoded (or a sample not appended).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    /// The bytes end before the samples announced by the header do.
    #[error("chunk data is truncated")]
    Truncated,
    /// The bytes are not a valid XOR chunk.
    #[error("chunk data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The chunk already holds [`MAX_SAMPLES`] samples.
    #[error("chunk is full ({MAX_SAMPLES} samples)")]
    Full,
}

/// An append-only XOR chunk that can also be read while it grows.
#[derive(Clone)]
pub struct XorChunk {
    /// Encoded bytes, followed by zero bytes (at least `SLACK` of them
    /// before each append).
    buf: Vec<u8>,
    /// The byte where the pending bits in `acc` start.
    byte: usize,
    /// Pending bits (fewer than 8 of them, left-aligned), also already
    /// stored at `buf[byte..]`: writes only store, never load, the buffer.
    acc: u64,
    /// Number of pending bits in `acc` (0..8).
    nacc: u32,
    count: u16,
    first_t: i64,
    t: i64,
    /// Bits of the last value.
    v: u64,
    /// Last timestamp delta (wrapping).
    t_delta: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for XorChunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XorChunk")
            .field("samples", &self.count)
            .field("first_t", &self.first_t())
            .field("last_t", &self.last_t())
            .field("bytes", &self.bytes().len())
            .finish()
    }
}

impl XorChunk {
    /// An empty chunk (its bytes are the 2-byte header `[0, 0]`).
    pub fn new() -> Self {
        XorChunk {
            buf: vec![0; INITIAL_LEN],
            byte: HEADER_LEN,
            acc: 0,
            nacc: 0,
            count: 0,
            first_t: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
        }
    }

    /// Reopens encoded chunk bytes for appending, restoring the encoder
    /// state by decoding every sample (as Prometheus' `Appender()` does).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ChunkError> {
        let mut it = decode(bytes)?;
        for _ in it.by_ref() {}
        if let Some(e) = it.err() {
            return Err(e);
        }
        let bit_len = it.bit_pos();
        let byte_len = bit_len.div_ceil(8);
        let mut buf = Vec::with_capacity((byte_len + SLACK).max(INITIAL_LEN));
        buf.extend_from_slice(bytes.get(..byte_len).ok_or(ChunkError::Truncated)?);
        let nacc = (bit_len % 8) as u32;
        let mut acc = 0;
        if nacc != 0 {
            if let Some(last) = buf.last_mut() {
                // Clear the padding bits after the data.
                *last &= 0xffu8 << (8 - nacc);
                acc = (*last as u64) << 56;
            }
        }
        buf.resize(byte_len + SLACK, 0);
        let mut c = XorChunk {
            buf,
            byte: bit_len / 8,
            acc,
            nacc,
            count: it.total,
            first_t: it.first_t,
            t: it.t,
            v: it.v,
            t_delta: it.t_delta,
            leading: it.leading,
            trailing: it.trailing,
        };
        if c.count < 2 {
            c.leading = NO_WINDOW;
            c.trailing = 0;
        }
        Ok(c)
    }

    /// Appends a sample. The caller keeps timestamps non-decreasing (equal
    /// timestamps are fine); the encoding itself round-trips any sequence.
    ///
    /// # Panics
    /// If the chunk already holds [`MAX_SAMPLES`] samples; see
    /// [`XorChunk::try_append`] and [`XorChunk::is_full`].
    #[inline]
    pub fn append(&mut self, t: i64, v: f64) {
        if self.try_append(t, v).is_err() {
            panic!("XorChunk::append on a full chunk ({MAX_SAMPLES} samples)");
        }
    }

    /// Appends a sample, or fails with [`ChunkError::Full`].
    #[inline]
    pub fn try_append(&mut self, t: i64, v: f64) -> Result<(), ChunkError> {
        let count = self.count;
        let vb = v.to_bits();
        let need = self.byte + SLACK;
        if self.buf.len() < need {
            grow(&mut self.buf, need);
        }
        match count {
            0 => {
                self.write_bytes_varint(zigzag(t));
                self.write_bits(vb >> 32, 32);
                self.write_bits(vb & 0xffff_ffff, 32);
                self.first_t = t;
            }
            1 => {
                let delta = (t as u64).wrapping_sub(self.t as u64);
                self.write_bytes_varint(delta);
                self.write_value(vb);
                self.t_delta = delta;
            }
            u16::MAX => return Err(ChunkError::Full),
            _ => {
                let delta = (t as u64).wrapping_sub(self.t as u64);
                let dod = delta.wrapping_sub(self.t_delta) as i64;
                let (head, head_len, tail, tail_len) = self.value_code(vb);
                match dod_code(dod) {
                    // Timestamp and value head in one write when they fit.
                    Some((code, len)) if len + head_len <= 56 => {
                        self.write_bits((code << head_len) | head, len + head_len)
                    }
                    Some((code, len)) => {
                        self.write_bits(code, len);
                        self.write_bits(head, head_len);
                    }
                    None => {
                        let u = dod as u64;
                        self.write_bits((0b1111 << 28) | (u >> 36), 32);
                        self.write_bits(u & mask(36), 36);
                        self.write_bits(head, head_len);
                    }
                }
                if tail_len > 0 {
                    self.write_bits(tail, tail_len);
                }
                self.t_delta = delta;
            }
        }
        self.t = t;
        self.v = vb;
        self.count = count + 1;
        if let Some(header) = self.buf.first_chunk_mut::<HEADER_LEN>() {
            *header = (count + 1).to_be_bytes();
        }
        Ok(())
    }

    pub fn num_samples(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_full(&self) -> bool {
        self.count as usize >= MAX_SAMPLES
    }

    pub fn first_t(&self) -> Option<i64> {
        (self.count > 0).then_some(self.first_t)
    }

    pub fn last_t(&self) -> Option<i64> {
        (self.count > 0).then_some(self.t)
    }

    pub fn last_v(&self) -> Option<f64> {
        (self.count > 0).then(|| f64::from_bits(self.v))
    }

    /// The serialised chunk (header, samples, zero padding to a whole byte):
    /// what [`decode`] reads back.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.byte_len()]
    }

    /// The serialised chunk as an exactly-sized vector.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.buf.truncate(self.byte_len());
        self.buf.shrink_to_fit();
        self.buf
    }

    /// Heap bytes held by the chunk.
    pub fn size_bytes(&self) -> usize {
        self.buf.capacity() + std::mem::size_of::<Self>()
    }

    /// Iterates the samples appended so far.
    #[inline]
    pub fn iter(&self) -> XorIter<'_> {
        // Our own bytes always have a valid header; if that ever failed the
        // iterator would simply report the error.
        decode(self.bytes()).unwrap_or_else(XorIter::failed)
    }

    /// Length of the serialised chunk.
    fn byte_len(&self) -> usize {
        self.byte + self.nacc.div_ceil(8) as usize
    }

    /// Appends the low `n` bits of `v` (1 ≤ n ≤ 56, higher bits zero).
    /// `buf` must extend 8 bytes past `self.byte`.
    #[inline(always)]
    fn write_bits(&mut self, v: u64, n: u32) {
        debug_assert!((1..=56).contains(&n) && v >> n == 0);
        let nbits = self.nacc + n; // ≤ 63
        let acc = self.acc | (v << (64 - nbits));
        match self
            .buf
            .get_mut(self.byte..)
            .and_then(|s| s.first_chunk_mut::<8>())
        {
            Some(slot) => *slot = acc.to_be_bytes(),
            None => unreachable!("XorChunk slack invariant broken"),
        }
        let full = nbits >> 3;
        self.byte += full as usize;
        self.acc = acc << (full * 8);
        self.nacc = nbits & 7;
    }

    #[inline]
    fn write_bytes_varint(&mut self, mut x: u64) {
        while x >= 0x80 {
            self.write_bits((x & 0x7f) | 0x80, 8);
            x >>= 7;
        }
        self.write_bits(x, 8);
    }

    #[inline(always)]
    fn write_value(&mut self, vb: u64) {
        let (head, head_len, tail, tail_len) = self.value_code(vb);
        self.write_bits(head, head_len);
        if tail_len > 0 {
            self.write_bits(tail, tail_len);
        }
    }

    /// The XOR encoding of value bits `vb` after the previous value, as a
    /// head of 1 to 56 bits and a tail of 0 or 32 more, updating the
    /// leading/trailing-zero window.
    #[inline(always)]
    fn value_code(&mut self, vb: u64) -> (u64, u32, u64, u32) {
        let delta = vb ^ self.v;
        if delta == 0 {
            return (0, 1, 0, 0);
        }
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != NO_WINDOW && leading >= self.leading && trailing >= self.trailing {
            let sig = 64 - self.leading as u32 - self.trailing as u32;
            let payload = delta >> self.trailing;
            split_code(0b10, 2, payload, sig)
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let sig = 64 - leading as u32 - trailing as u32;
            // 6 bits of `sig`: 64 is written as 0.
            let ctrl = (0b11 << 11) | ((leading as u64) << 6) | (sig as u64 & 63);
            let payload = delta >> trailing;
            split_code(ctrl, 13, payload, sig)
        }
    }
}

/// `ctrl` (`ctrl_len` ≤ 13 bits) then `payload` (`sig` bits) as a head of
/// at most 56 bits and a tail of 0 or 32 bits.
#[inline(always)]
fn split_code(ctrl: u64, ctrl_len: u32, payload: u64, sig: u32) -> (u64, u32, u64, u32) {
    if ctrl_len + sig <= 56 {
        ((ctrl << sig) | payload, ctrl_len + sig, 0, 0)
    } else {
        let hi = sig - 32;
        (
            (ctrl << hi) | (payload >> 32),
            ctrl_len + hi,
            payload & 0xffff_ffff,
            32,
        )
    }
}

/// The delta-of-delta bucket code and its length in bits, for all but the
/// 64-bit bucket.
#[inline(always)]
fn dod_code(dod: i64) -> Option<(u64, u32)> {
    let u = dod as u64;
    if dod == 0 {
        Some((0, 1))
    } else if bit_range(dod, 14) {
        Some(((0b10 << 14) | (u & mask(14)), 16))
    } else if bit_range(dod, 17) {
        Some(((0b110 << 17) | (u & mask(17)), 20))
    } else if bit_range(dod, 20) {
        Some(((0b1110 << 20) | (u & mask(20)), 24))
    } else {
        None
    }
}

/// Extends a chunk buffer with zeros to at least `need` bytes. (A free
/// function so the chunk's address doesn't escape from inlined appends.)
#[cold]
#[inline(never)]
fn grow(buf: &mut Vec<u8>, need: usize) {
    let len = need.max(buf.len() * 2);
    buf.resize(len, 0);
}

#[inline(always)]
fn mask(n: u32) -> u64 {
    (1u64 << n) - 1
}

/// Can `x` be written in `nbits` bits (Prometheus' asymmetric range
/// `[-(2^(n-1) - 1), 2^(n-1)]`)?
#[inline(always)]
fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

#[inline]
fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

#[inline]
fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Reads a Go-style uvarint at `*pos`, advancing it.
fn read_uvarint(bytes: &[u8], pos: &mut usize) -> Result<u64, ChunkError> {
    let mut x = 0u64;
    let mut shift = 0u32;
    for i in 0..10 {
        let b = *bytes.get(*pos).ok_or(ChunkError::Truncated)?;
        *pos += 1;
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Err(ChunkError::Corrupt("varint overflows 64 bits"));
            }
            return Ok(x | (b as u64) << shift);
        }
        x |= ((b & 0x7f) as u64) << shift;
        shift += 7;
    }
    Err(ChunkError::Corrupt("varint overflows 64 bits"))
}

/// The 8 bytes at `pos`, zero-padded past the end of `buf`, for the last
/// few bytes of a chunk (hot for well-compressed chunks, so no memcpy).
#[inline(always)]
fn tail_word(buf: &[u8], pos: usize) -> u64 {
    if pos >= buf.len() {
        return 0;
    }
    match buf.last_chunk::<8>() {
        // pos < len < pos + 8: shift off the bytes before `pos`.
        Some(last) => u64::from_be_bytes(*last) << (8 * (pos + 8 - buf.len())),
        None => short_word(buf, pos),
    }
}

/// `tail_word` for buffers shorter than 8 bytes.
#[cold]
#[inline(never)]
fn short_word(buf: &[u8], pos: usize) -> u64 {
    let mut w = 0u64;
    for (i, &b) in buf.iter().skip(pos).take(8).enumerate() {
        w |= (b as u64) << (56 - 8 * i);
    }
    w
}

/// MSB-first bit reader over a byte slice. `acc` holds `nbits` unread bits
/// left-aligned (the bits below them are the following stream bits or zero);
/// the next byte to load is `pos`. Past the end of `buf` it reads zeros, and
/// the caller checks [`BitReader::overran`].
#[derive(Clone)]
struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize,
    acc: u64,
    nbits: u32,
}

impl<'a> BitReader<'a> {
    fn new(buf: &'a [u8], pos: usize) -> Self {
        BitReader {
            buf,
            pos,
            acc: 0,
            nbits: 0,
        }
    }

    /// Tops the accumulator up to at least 56 bits.
    #[inline(always)]
    fn refill(&mut self) {
        let w = match self.buf.get(self.pos..).and_then(|s| s.first_chunk::<8>()) {
            Some(c) => u64::from_be_bytes(*c),
            None => tail_word(self.buf, self.pos),
        };
        self.acc |= w >> self.nbits;
        self.pos += ((63 - self.nbits) >> 3) as usize;
        self.nbits |= 56;
    }

    /// Drops `n` bits (n ≤ nbits).
    #[inline(always)]
    fn consume(&mut self, n: u32) {
        self.acc <<= n;
        self.nbits -= n;
    }

    /// Reads `n` bits, 1 ≤ n ≤ nbits.
    #[inline(always)]
    fn read(&mut self, n: u32) -> u64 {
        let v = self.acc >> (64 - n);
        self.consume(n);
        v
    }

    /// Reads `n` bits, 1 ≤ n ≤ 64, refilling as needed.
    #[inline(always)]
    fn read_long(&mut self, n: u32) -> u64 {
        if n <= self.nbits {
            self.read(n)
        } else {
            self.refill();
            if n <= 56 {
                self.read(n)
            } else {
                let hi = self.read(n - 32);
                self.refill();
                (hi << 32) | self.read(32)
            }
        }
    }

    /// Bits consumed from the start of `buf`.
    #[inline(always)]
    fn bit_pos(&self) -> usize {
        self.pos * 8 - self.nbits as usize
    }

    /// Did the reads go past the end of the data?
    #[inline(always)]
    fn overran(&self) -> bool {
        self.pos > self.buf.len() && self.bit_pos() > self.buf.len() * 8
    }
}

/// Iterator over the `(timestamp, value)` samples of an XOR chunk.
///
/// On truncated or corrupt data it stops early and [`XorIter::err`] tells why.
#[derive(Clone)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    first_t: i64,
    t: i64,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    err: Option<ChunkError>,
}

/// Opens sealed chunk bytes (as produced by [`XorChunk::bytes`]) for
/// reading. Errors if the header or the first two samples' byte-aligned
/// parts are missing or malformed; later problems stop the iterator with
/// [`XorIter::err`] set. Bytes after the last sample are ignored.
#[inline]
pub fn decode(bytes: &[u8]) -> Result<XorIter<'_>, ChunkError> {
    let header = bytes.first_chunk::<2>().ok_or(ChunkError::Truncated)?;
    let total = u16::from_be_bytes(*header);
    let mut pos = HEADER_LEN;
    let mut it = XorIter::at(bytes, pos, total, None);
    if total >= 1 {
        it.t = unzigzag(read_uvarint(bytes, &mut pos)?);
        it.first_t = it.t;
        let v = bytes
            .get(pos..)
            .and_then(|s| s.first_chunk::<8>())
            .ok_or(ChunkError::Truncated)?;
        it.v = u64::from_be_bytes(*v);
        pos += 8;
        if total >= 2 {
            it.t_delta = read_uvarint(bytes, &mut pos)?;
        }
        it.r = BitReader::new(bytes, pos);
    }
    Ok(it)
}

/// An iterator over no samples.
pub fn empty_iter() -> XorIter<'static> {
    XorIter::at(&[], 0, 0, None)
}

impl<'a> XorIter<'a> {
    /// A reader positioned at bit-stream byte `pos` of a chunk of `total` samples.
    fn at(bytes: &'a [u8], pos: usize, total: u16, err: Option<ChunkError>) -> Self {
        XorIter {
            r: BitReader::new(bytes, pos),
            total,
            read: 0,
            first_t: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: NO_WINDOW,
            trailing: 0,
            err,
        }
    }

    /// An iterator that yields nothing and reports `e`.
    fn failed(e: ChunkError) -> Self {
        Self::at(&[], 0, 0, Some(e))
    }

    /// The error that stopped the iteration, if any.
    pub fn err(&self) -> Option<ChunkError> {
        self.err
    }

    /// The sample count the chunk header announces.
    pub fn num_samples(&self) -> usize {
        self.total as usize
    }

    /// Samples not yet yielded (if the data is intact).
    pub fn remaining(&self) -> usize {
        (self.total - self.read) as usize
    }

    /// Bits consumed so far, header included.
    fn bit_pos(&self) -> usize {
        self.r.bit_pos()
    }

    #[inline(always)]
    fn fail(&mut self, e: ChunkError) -> Option<(i64, f64)> {
        // Bad control bits read past the end are a truncation symptom.
        self.err = Some(if self.r.overran() {
            ChunkError::Truncated
        } else {
            e
        });
        self.total = self.read;
        None
    }

    /// Decodes one timestamp delta-of-delta. Each bucket gets its own code
    /// path with constant shifts (and branching on the bucket beats a
    /// branch-free table lookup, which lengthens the dependency chain
    /// through the bit buffer; buckets are mostly predictable).
    #[inline(always)]
    fn read_dod(&mut self) -> i64 {
        self.r.refill();
        let w = self.r.acc;
        if w >> 63 == 0 {
            self.r.consume(1);
            return 0;
        }
        match (!w).leading_zeros() {
            1 => self.read_dod_bucket::<2, 14>(w),
            2 => self.read_dod_bucket::<3, 17>(w),
            3 => self.read_dod_bucket::<4, 20>(w),
            _ => {
                self.r.consume(4);
                self.r.read_long(64) as i64
            }
        }
    }

    /// A `CTRL`-bit bucket marker followed by a `SZ`-bit value, with
    /// Prometheus' asymmetric sign convention.
    #[inline(always)]
    fn read_dod_bucket<const CTRL: u32, const SZ: u32>(&mut self, w: u64) -> i64 {
        let bits = (w << CTRL) >> (64 - SZ);
        self.r.consume(CTRL + SZ);
        if bits > 1 << (SZ - 1) {
            bits as i64 - (1i64 << SZ)
        } else {
            bits as i64
        }
    }

    /// Decodes one XOR-encoded value into `self.v`.
    #[inline(always)]
    fn read_value(&mut self) -> Result<(), ChunkError> {
        // After `read_dod` at least 24 bits are buffered, enough for the
        // 13 control bits; only sample 1 starts from an empty reader.
        if self.r.nbits < 13 {
            self.r.refill();
        }
        let w = self.r.acc;
        if w >> 63 == 0 {
            self.r.consume(1);
            return Ok(());
        }
        if (w >> 62) & 1 == 0 {
            self.r.consume(2);
            if self.leading == NO_WINDOW {
                return Err(ChunkError::Corrupt("value reuses a window never set"));
            }
        } else {
            let leading = ((w >> 57) & 31) as u8;
            let mut sig = ((w >> 51) & 63) as u8;
            if sig == 0 {
                sig = 64;
            }
            self.r.consume(13);
            if leading as u32 + sig as u32 > 64 {
                return Err(ChunkError::Corrupt("leading + significant bits exceed 64"));
            }
            self.leading = leading;
            self.trailing = 64 - leading - sig;
        }
        let sig = 64 - self.leading as u32 - self.trailing as u32;
        self.v ^= self.r.read_long(sig) << self.trailing;
        Ok(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    #[inline]
    fn next(&mut self) -> Option<(i64, f64)> {
        if self.read >= self.total {
            return None;
        }
        if self.read >= 2 {
            let dod = self.read_dod();
            self.t_delta = self.t_delta.wrapping_add(dod as u64);
            self.t = self.t.wrapping_add(self.t_delta as i64);
            if let Err(e) = self.read_value() {
                return self.fail(e);
            }
        } else if self.read == 1 {
            self.t = self.t.wrapping_add(self.t_delta as i64);
            if let Err(e) = self.read_value() {
                return self.fail(e);
            }
        }
        if self.r.overran() {
            return self.fail(ChunkError::Truncated);
        }
        self.read += 1;
        Some((self.t, f64::from_bits(self.v)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining()))
    }
}

impl FusedIterator for XorIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STALE: u64 = 0x7ff0_0000_0000_0002;

    fn encode(samples: &[(i64, u64)]) -> XorChunk {
        let mut c = XorChunk::new();
        for &(t, v) in samples {
            c.append(t, f64::from_bits(v));
        }
        c
    }

    fn decode_all(bytes: &[u8]) -> Result<Vec<(i64, u64)>, ChunkError> {
        let mut it = decode(bytes)?;
        let out: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
        match it.err() {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn assert_round_trip(samples: &[(i64, u64)]) {
        let c = encode(samples);
        assert_eq!(c.num_samples(), samples.len());
        assert_eq!(decode_all(c.bytes()).unwrap(), samples);
        let from_iter: Vec<(i64, u64)> = c.iter().map(|(t, v)| (t, v.to_bits())).collect();
        assert_eq!(from_iter, samples);
        assert_eq!(c.first_t(), samples.first().map(|s| s.0));
        assert_eq!(c.last_t(), samples.last().map(|s| s.0));
        assert_eq!(c.last_v().map(f64::to_bits), samples.last().map(|s| s.1));
    }

    #[test]
    fn empty_chunk() {
        let c = XorChunk::new();
        assert_eq!(c.bytes(), &[0, 0]);
        assert_eq!(c.iter().count(), 0);
        assert_eq!(c.first_t(), None);
        assert_eq!(c.last_v(), None);
        assert!(c.is_empty());
        assert_eq!(decode(&[]).err(), Some(ChunkError::Truncated));
        assert_eq!(decode(&[0]).err(), Some(ChunkError::Truncated));
    }

    /// Bytes worked out by hand from the Prometheus encoding rules.
    #[test]
    fn known_bytes() {
        let c = encode(&[
            (1000, 1.0f64.to_bits()),
            (16000, 1.0f64.to_bits()),
            (31000, 2.0f64.to_bits()),
            (46001, 2.0f64.to_bits()),
        ]);
        let mut want = vec![0, 4];
        // zigzag(1000) = 2000
        want.extend_from_slice(&[0xd0, 0x0f]);
        want.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        // uvarint(15000)
        want.extend_from_slice(&[0x98, 0x75]);
        // s1: value '0'; s2: dod '0', value 1.0^2.0 = 0x7ff0<<48: leading 1,
        // trailing 52, sig 11: '11' 00001 001011 11111111111; s3: dod 1 in
        // the 14-bit bucket '10' 00000000000001, value '0'.
        let bits = "0\
                    0 11 00001 001011 11111111111\
                    10 00000000000001 0";
        let bits: Vec<u8> = bits
            .bytes()
            .filter(|b| *b != b' ')
            .map(|b| b - b'0')
            .collect();
        for chunk in bits.chunks(8) {
            let mut byte = 0u8;
            for (i, b) in chunk.iter().enumerate() {
                byte |= b << (7 - i);
            }
            want.push(byte);
        }
        assert_eq!(c.bytes(), &want[..]);
    }

    #[test]
    fn special_values_and_timestamps() {
        let vals = [
            STALE,
            f64::NAN.to_bits(),
            0x7ff8_dead_beef_0001,
            0xfff0_0000_0000_0001,
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (-0.0f64).to_bits(),
            0,
            1.5f64.to_bits(),
            u64::MAX,
            1,
            1 << 63,
        ];
        let ts = [
            i64::MIN,
            i64::MIN,
            -5,
            0,
            0,
            8192,
            8193,
            i64::MAX - 1,
            i64::MAX,
            i64::MAX,
            i64::MAX,
            i64::MAX,
        ];
        let s: Vec<(i64, u64)> = ts.iter().copied().zip(vals.iter().copied()).collect();
        assert_round_trip(&s);
        // Out-of-order timestamps are the caller's bug, but still round-trip.
        assert_round_trip(&[(5, 0), (-5, 1), (i64::MAX, 2), (i64::MIN, 3), (7, 4)]);
    }

    #[test]
    fn dod_bucket_edges() {
        let mut s = vec![(0i64, 0u64), (100, 0)];
        let mut t = 100i64;
        let mut delta = 100i64;
        for dod in [
            8192i64, -8191, -8192, 8193, 65536, -65535, -65536, 65537, 524288, -524287, -524288,
            524289, 0, 1, -1,
        ] {
            delta += dod;
            t += delta;
            s.push((t, 7));
        }
        assert_round_trip(&s);
    }

    #[test]
    fn reopen_and_append() {
        let s: Vec<(i64, u64)> = (0..300)
            .map(|i| (i * 15_000 + (i % 7) * 3, ((i * i) as f64 / 3.0).to_bits()))
            .collect();
        let whole = encode(&s);
        for split in [0, 1, 2, 3, 150, 299, 300] {
            let mut c = XorChunk::from_bytes(encode(&s[..split]).bytes()).unwrap();
            for &(t, v) in &s[split..] {
                c.append(t, f64::from_bits(v));
            }
            assert_eq!(c.bytes(), whole.bytes(), "split at {split}");
        }
    }

    #[test]
    fn full_chunk() {
        let mut c = XorChunk::new();
        for i in 0..MAX_SAMPLES as i64 {
            c.append(i, i as f64);
        }
        assert!(c.is_full());
        assert_eq!(c.try_append(1 << 20, 0.0), Err(ChunkError::Full));
        assert_eq!(c.iter().count(), MAX_SAMPLES);
        assert_eq!(c.iter().last(), Some((MAX_SAMPLES as i64 - 1, 65534.0)));
    }

    #[test]
    fn corrupt_window_and_sizes() {
        // Sample 1 whose value claims to reuse a window that was never set.
        let mut b = encode(&[(0, 0), (1, 1)]).into_bytes();
        let i = 2 + 1 + 8 + 1;
        b[i] = 0b1000_0000;
        b.truncate(i + 1);
        assert_eq!(
            decode_all(&b),
            Err(ChunkError::Corrupt("value reuses a window never set"))
        );
        // leading 31 + 63 significant bits.
        let mut b = encode(&[(0, 0)]).into_bytes();
        b[1] = 2;
        b.push(1);
        // Bits: 11 11111 111111 000...
        b.extend_from_slice(&[0b1111_1111, 0b1111_1000, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(matches!(decode_all(&b), Err(ChunkError::Corrupt(_))));
        // Varint too long.
        let b = [
            0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(matches!(decode(&b).err(), Some(ChunkError::Corrupt(_))));
    }

    #[derive(Clone, Debug)]
    enum Ts {
        Same,
        Jitter(i64),
        Huge(u64),
        Any(i64),
    }

    #[derive(Clone, Debug)]
    enum Val {
        Bits(u64),
        Special(usize),
        Repeat,
        FlipLow(u32, u64),
    }

    fn ts_strategy() -> impl Strategy<Value = Ts> {
        prop_oneof![
            2 => Just(Ts::Same),
            6 => (-600_000i64..600_000).prop_map(Ts::Jitter),
            1 => any::<u64>().prop_map(Ts::Huge),
            1 => any::<i64>().prop_map(Ts::Any),
        ]
    }

    fn val_strategy() -> impl Strategy<Value = Val> {
        prop_oneof![
            3 => any::<u64>().prop_map(Val::Bits),
            2 => (0usize..8).prop_map(Val::Special),
            2 => Just(Val::Repeat),
            3 => (0u32..64, any::<u64>()).prop_map(|(n, x)| Val::FlipLow(n, x)),
        ]
    }

    /// Builds samples; with `monotonic`, timestamps never decrease (huge
    /// steps saturate at `i64::MAX`), else they may wrap or go backwards.
    fn build(t0: i64, ops: &[(Ts, Val)], monotonic: bool) -> Vec<(i64, u64)> {
        let specials = [
            STALE,
            f64::NAN.to_bits(),
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            (-0.0f64).to_bits(),
            0,
            1.0f64.to_bits(),
            0x7ff0_0000_0000_0001,
        ];
        let mut out = Vec::with_capacity(ops.len());
        let (mut t, mut v) = (t0, 0u64);
        let step = 15_000i64;
        for (ts, val) in ops {
            if !out.is_empty() {
                t = match (ts, monotonic) {
                    (Ts::Same, _) => t,
                    (Ts::Jitter(j), true) => t.saturating_add((step + j).max(0)),
                    (Ts::Jitter(j), false) => t.wrapping_add(step + j),
                    (Ts::Huge(d), true) => t.saturating_add_unsigned(*d),
                    (Ts::Huge(d), false) => t.wrapping_add_unsigned(*d),
                    (Ts::Any(x), true) => t.max(*x),
                    (Ts::Any(x), false) => *x,
                };
            }
            v = match val {
                Val::Bits(b) => *b,
                Val::Special(i) => specials[*i],
                Val::Repeat => v,
                Val::FlipLow(n, x) => v ^ (x >> n),
            };
            out.push((t, v));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 512,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(24813),
            ..ProptestConfig::default()
        })]

        #[test]
        fn round_trip_monotonic(
            t0 in prop_oneof![any::<i64>(), -10_000_000i64..10_000_000_000_000],
            ops in prop::collection::vec((ts_strategy(), val_strategy()), 0..=600),
        ) {
            let s = build(t0, &ops, true);
            prop_assert!(s.windows(2).all(|w| w[0].0 <= w[1].0));
            assert_round_trip(&s);
        }

        #[test]
        fn round_trip_any_order(
            t0 in any::<i64>(),
            ops in prop::collection::vec((ts_strategy(), val_strategy()), 0..=600),
        ) {
            assert_round_trip(&build(t0, &ops, false));
        }

        #[test]
        fn round_trip_raw_bits(
            s in prop::collection::vec((any::<i64>(), any::<u64>()), 0..=600),
        ) {
            let mut s = s;
            s.sort_by_key(|x| x.0);
            assert_round_trip(&s);
        }

        #[test]
        fn truncation_is_an_error(
            t0 in any::<i64>(),
            ops in prop::collection::vec((ts_strategy(), val_strategy()), 1..=200),
            cut in any::<prop::sample::Index>(),
        ) {
            let s = build(t0, &ops, true);
            let c = encode(&s);
            let bytes = c.bytes();
            let cut = cut.index(bytes.len());
            let short = &bytes[..cut];
            match decode(short) {
                Err(e) => prop_assert_eq!(e, ChunkError::Truncated),
                Ok(mut it) => {
                    let got: Vec<(i64, u64)> = it.by_ref().map(|(t, v)| (t, v.to_bits())).collect();
                    prop_assert!(got.len() < s.len());
                    prop_assert_eq!(&got[..], &s[..got.len()]);
                    prop_assert_eq!(it.err(), Some(ChunkError::Truncated));
                    prop_assert_eq!(it.next(), None);
                }
            }
        }

        #[test]
        fn corruption_never_panics(
            t0 in any::<i64>(),
            ops in prop::collection::vec((ts_strategy(), val_strategy()), 0..=200),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let s = build(t0, &ops, true);
            let mut bytes = encode(&s).into_bytes();
            for (i, x) in &flips {
                let i = i.index(bytes.len());
                bytes[i] ^= x;
            }
            let cut = cut.index(bytes.len() + 1);
            if let Ok(it) = decode(&bytes[..cut]) {
                let total = it.num_samples();
                prop_assert!(it.count() <= total);
            }
            let _ = XorChunk::from_bytes(&bytes);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(it) = decode(&bytes) {
                let total = it.num_samples();
                prop_assert!(it.count() <= total);
            }
            if let Ok(mut c) = XorChunk::from_bytes(&bytes) {
                // A reopened chunk keeps working.
                let n = c.num_samples();
                if !c.is_full() {
                    c.append(c.last_t().unwrap_or(0), 1.0);
                    prop_assert_eq!(c.iter().count(), n + 1);
                }
            }
        }
    }
}
