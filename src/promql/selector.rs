//! Series selection: converting the parser's matchers to ours, selecting each
//! selector from the [`SampleSource`](super::source::SampleSource) once for the
//! whole evaluation range, and slicing the result in memory per step
//! (lookback for instant selectors, left-open windows for range selectors).

use crate::model::{is_stale_nan, HistogramSample, Matcher, Sample};

use super::eval::Evaluator;
use super::extended::{extend_window, smoothed_value, Extension};
use super::extended_hist;
use super::parser::{self, MatrixSelector, VectorSelector};
use super::range_hist::Notes;
use super::source::Series;
use super::step::{total_points, Grid, StepSeries};
use super::value::QueryError;

/// Parses a series selector as used in `match[]` parameters, e.g.
/// `up{job=~"a.*"}` or `{__name__=~".+"}`, into matchers (the metric name
/// becomes a `__name__` equality matcher).
pub fn parse_series_selector(s: &str) -> Result<Vec<Matcher>, String> {
    let vs = parser::parse_selector(s).map_err(|e| e.to_string())?;
    matchers(&vs)
}

/// The storage matchers of a selector.
pub(crate) fn matchers(vs: &VectorSelector) -> Result<Vec<Matcher>, String> {
    vs.matchers.iter().map(|m| m.to_matcher()).collect()
}

/// Series per batch when selectors stream from storage: the raw samples of
/// at most this many series are held at once.
const SELECT_BATCH: usize = 256;

/// Streams the series of a selector with samples in `[mint, maxt]`, sorted
/// by labels, one at a time into `f`: storage decodes them batch by batch,
/// so only one batch of raw samples is in memory at a time.
pub(crate) fn select_each(
    ev: &mut Evaluator<'_>,
    vs: &VectorSelector,
    mint: i64,
    maxt: i64,
    mut f: impl FnMut(&mut Evaluator<'_>, Series) -> Result<(), QueryError>,
) -> Result<(), QueryError> {
    ev.limits.check_deadline()?;
    let ms = matchers(vs).map_err(QueryError::BadData)?;
    let src = ev.src;
    let mut failed: Option<QueryError> = None;
    src.select_batched(&ms, mint, maxt, SELECT_BATCH, &mut |batch| {
        for s in batch {
            if let Err(e) = ev.limits.tick().and_then(|_| f(ev, s)) {
                failed = Some(e);
                return false;
            }
        }
        true
    })?;
    match failed {
        Some(e) => Err(e),
        None => ev.limits.check_deadline(),
    }
}

/// What an instant selector yields per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InstantMode {
    /// The sample value (normal selectors).
    Values,
    /// The sample's own timestamp in seconds (`timestamp(selector)`).
    Timestamps,
}

