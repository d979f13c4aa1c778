//! Rule files: `parse_rule_file` on the files under `tests/testdata/rules/`
//! (exact structures for valid files, exact messages and positions for
//! invalid ones), and an agreement test with `promtool check rules`.
//!
//! `valid/` and `invalid/` are the agreement set: promtool 2.42 must accept
//! (resp. reject) each file as `cairn check-rules` does.
//! `valid/conformance.yaml` is `/work/shared/conformance/alerting/rules.yaml`
//! (the Prometheus alert generator compliance suite) copied in as is, with
//! a comment saying so. `cairn/` holds files using Cairn's extensions
//! (`language: logql`, and group fields newer than promtool 2.42), which
//! promtool rejects; they are tested in-process only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cairn::rules::file::{
    load_rule_files, parse_rule_file, GroupSpec, QueryLanguage, RuleFile, RuleKind, RuleSpec,
};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/rules")
}

/// Parses `tests/testdata/rules/<rel>`, naming it `<rel>` in errors.
fn parse(rel: &str, language: QueryLanguage) -> Result<RuleFile, Vec<String>> {
    let content = std::fs::read_to_string(testdata().join(rel)).unwrap();
    parse_rule_file(rel, &content, language)
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect())
}

fn errors(rel: &str) -> Vec<String> {
    match parse(rel, QueryLanguage::PromQL) {
        Ok(f) => panic!("{rel} parsed: {f:?}"),
        Err(e) => e,
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert(name: &str, expr: &str) -> RuleSpec {
    RuleSpec {
        kind: RuleKind::Alert(name.into()),
        expr: expr.into(),
        for_: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

fn record(name: &str, expr: &str) -> RuleSpec {
    RuleSpec {
        kind: RuleKind::Record(name.into()),
        ..alert("", expr)
    }
}

fn group(name: &str, rules: Vec<RuleSpec>) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        interval: None,
        query_offset: None,
        limit: 0,
        labels: BTreeMap::new(),
        language: QueryLanguage::PromQL,
        rules,
    }
}

const MIN: Duration = Duration::from_secs(60);

// ---- valid files: exact structures ----

#[test]
fn recording_rules() {
    let f = parse("valid/recording.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f,
        RuleFile {
            path: "valid/recording.yaml".into(),
            groups: vec![group(
                "node_recording",
                vec![
                    record(
                        "instance:node_cpu_utilisation:rate5m",
                        "1 - avg without (cpu, mode) (rate(node_cpu_seconds_total{mode=\"idle\"}[5m]))"
                    ),
                    RuleSpec {
                        labels: labels(&[("team", "web"), ("tier", "1")]),
                        ..record(
                            "job:http_requests:rate5m",
                            "sum by (job) (rate(http_requests_total[5m]))"
                        )
                    },
                    record(
                        "job:http_errors:ratio_rate5m",
                        "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))\n  /\nsum by (job) (rate(http_requests_total[5m]))\n"
                    ),
                ]
            )],
        }
    );
}

#[test]
fn alerting_rules_with_templates() {
    let f = parse("valid/alerting.yaml", QueryLanguage::PromQL).unwrap();
    let g = &f.groups[0];
    assert_eq!(g.name, "availability");
    assert_eq!(
        g.rules,
        vec![
            RuleSpec {
                for_: 5 * MIN,
                keep_firing_for: 10 * MIN,
                labels: labels(&[("instance_copy", "{{ $labels.instance }}"), ("severity", "page")]),
                annotations: labels(&[
                    ("description", "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes (value {{ $value | humanize }})."),
                    ("summary", "Instance {{ $labels.instance }} down"),
                ]),
                ..alert("InstanceDown", "up == 0")
            },
            RuleSpec {
                for_: 90 * MIN,
                labels: labels(&[("severity", "ticket")]),
                annotations: labels(&[
                    ("runbook_url", "https://example.com/runbooks/high-error-rate"),
                    ("summary", "Error rate is {{ humanizePercentage $value }}"),
                ]),
                ..alert("HighErrorRate", "job:http_errors:ratio_rate5m > 0.05")
            },
        ]
    );
}

#[test]
fn groups_with_intervals_and_limits() {
    let f = parse("valid/groups_intervals_limits.yaml", QueryLanguage::PromQL).unwrap();
    let page = labels(&[("severity", "page")]);
    let ticket = labels(&[("severity", "ticket")]);
    assert_eq!(
        f.groups,
        vec![
            GroupSpec {
                interval: Some(Duration::from_secs(15)),
                limit: 100,
                ..group("fast", vec![record("job:up:sum", "sum by (job) (up)")])
            },
            GroupSpec {
                interval: Some(5 * MIN),
                ..group(
                    "slow",
                    vec![RuleSpec {
                        labels: page,
                        ..alert("JobDown", "job:up:sum == 0")
                    }]
                )
            },
            group(
                "default-interval",
                vec![RuleSpec {
                    labels: ticket,
                    ..alert("JobDown", "absent(up{job=\"api\"})")
                }]
            ),
        ]
    );
}

#[test]
fn durations_in_prometheus_format() {
    let f = parse("valid/durations.yaml", QueryLanguage::PromQL).unwrap();
    let g = &f.groups[0];
    // `interval: 0s` is the default interval, as in Prometheus.
    assert_eq!(g.interval, None);
    let got: Vec<(&str, Duration, Duration)> = g
        .rules
        .iter()
        .map(|r| (r.name(), r.for_, r.keep_firing_for))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Compound", 90 * MIN, 36 * 60 * MIN),
            ("Zero", Duration::ZERO, Duration::ZERO),
            ("Weeks", 7 * 24 * 60 * MIN, Duration::ZERO),
            ("Millis", Duration::from_millis(1500), Duration::ZERO),
            ("zero:for:allowed", Duration::ZERO, Duration::ZERO),
        ]
    );
}

