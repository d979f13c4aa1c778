//! Log pipelines: a LogQL pipeline (`|= "x" | json | status >= 400 |
//! line_format ..`) compiled once into stages, then run per line. Each
//! stream gets a [`StreamPipeline`] that keeps per-stream state and reused
//! buffers; a line either is dropped or comes out with its (possibly
//! rewritten) line and its labels in Loki's three categories: stream
//! labels, structured metadata and parsed labels. Leading line filters are
//! split off for push-down into the store ([`Pipeline::with_pushdown`]).
//!
//! Submodules: `line_filter` (line filters and required substrings), `ip`,
//! `pattern`, `json_scan` / `json` (the `json` parser and `unpack`),
//! `logfmt`, `extract` (`regexp`, `pattern`), `label_filter`, `labels_ops`
//! (`drop`, `keep`, `decolorize`), `convert` (number, duration and byte
//! conversions), `state` (the per-line label state), `detect`
//! (`detect_fields`), `format_adapter` (the template stages' bridge).

mod convert;
mod detect;
mod extract;
mod format_adapter;
mod ip;
mod json;
mod json_scan;
mod label_filter;
mod labels_ops;
mod line_filter;
mod logfmt;
mod pattern;
mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use regex::CaptureLocations;

pub use convert::{parse_bytes, parse_float, parse_go_duration};
pub use detect::detect_fields;
pub use state::{ERROR_DETAILS_LABEL, ERROR_LABEL};

use crate::logql::ast::{LabelSelection, Stage, Unwrap, UnwrapConversion};
use crate::logs::LineFilterPushdown;
use crate::model::{Label, Labels};
use extract::{PatternStage, RegexpStage};
use format_adapter::{LabelChange, LabelFormatter, LineFormatter};
use json::{JsonScratch, JsonStage};
use label_filter::LabelFilter;
use line_filter::LineFilterStage;
use logfmt::{LogfmtScratch, LogfmtStage};
use state::{Category, LineLabels};

/// `__error__` of a failed `unwrap` conversion.
pub const SAMPLE_EXTRACTION_ERR: &str = "SampleExtractionErr";
/// `__error__` of a failed `line_format` / `label_format` template.
pub const TEMPLATE_FORMAT_ERR: &str = "TemplateFormatErr";
pub use json::JSON_ERR as JSON_PARSER_ERR;
pub use label_filter::LABEL_FILTER_ERR;
pub use logfmt::LOGFMT_ERR as LOGFMT_PARSER_ERR;

/// A pipeline that cannot be built (bad regex, bad template, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PipelineError(pub String);

/// One compiled stage.
enum Compiled {
    LineFilter(LineFilterStage),
    Json(JsonStage),
    Logfmt(LogfmtStage),
    Regexp(RegexpStage),
    Pattern(PatternStage),
    Unpack,
    LabelFilter(LabelFilter),
    LineFormat(LineFormatter),
    LabelFormat(LabelFormatter),
    Drop(Vec<LabelSelection>),
    Keep(Vec<LabelSelection>),
    Decolorize,
}

fn compile(s: &Stage) -> Result<Compiled, String> {
    Ok(match s {
        Stage::LineFilter(f) => Compiled::LineFilter(LineFilterStage::new(f)?),
        Stage::Json(ex) => Compiled::Json(JsonStage::new(ex)?),
        Stage::Logfmt {
            strict,
            keep_empty,
            extractions,
        } => Compiled::Logfmt(LogfmtStage::new(*strict, *keep_empty, extractions)?),
        Stage::Regexp(re) => Compiled::Regexp(RegexpStage::new(re)?),
        Stage::Pattern(p) => Compiled::Pattern(PatternStage::new(p)?),
        Stage::Unpack => Compiled::Unpack,
        Stage::LabelFilter(e) => Compiled::LabelFilter(LabelFilter::new(e)?),
        Stage::LineFormat(t) => Compiled::LineFormat(LineFormatter::new(t)?),
        Stage::LabelFormat(ops) => Compiled::LabelFormat(LabelFormatter::new(ops)?),
        Stage::Drop(sel) => Compiled::Drop(sel.clone()),
        Stage::Keep(sel) => Compiled::Keep(sel.clone()),
        Stage::Decolorize => Compiled::Decolorize,
    })
}

struct CompiledUnwrap {
    label: String,
    conversion: UnwrapConversion,
    post: Vec<LabelFilter>,
}

