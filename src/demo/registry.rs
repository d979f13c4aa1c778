//! The demo's in-memory metric registry: counters and classic histograms
//! that keep their values between scrapes, gauges rebuilt at every scrape,
//! and the bookkeeping that writes a staleness marker for every series that
//! disappears, as Prometheus does when a target stops exposing it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::STALE_NAN_BITS;

/// A series identity: metric name plus label pairs, sorted by name.
pub type SeriesKey = Vec<(String, String)>;

/// Builds a series key from a metric name and label pairs.
pub fn key(name: &str, labels: &[(&str, &str)]) -> SeriesKey {
    let mut k: SeriesKey = Vec::with_capacity(labels.len() + 1);
    k.push(("__name__".to_string(), name.to_string()));
    for (n, v) in labels {
        k.push((n.to_string(), v.to_string()));
    }
    k.sort();
    k
}

/// A classic (bucketed) histogram.
#[derive(Clone, Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Non-cumulative counts per bound; the last slot is `+Inf`.
    counts: Vec<u64>,
    sum: f64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
        }
    }

    fn observe(&mut self, v: f64) {
        let i = self.bounds.iter().position(|b| v <= *b);
        let slot = i.unwrap_or(self.bounds.len());
        self.counts[slot] += 1;
        self.sum += v;
    }
}

/// One exemplar to attach to the bucket an observation fell into.
#[derive(Clone, Debug)]
pub struct Exemplar {
    pub trace_id: String,
    pub value: f64,
    pub t_ms: i64,
}

/// One sample ready to send.
pub struct Point {
    pub labels: SeriesKey,
    pub value: f64,
    pub exemplar: Option<Exemplar>,
}

#[derive(Default)]
pub struct Registry {
    counters: BTreeMap<SeriesKey, f64>,
    gauges: BTreeMap<SeriesKey, f64>,
    histograms: BTreeMap<SeriesKey, Histogram>,
    /// Latest exemplar per bucket series.
    exemplars: BTreeMap<SeriesKey, Exemplar>,
    previous: BTreeSet<SeriesKey>,
}

impl Registry {
    /// Adds `by` to a counter (creating it at 0 first).
    pub fn inc(&mut self, name: &str, labels: &[(&str, &str)], by: f64) {
        *self.counters.entry(key(name, labels)).or_insert(0.0) += by;
    }

    /// Makes a counter exist at 0 so that rate() over it is defined before
    /// the first event, as client libraries do for known label values.
    pub fn touch(&mut self, name: &str, labels: &[(&str, &str)]) {
        self.counters.entry(key(name, labels)).or_insert(0.0);
    }

    /// Sets a gauge for this scrape only.
    pub fn set(&mut self, name: &str, labels: &[(&str, &str)], v: f64) {
        self.gauges.insert(key(name, labels), v);
    }

    /// Forgets every counter and histogram whose labels contain
    /// `label=value` (a node or pod that went away).
    pub fn forget(&mut self, label: &str, value: &str) {
        let hit = |k: &SeriesKey| k.iter().any(|(n, v)| n == label && v == value);
        self.counters.retain(|k, _| !hit(k));
        self.histograms.retain(|k, _| !hit(k));
    }

    /// Records an observation in a histogram with the given bucket bounds.
    pub fn observe(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &'static [f64],
        v: f64,
        exemplar: Option<Exemplar>,
    ) {
        let k = key(name, labels);
        self.histograms
            .entry(k.clone())
            .or_insert_with(|| Histogram::new(bounds))
            .observe(v);
        if let Some(ex) = exemplar {
            let le = bounds
                .iter()
                .find(|b| v <= **b)
                .map(|b| format_le(*b))
                .unwrap_or_else(|| "+Inf".to_string());
            let mut bk = k;
            bk[0].1.push_str("_bucket");
            bk.push(("le".to_string(), le));
            bk.sort();
            self.exemplars.insert(bk, ex);
        }
    }

    /// Makes a histogram exist with no observations.
    pub fn touch_histogram(&mut self, name: &str, labels: &[(&str, &str)], bounds: &'static [f64]) {
        self.histograms
            .entry(key(name, labels))
            .or_insert_with(|| Histogram::new(bounds));
    }

