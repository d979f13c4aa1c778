//! Functions over range vectors (`rate`, `increase`, `delta`, `irate`,
//! `idelta`, `deriv`, `predict_linear`, `changes`, `resets`, the
//! `*_over_time` family, ...): each series' points are windowed per step
//! (left-open `(t - range, t]`) and reduced to one value. Windows holding
//! native histograms go to `range_hist` (and `extended_hist` for
//! `anchored`/`smoothed`); float-only windows take the float path unchanged.

use super::parser::Expr;

use crate::model::{HistogramSample, Labels, Sample};

use super::eval::{unwrap_parens, Evaluator};
use super::extended::{extend_window, Extension};
use super::extended_hist::{anchored_changes_or_resets, extended_histogram_rate};
use super::functions::absent_labels;
use super::range_hist::{
    self, avg_hists, changes_or_resets, extrapolated_histogram_rate, instant_value_mixed,
    last_or_first, sum_hists, Notes, WinOut,
};
use super::selector::{self, RangeInput, Window};
use super::step::{hist_weight, total_points, Evaluated, Grid, StepSeries};
use super::util::{format_float_go, go_quote, kahan_inc, quantile};
use super::value::QueryError;

/// Per-step context of a range function call.
struct Ctx<'a> {
    w: Window,
    /// The range in milliseconds.
    range: i64,
    /// Scalar arguments at this step, in argument order (matrix excluded).
    args: &'a [f64],
}

