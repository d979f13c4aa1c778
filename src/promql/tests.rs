//! Unit tests of the PromQL engine against [`MemorySource`]: every function
//! family, aggregations, vector matching, staleness, `offset` / `@`,
//! subqueries, limits and errors. Most expectations are hand-computed with
//! Prometheus' formulas; a few use the script runner for compactness.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::model::{Labels, Matcher, Sample, STALE_NAN_BITS};

use super::source::{MemorySource, SampleSource, Series, SourceError};
use super::testscript::run_script;
use super::{format_query, parse_series_selector, Engine, EngineOptions, QueryError, Value};

const M: i64 = 60_000;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// Adds a series with one sample per `step_ms`, starting at 0 (None = gap).
fn add(src: &mut MemorySource, l: &[(&str, &str)], step_ms: i64, values: &[Option<f64>]) {
    let samples = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| Sample::new(i as i64 * step_ms, v)));
    src.add(labels(l), samples);
}

fn vals(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| Some(*x)).collect()
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn instant(src: &MemorySource, q: &str, t: i64) -> Value {
    match engine().instant(src, q, t) {
        Ok(r) => r.value,
        Err(e) => panic!("query {q:?} failed: {e}"),
    }
}

/// An instant vector result as `(labels text, value)` pairs, in result order.
fn vector(src: &MemorySource, q: &str, t: i64) -> Vec<(String, f64)> {
    match instant(src, q, t) {
        Value::Vector(v) => v.into_iter().map(|s| (s.labels.to_string(), s.v)).collect(),
        other => panic!("query {q:?}: expected vector, got {other:?}"),
    }
}

fn scalar(src: &MemorySource, q: &str, t: i64) -> f64 {
    match instant(src, q, t) {
        Value::Scalar { v, .. } => v,
        other => panic!("query {q:?}: expected scalar, got {other:?}"),
    }
}

