//! Function calls: dispatch, and the functions over instant vectors and
//! scalars (math, clamping, rounding, dates, `time`, `timestamp`, `vector`,
//! `scalar`, sorting, `absent`, `label_replace`, `label_join`, the
//! `histogram_*` functions). As in Prometheus, element-wise float functions
//! drop native histogram samples, `sort`/`sort_desc` ignore them, and label
//! functions, `sort_by_label*`, `timestamp`, `absent` and `info` see them.
//! Range-vector functions live in `range_functions`.

use regex::Regex;

use crate::model::labels::METRIC_NAME;
use crate::model::{Labels, MatchOp, Sample};

use super::aggregate::{asc_nan_last, desc_nan_last, go_sort};
use super::datetime::{civil_from_unix, days_in_month, Civil};
use super::eval::{unwrap_parens, Evaluator};
use super::histogram::{self, HistFn};
use super::info;
use super::native_fns;
use super::parser::{strings::quote_bytes, Call, Expr, ValueType};
use super::range_functions;
use super::selector::{self, InstantMode};
use super::step::{merge_same_labelset, total_points, Evaluated, Grid, StepCursor, StepSeries};
use super::util::natural_cmp;
use super::value::QueryError;

pub(crate) fn eval_call(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    call: &Call,
) -> Result<Evaluated, QueryError> {
    let name = call.func.name;
    let args: Vec<&Expr> = call.args.iter().collect();
    if let Some(i) = args
        .iter()
        .position(|a| a.value_type() == ValueType::Matrix)
    {
        return range_functions::eval(ev, grid, name, &args, i);
    }
    // Each family lives in its own function to keep this frame small: the
    // evaluator recurses through here for nested calls.
    match name {
        "time" | "pi" | "start" | "end" | "range" | "step" => query_scalar(ev, grid, name),
        "vector" => vector(ev, grid, &args),
        "scalar" => scalar(ev, grid, &args),
        "timestamp" => timestamp(ev, grid, &args),
        "absent" => absent(ev, grid, &args),
        "label_replace" => label_replace(ev, grid, &args),
        "label_join" => label_join(ev, grid, &args),
        "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc" => {
            sort(ev, grid, name, &args, call.span.start)
        }
        "histogram_quantile" | "histogram_quantiles" | "histogram_fraction" => {
            classic_histogram(ev, grid, name, &args)
        }
        // Native-histogram-only functions ignore float samples.
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            let v = stats_input(ev, grid, arg(&args, 0)?)?;
            let f = native_fns::stat_fn(name)
                .ok_or_else(|| QueryError::exec(format!("function {name}() is not supported")))?;
            ev.release_series(&v);
            let out = native_fns::map_histograms(v, f);
            ev.limits.hold(total_points(&out))?;
            Ok(Evaluated::Vector(out))
        }
        "round" => round(ev, grid, &args),
        "clamp" | "clamp_min" | "clamp_max" => clamp(ev, grid, name, &args),
        "days_in_month" | "day_of_month" | "day_of_week" | "day_of_year" | "hour" | "minute"
        | "month" | "year" => date(ev, grid, name, &args),
        "info" => info::eval(ev, grid, &args),
        _ => math(ev, grid, name, &args),
    }
}

/// The argument of `histogram_count`/`histogram_sum`/`histogram_avg`: a
/// range function over a plain matrix selector sees the histograms as
/// Prometheus' stats iterator yields them (hints computed on the fly).
fn stats_input(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    a: &Expr,
) -> Result<Vec<StepSeries>, QueryError> {
    if let Expr::Call(c) = unwrap_parens(a) {
        let cargs: Vec<&Expr> = c.args.iter().collect();
        let matrix = cargs
            .iter()
            .position(|x| matches!(unwrap_parens(x), Expr::MatrixSelector(_)));
        if let Some(i) = matrix {
            ev.limits.check_deadline()?;
            if let Evaluated::Vector(v) =
                range_functions::eval_with(ev, grid, c.func.name, &cargs, i, true)?
            {
                return Ok(v);
            }
        }
    }
    ev.eval_vector(grid, a)
}

