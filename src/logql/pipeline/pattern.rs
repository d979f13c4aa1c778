//! Pattern expressions (`<ip> - <_> "<method> <path>"`): literals and
//! captures (`<name>`, `<_>` to skip), used by the `pattern` parser and by
//! the `|>` / `!>` line filters.

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Literal(String),
    /// `None` for `<_>`.
    Capture(Option<String>),
}

/// A parsed pattern.
#[derive(Clone, Debug)]
pub struct PatternExpr {
    nodes: Vec<Node>,
}

fn capture_at(s: &str) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if b.first() != Some(&b'<') {
        return None;
    }
    let mut i = 1;
    match b.get(i) {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => i += 1,
        _ => return None,
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    if b.get(i) == Some(&b'>') {
        Some((&s[1..i], i + 1))
    } else {
        None
    }
}

impl PatternExpr {
    fn parse_nodes(src: &str) -> Vec<Node> {
        let mut nodes = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while !rest.is_empty() {
            if let Some((name, len)) = capture_at(rest) {
                if !lit.is_empty() {
                    nodes.push(Node::Literal(std::mem::take(&mut lit)));
                }
                nodes.push(Node::Capture((name != "_").then(|| name.to_string())));
                rest = &rest[len..];
            } else {
                let c = rest.chars().next().unwrap_or('\0');
                lit.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        if !lit.is_empty() {
            nodes.push(Node::Literal(lit));
        }
        nodes
    }

    fn check_consecutive(nodes: &[Node]) -> Result<(), String> {
        for w in nodes.windows(2) {
            if let (Node::Capture(a), Node::Capture(b)) = (&w[0], &w[1]) {
                let show = |c: &Option<String>| format!("<{}>", c.as_deref().unwrap_or("_"));
                return Err(format!(
                    "found consecutive capture '{}{}': invalid expression",
                    show(a),
                    show(b)
                ));
            }
        }
        Ok(())
    }

    /// A pattern for the `pattern` parser: at least one named capture, no
    /// two captures in a row, no name twice.
    pub fn for_parser(src: &str) -> Result<PatternExpr, String> {
        let nodes = Self::parse_nodes(src);
        let names: Vec<&str> = nodes
            .iter()
            .filter_map(|n| match n {
                Node::Capture(Some(s)) => Some(s.as_str()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return Err("at least one capture is required".into());
        }
        Self::check_consecutive(&nodes)?;
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(format!("duplicate capture name ({n}): invalid expression"));
            }
        }
        Ok(PatternExpr { nodes })
    }

    /// A pattern for `|>` / `!>`: no two captures in a row.
    pub fn for_filter(src: &str) -> Result<PatternExpr, String> {
        let nodes = Self::parse_nodes(src);
        Self::check_consecutive(&nodes)?;
        Ok(PatternExpr { nodes })
    }

    /// Literal pieces: each line passing [`PatternExpr::test`] has them all.
    pub fn literals(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().filter_map(|n| match n {
            Node::Literal(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// Extracts captures as Loki's pattern parser does: a leading literal
    /// must start the line; each capture runs to the first occurrence of the
    /// literal after it; when that literal is missing, the capture takes the
    /// rest of the line and matching stops. Calls `f(name, value)` for the
    /// named captures found.
    pub fn captures<'l>(&self, line: &'l str, mut f: impl FnMut(&str, &'l str)) {
        if line.is_empty() || self.nodes.is_empty() {
            return;
        }
        let mut rest = line;
        let mut nodes = &self.nodes[..];
        if let Some(Node::Literal(l)) = nodes.first() {
            match rest.strip_prefix(l.as_str()) {
                Some(r) => rest = r,
                None => return,
            }
            nodes = &nodes[1..];
        }
        while let Some(Node::Capture(name)) = nodes.first() {
            match nodes.get(1) {
                None => {
                    if let Some(n) = name {
                        f(n, rest);
                    }
                    return;
                }
                Some(Node::Literal(l)) => match rest.find(l.as_str()) {
                    None => {
                        if let Some(n) = name {
                            f(n, rest);
                        }
                        return;
                    }
                    Some(i) => {
                        if let Some(n) = name {
                            f(n, &rest[..i]);
                        }
                        rest = &rest[i + l.len()..];
                        nodes = &nodes[2..];
                    }
                },
                Some(Node::Capture(_)) => return,
            }
        }
    }

    /// Does the whole line match? Literals in order (first occurrence),
    /// each capture non-empty; a leading literal starts the line and a
    /// trailing literal ends it.
    pub fn test(&self, line: &str) -> bool {
        if self.nodes.is_empty() || line.is_empty() {
            return self.nodes.is_empty() && line.is_empty();
        }
        let mut off = 0;
        let last = self.nodes.len() - 1;
        for (i, n) in self.nodes.iter().enumerate() {
            let Node::Literal(l) = n else { continue };
            let hay = &line[off..];
            let pos = if i == 0 {
                if hay.starts_with(l.as_str()) {
                    Some(0)
                } else {
                    None
                }
            } else if i == last {
                // a trailing literal must end the line
                hay.ends_with(l.as_str()).then(|| hay.len() - l.len())
            } else {
                hay.find(l.as_str())
            };
            let Some(j) = pos else { return false };
            if i != 0 && j == 0 {
                return false; // empty capture
            }
            off += j + l.len();
        }
        let ends_on_capture = matches!(self.nodes[last], Node::Capture(_));
        ends_on_capture == (off != line.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, line: &str) -> Vec<(String, String)> {
        let e = PatternExpr::for_parser(p).unwrap();
        let mut out = Vec::new();
        e.captures(line, |n, v| out.push((n.to_string(), v.to_string())));
        out
    }

    #[test]
    fn parser_captures() {
        assert_eq!(
            caps(
                "<ip> - <_> \"<method> <path> <_>\" <status>",
                "10.1.1.1 - - \"GET /a HTTP/1.1\" 200"
            ),
            vec![
                ("ip".into(), "10.1.1.1".into()),
                ("method".into(), "GET".into()),
                ("path".into(), "/a".into()),
                ("status".into(), "200".into()),
            ]
        );
        // a missing literal: the capture takes the rest
        assert_eq!(
            caps("<a> x <b>", "one two"),
            vec![("a".into(), "one two".into())]
        );
        // leading literal must start the line
        assert_eq!(caps("level=<l>", "x level=info"), vec![]);
        assert_eq!(
            caps("level=<l>", "level=info"),
            vec![("l".into(), "info".into())]
        );
        // `<` not followed by a name is a literal
        assert_eq!(caps("a<1> <v>", "a<1> z"), vec![("v".into(), "z".into())]);
    }

    #[test]
    fn parser_validation() {
        assert!(PatternExpr::for_parser("<_> foo").is_err());
        assert!(PatternExpr::for_parser("<a><b>").is_err());
        assert!(PatternExpr::for_parser("<a> <a>").is_err());
        assert!(PatternExpr::for_filter("<_> foo <_>").is_ok());
    }

    #[test]
    fn filter_test() {
        let p = PatternExpr::for_filter("<_> bar <_>").unwrap();
        assert!(p.test("foo bar baz"));
        assert!(!p.test(" bar baz"));
        assert!(!p.test("foo baz"));
        let q = PatternExpr::for_filter("<_> baz").unwrap();
        assert!(q.test("foo bar baz"));
        assert!(!q.test("foo baz bar"));
        let r = PatternExpr::for_filter("foo <_>").unwrap();
        assert!(r.test("foo bar"));
        assert!(!r.test("xfoo bar"));
    }
}