type RangeFn = fn(&[Sample], &Ctx<'_>) -> Result<Option<f64>, QueryError>;

fn lookup(name: &str) -> Option<RangeFn> {
    let f: RangeFn = match name {
        "rate" => |p, c| Ok(extrapolated_rate(p, c, true, true)),
        "increase" => |p, c| Ok(extrapolated_rate(p, c, true, false)),
        "delta" => |p, c| Ok(extrapolated_rate(p, c, false, false)),
        "irate" => |p, _| Ok(instant_value(p, true)),
        "idelta" => |p, _| Ok(instant_value(p, false)),
        "deriv" => |p, _| Ok(deriv(p)),
        "predict_linear" => |p, c| Ok(predict_linear(p, c)),
        "changes" => |p, _| Ok(Some(changes(p))),
        "resets" => |p, _| Ok(Some(resets(p))),
        "avg_over_time" => |p, _| Ok(Some(avg(p))),
        "sum_over_time" => |p, _| Ok(Some(sum(p))),
        "count_over_time" => |p, _| Ok(Some(p.len() as f64)),
        "min_over_time" => |p, _| Ok(Some(extreme(p, |cur, best| cur < best).1)),
        "max_over_time" => |p, _| Ok(Some(extreme(p, |cur, best| cur > best).1)),
        "ts_of_min_over_time" => |p, _| Ok(Some(extreme(p, |cur, best| cur <= best).0)),
        "ts_of_max_over_time" => |p, _| Ok(Some(extreme(p, |cur, best| cur >= best).0)),
        "last_over_time" => |p, _| Ok(p.last().map(|s| s.v)),
        "first_over_time" => |p, _| Ok(p.first().map(|s| s.v)),
        "ts_of_last_over_time" => |p, _| Ok(p.last().map(|s| s.t as f64 / 1000.0)),
        "ts_of_first_over_time" => |p, _| Ok(p.first().map(|s| s.t as f64 / 1000.0)),
        "present_over_time" => |_, _| Ok(Some(1.0)),
        "quantile_over_time" => |p, c| {
            let mut v: Vec<f64> = p.iter().map(|s| s.v).collect();
            Ok(Some(quantile(
                c.args.first().copied().unwrap_or(f64::NAN),
                &mut v,
            )))
        },
        "stddev_over_time" => |p, _| Ok(Some(variance(p).sqrt())),
        "stdvar_over_time" => |p, _| Ok(Some(variance(p))),
        "mad_over_time" => |p, _| Ok(Some(mad(p))),
        "double_exponential_smoothing" => double_exponential_smoothing,
        _ => return None,
    };
    Some(f)
}

/// Evaluates a call whose argument `matrix_arg` is a range vector.
pub(crate) fn eval(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
    matrix_arg: usize,
) -> Result<Evaluated, QueryError> {
    eval_with(ev, grid, name, args, matrix_arg, false)
}

/// [`eval`]; with `stats_hints`, histogram samples of a matrix selector get
/// the counter-reset hints Prometheus' `HistogramStatsIterator` computes on
/// the fly (used under `histogram_count`/`histogram_sum`/`histogram_avg`).
pub(crate) fn eval_with(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    args: &[&Expr],
    matrix_arg: usize,
    stats_hints: bool,
) -> Result<Evaluated, QueryError> {
    let mut scalars: Vec<Vec<f64>> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i != matrix_arg {
            scalars.push(ev.eval_scalar(grid, a)?);
        }
    }
    let arg = unwrap_parens(args[matrix_arg]);
    // A function over a matrix selector reduces each series on its own:
    // stream the selection in batches so only one batch of raw samples is
    // held (absent_over_time looks at all series at once).
    if let (Expr::MatrixSelector(ms), false) = (arg, name == "absent_over_time") {
        let f = lookup(name)
            .ok_or_else(|| QueryError::exec(format!("function {name}() is not supported")))?;
        quantile_warnings(ev, name, args, &scalars);
        let mut out = Vec::new();
        selector::for_each_matrix_batch(ev, grid, ms, MATRIX_BATCH, |ev, mut input| {
            if let Some(ext) = &mut input.extension {
                ext.counter = matches!(name, "rate" | "increase");
            }
            ev.note_pos = arg.span().start;
            let part = apply(ev, grid, name, f, &input, &scalars)?;
            ev.limits.hold(total_points(&part))?;
            out.extend(part);
            Ok(())
        })?;
        for s in &scalars {
            ev.limits.release(s.len());
        }
        return Ok(Evaluated::Vector(out));
    }
    let mut input = match arg {
        Expr::MatrixSelector(ms) => selector::load_matrix_selector(ev, grid, ms)?,
        Expr::Subquery(sq) => ev.eval_subquery(grid, sq)?,
        _ => {
            return Err(QueryError::exec(format!(
                "expected range vector argument to {name}()"
            )))
        }
    };
    if stats_hints && matches!(arg, Expr::MatrixSelector(_)) {
        input
            .series
            .iter_mut()
            .for_each(|s| range_hist::compute_stats_hints(&mut s.hists));
    }
    if let Some(ext) = &mut input.extension {
        ext.counter = matches!(name, "rate" | "increase");
    }
    let input_held = if matches!(arg, Expr::Subquery(_)) {
        total_points(&input.series)
    } else {
        0
    };
    let out = if name == "absent_over_time" {
        absent_over_time(ev, grid, &input, absent_labels(arg))?
    } else {
        quantile_warnings(ev, name, args, &scalars);
        let f = lookup(name)
            .ok_or_else(|| QueryError::exec(format!("function {name}() is not supported")))?;
        ev.note_pos = arg.span().start;
        apply(ev, grid, name, f, &input, &scalars)?
    };
    ev.limits.release(input_held);
    for s in &scalars {
        ev.limits.release(s.len());
    }
    ev.limits.hold(total_points(&out))?;
    Ok(Evaluated::Vector(out))
}

/// Series per batch when a range function streams its matrix selector.
const MATRIX_BATCH: usize = 256;

/// `quantile_over_time`'s warnings about its quantile parameter.
fn quantile_warnings(ev: &mut Evaluator<'_>, name: &str, args: &[&Expr], scalars: &[Vec<f64>]) {
    if name != "quantile_over_time" {
        return;
    }
    ev.note_pos = args.first().map_or(0, |a| a.span().start);
    for &q in scalars.first().map(Vec::as_slice).unwrap_or(&[]) {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            ev.warn(format!(
                "quantile value should be between 0 and 1, got {}",
                format_float_go(q)
            ));
        }
    }
}