/// A compiled pipeline. `Send + Sync`: one pipeline serves every stream
/// of a query, on any thread.
pub struct Pipeline {
    stages: Vec<Compiled>,
    unwrap: Option<CompiledUnwrap>,
    /// Every stage is a line filter (and no unwrap): the fast path.
    only_line_filters: bool,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stages", &self.stages.len())
            .field("unwrap", &self.unwrap.as_ref().map(|u| u.label.as_str()))
            .finish()
    }
}

/// The leading line filters of a query, applied by the store.
#[derive(Debug)]
pub struct LineFilterChain {
    filters: Vec<LineFilterStage>,
}

impl LineFilterPushdown for LineFilterChain {
    fn matches(&self, line: &str) -> bool {
        self.filters.iter().all(|f| f.passes(line))
    }

    fn required_substrings(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for f in &self.filters {
            for s in f.required_substrings() {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
        }
        out
    }
}

impl Pipeline {
    /// Compiles all stages.
    pub fn new(stages: &[Stage]) -> Result<Pipeline, PipelineError> {
        let stages = stages
            .iter()
            .map(compile)
            .collect::<Result<Vec<_>, String>>()
            .map_err(PipelineError)?;
        let only_line_filters = stages.iter().all(|s| matches!(s, Compiled::LineFilter(_)));
        Ok(Pipeline {
            stages,
            unwrap: None,
            only_line_filters,
        })
    }

    /// Splits off the leading line filters as a push-down for the store and
    /// compiles the rest: the returned pipeline does not re-check what the
    /// push-down checks.
    pub fn with_pushdown(
        stages: &[Stage],
    ) -> Result<(Option<Arc<dyn LineFilterPushdown>>, Pipeline), PipelineError> {
        let n = stages
            .iter()
            .take_while(|s| matches!(s, Stage::LineFilter(_)))
            .count();
        let rest = Pipeline::new(&stages[n..])?;
        if n == 0 {
            return Ok((None, rest));
        }
        let chain = Self::line_filter_chain(&stages[..n])?;
        Ok((Some(Arc::new(chain)), rest))
    }

    /// The line filters among `stages` (others are ignored) as a push-down.
    pub fn line_filter_chain(stages: &[Stage]) -> Result<LineFilterChain, PipelineError> {
        let filters = stages
            .iter()
            .filter_map(|s| match s {
                Stage::LineFilter(f) => Some(LineFilterStage::new(f)),
                _ => None,
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(PipelineError)?;
        Ok(LineFilterChain { filters })
    }

    /// Adds an `unwrap` (with its post filters) at the end: every line that
    /// comes out then carries a value.
    pub fn with_unwrap(mut self, unwrap: &Unwrap) -> Result<Pipeline, PipelineError> {
        let post = unwrap
            .post_filters
            .iter()
            .map(LabelFilter::new)
            .collect::<Result<Vec<_>, String>>()
            .map_err(PipelineError)?;
        self.unwrap = Some(CompiledUnwrap {
            label: unwrap.label.clone(),
            conversion: unwrap.conversion,
            post,
        });
        self.only_line_filters = false;
        Ok(self)
    }

    /// Is this pipeline a no-op (no stages)?
    pub fn is_noop(&self) -> bool {
        self.stages.is_empty() && self.unwrap.is_none()
    }

    /// State for one stream.
    pub fn for_stream(&self, stream: &Labels) -> StreamPipeline<'_> {
        let locs = self
            .stages
            .iter()
            .map(|s| match s {
                Compiled::Regexp(r) => Some(r.locations()),
                _ => None,
            })
            .collect();
        StreamPipeline {
            pipeline: self,
            st: LineLabels::new(stream),
            base: ResultLabels::from_stream(stream),
            last: ResultLabels::default(),
            last_sig: 0,
            last_valid: false,
            line_buf: String::new(),
            tmp: String::new(),
            json: JsonScratch::default(),
            logfmt: LogfmtScratch::default(),
            name: String::new(),
            names: Vec::new(),
            locs,
        }
    }
}

/// Labels of a processed line in Loki's categories.
#[derive(Clone, Debug, Default)]
pub struct ResultLabels {
    stream: Labels,
    metadata: Vec<Label>,
    parsed: Vec<Label>,
    all: Labels,
    hash: u64,
}

impl ResultLabels {
    fn from_stream(stream: &Labels) -> Self {
        ResultLabels {
            stream: stream.clone(),
            metadata: Vec::new(),
            parsed: Vec::new(),
            all: stream.clone(),
            hash: stream.hash64(),
        }
    }

