//! Reading one span's fields: intrinsics (`name`, `duration`, `rootName`,
//! `event:name`, ...) and attributes by scope (`span.`, `resource.`,
//! unscoped `.` = span then resource, `event.`, `link.`,
//! `instrumentation.`, `parent.`), borrowing from the trace.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

use super::value::V;
use crate::traceql::ast::{Attribute, Intrinsic, Scope};
use crate::traceql::data::TraceData;
use crate::traces::model::trace_id_hex;

/// The span being evaluated, and the event and link the condition is
/// looking at (when it reads event or link fields).
#[derive(Clone, Copy)]
pub(crate) struct SpanCtx<'t> {
    pub trace: &'t TraceData<'t>,
    pub idx: usize,
    pub event: Option<&'t Event>,
    pub link: Option<&'t Link>,
}

impl<'t> SpanCtx<'t> {
    pub(crate) fn new(trace: &'t TraceData<'t>, idx: usize) -> Self {
        SpanCtx {
            trace,
            idx,
            event: None,
            link: None,
        }
    }
}

/// The value of an OTLP attribute (`nil` for arrays, maps and bytes).
fn any<'t>(kv: &'t KeyValue) -> V<'t> {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => V::Str(Cow::Borrowed(s)),
        Some(any_value::Value::IntValue(i)) => V::Int(*i),
        Some(any_value::Value::DoubleValue(f)) => V::Float(*f),
        Some(any_value::Value::BoolValue(b)) => V::Bool(*b),
        Some(any_value::Value::ArrayValue(a)) => V::Arr(&a.values),
        _ => V::Nil,
    }
}

fn lookup<'t>(attrs: &'t [KeyValue], name: &str) -> V<'t> {
    attrs.iter().find(|kv| kv.key == name).map_or(V::Nil, any)
}

/// `service.name` of the span's resource.
pub(crate) fn service_name<'t>(trace: &'t TraceData<'t>, idx: usize) -> V<'t> {
    trace.spans[idx]
        .resource
        .map_or(V::Nil, |r| lookup(&r.attributes, "service.name"))
}

/// An attribute of the span (or of its parent with `parent.`).
pub(crate) fn attribute<'t>(ctx: &SpanCtx<'t>, a: &Attribute) -> V<'t> {
    let idx = if a.parent {
        match ctx.trace.spans[ctx.idx].parent {
            Some(p) => p,
            None => return V::Nil,
        }
    } else {
        ctx.idx
    };
    let view = &ctx.trace.spans[idx];
    let resource = || {
        view.resource
            .map_or(V::Nil, |r| lookup(&r.attributes, &a.name))
    };
    match a.scope {
        Scope::Span => lookup(&view.span.attributes, &a.name),
        Scope::Resource => resource(),
        Scope::None => match lookup(&view.span.attributes, &a.name) {
            V::Nil => resource(),
            v => v,
        },
        Scope::Instrumentation => view
            .scope
            .map_or(V::Nil, |s| lookup(&s.attributes, &a.name)),
        Scope::Event => {
            if a.parent {
                first_event_attr(view.span.events.as_slice(), &a.name)
            } else {
                ctx.event.map_or(V::Nil, |e| lookup(&e.attributes, &a.name))
            }
        }
        Scope::Link => {
            if a.parent {
                view.span
                    .links
                    .iter()
                    .map(|l| lookup(&l.attributes, &a.name))
                    .find(|v| *v != V::Nil)
                    .unwrap_or(V::Nil)
            } else {
                ctx.link.map_or(V::Nil, |l| lookup(&l.attributes, &a.name))
            }
        }
    }
}

fn first_event_attr<'t>(events: &'t [Event], name: &str) -> V<'t> {
    events
        .iter()
        .map(|e| lookup(&e.attributes, name))
        .find(|v| *v != V::Nil)
        .unwrap_or(V::Nil)
}

fn hex<'t>(id: &[u8]) -> V<'t> {
    if id.is_empty() {
        V::Nil
    } else {
        V::Str(Cow::Owned(trace_id_hex(id)))
    }
}

fn dur(start: u64, end: u64) -> V<'static> {
    V::Dur(end.saturating_sub(start).min(i64::MAX as u64) as i64)
}

/// An intrinsic of the span.
pub(crate) fn intrinsic<'t>(ctx: &SpanCtx<'t>, i: Intrinsic) -> V<'t> {
    let trace = ctx.trace;
    let view = &trace.spans[ctx.idx];
    let span = view.span;
    match i {
        Intrinsic::Duration => dur(span.start_time_unix_nano, span.end_time_unix_nano),
        Intrinsic::Name => V::Str(Cow::Borrowed(&span.name)),
        Intrinsic::Status => V::Status(span.status.as_ref().map_or(0, |s| s.code)),
        Intrinsic::StatusMessage => V::Str(Cow::Borrowed(
            span.status.as_ref().map_or("", |s| s.message.as_str()),
        )),
        Intrinsic::Kind => V::Kind(span.kind),
        Intrinsic::ChildCount => V::Int(trace.children.get(ctx.idx).map_or(0, |c| c.len()) as i64),
        Intrinsic::Parent | Intrinsic::ParentId => hex(&span.parent_span_id),
        Intrinsic::RootName => trace
            .root_span()
            .map_or(V::Nil, |r| V::Str(Cow::Borrowed(&r.span.name))),
        Intrinsic::RootServiceName => trace.root.map_or(V::Nil, |r| service_name(trace, r)),
        Intrinsic::TraceDuration => dur(trace.start_ns, trace.end_ns),
        Intrinsic::NestedSetLeft => nested(trace, ctx.idx, |n| n.0),
        Intrinsic::NestedSetRight => nested(trace, ctx.idx, |n| n.1),
        Intrinsic::NestedSetParent => nested(trace, ctx.idx, |n| n.2),
        Intrinsic::TraceId => hex(&span.trace_id),
        Intrinsic::SpanId => hex(&span.span_id),
        Intrinsic::EventName => match ctx.event {
            Some(e) => V::Str(Cow::Borrowed(&e.name)),
            None => V::Nil,
        },
        Intrinsic::EventTimeSinceStart => match ctx.event {
            Some(e) => dur(span.start_time_unix_nano, e.time_unix_nano),
            None => V::Nil,
        },
        Intrinsic::LinkTraceId => ctx.link.map_or(V::Nil, |l| hex(&l.trace_id)),
        Intrinsic::LinkSpanId => ctx.link.map_or(V::Nil, |l| hex(&l.span_id)),
        Intrinsic::InstrumentationName => view
            .scope
            .map_or(V::Nil, |s| V::Str(Cow::Borrowed(&s.name))),
        Intrinsic::InstrumentationVersion => view
            .scope
            .map_or(V::Nil, |s| V::Str(Cow::Borrowed(&s.version))),
    }
}

fn nested(trace: &TraceData<'_>, idx: usize, f: fn(&(i64, i64, i64)) -> i64) -> V<'static> {
    trace.nested.get(idx).map_or(V::Nil, |n| V::Int(f(n)))
}
