//! `vector(x)` and `label_replace(...)`.

use regex::Regex;

use super::value::{Series, Value};
use super::{Ctx, QueryError};
use crate::logql::ast::LabelReplace;
use crate::model::labels::is_valid_label_name;
use crate::model::Labels;

/// `vector(x)`: one series without labels, `x` at every step.
pub(crate) fn vector(ctx: &Ctx<'_>, x: f64) -> Value {
    Value::Series(vec![Series {
        labels: Labels::empty(),
        points: (0..ctx.steps.len()).map(|k| (k, x)).collect(),
    }])
}

/// `label_replace(v, dst, replacement, src, regex)`: where the anchored
/// regex matches the value of `src` (empty when absent), `dst` becomes the
/// expanded replacement (removed when that is empty); other series are
/// unchanged.
pub(crate) fn label_replace(ctx: &mut Ctx<'_>, l: &LabelReplace) -> Result<Value, QueryError> {
    let re = Regex::new(&format!("^(?:{})$", l.regex)).map_err(|e| {
        QueryError::Bad(format!(
            "invalid regular expression in label_replace(): {}: {e}",
            l.regex
        ))
    })?;
    if !is_valid_label_name(&l.dst) {
        return Err(QueryError::Bad(format!(
            "invalid destination label name in label_replace(): {}",
            l.dst
        )));
    }
    let input = match ctx.eval(&l.expr)? {
        Value::Series(s) => s,
        Value::Scalar(_) => {
            return Err(QueryError::Bad(
                "label_replace expects a vector, got a scalar".into(),
            ))
        }
    };
    let out = input
        .into_iter()
        .map(|mut s| {
            let src = s.labels.get(&l.src).unwrap_or("").to_string();
            if let Some(caps) = re.captures(&src) {
                let mut value = String::new();
                caps.expand(&l.replacement, &mut value);
                s.labels.set(&l.dst, &value);
            }
            s
        })
        .collect();
    Ok(Value::Series(merge_same_labels(out)))
}

/// Series that ended up with the same labels become one (the first point
/// at a step wins), as Loki joins them by label hash.
fn merge_same_labels(series: Vec<Series>) -> Vec<Series> {
    let mut b = super::value::SeriesBuilder::default();
    for s in &series {
        let i = b.series_for(&s.labels);
        for &(k, v) in &s.points {
            b.push(i, k, v);
        }
    }
    b.finish().0
}
