//! The index endpoints: `labels`, `label/<name>/values`, `series`,
//! `index/stats`, `index/volume` and `index/volume_range`, answered from the
//! store's series list and per-chunk statistics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::encode::{label_string, write_label_object, write_str};
use super::params;
use super::response::{respond, ApiError, ApiResponse};
use super::{deps, Ctx};
use crate::api::params::Params;
use crate::api::prom_json::write_timestamp;
use crate::logs::ChunkStats;
use crate::model::{Label, Labels, Matcher};

/// Matchers of an optional `query` selector (absent or `{}` = all streams).
pub fn optional_selector(p: &Params, key: &str) -> Result<Vec<Matcher>, ApiError> {
    match p.get(key) {
        None => Ok(Vec::new()),
        Some(q) => selector(q),
    }
}

/// Matchers of a stream selector; syntax errors are 400 with Loki's text.
pub fn selector(q: &str) -> Result<Vec<Matcher>, ApiError> {
    if q.trim() == "{}" {
        return Ok(Vec::new());
    }
    deps::parse_matchers(q).map_err(|e| ApiError::bad(e.to_string()))
}

/// `{"status":"success","data":[..]}`; Loki leaves `data` out when empty.
fn string_list(items: impl IntoIterator<Item = String>) -> String {
    let mut out = String::from("{\"status\":\"success\"");
    let mut first = true;
    for s in items {
        out.push_str(if first { ",\"data\":[" } else { "," });
        first = false;
        write_str(&mut out, &s, false);
    }
    if !first {
        out.push(']');
    }
    out.push_str("}\n");
    out
}

/// `GET|POST /loki/api/v1/labels`: label names of the streams in range.
pub fn labels(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::bounds(p, cx.now_ns)?;
        let matchers = optional_selector(p, "query")?;
        let mut names = BTreeSet::new();
        for s in cx.src.series(&matchers, start, end)? {
            for l in s.iter() {
                names.insert(l.name.clone());
            }
        }
        Ok(ApiResponse::json(string_list(names)))
    })())
}

/// `GET /loki/api/v1/label/<name>/values`.
pub fn label_values(cx: &Ctx<'_>, name: &str, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::bounds(p, cx.now_ns)?;
        let matchers = optional_selector(p, "query")?;
        let mut values = BTreeSet::new();
        for s in cx.src.series(&matchers, start, end)? {
            if let Some(v) = s.get(name) {
                values.insert(v.to_string());
            }
        }
        Ok(ApiResponse::json(string_list(values)))
    })())
}

/// `GET|POST /loki/api/v1/series`: the label sets matching any `match[]`
/// (all streams when none is given), ordered by their text.
pub fn series(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::bounds(p, cx.now_ns)?;
        let groups: Vec<Vec<Matcher>> = p
            .all("match[]")
            .into_iter()
            .chain(p.all("match"))
            .filter(|s| !s.is_empty())
            .map(selector)
            .collect::<Result<_, _>>()?;
        let mut found: BTreeMap<String, Labels> = BTreeMap::new();
        if groups.is_empty() {
            for s in cx.src.series(&[], start, end)? {
                found.insert(label_string(s.iter()), s);
            }
        }
        for g in &groups {
            for s in cx.src.series(g, start, end)? {
                found.insert(label_string(s.iter()), s);
            }
        }
        let mut out = String::from("{\"status\":\"success\",\"data\":[");
        for (i, s) in found.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_label_object(&mut out, s.iter());
        }
        out.push_str("]}\n");
        Ok(ApiResponse::json(out))
    })())
}

/// The share of a chunk inside `[from, through]`, as Loki scales index
/// statistics of chunks that straddle the range.
pub fn overlap_factor(from: i64, through: i64, c: &ChunkStats) -> f64 {
    if from > c.max_ts_ns || through < c.min_ts_ns {
        return 0.0;
    }
    if c.min_ts_ns == c.max_ts_ns {
        return 1.0;
    }
    let total = (c.max_ts_ns - c.min_ts_ns) as f64;
    let leading = (from - c.min_ts_ns).max(0) as f64;
    let trailing = (c.max_ts_ns - through).max(0) as f64;
    ((total - leading - trailing) / total).clamp(0.0, 1.0)
}

/// `GET|POST /loki/api/v1/index/stats`: `{"streams","chunks","bytes","entries"}`.
pub fn index_stats(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::ordered_bounds(p, cx.now_ns)?;
        let matchers = selector(p.get("query").unwrap_or(""))?;
        let mut streams = BTreeSet::new();
        let (mut chunks, mut bytes, mut entries) = (0u64, 0f64, 0f64);
        cx.src.chunk_stats(&matchers, start, end, &mut |l, c| {
            let f = overlap_factor(start, end, &c);
            streams.insert(l.hash64());
            chunks += 1;
            bytes += c.bytes as f64 * f;
            entries += c.entries as f64 * f;
        })?;
        Ok(ApiResponse::json(format!(
            "{{\"streams\":{},\"chunks\":{chunks},\"bytes\":{},\"entries\":{}}}\n",
            streams.len(),
            bytes.round() as u64,
            entries.round() as u64
        )))
    })())
}

/// How volumes are keyed.
struct VolumeSpec {
    target: Vec<String>,
    by_series: bool,
    limit: usize,
    matcher_names: Vec<String>,
}