#[test]
fn scalars_become_strings_and_nulls_are_empty() {
    let f = parse("valid/scalars_and_nulls.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups,
        vec![group(
            "scalars",
            vec![
                RuleSpec {
                    labels: labels(&[
                        ("boolean", "true"),
                        ("float", "1.5"),
                        ("nothing", ""),
                        ("number", "1"),
                    ]),
                    ..alert("Scalars", "1")
                },
                record("numbers", "2 * 3"),
            ]
        )]
    );
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let f = parse("valid/anchors.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups[0].rules,
        vec![
            RuleSpec {
                labels: labels(&[("severity", "page"), ("team", "infra")]),
                ..alert("A", "up == 0")
            },
            RuleSpec {
                labels: labels(&[("severity", "page"), ("team", "db")]),
                ..alert("B", "up == 0")
            },
        ]
    );
}

#[test]
fn flow_style_block_scalars_and_quoted_keys() {
    let f = parse("valid/flow_and_block_styles.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups,
        vec![
            GroupSpec {
                interval: Some(MIN),
                ..group(
                    "flow",
                    vec![
                        record("a:b:sum", "sum(a)"),
                        RuleSpec {
                            for_: 2 * MIN,
                            labels: labels(&[("severity", "warn")]),
                            ..alert("Flow", "a > 1")
                        },
                    ]
                )
            },
            group(
                "block",
                vec![RuleSpec {
                    annotations: labels(&[(
                        "summary",
                        "Multi-line\nsummary for {{ $labels.job }}\n"
                    )]),
                    ..alert("Quoted Name With Spaces", "sum(rate(x_total[1m])) > 3")
                }]
            ),
        ]
    );
}

#[test]
fn empty_files_and_groups() {
    for rel in ["valid/empty.yaml", "valid/comments_only.yaml"] {
        assert_eq!(parse(rel, QueryLanguage::PromQL).unwrap().groups, vec![]);
    }
    let f = parse("valid/empty_groups.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups,
        vec![group("placeholder", vec![]), group("also-empty", vec![])]
    );
}