fn apply(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    name: &str,
    f: RangeFn,
    input: &RangeInput,
    scalars: &[Vec<f64>],
) -> Result<Vec<StepSeries>, QueryError> {
    // last/first_over_time act like a selector and keep the metric name.
    let keeps_name = matches!(name, "last_over_time" | "first_over_time");
    let counter_fn = matches!(name, "rate" | "increase");
    let mut out = Vec::new();
    let mut args = vec![0.0; scalars.len()];
    for s in &input.series {
        ev.limits.tick()?;
        let mut pts: Vec<Sample> = Vec::new();
        let mut hpts: Vec<HistogramSample> = Vec::new();
        let mut notes = Notes::default();
        let metric = s.labels.metric_name().unwrap_or("");
        let mut touched = 0usize;
        let limits = &mut ev.limits;
        if let (Some(ext), false) = (input.extension, s.hists.is_empty()) {
            for step in 0..grid.steps() {
                limits.tick()?;
                let ts = grid.ts(step);
                let end = input.at.unwrap_or(ts).saturating_sub(input.offset);
                let start = end.saturating_sub(input.range);
                let (lo_t, hi_t) = ext.load_range(start, end);
                let fl = &s.floats[s.floats.partition_point(|p| p.t <= lo_t)
                    ..s.floats.partition_point(|p| p.t <= hi_t)];
                let hs = &s.hists[s.hists.partition_point(|p| p.t <= lo_t)
                    ..s.hists.partition_point(|p| p.t <= hi_t)];
                if fl.is_empty() && hs.is_empty() {
                    continue;
                }
                let n = fl.len() + hs.iter().map(hist_weight).sum::<usize>();
                limits.check_extra(n)?;
                touched += n;
                for (a, vals) in args.iter_mut().zip(scalars) {
                    *a = vals.get(step).copied().unwrap_or(f64::NAN);
                }
                let ctx = Ctx {
                    w: Window { ts, start, end },
                    range: input.range,
                    args: &args,
                };
                let r = extended_mixed_window(name, f, fl, hs, &ctx, ext, metric, &mut notes)?;
                match r {
                    Some(WinOut::F(v)) => pts.push(Sample::new(ts, v)),
                    Some(WinOut::H(h)) => hpts.push(HistogramSample { t: ts, h }),
                    None => {}
                }
            }
        } else if input.extension.is_some() || s.hists.is_empty() {
            input.for_each_window(s, grid, |step, w, window| {
                limits.tick()?;
                limits.check_extra(window.len())?;
                touched += window.len();
                for (a, vals) in args.iter_mut().zip(scalars) {
                    *a = vals.get(step).copied().unwrap_or(f64::NAN);
                }
                let ctx = Ctx {
                    w,
                    range: input.range,
                    args: &args,
                };
                if let Some(v) = f(window, &ctx)? {
                    pts.push(Sample::new(w.ts, v));
                }
                Ok(())
            })?;
        } else {
            input.for_each_window_mixed(s, grid, |step, w, fl, hs| {
                limits.tick()?;
                let n = fl.len() + hs.iter().map(hist_weight).sum::<usize>();
                limits.check_extra(n)?;
                touched += n;
                for (a, vals) in args.iter_mut().zip(scalars) {
                    *a = vals.get(step).copied().unwrap_or(f64::NAN);
                }
                let ctx = Ctx {
                    w,
                    range: input.range,
                    args: &args,
                };
                let r = if hs.is_empty() {
                    f(fl, &ctx)?.map(WinOut::F)
                } else {
                    hist_window(name, f, fl, hs, &ctx, metric, &mut notes)?
                };
                match r {
                    Some(WinOut::F(v)) => pts.push(Sample::new(w.ts, v)),
                    Some(WinOut::H(h)) => hpts.push(HistogramSample { t: w.ts, h }),
                    None => {}
                }
                Ok(())
            })?;
        }
        ev.limits.touched(touched);
        notes.emit(ev);
        if pts.is_empty() && hpts.is_empty() {
            continue;
        }
        if counter_fn && !pts.is_empty() {
            if let Some(metric) = s.labels.metric_name() {
                if !["_total", "_sum", "_count", "_bucket"]
                    .iter()
                    .any(|suf| metric.ends_with(suf))
                {
                    ev.info(format!(
                        "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {}",
                        go_quote(metric)
                    ));
                }
            }
        }
        out.push(StepSeries {
            labels: s.labels.clone(),
            drop_name: !keeps_name || s.drop_name,
            floats: pts,
            hists: hpts,
        });
    }
    Ok(out)
}