/// The single value of a one-element vector result.
fn one(src: &MemorySource, q: &str, t: i64) -> f64 {
    let v = vector(src, q, t);
    assert_eq!(v.len(), 1, "query {q:?} returned {v:?}");
    v[0].1
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_close(a: f64, b: f64) {
    assert!(close(a, b), "{a} != {b}");
}

fn range(src: &MemorySource, q: &str, start: i64, end: i64, step: i64) -> Vec<Series> {
    match engine().range(src, q, start, end, step) {
        Ok(r) => match r.value {
            Value::Matrix(m) => m,
            other => panic!("range query {q:?}: expected matrix, got {other:?}"),
        },
        Err(e) => panic!("range query {q:?} failed: {e}"),
    }
}

fn err(src: &MemorySource, q: &str, t: i64) -> QueryError {
    match engine().instant(src, q, t) {
        Ok(r) => panic!("query {q:?} should fail, got {:?}", r.value),
        Err(e) => e,
    }
}

/// A counter rising 1/s, sampled every minute for 20 minutes, plus a gauge.
fn counters() -> MemorySource {
    let mut src = MemorySource::new();
    let c: Vec<f64> = (0..=20).map(|i| i as f64 * 60.0).collect();
    add(
        &mut src,
        &[("__name__", "req_total"), ("job", "api")],
        M,
        &vals(&c),
    );
    let c2: Vec<f64> = (0..=20).map(|i| i as f64 * 120.0).collect();
    add(
        &mut src,
        &[("__name__", "req_total"), ("job", "web")],
        M,
        &vals(&c2),
    );
    let g = [5.0, 3.0, 8.0, 8.0, 1.0, 4.0, 6.0, 2.0, 9.0, 7.0, 0.0];
    add(
        &mut src,
        &[("__name__", "temp"), ("room", "a")],
        M,
        &vals(&g),
    );
    src
}

// ---------------------------------------------------------------- selectors

#[test]
fn selector_lookback_is_left_open() {
    let mut src = MemorySource::new();
    add(&mut src, &[("__name__", "m")], M, &vals(&[1.0]));
    assert_eq!(vector(&src, "m", 0), vec![("m".to_string(), 1.0)]);
    assert_eq!(vector(&src, "m", 5 * M - 1).len(), 1);
    // Exactly lookback after the sample: outside (left-open window).
    assert!(vector(&src, "m", 5 * M).is_empty());
    // Before the sample: nothing.
    assert!(vector(&src, "m", -1).is_empty());
}

#[test]
fn all_matcher_types() {
    let mut src = MemorySource::new();
    for job in ["api", "web", "db"] {
        add(
            &mut src,
            &[("__name__", "up"), ("job", job)],
            M,
            &vals(&[1.0]),
        );
    }
    add(&mut src, &[("__name__", "up")], M, &vals(&[2.0]));
    assert_eq!(vector(&src, r#"up{job="api"}"#, 0).len(), 1);
    assert_eq!(vector(&src, r#"up{job!="api"}"#, 0).len(), 3); // includes the job-less series
    assert_eq!(vector(&src, r#"up{job=~"a.*|w.*"}"#, 0).len(), 2);
    assert_eq!(vector(&src, r#"up{job!~"a.*"}"#, 0).len(), 3);
    // Regexes are anchored.
    assert!(vector(&src, r#"up{job=~"p"}"#, 0).is_empty());
    assert_eq!(vector(&src, r#"{__name__=~"u.", job="db"}"#, 0).len(), 1);
    // Missing label matches as empty string.
    assert_eq!(
        vector(&src, r#"up{job=""}"#, 0),
        vec![("up".to_string(), 2.0)]
    );
}

#[test]
fn staleness_markers_end_series() {
    let mut src = MemorySource::new();
    let stale = f64::from_bits(STALE_NAN_BITS);
    add(
        &mut src,
        &[("__name__", "m")],
        10_000,
        &vals(&[0.0, 1.0, stale, 2.0]),
    );
    assert_eq!(one(&src, "m", 10_000), 1.0);
    assert!(vector(&src, "m", 20_000).is_empty());
    assert!(vector(&src, "m", 25_000).is_empty());
    assert_eq!(one(&src, "m", 30_000), 2.0);
    // Range selectors skip the marker.
    assert_eq!(one(&src, "count_over_time(m[1m])", 30_000), 3.0);
    // A range query never returns the marker as a value.
    let m = range(&src, "m", 0, 40_000, 10_000);
    let ts: Vec<i64> = m[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![0, 10_000, 30_000, 40_000]);
}

#[test]
fn offset_and_negative_offset() {
    let src = counters();
    assert_eq!(
        one(&src, r#"req_total{job="api"} offset 5m"#, 10 * M),
        300.0
    );
    assert_eq!(
        one(&src, r#"req_total{job="api"} offset -5m"#, 10 * M),
        900.0
    );
    assert_eq!(
        one(&src, r#"sum_over_time(temp[2m] offset 3m)"#, 5 * M),
        3.0 + 8.0
    );
}

#[test]
fn at_modifier_pins_evaluation_time() {
    let src = counters();
    assert_eq!(one(&src, r#"req_total{job="api"} @ 120"#, 20 * M), 120.0);
    assert_eq!(
        one(&src, r#"req_total{job="api"} @ 300 offset 1m"#, 0),
        240.0
    );
    let m = range(&src, r#"req_total{job="api"} @ start()"#, 2 * M, 4 * M, M);
    let v: Vec<f64> = m[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(v, vec![120.0, 120.0, 120.0]);
    let m = range(&src, r#"req_total{job="api"} @ end()"#, 2 * M, 4 * M, M);
    let v: Vec<f64> = m[0].samples.iter().map(|s| s.v).collect();
    assert_eq!(v, vec![240.0, 240.0, 240.0]);
    // A pinned range function is the same at every step.
    let m = range(&src, r#"rate(req_total{job="api"}[5m] @ 600)"#, 0, 3 * M, M);
    assert_eq!(m[0].samples.len(), 4);
    assert!(m[0].samples.iter().all(|s| close(s.v, 1.0)));
}

// ---------------------------------------------------------------- range queries

#[test]
fn range_query_steps_and_order() {
    let src = counters();
    let m = range(&src, "req_total", 0, 10 * M, 5 * M);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].labels.get("job"), Some("api"));
    assert_eq!(m[1].labels.get("job"), Some("web"));
    let ts: Vec<i64> = m[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, vec![0, 5 * M, 10 * M]);
    // End not on a step: the last step is the last one <= end.
    let m = range(&src, "req_total", 0, 9 * M, 4 * M);
    assert_eq!(m[0].samples.last().map(|s| s.t), Some(8 * M));
    // No empty series in a matrix result.
    let m = range(&src, "temp > 8", 0, 10 * M, M);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].samples, vec![Sample::new(8 * M, 9.0)]);
    // A scalar range query is a matrix with one label-less series.
    let m = range(&src, "time()", 0, 2 * M, M);
    assert_eq!(m.len(), 1);
    assert!(m[0].labels.is_empty());
    assert_eq!(m[0].samples[2].v, 120.0);
}

#[test]
fn range_query_matches_instant_queries() {
    let src = counters();
    let queries = [
        "req_total",
        "rate(req_total[5m])",
        "sum by (job) (increase(req_total[3m]))",
        "temp * on() group_left() scalar(sum(req_total))",
        "max_over_time(temp[3m:1m])",
        "topk(1, req_total)",
        "req_total / ignoring(job) group_left() temp",
        "deriv(temp[4m]) > 0",
        "absent(nope)",
        "count_values(\"v\", temp)",
        "label_replace(temp, \"x\", \"$1\", \"room\", \"(.*)\")",
        "temp offset -2m",
        "histogram_quantile(0.5, temp)",
    ];
    for q in queries {
        let m = range(&src, q, 0, 12 * M, M);
        for step in 0..=12 {
            let t = step * M;
            let inst = match instant(&src, q, t) {
                Value::Vector(v) => v,
                other => panic!("{q}: {other:?}"),
            };
            let mut at_step: Vec<(Labels, f64)> = m
                .iter()
                .filter_map(|s| {
                    s.samples
                        .iter()
                        .find(|p| p.t == t)
                        .map(|p| (s.labels.clone(), p.v))
                })
                .collect();
            at_step.sort_by(|a, b| a.0.cmp(&b.0));
            let mut inst: Vec<(Labels, f64)> = inst.into_iter().map(|s| (s.labels, s.v)).collect();
            inst.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                at_step.len(),
                inst.len(),
                "{q} at {t}: {at_step:?} vs {inst:?}"
            );
            for (a, b) in at_step.iter().zip(inst.iter()) {
                assert_eq!(a.0, b.0, "{q} at {t}");
                assert!(close(a.1, b.1), "{q} at {t}: {} vs {}", a.1, b.1);
            }
        }
    }
}

/// A source that counts its `select` calls.
struct CountingSource {
    inner: MemorySource,
    calls: AtomicUsize,
}

impl SampleSource for CountingSource {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.select(m, mint, maxt)
    }
}

/// Records the batches a streamed select hands out.
struct BatchRecorder {
    inner: MemorySource,
    batches: std::sync::Mutex<Vec<usize>>,
}

impl SampleSource for BatchRecorder {
    fn select(&self, m: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<Series>, SourceError> {
        self.inner.select(m, mint, maxt)
    }

    fn select_batched(
        &self,
        m: &[Matcher],
        mint: i64,
        maxt: i64,
        batch: usize,
        f: &mut dyn FnMut(Vec<Series>) -> bool,
    ) -> Result<(), SourceError> {
        let mut g = |b: Vec<Series>| {
            if let Ok(mut v) = self.batches.lock() {
                v.push(b.len());
            }
            f(b)
        };
        self.inner.select_batched(m, mint, maxt, batch, &mut g)
    }
}

#[test]
fn selectors_stream_series_in_bounded_batches() {
    let mut inner = MemorySource::new();
    for i in 0..1000 {
        inner.add(
            Labels::from_pairs([("__name__", "work_total".to_string()), ("i", i.to_string())]),
            (0..=40).map(|k| Sample::new(k * 15_000, (k * i) as f64)),
        );
    }
    let src = BatchRecorder {
        inner,
        batches: Default::default(),
    };
    // 1000 series reach the range function and the instant selector in
    // batches of at most 256: never all raw samples at once.
    let r = engine()
        .range(&src, "sum(rate(work_total[5m]))", 5 * M, 10 * M, M)
        .unwrap();
    let Value::Matrix(m) = &r.value else {
        panic!("{:?}", r.value)
    };
    // rate of k*i per 15 s = i/15 per second; summed over i = 0..999.
    assert!((m[0].samples[0].v - 499_500.0 / 15.0).abs() < 1e-6, "{m:?}");
    let b = src.batches.lock().unwrap().clone();
    assert_eq!(b.iter().sum::<usize>(), 1000);
    assert!(b.len() >= 4 && b.iter().all(|n| *n <= 256), "{b:?}");
    src.batches.lock().unwrap().clear();
    let r = engine()
        .range(&src, "count(work_total)", 5 * M, 10 * M, M)
        .unwrap();
    assert!(matches!(&r.value, Value::Matrix(m) if m[0].samples[0].v == 1000.0));
    let b = src.batches.lock().unwrap().clone();
    assert!(b.len() >= 4 && b.iter().all(|n| *n <= 256), "{b:?}");
}

#[test]
fn each_selector_is_selected_once_per_query() {
    let src = CountingSource {
        inner: counters(),
        calls: AtomicUsize::new(0),
    };
    let q = "rate(req_total[5m]) + on(job) req_total - ignoring(job) group_left sum(temp)";
    engine().range(&src, q, 0, 20 * M, 15_000).unwrap();
    assert_eq!(src.calls.load(Ordering::SeqCst), 3);
    src.calls.store(0, Ordering::SeqCst);
    engine()
        .range(
            &src,
            "max_over_time(rate(req_total[2m])[10m:30s])",
            0,
            20 * M,
            M,
        )
        .unwrap();
    assert_eq!(src.calls.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------- rate family

#[test]
fn rate_increase_delta_extrapolate() {
    let src = counters();
    // Samples every 60s inside (5m, 10m]: 5 points, 240s apart end to end;
    // extrapolated 60s to the window start: 300 over 300s.
    assert_close(one(&src, r#"rate(req_total{job="api"}[5m])"#, 10 * M), 1.0);
    assert_close(
        one(&src, r#"increase(req_total{job="api"}[5m])"#, 10 * M),
        300.0,
    );
    // Window of 5m30s: 6 points over 300s, 30s short of the window start.
    assert_close(
        one(&src, r#"increase(req_total{job="api"}[330s])"#, 10 * M),
        330.0,
    );
    // Window of 7m at 10m: 7 points over 360s, extrapolated 60s to the start.
    assert_close(
        one(&src, r#"increase(req_total{job="api"}[7m])"#, 10 * M),
        420.0,
    );
    // A gap to the window start beyond 1.1 average intervals: extrapolate
    // only half an interval (points at 4m..6m, window (1m, 6m]).
    let mut g = MemorySource::new();
    add(
        &mut g,
        &[("__name__", "g_total")],
        M,
        &[
            None,
            None,
            None,
            None,
            Some(100.0),
            Some(160.0),
            Some(220.0),
        ],
    );
    assert_close(
        one(&g, "increase(g_total[5m])", 6 * M),
        120.0 * (120.0 + 30.0) / 120.0,
    );
    // Counter reset: 0 60 120 10 70 -> 120 + 70 = 190; the series starts at
    // zero, so no extrapolation before the first sample.
    let mut s2 = MemorySource::new();
    add(
        &mut s2,
        &[("__name__", "c_total")],
        M,
        &vals(&[0.0, 60.0, 120.0, 10.0, 70.0]),
    );
    assert_close(one(&s2, "increase(c_total[5m])", 4 * M), 190.0);
    // delta does not treat decreases as resets.
    assert_close(
        one(&src, "delta(temp[3m])", 3 * M),
        (8.0 - 3.0) * 180.0 / 120.0,
    );
    // Fewer than two points: no result.
    assert!(vector(&src, "rate(temp[1m])", 3 * M).is_empty());
    // Counters are not extrapolated below zero.
    let mut s3 = MemorySource::new();
    add(
        &mut s3,
        &[("__name__", "z_total")],
        M,
        &vals(&[10.0, 20.0, 30.0]),
    );
    assert_close(
        one(&s3, "increase(z_total[10m])", 2 * M),
        20.0 * (120.0 + 30.0 + 0.0) / 120.0,
    );
}

#[test]
fn irate_idelta_deriv_predict_changes_resets() {
    let src = counters();
    assert_close(one(&src, r#"irate(req_total{job="web"}[5m])"#, 10 * M), 2.0);
    assert_close(one(&src, "idelta(temp[5m])", 5 * M), 4.0 - 1.0);
    let mut s = MemorySource::new();
    add(
        &mut s,
        &[("__name__", "c_total")],
        M,
        &vals(&[5.0, 10.0, 3.0]),
    );
    // irate after a reset uses the last value as the increase.
    assert_close(one(&s, "irate(c_total[5m])", 2 * M), 3.0 / 60.0);
    assert_close(one(&s, "resets(c_total[5m])", 2 * M), 1.0);
    assert_close(one(&s, "changes(c_total[5m])", 2 * M), 2.0);
    // Linear data: exact slope; predict 10 minutes ahead.
    assert_close(one(&src, r#"deriv(req_total{job="api"}[5m])"#, 10 * M), 1.0);
    assert_close(
        one(
            &src,
            r#"predict_linear(req_total{job="api"}[5m], 600)"#,
            10 * M,
        ),
        1200.0,
    );
    assert_close(one(&src, "changes(temp[10m])", 10 * M), 8.0);
    assert_close(one(&src, "resets(temp[10m])", 10 * M), 4.0);
}

#[test]
fn over_time_functions() {
    let src = counters();
    // temp in (2m, 6m]: 8 8 1 4 6 (t = 3..6 and the 2m sample excluded).
    let q = |f: &str| format!("{f}(temp[4m])");
    let t = 6 * M;
    assert_close(one(&src, &q("sum_over_time"), t), 8.0 + 1.0 + 4.0 + 6.0);
    assert_close(one(&src, &q("count_over_time"), t), 4.0);
    assert_close(one(&src, &q("avg_over_time"), t), 19.0 / 4.0);
    assert_close(one(&src, &q("min_over_time"), t), 1.0);
    assert_close(one(&src, &q("max_over_time"), t), 8.0);
    assert_close(one(&src, &q("last_over_time"), t), 6.0);
    assert_close(one(&src, &q("first_over_time"), t), 8.0);
    assert_close(one(&src, &q("present_over_time"), t), 1.0);
    let mean = 19.0 / 4.0;
    let var = [8.0f64, 1.0, 4.0, 6.0]
        .iter()
        .map(|x| (x - mean).powi(2))
        .sum::<f64>()
        / 4.0;
    assert_close(one(&src, &q("stdvar_over_time"), t), var);
    assert_close(one(&src, &q("stddev_over_time"), t), var.sqrt());
    assert_close(one(&src, "quantile_over_time(0.5, temp[4m])", t), 5.0);
    assert_close(one(&src, "quantile_over_time(0, temp[4m])", t), 1.0);
    // median 5, |deviations| 3 4 1 1 -> median 2.
    assert_close(one(&src, "mad_over_time(temp[4m])", t), 2.0);
    // Metric name: kept by last/first_over_time, dropped otherwise.
    assert_eq!(
        vector(&src, "last_over_time(temp[4m])", t)[0].0,
        r#"temp{room="a"}"#
    );
    assert_eq!(
        vector(&src, "max_over_time(temp[4m])", t)[0].0,
        r#"{room="a"}"#
    );
    assert!(vector(&src, "absent_over_time(temp[4m])", t).is_empty());
    assert_eq!(
        vector(&src, r#"absent_over_time(nope{job="x", a=~"b"}[4m])"#, t),
        vec![(r#"{job="x"}"#.to_string(), 1.0)]
    );
}

// ---------------------------------------------------------------- histograms

fn histogram_source() -> MemorySource {
    let mut src = MemorySource::new();
    for (le, c) in [("0.1", 10.0), ("0.5", 50.0), ("1", 90.0), ("+Inf", 100.0)] {
        add(
            &mut src,
            &[("__name__", "lat_bucket"), ("job", "a"), ("le", le)],
            M,
            &vals(&[c]),
        );
    }
    // Non-monotonic buckets are fixed by taking the running maximum.
    for (le, c) in [("1", 10.0), ("2", 5.0), ("+Inf", 20.0)] {
        add(
            &mut src,
            &[("__name__", "bad_bucket"), ("le", le)],
            M,
            &vals(&[c]),
        );
    }
    src
}

#[test]
fn histogram_quantile_classic() {
    let src = histogram_source();
    // rank 50 falls at the top of the (0.1, 0.5] bucket.
    assert_close(one(&src, "histogram_quantile(0.5, lat_bucket)", 0), 0.5);
    // rank 70: halfway through (0.5, 1].
    assert_close(one(&src, "histogram_quantile(0.7, lat_bucket)", 0), 0.75);
    // rank 5 in the first bucket: interpolated from 0.
    assert_close(one(&src, "histogram_quantile(0.05, lat_bucket)", 0), 0.05);
    // rank 95 is in +Inf: the highest finite bound.
    assert_close(one(&src, "histogram_quantile(0.95, lat_bucket)", 0), 1.0);
    assert_eq!(
        vector(&src, "histogram_quantile(0.5, lat_bucket)", 0)[0].0,
        r#"{job="a"}"#
    );
    let r = engine()
        .instant(&src, "histogram_quantile(1.5, lat_bucket)", 0)
        .unwrap();
    assert_eq!(r.warnings.len(), 1);
    let r = engine()
        .instant(&src, "histogram_quantile(0.5, bad_bucket)", 0)
        .unwrap();
    assert!(
        r.infos.iter().any(|i| i.contains("monotonicity")),
        "{:?}",
        r.infos
    );
    // Aggregating buckets by le first.
    assert_close(
        one(&src, "histogram_quantile(0.5, sum by (le) (lat_bucket))", 0),
        0.5,
    );
    assert_close(one(&src, "histogram_fraction(0, 0.5, lat_bucket)", 0), 0.5);
}

// ---------------------------------------------------------------- aggregation

fn aggregation_source() -> MemorySource {
    let mut src = MemorySource::new();
    for (job, inst, v) in [
        ("api", "0", 1.0),
        ("api", "1", 3.0),
        ("web", "0", 4.0),
        ("web", "1", 10.0),
        ("db", "0", 2.0),
    ] {
        add(
            &mut src,
            &[("__name__", "x"), ("job", job), ("instance", inst)],
            M,
            &vals(&[v]),
        );
    }
    src
}

#[test]
fn aggregation_operators() {
    let src = aggregation_source();
    assert_eq!(scalar(&src, "scalar(sum(x))", 0), 20.0);
    assert_eq!(
        vector(&src, "sum by (job) (x)", 0),
        vec![
            (r#"{job="api"}"#.to_string(), 4.0),
            (r#"{job="db"}"#.to_string(), 2.0),
            (r#"{job="web"}"#.to_string(), 14.0)
        ]
    );
    assert_eq!(vector(&src, "sum without (instance) (x)", 0).len(), 3);
    assert_eq!(
        vector(&src, "sum without (instance) (x)", 0)[0].0,
        r#"{job="api"}"#
    );
    assert_eq!(one(&src, "avg(x)", 0), 4.0);
    assert_eq!(one(&src, "count(x)", 0), 5.0);
    assert_eq!(one(&src, "min(x)", 0), 1.0);
    assert_eq!(one(&src, "max(x)", 0), 10.0);
    assert_eq!(
        vector(&src, "group by (job) (x)", 0)
            .iter()
            .map(|x| x.1)
            .sum::<f64>(),
        3.0
    );
    let mean = 4.0;
    let var = [1.0f64, 3.0, 4.0, 10.0, 2.0]
        .iter()
        .map(|v| (v - mean).powi(2))
        .sum::<f64>()
        / 5.0;
    assert_close(one(&src, "stdvar(x)", 0), var);
    assert_close(one(&src, "stddev(x)", 0), var.sqrt());
    assert_close(one(&src, "quantile(0.5, x)", 0), 3.0);
    assert_close(one(&src, "quantile(0.25, x)", 0), 2.0);
    // `by` keeps the metric name only when asked to.
    assert_eq!(vector(&src, "sum by (__name__) (x)", 0)[0].0, "x");
}

#[test]
fn topk_bottomk_order_and_labels() {
    let src = aggregation_source();
    let top = vector(&src, "topk(2, x)", 0);
    assert_eq!(
        top,
        vec![
            (r#"x{instance="1", job="web"}"#.to_string(), 10.0),
            (r#"x{instance="0", job="web"}"#.to_string(), 4.0)
        ]
    );
    let bottom = vector(&src, "bottomk(2, x)", 0);
    assert_eq!(
        bottom.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![1.0, 2.0]
    );
    let by_job = vector(&src, "topk by (job) (1, x)", 0);
    assert_eq!(by_job.len(), 3);
    assert!(vector(&src, "topk(0, x)", 0).is_empty());
    assert!(
        matches!(err(&src, "topk(NaN, x)", 0), QueryError::Execution(m) if m == "Parameter value is NaN")
    );
    // Range query: one series per selected input series.
    let m = range(&src, "topk(1, x)", 0, 2 * M, M);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].samples.len(), 3);
}

#[test]
fn count_values_labels() {
    let mut src = MemorySource::new();
    for (i, v) in [1.0, 1.0, 2.5].iter().enumerate() {
        add(
            &mut src,
            &[("__name__", "v"), ("i", &i.to_string())],
            M,
            &vals(&[*v]),
        );
    }
    assert_eq!(
        vector(&src, r#"count_values("value", v)"#, 0),
        vec![
            (r#"{value="1"}"#.to_string(), 2.0),
            (r#"{value="2.5"}"#.to_string(), 1.0)
        ]
    );
    assert_eq!(
        vector(&src, r#"count_values without (i) ("value", v)"#, 0).len(),
        2
    );
}

// ---------------------------------------------------------------- binary operators

fn matching_source() -> MemorySource {
    let mut src = MemorySource::new();
    for (method, code, v) in [
        ("get", "200", 10.0),
        ("get", "500", 2.0),
        ("put", "200", 4.0),
    ] {
        add(
            &mut src,
            &[("__name__", "req"), ("method", method), ("code", code)],
            M,
            &vals(&[v]),
        );
    }
    add(
        &mut src,
        &[("__name__", "total"), ("method", "get")],
        M,
        &vals(&[12.0]),
    );
    add(
        &mut src,
        &[("__name__", "total"), ("method", "put")],
        M,
        &vals(&[8.0]),
    );
    add(
        &mut src,
        &[("__name__", "info"), ("method", "get"), ("owner", "alice")],
        M,
        &vals(&[1.0]),
    );
    src
}

#[test]
fn one_to_one_matching() {
    let src = matching_source();
    // ignoring(code): two `get` series match the same `total` series.
    let e = err(&src, "req / ignoring(code) total", 0);
    assert!(
        matches!(e, QueryError::Execution(ref m) if m.contains("many-to-one matching must be explicit")),
        "{e:?}"
    );
    assert_eq!(
        vector(&src, r#"req{code="200"} / ignoring(code) total"#, 0),
        vec![
            (r#"{method="get"}"#.to_string(), 10.0 / 12.0),
            (r#"{method="put"}"#.to_string(), 0.5)
        ]
    );
    assert_eq!(
        vector(&src, r#"req{code="200"} - on(method) total"#, 0),
        vec![
            (r#"{method="get"}"#.to_string(), -2.0),
            (r#"{method="put"}"#.to_string(), -4.0)
        ]
    );
}

#[test]
fn group_left_and_group_right() {
    let src = matching_source();
    let v = vector(&src, "req / on(method) group_left total", 0);
    assert_eq!(v.len(), 3);
    assert_eq!(
        v[0],
        (r#"{code="200", method="get"}"#.to_string(), 10.0 / 12.0)
    );
    // Extra labels copied from the "one" side.
    let v = vector(&src, "req * on(method) group_left(owner) info", 0);
    assert_eq!(v.len(), 2);
    assert!(v.iter().all(|(l, _)| l.contains(r#"owner="alice""#)));
    let v = vector(&src, "info * on(method) group_right(owner) req", 0);
    assert_eq!(v.len(), 2);
    assert!(v
        .iter()
        .all(|(l, _)| l.contains(r#"owner="alice""#) && l.contains("code=")));
    // Comparisons keep the left value and the name of the many side.
    let v = vector(&src, "req > on(method) group_left total", 0);
    assert!(v.is_empty());
    let v = vector(&src, "req < on(method) group_left total", 0);
    assert_eq!(v.len(), 3);
    assert!(v[0].0.starts_with("req{"));
}

#[test]
fn many_to_many_is_an_execution_error() {
    let src = matching_source();
    let e = err(&src, "total * on() group_left req", 0);
    match e {
        QueryError::Execution(m) => {
            assert!(
                m.starts_with(
                    "found duplicate series for the match group {} on the right hand-side"
                ),
                "{m}"
            );
            assert!(m.ends_with(
                "many-to-many matching not allowed: matching labels must be unique on one side"
            ));
        }
        other => panic!("{other:?}"),
    }
    // group_left with a non-unique result label set.
    let e = err(&src, "req * on(method) group_left(code) req", 0);
    assert!(matches!(e, QueryError::Execution(_)));
}

#[test]
fn comparisons_bool_and_scalars() {
    let src = matching_source();
    assert_eq!(vector(&src, "req > 3", 0).len(), 2);
    assert_eq!(
        vector(&src, "req > 3", 0)[0].0,
        r#"req{code="200", method="get"}"#
    );
    let b = vector(&src, "req > bool 3", 0);
    // Ordered by labels: code 200/get, 200/put, 500/get.
    assert_eq!(
        b.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![1.0, 1.0, 0.0]
    );
    assert!(!b[0].0.contains("req"));
    // Scalar on the left: the vector's value is kept.
    assert_eq!(
        vector(&src, "3 < req", 0)
            .iter()
            .map(|x| x.1)
            .collect::<Vec<_>>(),
        vec![10.0, 4.0]
    );
    assert_eq!(scalar(&src, "1 < bool 2", 0), 1.0);
    assert_eq!(scalar(&src, "2 ^ 3 ^ 2", 0), 512.0);
    assert_eq!(scalar(&src, "-7 % 3", 0), -1.0);
    assert_close(scalar(&src, "1 atan2 1", 0), std::f64::consts::FRAC_PI_4);
    assert_eq!(one(&src, "-total{method=\"put\"}", 0), -8.0);
    assert_eq!(vector(&src, "-total", 0)[0].0, r#"{method="get"}"#);
    assert_eq!(scalar(&src, "(1 + 2) * -3", 0), -9.0);
}

#[test]
fn set_operators() {
    let src = matching_source();
    assert_eq!(vector(&src, "req and on(method) info", 0).len(), 2);
    assert_eq!(vector(&src, "req unless on(method) info", 0).len(), 1);
    let or = vector(&src, "total or req", 0);
    assert_eq!(or.len(), 5);
    let or = vector(&src, "total or on(method) req", 0);
    assert_eq!(or.len(), 2);
    assert_eq!(vector(&src, "req and nothing", 0).len(), 0);
}

#[test]
fn metric_name_dropping() {
    let src = matching_source();
    assert_eq!(vector(&src, "total * 2", 0)[0].0, r#"{method="get"}"#);
    assert_eq!(vector(&src, "abs(total)", 0)[0].0, r#"{method="get"}"#);
    assert_eq!(vector(&src, "total", 0)[0].0, r#"total{method="get"}"#);
    // Delayed removal: label_replace can still read the name.
    assert_eq!(
        vector(
            &src,
            r#"label_replace(total * 2, "was", "$1", "__name__", "(.*)")"#,
            0
        )[0]
        .0,
        r#"{method="get", was="total"}"#
    );
    // Dropping the name may collide two series.
    let mut s = MemorySource::new();
    add(&mut s, &[("__name__", "a"), ("x", "1")], M, &vals(&[1.0]));
    add(&mut s, &[("__name__", "b"), ("x", "1")], M, &vals(&[2.0]));
    let e = err(&s, r#"ceil({x="1"})"#, 0);
    assert!(
        matches!(e, QueryError::Execution(ref m) if m == "vector cannot contain metrics with the same labelset")
    );
}

// ---------------------------------------------------------------- other functions

#[test]
fn label_replace_and_join() {
    let src = matching_source();
    let v = vector(
        &src,
        r#"label_replace(total, "m2", "m-$1", "method", "(g).*")"#,
        0,
    );
    assert_eq!(v[0].0, r#"total{m2="m-g", method="get"}"#);
    assert_eq!(v[1].0, r#"total{method="put"}"#);
    let v = vector(&src, r#"label_join(req, "both", "/", "method", "code")"#, 0);
    assert!(v[0].0.contains(r#"both="get/200""#));
    assert!(matches!(
        err(&src, r#"label_replace(total, "a", "b", "c", "(")"#, 0),
        QueryError::Execution(_)
    ));
    // Rewriting to an identical label set is an error.
    let e = err(&src, r#"label_replace(req, "code", "", "", "")"#, 0);
    assert!(matches!(e, QueryError::Execution(_)));
}

#[test]
fn math_and_clamp_functions() {
    let mut src = MemorySource::new();
    add(&mut src, &[("__name__", "v")], M, &vals(&[-2.5]));
    assert_eq!(one(&src, "abs(v)", 0), 2.5);
    assert_eq!(one(&src, "ceil(v)", 0), -2.0);
    assert_eq!(one(&src, "floor(v)", 0), -3.0);
    assert_eq!(one(&src, "round(v)", 0), -2.0);
    assert_eq!(one(&src, "round(v, 2)", 0), -2.0);
    assert_eq!(one(&src, "round(-v, 0.2)", 0), 2.6);
    assert_eq!(one(&src, "sgn(v)", 0), -1.0);
    assert_close(one(&src, "exp(abs(v))", 0), 2.5f64.exp());
    assert_close(one(&src, "ln(abs(v))", 0), 2.5f64.ln());
    assert_close(one(&src, "log2(abs(v))", 0), 2.5f64.log2());
    assert_close(one(&src, "log10(abs(v))", 0), 2.5f64.log10());
    assert!(one(&src, "sqrt(v)", 0).is_nan());
    assert_close(one(&src, "sin(v)", 0), (-2.5f64).sin());
    assert_close(one(&src, "deg(v)", 0), -2.5f64.to_degrees());
    assert_eq!(one(&src, "clamp(v, -1, 1)", 0), -1.0);
    assert_eq!(one(&src, "clamp_min(v, 0)", 0), 0.0);
    assert_eq!(one(&src, "clamp_max(v, -3)", 0), -3.0);
    assert!(vector(&src, "clamp(v, 1, -1)", 0).is_empty());
    assert_close(scalar(&src, "pi()", 0), std::f64::consts::PI);
}

#[test]
fn time_and_date_functions() {
    let mut src = MemorySource::new();
    // 2024-02-29T13:45:00Z as a value.
    add(
        &mut src,
        &[("__name__", "ts")],
        M,
        &vals(&[1_709_214_300.0]),
    );
    let t = 90_000;
    assert_eq!(scalar(&src, "time()", t), 90.0);
    assert_eq!(one(&src, "year(ts)", t), 2024.0);
    assert_eq!(one(&src, "month(ts)", t), 2.0);
    assert_eq!(one(&src, "day_of_month(ts)", t), 29.0);
    assert_eq!(one(&src, "day_of_week(ts)", t), 4.0);
    assert_eq!(one(&src, "day_of_year(ts)", t), 60.0);
    assert_eq!(one(&src, "days_in_month(ts)", t), 29.0);
    assert_eq!(one(&src, "hour(ts)", t), 13.0);
    assert_eq!(one(&src, "minute(ts)", t), 45.0);
    // Without argument: the evaluation time.
    assert_eq!(one(&src, "minute()", t), 1.0);
    assert_eq!(one(&src, "year()", t), 1970.0);
    // timestamp() of a selector is the sample's own time.
    assert_eq!(one(&src, "timestamp(ts)", t), 0.0);
    assert_eq!(one(&src, "timestamp(ts * 1)", t), 90.0);
}

#[test]
fn vector_scalar_and_absent() {
    let src = aggregation_source();
    assert_eq!(vector(&src, "vector(3)", 0), vec![("{}".to_string(), 3.0)]);
    assert!(scalar(&src, "scalar(x)", 0).is_nan());
    assert_eq!(scalar(&src, r#"scalar(x{job="db"})"#, 0), 2.0);
    assert!(vector(&src, "absent(x)", 0).is_empty());
    assert_eq!(
        vector(
            &src,
            r#"absent(nope{job="a", job="b", env="p", x=~"y"})"#,
            0
        ),
        vec![(r#"{env="p"}"#.to_string(), 1.0)]
    );
}

#[test]
fn sort_functions_order_instant_results() {
    let src = aggregation_source();
    let asc: Vec<f64> = vector(&src, "sort(x)", 0).iter().map(|x| x.1).collect();
    assert_eq!(asc, vec![1.0, 2.0, 3.0, 4.0, 10.0]);
    let desc: Vec<f64> = vector(&src, "sort_desc(x)", 0)
        .iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(desc, vec![10.0, 4.0, 3.0, 2.0, 1.0]);
    let by_label: Vec<String> = vector(&src, r#"sort_by_label_desc(x, "job", "instance")"#, 0)
        .into_iter()
        .map(|x| x.0)
        .collect();
    assert_eq!(by_label[0], r#"x{instance="1", job="web"}"#);
    assert_eq!(by_label[4], r#"x{instance="0", job="api"}"#);
    // Range queries warn instead.
    let r = engine().range(&src, "sort(x)", 0, M, M).unwrap();
    assert_eq!(r.warnings.len(), 1);
}

// ---------------------------------------------------------------- subqueries

#[test]
fn subquery_alignment_and_values() {
    let src = counters();
    // Subquery steps are aligned to multiples of the step: for [5m:2m] at
    // 10m the points are 6m, 8m, 10m.
    match instant(&src, r#"req_total{job="api"}[5m:2m]"#, 10 * M) {
        Value::Matrix(m) => {
            let ts: Vec<i64> = m[0].samples.iter().map(|s| s.t).collect();
            assert_eq!(ts, vec![6 * M, 8 * M, 10 * M]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(one(&src, r#"max_over_time(temp[10m:1m])"#, 10 * M), 9.0);
    assert_eq!(one(&src, r#"count_over_time(temp[10m:])"#, 10 * M), 10.0);
    assert_close(
        one(
            &src,
            r#"max_over_time(rate(req_total{job="web"}[2m])[5m:1m])"#,
            10 * M,
        ),
        2.0,
    );
    // Subquery offset and @.
    assert_eq!(
        one(&src, r#"last_over_time(temp[2m:1m] offset 3m)"#, 10 * M),
        2.0
    );
    assert_eq!(
        one(&src, r#"last_over_time(temp[2m:1m] @ 120)"#, 10 * M),
        8.0
    );
    // Name dropped inside a subquery stays dropped.
    assert_eq!(
        vector(&src, "last_over_time(abs(temp)[2m:])", 10 * M)[0].0,
        r#"{room="a"}"#
    );
}

// ---------------------------------------------------------------- errors and limits

#[test]
fn parse_errors_are_bad_data() {
    let src = MemorySource::new();
    assert!(matches!(err(&src, "sum(", 0), QueryError::BadData(_)));
    assert!(matches!(err(&src, "rate(x)", 0), QueryError::BadData(_)));
    assert!(matches!(
        engine().range(&src, "x[5m]", 0, M, M),
        Err(QueryError::BadData(m)) if m.contains("range vector")
    ));
    assert!(matches!(
        engine().range(&src, "x", 0, M, 0),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        engine().range(&src, "x", M, 0, 1000),
        Err(QueryError::BadData(_))
    ));
    assert!(matches!(
        engine().range(&src, "x", 0, 20_000 * M, M),
        Err(QueryError::BadData(_))
    ));
}

#[test]
fn too_many_samples() {
    let src = counters();
    let small = Engine::new(EngineOptions {
        max_samples: 10,
        ..Default::default()
    });
    assert!(matches!(
        small.range(&src, "req_total", 0, 20 * M, M),
        Err(QueryError::TooManySamples)
    ));
    assert!(matches!(
        small.instant(&src, "sum_over_time(req_total[20m])", 20 * M),
        Err(QueryError::TooManySamples)
    ));
    assert!(small.instant(&src, "req_total", 0).is_ok());
    assert_eq!(
        QueryError::TooManySamples.to_string(),
        "query processing would load too many samples into memory in query execution"
    );
}

#[test]
fn timeout() {
    let src = counters();
    let e = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..Default::default()
    });
    assert!(matches!(
        e.range(&src, "rate(req_total[5m])", 0, 20 * M, 1000),
        Err(QueryError::Timeout)
    ));
}

struct FailingSource;

impl SampleSource for FailingSource {
    fn select(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<Series>, SourceError> {
        Err(SourceError("disk on fire".into()))
    }
}

#[test]
fn storage_errors_are_reported() {
    let r = engine().instant(&FailingSource, "up", 0);
    assert!(matches!(r, Err(QueryError::Storage(_))));
    // Queries without selectors never touch storage.
    assert!(engine().instant(&FailingSource, "1 + 1", 0).is_ok());
}

#[test]
fn literals_and_strings() {
    let src = MemorySource::new();
    assert_eq!(scalar(&src, "0x10", 0), 16.0);
    assert_eq!(scalar(&src, "1e3", 0), 1000.0);
    assert!(scalar(&src, "NaN", 0).is_nan());
    assert_eq!(
        instant(&src, r#""hello""#, 5),
        Value::String {
            t: 5,
            v: "hello".into()
        }
    );
}

#[test]
fn stats_count_touched_samples() {
    let src = counters();
    let r = engine()
        .instant(&src, r#"sum_over_time(req_total{job="api"}[5m])"#, 10 * M)
        .unwrap();
    assert_eq!(r.total_samples, 5);
    let r = engine()
        .range(&src, r#"req_total{job="api"}"#, 0, 4 * M, M)
        .unwrap();
    assert_eq!(r.total_samples, 5);
}

#[test]
fn rate_on_non_counter_name_is_noted() {
    let src = counters();
    let r = engine().instant(&src, "rate(temp[5m])", 5 * M).unwrap();
    assert_eq!(
        r.infos,
        vec![
            r#"PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temp" (1:6)"#
        ]
    );
    let r = engine()
        .instant(&src, "rate(req_total[5m])", 5 * M)
        .unwrap();
    assert!(r.infos.is_empty());
}

#[test]
fn public_helpers() {
    assert_eq!(
        format_query("sum(rate(x[5m])) by (job)").unwrap(),
        "sum by (job) (rate(x[5m]))"
    );
    assert!(matches!(format_query("sum("), Err(QueryError::BadData(_))));
    // Long operator chains parse, but are too deep to print.
    let q = format!("1{}", " + 1".repeat(20_000));
    assert!(
        matches!(format_query(&q), Err(QueryError::BadData(m)) if m.contains("too deeply nested"))
    );
    let m = parse_series_selector(r#"up{job=~"a.*"}"#).unwrap();
    assert_eq!(m.len(), 2);
    assert!(parse_series_selector("up[5m]").is_err());
}

#[test]
fn scripts_in_prometheus_format() {
    let script = r#"
load 5m
  http_requests{job="api", instance="0"} 0+10x10
  http_requests{job="api", instance="1"} 0+20x10
  http_requests{job="db", instance="0"} 0+30x10

eval instant at 50m sum by (job) (http_requests)
  {job="api"} 300
  {job="db"} 300

eval range from 0 to 10m step 5m http_requests{instance="1"}
  http_requests{job="api", instance="1"} 0 20 40

eval instant at 50m rate(http_requests{job="db"}[25m])
  {job="db", instance="0"} 0.1

eval instant at 50m http_requests{job="api"} / on(job) group_left sum by (job) (http_requests)
  {job="api", instance="0"} 0.3333333333
  {job="api", instance="1"} 0.6666666667

eval instant at 50m topk(1, http_requests)
  expect ordered
  http_requests{job="db", instance="0"} 300

eval instant at 50m http_requests + on() group_left http_requests
  expect fail

eval instant at 30m changes(http_requests[20m])
  {job="api", instance="0"} 3
  {job="api", instance="1"} 3
  {job="db", instance="0"} 3
"#;
    let outcomes = run_script(script);
    assert_eq!(outcomes.len(), 7);
    let failures: Vec<_> = outcomes.iter().filter(|o| o.failure.is_some()).collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn limits_track_peak() {
    let mut l = super::limits::Limits::new(10, None);
    l.hold(6).unwrap();
    l.release(6);
    l.hold(4).unwrap();
    assert_eq!(l.peak(), 6);
    assert!(l.hold(7).is_err());
}

#[test]
fn nesting_is_bounded() {
    let src = MemorySource::new();
    // Within the limit: evaluates (in a default 2 MiB test thread stack).
    let q = format!("{}vector(1){}", "abs(".repeat(150), ")".repeat(150));
    assert_eq!(vector(&src, &q, 0), vec![("{}".to_string(), 1.0)]);
    let q = format!("1{}", " + 1".repeat(190));
    assert_eq!(scalar(&src, &q, 0), 191.0);
    // Beyond it: a clean error rather than a stack overflow.
    let q = format!("1{}", " + 1".repeat(5000));
    assert!(matches!(err(&src, &q, 0), QueryError::BadData(m) if m.contains("too deeply nested")));
}
