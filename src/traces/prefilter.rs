//! Conditions a trace must meet for a TraceQL query to possibly match it,
//! drawn from the query before it runs so that the store can skip traces
//! (by the partition search index) without evaluating them. A prefilter
//! is a superset test: it may let through traces the query then rejects,
//! never the reverse.

/// Where an attribute condition looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrScope {
    Resource,
    Span,
    /// Unscoped `.name`: the resource or the span.
    Any,
}

/// A typed attribute value as indexed.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexedValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A boolean tree of index conditions over one trace.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Prefilter {
    /// Every trace may match.
    #[default]
    All,
    /// Some span (or its resource) has the attribute with this value.
    Attr {
        scope: AttrScope,
        key: String,
        value: IndexedValue,
    },
    /// Some span has this name.
    SpanName(String),
    /// Some span's resource has this `service.name`.
    Service(String),
    /// Some span has this status code (0 unset, 1 ok, 2 error).
    Status(i32),
    /// Some span has this kind (OTLP numbering).
    Kind(i32),
    /// Some span lasts at least this long (ns).
    MinSpanDuration(u64),
    /// The trace (first start to last end) lasts at least this long (ns).
    MinTraceDuration(u64),
    /// The trace lasts at most this long (ns).
    MaxTraceDuration(u64),
    And(Vec<Prefilter>),
    Or(Vec<Prefilter>),
}

/// The prefilter of a parsed query.
pub fn from_query(q: &crate::traceql::ast::Query) -> Prefilter {
    let _ = q;
    Prefilter::All
}
