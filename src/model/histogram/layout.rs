//! Bucket layout helpers: spans + counts ⇄ sorted `(index, count)` lists.
//!
//! All operations work on the list form, which makes them robust against
//! malformed span layouts from the network (counts and spans of different
//! lengths, overlapping spans): the list is cut at whichever runs out first,
//! sorted, and duplicate indices are summed.

use super::Span;

/// The `(index, count)` pairs described by `spans`/`buckets`, ascending by
/// index, duplicates summed. Stops where either spans or counts run out, and
/// at indices outside the `i32` range.
pub(super) fn pairs(spans: &[Span], buckets: &[f64]) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(buckets.len());
    let mut idx: i64 = 0;
    let mut bi = 0usize;
    let mut sorted = true;
    // `idx` is absolute for the first span; afterwards it points one past
    // the previous span's end, so offsets stay relative.
    'spans: for s in spans {
        idx += i64::from(s.offset);
        for _ in 0..s.length {
            let Some(&c) = buckets.get(bi) else {
                break 'spans;
            };
            let Ok(i) = i32::try_from(idx) else {
                break 'spans;
            };
            if let Some(&(last, _)) = out.last() {
                if i <= last {
                    sorted = false;
                }
            }
            out.push((i, c));
            bi += 1;
            idx += 1;
        }
    }
    if !sorted {
        out.sort_by_key(|&(i, _)| i);
        let mut merged: Vec<(i32, f64)> = Vec::with_capacity(out.len());
        for (i, c) in out {
            match merged.last_mut() {
                Some(last) if last.0 == i => last.1 += c,
                _ => merged.push((i, c)),
            }
        }
        return merged;
    }
    out
}

/// Spans and counts for ascending, duplicate-free pairs. Every pair becomes
/// a present bucket (zero counts included); adjacent indices share a span.
pub(super) fn from_pairs(p: &[(i32, f64)]) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut buckets = Vec::with_capacity(p.len());
    let mut prev: Option<i32> = None;
    for &(i, c) in p {
        match prev {
            Some(pi) if i64::from(i) == i64::from(pi) + 1 => {
                if let Some(s) = spans.last_mut() {
                    s.length += 1;
                }
            }
            Some(pi) => spans.push(Span {
                offset: (i64::from(i) - i64::from(pi) - 1) as i32,
                length: 1,
            }),
            None => spans.push(Span {
                offset: i,
                length: 1,
            }),
        }
        buckets.push(c);
        prev = Some(i);
    }
    (spans, buckets)
}

/// Upper limit for explicit empty buckets inserted between two populated
/// ones by [`compact`].
pub(super) const MAX_FILL: u64 = 1 << 16;

/// Prometheus' `compactBuckets` on the list form: empty buckets (count == 0)
/// are dropped except runs of at most `max_empty` between populated buckets,
/// which stay explicit so that populated buckets at most `max_empty` indices
/// apart share a span.
pub(super) fn compact(spans: &[Span], buckets: &[f64], max_empty: usize) -> (Vec<Span>, Vec<f64>) {
    let nonzero: Vec<(i32, f64)> = pairs(spans, buckets)
        .into_iter()
        .filter(|&(_, c)| c != 0.0)
        .collect();
    let mut filled: Vec<(i32, f64)> = Vec::with_capacity(nonzero.len());
    for (i, c) in nonzero {
        if let Some(&(pi, _)) = filled.last() {
            let gap = i64::from(i) - i64::from(pi) - 1;
            // Gaps wider than MAX_FILL stay gaps whatever `max_empty` says,
            // so that a hostile layout cannot make us allocate billions of
            // explicit empty buckets.
            if gap > 0 && (gap as u64) <= (max_empty as u64).min(MAX_FILL) {
                for j in (pi + 1)..i {
                    filled.push((j, 0.0));
                }
            }
        }
        filled.push((i, c));
    }
    from_pairs(&filled)
}

/// Index in `target` schema of bucket `idx` in `origin` (`target <= origin`).
pub(super) fn target_idx(idx: i32, origin: i32, target: i32) -> i32 {
    let shift = (i64::from(origin) - i64::from(target)).clamp(0, 63) as u32;
    (((i64::from(idx) - 1) >> shift) + 1) as i32
}