#[test]
fn the_conformance_rules_load() {
    let f = parse("valid/conformance.yaml", QueryLanguage::PromQL).unwrap();
    let names: Vec<(&str, usize)> = f
        .groups
        .iter()
        .map(|g| (g.name.as_str(), g.rules.len()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("NewAlerts_OrderCheck", 2),
            ("PendingAndFiringAndResolved", 1),
            ("PendingAndResolved_AlwaysInactive", 2),
            ("ZeroFor_SmallFor", 2),
        ]
    );
    assert!(f
        .groups
        .iter()
        .all(|g| g.interval == Some(Duration::from_secs(30))));
    let r = &f.groups[3].rules[1];
    assert_eq!(r.name(), "ZeroFor_SmallFor_SmallFor");
    assert_eq!(r.for_, Duration::from_secs(15));
    assert_eq!(
        r.labels,
        labels(&[("ba_dum", "tss"), ("rulegroup", "ZeroFor_SmallFor")])
    );
}

// ---- Cairn's extensions (not in the promtool agreement set) ----

#[test]
fn logql_groups_by_language_key() {
    let f = parse("cairn/mixed_languages.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups,
        vec![
            group(
                "metrics",
                vec![RuleSpec {
                    for_: 5 * MIN,
                    ..alert("InstanceDown", "up == 0")
                }]
            ),
            GroupSpec {
                interval: Some(MIN),
                language: QueryLanguage::LogQL,
                ..group(
                    "logs",
                    vec![
                        record(
                            "app:error_lines:rate1m",
                            "sum by (app) (rate({env=\"prod\"} |= \"error\" [1m]))"
                        ),
                        RuleSpec {
                            for_: 2 * MIN,
                            labels: labels(&[("severity", "page")]),
                            annotations: labels(&[(
                                "summary",
                                "{{ $labels.app }} logged {{ $value }} errors in a minute"
                            )]),
                            ..alert(
                                "ManyErrors",
                                "sum by (app) (count_over_time({env=\"prod\"} |= \"error\" [1m])) > 10"
                            )
                        },
                    ]
                )
            },
        ]
    );
}

#[test]
fn loki_ruler_files_default_to_logql() {
    let f = parse("cairn/loki_ruler.yaml", QueryLanguage::LogQL).unwrap();
    let got: Vec<(&str, QueryLanguage, Vec<&str>)> = f
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.language,
                g.rules.iter().map(|r| r.name()).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "should_fire",
                QueryLanguage::LogQL,
                vec!["HighPercentageError"]
            ),
            (
                "credentials_leak",
                QueryLanguage::LogQL,
                vec!["http-credentials-leaked"]
            ),
        ]
    );
    assert_eq!(f.groups[1].rules[0].for_, 10 * MIN);
    // As PromQL, the same file does not parse. (A block scalar's position
    // is its first line of content; promtool gives the `|` indicator's.)
    let errs = parse("cairn/loki_ruler.yaml", QueryLanguage::PromQL).unwrap_err();
    assert_eq!(
        errs,
        vec![
            "cairn/loki_ruler.yaml: 8:11: group \"should_fire\", rule 1, \"HighPercentageError\": could not parse expression: 1:40: parse error: unexpected character: '|'",
            "cairn/loki_ruler.yaml: 22:15: group \"credentials_leak\", rule 1, \"http-credentials-leaked\": could not parse expression: 1:64: parse error: unexpected character: '|'",
        ]
    );
}

#[test]
fn newer_prometheus_group_fields() {
    let f = parse("cairn/newer_prometheus_fields.yaml", QueryLanguage::PromQL).unwrap();
    assert_eq!(
        f.groups,
        vec![GroupSpec {
            query_offset: Some(Duration::from_secs(30)),
            labels: labels(&[("team", "infra")]),
            ..group("with_labels", vec![alert("InstanceDown", "up == 0")])
        }]
    );
}

#[test]
fn extension_errors() {
    let content = "groups:\n  - name: g\n    language: sql\n    labels:\n      __name__: x\n    rules:\n      - alert: A\n        expr: '{app=\"x\"} |= \"error\"'\n  - name: h\n    language: logql\n    rules:\n      - alert: B\n        expr: '{app=\"x\"} |= \"error\"'\n";
    let errs: Vec<String> = parse_rule_file("x.yaml", content, QueryLanguage::PromQL)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert_eq!(
        errs[0],
        "x.yaml: 3:15: group \"g\": unknown language \"sql\": must be promql or logql"
    );
    assert_eq!(
        errs[1],
        "x.yaml: 5:7: group \"g\": invalid label name: __name__"
    );
    assert!(errs[2]
        .starts_with("x.yaml: 8:15: group \"g\", rule 1, \"A\": could not parse expression: "));
    assert_eq!(
        errs[3],
        "x.yaml: 13:15: group \"h\", rule 1, \"B\": could not parse expression: a log query returns log lines, not samples: a rule needs a metric query such as count_over_time({...}[5m])"
    );
}

