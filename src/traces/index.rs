//! The search index of a sealed trace partition, in tantivy: one document
//! per trace (document id = row of the partition's id table, kept by
//! building a single segment in row order). Untokenized terms for service
//! names, span names, statuses, kinds, attribute names by scope and typed
//! attribute values; numeric terms for the trace's duration and its
//! longest span. The store narrows TraceQL scans with it (`Prefilter`) and
//! reads tag names and values for autocomplete out of its term
//! dictionaries. Candidates are always verified by the TraceQL engine.

use std::collections::HashSet;
use std::io;
use std::ops::Bound;
use std::path::Path;

use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use tantivy::collector::DocSetCollector;
use tantivy::directory::MmapDirectory;
use tantivy::query::{AllQuery, BooleanQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, FAST, INDEXED, STRING};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

use super::model::indexed_values;
use super::prefilter::{AttrScope, IndexedValue, Prefilter};
use super::store::TagScope;

const WRITER_BUDGET: usize = 64 << 20;
/// Separates the parts of a composite term.
const SEP: char = '\u{1f}';

#[derive(Clone, Copy)]
struct Fields {
    service: Field,
    name: Field,
    status: Field,
    kind: Field,
    /// `<scope>␟<key>` for every attribute name.
    key: Field,
    /// `<scope>␟<key>␟<type><value>` for every string/int/float/bool value.
    attr: Field,
    trace_dur: Field,
    span_dur_max: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let f = Fields {
        service: b.add_text_field("service", STRING),
        name: b.add_text_field("name", STRING),
        status: b.add_u64_field("status", INDEXED),
        kind: b.add_u64_field("kind", INDEXED),
        key: b.add_text_field("key", STRING),
        attr: b.add_text_field("attr", STRING),
        trace_dur: b.add_u64_field("trace_dur", INDEXED | FAST),
        span_dur_max: b.add_u64_field("span_dur_max", INDEXED | FAST),
    };
    (b.build(), f)
}

fn fields_of(schema: &Schema) -> io::Result<Fields> {
    let get = |n: &str| {
        schema
            .get_field(n)
            .map_err(|e| io::Error::other(format!("trace index: {e}")))
    };
    Ok(Fields {
        service: get("service")?,
        name: get("name")?,
        status: get("status")?,
        kind: get("kind")?,
        key: get("key")?,
        attr: get("attr")?,
        trace_dur: get("trace_dur")?,
        span_dur_max: get("span_dur_max")?,
    })
}

fn tantivy_err(e: tantivy::TantivyError) -> io::Error {
    io::Error::other(format!("tantivy: {e}"))
}

fn scope_code(s: TagScope) -> char {
    match s {
        TagScope::Resource => 'r',
        TagScope::Span => 's',
        TagScope::Event => 'e',
        TagScope::Link => 'l',
        TagScope::Instrumentation => 'i',
    }
}

fn scope_of_code(c: char) -> Option<TagScope> {
    TagScope::ALL.into_iter().find(|&s| scope_code(s) == c)
}

/// The term text of a typed value (the type letter, then the value).
fn value_term(v: &IndexedValue) -> String {
    match v {
        IndexedValue::Str(s) => format!("s{s}"),
        IndexedValue::Int(i) => format!("i{i}"),
        IndexedValue::Float(f) => format!("f{f}"),
        IndexedValue::Bool(b) => format!("b{b}"),
    }
}

fn parse_value_term(t: &str) -> Option<IndexedValue> {
    let mut chars = t.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    Some(match kind {
        's' => IndexedValue::Str(rest.to_string()),
        'i' => IndexedValue::Int(rest.parse().ok()?),
        'f' => IndexedValue::Float(rest.parse().ok()?),
        'b' => IndexedValue::Bool(rest == "true"),
        _ => return None,
    })
}

/// The distinct terms of one trace's document.
struct DocTerms<'a> {
    f: Fields,
    doc: TantivyDocument,
    seen: &'a mut HashSet<String>,
}

impl DocTerms<'_> {
    fn text(&mut self, field: Field, tag: char, text: &str) {
        let key = format!("{tag}{text}");
        if self.seen.insert(key) {
            self.doc.add_text(field, text);
        }
    }

    fn attrs(&mut self, scope: TagScope, kvs: &[KeyValue]) {
        let sc = scope_code(scope);
        for kv in kvs {
            let k = format!("{sc}{SEP}{}", kv.key);
            self.text(self.f.key, 'k', &k);
            for v in indexed_values(kv) {
                let t = format!("{k}{SEP}{}", value_term(&v));
                self.text(self.f.attr, 'a', &t);
            }
        }
    }
}