/// Merges pairs into the lower-resolution `target` schema, keeping empty
/// buckets (as Prometheus' `reduceResolution` does).
pub(super) fn reduce(p: &[(i32, f64)], origin: i32, target: i32) -> Vec<(i32, f64)> {
    let mut out: Vec<(i32, f64)> = Vec::with_capacity(p.len());
    for &(i, c) in p {
        let t = target_idx(i, origin, target);
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 += c,
            _ => out.push((t, c)),
        }
    }
    out
}

/// Adds (or subtracts, with `sign = -1`) `b` into `a`; both ascending.
pub(super) fn merge(a: &[(i32, f64)], b: &[(i32, f64)], sign: f64) -> Vec<(i32, f64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x.0 == y.0 => {
                out.push((x.0, x.1 + sign * y.1));
                i += 1;
                j += 1;
            }
            (Some(&x), Some(&y)) if x.0 < y.0 => {
                out.push(x);
                i += 1;
            }
            (Some(_), Some(&y)) | (None, Some(&y)) => {
                out.push((y.0, sign * y.1));
                j += 1;
            }
            (Some(&x), None) => {
                out.push(x);
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(v: &[(i32, u32)]) -> Vec<Span> {
        v.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    #[test]
    fn pairs_roundtrip() {
        let spans = sp(&[(-2, 2), (3, 1), (0, 2)]);
        let b = [1.0, 2.0, 3.0, 4.0, 5.0];
        let p = pairs(&spans, &b);
        assert_eq!(p, vec![(-2, 1.0), (-1, 2.0), (3, 3.0), (4, 4.0), (5, 5.0)]);
        let (s2, b2) = from_pairs(&p);
        assert_eq!(s2, sp(&[(-2, 2), (3, 3)]));
        assert_eq!(b2, b.to_vec());
    }

    #[test]
    fn pairs_malformed() {
        // More span length than counts, overlapping second span.
        let p = pairs(&sp(&[(0, 3), (-3, 2)]), &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(p, vec![(0, 5.0), (1, 7.0), (2, 3.0)]);
        assert_eq!(pairs(&sp(&[(0, 9)]), &[1.0]), vec![(0, 1.0)]);
        assert_eq!(
            pairs(&sp(&[(i32::MAX, 3)]), &[1.0, 2.0, 3.0]),
            vec![(i32::MAX, 1.0)]
        );
    }

    #[test]
    fn compact_like_prometheus() {
        let spans = sp(&[(0, 6), (2, 2)]);
        let b = [0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 3.0, 0.0];
        let (s, bk) = compact(&spans, &b, 0);
        assert_eq!(s, sp(&[(1, 1), (2, 1), (3, 1)]));
        assert_eq!(bk, vec![1.0, 2.0, 3.0]);
        let (s, bk) = compact(&spans, &b, 2);
        assert_eq!(s, sp(&[(1, 4), (3, 1)]));
        assert_eq!(bk, vec![1.0, 0.0, 0.0, 2.0, 3.0]);
        let (s, bk) = compact(&spans, &b, 3);
        assert_eq!(s, sp(&[(1, 8)]));
        assert_eq!(bk, vec![1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 3.0]);
    }

    #[test]
    fn reduce_and_merge() {
        // Schema 1 -> 0: indices 1,2 -> 1; 3,4 -> 2; 0,-1 -> 0.
        assert_eq!(target_idx(1, 1, 0), 1);
        assert_eq!(target_idx(2, 1, 0), 1);
        assert_eq!(target_idx(3, 1, 0), 2);
        assert_eq!(target_idx(0, 1, 0), 0);
        assert_eq!(target_idx(-1, 1, 0), 0);
        assert_eq!(target_idx(-2, 1, 0), -1);
        let r = reduce(&[(0, 1.0), (1, 2.0), (2, 0.0), (5, 4.0)], 1, 0);
        assert_eq!(r, vec![(0, 1.0), (1, 2.0), (3, 4.0)]);
        let m = merge(&[(0, 1.0), (2, 2.0)], &[(1, 5.0), (2, 1.0), (4, 1.0)], -1.0);
        assert_eq!(m, vec![(0, 1.0), (1, -5.0), (2, 1.0), (4, -1.0)]);
    }
}