    fn build(st: &LineLabels) -> Self {
        let (mut stream, mut metadata, mut parsed) = (Vec::new(), Vec::new(), Vec::new());
        st.for_each(|n, v, c| {
            let l = Label::new(n, v);
            match c {
                Category::Stream => stream.push(l),
                Category::Metadata => metadata.push(l),
                Category::Parsed => parsed.push(l),
            }
        });
        let by_name = |a: &Label, b: &Label| a.name.cmp(&b.name);
        stream.sort_by(by_name);
        metadata.sort_by(by_name);
        parsed.sort_by(by_name);
        // merge; on a name in two categories the later category wins
        let mut all: Vec<Label> = Vec::with_capacity(stream.len() + metadata.len() + parsed.len());
        all.extend(stream.iter().cloned());
        all.extend(metadata.iter().cloned());
        all.extend(parsed.iter().cloned());
        all.sort_by(by_name); // stable: category order kept among equal names
        let mut dedup: Vec<Label> = Vec::with_capacity(all.len());
        for l in all {
            match dedup.last_mut() {
                Some(last) if last.name == l.name => *last = l,
                _ => dedup.push(l),
            }
        }
        let all = Labels::from_sorted_unchecked(dedup);
        let hash = all.hash64();
        ResultLabels {
            stream: Labels::from_sorted_unchecked(stream),
            metadata,
            parsed,
            all,
            hash,
        }
    }

    /// Does this result hold exactly the labels of `st`?
    fn same_as(&self, st: &LineLabels) -> bool {
        let mut n = 0;
        let mut same = true;
        st.for_each(|name, value, cat| {
            if !same {
                return;
            }
            n += 1;
            let list = match cat {
                Category::Stream => self.stream.as_slice(),
                Category::Metadata => &self.metadata,
                Category::Parsed => &self.parsed,
            };
            same = list
                .binary_search_by(|l| l.name.as_str().cmp(name))
                .is_ok_and(|i| list[i].value == value);
        });
        same && n == self.stream.len() + self.metadata.len() + self.parsed.len()
    }

    /// Stream labels (after any stage changed them).
    pub fn stream(&self) -> &Labels {
        &self.stream
    }
    /// Structured metadata that survived the pipeline, sorted by name.
    pub fn structured_metadata(&self) -> &[Label] {
        &self.metadata
    }
    /// Labels added by parsers and formatters (and `__error__`,
    /// `__error_details__`), sorted by name. Values may be empty, as in Loki.
    pub fn parsed(&self) -> &[Label] {
        &self.parsed
    }
    /// All three merged: the label set a result series or stream has.
    pub fn all(&self) -> &Labels {
        &self.all
    }
    /// `all().hash64()`, computed once.
    pub fn hash64(&self) -> u64 {
        self.hash
    }
}

/// A line that passed the pipeline.
pub struct LineResult<'a> {
    pub line: &'a str,
    pub labels: &'a ResultLabels,
    /// The unwrapped value, when the pipeline ends in `unwrap`.
    pub value: Option<f64>,
}

/// A pipeline bound to one stream.
pub struct StreamPipeline<'p> {
    pipeline: &'p Pipeline,
    st: LineLabels,
    /// The stream's own labels, returned while a line changes nothing.
    base: ResultLabels,
    /// The last built result, reused while lines keep the same labels.
    last: ResultLabels,
    last_sig: u64,
    last_valid: bool,
    line_buf: String,
    tmp: String,
    json: JsonScratch,
    logfmt: LogfmtScratch,
    name: String,
    names: Vec<String>,
    locs: Vec<Option<CaptureLocations>>,
}