// ---- invalid files: every error, exact ----

fn assert_errors(name: &str, expected: &[&str]) {
    let rel = format!("invalid/{name}");
    let got = errors(&rel);
    let expected: Vec<String> = expected.iter().map(|e| format!("{rel}: {e}")).collect();
    assert_eq!(got, expected);
}

#[test]
fn yaml_syntax_errors_have_the_yaml_position() {
    assert_errors("yaml_syntax.yaml", &["1:11: yaml: unclosed bracket '{'"]);
    assert_errors(
        "yaml_indentation.yaml",
        &["6:6: yaml: while parsing a block mapping, did not find expected key"],
    );
}

#[test]
fn unknown_and_repeated_keys() {
    assert_errors(
        "unknown_top_level_field.yaml",
        &["1:1: field namespace not found in rule file (known fields: groups)"],
    );
    assert_errors(
        "unknown_group_field.yaml",
        &["3:5: group \"g\": field evaluation_interval not found in group (known fields: name, interval, query_offset, limit, labels, language, rules)"],
    );
    assert_errors(
        "unknown_rule_field.yaml",
        &["6:9: group \"g\", rule 1, \"A\": field severity not found in rule (known fields: record, alert, expr, for, keep_firing_for, labels, annotations)"],
    );
    assert_errors(
        "repeated_key.yaml",
        &["8:11: group \"g\", rule 1, \"A\": mapping key \"severity\" already defined at line 7"],
    );
}

#[test]
fn group_names() {
    assert_errors(
        "repeated_group_name.yaml",
        &["6:5: groupname: \"g\" is repeated in the same file"],
    );
    assert_errors(
        "empty_group_name.yaml",
        &["2:5: Groupname must not be empty"],
    );
}

#[test]
fn record_xor_alert_and_expr() {
    assert_errors(
        "record_and_alert.yaml",
        &["4:17: group \"g\", rule 1, \"A\": only one of 'record' and 'alert' must be set"],
    );
    assert_errors(
        "neither_record_nor_alert.yaml",
        &["4:9: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set"],
    );
    assert_errors(
        "missing_expr.yaml",
        &[
            "4:9: group \"g\", rule 1, \"A\": field 'expr' must be set in rule",
            "7:13: group \"g\", rule 2, \"B\": field 'expr' must be set in rule",
        ],
    );
    assert_errors(
        "bad_promql.yaml",
        &[
            "5:15: group \"g\", rule 1, \"job:up:sum\": could not parse expression: 1:17: parse error: unclosed left parenthesis",
            "7:15: group \"g\", rule 2, \"A\": could not parse expression: 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
        ],
    );
}

#[test]
fn recording_rule_checks() {
    assert_errors(
        "bad_record_name.yaml",
        &["4:17: group \"g\", rule 1, \"job-up-sum\": invalid recording rule name: job-up-sum"],
    );
    assert_errors(
        "record_name_with_selector.yaml",
        &["4:17: group \"g\", rule 1, \"job:up:sum{job=\\\"api\\\"}\": invalid recording rule name: job:up:sum{job=\"api\"}"],
    );
    assert_errors(
        "record_name_number.yaml",
        &["4:17: group \"g\", rule 1, \"0\": invalid recording rule name: 0"],
    );
    assert_errors(
        "record_with_for.yaml",
        &["4:17: group \"g\", rule 1, \"a\": invalid field 'for' in recording rule"],
    );
    assert_errors(
        "record_with_keep_firing_for.yaml",
        &["4:17: group \"g\", rule 1, \"a\": invalid field 'keep_firing_for' in recording rule"],
    );
    assert_errors(
        "record_with_annotations.yaml",
        &["4:17: group \"g\", rule 1, \"a\": invalid field 'annotations' in recording rule"],
    );
}

