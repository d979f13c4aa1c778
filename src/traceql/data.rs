//! The engine's view of one trace: its spans flattened out of the OTLP
//! batches, each with its resource and instrumentation scope and its
//! parent's position, borrowed from the stored data (no copies).

use std::collections::HashMap;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span};

/// One span and where it sits.
#[derive(Clone, Copy, Debug)]
pub struct SpanView<'a> {
    pub span: &'a Span,
    pub resource: Option<&'a Resource>,
    pub scope: Option<&'a InstrumentationScope>,
    /// Position of the parent span in [`TraceData::spans`]; `None` for a
    /// root or a span whose parent is not stored.
    pub parent: Option<usize>,
}

/// A whole trace, ready to evaluate.
#[derive(Clone, Debug, Default)]
pub struct TraceData<'a> {
    /// Spans in stored order (batches, scopes, spans); duplicates of a span
    /// id are kept once.
    pub spans: Vec<SpanView<'a>>,
    /// Position of the root span: the earliest-starting span without a
    /// parent id; `None` while the root has not arrived (Tempo then shows
    /// "<root span not yet received>" and `rootName` matches nothing).
    pub root: Option<usize>,
    /// Earliest start and latest end of any span (ns).
    pub start_ns: u64,
    pub end_ns: u64,
    /// Per span (parallel to `spans`): positions of its children, in order.
    pub children: Vec<Vec<usize>>,
    /// Per span: Tempo's nested-set numbering `(left, right, parent's
    /// left)`, assigned depth first from each root in stored order starting
    /// at 1; a root's parent number is -1.
    pub nested: Vec<(i64, i64, i64)>,
}

impl<'a> TraceData<'a> {
    pub fn new(batches: &'a [ResourceSpans]) -> Self {
        let mut spans: Vec<SpanView<'a>> = Vec::new();
        let mut by_id: HashMap<&'a [u8], usize> = HashMap::new();
        for rs in batches {
            for ss in &rs.scope_spans {
                for span in &ss.spans {
                    if by_id.contains_key(span.span_id.as_slice()) {
                        continue;
                    }
                    by_id.insert(span.span_id.as_slice(), spans.len());
                    spans.push(SpanView {
                        span,
                        resource: rs.resource.as_ref(),
                        scope: ss.scope.as_ref(),
                        parent: None,
                    });
                }
            }
        }
        for v in &mut spans {
            if !v.span.parent_span_id.is_empty() {
                v.parent = by_id.get(v.span.parent_span_id.as_slice()).copied();
            }
        }
        let earliest = |pred: &dyn Fn(&SpanView<'a>) -> bool| {
            spans
                .iter()
                .enumerate()
                .filter(|(_, v)| pred(v))
                .min_by_key(|(_, v)| v.span.start_time_unix_nano)
                .map(|(i, _)| i)
        };
        let root = earliest(&|v| v.span.parent_span_id.is_empty());
        let start_ns = spans
            .iter()
            .map(|v| v.span.start_time_unix_nano)
            .min()
            .unwrap_or(0);
        let end_ns = spans
            .iter()
            .map(|v| v.span.end_time_unix_nano)
            .max()
            .unwrap_or(0);
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); spans.len()];
        for (i, v) in spans.iter().enumerate() {
            if let Some(p) = v.parent {
                children[p].push(i);
            }
        }
        let nested = nested_set(&spans, &children, root);
        TraceData {
            spans,
            root,
            start_ns,
            end_ns,
            children,
            nested,
        }
    }

    /// Whether `a` is a proper ancestor of `b` (follows parent links; safe
    /// on cyclic parent data).
    pub fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let mut cur = self.spans.get(b).and_then(|v| v.parent);
        let mut steps = 0;
        while let Some(p) = cur {
            if p == a {
                return true;
            }
            steps += 1;
            if steps > self.spans.len() {
                return false;
            }
            cur = self.spans[p].parent;
        }
        false
    }

    pub fn root_span(&self) -> Option<&SpanView<'a>> {
        self.root.map(|i| &self.spans[i])
    }
}

/// Depth-first nested-set numbering: the trace root first, then the other
/// parentless spans, then anything left (spans on a parent cycle).
fn nested_set(
    spans: &[SpanView<'_>],
    children: &[Vec<usize>],
    root: Option<usize>,
) -> Vec<(i64, i64, i64)> {
    let mut out = vec![(0i64, 0i64, -1i64); spans.len()];
    let mut seen = vec![false; spans.len()];
    let mut counter: i64 = 1;
    let starts = root
        .into_iter()
        .chain((0..spans.len()).filter(|&i| spans[i].parent.is_none()))
        .chain(0..spans.len());
    // Stack entries: (span, parent's left, next child index).
    let mut stack: Vec<(usize, i64, usize)> = Vec::new();
    for start in starts {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        out[start] = (counter, 0, -1);
        counter += 1;
        stack.push((start, -1, 0));
        while let Some(top) = stack.last_mut() {
            let (span, _, next) = *top;
            if let Some(&child) = children[span].get(next) {
                top.2 += 1;
                if seen[child] {
                    continue;
                }
                seen[child] = true;
                let left = out[span].0;
                out[child] = (counter, 0, left);
                counter += 1;
                stack.push((child, left, 0));
            } else {
                out[span].1 = counter;
                counter += 1;
                stack.pop();
            }
        }
    }
    out
}
