//! Parse errors and query positions: Prometheus' `line:col` rendering of a
//! byte offset, used both for parse errors and annotation suffixes.

use std::fmt;

/// A parse error with its position in the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub msg: String,
    /// Byte range of the offending part.
    pub start: usize,
    pub end: usize,
    /// 1-based line and column (bytes) of `start`.
    pub line: usize,
    pub col: usize,
}

impl ParseError {
    pub fn new(query: &str, start: usize, end: usize, msg: impl Into<String>) -> Self {
        let (line, col) = line_col(query, start);
        ParseError {
            msg: msg.into(),
            start,
            end,
            line,
            col,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: parse error: {}", self.line, self.col, self.msg)
    }
}

impl std::error::Error for ParseError {}

/// The 1-based line and column of a byte offset (clamped to the query).
pub fn line_col(query: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(query.len());
    let before = query.as_bytes().get(..pos).unwrap_or_default();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let last_nl = before.iter().rposition(|&b| b == b'\n');
    let col = match last_nl {
        Some(i) => pos - i,
        None => pos + 1,
    };
    (line, col)
}

/// The ` (line:col)` suffix Prometheus appends to annotations.
pub fn position_suffix(query: &str, pos: usize) -> String {
    let (l, c) = line_col(query, pos);
    format!(" ({l}:{c})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc", 3), (1, 4));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(position_suffix("rate(x[5m])", 5), " (1:6)");
        let e = ParseError::new("rate(x[5m]) +", 13, 13, "unexpected end of input");
        assert_eq!(e.to_string(), "1:14: parse error: unexpected end of input");
    }
}
