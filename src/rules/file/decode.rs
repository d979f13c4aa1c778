//! Decoding a rule file's YAML tree into groups and rules, with the
//! positions of their fields, as Prometheus' strict YAML decoding does it:
//! unknown and repeated keys, wrong types and malformed durations are
//! problems here; what the values mean is checked by `validate`.

use std::time::Duration;

use super::yaml::{Kind, Node, Pos};
use super::QueryLanguage;

/// A problem at a position, before the group and rule context is added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    pub message: String,
}

/// A string scalar and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    pub value: String,
    pub pos: Pos,
}

/// One `key: value` of a `labels` or `annotations` mapping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub key_pos: Pos,
    pub value: String,
    pub value_pos: Pos,
}

/// The whole file as decoded.
#[derive(Debug, Default)]
pub struct RawFile {
    pub groups: Vec<RawGroup>,
    /// Problems outside any group.
    pub problems: Vec<Problem>,
}

/// One group as decoded.
#[derive(Debug, Default)]
pub struct RawGroup {
    pub pos: Pos,
    pub name: String,
    pub interval: Option<Duration>,
    pub query_offset: Option<Duration>,
    pub limit: usize,
    pub labels: Vec<Entry>,
    /// `None`: not given (the file's default applies).
    pub language: Option<QueryLanguage>,
    pub rules: Vec<RawRule>,
    /// Problems in the group's own fields.
    pub problems: Vec<Problem>,
}

/// One rule as decoded.
#[derive(Debug, Default)]
pub struct RawRule {
    pub pos: Pos,
    pub record: Option<Scalar>,
    pub alert: Option<Scalar>,
    pub expr: Option<Scalar>,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub labels: Vec<Entry>,
    pub annotations: Vec<Entry>,
    pub problems: Vec<Problem>,
    /// Fields whose value was malformed (already reported): not to be
    /// reported again as missing.
    pub malformed: Vec<&'static str>,
}

impl RawRule {
    /// The rule's name as Prometheus reports it: the alert name, else the
    /// recorded metric name.
    pub fn name(&self) -> String {
        match (&self.alert, &self.record) {
            (Some(a), _) if !a.value.is_empty() => a.value.clone(),
            (_, Some(r)) => r.value.clone(),
            _ => String::new(),
        }
    }
}

const FILE_FIELDS: &[&str] = &["groups"];
const GROUP_FIELDS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "labels",
    "language",
    "rules",
];
const RULE_FIELDS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Decodes the document's root node (`None`: an empty file).
pub fn decode_file(root: Option<&Node>) -> RawFile {
    let mut file = RawFile::default();
    let Some(root) = root else {
        return file;
    };
    let entries = mapping(root, "the rule file", &mut file.problems);
    for (key, _, value) in known_fields(entries, FILE_FIELDS, "rule file", &mut file.problems) {
        if key == "groups" {
            match &value.kind {
                Kind::Null => {}
                Kind::Seq(items) => file.groups = items.iter().map(decode_group).collect(),
                other => file.problems.push(type_problem(
                    value.pos,
                    "groups",
                    "a sequence of groups",
                    other,
                )),
            }
        }
    }
    file
}

fn decode_group(node: &Node) -> RawGroup {
    let mut g = RawGroup {
        pos: node.pos,
        ..RawGroup::default()
    };
    let entries = mapping(node, "a group", &mut g.problems);
    for (key, _, value) in known_fields(entries, GROUP_FIELDS, "group", &mut g.problems) {
        match key.as_str() {
            "name" => {
                if let Some(s) = string(value, "name", &mut g.problems) {
                    g.name = s.value;
                }
            }
            // `interval: 0s` is the default interval, as in Prometheus.
            "interval" => {
                g.interval = duration(value, &mut g.problems).filter(|d| !d.is_zero());
            }
            "query_offset" => g.query_offset = duration(value, &mut g.problems),
            "limit" => match &value.kind {
                Kind::Null => {}
                // Prometheus treats a negative limit as no limit.
                Kind::Int(i) => g.limit = usize::try_from(*i).unwrap_or(0),
                other => g
                    .problems
                    .push(type_problem(value.pos, "limit", "an integer", other)),
            },
            "labels" => g.labels = string_map(value, "labels", &mut g.problems),
            "language" => {
                if let Some(s) = string(value, "language", &mut g.problems) {
                    match s.value.to_ascii_lowercase().as_str() {
                        "promql" => g.language = Some(QueryLanguage::PromQL),
                        "logql" => g.language = Some(QueryLanguage::LogQL),
                        _ => g.problems.push(Problem {
                            pos: s.pos,
                            message: format!(
                                "unknown language {:?}: must be promql or logql",
                                s.value
                            ),
                        }),
                    }
                }
            }
            "rules" => match &value.kind {
                Kind::Null => {}
                Kind::Seq(items) => g.rules = items.iter().map(decode_rule).collect(),
                other => g.problems.push(type_problem(
                    value.pos,
                    "rules",
                    "a sequence of rules",
                    other,
                )),
            },
            _ => {}
        }
    }
    g
}

