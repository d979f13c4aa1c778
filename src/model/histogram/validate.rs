//! Consistency checks for histograms from the network (Prometheus'
//! `FloatHistogram.Validate`).

use super::arith::HistogramError;
use super::{is_exponential_schema, FloatHistogram, Span};

impl FloatHistogram {
    /// Checks consistency like Prometheus' `Validate`: valid schema; spans
    /// agree with the number of counts, no negative offset except the first
    /// (custom buckets: none at all); no negative bucket, zero or total
    /// count; custom buckets have strictly increasing finite bounds
    /// (NaN rejected too), enough of them for the spans, and no zero bucket
    /// or negative buckets; exponential ones have no custom bounds. The
    /// count is not checked against the bucket sum (floating point).
    pub fn validate(&self) -> Result<(), HistogramError> {
        let bad = |m: String| Err(HistogramError::Invalid(m));
        let spans_len = |spans: &[Span], n: usize, first_may_be_negative: bool, side: &str| {
            let mut total: u64 = 0;
            for (k, s) in spans.iter().enumerate() {
                if s.offset < 0 && (k > 0 || !first_may_be_negative) {
                    return Err(HistogramError::Invalid(format!(
                        "{side}: span number {} with offset {}: histogram has a span whose offset is negative",
                        k + 1,
                        s.offset
                    )));
                }
                total += u64::from(s.length);
            }
            if total != n as u64 {
                return Err(HistogramError::Invalid(format!(
                    "{side}: spans need {total} buckets, have {n} buckets: histogram spans specify different number of buckets than provided"
                )));
            }
            Ok(())
        };
        let non_negative = |b: &[f64], side: &str| {
            for (k, c) in b.iter().enumerate() {
                if *c < 0.0 {
                    return Err(HistogramError::Invalid(format!(
                        "{side}: bucket number {} has observation count of {c}: histogram has a bucket whose observation count is negative",
                        k + 1
                    )));
                }
            }
            Ok(())
        };
        if self.uses_custom_buckets() {
            let mut prev = f64::NEG_INFINITY;
            for &b in &self.custom_values {
                if b.is_nan() || b <= prev {
                    return bad(format!(
                        "custom buckets: previous bound is {prev} and current is {b}: histogram custom bounds must be in strictly increasing order"
                    ));
                }
                prev = b;
            }
            if prev == f64::INFINITY {
                return bad("custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite".into());
            }
            spans_len(
                &self.positive_spans,
                self.positive_buckets.len(),
                false,
                "custom buckets",
            )?;
            let span_total: i64 = self
                .positive_spans
                .iter()
                .map(|s| i64::from(s.offset) + i64::from(s.length))
                .sum();
            if (self.custom_values.len() as i64) + 1 < span_total {
                return bad(format!(
                    "custom buckets: only {} custom bounds defined which is insufficient to cover total span length of {span_total}: histogram custom bounds are too few",
                    self.custom_values.len()
                ));
            }
            if self.zero_count != 0.0 {
                return bad("histogram with custom buckets must not have zero count".into());
            }
            if self.zero_threshold != 0.0 {
                return bad("histogram with custom buckets must not have zero threshold".into());
            }
            if !self.negative_spans.is_empty() {
                return bad("histogram with custom buckets must not have negative spans".into());
            }
            if !self.negative_buckets.is_empty() {
                return bad("histogram with custom buckets must not have negative buckets".into());
            }
        } else if is_exponential_schema(self.schema) {
            spans_len(
                &self.positive_spans,
                self.positive_buckets.len(),
                true,
                "positive side",
            )?;
            spans_len(
                &self.negative_spans,
                self.negative_buckets.len(),
                true,
                "negative side",
            )?;
            non_negative(&self.negative_buckets, "negative side")?;
            if self.zero_count < 0.0 {
                return bad(format!(
                    "zero bucket has observation count of {}: histogram has a bucket whose observation count is negative",
                    self.zero_count
                ));
            }
            if !self.custom_values.is_empty() {
                return bad("histogram with exponential schema must not have custom bounds".into());
            }
        } else {
            return Err(HistogramError::InvalidSchema(self.schema));
        }
        if self.count < 0.0 {
            return bad(format!(
                "observation count is {}: histogram observation count is negative",
                self.count
            ));
        }
        non_negative(&self.positive_buckets, "positive side")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::literal::parse_histogram_literal;

    fn h(s: &str) -> FloatHistogram {
        parse_histogram_literal(s).unwrap().0
    }

    #[test]
    fn validate_cases() {
        assert!(h("{{schema:0 count:4 sum:5 buckets:[1 2 1] offset:-3}}")
            .validate()
            .is_ok());
        assert!(
            h("{{schema:-53 count:1 custom_values:[1 2] buckets:[0 0 1]}}")
                .validate()
                .is_ok()
        );
        assert!(
            h("{{schema:-53 count:1 custom_values:[1 2] buckets:[0 0 0 1]}}")
                .validate()
                .is_err()
        );
        assert!(h("{{schema:-53 count:1 custom_values:[2 1]}}")
            .validate()
            .is_err());
        assert!(h("{{schema:-53 count:1 custom_values:[1 Inf]}}")
            .validate()
            .is_err());
        assert!(h("{{schema:-53 count:1 z_bucket:1}}").validate().is_err());
        assert!(h("{{schema:0 count:1 buckets:[-1]}}").validate().is_err());
        assert!(h("{{schema:0 count:-1}}").validate().is_err());
        assert!(h("{{schema:0 custom_values:[1]}}").validate().is_err());
        assert_eq!(
            h("{{schema:12}}").validate(),
            Err(HistogramError::InvalidSchema(12))
        );
        let mut x = h("{{schema:0 count:4 buckets:[1 2 1]}}");
        x.positive_buckets.pop();
        assert!(x.validate().is_err());
        x.positive_spans.push(Span {
            offset: -1,
            length: 0,
        });
        assert!(x.validate().is_err());
    }
}
