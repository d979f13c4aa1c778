//! The bridge to the `line_format` / `label_format` formatters of
//! [`crate::logql::format`] (Go templates with Loki's functions).

pub use crate::logql::format::{LabelChange, LabelFormatter, LineFormatter};
