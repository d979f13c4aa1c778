//! What a decoded rule file's values mean, checked as Prometheus 2.42's
//! `rulefmt` does (`RuleGroups.Validate`, `RuleNode.Validate`,
//! `testTemplateParsing`), with the same messages: group names present
//! and unique, `record` xor `alert`, expressions that parse (PromQL, or
//! LogQL in log groups), valid metric, label and annotation names, no
//! alerting-only fields on recording rules, alert templates that parse.

use std::collections::HashSet;

use super::decode::{Problem, RawFile, RawGroup, RawRule};
use super::yaml::Pos;
use super::{QueryLanguage, RuleFileError};
use crate::model::labels::{is_valid_label_name, is_valid_metric_name};

/// Every problem of the file, structural ones (from decoding) included,
/// in file order: top level, then each group and its rules.
pub fn validate(path: &str, file: &RawFile, default_language: QueryLanguage) -> Vec<RuleFileError> {
    let mut errors: Vec<RuleFileError> = file
        .problems
        .iter()
        .map(|p| error(path, p.pos, None, None, p.message.clone()))
        .collect();
    let mut seen = HashSet::new();
    for g in &file.groups {
        validate_group(path, g, default_language, &mut seen, &mut errors);
    }
    errors
}

fn error(
    path: &str,
    pos: Pos,
    group: Option<&str>,
    rule: Option<(usize, &str)>,
    message: String,
) -> RuleFileError {
    RuleFileError {
        file: path.to_string(),
        line: pos.line,
        col: pos.col,
        group: group.map(str::to_string),
        rule_index: rule.map(|(i, _)| i),
        rule_name: rule.map(|(_, n)| n.to_string()),
        message,
    }
}

fn validate_group(
    path: &str,
    g: &RawGroup,
    default_language: QueryLanguage,
    seen: &mut HashSet<String>,
    errors: &mut Vec<RuleFileError>,
) {
    let name = Some(g.name.as_str());
    for p in &g.problems {
        errors.push(error(path, p.pos, name, None, p.message.clone()));
    }
    if g.name.is_empty() {
        errors.push(error(
            path,
            g.pos,
            None,
            None,
            "Groupname must not be empty".into(),
        ));
    }
    if !seen.insert(g.name.clone()) {
        errors.push(error(
            path,
            g.pos,
            None,
            None,
            format!("groupname: \"{}\" is repeated in the same file", g.name),
        ));
    }
    for l in &g.labels {
        if !is_valid_label_name(&l.key) || l.key == "__name__" {
            errors.push(error(
                path,
                l.key_pos,
                name,
                None,
                format!("invalid label name: {}", l.key),
            ));
        }
    }
    let language = g.language.unwrap_or(default_language);
    for (i, r) in g.rules.iter().enumerate() {
        let rule_name = r.name();
        let ctx = Some((i + 1, rule_name.as_str()));
        for p in r.problems.iter().chain(validate_rule(r, language).iter()) {
            errors.push(error(path, p.pos, name, ctx, p.message.clone()));
        }
    }
}

/// `RuleNode.Validate` and `testTemplateParsing` for one rule.
fn validate_rule(r: &RawRule, language: QueryLanguage) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut push = |pos: Pos, message: String| out.push(Problem { pos, message });
    let record = r.record.as_ref().filter(|s| !s.value.is_empty());
    let alert = r.alert.as_ref().filter(|s| !s.value.is_empty());
    let malformed = |f: &str| r.malformed.contains(&f);

    match (record, alert) {
        (Some(rec), Some(_)) => push(
            rec.pos,
            "only one of 'record' and 'alert' must be set".into(),
        ),
        (None, None) if !malformed("record") && !malformed("alert") => {
            let pos = r
                .record
                .as_ref()
                .or(r.alert.as_ref())
                .map_or(r.pos, |s| s.pos);
            push(pos, "one of 'record' or 'alert' must be set".into());
        }
        _ => {}
    }

    match r.expr.as_ref().filter(|e| !e.value.is_empty()) {
        None if !malformed("expr") => {
            let pos = r.expr.as_ref().map_or(r.pos, |s| s.pos);
            push(pos, "field 'expr' must be set in rule".into());
        }
        None => {}
        Some(expr) => {
            if let Err(e) = parse_expr(&expr.value, language) {
                push(expr.pos, format!("could not parse expression: {e}"));
            }
        }
    }

    if let Some(rec) = record {
        if !r.annotations.is_empty() {
            push(
                rec.pos,
                "invalid field 'annotations' in recording rule".into(),
            );
        }
        if !r.for_.is_zero() {
            push(rec.pos, "invalid field 'for' in recording rule".into());
        }
        if !r.keep_firing_for.is_zero() {
            push(
                rec.pos,
                "invalid field 'keep_firing_for' in recording rule".into(),
            );
        }
        if !is_valid_metric_name(&rec.value) {
            push(
                rec.pos,
                format!("invalid recording rule name: {}", rec.value),
            );
        }
    }

    for l in &r.labels {
        if !is_valid_label_name(&l.key) || l.key == "__name__" {
            push(l.key_pos, format!("invalid label name: {}", l.key));
        }
    }
    for a in &r.annotations {
        if !is_valid_label_name(&a.key) {
            push(a.key_pos, format!("invalid annotation name: {}", a.key));
        }
    }

    // Only alerting rules' labels and annotations are templates.
    if let Some(alert) = alert {
        let name = format!("__alert_{}", alert.value);
        for (what, entries) in [("label", &r.labels), ("annotation", &r.annotations)] {
            for e in entries {
                if let Err(err) = crate::rules::template::check(&name, &e.value) {
                    push(e.value_pos, format!("{what} {:?}: {err}", e.key));
                }
            }
        }
    }
    out
}

/// Parses a rule's expression in its group's language. A LogQL rule must
/// be a metric query: a log query has no samples to record or alert on.
pub fn parse_expr(expr: &str, language: QueryLanguage) -> Result<(), String> {
    match language {
        QueryLanguage::PromQL => crate::promql::parser::parse(expr)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        QueryLanguage::LogQL => match crate::logql::parse(expr) {
            Ok(crate::logql::ast::Expr::Sample(_)) => Ok(()),
            Ok(crate::logql::ast::Expr::Log(_)) => Err(
                "a log query returns log lines, not samples: a rule needs a metric query such as count_over_time({...}[5m])"
                    .into(),
            ),
            Err(e) => Err(e.to_string()),
        },
    }
}
