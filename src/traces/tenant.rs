//! One tenant's traces: the in-memory head of live traces. (Partitions
//! and the WAL are added behind this same interface.)

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};
use parking_lot::RwLock;

use crate::config::Config;
use crate::storage::clock::Clock;

use super::model::{time_bounds, trace_id_of, TraceId};
use super::prefilter::IndexedValue;
use super::store::{PushError, ScanRequest, ScanStats, TagNames, TagScope};

/// Settings of one tenant's trace store.
#[derive(Clone, Debug)]
pub struct TraceOptions {
    pub retention_ns: u64,
    pub idle_timeout_ms: i64,
    pub max_head_bytes: u64,
    pub max_head_age_ms: i64,
    pub index: bool,
}

impl TraceOptions {
    pub fn from_config(cfg: &Config, tenant: &str) -> Self {
        let t = &cfg.traces;
        TraceOptions {
            retention_ns: cfg
                .traces_retention(tenant)
                .as_nanos()
                .min(u64::MAX as u128) as u64,
            idle_timeout_ms: t.trace_idle_timeout.as_millis_i64(),
            max_head_bytes: t.max_head_bytes.0,
            max_head_age_ms: t.max_head_age.as_millis_i64(),
            index: t.index,
        }
    }
}

/// A trace still receiving spans.
#[derive(Default)]
struct LiveTrace {
    batches: Vec<ResourceSpans>,
    start_ns: u64,
    end_ns: u64,
}

pub struct TenantTraces {
    pub tenant: String,
    #[allow(dead_code)]
    dir: PathBuf,
    #[allow(dead_code)]
    opts: TraceOptions,
    #[allow(dead_code)]
    clock: Arc<dyn Clock>,
    head: RwLock<HashMap<TraceId, LiveTrace>>,
}

impl TenantTraces {
    pub fn open(
        tenant: &str,
        dir: &Path,
        opts: TraceOptions,
        clock: Arc<dyn Clock>,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(TenantTraces {
            tenant: tenant.to_string(),
            dir: dir.to_path_buf(),
            opts,
            clock,
            head: RwLock::new(HashMap::new()),
        })
    }

    pub fn push(&self, batches: Vec<ResourceSpans>) -> Result<usize, PushError> {
        let per_trace = split_by_trace(batches);
        let mut n = 0;
        let mut head = self.head.write();
        for (id, rs) in per_trace {
            let live = head.entry(id).or_default();
            let (lo, hi) = time_bounds(std::slice::from_ref(&rs));
            if live.batches.is_empty() {
                live.start_ns = lo;
                live.end_ns = hi;
            } else {
                live.start_ns = live.start_ns.min(lo);
                live.end_ns = live.end_ns.max(hi);
            }
            n += super::model::span_count(std::slice::from_ref(&rs));
            live.batches.push(rs);
        }
        Ok(n)
    }

    pub fn trace_by_id(
        &self,
        id: &TraceId,
        _window: Option<(u64, u64)>,
    ) -> io::Result<Option<Vec<ResourceSpans>>> {
        Ok(self.head.read().get(id).map(|t| t.batches.clone()))
    }

    pub fn scan(
        &self,
        req: &ScanRequest,
        f: &mut dyn FnMut(&TraceId, &[ResourceSpans]) -> ControlFlow<()>,
    ) -> io::Result<ScanStats> {
        let mut stats = ScanStats {
            total_blocks: 1,
            ..Default::default()
        };
        let head = self.head.read();
        for (id, t) in head.iter() {
            if t.end_ns < req.start_ns || t.start_ns > req.end_ns {
                continue;
            }
            stats.inspected_traces += 1;
            stats.inspected_spans += super::model::span_count(&t.batches) as u64;
            if f(id, &t.batches).is_break() {
                break;
            }
        }
        Ok(stats)
    }

    pub fn tag_names(&self, start_ns: u64, end_ns: u64, limit: usize) -> io::Result<TagNames> {
        let mut out = TagNames::new();
        let head = self.head.read();
        for t in head.values() {
            if t.end_ns < start_ns || t.start_ns > end_ns {
                continue;
            }
            for rs in &t.batches {
                collect_names(&mut out, rs);
            }
        }
        if limit > 0 {
            for names in out.values_mut() {
                while names.len() > limit {
                    names.pop_last();
                }
            }
        }
        Ok(out)
    }

    pub fn tag_values(
        &self,
        scope: Option<TagScope>,
        name: &str,
        start_ns: u64,
        end_ns: u64,
        limit: usize,
    ) -> io::Result<Vec<IndexedValue>> {
        let mut seen = BTreeSet::new();
        let head = self.head.read();
        for t in head.values() {
            if t.end_ns < start_ns || t.start_ns > end_ns {
                continue;
            }
            for rs in &t.batches {
                collect_values(&mut seen, rs, scope, name);
            }
        }
        let mut out: Vec<IndexedValue> = seen.into_iter().map(|k: ValueKey| k.0).collect();
        if limit > 0 {
            out.truncate(limit);
        }
        Ok(out)
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

fn collect_names(out: &mut TagNames, rs: &ResourceSpans) {
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
struct ValueKey(IndexedValue);

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

/// The indexable value of an attribute (arrays and maps are not indexed).
pub fn indexed_value(kv: &KeyValue) -> Option<IndexedValue> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(IndexedValue::Str(s.clone())),
        any_value::Value::IntValue(i) => Some(IndexedValue::Int(*i)),
        any_value::Value::DoubleValue(f) => Some(IndexedValue::Float(*f)),
        any_value::Value::BoolValue(b) => Some(IndexedValue::Bool(*b)),
        _ => None,
    }
}

fn collect_values(
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
