//! Log pipelines: a LogQL pipeline (`|= "x" | json | status >= 400 |
//! line_format ..`) compiled once into stages, then run per line. Each
//! stream gets a [`StreamPipeline`] that keeps per-stream state; a line
//! either is dropped or comes out with its (possibly rewritten) line and its
//! labels in Loki's three categories: stream labels, structured metadata and
//! parsed labels. Leading line filters are split off for push-down into the
//! store ([`Pipeline::with_pushdown`]).
//!
//! PLACEHOLDER: only `|=` / `!=` line filters are implemented here; the
//! pipeline work replaces this with every stage.

use std::sync::Arc;

use crate::logql::ast::{LineFilter, LineFilterOp, LineFilterValue, Stage, Unwrap};
use crate::logs::LineFilterPushdown;
use crate::model::{Label, Labels};

/// A pipeline that cannot be built (bad regex, bad template, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PipelineError(pub String);

/// A compiled pipeline.
pub struct Pipeline {
    filters: Vec<LineFilter>,
    unwrap: Option<Unwrap>,
}

impl Pipeline {
    /// Compiles all stages.
    pub fn new(stages: &[Stage]) -> Result<Pipeline, PipelineError> {
        let mut filters = Vec::new();
        for s in stages {
            match s {
                Stage::LineFilter(f) => filters.push(f.clone()),
                other => return Err(PipelineError(format!("unsupported stage {other:?}"))),
            }
        }
        Ok(Pipeline {
            filters,
            unwrap: None,
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
        if n == 0 {
            return Ok((None, Pipeline::new(stages)?));
        }
        let lead = Pipeline::new(&stages[..n])?;
        let rest = Pipeline::new(&stages[n..])?;
        Ok((Some(Arc::new(lead)), rest))
    }

    /// Adds an `unwrap` (with its post filters) at the end: every line that
    /// comes out then carries a value.
    pub fn with_unwrap(mut self, unwrap: &Unwrap) -> Result<Pipeline, PipelineError> {
        self.unwrap = Some(unwrap.clone());
        Ok(self)
    }

    /// Is this pipeline a no-op (no stages)?
    pub fn is_noop(&self) -> bool {
        self.filters.is_empty() && self.unwrap.is_none()
    }

    /// State for one stream.
    pub fn for_stream(&self, stream: &Labels) -> StreamPipeline<'_> {
        StreamPipeline {
            pipeline: self,
            labels: ResultLabels::from_stream(stream),
        }
    }

    fn line_passes(&self, line: &str) -> bool {
        self.filters.iter().all(|f| {
            let any = f.values.iter().any(|v| match v {
                LineFilterValue::Literal(s) => line.contains(s.as_str()),
                LineFilterValue::Ip(_) => false,
            });
            match f.op {
                LineFilterOp::Contains | LineFilterOp::Regex | LineFilterOp::Pattern => any,
                _ => !any,
            }
        })
    }
}

impl LineFilterPushdown for Pipeline {
    fn matches(&self, line: &str) -> bool {
        self.line_passes(line)
    }

    fn required_substrings(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// Labels of a processed line in Loki's categories.
#[derive(Clone, Debug, Default)]
pub struct ResultLabels {
    stream: Labels,
    metadata: Vec<Label>,
    parsed: Vec<Label>,
    all: Labels,
}

impl ResultLabels {
    fn from_stream(stream: &Labels) -> Self {
        ResultLabels {
            stream: stream.clone(),
            metadata: Vec::new(),
            parsed: Vec::new(),
            all: stream.clone(),
        }
    }
    /// Stream labels (after any stage changed them).
    pub fn stream(&self) -> &Labels {
        &self.stream
    }
    /// Structured metadata that survived the pipeline, sorted by name.
    pub fn structured_metadata(&self) -> &[Label] {
        &self.metadata
    }
    /// Labels added by parsers and formatters, sorted by name.
    pub fn parsed(&self) -> &[Label] {
        &self.parsed
    }
    /// All three merged: the label set a result series or stream has.
    pub fn all(&self) -> &Labels {
        &self.all
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
    labels: ResultLabels,
}

impl StreamPipeline<'_> {
    /// Runs one line through every stage; `None` if a stage drops it.
    pub fn process<'a>(
        &'a mut self,
        _ts_ns: i64,
        line: &'a str,
        metadata: &[Label],
    ) -> Option<LineResult<'a>> {
        if !self.pipeline.line_passes(line) {
            return None;
        }
        self.labels.metadata = metadata.to_vec();
        Some(LineResult {
            line,
            labels: &self.labels,
            value: None,
        })
    }
}
