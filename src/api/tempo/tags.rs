//! Tag autocomplete: `/api/search/tags` (`tagNames`), `/api/v2/search/tags`
//! (names by scope, with TraceQL's intrinsics), `/api/search/tag/<tag>/values`
//! (values as text) and `/api/v2/search/tag/<tag>/values` (typed values of
//! a TraceQL identifier, optionally only on spans a TraceQL filter `q`
//! matches).

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use serde_json::{json, Value};

use super::params::{self, Window};
use super::search::{kind_name, status_name, Prepared};
use super::{run_query, tenant_of, TempoError};
use crate::api::params::Params;
use crate::model::TenantId;
use crate::server::state::SharedState;
use crate::traceql::ast::{Expr, Field, Intrinsic, Scope, Stage};
use crate::traceql::data::{SpanView, TraceData};
use crate::traces::model::indexed_value;
use crate::traces::prefilter::{self, IndexedValue};
use crate::traces::{ScanRequest, TagScope, TraceStore};

/// TraceQL's intrinsics, as `/api/v2/search/tags` lists them (sorted).
pub const INTRINSICS: &[&str] = &[
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "link:spanID",
    "link:traceID",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:id",
    "span:kind",
    "span:name",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:id",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
];

/// What `scope` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScopeParam {
    All,
    Intrinsic,
    One(TagScope),
}

fn scope_param(p: &Params) -> Result<ScopeParam, TempoError> {
    Ok(match p.get("scope") {
        None | Some("all") => ScopeParam::All,
        Some("intrinsic") => ScopeParam::Intrinsic,
        Some(s) => match TagScope::ALL.iter().find(|x| x.as_str() == s) {
            Some(x) => ScopeParam::One(*x),
            None => {
                return Err(TempoError::bad_request(format!(
                    "invalid scope: {s:?}; expected one of resource, span, event, link, instrumentation, intrinsic, all"
                )))
            }
        },
    })
}

/// The common request parts of the tag endpoints.
struct TagRequest {
    tenant: TenantId,
    params: Params,
    window: Window,
    limit: usize,
}

fn tag_request(headers: &HeaderMap, q: Option<&str>) -> Result<TagRequest, TempoError> {
    let params = Params::from_parts(q, None);
    Ok(TagRequest {
        tenant: tenant_of(headers)?,
        window: params::window(&params)?.unwrap_or(Window::ALL),
        limit: params::count(&params, "limit", 0)?,
        params,
    })
}

