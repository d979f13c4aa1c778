//! Small pure helpers shared by the evaluator: label formatting in
//! Prometheus' text form, metric-name dropping, float formatting, compensated
//! summation, sample quantiles and natural string ordering.

use std::cmp::Ordering;

use crate::model::labels::METRIC_NAME;
use crate::model::Labels;

/// Labels removed together with the metric name (Prometheus drops the
/// type-and-unit metadata labels along with `__name__`).
const METADATA_LABELS: [&str; 3] = [METRIC_NAME, "__type__", "__unit__"];

/// The label set without `__name__` (and the `__type__`/`__unit__` metadata).
pub(crate) fn drop_metric_name(labels: &Labels) -> Labels {
    if !labels
        .iter()
        .any(|l| METADATA_LABELS.contains(&l.name.as_str()))
    {
        return labels.clone();
    }
    let mut out = labels.clone();
    for n in METADATA_LABELS {
        out.remove(n);
    }
    out
}

/// Prometheus' `labels.String()` form: `{__name__="up", job="x"}`.
pub(crate) fn prom_labels_string(labels: &Labels) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&l.name);
        s.push('=');
        s.push_str(&go_quote(&l.value));
    }
    s.push('}');
    s
}

/// A double-quoted string with Go-style escapes.
pub(crate) fn go_quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the
/// shortest representation that round-trips, never in exponent form.
pub(crate) fn format_float_plain(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f == f64::INFINITY {
        "+Inf".to_string()
    } else if f == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{f}")
    }
}

/// Formats a float the way Prometheus prints values in messages (Go `%v`).
pub(crate) fn format_float_go(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{f:e}");
        // Rust prints `1e21`/`1.5e-5`; Go prints `1e+21`/`1.5e-05`.
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            let digits = if digits.len() < 2 {
                format!("0{digits}")
            } else {
                digits.to_string()
            };
            return format!("{mant}e{sign}{digits}");
        }
        return s;
    }
    format!("{f}")
}

/// One step of Kahan-Babuška-Neumaier summation (shared with histograms).
pub(crate) use crate::model::histogram::stats::kahan_inc;

/// The φ-quantile of `values` (sorted in place), interpolating linearly
/// between neighbours as Prometheus does. NaN for no values or NaN `q`;
/// -Inf/+Inf for `q` below 0 / above 1.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    // NaN sorts first, as in Prometheus' vectorByValueHeap. Only the two
    // ranks needed are put in place (linear time, not a full sort).
    let order = |a: &f64, b: &f64| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    };
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = (lower + 1).min(values.len() - 1);
    let weight = rank - rank.floor();
    let (_, lo, rest) = values.select_nth_unstable_by(lower, order);
    let lo = *lo;
    let hi = if upper == lower {
        lo
    } else {
        // The next rank is the smallest of what lies above `lower`.
        rest.iter().copied().min_by(order).unwrap_or(lo)
    };
    lo * (1.0 - weight) + hi * weight
}

/// Natural ("human") string order: runs of digits compare numerically.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let ca = chunks(a);
    let cb = chunks(b);
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x.parse::<u128>(), y.parse::<u128>()) {
            (Ok(nx), Ok(ny))
                if x.bytes().all(|c| c.is_ascii_digit())
                    && y.bytes().all(|c| c.is_ascii_digit()) =>
            {
                nx.cmp(&ny)
            }
            _ => x.cmp(y),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

fn chunks(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_digit: Option<bool> = None;
    for (i, c) in s.char_indices() {
        let d = c.is_ascii_digit();
        if let Some(p) = prev_digit {
            if p != d {
                out.push(&s[start..i]);
                start = i;
            }
        }
        prev_digit = Some(d);
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_formats() {
        assert_eq!(format_float_plain(1.0), "1");
        assert_eq!(format_float_plain(0.1), "0.1");
        assert_eq!(format_float_plain(f64::INFINITY), "+Inf");
        assert_eq!(format_float_go(1e21), "1e+21");
        assert_eq!(format_float_go(1.5e-5), "1.5e-05");
        assert_eq!(format_float_go(2.5), "2.5");
    }

    #[test]
    fn kahan_is_more_precise() {
        let mut s = (0.0, 0.0);
        for v in [1.0, 1e100, 1.0, -1e100] {
            s = kahan_inc(v, s.0, s.1);
        }
        assert_eq!(s.0 + s.1, 2.0);
    }

    #[test]
    fn quantiles() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.0, &mut v), 4.0);
        assert!(quantile(-1.0, &mut v).is_infinite());
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("a2", "a10"), Ordering::Less);
        assert_eq!(natural_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
        assert_eq!(natural_cmp("10.0.0.2", "10.0.0.10"), Ordering::Less);
    }

    #[test]
    fn label_string() {
        let l = Labels::from_pairs([("__name__", "x"), ("a", "b\"c")]);
        assert_eq!(prom_labels_string(&l), r#"{__name__="x", a="b\"c"}"#);
        assert_eq!(drop_metric_name(&l).len(), 1);
    }
}
