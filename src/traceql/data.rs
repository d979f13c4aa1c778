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
    /// parent id; else the earliest span whose parent is missing.
    pub root: Option<usize>,
    /// Earliest start and latest end of any span (ns).
    pub start_ns: u64,
    pub end_ns: u64,
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
        let root = earliest(&|v| v.span.parent_span_id.is_empty())
            .or_else(|| earliest(&|v| v.parent.is_none()));
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
        TraceData {
            spans,
            root,
            start_ns,
            end_ns,
        }
    }

    pub fn root_span(&self) -> Option<&SpanView<'a>> {
        self.root.map(|i| &self.spans[i])
    }
}
