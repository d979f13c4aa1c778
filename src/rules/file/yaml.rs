//! A rule file's YAML as a tree of nodes with their line and column, so
//! that validation can point at the offending node and report every
//! problem instead of stopping at the first one (as a typed `serde`
//! decode would).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// 1-based line and column of a node (0: unknown).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// One YAML node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub pos: Pos,
}

/// What a node holds. Scalars are typed as YAML 1.2's core schema resolves
/// them (`5` is an integer, `"5"` and `5m` are strings).
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in document order; repeated keys are kept (and reported by
    /// the caller).
    Map(Vec<(Node, Node)>),
}

impl Kind {
    /// The YAML type's name, for messages (`!!seq` in Go's messages).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a float",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }

    /// A scalar as the string Go's YAML decoder would put in a string
    /// field (null is empty); `None` for a sequence or mapping.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Kind::Null => Some(String::new()),
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Str(s) => Some(s.clone()),
            Kind::Seq(_) | Kind::Map(_) => None,
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

/// Parses the first YAML document of `content` (as Prometheus does, later
/// documents are ignored). `None`: the file is empty or only comments.
pub fn parse_document(content: &str) -> Result<Option<Node>, SyntaxError> {
    let options = serde_saphyr::options! {
        // Repeated keys reach our visitor, which reports them with both lines.
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::PassThrough,
        // YAML 1.2 booleans only: `yes` and `on` stay strings, as in Go.
        strict_booleans: true,
        with_snippet: false,
    };
    match serde_saphyr::from_multiple_with_options::<Node>(content, options) {
        Ok(docs) => Ok(docs.into_iter().next().filter(|n| n.kind != Kind::Null)),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| Pos {
                    line: l.line() as usize,
                    col: l.column() as usize,
                })
                .unwrap_or_default();
            let mut message = e.to_string();
            let suffix = format!(" at line {}, column {}", pos.line, pos.col);
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
            Err(SyntaxError { pos, message })
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Kind>::deserialize(d)?;
        Ok(Node {
            kind: s.value,
            pos: Pos {
                line: s.referenced.line() as usize,
                col: s.referenced.column() as usize,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Kind, E> {
        i128::try_from(v)
            .map(Kind::Int)
            .map_err(|_| E::custom("integer out of range"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            items.push(n);
        }
        Ok(Kind::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = a.next_key::<Node>()? {
            let v = a.next_value::<Node>()?;
            entries.push((k, v));
        }
        Ok(Kind::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: usize, col: usize) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn nodes_carry_positions_and_core_schema_types() {
        let n = parse_document("a: 1\nb: [x, \"5\", yes, true, ~, 1.5]\n")
            .unwrap()
            .unwrap();
        let Kind::Map(entries) = n.kind else {
            panic!("not a map: {n:?}")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].0.kind, Kind::Str("a".into()));
        assert_eq!(
            entries[0].1,
            Node {
                kind: Kind::Int(1),
                pos: p(1, 4)
            }
        );
        let Kind::Seq(items) = &entries[1].1.kind else {
            panic!("not a seq")
        };
        let kinds: Vec<&Kind> = items.iter().map(|n| &n.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &Kind::Str("x".into()),
                &Kind::Str("5".into()),
                &Kind::Str("yes".into()),
                &Kind::Bool(true),
                &Kind::Null,
                &Kind::Float(1.5),
            ]
        );
        assert_eq!(items[1].pos, p(2, 8));
    }

    #[test]
    fn repeated_keys_are_kept() {
        let n = parse_document("a: 1\na: 2\n").unwrap().unwrap();
        let Kind::Map(entries) = n.kind else {
            panic!("not a map")
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].0.pos, p(2, 1));
    }

    #[test]
    fn empty_and_comment_only_documents_are_none() {
        assert_eq!(parse_document(""), Ok(None));
        assert_eq!(parse_document("# nothing\n"), Ok(None));
        assert_eq!(parse_document("~\n"), Ok(None));
    }

    #[test]
    fn only_the_first_document_counts() {
        let n = parse_document("a: 1\n---\nb: 2\n").unwrap().unwrap();
        let Kind::Map(entries) = n.kind else {
            panic!("not a map")
        };
        assert_eq!(entries[0].0.kind, Kind::Str("a".into()));
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn syntax_errors_have_positions_and_bare_messages() {
        let e = parse_document("groups: [ {name: g\n").unwrap_err();
        assert_eq!(e.pos, p(1, 11));
        assert_eq!(e.message, "unclosed bracket '{'");
    }
}
