//! The parameters of `/api/v1/rules` and how they select groups and rules,
//! as Prometheus' `rules` handler: `type=alert|record`, `rule_name[]`,
//! `rule_group[]`, `file[]`, `match[]` (series selectors matched against
//! each rule's own labels), `exclude_alerts`, and `group_limit` with
//! `group_next_token` (the token names the first group of the next page,
//! `hex(sha1(file;group))`). Groups left without rules are omitted.

use std::collections::BTreeSet;

use serde_json::Value;

use super::render;
use super::sha1::sha1_hex;
use crate::api::error::PromError;
use crate::api::params::Params;
use crate::model::Matcher;
use crate::promql::parse_series_selector;
use crate::rules::view::{GroupView, RuleView};

/// Which kind of rule `type` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Alert,
    Record,
}

/// A parsed `/api/v1/rules` request.
#[derive(Debug, Default)]
pub struct RulesFilter {
    pub kind: Option<Kind>,
    pub rule_names: BTreeSet<String>,
    pub rule_groups: BTreeSet<String>,
    pub files: BTreeSet<String>,
    pub matcher_sets: Vec<Vec<Matcher>>,
    pub exclude_alerts: bool,
    /// `group_limit`, and the token of the page to start at.
    pub page: Option<(usize, Option<String>)>,
}

/// Prometheus' `invalidParamError`.
fn invalid(param: &str, msg: impl std::fmt::Display) -> PromError {
    PromError::bad_data(format!("invalid parameter {param:?}: {msg}"))
}

/// Go's `strconv.ParseBool` on an already lower-cased value.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "true" => Some(true),
        "0" | "f" | "false" => Some(false),
        _ => None,
    }
}

impl RulesFilter {
    pub fn parse(p: &Params) -> Result<RulesFilter, PromError> {
        let set = |key: &str| -> BTreeSet<String> {
            p.all(key).into_iter().map(str::to_string).collect()
        };
        let mut matcher_sets = Vec::new();
        for raw in p.all("match[]") {
            let ms = parse_series_selector(raw).map_err(|e| invalid("match[]", e))?;
            if ms.iter().all(Matcher::matches_empty) {
                return Err(invalid(
                    "match[]",
                    "match[] must contain at least one non-empty matcher",
                ));
            }
            matcher_sets.push(ms);
        }
        let kind = match p.get("type").map(str::to_ascii_lowercase).as_deref() {
            None | Some("") => None,
            Some("alert") => Some(Kind::Alert),
            Some("record") => Some(Kind::Record),
            Some(other) => return Err(invalid("type", format!("not supported value {other:?}"))),
        };
        let exclude_alerts = match p.get("exclude_alerts").map(str::to_ascii_lowercase) {
            None => false,
            Some(s) if s.is_empty() => false,
            Some(s) => parse_bool(&s).ok_or_else(|| {
                invalid(
                    "exclude_alerts",
                    format!(
                        "error converting exclude_alerts: strconv.ParseBool: parsing {s:?}: invalid syntax"
                    ),
                )
            })?,
        };
        Ok(RulesFilter {
            kind,
            rule_names: set("rule_name[]"),
            rule_groups: set("rule_group[]"),
            files: set("file[]"),
            matcher_sets,
            exclude_alerts,
            page: parse_page(p)?,
        })
    }

    /// The JSON of the selected groups, and the next page's token if any.
    pub fn apply(&self, groups: &[GroupView]) -> Result<(Vec<Value>, Option<String>), PromError> {
        let (limit, token) = match &self.page {
            Some((l, t)) => (Some(*l), t.as_deref()),
            None => (None, None),
        };
        let mut out = Vec::new();
        let mut next = None;
        let mut found_token = token.is_none();
        for g in groups {
            if !found_token {
                if token != Some(group_token(g).as_str()) {
                    continue;
                }
                found_token = true;
            }
            if !self.rule_groups.is_empty() && !self.rule_groups.contains(&g.name) {
                continue;
            }
            if !self.files.is_empty() && !self.files.contains(&g.file) {
                continue;
            }
            let rules: Vec<Value> = g
                .rules
                .iter()
                .filter(|r| self.keeps(r))
                .map(|r| render::rule(r, self.exclude_alerts))
                .collect();
            if rules.is_empty() {
                continue;
            }
            if limit == Some(out.len()) {
                // One group beyond the page: there is a next page.
                next = Some(group_token(g));
                break;
            }
            out.push(render::group(g, rules));
        }
        if !found_token {
            return Err(invalid(
                "group_next_token",
                format!(
                    "invalid group_next_token '{}'. were rule groups changed?",
                    token.unwrap_or_default()
                ),
            ));
        }
        Ok((out, next))
    }

    fn keeps(&self, r: &RuleView) -> bool {
        let c = r.common();
        let kind_ok = matches!(
            (self.kind, r),
            (None, _)
                | (Some(Kind::Alert), RuleView::Alerting { .. })
                | (Some(Kind::Record), RuleView::Recording(_))
        );
        kind_ok
            && (self.rule_names.is_empty() || self.rule_names.contains(&c.name))
            && (self.matcher_sets.is_empty()
                || self.matcher_sets.iter().any(|ms| {
                    ms.iter()
                        .all(|m| m.matches(c.labels.get(&m.name).map(String::as_str).unwrap_or("")))
                }))
    }
}

/// The pagination token of a group: `hex(sha1(file + ";" + name))`.
pub fn group_token(g: &GroupView) -> String {
    sha1_hex(format!("{};{}", g.file, g.name).as_bytes())
}

/// `group_limit` and `group_next_token` (Prometheus'
/// `parseListRulesPaginationRequest`).
fn parse_page(p: &Params) -> Result<Option<(usize, Option<String>)>, PromError> {
    let limit = p.get("group_limit").unwrap_or("");
    let token = p.get("group_next_token").unwrap_or("");
    if !token.is_empty() && limit.is_empty() {
        return Err(invalid(
            "group_next_token",
            "group_limit needs to be present in order to paginate over the groups",
        ));
    }
    if limit.is_empty() {
        return Ok(None);
    }
    let n: i32 = limit.parse().map_err(|_| {
        invalid(
            "group_limit",
            format!(
                "group_limit needs to be a valid number: strconv.ParseInt: parsing {limit:?}: invalid syntax"
            ),
        )
    })?;
    if n <= 0 {
        return Err(invalid(
            "group_limit",
            "group_limit needs to be greater than 0",
        ));
    }
    let token = (!token.is_empty()).then(|| token.to_string());
    Ok(Some((n as usize, token)))
}
