//! `info(v [, label_selector])`: adds to each series of `v` the data labels
//! of the info series (by default `target_info`) that share its identifying
//! labels (`instance`, `job`), step by step, as Prometheus' experimental
//! `info()` does.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::labels::METRIC_NAME;
use crate::model::{is_stale_nan, Labels, MatchOp, Matcher, Sample};

use super::eval::{unwrap_parens, Evaluator};
use super::parser::Expr;
use super::step::{Evaluated, Grid, StepSeries};
use super::util::prom_labels_string;
use super::value::QueryError;

const TARGET_INFO: &str = "target_info";
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// An info sample at one step: its labels and original timestamp.
struct InfoPoint<'a> {
    labels: &'a Labels,
    t: i64,
}

pub(crate) fn eval(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    args: &[&Expr],
) -> Result<Evaluated, QueryError> {
    let base_expr = args
        .first()
        .ok_or_else(|| QueryError::exec("info() needs an argument"))?;
    let base = ev.eval_vector(grid, base_expr)?;

    // Data label matchers by label name; `__name__` ones pick the info metrics.
    let mut data: BTreeMap<String, Vec<Matcher>> = BTreeMap::new();
    if let Some(a) = args.get(1) {
        let Expr::VectorSelector(sel) = unwrap_parens(a) else {
            return Err(QueryError::exec(
                "expected label selectors as the second argument to \"info\" function",
            ));
        };
        for m in &sel.matchers {
            let mm = m.to_matcher().map_err(QueryError::BadData)?;
            data.entry(m.name.clone()).or_default().push(mm);
        }
    }
    // Which metrics are info metrics: `target_info` unless the selector
    // names some; only negated names mean "any `*_info` metric but those".
    let mut name_matchers: Vec<Matcher> = data.remove(METRIC_NAME).unwrap_or_default();
    if !name_matchers.iter().any(|m| !m.matches("")) {
        let default = if name_matchers.is_empty() {
            Matcher::equal(METRIC_NAME, TARGET_INFO)
        } else {
            Matcher::new(MatchOp::Regex, METRIC_NAME, ".+_info").map_err(QueryError::BadData)?
        };
        name_matchers.insert(0, default);
    }

    // Info series themselves are passed through, not enriched.
    let ignored: Vec<bool> = base
        .iter()
        .map(|s| {
            let name = s.labels.get(METRIC_NAME).unwrap_or("");
            name_matchers.iter().all(|m| m.matches(name))
        })
        .collect();

    let reference = Reference::of(ev, base_expr);
    let info_series =
        fetch_info_series(ev, grid, &reference, &base, &ignored, &name_matchers, &data)?;
    let out = combine(ev, grid, &reference, &base, &ignored, &info_series, &data)?;
    ev.release_series(&base);
    ev.limits.hold(super::step::total_points(&out))?;
    Ok(Evaluated::Vector(out))
}