/// `time()`, `pi()` and the query-parameter functions `start()`, `end()`,
/// `range()` and `step()` (in seconds).
fn query_scalar(ev: &mut Evaluator<'_>, grid: Grid, name: &str) -> Result<Evaluated, QueryError> {
    let constant = match name {
        "pi" => std::f64::consts::PI,
        "start" => ev.query_start as f64 / 1000.0,
        "end" => ev.query_end as f64 / 1000.0,
        "range" => (ev.query_end - ev.query_start) as f64 / 1000.0,
        "step" => ev.query_step as f64 / 1000.0,
        _ => return scalar_per_step(ev, grid, |t| t as f64 / 1000.0),
    };
    scalar_per_step(ev, grid, |_| constant)
}

fn vector(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    // The scalar's points become the vector's points (held once).
    let s = ev.eval_scalar(grid, arg(args, 0)?)?;
    let floats = grid
        .timestamps()
        .zip(s)
        .map(|(t, v)| Sample::new(t, v))
        .collect();
    Ok(Evaluated::Vector(vec![StepSeries {
        labels: Labels::empty(),
        drop_name: false,
        floats,
        hists: Vec::new(),
    }]))
}

/// `scalar(v)`: the single element's value, NaN unless exactly one.
fn scalar(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    let steps = grid.steps();
    let v = ev.eval_vector(grid, arg(args, 0)?)?;
    let mut out = vec![f64::NAN; steps];
    let mut seen = vec![0u32; steps];
    for s in &v {
        for p in &s.floats {
            let i = grid.index_of(p.t);
            if i < steps {
                seen[i] += 1;
                out[i] = if seen[i] == 1 { p.v } else { f64::NAN };
            }
        }
    }
    ev.release_series(&v);
    ev.limits.hold(steps)?;
    Ok(Evaluated::Scalar(out))
}

/// `timestamp(v)`: the sample's own time for a selector argument, else the
/// evaluation time.
fn timestamp(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    let a = arg(args, 0)?;
    if let Expr::VectorSelector(vs) = unwrap_parens(a) {
        return Ok(Evaluated::Vector(selector::eval_vector_selector(
            ev,
            grid,
            vs,
            InstantMode::Timestamps,
        )?));
    }
    let mut v = ev.eval_vector(grid, a)?;
    for s in &mut v {
        s.drop_name = true;
        s.floats.iter_mut().for_each(|p| p.v = p.t as f64 / 1000.0);
        if !s.hists.is_empty() {
            let hists = std::mem::take(&mut s.hists);
            s.floats
                .extend(hists.iter().map(|p| Sample::new(p.t, p.t as f64 / 1000.0)));
            s.floats.sort_by_key(|p| p.t);
        }
    }
    Ok(Evaluated::Vector(v))
}

/// `absent(v)`: 1 at the steps where `v` is empty.
fn absent(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    let a = arg(args, 0)?;
    let v = ev.eval_vector(grid, a)?;
    let mut present = vec![false; grid.steps()];
    for s in &v {
        for t in s
            .floats
            .iter()
            .map(|p| p.t)
            .chain(s.hists.iter().map(|p| p.t))
        {
            if let Some(x) = present.get_mut(grid.index_of(t)) {
                *x = true;
            }
        }
    }
    ev.release_series(&v);
    let floats: Vec<Sample> = grid
        .timestamps()
        .zip(present)
        .filter(|(_, p)| !p)
        .map(|(t, _)| Sample::new(t, 1.0))
        .collect();
    if floats.is_empty() {
        return Ok(Evaluated::Vector(Vec::new()));
    }
    ev.limits.hold(floats.len())?;
    Ok(Evaluated::Vector(vec![StepSeries {
        labels: absent_labels(unwrap_parens(a)),
        drop_name: false,
        floats,
        hists: Vec::new(),
    }]))
}

