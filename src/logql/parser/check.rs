//! Loki's semantic checks on a parsed query: every stream selector needs a
//! matcher that does not match the empty string, and range aggregations
//! must agree with their `unwrap` and grouping.

use super::ParseError;
use crate::logql::ast::*;
use crate::model::Matcher;

const ERR_EMPTY_COMPATIBLE: &str = "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will";

/// Checks the selectors of a whole query.
pub(super) fn validate(e: &Expr) -> Result<(), ParseError> {
    match e {
        Expr::Log(l) => validate_matchers(&l.matchers),
        Expr::Sample(s) => validate_sample(s),
    }
}

fn validate_sample(s: &SampleExpr) -> Result<(), ParseError> {
    match s {
        SampleExpr::RangeAgg(r) => validate_matchers(&r.range.selector.matchers),
        SampleExpr::VectorAgg(v) => validate_sample(&v.expr),
        SampleExpr::Binary(b) => {
            validate_sample(&b.lhs)?;
            validate_sample(&b.rhs)
        }
        SampleExpr::Literal(_) | SampleExpr::Vector(_) => Ok(()),
        SampleExpr::LabelReplace(l) => validate_sample(&l.expr),
    }
}

/// At least one matcher must not match the empty string.
pub(super) fn validate_matchers(ms: &[Matcher]) -> Result<(), ParseError> {
    if ms.iter().any(|m| !m.matches_empty()) {
        Ok(())
    } else {
        Err(ParseError::plain(ERR_EMPTY_COMPATIBLE))
    }
}

/// Grouping and `unwrap` rules of range aggregations (`name` as written).
pub(super) fn range_agg(a: &RangeAggregation, name: &str) -> Result<(), ParseError> {
    use RangeOp::*;
    let name = name.to_lowercase();
    if a.grouping.is_some()
        && !matches!(
            a.op,
            AvgOverTime
                | StddevOverTime
                | StdvarOverTime
                | QuantileOverTime
                | MaxOverTime
                | MinOverTime
                | FirstOverTime
                | LastOverTime
        )
    {
        return Err(ParseError::plain(format!(
            "grouping not allowed for {name} aggregation"
        )));
    }
    if a.range.unwrap.is_some() {
        return match a.op {
            CountOverTime | BytesRate | BytesOverTime => Err(ParseError::plain(format!(
                "invalid aggregation {name} with unwrap"
            ))),
            _ => Ok(()),
        };
    }
    match a.op {
        BytesOverTime | BytesRate | CountOverTime | Rate | AbsentOverTime => Ok(()),
        _ => Err(ParseError::plain(format!(
            "invalid aggregation {name} without unwrap"
        ))),
    }
}
