//! `cairn check-rules FILE...`: validates rule files as `promtool check
//! rules` does and prints the same kind of report, including promtool's
//! duplicate-rule lint (a warning: it does not fail the check).

use std::collections::BTreeMap;
use std::io::Write;

use super::file::{parse_rule_file, QueryLanguage, RuleFile};

/// Checks every file, writing the report to `out`; returns the exit code
/// (0 all valid, 1 any invalid). `logql`: the files are Loki ruler files,
/// every group holds LogQL unless it says `language: promql`.
pub fn check_rules(files: &[std::path::PathBuf], logql: bool, out: &mut dyn Write) -> i32 {
    let language = if logql {
        QueryLanguage::LogQL
    } else {
        QueryLanguage::PromQL
    };
    let mut failed = false;
    for path in files {
        let shown = path.display().to_string();
        let report = match std::fs::read_to_string(path) {
            Ok(content) => match parse_rule_file(&shown, &content, language) {
                Ok(file) => success_report(&file),
                Err(errors) => {
                    failed = true;
                    let mut r = String::from("  FAILED:\n");
                    for e in errors {
                        r.push_str(&format!("{e}\n"));
                    }
                    r
                }
            },
            Err(e) => {
                failed = true;
                format!("  FAILED:\n{shown}: cannot read the file: {e}\n")
            }
        };
        // A closed stdout must not turn a check into a panic.
        let _ = write!(out, "Checking {shown}\n{report}\n");
    }
    let _ = out.flush();
    i32::from(failed)
}

/// `SUCCESS: N rules found`, then the duplicate-rule warning if any.
fn success_report(file: &RuleFile) -> String {
    let count: usize = file.groups.iter().map(|g| g.rules.len()).sum();
    let mut r = format!("  SUCCESS: {count} rules found\n");
    let dups = duplicates(file);
    if !dups.is_empty() {
        r.push_str(&format!(
            "  WARNING: {} duplicate rule(s) found.\n",
            dups.len()
        ));
        for (name, labels) in dups {
            r.push_str(&format!("Metric: {name}\nLabel(s):\n"));
            for (k, v) in labels {
                r.push_str(&format!("\t{k}: {v}\n"));
            }
        }
        r.push_str("Might cause inconsistency while recording expressions\n");
    }
    r
}

/// Rules with the same name and labels anywhere in the file, each such
/// name and label set once, sorted (promtool's `checkDuplicates`).
pub fn duplicates(file: &RuleFile) -> Vec<(String, BTreeMap<String, String>)> {
    let mut counts: BTreeMap<(String, Vec<(String, String)>), usize> = BTreeMap::new();
    for rule in file.groups.iter().flat_map(|g| &g.rules) {
        let labels = rule
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        *counts.entry((rule.name().to_string(), labels)).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((name, labels), _)| (name, labels.into_iter().collect()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)], logql: bool) -> (i32, String) {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (name, content) in files {
            let p = dir.path().join(name);
            std::fs::write(&p, content).unwrap();
            paths.push(p);
        }
        let mut out = Vec::new();
        let code = check_rules(&paths, logql, &mut out);
        let text = String::from_utf8(out).unwrap();
        (
            code,
            text.replace(&format!("{}/", dir.path().display()), ""),
        )
    }

    #[test]
    fn valid_files_report_their_rule_count() {
        let (code, out) = run(
            &[(
                "ok.yml",
                "groups:\n- name: g\n  rules:\n  - record: a:b\n    expr: up\n  - alert: A\n    expr: up == 0\n",
            )],
            false,
        );
        assert_eq!(code, 0);
        assert_eq!(out, "Checking ok.yml\n  SUCCESS: 2 rules found\n\n");
    }

    #[test]
    fn one_invalid_file_fails_the_check_and_every_file_is_reported() {
        let (code, out) = run(
            &[
                (
                    "bad.yml",
                    "groups:\n- name: g\n  rules:\n  - record: a-b\n    expr: up\n",
                ),
                ("empty.yml", ""),
            ],
            false,
        );
        assert_eq!(code, 1);
        assert_eq!(
            out,
            "Checking bad.yml\n  FAILED:\nbad.yml: 4:13: group \"g\", rule 1, \"a-b\": invalid recording rule name: a-b\n\n\
             Checking empty.yml\n  SUCCESS: 0 rules found\n\n"
        );
    }

    #[test]
    fn a_missing_file_fails_naming_it() {
        let mut out = Vec::new();
        let code = check_rules(&["/nonexistent/r.yml".into()], false, &mut out);
        assert_eq!(code, 1);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "Checking /nonexistent/r.yml\n  FAILED:\n/nonexistent/r.yml: cannot read the file: "
            ),
            "{text}"
        );
    }

    #[test]
    fn duplicate_rules_are_a_warning_like_promtools_lint() {
        let (code, out) = run(
            &[(
                "dup.yml",
                "groups:\n- name: g\n  rules:\n  - alert: X\n    expr: up\n    labels: {s: page}\n  - alert: X\n    expr: up > 1\n    labels: {s: page}\n- name: h\n  rules:\n  - record: r\n    expr: up\n  - record: r\n    expr: up\n  - alert: X\n    expr: up\n",
            )],
            false,
        );
        assert_eq!(code, 0);
        assert_eq!(
            out,
            "Checking dup.yml\n  SUCCESS: 5 rules found\n  WARNING: 2 duplicate rule(s) found.\n\
             Metric: X\nLabel(s):\n\ts: page\nMetric: r\nLabel(s):\n\
             Might cause inconsistency while recording expressions\n\n"
        );
    }

    #[test]
    fn logql_flag_makes_groups_logql() {
        let file = "groups:\n- name: g\n  rules:\n  - alert: Errors\n    expr: sum(count_over_time({app=\"x\"} |= \"error\" [1m])) > 10\n";
        let (code, out) = run(&[("loki.yml", file)], true);
        assert_eq!(
            (code, out.as_str()),
            (0, "Checking loki.yml\n  SUCCESS: 1 rules found\n\n")
        );
        let (code, out) = run(&[("loki.yml", file)], false);
        assert_eq!(code, 1);
        assert!(
            out.contains(
                "loki.yml: 5:11: group \"g\", rule 1, \"Errors\": could not parse expression: "
            ),
            "{out}"
        );
    }
}
