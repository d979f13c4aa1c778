//! `query` (instant) and `query_range`: parameters in, the LogQL engine
//! run, Loki's JSON out (streams in either encoding, matrix, vector,
//! scalar, with `stats`).

use std::time::Instant;

use axum::http::HeaderMap;

use super::encode::{self, StatsInput};
use super::params;
use super::response::{respond, ApiError, ApiResponse};
use super::{deps, Ctx};
use crate::api::params::Params;
use crate::logql::ast::Expr;
use crate::logql::eval::QueryParams;

/// Loki's refusal of a log query at an instant.
pub const LOG_QUERY_AT_INSTANT: &str =
    "log queries are not supported as an instant query type, please change your query to a range query type";

/// The query text, parsed; syntax errors are 400 with Loki's message.
pub fn parse_query(p: &Params) -> Result<Expr, ApiError> {
    let q = p.get("query").unwrap_or("");
    deps::parse(q).map_err(|e| ApiError::bad(e.to_string()))
}

/// `GET|POST /loki/api/v1/query_range`.
pub fn query_range(cx: &Ctx<'_>, p: &Params, headers: &HeaderMap) -> ApiResponse {
    respond((|| {
        let (start_ns, end_ns) = params::ordered_bounds(p, cx.now_ns)?;
        let limit = params::limit(p, 0)?;
        let direction = params::direction(p)?;
        let step_ns = params::step(p, start_ns, end_ns)?;
        let interval_ns = params::interval(p)?;
        let expr = parse_query(p)?;
        check_max_entries(cx, limit)?;
        let qp = QueryParams {
            start_ns,
            end_ns,
            step_ns,
            interval_ns,
            limit,
            direction,
            instant: false,
        };
        run(cx, &expr, &qp, params::categorize_labels(headers))
    })())
}

/// `GET|POST /loki/api/v1/query`.
pub fn query(cx: &Ctx<'_>, p: &Params, headers: &HeaderMap) -> ApiResponse {
    respond((|| {
        let limit = params::limit(p, 0)?;
        let ts = match p.get("time") {
            None => cx.now_ns,
            Some(s) => params::parse_timestamp(s).map_err(ApiError::bad)?,
        };
        let direction = params::direction(p)?;
        let expr = parse_query(p)?;
        if matches!(expr, Expr::Log(_)) {
            return Err(ApiError::bad(LOG_QUERY_AT_INSTANT));
        }
        check_max_entries(cx, limit)?;
        let qp = QueryParams {
            start_ns: ts,
            end_ns: ts,
            step_ns: 0,
            interval_ns: 0,
            limit,
            direction,
            instant: true,
        };
        run(cx, &expr, &qp, params::categorize_labels(headers))
    })())
}

fn check_max_entries(cx: &Ctx<'_>, limit: usize) -> Result<(), ApiError> {
    let max = cx.engine.opts.max_entries;
    if max > 0 && limit > max {
        return Err(ApiError::bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({limit} > {max})"
        )));
    }
    Ok(())
}

fn run(
    cx: &Ctx<'_>,
    expr: &Expr,
    qp: &QueryParams,
    categorize: bool,
) -> Result<ApiResponse, ApiError> {
    let started = Instant::now();
    let (output, work) = cx.engine.exec(cx.src, expr, qp)?;
    let stats = StatsInput {
        work,
        exec_secs: started.elapsed().as_secs_f64(),
        entries_returned: encode::entries_returned(&output),
    };
    Ok(ApiResponse::json(encode::query_response(
        &output, &stats, categorize,
    )))
}