/// One `anchored`/`smoothed` window of a series holding histograms: `fl` and
/// `hs` are the raw samples loaded around the window.
#[allow(clippy::too_many_arguments)]
fn extended_mixed_window(
    name: &str,
    f: RangeFn,
    fl: &[Sample],
    hs: &[HistogramSample],
    c: &Ctx<'_>,
    ext: Extension,
    metric: &str,
    notes: &mut Notes,
) -> Result<Option<WinOut>, QueryError> {
    let (start, end) = (c.w.start, c.w.end);
    Ok(match name {
        "rate" | "increase" | "delta" if !hs.is_empty() => {
            if !fl.is_empty() {
                notes.warn(range_hist::mixed_floats_hists(metric));
                return Ok(None);
            }
            extended_histogram_rate(
                hs,
                start,
                end,
                c.range,
                name != "delta",
                name == "rate",
                ext.smoothed,
                metric,
                notes,
            )
            .map(|h| WinOut::H(Box::new(h)))
        }
        "changes" | "resets" => {
            anchored_changes_or_resets(fl, hs, start, name == "resets").map(WinOut::F)
        }
        _ => {
            let window = extend_window(fl, start, end, ext);
            if window.is_empty() {
                None
            } else {
                f(&window, c)?.map(WinOut::F)
            }
        }
    })
}

/// One window holding at least one histogram (and maybe floats).
fn hist_window(
    name: &str,
    f: RangeFn,
    fl: &[Sample],
    hs: &[HistogramSample],
    c: &Ctx<'_>,
    metric: &str,
    notes: &mut Notes,
) -> Result<Option<WinOut>, QueryError> {
    Ok(match name {
        "rate" | "increase" | "delta" => {
            if !fl.is_empty() {
                notes.warn(range_hist::mixed_floats_hists(metric));
                return Ok(None);
            }
            extrapolated_histogram_rate(
                hs,
                c.w.start,
                c.w.end,
                c.range,
                name != "delta",
                name == "rate",
                metric,
                notes,
            )
            .map(|h| WinOut::H(Box::new(h)))
        }
        "irate" | "idelta" => instant_value_mixed(fl, hs, name == "irate", metric, notes),
        "changes" | "resets" => Some(WinOut::F(changes_or_resets(fl, hs, name == "resets"))),
        "sum_over_time" | "avg_over_time" => {
            if !fl.is_empty() {
                notes.warn(range_hist::mixed_floats_hists(metric));
                return Ok(None);
            }
            let h = if name == "sum_over_time" {
                sum_hists(hs, metric, notes)
            } else {
                avg_hists(hs, metric, notes)
            };
            h.map(|h| WinOut::H(Box::new(h)))
        }
        "count_over_time" => Some(WinOut::F((fl.len() + hs.len()) as f64)),
        "present_over_time" => Some(WinOut::F(1.0)),
        "last_over_time" => last_or_first(fl, hs, true),
        "first_over_time" => last_or_first(fl, hs, false),
        "ts_of_last_over_time" => {
            let t = fl
                .last()
                .map_or(0, |p| p.t)
                .max(hs.last().map_or(0, |p| p.t));
            Some(WinOut::F(t as f64 / 1000.0))
        }
        "ts_of_first_over_time" => {
            let t = fl
                .first()
                .map_or(i64::MAX, |p| p.t)
                .min(hs.first().map_or(i64::MAX, |p| p.t));
            Some(WinOut::F(t as f64 / 1000.0))
        }
        "deriv" | "predict_linear" | "double_exponential_smoothing" => {
            let r = f(fl, c)?;
            if !fl.is_empty() {
                notes.info(range_hist::ignored_in_mixed_range(metric));
            }
            r.map(WinOut::F)
        }
        _ => {
            // Float-only functions ignore histograms.
            if fl.is_empty() {
                return Ok(None);
            }
            notes.info(range_hist::ignored_in_mixed_range(metric));
            f(fl, c)?.map(WinOut::F)
        }
    })
}

