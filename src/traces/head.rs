//! The in-memory head of one tenant's trace store: live traces by id,
//! each the batches received so far, with their time bounds, size and
//! arrival times; plus the regrouping of an export's spans by trace and
//! the tag name/value collection over unsealed traces.

use std::collections::{BTreeSet, HashMap};

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use prost::Message;

use super::model::{indexed_value, span_count, time_bounds, trace_id_of, TraceId};
use super::prefilter::IndexedValue;
use super::store::{TagNames, TagScope};

/// A trace still in memory.
#[derive(Clone, Debug, Default)]
pub struct LiveTrace {
    pub batches: Vec<ResourceSpans>,
    pub start_ns: u64,
    pub end_ns: u64,
    pub spans: usize,
    /// Encoded size of its batches.
    pub bytes: u64,
    /// When its last batch arrived (clock ms).
    pub last_append_ms: i64,
}

impl LiveTrace {
    pub fn overlaps(&self, start_ns: u64, end_ns: u64) -> bool {
        self.start_ns <= end_ns && self.end_ns >= start_ns
    }
}

/// Live traces by id.
#[derive(Default)]
pub struct Head {
    pub traces: HashMap<TraceId, LiveTrace>,
    pub bytes: u64,
    pub spans: u64,
}

impl Head {
    /// Adds one trace's batch.
    pub fn append(&mut self, id: TraceId, rs: ResourceSpans, now_ms: i64) -> usize {
        let (lo, hi) = time_bounds(std::slice::from_ref(&rs));
        let n = span_count(std::slice::from_ref(&rs));
        let bytes = rs.encoded_len() as u64;
        let live = self.traces.entry(id).or_default();
        if live.batches.is_empty() {
            live.start_ns = lo;
            live.end_ns = hi;
        } else {
            live.start_ns = live.start_ns.min(lo);
            live.end_ns = live.end_ns.max(hi);
        }
        live.spans += n;
        live.bytes += bytes;
        live.last_append_ms = now_ms;
        live.batches.push(rs);
        self.bytes += bytes;
        self.spans += n as u64;
        n
    }

    pub fn remove(&mut self, id: &TraceId) -> Option<LiveTrace> {
        let t = self.traces.remove(id)?;
        self.bytes -= t.bytes.min(self.bytes);
        self.spans -= (t.spans as u64).min(self.spans);
        Some(t)
    }
}

/// Regroups an export's spans by trace: one `ResourceSpans` per trace and
/// batch, keeping the resource and scopes. Spans without a 16-byte trace
/// id are dropped.
pub fn split_by_trace(batches: Vec<ResourceSpans>) -> Vec<(TraceId, ResourceSpans)> {
    let mut out: Vec<(TraceId, ResourceSpans)> = Vec::new();
    for rs in batches {
        let mut by_trace: HashMap<TraceId, usize> = HashMap::new();
        let first = out.len();
        for ss in rs.scope_spans {
            for span in ss.spans {
                let Some(id) = trace_id_of(&span.trace_id) else {
                    continue;
                };
                let slot = *by_trace.entry(id).or_insert_with(|| {
                    out.push((
                        id,
                        ResourceSpans {
                            resource: rs.resource.clone(),
                            scope_spans: Vec::new(),
                            schema_url: rs.schema_url.clone(),
                        },
                    ));
                    out.len() - 1
                });
                let target = &mut out[slot].1;
                let same_scope = target
                    .scope_spans
                    .last()
                    .is_some_and(|last| last.scope == ss.scope && last.schema_url == ss.schema_url);
                if !same_scope {
                    target.scope_spans.push(ScopeSpans {
                        scope: ss.scope.clone(),
                        spans: Vec::new(),
                        schema_url: ss.schema_url.clone(),
                    });
                }
                if let Some(last) = target.scope_spans.last_mut() {
                    last.spans.push(span);
                }
            }
        }
        debug_assert!(out[first..].iter().all(|(_, r)| !r.scope_spans.is_empty()));
    }
    out
}

pub fn collect_names(out: &mut TagNames, rs: &ResourceSpans) {
    let mut add = |scope: TagScope, attrs: &[KeyValue]| {
        let set = out.entry(scope).or_default();
        for kv in attrs {
            set.insert(kv.key.clone());
        }
    };
    if let Some(r) = &rs.resource {
        add(TagScope::Resource, &r.attributes);
    }
    for ss in &rs.scope_spans {
        if let Some(sc) = &ss.scope {
            add(TagScope::Instrumentation, &sc.attributes);
        }
        for s in &ss.spans {
            add(TagScope::Span, &s.attributes);
            for e in &s.events {
                add(TagScope::Event, &e.attributes);
            }
            for l in &s.links {
                add(TagScope::Link, &l.attributes);
            }
        }
    }
}

/// Orders indexed values for a set (floats by their bits' total order).
#[derive(PartialEq)]
pub struct ValueKey(pub IndexedValue);

impl Eq for ValueKey {}

impl PartialOrd for ValueKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ValueKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use IndexedValue::*;
        fn rank(v: &IndexedValue) -> u8 {
            match v {
                Str(_) => 0,
                Int(_) => 1,
                Float(_) => 2,
                Bool(_) => 3,
            }
        }
        match (&self.0, &other.0) {
            (Str(a), Str(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Bool(a), Bool(b)) => a.cmp(b),
            (a, b) => rank(a).cmp(&rank(b)),
        }
    }
}

pub fn collect_values(
    out: &mut BTreeSet<ValueKey>,
    rs: &ResourceSpans,
    scope: Option<TagScope>,
    name: &str,
) {
    let mut add = |attrs: &[KeyValue]| {
        for kv in attrs.iter().filter(|kv| kv.key == name) {
            if let Some(v) = indexed_value(kv) {
                out.insert(ValueKey(v));
            }
        }
    };
    let wants = |s: TagScope| scope.is_none_or(|x| x == s);
    if wants(TagScope::Resource) {
        if let Some(r) = &rs.resource {
            add(&r.attributes);
        }
    }
    for ss in &rs.scope_spans {
        if scope == Some(TagScope::Instrumentation) {
            if let Some(sc) = &ss.scope {
                add(&sc.attributes);
            }
        }
        for s in &ss.spans {
            if wants(TagScope::Span) {
                add(&s.attributes);
            }
            if scope == Some(TagScope::Event) {
                for e in &s.events {
                    add(&e.attributes);
                }
            }
            if scope == Some(TagScope::Link) {
                for l in &s.links {
                    add(&l.attributes);
                }
            }
        }
    }
}
