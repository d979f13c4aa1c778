//! `tail`: the websocket's messages, `{"streams":[..],"dropped_entries":null}`
//! (with `encodingFlags` when categorizing), built by polling the store:
//! first the newest `limit` lines since `start`, then every poll the lines
//! of a trailing window not sent yet (late arrivals inside the window are
//! still caught; a key per sent line prevents repeats).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::encode::{label_string, write_streams};
use super::lines::collect_lines;
use super::params;
use super::response::ApiError;
use crate::api::params::Params;
use crate::logql::ast::LogExpr;
use crate::logql::eval::{Direction, OutEntry};
use crate::logs::LogSource;

/// Loki refuses longer delays.
pub const MAX_DELAY_SECS: i64 = 5;
/// How far back each poll looks for lines that arrived late.
pub const LATE_WINDOW_NS: i64 = 10_000_000_000;
/// Most lines one live message carries.
pub const MAX_LINES_PER_MESSAGE: usize = 5000;

/// A tail request's parameters.
#[derive(Clone, Debug)]
pub struct TailRequest {
    pub expr: LogExpr,
    pub delay_ns: i64,
    pub limit: usize,
    pub start_ns: i64,
    pub categorize: bool,
}

/// Parses `query`, `delay_for`, `limit` and `start`.
pub fn parse_request(p: &Params, now_ns: i64, categorize: bool) -> Result<TailRequest, ApiError> {
    let q = p.get("query").unwrap_or("");
    let expr = super::deps::parse_log_selector(q).map_err(|e| ApiError::bad(e.to_string()))?;
    let delay = params::int_param(p, "delay_for", 0)?;
    if delay > MAX_DELAY_SECS {
        return Err(ApiError::bad(format!(
            "delay_for can't be greater than {MAX_DELAY_SECS}"
        )));
    }
    if delay < 0 {
        return Err(ApiError::bad("delay_for must be a positive value"));
    }
    let limit = params::limit(p, 0)?;
    let start_ns = match p.get("start") {
        None => now_ns - params::DEFAULT_SINCE_NS,
        Some(s) => params::parse_timestamp(s).map_err(ApiError::bad)?,
    };
    Ok(TailRequest {
        expr,
        delay_ns: delay * 1_000_000_000,
        limit,
        start_ns,
        categorize,
    })
}

/// What a tail connection remembers between polls.
#[derive(Debug, Default)]
pub struct TailState {
    /// Lines already sent: key → timestamp.
    sent: HashMap<u64, i64>,
    started: bool,
}

fn entry_key(e: &OutEntry) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    e.ts_ns.hash(&mut h);
    label_string(e.stream.iter()).hash(&mut h);
    e.line.hash(&mut h);
    h.finish()
}

/// One websocket message for these lines.
pub fn message(entries: &[OutEntry], categorize: bool) -> String {
    let mut out = String::from("{\"streams\":");
    write_streams(&mut out, entries, categorize);
    out.push_str(",\"dropped_entries\":null");
    if categorize {
        out.push_str(",\"encodingFlags\":[\"categorize-labels\"]");
    }
    out.push('}');
    out
}

/// Polls once at `now_ns`: the first call returns the newest `limit` lines
/// since `start`, later calls the unsent lines of the trailing window; all
/// oldest first. `None` when there is nothing new.
pub fn poll(
    src: &dyn LogSource,
    req: &TailRequest,
    state: &mut TailState,
    now_ns: i64,
) -> Result<Option<String>, ApiError> {
    let end = now_ns - req.delay_ns;
    let mut fresh: Vec<OutEntry> = if !state.started {
        state.started = true;
        let mut v = collect_lines(
            src,
            &req.expr,
            req.start_ns,
            end,
            req.limit,
            Direction::Backward,
        )?;
        v.reverse();
        v
    } else {
        let from = (end - LATE_WINDOW_NS).max(req.start_ns);
        state.sent.retain(|_, ts| *ts >= from);
        collect_lines(
            src,
            &req.expr,
            from,
            end,
            MAX_LINES_PER_MESSAGE + state.sent.len(),
            Direction::Forward,
        )?
    };
    let mut taken = Vec::new();
    for e in fresh.drain(..) {
        if taken.len() >= MAX_LINES_PER_MESSAGE {
            break;
        }
        let k = entry_key(&e);
        if state.sent.insert(k, e.ts_ns).is_none() {
            taken.push(e);
        }
    }
    let fresh = taken;
    if fresh.is_empty() {
        return Ok(None);
    }
    Ok(Some(message(&fresh, req.categorize)))
}
