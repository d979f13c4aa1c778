//! The `regexp` parser (named groups become labels; a line that does not
//! match keeps its labels) and the `pattern` parser.

use regex::{CaptureLocations, Regex};

use super::pattern::PatternExpr;
use super::state::{parsed_name, LineLabels};
use crate::model::labels::is_valid_label_name;

/// A compiled `regexp` stage.
#[derive(Debug)]
pub struct RegexpStage {
    re: Regex,
    groups: Vec<(usize, String)>,
}

impl RegexpStage {
    pub fn new(src: &str) -> Result<RegexpStage, String> {
        let re = Regex::new(src).map_err(|e| format!("invalid regular expression {src:?}: {e}"))?;
        let mut groups: Vec<(usize, String)> = Vec::new();
        for (i, n) in re.capture_names().enumerate() {
            let Some(n) = n else { continue };
            if !is_valid_label_name(n) {
                return Err(format!("invalid extracted label name '{n}'"));
            }
            if groups.iter().any(|(_, g)| g == n) {
                return Err(format!("duplicate extracted label name '{n}'"));
            }
            groups.push((i, n.to_string()));
        }
        if groups.is_empty() {
            return Err("at least one named capture must be supplied".into());
        }
        Ok(RegexpStage { re, groups })
    }

    pub fn locations(&self) -> CaptureLocations {
        self.re.capture_locations()
    }

    pub fn process(
        &self,
        line: &str,
        st: &mut LineLabels,
        locs: &mut CaptureLocations,
        name: &mut String,
    ) {
        if self.re.captures_read(locs, line).is_none() {
            return;
        }
        for (i, n) in &self.groups {
            let v = locs.get(*i).map_or("", |(s, e)| &line[s..e]);
            parsed_name(st, n, name);
            st.set_parsed(name, v);
        }
    }
}

/// A compiled `pattern` stage.
#[derive(Debug)]
pub struct PatternStage {
    expr: PatternExpr,
}

impl PatternStage {
    pub fn new(src: &str) -> Result<PatternStage, String> {
        let expr = PatternExpr::for_parser(src)?;
        Ok(PatternStage { expr })
    }

    pub fn process(&self, line: &str, st: &mut LineLabels, name: &mut String) {
        self.expr.captures(line, |n, v| {
            parsed_name(st, n, name);
            st.set_parsed(name, v);
        });
    }
}
