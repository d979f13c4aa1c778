//! Shapes a metric query's value into Loki's result kinds: a literal gives
//! a scalar at an instant; otherwise an instant query gives a vector (label
//! order, or value order when the query sorts) and a range query a matrix
//! (series in label order). Both fail past `max_series` series.

use std::cmp::Ordering;

use super::aggregate::by_value;
use super::value::{Series, Value};
use super::{sort_order, Ctx, QueryError, QueryOutput, SampleOut, SeriesOut};
use crate::logql::ast::SampleExpr;

fn series_limit(max: usize) -> QueryError {
    QueryError::Limit(format!(
        "maximum number of series ({max}) reached for a single query; consider reducing query cardinality by adding more specific stream selectors, reducing the time range, or aggregating results with functions like sum(), count() or topk()"
    ))
}

pub(crate) fn eval_metric_query(
    ctx: &mut Ctx<'_>,
    e: &SampleExpr,
) -> Result<QueryOutput, QueryError> {
    let value = ctx.eval(e)?;
    let instant = ctx.params.instant;
    let series = match value {
        Value::Scalar(v) if instant => {
            return Ok(QueryOutput::Scalar {
                ts_ns: ctx.steps.first().copied().unwrap_or(ctx.params.end_ns),
                value: v,
            })
        }
        Value::Scalar(v) => vec![Series {
            labels: Default::default(),
            points: (0..ctx.steps.len()).map(|k| (k, v)).collect(),
        }],
        Value::Series(s) => s,
    };
    if series.len() > ctx.opts.max_series {
        return Err(series_limit(ctx.opts.max_series));
    }
    if instant {
        let ts_ns = ctx.steps.first().copied().unwrap_or(ctx.params.end_ns);
        let mut out: Vec<SampleOut> = series
            .into_iter()
            .filter_map(|s| {
                s.points.first().map(|&(_, value)| SampleOut {
                    labels: s.labels,
                    ts_ns,
                    value,
                })
            })
            .collect();
        match sort_order(e) {
            Some(desc) => out.sort_by(|a, b| {
                by_value(a.value, b.value, desc).then_with(|| a.labels.cmp(&b.labels))
            }),
            None => out.sort_by(|a, b| a.labels.cmp(&b.labels)),
        }
        return Ok(QueryOutput::Vector(out));
    }
    let mut out: Vec<SeriesOut> = series
        .into_iter()
        .map(|s| SeriesOut {
            points: s.points.iter().map(|&(k, v)| (ctx.steps[k], v)).collect(),
            labels: s.labels,
        })
        .collect();
    out.sort_by(|a, b| a.labels.cmp(&b.labels).then(Ordering::Equal));
    Ok(QueryOutput::Matrix(out))
}