/// `absent_over_time`: 1 at the steps where no series has a point in its window.
fn absent_over_time(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    input: &RangeInput,
    labels: Labels,
) -> Result<Vec<StepSeries>, QueryError> {
    let mut found = vec![false; grid.steps()];
    for s in &input.series {
        ev.limits.tick()?;
        if input.extension.is_some() {
            input.for_each_window(s, grid, |step, _, _| {
                found[step] = true;
                Ok(())
            })?;
        } else {
            input.for_each_window_mixed(s, grid, |step, _, _, _| {
                found[step] = true;
                Ok(())
            })?;
        }
    }
    let floats: Vec<Sample> = grid
        .timestamps()
        .zip(found)
        .filter(|(_, f)| !f)
        .map(|(t, _)| Sample::new(t, 1.0))
        .collect();
    if floats.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![StepSeries {
        labels,
        drop_name: true,
        floats,
        hists: Vec::new(),
    }])
}

/// `rate`, `increase` and `delta`: the change over the window, corrected for
/// counter resets and extrapolated towards the window edges (Prometheus'
/// `extrapolatedRate`).
fn extrapolated_rate(p: &[Sample], c: &Ctx<'_>, is_counter: bool, is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let first = p[0];
    let last = p[p.len() - 1];
    let mut result = last.v - first.v;
    if is_counter {
        for w in p.windows(2) {
            if w[1].v < w[0].v {
                result += w[0].v;
            }
        }
    }
    let mut to_start = (first.t as f64 - c.w.start as f64) / 1000.0;
    let mut to_end = (c.w.end as f64 - last.t as f64) / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (p.len() - 1) as f64;
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: extrapolate no further than the
        // point where it would reach it.
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= c.range as f64 / 1000.0;
    }
    Some(result * factor)
}