#[test]
fn label_and_annotation_names() {
    assert_errors(
        "invalid_label_name.yaml",
        &["7:11: group \"g\", rule 1, \"A\": invalid label name: team-name"],
    );
    assert_errors(
        "name_label.yaml",
        &["7:11: group \"g\", rule 1, \"A\": invalid label name: __name__"],
    );
    assert_errors(
        "invalid_annotation_name.yaml",
        &["7:11: group \"g\", rule 1, \"A\": invalid annotation name: 1summary"],
    );
}

#[test]
fn templates_must_parse() {
    for (name, pos, what) in [
        (
            "template_unclosed_action.yaml",
            "7:20",
            "annotation \"summary\"",
        ),
        (
            "template_undefined_function.yaml",
            "7:21",
            "label \"severity\"",
        ),
        (
            "template_undefined_variable.yaml",
            "7:20",
            "annotation \"summary\"",
        ),
    ] {
        let rel = format!("invalid/{name}");
        let got = errors(&rel);
        let prefix =
            format!("{rel}: {pos}: group \"g\", rule 1, \"A\": {what}: template: __alert_A:1: ");
        assert_eq!(got.len(), 1, "{got:#?}");
        assert!(
            got[0].starts_with(&prefix),
            "{got:#?} does not start with {prefix}"
        );
    }
}

#[test]
fn durations_must_be_prometheus_durations() {
    assert_errors(
        "bad_duration_unit.yaml",
        &["6:14: group \"g\", rule 1, \"A\": not a valid duration string: \"5x\""],
    );
    assert_errors(
        "empty_duration.yaml",
        &["6:14: group \"g\", rule 1, \"A\": empty duration string"],
    );
    assert_errors(
        "duration_without_unit.yaml",
        &["3:15: group \"g\": not a valid duration string: \"30\""],
    );
    assert_errors(
        "negative_interval.yaml",
        &["3:15: group \"g\": not a valid duration string: \"-1m\""],
    );
    assert_errors(
        "repeated_duration_unit.yaml",
        &["6:26: group \"g\", rule 1, \"A\": not a valid duration string: \"1m1m\""],
    );
}

#[test]
fn wrong_types() {
    assert_errors(
        "rules_not_a_list.yaml",
        &["3:12: group \"g\": rules: expected a sequence of rules, got a string"],
    );
    assert_errors(
        "groups_not_a_list.yaml",
        &["2:3: groups: expected a sequence of groups, got a mapping"],
    );
    assert_errors(
        "top_level_list.yaml",
        &["1:1: the rule file must be a mapping, got a sequence"],
    );
    assert_errors(
        "limit_not_an_integer.yaml",
        &["3:12: group \"g\": limit: expected an integer, got a string"],
    );
    assert_errors(
        "label_value_list.yaml",
        &["7:18: group \"g\", rule 1, \"A\": labels: teams: expected a string, got a sequence"],
    );
}

#[test]
fn every_error_is_reported() {
    let got = errors("invalid/many_errors.yaml");
    assert_eq!(got.len(), 6, "{got:#?}");
    let p = "invalid/many_errors.yaml: ";
    assert!(got[0].starts_with(&format!(
        "{p}5:15: group \"g\", rule 1, \"a-b\": could not parse expression: "
    )));
    assert_eq!(
        got[1..],
        [
            format!("{p}4:17: group \"g\", rule 1, \"a-b\": invalid field 'for' in recording rule"),
            format!("{p}4:17: group \"g\", rule 1, \"a-b\": invalid recording rule name: a-b"),
            format!("{p}7:9: group \"g\", rule 2, \"X\": field 'expr' must be set in rule"),
            format!("{p}9:11: group \"g\", rule 2, \"X\": invalid label name: bad-label"),
            format!("{p}10:5: groupname: \"g\" is repeated in the same file"),
        ]
    );
}

// ---- loading by glob ----

