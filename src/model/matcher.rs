//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics:
//! regexes are fully anchored, and a missing label matches as the empty string.

use regex::Regex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher; fails only on an invalid regular expression.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, String> {
        let name = name.into();
        let value = value.into();
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?,
            ),
            _ => None,
        };
        Ok(Matcher {
            name,
            op,
            value,
            regex,
        })
    }

    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Matcher {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            regex: None,
        }
    }

    /// Does a label value (empty string when the label is absent) match?
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// Does this matcher match the empty string (and so series lacking the label)?
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

impl std::fmt::Display for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        write!(f, "{}{}{:?}", self.name, op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_regex() {
        let m = Matcher::new(MatchOp::Regex, "job", "api|web").unwrap();
        assert!(m.matches("api"));
        assert!(!m.matches("apis"));
        assert!(!m.matches_empty());
        let n = Matcher::new(MatchOp::NotRegex, "job", "a.*").unwrap();
        assert!(n.matches(""));
        assert!(!n.matches("abc"));
        assert!(Matcher::new(MatchOp::Regex, "x", "(").is_err());
    }
}
