//! The legacy `/api/prom/` read endpoints in their old shapes: `query`
//! (log queries only, `{"streams":[{"labels":"{..}","entries":[{"ts","line"}]}]}`),
//! `label` and `label/<name>/values` (`{"values":[..]}`); `series` and
//! `tail` share the v1 code.

use std::collections::BTreeSet;
use std::time::Instant;

use super::encode::{label_string, merged_labels, write_stats, write_str, StatsInput};
use super::metadata::optional_selector;
use super::params;
use super::query::parse_query;
use super::response::{respond, ApiError, ApiResponse};
use super::Ctx;
use crate::api::params::Params;
use crate::logql::ast::Expr;
use crate::logql::eval::{QueryOutput, QueryParams};

/// RFC3339 with nanoseconds (Go's `RFC3339Nano`: trailing zeros dropped).
pub use crate::calendar::rfc3339_nano;

/// `GET /api/prom/query`: a log query over `start`..`end`.
pub fn query(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start_ns, end_ns) = params::ordered_bounds(p, cx.now_ns)?;
        let limit = params::limit(p, cx.engine.opts.max_entries)?;
        let direction = params::direction(p)?;
        let expr = parse_query(p)?;
        if matches!(expr, Expr::Sample(_)) {
            return Err(ApiError::bad(
                "legacy endpoints only support streams result type",
            ));
        }
        let qp = QueryParams {
            start_ns,
            end_ns,
            step_ns: params::default_step_ns(start_ns, end_ns),
            interval_ns: 0,
            limit,
            direction,
            instant: false,
        };
        let started = Instant::now();
        let (output, work) = cx.engine.exec(cx.src, &expr, &qp)?;
        let QueryOutput::Streams(entries) = &output else {
            return Err(ApiError::bad(
                "legacy endpoints only support streams result type",
            ));
        };
        let mut groups: std::collections::BTreeMap<String, Vec<&crate::logql::eval::OutEntry>> =
            Default::default();
        for e in entries {
            groups
                .entry(label_string(&merged_labels(e)))
                .or_default()
                .push(e);
        }
        let mut out = String::from("{\"streams\":[");
        for (i, (labels, es)) in groups.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"labels\":");
            write_str(&mut out, labels, false);
            out.push_str(",\"entries\":[");
            for (j, e) in es.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str("{\"ts\":");
                write_str(&mut out, &rfc3339_nano(e.ts_ns), false);
                out.push_str(",\"line\":");
                write_str(&mut out, &e.line, true);
                out.push('}');
            }
            out.push_str("]}");
        }
        out.push_str("],\"stats\":");
        write_stats(
            &mut out,
            &StatsInput {
                work,
                exec_secs: started.elapsed().as_secs_f64(),
                entries_returned: entries.len() as u64,
            },
        );
        out.push_str("}\n");
        Ok(ApiResponse::json(out))
    })())
}

fn values_doc(values: BTreeSet<String>) -> String {
    let mut out = String::from("{\"values\":[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, v, false);
    }
    out.push_str("]}\n");
    out
}

/// `GET /api/prom/label`: `{"values":[names..]}`.
pub fn label(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::bounds(p, cx.now_ns)?;
        let matchers = optional_selector(p, "query")?;
        let mut names = BTreeSet::new();
        for s in cx.src.series(&matchers, start, end)? {
            names.extend(s.iter().map(|l| l.name.clone()));
        }
        Ok(ApiResponse::json(values_doc(names)))
    })())
}

/// `GET /api/prom/label/<name>/values`: `{"values":[..]}`.
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
        Ok(ApiResponse::json(values_doc(values)))
    })())
}