    /// Everything to send for one scrape: every live series, plus a
    /// staleness marker for each series of the previous scrape that is gone.
    /// Gauges are cleared afterwards; exemplars are sent once.
    pub fn scrape(&mut self) -> Vec<Point> {
        let mut out: Vec<Point> = Vec::new();
        for (k, v) in self.counters.iter().chain(self.gauges.iter()) {
            out.push(Point {
                labels: k.clone(),
                value: *v,
                exemplar: None,
            });
        }
        for (k, h) in &self.histograms {
            let name = &k[0].1;
            let with_name = |suffix: &str| {
                let mut s = k.clone();
                s[0].1 = format!("{name}{suffix}");
                s
            };
            let mut cumulative = 0u64;
            for (i, c) in h.counts.iter().enumerate() {
                cumulative += c;
                let le = h
                    .bounds
                    .get(i)
                    .map(|b| format_le(*b))
                    .unwrap_or_else(|| "+Inf".to_string());
                let mut s = with_name("_bucket");
                s.push(("le".to_string(), le));
                s.sort();
                let exemplar = self.exemplars.remove(&s);
                out.push(Point {
                    labels: s,
                    value: cumulative as f64,
                    exemplar,
                });
            }
            out.push(Point {
                labels: with_name("_sum"),
                value: h.sum,
                exemplar: None,
            });
            out.push(Point {
                labels: with_name("_count"),
                value: cumulative as f64,
                exemplar: None,
            });
        }
        let now: BTreeSet<SeriesKey> = out.iter().map(|p| p.labels.clone()).collect();
        for gone in self.previous.difference(&now) {
            out.push(Point {
                labels: gone.clone(),
                value: f64::from_bits(STALE_NAN_BITS),
                exemplar: None,
            });
        }
        self.previous = now;
        self.gauges.clear();
        self.exemplars.clear();
        out
    }
}

/// `le` values as Prometheus client libraries print them.
fn format_le(b: f64) -> String {
    if b.fract() == 0.0 && b.abs() < 1e15 {
        format!("{b:.1}")
    } else {
        format!("{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(points: &'a [Point], name: &str, extra: &[(&str, &str)]) -> Option<&'a Point> {
        points.iter().find(|p| {
            p.labels.iter().any(|(n, v)| n == "__name__" && v == name)
                && extra
                    .iter()
                    .all(|(n, v)| p.labels.iter().any(|(a, b)| a == n && b == v))
        })
    }

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        static B: [f64; 3] = [1.0, 5.0, 10.0];
        let mut r = Registry::default();
        for v in [0.5, 3.0, 7.0, 20.0] {
            r.observe("d_seconds", &[("op", "x")], &B, v, None);
        }
        let pts = r.scrape();
        let bucket = |le| find(&pts, "d_seconds_bucket", &[("le", le)]).map(|p| p.value);
        assert_eq!(bucket("1.0"), Some(1.0));
        assert_eq!(bucket("5.0"), Some(2.0));
        assert_eq!(bucket("10.0"), Some(3.0));
        assert_eq!(bucket("+Inf"), Some(4.0));
        assert_eq!(
            find(&pts, "d_seconds_count", &[]).map(|p| p.value),
            Some(4.0)
        );
        assert_eq!(
            find(&pts, "d_seconds_sum", &[]).map(|p| p.value),
            Some(30.5)
        );
    }

    #[test]
    fn vanished_series_get_one_staleness_marker() {
        let mut r = Registry::default();
        r.set("kube_pod_info", &[("pod", "a")], 1.0);
        r.set("kube_pod_info", &[("pod", "b")], 1.0);
        assert_eq!(r.scrape().len(), 2);
        r.set("kube_pod_info", &[("pod", "a")], 1.0);
        let pts = r.scrape();
        let b = find(&pts, "kube_pod_info", &[("pod", "b")]).map(|p| p.value.to_bits());
        assert_eq!(b, Some(STALE_NAN_BITS));
        r.set("kube_pod_info", &[("pod", "a")], 1.0);
        assert_eq!(r.scrape().len(), 1, "the marker is written once");
    }

    #[test]
    fn exemplar_lands_on_the_observed_bucket_once() {
        static B: [f64; 2] = [10.0, 60.0];
        let mut r = Registry::default();
        let ex = Exemplar {
            trace_id: "abc".into(),
            value: 42.0,
            t_ms: 1,
        };
        r.observe("p_seconds", &[], &B, 42.0, Some(ex));
        let pts = r.scrape();
        let with: Vec<_> = pts.iter().filter(|p| p.exemplar.is_some()).collect();
        assert_eq!(with.len(), 1);
        assert!(with[0].labels.contains(&("le".into(), "60.0".into())));
        assert!(r.scrape().iter().all(|p| p.exemplar.is_none()));
    }
}