/// Selects the info series that could match the base series.
fn fetch_info_series(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    reference: &Reference,
    base: &[StepSeries],
    ignored: &[bool],
    name_matchers: &[Matcher],
    data: &BTreeMap<String, Vec<Matcher>>,
) -> Result<Vec<(Labels, Vec<Sample>)>, QueryError> {
    let mut values: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for (s, ign) in base.iter().zip(ignored) {
        if *ign {
            continue;
        }
        for l in IDENTIFYING {
            if let Some(v) = s.labels.get(l).filter(|v| !v.is_empty()) {
                values.entry(l).or_default().insert(v);
            }
        }
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let mut matchers = Vec::new();
    for (name, vals) in &values {
        let mut vals: Vec<&str> = vals.iter().copied().collect();
        vals.sort_unstable();
        let re = vals
            .iter()
            .map(|v| regex::escape(v))
            .collect::<Vec<_>>()
            .join("|");
        matchers.push(Matcher::new(MatchOp::Regex, *name, re).map_err(QueryError::BadData)?);
    }
    matchers.extend(name_matchers.iter().cloned());
    for ms in data.values() {
        matchers.extend(ms.iter().cloned());
    }
    let (first, last) = (reference.at(grid.start), reference.at(grid.end));
    let mint = first.min(last) - (ev.lookback - 1);
    let maxt = first.max(last);
    ev.limits.check_deadline()?;
    let series = ev.src.select(&matchers, mint, maxt)?;
    if let Some(s) = series
        .iter()
        .find(|s| s.histograms.iter().any(|p| p.t >= mint && p.t <= maxt))
    {
        return Err(QueryError::exec(format!(
            "this should be an info metric, with float samples: {}",
            prom_labels_string(&s.labels)
        )));
    }
    Ok(series
        .into_iter()
        .map(|s| {
            let pts: Vec<Sample> = s
                .samples
                .into_iter()
                .filter(|p| p.t >= mint && p.t <= maxt)
                .collect();
            (s.labels, pts)
        })
        .collect())
}

/// When the info series are looked at for an evaluation time: as the base
/// expression's first selector sees its data, through the `@` and offsets
/// of the subqueries around it.
struct Reference {
    /// `(@ time, offset)` from the outermost node inward.
    shifts: Vec<(Option<i64>, i64)>,
}

impl Reference {
    fn of(ev: &Evaluator<'_>, e: &Expr) -> Reference {
        let mut shifts = Vec::new();
        let mut stack = vec![e];
        while let Some(e) = stack.pop() {
            match e {
                Expr::VectorSelector(vs) => {
                    shifts.push((ev.at_time(&vs.at), vs.offset_ms()));
                    break;
                }
                Expr::MatrixSelector(ms) => {
                    shifts.push((ev.at_time(&ms.vs.at), ms.vs.offset_ms()));
                    break;
                }
                Expr::Subquery(sq) => {
                    shifts.push((ev.at_time(&sq.at), sq.offset_ms()));
                    stack.clear();
                    stack.push(&sq.expr);
                }
                other => {
                    let mut ch = other.children();
                    ch.reverse();
                    stack.extend(ch);
                }
            }
        }
        Reference { shifts }
    }

    fn at(&self, ts: i64) -> i64 {
        self.shifts.iter().fold(ts, |t, (at, offset)| {
            at.unwrap_or(t).saturating_sub(*offset)
        })
    }
}

/// Signature of a series for one info metric: the name and the identifying
/// labels it has.
fn signature(name: &str, labels: &Labels) -> Vec<(String, String)> {
    let mut sig = vec![(METRIC_NAME.to_string(), name.to_string())];
    for l in IDENTIFYING {
        if let Some(v) = labels.get(l) {
            sig.push((l.to_string(), v.to_string()));
        }
    }
    sig
}

/// The newest non-stale sample in `(ts - lookback, ts]`.
fn sample_at(pts: &[Sample], ts: i64, lookback: i64) -> Option<&Sample> {
    let idx = pts.partition_point(|p| p.t <= ts);
    let p = pts.get(idx.checked_sub(1)?)?;
    (p.t > ts - lookback && !is_stale_nan(p.v)).then_some(p)
}

fn combine(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    reference: &Reference,
    base: &[StepSeries],
    ignored: &[bool],
    info: &[(Labels, Vec<Sample>)],
    data: &BTreeMap<String, Vec<Matcher>>,
) -> Result<Vec<StepSeries>, QueryError> {
    let info_names: HashSet<&str> = info
        .iter()
        .filter_map(|(l, _)| l.get(METRIC_NAME))
        .collect();
    let info_sigs: Vec<Vec<(String, String)>> = info
        .iter()
        .map(|(l, _)| signature(l.get(METRIC_NAME).unwrap_or(""), l))
        .collect();
    let all_match_empty = data.values().flatten().all(|m| m.matches(""));
    let mut out: Vec<StepSeries> = Vec::new();
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut cursors = vec![0usize; base.len()];
    let mut hcursors = vec![0usize; base.len()];
    for ts in grid.timestamps() {
        ev.limits.tick()?;
        // The newest info sample per signature at this step.
        let mut by_sig: HashMap<&[(String, String)], InfoPoint<'_>> = HashMap::new();
        for ((labels, pts), sig) in info.iter().zip(&info_sigs) {
            let Some(p) = sample_at(pts, reference.at(ts), ev.lookback) else {
                continue;
            };
            match by_sig.get(sig.as_slice()) {
                Some(old) if old.t > p.t => {}
                Some(old) if old.t == p.t => {
                    return Err(QueryError::exec(format!(
                        "found duplicate series for info metric: existing {} @ {}, new {} @ {}",
                        prom_labels_string(old.labels),
                        old.t,
                        prom_labels_string(labels),
                        p.t
                    )));
                }
                _ => {
                    by_sig.insert(sig.as_slice(), InfoPoint { labels, t: p.t });
                }
            }
        }
        for (i, s) in base.iter().enumerate() {
            let c = &mut cursors[i];
            while *c < s.floats.len() && s.floats[*c].t < ts {
                *c += 1;
            }
            let hc = &mut hcursors[i];
            while *hc < s.hists.len() && s.hists[*hc].t < ts {
                *hc += 1;
            }
            let fp = s.floats.get(*c).filter(|p| p.t == ts);
            let hp = s.hists.get(*hc).filter(|p| p.t == ts);
            if fp.is_none() && hp.is_none() {
                continue;
            }
            let labels = if ignored[i] {
                Some(s.labels.clone())
            } else {
                enrich(&s.labels, &info_names, &by_sig, data, all_match_empty)?
            };
            let Some(labels) = labels else { continue };
            let slot = match index.get(&labels) {
                Some(&k) => k,
                None => {
                    out.push(StepSeries::new(labels.clone(), s.drop_name));
                    index.insert(labels, out.len() - 1);
                    out.len() - 1
                }
            };
            let o = &mut out[slot];
            if o.floats.last().is_some_and(|q| q.t == ts)
                || o.hists.last().is_some_and(|q| q.t == ts)
            {
                return Err(QueryError::exec(
                    "vector cannot contain metrics with the same labelset",
                ));
            }
            match (fp, hp) {
                (Some(p), _) => o.floats.push(Sample::new(ts, p.v)),
                (None, Some(h)) => o.hists.push(h.clone()),
                (None, None) => {}
            }
        }
    }
    Ok(out)
}

/// The base labels plus the data labels of its info series; `None` drops
/// the series (no info series while a data matcher requires a value).
fn enrich(
    base: &Labels,
    info_names: &HashSet<&str>,
    by_sig: &HashMap<&[(String, String)], InfoPoint<'_>>,
    data: &BTreeMap<String, Vec<Matcher>>,
    all_match_empty: bool,
) -> Result<Option<Labels>, QueryError> {
    let mut added: BTreeMap<String, String> = BTreeMap::new();
    let mut seen = 0usize;
    for name in info_names {
        let sig = signature(name, base);
        let Some(ip) = by_sig.get(sig.as_slice()) else {
            continue;
        };
        seen += 1;
        for l in ip.labels.iter() {
            if l.name == METRIC_NAME || (!data.is_empty() && !data.contains_key(&l.name)) {
                continue;
            }
            if let Some(v) = added.get(&l.name) {
                if v != &l.value {
                    return Err(QueryError::exec(format!("conflicting label: {}", l.name)));
                }
            }
            if base.get(&l.name).is_some() {
                continue;
            }
            added.insert(l.name.clone(), l.value.clone());
        }
    }
    if seen == 0 && !all_match_empty {
        return Ok(None);
    }
    let mut out = base.clone();
    for (k, v) in &added {
        out.set(k, v);
    }
    Ok(Some(out))
}
