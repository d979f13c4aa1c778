//! The bridge to `line_format` / `label_format` templates
//! (`crate::logql::format`, written separately). Until that module is in
//! this branch, the stages compile against this stand-in, which rejects
//! the templates at build time.

use crate::logql::ast::LabelFormatOp;

/// A label change made by `label_format`.
#[allow(dead_code)] // built only by the real formatter
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelChange {
    Set(String, String),
    Remove(String),
}

/// Stand-in for `crate::logql::format::LineFormatter`.
#[derive(Debug)]
pub struct LineFormatter;

impl LineFormatter {
    pub fn new(_template: &str) -> Result<LineFormatter, String> {
        Err("line_format is not available in this build".into())
    }
    pub fn format(
        &self,
        line: &str,
        _ts_ns: i64,
        _labels: &[(&str, &str)],
    ) -> Result<String, String> {
        Ok(line.to_string())
    }
}

/// Stand-in for `crate::logql::format::LabelFormatter`.
#[derive(Debug)]
pub struct LabelFormatter;

impl LabelFormatter {
    pub fn new(_ops: &[LabelFormatOp]) -> Result<LabelFormatter, String> {
        Err("label_format is not available in this build".into())
    }
    pub fn apply(
        &self,
        _line: &str,
        _ts_ns: i64,
        _labels: &[(&str, &str)],
    ) -> Result<Vec<LabelChange>, String> {
        Ok(Vec::new())
    }
}
