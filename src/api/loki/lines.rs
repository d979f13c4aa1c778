//! Reading log lines for the endpoints that need raw lines rather than a
//! query result (`detected_fields`, `tail`): a stream selector with its
//! pipeline run straight over the store, keeping the newest (or oldest)
//! `limit` lines with a bounded heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use super::response::ApiError;
use crate::logql::ast::LogExpr;
use crate::logql::eval::{Direction, OutEntry};
use crate::logql::pipeline::Pipeline;
use crate::logs::{LogSource, SelectRequest};

/// An entry ordered by timestamp, then by arrival (`seq`).
struct Ranked {
    ts: i64,
    seq: u64,
    entry: OutEntry,
}

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.seq) == (o.ts, o.seq)
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(o.ts, o.seq))
    }
}

/// Lines of `expr` with `start_ns <= ts < end_ns` after its pipeline, at
/// most `limit`: the newest for `Backward` (returned newest first), the
/// oldest for `Forward` (returned oldest first).
pub fn collect_lines(
    src: &dyn LogSource,
    expr: &LogExpr,
    start_ns: i64,
    end_ns: i64,
    limit: usize,
    direction: Direction,
) -> Result<Vec<OutEntry>, ApiError> {
    if limit == 0 || end_ns <= start_ns {
        return Ok(Vec::new());
    }
    let (pushdown, pipeline) =
        Pipeline::with_pushdown(&expr.stages).map_err(|e| ApiError::bad(e.0))?;
    let req = SelectRequest {
        matchers: &expr.matchers,
        start_ns,
        end_ns,
        filter: pushdown.as_deref(),
    };
    // Backward keeps the largest keys (a min-heap of the kept ones); forward
    // the smallest (a max-heap).
    let mut newest: BinaryHeap<Reverse<Ranked>> = BinaryHeap::new();
    let mut oldest: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut seq = 0u64;
    src.select(&req, &mut |labels, entries| {
        let mut sp = pipeline.for_stream(labels);
        for e in entries {
            let Some(r) = sp.process(e.ts_ns, e.line, e.metadata) else {
                continue;
            };
            seq += 1;
            let item = Ranked {
                ts: e.ts_ns,
                seq,
                entry: OutEntry {
                    ts_ns: e.ts_ns,
                    line: r.line.to_string(),
                    stream: r.labels.stream().clone(),
                    metadata: r.labels.structured_metadata().to_vec(),
                    parsed: r.labels.parsed().to_vec(),
                },
            };
            match direction {
                Direction::Backward => {
                    newest.push(Reverse(item));
                    if newest.len() > limit {
                        newest.pop();
                    }
                }
                Direction::Forward => {
                    oldest.push(item);
                    if oldest.len() > limit {
                        oldest.pop();
                    }
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    Ok(match direction {
        Direction::Backward => {
            let mut v: Vec<Ranked> = newest.into_iter().map(|r| r.0).collect();
            v.sort_by(|a, b| b.cmp(a));
            v.into_iter().map(|r| r.entry).collect()
        }
        Direction::Forward => {
            let mut v: Vec<Ranked> = oldest.into_vec();
            v.sort();
            v.into_iter().map(|r| r.entry).collect()
        }
    })
}
