//! Prometheus' alert templates on the shared Go template engine: the data
//! (`.Labels`, `.Value`, `.ExternalLabels`, `.ExternalURL` and the `$labels`,
//! `$value`, `$externalLabels`, `$externalURL` variables) and the function
//! table of Prometheus' template reference (`humanize*`, `query`, `first`,
//! `label`, `value`, `sortByLabel`, `args`, `title`, `match`, ...).
//!
//! As Prometheus (2.42) does, the template text is prefixed with the
//! variable definitions, named `__alert_<rule>`, and executed as a text
//! (not HTML) template with `missingkey=zero`: a missing label is `""`.
//! The data and the query samples are Go structs (a misspelt field such
//! as `.labels` is an error, as in Prometheus), the label maps
//! `map[string]string`.
//!
//! - [`funcs`]: the function table.
//! - [`humanize`]: the number formatting functions.
//! - [`text`]: the string functions.

mod funcs;
mod humanize;
#[cfg(test)]
mod tests;
mod text;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::template::{LateFn, MissingKey, Options, Struct, Template, TemplateError, Value};

/// One sample of a template's `query` result.
#[derive(Clone, Debug, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Runs a query for the template `query` function at the evaluation time.
pub type QueryFn<'a> = dyn Fn(&str) -> Result<Vec<QuerySample>, String> + 'a;

/// What an alert's label and annotation templates see.
pub struct TemplateData<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub value: f64,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
}

/// The variable definitions Prometheus puts before every alert template.
pub const PRELUDE: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

/// The Go template name of an alerting rule's templates: `__alert_<rule>`.
/// A name already carrying the prefix is kept as it is.
pub fn template_name(rule: &str) -> Cow<'_, str> {
    if rule.starts_with("__alert_") {
        Cow::Borrowed(rule)
    } else {
        Cow::Owned(format!("__alert_{rule}"))
    }
}

/// Parses the prelude and `text` as template `__alert_<name>` with the
/// alert function table.
fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
    let src = format!("{PRELUDE}{text}");
    Template::parse(&template_name(name), &src, funcs::alert_funcs()).map(|t| {
        t.with_options(Options {
            missing_key: MissingKey::TypedZero,
        })
    })
}

/// Parses a template as Prometheus would (with its variable prelude and
/// functions), for rule file validation. `name` is the alerting rule's
/// name; the error is Go's (`template: __alert_<name>:1: function "x" not
/// defined`), as `promtool check rules` reports it after `label "k": ` or
/// `annotation "k": `.
pub fn check(name: &str, text: &str) -> Result<(), String> {
    parse(name, text).map(|_| ()).map_err(|e| e.msg)
}

fn string_map<'a>(m: &'a BTreeMap<String, String>) -> Value<'a> {
    Value::map(
        m.iter()
            .map(|(k, v)| (k.as_str(), Value::Str(Cow::Borrowed(v.as_str())))),
    )
}

/// Go's name of the type of Prometheus' `AlertTemplateData`.
const DATA_TYPE: &str = "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }";

/// Go's name of a query result sample's type.
pub(crate) const SAMPLE_TYPE: &str = "*template.sample";

/// The template's `.`: Prometheus' `AlertTemplateData`.
fn data_value<'a>(data: &TemplateData<'a>) -> Value<'a> {
    Value::Struct(Arc::new(Struct {
        type_name: DATA_TYPE,
        fields: vec![
            ("Labels", string_map(data.labels)),
            ("ExternalLabels", string_map(data.external_labels)),
            ("ExternalURL", Value::Str(Cow::Borrowed(data.external_url))),
            ("Value", Value::Float(data.value)),
        ],
        pointer: false,
    }))
}

/// A query result as templates see it: a list of `*sample{Labels, Value}`.
fn samples_value(samples: Vec<QuerySample>) -> Value<'static> {
    Value::list(samples.into_iter().map(|smp| {
        let labels = Value::map(
            smp.labels
                .into_iter()
                .map(|(k, v)| (k, Value::Str(Cow::Owned(v)))),
        );
        Value::Struct(Arc::new(Struct {
            type_name: SAMPLE_TYPE,
            fields: vec![("Labels", labels), ("Value", Value::Float(smp.value))],
            pointer: true,
        }))
    }))
}

/// Expands `text` for one alert. `name` is the alerting rule's name (the
/// template is named `__alert_<name>`). `ts_ms` is the evaluation time,
/// at which `query` runs its queries. Errors are returned with
/// Prometheus' wording (`error executing template __alert_X: template:
/// ...`); the caller writes `<error expanding template: ...>` in the
/// value as Prometheus does.
pub fn expand(
    name: &str,
    text: &str,
    data: &TemplateData<'_>,
    ts_ms: i64,
    query: &QueryFn<'_>,
) -> Result<String, String> {
    let _ = ts_ms;
    AlertTemplate::parse(name, text)?.expand(data, query)
}

/// A parsed alert template, to expand for many alerts of one rule
/// without parsing again. [`expand`] is `parse` then `expand`.
#[derive(Debug)]
pub struct AlertTemplate {
    tmpl: Template,
}

impl AlertTemplate {
    /// Parses `text` for the alerting rule `name`; the error reads
    /// `error parsing template __alert_<name>: template: ...`.
    pub fn parse(name: &str, text: &str) -> Result<AlertTemplate, String> {
        parse(name, text)
            .map(|tmpl| AlertTemplate { tmpl })
            .map_err(|e| format!("error parsing template {}: {}", template_name(name), e.msg))
    }

    /// Expands for one alert; `query` answers the template's `query`
    /// calls at the evaluation time.
    pub fn expand(&self, data: &TemplateData<'_>, query: &QueryFn<'_>) -> Result<String, String> {
        let tmpl = &self.tmpl;
        let dot = data_value(data);
        let query_fn = late_fn(|args| {
            let q = funcs::arg_str(args, 0)?;
            query(q).map(samples_value)
        });
        let url_fn = late_fn(|_| Ok(Value::str(data.external_url)));
        let prefix = text::path_prefix(data.external_url);
        let prefix_fn = late_fn(|_| Ok(Value::str(prefix.as_str())));
        // `tmpl` runs a named template of this one; inside it, `tmpl`
        // itself is not available again (it yields nothing).
        let no_tmpl = late_fn(|_| Ok(Value::str("")));
        let inner: [&LateFn<'_>; 4] = [&query_fn, &no_tmpl, &url_fn, &prefix_fn];
        let tmpl_fn = late_fn(|args| {
            let which = funcs::arg_str(args, 0)?;
            let mut out = String::new();
            tmpl.execute_template_into(which, &args[1], &inner, &mut out)
                .map_err(|e| e.msg)?;
            Ok(Value::Str(Cow::Owned(out)))
        });
        // In slot order: funcs::{QUERY, TMPL, EXTERNAL_URL, PATH_PREFIX}_SLOT.
        let late: [&LateFn<'_>; 4] = [&query_fn, &tmpl_fn, &url_fn, &prefix_fn];
        let mut out = String::new();
        tmpl.execute_into(&dot, &late, &mut out)
            .map_err(|e| format!("error executing template {}: {}", tmpl.name(), e.msg))?;
        Ok(out)
    }
}

/// Pins a closure to one value lifetime, as [`LateFn`] wants it.
fn late_fn<'a, F>(f: F) -> F
where
    F: Fn(&[Value<'a>]) -> Result<Value<'a>, String> + 'a,
{
    f
}
