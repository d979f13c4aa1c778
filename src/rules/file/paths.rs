//! Expanding configured rule file patterns (globs, as Prometheus'
//! `rule_files`) into a sorted list of distinct paths.

use std::path::PathBuf;

use super::RuleFileError;

/// The files the patterns match, sorted and each once, and the problems
/// met (an invalid pattern, a directory that cannot be read). A pattern
/// matching nothing adds nothing.
pub fn expand(patterns: &[String]) -> (Vec<PathBuf>, Vec<RuleFileError>) {
    let mut paths = Vec::new();
    let mut errors = Vec::new();
    let problem = |file: String, message: String| RuleFileError {
        file,
        line: 0,
        col: 0,
        group: None,
        rule_index: None,
        rule_name: None,
        message,
    };
    for pattern in patterns {
        match glob::glob(pattern) {
            Ok(matches) => {
                for m in matches {
                    match m {
                        Ok(p) if !p.is_dir() => paths.push(p),
                        Ok(_) => {}
                        Err(e) => errors.push(problem(
                            e.path().display().to_string(),
                            format!("cannot read: {}", e.error()),
                        )),
                    }
                }
            }
            Err(e) => errors.push(problem(
                pattern.clone(),
                format!("invalid file pattern: {e}"),
            )),
        }
    }
    paths.sort();
    paths.dedup();
    (paths, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_are_sorted_deduplicated_and_may_match_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yml", "a.yml", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.yml")).unwrap();
        let d = dir.path().display();
        let (paths, errors) = expand(&[
            format!("{d}/*.yml"),
            format!("{d}/a.yml"),
            format!("{d}/none/*.yml"),
        ]);
        assert_eq!(errors, vec![]);
        assert_eq!(
            paths,
            vec![dir.path().join("a.yml"), dir.path().join("b.yml")]
        );
    }

    #[test]
    fn an_invalid_pattern_is_an_error_naming_it() {
        let (paths, errors) = expand(&["rules/[.yml".to_string()]);
        assert!(paths.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].file, "rules/[.yml");
        assert!(
            errors[0].message.starts_with("invalid file pattern: "),
            "{}",
            errors[0].message
        );
    }
}
