//! The JSON object Prometheus' HTTP API writes for one histogram value:
//!
//! ```text
//! {"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],[0,"0.25","0.5","12"]]}
//! ```
//!
//! Buckets come in ascending order (negative, zero bucket, positive) as
//! [`FloatHistogram::all_buckets`] yields them; empty buckets are omitted,
//! and so is the `buckets` key when none remains. The first element of each
//! bucket is the boundary rule: 0 = lower open, upper closed; 1 = lower
//! closed, upper open; 2 = both open; 3 = both closed. Numbers are strings
//! formatted like float sample values ([`format_value`]).

use std::fmt::Write as _;

use super::prom_json::format_value;
use crate::model::FloatHistogram;

/// The boundary rule number Prometheus uses for a bucket's inclusiveness.
pub fn boundary_rule(lower_inclusive: bool, upper_inclusive: bool) -> u8 {
    match (lower_inclusive, upper_inclusive) {
        (true, true) => 3,
        (true, false) => 1,
        (false, true) => 0,
        (false, false) => 2,
    }
}

/// Appends the API JSON object for `h` to `out`.
pub fn write_histogram_json(out: &mut String, h: &FloatHistogram) {
    out.push_str("{\"count\":\"");
    out.push_str(&format_value(h.count));
    out.push_str("\",\"sum\":\"");
    out.push_str(&format_value(h.sum));
    out.push('"');
    let mut first = true;
    for b in h.all_buckets() {
        if b.count == 0.0 {
            continue;
        }
        out.push_str(if first { ",\"buckets\":[" } else { "," });
        first = false;
        let _ = write!(
            out,
            "[{},\"{}\",\"{}\",\"{}\"]",
            boundary_rule(b.lower_inclusive, b.upper_inclusive),
            format_value(b.lower),
            format_value(b.upper),
            format_value(b.count)
        );
    }
    if !first {
        out.push(']');
    }
    out.push('}');
}

/// [`write_histogram_json`] into a new string.
pub fn histogram_json(h: &FloatHistogram) -> String {
    let mut s = String::new();
    write_histogram_json(&mut s, h);
    s
}

#[cfg(test)]
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;
    use crate::model::histogram::literal::parse_histogram_literal;

    fn j(s: &str) -> String {
        histogram_json(&parse_histogram_literal(s).unwrap().0)
    }

    #[test]
    fn exponential() {
        assert_eq!(
            j("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"),
            r#"{"count":"4","sum":"5","buckets":[[0,"0.5","1","1"],[0,"1","2","2"],[0,"2","4","1"]]}"#
        );
        assert_eq!(
            j("{{schema:1 count:6 sum:-1.5 z_bucket:3 z_bucket_w:0.25 buckets:[0 1] offset:-1 n_buckets:[2] n_offset:1}}"),
            r#"{"count":"6","sum":"-1.5","buckets":[[1,"-1.414213562373095","-1","2"],[3,"-0.25","0.25","3"],[0,"0.7071067811865475","1","1"]]}"#
        );
        // Bounds come from Prometheus' table, e.g. 2^-0.5.
        assert_eq!(
            j("{{schema:1 count:1 sum:1 buckets:[1] offset:0}}"),
            r#"{"count":"1","sum":"1","buckets":[[0,"0.7071067811865475","1","1"]]}"#
        );
    }

    #[test]
    fn empty_and_special_values() {
        assert_eq!(j("{{}}"), r#"{"count":"0","sum":"0"}"#);
        assert_eq!(
            j("{{count:NaN sum:Inf buckets:[0 0]}}"),
            r#"{"count":"NaN","sum":"+Inf"}"#
        );
        assert_eq!(
            j("{{count:1 sum:-Inf z_bucket:1}}"),
            r#"{"count":"1","sum":"-Inf","buckets":[[3,"-0","0","1"]]}"#
        );
        // A negative zero count is not shown (only counts > 0 are).
        assert_eq!(
            j("{{count:-1 sum:-1 z_bucket:-1 z_bucket_w:0.5}}"),
            r#"{"count":"-1","sum":"-1"}"#
        );
    }

    #[test]
    fn custom_buckets() {
        assert_eq!(
            j("{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}"),
            r#"{"count":"4","sum":"5","buckets":[[3,"-Inf","5","1"],[0,"5","10","2"],[0,"10","+Inf","1"]]}"#
        );
    }

    #[test]
    fn rules() {
        assert_eq!(boundary_rule(false, true), 0);
        assert_eq!(boundary_rule(true, false), 1);
        assert_eq!(boundary_rule(false, false), 2);
        assert_eq!(boundary_rule(true, true), 3);
    }
}