#[test]
fn load_by_glob_sorted_and_once() {
    let dir = testdata().join("valid");
    let patterns = vec![
        format!("{}/re*.yaml", dir.display()),
        format!("{}/alerting.yaml", dir.display()),
        format!("{}/recording.yaml", dir.display()),
        format!("{}/nothing-matches-*.yaml", dir.display()),
    ];
    let files = load_rule_files(&patterns, QueryLanguage::PromQL).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            Path::new(&f.path)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, vec!["alerting.yaml", "recording.yaml"]);
}

#[test]
fn load_reports_errors_of_every_file_and_allows_a_group_name_in_two_files() {
    let dir = tempfile::tempdir().unwrap();
    let ok = "groups:\n  - name: same\n    rules:\n      - record: a\n        expr: up\n";
    std::fs::write(dir.path().join("a.yml"), ok).unwrap();
    std::fs::write(dir.path().join("b.yml"), ok).unwrap();
    let all = vec![format!("{}/*.yml", dir.path().display())];
    let files = load_rule_files(&all, QueryLanguage::PromQL).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].groups[0].name, "same");
    assert_eq!(files[1].groups[0].name, "same");

    std::fs::write(dir.path().join("c.yml"), "groups: [").unwrap();
    std::fs::write(dir.path().join("d.yml"), "groups:\n  - name: ''\n").unwrap();
    let errs = load_rule_files(&all, QueryLanguage::PromQL).unwrap_err();
    let files: Vec<String> = errs
        .iter()
        .map(|e| {
            Path::new(&e.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(files, vec!["c.yml", "d.yml"]);
    assert_eq!(errs[1].message, "Groupname must not be empty");
}

#[cfg(unix)]
#[test]
fn load_names_an_unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("secret.yml");
    std::fs::write(&p, "groups: []\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&p).is_ok() {
        // Running as root: permissions do not apply; nothing to test.
        return;
    }
    let errs = load_rule_files(&[p.display().to_string()], QueryLanguage::PromQL).unwrap_err();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].file, p.display().to_string());
    assert!(
        errs[0].message.starts_with("cannot read the file: "),
        "{}",
        errs[0].message
    );
}

// ---- agreement with promtool ----

/// `Checking F` then `SUCCESS: N rules found` → `Some(N)`; `FAILED` → `None`.
fn outcome(output: &str) -> Option<usize> {
    output.lines().find_map(|l| {
        l.trim()
            .strip_prefix("SUCCESS: ")
            .and_then(|rest| rest.strip_suffix(" rules found"))
            .and_then(|n| n.parse().ok())
    })
}

/// promtool's `lint error N duplicate rule(s) found.` or our
/// `WARNING: N duplicate rule(s) found.` → `Some(N)`.
fn duplicates_reported(output: &str) -> Option<usize> {
    output.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("lint error ")
            .or_else(|| l.strip_prefix("WARNING: "))
            .and_then(|rest| rest.strip_suffix(" duplicate rule(s) found."))
            .and_then(|n| n.parse().ok())
    })
}

fn run(cmd: &str, args: &[&str], file: &Path) -> (bool, String) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
#[ignore = "needs promtool (Debian prometheus); run by .ci/run"]
fn promtool_agrees() {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let version = std::process::Command::new(&promtool)
        .arg("--version")
        .output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "promtool is missing ({promtool}): install Debian's prometheus package"
    );
    let cairn = env!("CARGO_BIN_EXE_cairn");
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (dir, want_valid) in [("valid", true), ("invalid", false)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            checked += 1;
            let (p_ok, p_out) = run(&promtool, &["check", "rules"], &f);
            let (c_ok, c_out) = run(cairn, &["check-rules"], &f);
            // With duplicate rules promtool prints its lint instead of the
            // rule count (and still succeeds); we print both.
            let same_count = match outcome(&p_out) {
                Some(n) => outcome(&c_out) == Some(n),
                None => !p_ok || duplicates_reported(&p_out).is_some(),
            };
            let agree = p_ok == c_ok
                && p_ok == want_valid
                && same_count
                && duplicates_reported(&p_out) == duplicates_reported(&c_out);
            if !agree {
                disagreements.push(format!(
                    "{}:\n--- promtool (ok: {p_ok})\n{p_out}--- cairn (ok: {c_ok})\n{c_out}",
                    f.display()
                ));
            }
        }
    }
    assert!(checked >= 8 + 15, "only {checked} files");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