/// `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over
/// classic bucket series.
fn classic_histogram(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let (func, input) = match name {
        "histogram_quantile" => {
            let q = ev.eval_scalar(grid, arg(args, 0)?)?;
            ev.limits.release(q.len());
            (HistFn::Quantile(q), arg(args, 1)?)
        }
        "histogram_quantiles" => {
            let label = string_arg(args, 1)?;
            let mut qss = Vec::new();
            for a in args.iter().skip(2) {
                let q = ev.eval_scalar(grid, a)?;
                ev.limits.release(q.len());
                qss.push(q);
            }
            (HistFn::Quantiles(label, qss), arg(args, 0)?)
        }
        _ => {
            let lo = ev.eval_scalar(grid, arg(args, 0)?)?;
            let hi = ev.eval_scalar(grid, arg(args, 1)?)?;
            ev.limits.release(lo.len() + hi.len());
            (HistFn::Fraction(lo, hi), arg(args, 2)?)
        }
    };
    let v = ev.eval_vector(grid, input)?;
    // Quantile warnings point at the (first) quantile argument, bucket
    // problems at the vector argument.
    let quantile_pos = match name {
        "histogram_quantiles" => args.get(2),
        _ => args.first(),
    }
    .map_or(0, |a| a.span().start);
    let out = histogram::eval_classic(ev, grid, func, &v, quantile_pos, input.span().start)?;
    finish_vector(ev, &v, out)
}

/// `round(v, to_nearest=1)`: ties round up.
fn round(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    let v = ev.eval_vector(grid, arg(args, 0)?)?;
    let to_nearest = match args.get(1) {
        Some(a) => Some(ev.eval_scalar(grid, a)?),
        None => None,
    };
    ev.limits.release(to_nearest.as_ref().map_or(0, Vec::len));
    let out = map_values(
        v,
        |step, x| {
            let n = to_nearest
                .as_ref()
                .and_then(|s| s.get(step).copied())
                .unwrap_or(1.0);
            // Multiplying by the inverse loses less precision than dividing.
            let inv = 1.0 / n;
            Some((x * inv + 0.5).floor() / inv)
        },
        grid,
    );
    Ok(Evaluated::Vector(out))
}

/// `clamp`, `clamp_min`, `clamp_max`; an empty result when max < min.
fn clamp(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let v = ev.eval_vector(grid, arg(args, 0)?)?;
    let first = ev.eval_scalar(grid, arg(args, 1)?)?;
    let second = match name {
        "clamp" => Some(ev.eval_scalar(grid, arg(args, 2)?)?),
        _ => None,
    };
    ev.limits
        .release(first.len() + second.as_ref().map_or(0, Vec::len));
    let bounds = |step: usize| -> (f64, f64) {
        let a = first.get(step).copied().unwrap_or(f64::NAN);
        match name {
            "clamp_min" => (a, f64::INFINITY),
            "clamp_max" => (f64::NEG_INFINITY, a),
            _ => (
                a,
                second
                    .as_ref()
                    .and_then(|s| s.get(step).copied())
                    .unwrap_or(f64::NAN),
            ),
        }
    };
    let out = map_values(
        v,
        |step, x| {
            let (lo, hi) = bounds(step);
            if hi < lo {
                return None;
            }
            // Go's math.Max/Min propagate NaN.
            if lo.is_nan() || hi.is_nan() || x.is_nan() {
                return Some(f64::NAN);
            }
            Some(lo.max(hi.min(x)))
        },
        grid,
    );
    Ok(Evaluated::Vector(out))
}