/// Evaluates an instant vector selector at every step of `grid`: the newest
/// sample in `(ref - lookback, ref]`, unless it is a staleness marker.
pub(crate) fn eval_vector_selector(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    vs: &VectorSelector,
    mode: InstantMode,
) -> Result<Vec<StepSeries>, QueryError> {
    let offset = vs.offset_ms();
    let at = ev.at_time(&vs.at);
    let steps = grid.steps();
    if steps == 0 {
        return Ok(Vec::new());
    }
    let ref_of = |ts: i64| at.unwrap_or(ts).saturating_sub(offset);
    let first_ref = ref_of(grid.start);
    let last_ref = ref_of(grid.end);
    let lookback = ev.lookback;
    let after = if vs.smoothed { lookback } else { 0 };
    let mut out = Vec::new();
    let (mint, maxt) = (
        first_ref.saturating_sub(lookback).saturating_add(1),
        last_ref.saturating_add(after),
    );
    select_each(ev, vs, mint, maxt, |ev, s| {
        if vs.smoothed && mode == InstantMode::Values && !s.histograms.is_empty() {
            return smoothed_with_histograms(ev, grid, vs, &ref_of, s, &mut out);
        }
        if vs.smoothed && mode == InstantMode::Values {
            let pts: Vec<Sample> = s
                .samples
                .iter()
                .copied()
                .filter(|p| !is_stale_nan(p.v))
                .collect();
            let floats: Vec<Sample> = grid
                .timestamps()
                .filter_map(|ts| {
                    smoothed_value(&pts, ref_of(ts), lookback).map(|v| Sample::new(ts, v))
                })
                .collect();
            if !floats.is_empty() {
                ev.limits.touched(floats.len());
                ev.limits.hold(floats.len())?;
                out.push(StepSeries::with_floats(s.labels, false, floats));
            }
            return Ok(());
        }
        let (samples, hs) = (&s.samples, &s.histograms);
        let mut floats: Vec<Sample> = Vec::new();
        let mut hists: Vec<HistogramSample> = Vec::new();
        let (mut idx, mut hidx) = (0usize, 0usize);
        let mut last_hist_t: Option<i64> = None;
        for i in 0..steps {
            ev.limits.tick()?;
            let ts = grid.ts(i);
            let r = ref_of(ts);
            while idx < samples.len() && samples[idx].t <= r {
                idx += 1;
            }
            while hidx < hs.len() && hs[hidx].t <= r {
                hidx += 1;
            }
            let f = idx.checked_sub(1).map(|k| samples[k]);
            let h = hidx.checked_sub(1).map(|k| &hs[k]);
            // The newest sample of either kind; a stale float marker (or a
            // histogram whose sum is the stale NaN) hides the series.
            match (f, h) {
                (Some(f), h) if h.is_none_or(|h| h.t < f.t) => {
                    if f.t <= r.saturating_sub(lookback) || is_stale_nan(f.v) {
                        continue;
                    }
                    let v = match mode {
                        InstantMode::Values => f.v,
                        InstantMode::Timestamps => f.t as f64 / 1000.0,
                    };
                    floats.push(Sample::new(ts, v));
                }
                (_, Some(h)) => {
                    if h.t <= r.saturating_sub(lookback) || is_stale_nan(h.h.sum) {
                        continue;
                    }
                    match mode {
                        InstantMode::Values => {
                            let mut hv = h.h.clone();
                            // A sample seen again at a later step carries no
                            // reset relative to itself.
                            if last_hist_t == Some(h.t) {
                                clear_reset_hint(&mut hv);
                            }
                            last_hist_t = Some(h.t);
                            hists.push(HistogramSample { t: ts, h: hv });
                        }
                        InstantMode::Timestamps => {
                            floats.push(Sample::new(ts, h.t as f64 / 1000.0))
                        }
                    }
                }
                _ => {}
            }
        }
        let out_series = StepSeries {
            labels: s.labels,
            drop_name: mode == InstantMode::Timestamps,
            floats,
            hists,
        };
        if out_series.is_empty() {
            return Ok(());
        }
        let n = total_points(std::slice::from_ref(&out_series));
        ev.limits.touched(n);
        ev.limits.hold(n)?;
        out.push(out_series);
        Ok(())
    })?;
    Ok(out)
}

/// An explicit counter-reset hint is dropped (becomes unknown).
fn clear_reset_hint(h: &mut crate::model::FloatHistogram) {
    use crate::model::histogram::CounterResetHint;
    if h.counter_reset_hint == CounterResetHint::CounterReset {
        h.counter_reset_hint = CounterResetHint::Unknown;
    }
}

/// A `smoothed` selector's series that holds histograms (see
/// [`extended_hist::smoothed_series`]).
fn smoothed_with_histograms(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    vs: &VectorSelector,
    ref_of: &dyn Fn(i64) -> i64,
    s: Series,
    out: &mut Vec<StepSeries>,
) -> Result<(), QueryError> {
    let floats: Vec<Sample> = s
        .samples
        .into_iter()
        .filter(|p| !is_stale_nan(p.v))
        .collect();
    let hists: Vec<HistogramSample> = s
        .histograms
        .into_iter()
        .filter(|p| !is_stale_nan(p.h.sum))
        .collect();
    let steps: Vec<(i64, i64)> = grid.timestamps().map(|t| (t, ref_of(t))).collect();
    let mut notes = Notes::default();
    let name = s.labels.metric_name().unwrap_or("").to_string();
    let (floats, hists) =
        extended_hist::smoothed_series(&floats, &hists, &steps, ev.lookback, &name, &mut notes);
    ev.note_pos = vs.span.start;
    notes.emit(ev);
    let series = StepSeries {
        labels: s.labels,
        drop_name: false,
        floats,
        hists,
    };
    if !series.is_empty() {
        let n = total_points(std::slice::from_ref(&series));
        ev.limits.touched(n);
        ev.limits.hold(n)?;
        out.push(series);
    }
    Ok(())
}

