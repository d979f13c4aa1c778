//! Log queries: select the streams and lines of `[start, end)` with the
//! leading line filters pushed down to the store, run the rest of the
//! pipeline per stream, and keep the best `limit` lines by direction
//! (backward = newest first) in a bounded heap, so memory holds at most
//! `limit` result lines plus the store's current batch. Each stream is read
//! in result order and dropped as soon as its lines can no longer make the
//! cut. Equal timestamps order by labels, then by arrival.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use super::{Ctx, Direction, OutEntry, QueryError};
use crate::logql::ast::LogExpr;
use crate::logql::pipeline::Pipeline;
use crate::logs::SelectRequest;
use crate::model::Labels;

/// A result line with its ordering key.
struct Cand {
    ts: i64,
    all: Labels,
    seq: u64,
    forward: bool,
    entry: OutEntry,
}

/// Forward order of `(ts, labels, seq)`; backward is its exact reverse.
fn order(forward: bool, a: (i64, &Labels, u64), b: (i64, &Labels, u64)) -> Ordering {
    let o = a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)).then(a.2.cmp(&b.2));
    if forward {
        o
    } else {
        o.reverse()
    }
}

impl Cand {
    fn key(&self) -> (i64, &Labels, u64) {
        (self.ts, &self.all, self.seq)
    }
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
/// Better lines are smaller: the heap's top is the worst line kept.
impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        order(self.forward, self.key(), other.key())
    }
}

pub(crate) fn eval_log_query(
    ctx: &mut Ctx<'_>,
    log: &LogExpr,
) -> Result<Vec<OutEntry>, QueryError> {
    let p = ctx.params;
    if p.instant {
        return Err(QueryError::Bad(
            "log queries are not supported as an instant query type, please change your query to a range query type".into(),
        ));
    }
    let max = ctx.opts.max_entries;
    if max != 0 && p.limit > max {
        return Err(QueryError::Limit(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({} > {max})",
            p.limit
        )));
    }
    if p.limit == 0 || p.end_ns <= p.start_ns {
        return Ok(Vec::new());
    }
    let (pushdown, pipeline) =
        Pipeline::with_pushdown(&log.stages).map_err(|e| QueryError::Bad(e.to_string()))?;
    let req = SelectRequest {
        matchers: &log.matchers,
        start_ns: p.start_ns,
        end_ns: p.end_ns,
        filter: pushdown.as_deref(),
    };
    let forward = p.direction == Direction::Forward;
    // With an interval, lines skipped by it do not count towards the limit,
    // so every line is kept until the merge.
    let cap = if p.interval_ns > 0 {
        usize::MAX
    } else {
        p.limit
    };
    let mut heap: BinaryHeap<Cand> = BinaryHeap::new();
    let mut meter = ctx.meter();
    let mut failure = None;
    let mut next_seq: u64 = 0;
    ctx.src.select(&req, &mut |stream, entries| {
        let base = next_seq;
        next_seq += entries.len() as u64;
        let mut sp = pipeline.for_stream(stream);
        let n = entries.len();
        for j in 0..n {
            let i = if forward { j } else { n - 1 - j };
            let e = &entries[i];
            if let Err(err) = meter.line(e.line) {
                failure = Some(err);
                return ControlFlow::Break(());
            }
            let seq = base + i as u64;
            if heap.len() >= cap {
                if let Some(worst) = heap.peek() {
                    let later = if forward {
                        e.ts_ns > worst.ts
                    } else {
                        e.ts_ns < worst.ts
                    };
                    if later {
                        // The rest of this stream is worse still.
                        break;
                    }
                }
            }
            let Some(res) = sp.process(e.ts_ns, e.line, e.metadata) else {
                continue;
            };
            let all = res.labels.all();
            if heap.len() >= cap {
                match heap.peek() {
                    Some(worst)
                        if order(forward, (e.ts_ns, all, seq), worst.key()) == Ordering::Less =>
                    {
                        heap.pop();
                    }
                    _ => continue,
                }
            }
            heap.push(Cand {
                ts: e.ts_ns,
                all: all.clone(),
                seq,
                forward,
                entry: OutEntry {
                    ts_ns: e.ts_ns,
                    line: res.line.to_string(),
                    stream: res.labels.stream().clone(),
                    metadata: res.labels.structured_metadata().to_vec(),
                    parsed: res.labels.parsed().to_vec(),
                },
            });
        }
        ControlFlow::Continue(())
    })?;
    ctx.absorb(meter);
    if let Some(err) = failure {
        return Err(err);
    }
    let sorted = heap.into_sorted_vec();
    if p.interval_ns <= 0 {
        return Ok(sorted.into_iter().map(|c| c.entry).collect());
    }
    // Loki's interval: after a line is returned, the next one must be at
    // least `interval` further in the result direction.
    let mut out = Vec::new();
    let mut last: Option<i64> = None;
    for c in sorted {
        if out.len() >= p.limit {
            break;
        }
        let take = match last {
            None => true,
            Some(l) if forward => c.ts >= l.saturating_add(p.interval_ns),
            Some(l) => c.ts <= l.saturating_sub(p.interval_ns),
        };
        if take {
            last = Some(c.ts);
            out.push(c.entry);
        }
    }
    Ok(out)
}
