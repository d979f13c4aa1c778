//! Compact human-readable form, identical to Prometheus' `String()`:
//!
//! ```text
//! {count:8, sum:0, [-2,-1):1, [-1,-0.5):2, [-0.001,0.001]:3, (0.5,1]:2, (2,4]:1}
//! ```
//!
//! Count and sum, then every bucket with a non-zero count in ascending order
//! (negative buckets, the zero bucket, positive buckets) as
//! `<bracket>lower,upper<bracket>:count`, with `[`/`]` for inclusive and
//! `(`/`)` for exclusive bounds. Numbers use Go's `%g`. Meant for test
//! failure messages and logs; [`FloatHistogram::test_expression`] gives the
//! exact promqltest notation instead.

use std::fmt;

use super::{Bucket, FloatHistogram};

/// Formats `v` like Go's `%g` / `strconv.FormatFloat(v, 'g', -1, 64)`:
/// shortest round-trip digits, exponent form (`1e+06`, `1.5e-05`) when the
/// decimal exponent is < -4 or >= 6 (Go's rule for the shortest form);
/// `NaN`, `+Inf`, `-Inf`.
pub fn go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6".
    let e = format!("{v:e}");
    let (mant, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

fn write_bucket(f: &mut fmt::Formatter<'_>, b: &Bucket) -> fmt::Result {
    write!(
        f,
        ", {}{},{}{}:{}",
        if b.lower_inclusive { '[' } else { '(' },
        go_g(b.lower),
        go_g(b.upper),
        if b.upper_inclusive { ']' } else { ')' },
        go_g(b.count)
    )
}

impl fmt::Display for FloatHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{count:{}, sum:{}", go_g(self.count), go_g(self.sum))?;
        let mut neg: Vec<Bucket> = self
            .negative_bucket_iter()
            .filter(|b| b.count != 0.0)
            .collect();
        neg.reverse();
        for b in &neg {
            write_bucket(f, b)?;
        }
        if self.zero_count != 0.0 {
            if let Some(z) = self.zero_bucket() {
                write_bucket(f, &z)?;
            }
        }
        for b in self.positive_bucket_iter().filter(|b| b.count != 0.0) {
            write_bucket(f, &b)?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::literal::parse_histogram_literal;

    #[test]
    fn go_g_format() {
        assert_eq!(go_g(4.0), "4");
        assert_eq!(go_g(1.25), "1.25");
        assert_eq!(go_g(123456.0), "123456");
        assert_eq!(go_g(1234567.0), "1.234567e+06");
        assert_eq!(go_g(1e6), "1e+06");
        assert_eq!(go_g(0.0001), "0.0001");
        assert_eq!(go_g(0.00001), "1e-05");
        assert_eq!(go_g(-2.5e-7), "-2.5e-07");
        assert_eq!(go_g(1e100), "1e+100");
        assert_eq!(go_g(f64::NAN), "NaN");
        assert_eq!(go_g(f64::NEG_INFINITY), "-Inf");
        assert_eq!(go_g(-0.0), "-0");
    }

    #[test]
    fn display_like_prometheus() {
        let (h, _) = parse_histogram_literal(
            "{{schema:0 sum:0 count:8 z_bucket:3 z_bucket_w:0.001 buckets:[2 0 1] n_buckets:[2 1]}}",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "{count:8, sum:0, [-2,-1):1, [-1,-0.5):2, [-0.001,0.001]:3, (0.5,1]:2, (2,4]:1}"
        );
        let (h, _) = parse_histogram_literal(
            "{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "{count:4, sum:5, [-Inf,5]:1, (5,10]:2, (10,+Inf]:1}"
        );
        assert_eq!(FloatHistogram::default().to_string(), "{count:0, sum:0}");
    }
}