impl VolumeSpec {
    fn from_params(p: &Params, matchers: &[Matcher]) -> Result<Self, ApiError> {
        let l = params::int_param(p, "limit", 100)?;
        if l < 0 {
            return Err(ApiError::bad("limit must be a positive value"));
        }
        let limit = if l == 0 { 100 } else { l as usize };
        let by_series = match p.get("aggregateBy") {
            None | Some("series") => true,
            Some("labels") => false,
            Some(_) => return Err(ApiError::bad("invalid aggregation option")),
        };
        let target: Vec<String> = p
            .get("targetLabels")
            .map(|t| {
                t.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(VolumeSpec {
            target,
            by_series,
            limit,
            matcher_names: matchers.iter().map(|m| m.name.clone()).collect(),
        })
    }

    /// Is this label one the volume is keyed by?
    fn wanted(&self, name: &str) -> bool {
        if !self.target.is_empty() {
            self.target.iter().any(|t| t == name)
        } else if self.matcher_names.is_empty() {
            true
        } else {
            self.matcher_names.iter().any(|m| m == name)
        }
    }

    /// The keys a stream's bytes count towards.
    fn keys(&self, l: &Labels) -> Vec<String> {
        if self.by_series {
            let kept: Vec<&Label> = l.iter().filter(|x| self.wanted(&x.name)).collect();
            vec![label_string(kept)]
        } else {
            l.iter()
                .filter(|x| self.wanted(&x.name))
                .map(|x| x.name.clone())
                .collect()
        }
    }

    fn metric(&self, key: &str, labels_of: &BTreeMap<String, Vec<Label>>) -> Vec<Label> {
        if self.by_series {
            labels_of.get(key).cloned().unwrap_or_default()
        } else {
            vec![Label::new(key, "")]
        }
    }
}

/// Time buckets of a volume query as Loki splits them: aligned to the
/// step, the first starting at `start`, each ending 1 ms before the next
/// boundary, the last at `end`; samples stamped with the bucket's end.
pub fn volume_buckets(start: i64, end: i64, step: i64) -> Vec<(i64, i64)> {
    if step <= 0 {
        return vec![(start, end)];
    }
    let mut out = Vec::new();
    let mut s = start - start.rem_euclid(step);
    let mut first = true;
    while s < end {
        let mut e = s.saturating_add(step);
        if e >= end {
            e = end;
        } else {
            e -= 1_000_000;
        }
        out.push((if first { start } else { s }, e));
        first = false;
        s = s.saturating_add(step);
    }
    out
}

fn volume_common(cx: &Ctx<'_>, p: &Params, range: bool) -> Result<ApiResponse, ApiError> {
    let (start, end) = params::ordered_bounds(p, cx.now_ns)?;
    let matchers = selector(p.get("query").unwrap_or(""))?;
    let spec = VolumeSpec::from_params(p, &matchers)?;
    let step = if range {
        params::step(p, start, end)?
    } else {
        0
    };
    let buckets = volume_buckets(start, end, step);
    let mut chunks: Vec<(Labels, ChunkStats)> = Vec::new();
    cx.src.chunk_stats(&matchers, start, end, &mut |l, c| {
        chunks.push((l.clone(), c));
    })?;
    let mut labels_of: BTreeMap<String, Vec<Label>> = BTreeMap::new();
    // key -> samples (bucket end, bytes)
    let mut series: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for &(bs, be) in &buckets {
        let mut vols: BTreeMap<String, f64> = BTreeMap::new();
        for (l, c) in &chunks {
            let f = overlap_factor(bs, be, c);
            if f <= 0.0 {
                continue;
            }
            for k in spec.keys(l) {
                if spec.by_series && !labels_of.contains_key(&k) {
                    labels_of.insert(
                        k.clone(),
                        l.iter().filter(|x| spec.wanted(&x.name)).cloned().collect(),
                    );
                }
                *vols.entry(k).or_default() += c.bytes as f64 * f;
            }
        }
        let mut ranked: Vec<(String, u64)> = vols
            .into_iter()
            .map(|(k, v)| (k, v.round() as u64))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(spec.limit);
        for (k, v) in ranked {
            series.entry(k).or_default().push((be, v));
        }
    }
    let mut result: Vec<(String, Vec<(i64, u64)>)> = series.into_iter().collect();
    result.sort_by(|a, b| {
        let (av, bv) = (a.1[0].1, b.1[0].1);
        bv.cmp(&av).then_with(|| a.0.cmp(&b.0))
    });
    let matrix = result.iter().any(|(_, s)| s.len() > 1);
    let mut out = String::from("{\"status\":\"success\",\"data\":{\"resultType\":");
    out.push_str(if matrix {
        "\"matrix\",\"result\":["
    } else {
        "\"vector\",\"result\":["
    });
    for (i, (k, samples)) in result.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_label_object(&mut out, &spec.metric(k, &labels_of));
        out.push_str(if matrix {
            ",\"values\":["
        } else {
            ",\"value\":"
        });
        for (j, (t, v)) in samples.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            write_timestamp(&mut out, t.div_euclid(1_000_000));
            let _ = write!(out, ",\"{v}\"]");
        }
        out.push_str(if matrix { "]}" } else { "}" });
    }
    out.push_str("]}}\n");
    Ok(ApiResponse::json(out))
}

/// `GET|POST /loki/api/v1/index/volume`: bytes per label set (or label
/// name) over the range, as a vector stamped at `end`.
pub fn volume(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond(volume_common(cx, p, false))
}

/// `GET|POST /loki/api/v1/index/volume_range`: the same per `step` bucket.
pub fn volume_range(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond(volume_common(cx, p, true))
}