fn respond(r: Result<Value, TempoError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/search/tags`: `{"tagNames":[...]}`; without `scope`, the
/// resource and span attribute names.
pub async fn names_v1(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let req = tag_request(&headers, q.as_deref())?;
        let scope = scope_param(&req.params)?;
        let store = st.traces.clone();
        run_query(&st, move |_| {
            let names = store.tag_names(&req.tenant, req.window.start_ns, req.window.end_ns, 0)?;
            let mut out = BTreeSet::new();
            let wanted = |s: TagScope| match scope {
                ScopeParam::All => matches!(s, TagScope::Resource | TagScope::Span),
                ScopeParam::Intrinsic => false,
                ScopeParam::One(x) => x == s,
            };
            for (s, set) in &names {
                if wanted(*s) {
                    out.extend(set.iter().cloned());
                }
            }
            if scope == ScopeParam::Intrinsic {
                out.extend(INTRINSICS.iter().map(|s| s.to_string()));
            }
            let mut v: Vec<String> = out.into_iter().collect();
            if req.limit > 0 {
                v.truncate(req.limit);
            }
            Ok(json!({ "tagNames": v }))
        })
        .await
    };
    respond(run.await)
}

/// `GET /api/v2/search/tags`: names by scope, intrinsics last.
pub async fn names_v2(
    State(st): State<SharedState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let req = tag_request(&headers, q.as_deref())?;
        let scope = scope_param(&req.params)?;
        let store = st.traces.clone();
        run_query(&st, move |_| {
            let mut names = if scope == ScopeParam::Intrinsic {
                Default::default()
            } else {
                store.tag_names(
                    &req.tenant,
                    req.window.start_ns,
                    req.window.end_ns,
                    req.limit,
                )?
            };
            let mut scopes = Vec::new();
            for s in TagScope::ALL {
                let tags: Vec<String> = names.remove(&s).unwrap_or_default().into_iter().collect();
                let asked = scope == ScopeParam::One(s);
                if asked || (scope == ScopeParam::All && !tags.is_empty()) {
                    scopes.push(json!({ "name": s.as_str(), "tags": tags }));
                }
            }
            if matches!(scope, ScopeParam::All | ScopeParam::Intrinsic) {
                let mut tags: Vec<&str> = INTRINSICS.to_vec();
                if req.limit > 0 {
                    tags.truncate(req.limit);
                }
                scopes.push(json!({ "name": "intrinsic", "tags": tags }));
            }
            Ok(json!({ "scopes": scopes }))
        })
        .await
    };
    respond(run.await)
}

/// What a tag-values request looks up.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Attribute {
        scope: Option<TagScope>,
        name: String,
    },
    Intrinsic(Intrinsic),
}

/// A TraceQL identifier (`resource.service.name`, `.foo`, `name`,
/// `span:status`, ...) as a lookup target.
fn target(tag: &str) -> Result<Target, TempoError> {
    let bad = || TempoError::bad_request(format!("invalid tag {tag:?}: not a TraceQL identifier"));
    let q = crate::traceql::parse(&format!("{{}} | select({tag})")).map_err(|_| bad())?;
    let Expr::Pipeline(stages) = q.expr else {
        return Err(bad());
    };
    let field = stages.into_iter().find_map(|s| match s {
        Stage::Select(mut f) if f.len() == 1 => f.pop(),
        _ => None,
    });
    match field {
        Some(Field::Intrinsic(i)) => Ok(Target::Intrinsic(i)),
        Some(Field::Attribute(a)) if !a.parent => Ok(Target::Attribute {
            scope: match a.scope {
                Scope::None => None,
                Scope::Span => Some(TagScope::Span),
                Scope::Resource => Some(TagScope::Resource),
                Scope::Event => Some(TagScope::Event),
                Scope::Link => Some(TagScope::Link),
                Scope::Instrumentation => Some(TagScope::Instrumentation),
            },
            name: a.name,
        }),
        _ => Err(bad()),
    }
}

/// A value as text (v1) and its type name (v2).
fn typed(v: &IndexedValue) -> (&'static str, String) {
    match v {
        IndexedValue::Str(s) => ("string", s.clone()),
        IndexedValue::Int(i) => ("int", i.to_string()),
        IndexedValue::Float(f) => ("float", f.to_string()),
        IndexedValue::Bool(b) => ("bool", b.to_string()),
    }
}

/// Collects distinct values while scanning.
#[derive(Default)]
struct Values(BTreeSet<crate::traces::head::ValueKey>);

impl Values {
    fn add(&mut self, v: IndexedValue) {
        self.0.insert(crate::traces::head::ValueKey(v));
    }
    fn add_attrs(&mut self, attrs: &[KeyValue], name: &str) {
        for kv in attrs.iter().filter(|kv| kv.key == name) {
            if let Some(v) = indexed_value(kv) {
                self.add(v);
            }
        }
    }
    fn add_str(&mut self, s: &str) {
        if !s.is_empty() {
            self.add(IndexedValue::Str(s.to_string()));
        }
    }
}

/// The values of `target` on one span.
fn span_values(out: &mut Values, data: &TraceData<'_>, v: &SpanView<'_>, target: &Target) {
    match target {
        Target::Attribute { scope, name } => {
            let wants = |s: TagScope| scope.is_none_or(|x| x == s);
            if wants(TagScope::Resource) {
                if let Some(r) = v.resource {
                    out.add_attrs(&r.attributes, name);
                }
            }
            if wants(TagScope::Span) {
                out.add_attrs(&v.span.attributes, name);
            }
            match scope {
                Some(TagScope::Event) => {
                    for e in &v.span.events {
                        out.add_attrs(&e.attributes, name);
                    }
                }
                Some(TagScope::Link) => {
                    for l in &v.span.links {
                        out.add_attrs(&l.attributes, name);
                    }
                }
                Some(TagScope::Instrumentation) => {
                    if let Some(s) = v.scope {
                        out.add_attrs(&s.attributes, name);
                    }
                }
                _ => {}
            }
        }
        Target::Intrinsic(i) => match i {
            Intrinsic::Name => out.add_str(&v.span.name),
            Intrinsic::StatusMessage => {
                if let Some(s) = &v.span.status {
                    out.add_str(&s.message);
                }
            }
            Intrinsic::EventName => {
                for e in &v.span.events {
                    out.add_str(&e.name);
                }
            }
            Intrinsic::InstrumentationName => {
                if let Some(s) = v.scope {
                    out.add_str(&s.name);
                }
            }
            Intrinsic::InstrumentationVersion => {
                if let Some(s) = v.scope {
                    out.add_str(&s.version);
                }
            }
            Intrinsic::RootName => {
                if let Some(r) = data.root_span() {
                    out.add_str(&r.span.name);
                }
            }
            Intrinsic::RootServiceName => {
                if let Some(r) = data.root_span().and_then(|r| r.resource) {
                    if let Some(s) =
                        crate::traces::model::string_attr(&r.attributes, "service.name")
                    {
                        out.add_str(s);
                    }
                }
            }
            _ => {}
        },
    }
}

/// Keyword values of the enum intrinsics (`None` for the others).
fn static_values(target: &Target) -> Option<Vec<&'static str>> {
    match target {
        Target::Intrinsic(Intrinsic::Status) => Some((0..3).map(status_name).collect()),
        Target::Intrinsic(Intrinsic::Kind) => Some((0..6).map(kind_name).collect()),
        _ => None,
    }
}

/// The values of `target`, from the store or by a scan; with `filter`,
/// only on spans it matches. `limit` 0: no limit.
fn lookup_values(
    store: &TraceStore,
    tenant: &TenantId,
    target: &Target,
    filter: Option<&Prepared>,
    window: Window,
    limit: usize,
    deadline: Instant,
) -> Result<Vec<IndexedValue>, TempoError> {
    match (target, filter) {
        (Target::Attribute { scope, name }, None) => {
            return Ok(store.tag_values(
                tenant,
                *scope,
                name,
                window.start_ns,
                window.end_ns,
                limit,
            )?);
        }
        (Target::Intrinsic(Intrinsic::Name), None) => {
            let names = store.span_names(tenant, window.start_ns, window.end_ns, limit)?;
            return Ok(names.into_iter().map(IndexedValue::Str).collect());
        }
        _ => {}
    }
    let req = ScanRequest {
        start_ns: window.start_ns,
        end_ns: window.end_ns,
        prefilter: filter
            .map(|q| prefilter::from_query(&q.query))
            .unwrap_or_default(),
    };
    // Intrinsics without listable values (durations, ids, numbers).
    if let Target::Intrinsic(i) = target {
        let listable = matches!(
            i,
            Intrinsic::Name
                | Intrinsic::StatusMessage
                | Intrinsic::EventName
                | Intrinsic::InstrumentationName
                | Intrinsic::InstrumentationVersion
                | Intrinsic::RootName
                | Intrinsic::RootServiceName
        );
        if !listable {
            return Ok(Vec::new());
        }
    }
    let cap = if limit > 0 {
        limit
    } else {
        crate::traces::store::MAX_TAG_VALUES
    };
    let mut out = Values::default();
    let mut failure = None;
    store.scan(tenant, &req, &mut |_, batches| {
        if Instant::now() > deadline {
            failure = Some(TempoError::timeout());
            return ControlFlow::Break(());
        }
        let data = TraceData::new(batches);
        match filter {
            None => {
                for v in &data.spans {
                    span_values(&mut out, &data, v, target);
                }
            }
            Some(q) => {
                for pos in q.spansets(&data).iter().flat_map(|s| &s.spans) {
                    if let Some(v) = data.spans.get(*pos) {
                        span_values(&mut out, &data, v, target);
                    }
                }
            }
        }
        if out.0.len() >= cap {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let mut v: Vec<IndexedValue> = out.0.into_iter().map(|k| k.0).collect();
    v.truncate(cap);
    Ok(v)
}

/// `GET /api/search/tag/<tag>/values`: `{"tagValues":["..."]}` for an
/// attribute name (resource or span).
pub async fn values_v1(
    State(st): State<SharedState>,
    Path(tag): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let req = tag_request(&headers, q.as_deref())?;
        let store = st.traces.clone();
        run_query(&st, move |_| {
            let values = store.tag_values(
                &req.tenant,
                None,
                &tag,
                req.window.start_ns,
                req.window.end_ns,
                req.limit,
            )?;
            let mut text: Vec<String> = values.iter().map(|v| typed(v).1).collect();
            text.dedup();
            Ok(json!({ "tagValues": text }))
        })
        .await
    };
    respond(run.await)
}

/// `GET /api/v2/search/tag/<tag>/values`: typed values of a TraceQL
/// identifier. A `q` that does not parse is ignored (all values), as
/// Tempo does for half-typed filters.
pub async fn values_v2(
    State(st): State<SharedState>,
    Path(tag): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let run = async {
        let req = tag_request(&headers, q.as_deref())?;
        let target = target(&tag)?;
        if let Some(words) = static_values(&target) {
            let vals: Vec<Value> = words
                .iter()
                .map(|w| json!({ "type": "keyword", "value": w }))
                .collect();
            return Ok(json!({ "tagValues": vals }));
        }
        let filter = req
            .params
            .get("q")
            .and_then(|q| crate::traceql::parse(q).ok())
            .and_then(|q| Prepared::new(q).ok())
            .filter(|q| !(q.query.hints.is_empty() && matches!(q.query.expr, Expr::Filter(None))));
        let store = st.traces.clone();
        run_query(&st, move |deadline| {
            let find = |f: Option<&Prepared>| {
                lookup_values(
                    &store,
                    &req.tenant,
                    &target,
                    f,
                    req.window,
                    req.limit,
                    deadline,
                )
            };
            let values = match find(filter.as_ref()) {
                // A filter the engine cannot evaluate: all values.
                Err(e) if filter.is_some() && e.status.as_u16() == 400 => find(None)?,
                r => r?,
            };
            let vals: Vec<Value> = values
                .iter()
                .map(|v| {
                    let (ty, text) = typed(v);
                    json!({ "type": ty, "value": text })
                })
                .collect();
            Ok(json!({ "tagValues": vals }))
        })
        .await
    };
    respond(run.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_intrinsic_parses() {
        for name in INTRINSICS {
            assert!(matches!(target(name), Ok(Target::Intrinsic(_))), "{name}");
        }
    }

    #[test]
    fn tags_in_traceql_form() {
        assert_eq!(
            target("resource.service.name").unwrap(),
            Target::Attribute {
                scope: Some(TagScope::Resource),
                name: "service.name".into()
            }
        );
        assert_eq!(
            target(".http.method").unwrap(),
            Target::Attribute {
                scope: None,
                name: "http.method".into()
            }
        );
        assert_eq!(
            target("span:status").unwrap(),
            Target::Intrinsic(Intrinsic::Status)
        );
        assert_eq!(target("name").unwrap(), Target::Intrinsic(Intrinsic::Name));
        assert!(target("{").is_err());
        assert!(target("1 + 2").is_err());
    }
}
