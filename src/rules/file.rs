//! Rule files in Prometheus' format (`groups: [{name, interval, rules: [...]}]`),
//! also the Loki ruler's (LogQL expressions): parsing with positions,
//! validation as `promtool check rules` does it, and loading by glob.
//!
//! Cairn's one extension: a group may say `language: logql` (default
//! `promql`); files configured as log rule files default to LogQL.

mod decode;
mod paths;
mod validate;
mod yaml;

use std::collections::BTreeMap;
use std::time::Duration;

pub use validate::parse_expr;

/// The query language of a group's expressions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum QueryLanguage {
    #[default]
    PromQL,
    LogQL,
}

/// A parsed, valid rule file.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleFile {
    pub path: String,
    pub groups: Vec<GroupSpec>,
}

/// One group as written in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupSpec {
    pub name: String,
    /// `None`: the configured default evaluation interval.
    pub interval: Option<Duration>,
    /// Evaluate at `t - query_offset` (Prometheus' `query_offset`).
    pub query_offset: Option<Duration>,
    /// Most alerts (alerting rules) or series (recording rules) one rule
    /// may produce; more fails the rule. 0: no limit.
    pub limit: usize,
    /// Labels added to every rule of the group (rule labels win).
    pub labels: BTreeMap<String, String>,
    pub language: QueryLanguage,
    pub rules: Vec<RuleSpec>,
}

/// Whether a rule records or alerts, with its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// The metric name the result is written under.
    Record(String),
    /// The `alertname`.
    Alert(String),
}

/// One rule as written in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    pub kind: RuleKind,
    pub expr: String,
    /// Alerting only.
    pub for_: Duration,
    /// Alerting only.
    pub keep_firing_for: Duration,
    /// Label templates (alerting) or fixed labels (recording).
    pub labels: BTreeMap<String, String>,
    /// Annotation templates (alerting only).
    pub annotations: BTreeMap<String, String>,
}

impl RuleSpec {
    pub fn name(&self) -> &str {
        match &self.kind {
            RuleKind::Record(n) | RuleKind::Alert(n) => n,
        }
    }
}

/// One problem in a rule file, located as precisely as known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleFileError {
    pub file: String,
    /// 1-based line and column of the offending node (0: unknown).
    pub line: usize,
    pub col: usize,
    pub group: Option<String>,
    /// 1-based index of the rule in its group.
    pub rule_index: Option<usize>,
    pub rule_name: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RuleFileError {
    /// As promtool prints it: `<file>: <line>:<col>: group "g", rule 2,
    /// "Name": <message>` (no position when unknown; `group "g": ` for a
    /// problem of a group's own fields).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:", self.file)?;
        if self.line > 0 {
            write!(f, " {}:{}:", self.line, self.col)?;
        }
        match (&self.group, self.rule_index) {
            (g, Some(i)) => write!(
                f,
                " group {:?}, rule {i}, {:?}:",
                g.as_deref().unwrap_or(""),
                self.rule_name.as_deref().unwrap_or("")
            )?,
            (Some(g), None) => write!(f, " group {g:?}:")?,
            (None, None) => {}
        }
        write!(f, " {}", self.message)
    }
}

/// Parses and validates one rule file's content. Every problem found is
/// reported, not only the first. `path` is only used in the errors and
/// the result.
pub fn parse_rule_file(
    path: &str,
    content: &str,
    default_language: QueryLanguage,
) -> Result<RuleFile, Vec<RuleFileError>> {
    let root = match yaml::parse_document(content) {
        Ok(root) => root,
        Err(e) => {
            return Err(vec![RuleFileError {
                file: path.to_string(),
                line: e.pos.line,
                col: e.pos.col,
                group: None,
                rule_index: None,
                rule_name: None,
                message: format!("yaml: {}", e.message),
            }])
        }
    };
    let raw = decode::decode_file(root.as_ref());
    let errors = validate::validate(path, &raw, default_language);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RuleFile {
        path: path.to_string(),
        groups: raw
            .groups
            .into_iter()
            .map(|g| group_spec(g, default_language))
            .collect(),
    })
}

/// A valid decoded group as the rest of Cairn sees it.
fn group_spec(g: decode::RawGroup, default_language: QueryLanguage) -> GroupSpec {
    GroupSpec {
        name: g.name,
        interval: g.interval,
        query_offset: g.query_offset,
        limit: g.limit,
        labels: entries_map(g.labels),
        language: g.language.unwrap_or(default_language),
        rules: g.rules.into_iter().map(rule_spec).collect(),
    }
}

fn rule_spec(r: decode::RawRule) -> RuleSpec {
    let kind = match (r.alert, r.record) {
        (Some(a), _) if !a.value.is_empty() => RuleKind::Alert(a.value),
        (_, r) => RuleKind::Record(r.map(|s| s.value).unwrap_or_default()),
    };
    RuleSpec {
        kind,
        expr: r.expr.map(|s| s.value).unwrap_or_default(),
        for_: r.for_,
        keep_firing_for: r.keep_firing_for,
        labels: entries_map(r.labels),
        annotations: entries_map(r.annotations),
    }
}

fn entries_map(entries: Vec<decode::Entry>) -> BTreeMap<String, String> {
    entries.into_iter().map(|e| (e.key, e.value)).collect()
}

/// Expands `patterns` (globs; a plain path is a pattern matching itself)
/// and parses every file, in path order, each file once. A pattern
/// matching nothing is not an error (as in Prometheus); an invalid pattern
/// or an unreadable file is. The same group name may appear in two files.
pub fn load_rule_files(
    patterns: &[String],
    default_language: QueryLanguage,
) -> Result<Vec<RuleFile>, Vec<RuleFileError>> {
    let (files, errors) = load_rule_files_partial(patterns, default_language);
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(errors)
    }
}

/// As [`load_rule_files`], but keeps the files that load when others fail:
/// the valid files, and the errors of the rest (each naming its file).
/// Every path is loaded once, even if several patterns match it.
pub fn load_rule_files_partial(
    patterns: &[String],
    default_language: QueryLanguage,
) -> (Vec<RuleFile>, Vec<RuleFileError>) {
    let (paths, mut errors) = paths::expand(patterns);
    let mut files = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(content) => match parse_rule_file(&shown, &content, default_language) {
                Ok(f) => files.push(f),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(RuleFileError {
                file: shown,
                line: 0,
                col: 0,
                group: None,
                rule_index: None,
                rule_name: None,
                message: format!("cannot read the file: {e}"),
            }),
        }
    }
    (files, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: usize, group: Option<&str>, rule: Option<(usize, &str)>) -> String {
        RuleFileError {
            file: "r.yml".into(),
            line,
            col: if line > 0 { 7 } else { 0 },
            group: group.map(str::to_string),
            rule_index: rule.map(|r| r.0),
            rule_name: rule.map(|r| r.1.to_string()),
            message: "boom".into(),
        }
        .to_string()
    }

    #[test]
    fn errors_print_like_promtool() {
        assert_eq!(
            err(3, Some("g"), Some((2, "A\"x"))),
            "r.yml: 3:7: group \"g\", rule 2, \"A\\\"x\": boom"
        );
        assert_eq!(
            err(0, Some("g"), Some((1, ""))),
            "r.yml: group \"g\", rule 1, \"\": boom"
        );
        assert_eq!(err(3, Some("g"), None), "r.yml: 3:7: group \"g\": boom");
        assert_eq!(err(0, None, None), "r.yml: boom");
    }
}