/// `irate` / `idelta`: from the last two points.
fn instant_value(p: &[Sample], is_rate: bool) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let prev = p[p.len() - 2];
    let last = p[p.len() - 1];
    let interval = last.t - prev.t;
    if interval == 0 {
        return None;
    }
    let mut v = if is_rate && last.v < prev.v {
        // Counter reset: the last value is the increase since the reset.
        last.v
    } else {
        last.v - prev.v
    };
    if is_rate {
        v /= interval as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares fit; returns (slope, intercept at `intercept_time`).
fn linear_regression(p: &[Sample], intercept_time: i64) -> (f64, f64) {
    let (mut n, mut sum_x, mut c_x, mut sum_y, mut c_y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut sum_xy, mut c_xy, mut sum_x2, mut c_x2) = (0.0, 0.0, 0.0, 0.0);
    let init_y = p[0].v;
    let mut const_y = true;
    for (i, s) in p.iter().enumerate() {
        if const_y && i > 0 && s.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (s.t - intercept_time) as f64 / 1e3;
        (sum_x, c_x) = kahan_inc(x, sum_x, c_x);
        (sum_y, c_y) = kahan_inc(s.v, sum_y, c_y);
        (sum_xy, c_xy) = kahan_inc(x * s.v, sum_xy, c_xy);
        (sum_x2, c_x2) = kahan_inc(x * x, sum_x2, c_x2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sum_x += c_x;
    sum_y += c_y;
    sum_xy += c_xy;
    sum_x2 += c_x2;
    let cov_xy = sum_xy - sum_x * sum_y / n;
    let var_x = sum_x2 - sum_x * sum_x / n;
    let slope = cov_xy / var_x;
    (slope, sum_y / n - slope * sum_x / n)
}

fn deriv(p: &[Sample]) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    Some(linear_regression(p, p[0].t).0)
}

fn predict_linear(p: &[Sample], c: &Ctx<'_>) -> Option<f64> {
    if p.len() < 2 {
        return None;
    }
    let duration = c.args.first().copied().unwrap_or(f64::NAN);
    let (slope, intercept) = linear_regression(p, c.w.ts);
    Some(slope * duration + intercept)
}

fn changes(p: &[Sample]) -> f64 {
    p.windows(2)
        .filter(|w| w[1].v != w[0].v && !(w[1].v.is_nan() && w[0].v.is_nan()))
        .count() as f64
}

fn resets(p: &[Sample]) -> f64 {
    p.windows(2).filter(|w| w[1].v < w[0].v).count() as f64
}

/// Mean with compensated summation, switching to an incremental mean if the
/// running sum would overflow.
fn avg(p: &[Sample]) -> f64 {
    let mut sum = p[0].v;
    let mut count = 1.0;
    let (mut mean, mut comp) = (0.0, 0.0);
    let mut incremental = false;
    for (i, s) in p.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(s.v, sum, comp);
            if !ns.is_infinite() {
                sum = ns;
                comp = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            comp /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, comp) = kahan_inc(s.v / count, q * mean, q * comp);
    }
    if incremental {
        mean + comp
    } else {
        sum / count + comp / count
    }
}

fn sum(p: &[Sample]) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for x in p {
        (s, c) = kahan_inc(x.v, s, c);
    }
    if s.is_infinite() {
        s
    } else {
        s + c
    }
}

/// (timestamp in seconds, value) of the point preferred by `better`; NaN
/// values are always replaced.
fn extreme(p: &[Sample], better: fn(f64, f64) -> bool) -> (f64, f64) {
    let mut best = p[0];
    for s in p {
        if better(s.v, best.v) || best.v.is_nan() {
            best = *s;
        }
    }
    (best.t as f64 / 1000.0, best.v)
}

/// Population variance with compensated running mean (Welford).
fn variance(p: &[Sample]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for s in p {
        count += 1.0;
        let delta = s.v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (s.v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// Median absolute deviation from the median.
fn mad(p: &[Sample]) -> f64 {
    if p.iter().any(|s| s.v.is_nan()) {
        return f64::NAN;
    }
    let mut v: Vec<f64> = p.iter().map(|s| s.v).collect();
    let median = quantile(0.5, &mut v);
    let mut dev: Vec<f64> = p.iter().map(|s| (s.v - median).abs()).collect();
    quantile(0.5, &mut dev)
}

/// Holt's linear smoothing with smoothing factor `sf` and trend factor `tf`.
fn double_exponential_smoothing(p: &[Sample], c: &Ctx<'_>) -> Result<Option<f64>, QueryError> {
    let sf = c.args.first().copied().unwrap_or(f64::NAN);
    let tf = c.args.get(1).copied().unwrap_or(f64::NAN);
    if !(sf > 0.0 && sf < 1.0) {
        return Err(QueryError::exec(format!(
            "invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:.6}"
        )));
    }
    if !(tf > 0.0 && tf < 1.0) {
        return Err(QueryError::exec(format!(
            "invalid trend factor. Expected: 0 < tf < 1, got: {tf:.6}"
        )));
    }
    if p.len() < 2 {
        return Ok(None);
    }
    let (mut s0, mut s1) = (0.0, p[0].v);
    let mut b = p[1].v - p[0].v;
    for (i, x) in p.iter().enumerate().skip(1) {
        let scaled = sf * x.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = scaled + y;
    }
    Ok(Some(s1))
}