/// The UTC date functions, of the argument's values (Unix seconds) or, with
/// no argument, of the evaluation time.
fn date(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let f: fn(&Civil) -> f64 = match name {
        "days_in_month" => |c| days_in_month(c.year, c.month) as f64,
        "day_of_month" => |c| c.day as f64,
        "day_of_week" => |c| c.weekday as f64,
        "day_of_year" => |c| c.yday as f64,
        "hour" => |c| c.hour as f64,
        "minute" => |c| c.minute as f64,
        "month" => |c| c.month as f64,
        _ => |c| c.year as f64,
    };
    match args.first() {
        None => {
            let floats = grid
                .timestamps()
                .map(|t| Sample::new(t, f(&civil_from_unix(t.div_euclid(1000)))))
                .collect();
            ev.limits.hold(grid.steps())?;
            Ok(Evaluated::Vector(vec![StepSeries {
                labels: Labels::empty(),
                drop_name: false,
                floats,
                hists: Vec::new(),
            }]))
        }
        Some(a) => {
            let v = ev.eval_vector(grid, a)?;
            let out = map_values(
                v,
                |_, x| {
                    if x.is_nan() || x.is_infinite() {
                        // Go converts these to the minimum int64 second.
                        return Some(f(&civil_from_unix(i64::MIN / 1_000_000_000)));
                    }
                    Some(f(&civil_from_unix(x as i64)))
                },
                grid,
            );
            Ok(Evaluated::Vector(out))
        }
    }
}

/// Element-wise math functions (`abs`, `ln`, trigonometry, ...).
fn math(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let Some(f) = math_fn(name) else {
        return Err(QueryError::exec(format!(
            "function {name}() is not supported"
        )));
    };
    let v = ev.eval_vector(grid, arg(args, 0)?)?;
    Ok(Evaluated::Vector(map_values(v, |_, x| Some(f(x)), grid)))
}

fn arg<'e>(args: &[&'e Expr], i: usize) -> Result<&'e Expr, QueryError> {
    args.get(i)
        .copied()
        .ok_or_else(|| QueryError::exec("wrong number of function arguments"))
}

fn scalar_per_step(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    f: impl Fn(i64) -> f64,
) -> Result<Evaluated, QueryError> {
    ev.limits.hold(grid.steps())?;
    Ok(Evaluated::Scalar(grid.timestamps().map(f).collect()))
}

fn finish_vector(
    ev: &mut Evaluator<'_>,
    input: &[StepSeries],
    out: Vec<StepSeries>,
) -> Result<Evaluated, QueryError> {
    ev.release_series(input);
    ev.limits.hold(total_points(&out))?;
    Ok(Evaluated::Vector(out))
}

/// Applies `f(step, value)` to every point (None drops the point); the
/// result is a new value, so the metric name is dropped.
fn map_values(
    series: Vec<StepSeries>,
    f: impl Fn(usize, f64) -> Option<f64>,
    grid: Grid,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        s.hists.clear();
        s.floats = s
            .floats
            .iter()
            .filter_map(|p| f(grid.index_of(p.t), p.v).map(|v| Sample::new(p.t, v)))
            .collect();
        if s.floats.is_empty() {
            continue;
        }
        s.drop_name = true;
        out.push(s);
    }
    out
}

fn math_fn(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "sqrt" => f64::sqrt,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "rad" => |v| v * std::f64::consts::PI / 180.0,
        "deg" => |v| v * 180.0 / std::f64::consts::PI,
        "sgn" => |v| {
            if v < 0.0 {
                -1.0
            } else if v > 0.0 {
                1.0
            } else {
                v
            }
        },
        _ => return None,
    })
}

/// The labels `absent()` / `absent_over_time()` report: those fixed by
/// equality matchers of a selector argument (a label matched twice is left out).
pub(crate) fn absent_labels(arg: &Expr) -> Labels {
    let vs = match arg {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut out = Labels::empty();
    let mut seen: Vec<&str> = Vec::new();
    for m in &vs.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if matches!(m.op, MatchOp::Equal) && !seen.contains(&m.name.as_str()) {
            out.set(&m.name, &m.value);
            seen.push(&m.name);
        } else {
            out.remove(&m.name);
        }
    }
    out
}

fn string_arg(args: &[&Expr], i: usize) -> Result<String, QueryError> {
    match args.get(i).map(|a| unwrap_parens(a)) {
        Some(Expr::StringLiteral(s)) => match &s.raw {
            // Not valid UTF-8: cannot be a label name or value.
            Some(raw) => Err(QueryError::exec(format!(
                "invalid label name {}",
                quote_bytes(raw)
            ))),
            None => Ok(s.val.clone()),
        },
        _ => Err(QueryError::exec(format!(
            "expected a string literal as argument {}",
            i + 1
        ))),
    }
}

fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}

fn label_replace(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let dst = string_arg(args, 1)?;
    let repl = string_arg(args, 2)?;
    let src = string_arg(args, 3)?;
    let re_str = string_arg(args, 4)?;
    let re = Regex::new(&format!("^(?s:{re_str})$")).map_err(|_| {
        QueryError::exec(format!(
            "invalid regular expression in label_replace(): {re_str}"
        ))
    })?;
    if !valid_label_name(&dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(grid, arg(args, 0)?)?;
    for s in &mut v {
        let value = s.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&value) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            s.labels.set(&dst, &res);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    Ok(Evaluated::Vector(merge_same_labelset(v)?))
}

fn label_join(ev: &mut Evaluator<'_>, grid: Grid, args: &[&Expr]) -> Result<Evaluated, QueryError> {
    let dst = string_arg(args, 1)?;
    let sep = string_arg(args, 2)?;
    let mut srcs = Vec::new();
    for i in 3..args.len() {
        let s = string_arg(args, i)?;
        if !valid_label_name(&s) {
            return Err(QueryError::exec(format!(
                "invalid source label name in label_join(): {s}"
            )));
        }
        srcs.push(s);
    }
    if !valid_label_name(&dst) {
        return Err(QueryError::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(grid, arg(args, 0)?)?;
    for s in &mut v {
        let joined = srcs
            .iter()
            .map(|n| s.labels.get(n).unwrap_or(""))
            .collect::<Vec<_>>()
            .join(&sep);
        s.labels.set(&dst, &joined);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    Ok(Evaluated::Vector(merge_same_labelset(v)?))
}

/// `sort*()`: orders an instant query's result; a range query's result is
/// always ordered by labels, so there it only warns.
fn sort(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
    pos: usize,
) -> Result<Evaluated, QueryError> {
    let mut label_names = Vec::new();
    for i in 1..args.len() {
        label_names.push(string_arg(args, i)?);
    }
    let mut v = ev.eval_vector(grid, arg(args, 0)?)?;
    let by_value = matches!(name, "sort" | "sort_desc");
    if by_value {
        // Sorting by value ignores (drops) histogram samples.
        v.iter_mut().for_each(|s| s.hists.clear());
        v.retain(|s| !s.is_empty());
    }
    ev.note_pos = pos;
    if grid.steps() != 1 {
        ev.warn(
            "sort is ineffective for range queries since results are always ordered by labels"
                .to_string(),
        );
        return Ok(Evaluated::Vector(v));
    }
    let mut cursor = StepCursor::new(&v);
    let mut present = Vec::new();
    cursor.at(grid.start, &mut present);
    if !by_value {
        // Histogram samples are ordered by label like floats.
        for (i, s) in v.iter().enumerate() {
            if s.hists.iter().any(|p| p.t == grid.start) {
                present.push((i, f64::NAN));
            }
        }
    }
    let mut order: Vec<(usize, f64)> = present.clone();
    match name {
        "sort" => go_sort(&mut order, |a, b| asc_nan_last(a.1, b.1)),
        "sort_desc" => go_sort(&mut order, |a, b| desc_nan_last(a.1, b.1)),
        _ => {
            let desc = name == "sort_by_label_desc";
            order.sort_by(|a, b| {
                let (la, lb) = (&v[a.0].labels, &v[b.0].labels);
                for n in &label_names {
                    let (x, y) = (la.get(n).unwrap_or(""), lb.get(n).unwrap_or(""));
                    if x == y {
                        continue;
                    }
                    let o = natural_cmp(x, y);
                    return if desc { o.reverse() } else { o };
                }
                if desc {
                    lb.cmp(la)
                } else {
                    la.cmp(lb)
                }
            });
        }
    }
    let mut slots: Vec<Option<StepSeries>> = v.into_iter().map(Some).collect();
    let out = order.iter().filter_map(|(i, _)| slots[*i].take()).collect();
    Ok(Evaluated::Vector(out))
}