impl StreamPipeline<'_> {
    /// Runs one line through every stage; `None` if a stage drops it.
    pub fn process<'a>(
        &'a mut self,
        ts_ns: i64,
        line: &'a str,
        metadata: &[Label],
    ) -> Option<LineResult<'a>> {
        let p = self.pipeline;
        if p.only_line_filters && metadata.is_empty() {
            for s in &p.stages {
                if let Compiled::LineFilter(f) = s {
                    if !f.passes(line) {
                        return None;
                    }
                }
            }
            return Some(LineResult {
                line,
                labels: &self.base,
                value: None,
            });
        }
        self.st.reset(metadata);
        let mut in_buf = false;
        for (i, stage) in p.stages.iter().enumerate() {
            let cur: &str = if in_buf { &self.line_buf } else { line };
            match stage {
                Compiled::LineFilter(f) => {
                    if !f.passes(cur) {
                        return None;
                    }
                }
                Compiled::Json(j) => j.process(cur, &mut self.st, &mut self.json),
                Compiled::Logfmt(l) => l.process(cur, &mut self.st, &mut self.logfmt),
                Compiled::Regexp(r) => {
                    if let Some(Some(locs)) = self.locs.get_mut(i) {
                        r.process(cur, &mut self.st, locs, &mut self.name);
                    }
                }
                Compiled::Pattern(pt) => pt.process(cur, &mut self.st, &mut self.name),
                Compiled::Unpack => {
                    if json::unpack(cur, &mut self.st, &mut self.json, &mut self.tmp) {
                        std::mem::swap(&mut self.line_buf, &mut self.tmp);
                        in_buf = true;
                    }
                }
                Compiled::LabelFilter(f) => {
                    if !f.eval(&mut self.st) {
                        return None;
                    }
                }
                Compiled::LineFormat(fm) => {
                    self.tmp.clear();
                    let res = {
                        let mut pairs: Vec<(&str, &str)> = Vec::new();
                        self.st.for_each(|n, v, _| pairs.push((n, v)));
                        fm.format_into(cur, ts_ns, &pairs, &mut self.tmp)
                    };
                    match res {
                        Ok(()) => {
                            std::mem::swap(&mut self.line_buf, &mut self.tmp);
                            in_buf = true;
                        }
                        Err(e) => self.st.set_err(TEMPLATE_FORMAT_ERR, Some(&e)),
                    }
                }
                Compiled::LabelFormat(fm) => {
                    let (changes, err) = {
                        let mut pairs: Vec<(&str, &str)> = Vec::new();
                        self.st.for_each(|n, v, _| pairs.push((n, v)));
                        fm.apply_all(cur, ts_ns, &pairs)
                    };
                    for c in changes {
                        match c {
                            LabelChange::Set(n, v) => self.st.set_parsed(&n, &v),
                            LabelChange::Remove(n) => self.st.delete(&n),
                        }
                    }
                    if let Some(e) = err {
                        self.st.set_err(TEMPLATE_FORMAT_ERR, Some(&e));
                    }
                }
                Compiled::Drop(sel) => labels_ops::drop_labels(sel, &mut self.st),
                Compiled::Keep(sel) => labels_ops::keep_labels(sel, &mut self.st, &mut self.names),
                Compiled::Decolorize => {
                    if labels_ops::decolorize(cur, &mut self.tmp) {
                        std::mem::swap(&mut self.line_buf, &mut self.tmp);
                        in_buf = true;
                    }
                }
            }
        }
        let mut value = None;
        if let Some(u) = &p.unwrap {
            let conv = match self.st.get(&u.label) {
                None | Some("") => return None,
                Some(v) => match u.conversion {
                    UnwrapConversion::None => convert::parse_float(v),
                    UnwrapConversion::Duration => {
                        convert::parse_go_duration(v).map(|ns| ns as f64 / 1e9)
                    }
                    UnwrapConversion::Bytes => convert::parse_bytes(v).map(|b| b as f64),
                },
            };
            let x = match conv {
                Ok(x) => x,
                Err(e) => {
                    self.st.set_err(SAMPLE_EXTRACTION_ERR, Some(&e));
                    0.0
                }
            };
            for f in &u.post {
                if !f.eval(&mut self.st) {
                    return None;
                }
            }
            self.st.delete(&u.label);
            value = Some(x);
        }
        let labels = if self.st.is_plain_stream() {
            &self.base
        } else {
            let sig = self.st.signature();
            if !(self.last_valid && sig == self.last_sig && self.last.same_as(&self.st)) {
                self.last = ResultLabels::build(&self.st);
                self.last_sig = sig;
                self.last_valid = true;
            }
            &self.last
        };
        let out_line: &'a str = if in_buf { &self.line_buf } else { line };
        Some(LineResult {
            line: out_line,
            labels,
            value,
        })
    }
}