fn decode_rule(node: &Node) -> RawRule {
    let mut r = RawRule {
        pos: node.pos,
        ..RawRule::default()
    };
    let entries = mapping(node, "a rule", &mut r.problems);
    for (key, _, value) in known_fields(entries, RULE_FIELDS, "rule", &mut r.problems) {
        let before = r.problems.len();
        match key.as_str() {
            "record" => r.record = string(value, "record", &mut r.problems),
            "alert" => r.alert = string(value, "alert", &mut r.problems),
            "expr" => r.expr = string(value, "expr", &mut r.problems),
            "for" => r.for_ = duration(value, &mut r.problems).unwrap_or_default(),
            "keep_firing_for" => {
                r.keep_firing_for = duration(value, &mut r.problems).unwrap_or_default()
            }
            "labels" => r.labels = string_map(value, "labels", &mut r.problems),
            "annotations" => r.annotations = string_map(value, "annotations", &mut r.problems),
            _ => {}
        }
        if r.problems.len() > before {
            if let Some(f) = RULE_FIELDS.iter().find(|f| **f == key) {
                r.malformed.push(f);
            }
        }
    }
    r
}

/// The entries of a mapping node with string keys (null: none). Repeated
/// keys are reported and only the first is kept.
fn mapping<'a>(
    node: &'a Node,
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, Pos, &'a Node)> {
    let entries = match &node.kind {
        Kind::Null => return Vec::new(),
        Kind::Map(entries) => entries,
        other => {
            problems.push(Problem {
                pos: node.pos,
                message: format!("{what} must be a mapping, got {}", other.type_name()),
            });
            return Vec::new();
        }
    };
    let mut out: Vec<(String, Pos, &Node)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Some(key) = k.kind.as_string() else {
            problems.push(Problem {
                pos: k.pos,
                message: format!("a key must be a scalar, got {}", k.kind.type_name()),
            });
            continue;
        };
        if let Some((_, first, _)) = out.iter().find(|(seen, _, _)| *seen == key) {
            problems.push(Problem {
                pos: k.pos,
                message: format!("mapping key {key:?} already defined at line {}", first.line),
            });
            continue;
        }
        out.push((key, k.pos, v));
    }
    out
}

/// Keeps the entries whose key is one of `fields`; reports the others.
fn known_fields<'a>(
    entries: Vec<(String, Pos, &'a Node)>,
    fields: &[&str],
    what: &str,
    problems: &mut Vec<Problem>,
) -> Vec<(String, Pos, &'a Node)> {
    entries
        .into_iter()
        .filter(|(key, pos, _)| {
            let known = fields.contains(&key.as_str());
            if !known {
                problems.push(Problem {
                    pos: *pos,
                    message: format!(
                        "field {key} not found in {what} (known fields: {})",
                        fields.join(", ")
                    ),
                });
            }
            known
        })
        .collect()
}

fn type_problem(pos: Pos, field: &str, expected: &str, got: &Kind) -> Problem {
    Problem {
        pos,
        message: format!("{field}: expected {expected}, got {}", got.type_name()),
    }
}

/// A scalar field as a string (null is empty, numbers as written).
fn string(node: &Node, field: &str, problems: &mut Vec<Problem>) -> Option<Scalar> {
    match node.kind.as_string() {
        Some(value) => Some(Scalar {
            value,
            pos: node.pos,
        }),
        None => {
            problems.push(type_problem(node.pos, field, "a string", &node.kind));
            None
        }
    }
}

/// A Prometheus duration field (`1h30m`, `0s`); null is absent.
fn duration(node: &Node, problems: &mut Vec<Problem>) -> Option<Duration> {
    if node.kind == Kind::Null {
        return None;
    }
    let text = node.kind.as_string().unwrap_or_default();
    let parsed = if text.is_empty() {
        Err("empty duration string".to_string())
    } else if text.trim() != text {
        Err(format!("not a valid duration string: {text:?}"))
    } else {
        crate::units::parse_duration(&text)
    };
    match parsed {
        Ok(d) => Some(d),
        Err(message) => {
            problems.push(Problem {
                pos: node.pos,
                message,
            });
            None
        }
    }
}

/// A mapping of strings (`labels`, `annotations`); null is empty.
fn string_map(node: &Node, field: &str, problems: &mut Vec<Problem>) -> Vec<Entry> {
    if !matches!(node.kind, Kind::Null | Kind::Map(_)) {
        problems.push(type_problem(
            node.pos,
            field,
            "a mapping of strings",
            &node.kind,
        ));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, key_pos, value) in mapping(node, field, problems) {
        match value.kind.as_string() {
            Some(v) => out.push(Entry {
                key,
                key_pos,
                value: v,
                value_pos: value.pos,
            }),
            None => problems.push(type_problem(
                value.pos,
                &format!("{field}: {key}"),
                "a string",
                &value.kind,
            )),
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}