/// A range-vector argument ready to be windowed per step: raw samples of a
/// matrix selector (staleness markers removed) or the points of an evaluated
/// subquery.
#[derive(Debug)]
pub(crate) struct RangeInput {
    pub series: Vec<StepSeries>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    /// `anchored` / `smoothed` boundary points (matrix selectors only).
    pub extension: Option<Extension>,
}

/// The time window of one evaluation step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// Evaluation timestamp of the step.
    pub ts: i64,
    /// Exclusive lower bound of the window.
    pub start: i64,
    /// Inclusive upper bound of the window.
    pub end: i64,
}

impl RangeInput {
    /// The same window settings without series.
    fn shallow_clone(&self) -> RangeInput {
        RangeInput {
            series: Vec::new(),
            range: self.range,
            offset: self.offset,
            at: self.at,
            extension: self.extension,
        }
    }

    /// Calls `f(step index, window, points)` for every step of `grid` whose
    /// left-open window `(end - range, end]` holds at least one point.
    pub fn for_each_window<F>(
        &self,
        series: &StepSeries,
        grid: Grid,
        mut f: F,
    ) -> Result<(), QueryError>
    where
        F: FnMut(usize, Window, &[Sample]) -> Result<(), QueryError>,
    {
        let pts = &series.floats;
        if let Some(ext) = self.extension {
            return self.for_each_extended_window(pts, grid, ext, f);
        }
        self.walk_windows(pts, &[], grid, |i, w, floats, _| {
            if floats.is_empty() {
                Ok(())
            } else {
                f(i, w, floats)
            }
        })
    }

    /// Like [`RangeInput::for_each_window`], with the float and the
    /// histogram points of each window (at least one of them non-empty).
    pub fn for_each_window_mixed<F>(
        &self,
        series: &StepSeries,
        grid: Grid,
        f: F,
    ) -> Result<(), QueryError>
    where
        F: FnMut(usize, Window, &[Sample], &[HistogramSample]) -> Result<(), QueryError>,
    {
        self.walk_windows(&series.floats, &series.hists, grid, f)
    }

    /// Walks the left-open window `(end - range, end]` of every step over
    /// sorted float and histogram points, calling `f` where either kind has
    /// points in the window.
    fn walk_windows<F>(
        &self,
        pts: &[Sample],
        hs: &[HistogramSample],
        grid: Grid,
        mut f: F,
    ) -> Result<(), QueryError>
    where
        F: FnMut(usize, Window, &[Sample], &[HistogramSample]) -> Result<(), QueryError>,
    {
        let (mut lo, mut hi, mut hlo, mut hhi) = (0usize, 0usize, 0usize, 0usize);
        for i in 0..grid.steps() {
            let ts = grid.ts(i);
            let end = self.at.unwrap_or(ts).saturating_sub(self.offset);
            let start = end.saturating_sub(self.range);
            while hi < pts.len() && pts[hi].t <= end {
                hi += 1;
            }
            while lo < hi && pts[lo].t <= start {
                lo += 1;
            }
            while hhi < hs.len() && hs[hhi].t <= end {
                hhi += 1;
            }
            while hlo < hhi && hs[hlo].t <= start {
                hlo += 1;
            }
            if lo < hi || hlo < hhi {
                f(i, Window { ts, start, end }, &pts[lo..hi], &hs[hlo..hhi])?;
            }
        }
        Ok(())
    }

    /// `for_each_window` for `anchored` / `smoothed` selectors: every
    /// window with a sample after its start, with its boundary points.
    fn for_each_extended_window<F>(
        &self,
        pts: &[Sample],
        grid: Grid,
        ext: Extension,
        mut f: F,
    ) -> Result<(), QueryError>
    where
        F: FnMut(usize, Window, &[Sample]) -> Result<(), QueryError>,
    {
        for i in 0..grid.steps() {
            let ts = grid.ts(i);
            let end = self.at.unwrap_or(ts).saturating_sub(self.offset);
            let start = end.saturating_sub(self.range);
            let (lo_t, hi_t) = ext.load_range(start, end);
            let lo = pts.partition_point(|p| p.t <= lo_t);
            let hi = pts.partition_point(|p| p.t <= hi_t);
            let window = extend_window(pts.get(lo..hi).unwrap_or(&[]), start, end, ext);
            if !window.is_empty() {
                f(i, Window { ts, start, end }, &window)?;
            }
        }
        Ok(())
    }
}