/// An open trace index.
pub struct TraceIndex {
    reader: IndexReader,
    fields: Fields,
}

impl TraceIndex {
    /// Builds the index of `traces` (in row order) into `dir`.
    pub fn build(dir: &Path, traces: &[&[ResourceSpans]]) -> io::Result<TraceIndex> {
        let tmp = dir.with_extension("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let (schema, f) = schema();
        let mmap = MmapDirectory::open(&tmp).map_err(|e| io::Error::other(e.to_string()))?;
        let mut writer = Index::builder()
            .schema(schema)
            .single_segment_index_writer::<TantivyDocument>(mmap, WRITER_BUDGET)
            .map_err(tantivy_err)?;
        let mut seen: HashSet<String> = HashSet::new();
        for batches in traces {
            seen.clear();
            let mut d = DocTerms {
                f,
                doc: TantivyDocument::default(),
                seen: &mut seen,
            };
            let (lo, hi) = super::model::time_bounds(batches);
            let mut span_dur_max = 0u64;
            let mut statuses = 0u8;
            let mut kinds = 0u64;
            for rs in batches.iter() {
                if let Some(svc) = super::model::service_name(rs) {
                    d.text(f.service, 'v', svc);
                }
                if let Some(r) = &rs.resource {
                    d.attrs(TagScope::Resource, &r.attributes);
                }
                for ss in &rs.scope_spans {
                    if let Some(sc) = &ss.scope {
                        d.attrs(TagScope::Instrumentation, &sc.attributes);
                    }
                    for s in &ss.spans {
                        d.text(f.name, 'n', &s.name);
                        let code = s.status.as_ref().map(|x| x.code).unwrap_or(0);
                        statuses |= 1 << (code.clamp(0, 7) as u8);
                        kinds |= 1 << (s.kind.clamp(0, 63) as u64);
                        span_dur_max = span_dur_max
                            .max(s.end_time_unix_nano.saturating_sub(s.start_time_unix_nano));
                        d.attrs(TagScope::Span, &s.attributes);
                        for e in &s.events {
                            d.attrs(TagScope::Event, &e.attributes);
                        }
                        for l in &s.links {
                            d.attrs(TagScope::Link, &l.attributes);
                        }
                    }
                }
            }
            let mut doc = d.doc;
            for code in 0..8u64 {
                if statuses & (1 << code) != 0 {
                    doc.add_u64(f.status, code);
                }
            }
            for k in 0..64u64 {
                if kinds & (1 << k) != 0 {
                    doc.add_u64(f.kind, k);
                }
            }
            doc.add_u64(f.trace_dur, hi.saturating_sub(lo));
            doc.add_u64(f.span_dur_max, span_dur_max);
            writer.add_document(doc).map_err(tantivy_err)?;
        }
        writer.finalize().map_err(tantivy_err)?;
        crate::storage::fsutil::fsync_dir(&tmp)?;
        crate::storage::fsutil::publish_dir(&tmp, dir)?;
        Self::open(dir)
    }

    /// Opens a built index; `None` if it is missing or unreadable (it is
    /// then rebuilt by maintenance).
    pub fn open_if_complete(dir: &Path) -> Option<TraceIndex> {
        if !dir.is_dir() {
            return None;
        }
        match Self::open(dir) {
            Ok(ix) => Some(ix),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "trace index unreadable; it will be rebuilt");
                let _ = std::fs::remove_dir_all(dir);
                None
            }
        }
    }

    fn open(dir: &Path) -> io::Result<TraceIndex> {
        let index = Index::open_in_dir(dir).map_err(tantivy_err)?;
        let fields = fields_of(&index.schema())?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_err)?;
        if reader.searcher().segment_readers().len() > 1 {
            return Err(io::Error::other("trace index has more than one segment"));
        }
        Ok(TraceIndex { reader, fields })
    }

    fn text_term(&self, field: Field, text: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, text),
            IndexRecordOption::Basic,
        ))
    }

    fn attr_terms(&self, scope: AttrScope, key: &str, value: &IndexedValue) -> Box<dyn Query> {
        let scopes: &[char] = match scope {
            AttrScope::Resource => &['r'],
            AttrScope::Span => &['s'],
            AttrScope::Any => &['r', 's'],
        };
        // Ints and floats compare numerically in TraceQL: look for both.
        let mut values = vec![value.clone()];
        match value {
            IndexedValue::Int(i) => values.push(IndexedValue::Float(*i as f64)),
            IndexedValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                values.push(IndexedValue::Int(*x as i64))
            }
            _ => {}
        }
        let mut qs: Vec<Box<dyn Query>> = Vec::new();
        for sc in scopes {
            for v in &values {
                let t = format!("{sc}{SEP}{key}{SEP}{}", value_term(v));
                qs.push(self.text_term(self.fields.attr, &t));
            }
        }
        Box::new(BooleanQuery::union(qs))
    }

    fn min_u64(&self, field: Field, min: u64) -> Box<dyn Query> {
        Box::new(RangeQuery::new(
            Bound::Included(Term::from_field_u64(field, min)),
            Bound::Unbounded,
        ))
    }

    fn query(&self, p: &Prefilter) -> Box<dyn Query> {
        let f = &self.fields;
        match p {
            Prefilter::All => Box::new(AllQuery),
            Prefilter::Attr { scope, key, value } => self.attr_terms(*scope, key, value),
            Prefilter::SpanName(n) => self.text_term(f.name, n),
            Prefilter::Service(s) => self.text_term(f.service, s),
            Prefilter::Status(c) => Box::new(TermQuery::new(
                Term::from_field_u64(f.status, (*c).clamp(0, 7) as u64),
                IndexRecordOption::Basic,
            )),
            Prefilter::Kind(k) => Box::new(TermQuery::new(
                Term::from_field_u64(f.kind, (*k).clamp(0, 63) as u64),
                IndexRecordOption::Basic,
            )),
            Prefilter::MinSpanDuration(d) => self.min_u64(f.span_dur_max, *d),
            Prefilter::MinTraceDuration(d) => self.min_u64(f.trace_dur, *d),
            Prefilter::MaxTraceDuration(d) => Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_u64(f.trace_dur, *d)),
            )),
            Prefilter::And(xs) => Box::new(BooleanQuery::intersection(
                xs.iter().map(|x| self.query(x)).collect(),
            )),
            Prefilter::Or(xs) => Box::new(BooleanQuery::union(
                xs.iter().map(|x| self.query(x)).collect(),
            )),
        }
    }

    /// Rows that may match; `None` when the prefilter selects everything.
    pub fn candidates(&self, p: &Prefilter) -> io::Result<Option<Vec<u32>>> {
        if *p == Prefilter::All {
            return Ok(None);
        }
        let q = self.query(p);
        let searcher = self.reader.searcher();
        let hits = searcher
            .search(&*q, &DocSetCollector)
            .map_err(tantivy_err)?;
        let mut rows: Vec<u32> = hits.into_iter().map(|d| d.doc_id).collect();
        rows.sort_unstable();
        Ok(Some(rows))
    }

    fn terms_with_prefix(
        &self,
        field: Field,
        prefix: &str,
        f: &mut dyn FnMut(&str) -> bool,
    ) -> io::Result<()> {
        let searcher = self.reader.searcher();
        for seg in searcher.segment_readers() {
            let inv = seg.inverted_index(field).map_err(tantivy_err)?;
            let mut upper = prefix.as_bytes().to_vec();
            upper.push(0xff);
            let mut stream = inv.terms().range().ge(prefix).lt(&upper).into_stream()?;
            while stream.advance() {
                if let Ok(k) = std::str::from_utf8(stream.key()) {
                    if let Some(rest) = k.strip_prefix(prefix) {
                        if !f(rest) {
                            return Ok(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Attribute names by scope.
    pub fn tag_names(&self, out: &mut super::store::TagNames) -> io::Result<()> {
        self.terms_with_prefix(self.fields.key, "", &mut |t| {
            let mut it = t.splitn(2, SEP);
            if let (Some(sc), Some(name)) = (it.next(), it.next()) {
                if let Some(scope) = sc.chars().next().and_then(scope_of_code) {
                    out.entry(scope).or_default().insert(name.to_string());
                }
            }
            true
        })
    }

    /// Values of attribute `name` in `scope` (`None`: resource and span).
    pub fn tag_values(
        &self,
        scope: Option<TagScope>,
        name: &str,
        out: &mut dyn FnMut(IndexedValue) -> bool,
    ) -> io::Result<()> {
        let scopes: Vec<TagScope> = match scope {
            Some(s) => vec![s],
            None => vec![TagScope::Resource, TagScope::Span],
        };
        for s in scopes {
            let prefix = format!("{}{SEP}{name}{SEP}", scope_code(s));
            let mut go_on = true;
            self.terms_with_prefix(self.fields.attr, &prefix, &mut |t| {
                if let Some(v) = parse_value_term(t) {
                    go_on = out(v);
                }
                go_on
            })?;
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// Span names.
    pub fn span_names(&self, out: &mut dyn FnMut(&str) -> bool) -> io::Result<()> {
        self.terms_with_prefix(self.fields.name, "", &mut |t| out(t))
    }
}
