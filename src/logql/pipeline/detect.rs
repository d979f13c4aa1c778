//! Field detection for the Loki API's `detected_fields`: the fields a line
//! has when parsed as JSON (if it is a JSON object) or else as logfmt.

use super::json::{JsonScratch, JsonStage};
use super::logfmt::{LogfmtScratch, LogfmtStage};
use super::state::{Category, LineLabels};
use crate::model::Labels;

/// `(name, value, parser)` for each field of `line`, sorted by name;
/// `parser` is `"json"` or `"logfmt"`. Empty when neither parses.
pub fn detect_fields(line: &str) -> Vec<(String, String, &'static str)> {
    let mut st = LineLabels::new(&Labels::empty());
    st.reset(&[]);
    let parser = if line.trim_start().starts_with('{') {
        let mut sc = JsonScratch::default();
        JsonStage::All.process(line, &mut st, &mut sc);
        if st.has_err() {
            return Vec::new();
        }
        "json"
    } else {
        let mut sc = LogfmtScratch::default();
        match LogfmtStage::new(false, false, &[]) {
            Ok(stage) => stage.process(line, &mut st, &mut sc),
            Err(_) => return Vec::new(),
        }
        "logfmt"
    };
    let mut out = Vec::new();
    st.for_each(|n, v, c| {
        if c == Category::Parsed {
            out.push((n.to_string(), v.to_string(), parser));
        }
    });
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_logfmt() {
        assert_eq!(
            detect_fields(r#"{"level":"info","req":{"ms":12}}"#),
            vec![
                ("level".into(), "info".into(), "json"),
                ("req_ms".into(), "12".into(), "json")
            ]
        );
        assert_eq!(
            detect_fields("level=warn msg=\"disk full\" plain"),
            vec![
                ("level".into(), "warn".into(), "logfmt"),
                ("msg".into(), "disk full".into(), "logfmt")
            ]
        );
        assert!(detect_fields("just some words").is_empty());
        assert!(detect_fields("{not json").is_empty());
    }
}