/// Loads a matrix selector for all steps of `grid`.
pub(crate) fn load_matrix_selector(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    ms: &MatrixSelector,
) -> Result<RangeInput, QueryError> {
    let mut whole = None;
    for_each_matrix_batch(ev, grid, ms, usize::MAX, |_, input| {
        whole = Some(input);
        Ok(())
    })?;
    // With an unbounded batch, `f` runs exactly once (also with no series).
    whole.ok_or_else(|| QueryError::exec("matrix selector yielded no input"))
}

/// The range, offset, `@` and extension of a matrix selector, and the time
/// range to load; calls `f(mint, maxt, empty input)`.
fn matrix_input_parts(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    ms: &MatrixSelector,
    f: impl FnOnce(i64, i64, RangeInput),
) {
    let vs = &ms.vs;
    let offset = vs.offset_ms();
    let at = ev.at_time(&vs.at);
    let range = ms.range.ms();
    let ref_of = |ts: i64| at.unwrap_or(ts).saturating_sub(offset);
    let first_ref = ref_of(grid.start);
    let last_ref = ref_of(grid.end);
    let extension = (vs.anchored || vs.smoothed).then_some(Extension {
        smoothed: vs.smoothed,
        counter: false,
        lookback: ev.lookback,
    });
    let (mint, maxt) = match extension {
        Some(e) => e.load_range(first_ref.saturating_sub(range), last_ref),
        None => (first_ref.saturating_sub(range), last_ref),
    };
    f(
        mint.saturating_add(1),
        maxt,
        RangeInput {
            series: Vec::new(),
            range,
            offset,
            at,
            extension,
        },
    )
}

/// Loads a matrix selector in batches of at most `batch` series (sorted by
/// labels across batches) and hands each to `f` as a range input, so that
/// a range function reducing each batch holds one batch of raw samples at
/// a time instead of the whole selection.
pub(crate) fn for_each_matrix_batch(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    ms: &MatrixSelector,
    batch: usize,
    mut f: impl FnMut(&mut Evaluator<'_>, RangeInput) -> Result<(), QueryError>,
) -> Result<(), QueryError> {
    let mut parts = None;
    matrix_input_parts(ev, grid, ms, |mint, maxt, input| {
        parts = Some((mint, maxt, input));
    });
    let Some((mint, maxt, template)) = parts else {
        return Ok(());
    };
    let mut pending: Vec<StepSeries> = Vec::new();
    select_each(ev, &ms.vs, mint, maxt, |ev, s| {
        let s = StepSeries {
            labels: s.labels,
            drop_name: false,
            floats: s
                .samples
                .into_iter()
                .filter(|p| !is_stale_nan(p.v))
                .collect(),
            hists: s
                .histograms
                .into_iter()
                .filter(|p| !is_stale_nan(p.h.sum))
                .collect(),
        };
        if !s.is_empty() {
            pending.push(s);
        }
        if pending.len() >= batch {
            let input = RangeInput {
                series: std::mem::take(&mut pending),
                ..template.shallow_clone()
            };
            f(ev, input)?;
        }
        Ok(())
    })?;
    if !pending.is_empty() || batch == usize::MAX {
        let input = RangeInput {
            series: pending,
            ..template.shallow_clone()
        };
        f(ev, input)?;
    }
    Ok(())
}

/// The points of a range input inside the window of the single step of an
/// instant evaluation (a range vector result).
pub(crate) fn matrix_at(
    ev: &mut Evaluator<'_>,
    input: RangeInput,
    grid: Grid,
) -> Result<Vec<StepSeries>, QueryError> {
    let mut out = Vec::with_capacity(input.series.len());
    for s in &input.series {
        let mut window = StepSeries::new(s.labels.clone(), s.drop_name);
        input.for_each_window_mixed(s, grid, |_, _, w, hw| {
            window.floats = w.to_vec();
            window.hists = hw.to_vec();
            Ok(())
        })?;
        if window.is_empty() {
            continue;
        }
        let n = total_points(std::slice::from_ref(&window));
        ev.limits.touched(n);
        ev.limits.hold(n)?;
        out.push(window);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_match_params() {
        let m = parse_series_selector(r#"up{job=~"a.*"}"#).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "__name__");
        assert!(m[1].matches("abc"));
        assert!(!m[1].matches("xabc"));
        let m = parse_series_selector(r#"{__name__=~".+"}"#).unwrap();
        assert_eq!(m.len(), 1);
        assert!(parse_series_selector("rate(x[5m])").is_err());
        assert!(parse_series_selector("up offset 5m").is_err());
        assert!(parse_series_selector("{").is_err());
    }
}
