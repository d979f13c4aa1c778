//! `tail`: the websocket's messages, `{"streams":[..],"dropped_entries":null}`
//! (with `encodingFlags` when categorizing), built by polling the store:
//! first the newest `limit` lines since `start`, then every poll the lines
//! of a trailing window not sent yet (a key per sent line prevents
//! repeats). Lines pushed with a timestamp older than the window (a
//! collector that was buffering) come from the store's push feed instead:
//! the connection collects the pushes it sees between polls, and each poll
//! runs those older than the window through the same selection and
//! pipeline, so they are tailed by arrival as Loki's ingesters do.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use super::encode::{label_string, write_streams};
use super::lines::collect_lines;
use super::params;
use super::response::ApiError;
use crate::api::params::Params;
use crate::logql::ast::LogExpr;
use crate::logql::eval::{Direction, OutEntry};
use crate::logs::memory::MemorySource;
use crate::logs::{LogSource, TailBatch};

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
    poll_with_pushes(src, req, state, now_ns, &[])
}

/// [`poll`], also sending the lines of `pushes` (this tenant's pushes seen
/// since the last poll) whose timestamps fall before the trailing window.
pub fn poll_with_pushes(
    src: &dyn LogSource,
    req: &TailRequest,
    state: &mut TailState,
    now_ns: i64,
    pushes: &[std::sync::Arc<TailBatch>],
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
        // Keys outlive the window by one more window: a push can be seen on
        // the feed a poll after the store already served it.
        state
            .sent
            .retain(|_, ts| *ts >= from.saturating_sub(LATE_WINDOW_NS));
        let mut v = late_lines(req, pushes, from)?;
        v.extend(collect_lines(
            src,
            &req.expr,
            from,
            end,
            MAX_LINES_PER_MESSAGE + state.sent.len(),
            Direction::Forward,
        )?);
        v
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

/// The lines of `pushes` with `start <= ts < before` that the tail's query
/// selects, oldest first.
fn late_lines(
    req: &TailRequest,
    pushes: &[std::sync::Arc<TailBatch>],
    before: i64,
) -> Result<Vec<OutEntry>, ApiError> {
    let mem = MemorySource::new();
    for b in pushes {
        for (labels, entries) in &b.streams {
            for e in entries
                .iter()
                .filter(|e| e.ts_ns >= req.start_ns && e.ts_ns < before)
            {
                mem.push(labels, e.ts_ns, e.line.to_string(), e.metadata.to_vec());
            }
        }
    }
    if mem.is_empty() {
        return Ok(Vec::new());
    }
    collect_lines(
        &mem,
        &req.expr,
        req.start_ns,
        before,
        MAX_LINES_PER_MESSAGE,
        Direction::Forward,
    )
}

#[cfg(test)]
mod late_tests {
    use super::*;
    use crate::logs::StoredEntry;
    use crate::model::Labels;
    use std::sync::Arc;

    const S: i64 = 1_000_000_000;

    fn batch(tenant: &str, app: &str, ts_ns: i64, line: &str) -> Arc<TailBatch> {
        Arc::new(TailBatch {
            tenant: tenant.into(),
            streams: vec![(
                Labels::from_pairs([("app", app)]),
                vec![StoredEntry {
                    ts_ns,
                    line: line.into(),
                    metadata: Box::new([]),
                }],
            )],
        })
    }

    #[test]
    fn lines_pushed_older_than_the_window_are_tailed_once() {
        let now = 1_700_000_000 * S;
        let store = MemorySource::new();
        store.push(
            Labels::from_pairs([("app", "wp")]),
            now - 2 * S,
            "recent",
            vec![],
        );
        let req = TailRequest {
            expr: crate::logql::parse_log_selector(r#"{app="wp"} |= "line""#).unwrap(),
            delay_ns: 0,
            limit: 100,
            start_ns: now - 3600 * S,
            categorize: false,
        };
        let mut state = TailState::default();
        // The first poll is the backfill: the recent line does not match `|= "line"`.
        assert_eq!(poll(&store, &req, &mut state, now).unwrap(), None);
        // A buffered collector delivers a line stamped a minute ago, plus one
        // for another app and one that the filter drops.
        let pushes = vec![
            batch("fake", "wp", now - 60 * S, "late line"),
            batch("fake", "other", now - 60 * S, "late line of another app"),
            batch("fake", "wp", now - 59 * S, "late, filtered out"),
        ];
        let msg = poll_with_pushes(&store, &req, &mut state, now + S, &pushes)
            .unwrap()
            .unwrap();
        assert_eq!(
            msg,
            format!(
                "{{\"streams\":[{{\"stream\":{{\"app\":\"wp\"}},\"values\":[[\"{}\",\"late line\"]]}}],\"dropped_entries\":null}}",
                now - 60 * S
            )
        );
        // A line inside the window comes from the store only, even when the
        // feed carries it too: sent once.
        store.push(
            Labels::from_pairs([("app", "wp")]),
            now + S,
            "window line",
            vec![],
        );
        let feed = vec![batch("fake", "wp", now + S, "window line")];
        let msg = poll_with_pushes(&store, &req, &mut state, now + 2 * S, &feed)
            .unwrap()
            .unwrap();
        assert_eq!(msg.matches("window line").count(), 1, "{msg}");
        assert_eq!(
            poll_with_pushes(&store, &req, &mut state, now + 3 * S, &feed).unwrap(),
            None
        );
    }
}
