//! `Labels`: a label set kept sorted by name, the identity of a series.

use std::fmt;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One `name="value"` pair.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: String,
    pub value: String,
}

impl Label {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Label {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A label set, always sorted by name with unique names and no empty values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<Label>);

impl Labels {
    /// Builds a label set from pairs in any order. Empty values are dropped
    /// (an empty value means "no such label" in Prometheus). If a name is
    /// repeated, the last value wins; where duplicates must be rejected,
    /// check the raw input first (as `ingest::remote_write::validate_labels` does).
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .map(|(n, v)| Label::new(n, v))
            .filter(|l| !l.value.is_empty())
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        // keep the last of equal names
        let mut out: Vec<Label> = Vec::with_capacity(v.len());
        for l in v {
            match out.last_mut() {
                Some(last) if last.name == l.name => *last = l,
                _ => out.push(l),
            }
        }
        Labels(out)
    }

    /// Wraps a vector that the caller guarantees is sorted by name and unique.
    pub fn from_sorted_unchecked(v: Vec<Label>) -> Self {
        debug_assert!(v.windows(2).all(|w| w[0].name < w[1].name));
        Labels(v)
    }

    pub fn empty() -> Self {
        Labels(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_str())
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Label> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[Label] {
        &self.0
    }

    /// Sets (or, with an empty value, removes) a label.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.0.binary_search_by(|l| l.name.as_str().cmp(name)) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].value = value.to_string(),
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, Label::new(name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.set(name, "");
    }

    /// Keeps only the named labels.
    pub fn keep_only(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|l| names.iter().any(|n| n == &l.name))
                .cloned()
                .collect(),
        )
    }

    /// Drops the named labels.
    pub fn drop_names(&self, names: &[String]) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|l| !names.iter().any(|n| n == &l.name))
                .cloned()
                .collect(),
        )
    }

    /// A stable 64-bit hash of the label set, used to find series; equal to
    /// [`hash_pairs`] over the same pairs. Not cryptographic.
    pub fn hash64(&self) -> u64 {
        hash_pairs(self.0.iter().map(|l| (l.name.as_str(), l.value.as_str())))
    }

    /// Do these labels equal the given pairs (sorted by name)?
    pub fn eq_pairs<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        let mut mine = self.0.iter();
        for (n, v) in pairs {
            match mine.next() {
                Some(l) if l.name == n && l.value == v => {}
                _ => return false,
            }
        }
        mine.next().is_none()
    }
}

impl fmt::Display for Labels {
    /// Prometheus text form: `{a="b", c="d"}`, with the metric name outside
    /// the braces when present: `up{job="x"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.metric_name();
        if let Some(n) = name {
            write!(f, "{n}")?;
        }
        let rest: Vec<&Label> = self.0.iter().filter(|l| l.name != METRIC_NAME).collect();
        if rest.is_empty() && name.is_some() {
            return Ok(());
        }
        write!(f, "{{")?;
        for (i, l) in rest.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value)?;
        }
        write!(f, "}}")
    }
}

impl<'a> IntoIterator for &'a Labels {
    type Item = &'a Label;
    type IntoIter = std::slice::Iter<'a, Label>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The labels of an incoming series: owned, or borrowed from a request
/// buffer so that samples of known series are ingested without allocating.
/// Either form is sorted by name with unique names.
#[derive(Clone, Debug)]
pub enum SeriesLabels<'a> {
    Owned(Labels),
    Borrowed(Vec<(&'a str, &'a str)>),
}

impl Default for SeriesLabels<'_> {
    fn default() -> Self {
        SeriesLabels::Owned(Labels::empty())
    }
}

impl From<Labels> for SeriesLabels<'_> {
    fn from(l: Labels) -> Self {
        SeriesLabels::Owned(l)
    }
}

impl SeriesLabels<'_> {
    pub fn len(&self) -> usize {
        match self {
            SeriesLabels::Owned(l) => l.len(),
            SeriesLabels::Borrowed(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pairs in name order.
    pub fn pairs(&self) -> Box<dyn ExactSizeIterator<Item = (&str, &str)> + '_> {
        match self {
            SeriesLabels::Owned(l) => {
                Box::new(l.iter().map(|x| (x.name.as_str(), x.value.as_str())))
            }
            SeriesLabels::Borrowed(v) => Box::new(v.iter().copied()),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            SeriesLabels::Owned(l) => l.get(name),
            SeriesLabels::Borrowed(v) => v
                .binary_search_by(|(n, _)| (*n).cmp(name))
                .ok()
                .map(|i| v[i].1),
        }
    }

    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    pub fn hash64(&self) -> u64 {
        match self {
            SeriesLabels::Owned(l) => l.hash64(),
            SeriesLabels::Borrowed(v) => {
                hash_pairs(v.iter().copied().filter(|(_, val)| !val.is_empty()))
            }
        }
    }

    pub fn matches(&self, l: &Labels) -> bool {
        match self {
            SeriesLabels::Owned(o) => o == l,
            SeriesLabels::Borrowed(v) => {
                l.eq_pairs(v.iter().copied().filter(|(_, val)| !val.is_empty()))
            }
        }
    }

    pub fn matches_key(&self, k: &LabelKey) -> bool {
        match self {
            SeriesLabels::Owned(o) => {
                k.eq_pairs(o.iter().map(|x| (x.name.as_str(), x.value.as_str())))
            }
            SeriesLabels::Borrowed(v) => {
                k.eq_pairs(v.iter().copied().filter(|(_, val)| !val.is_empty()))
            }
        }
    }

    pub fn to_labels(&self) -> Labels {
        match self {
            SeriesLabels::Owned(l) => l.clone(),
            SeriesLabels::Borrowed(v) => Labels::from_sorted_unchecked(
                v.iter()
                    .filter(|(_, val)| !val.is_empty())
                    .map(|(n, val)| Label::new(*n, *val))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for SeriesLabels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeriesLabels::Owned(l) => l.fmt(f),
            SeriesLabels::Borrowed(_) => self.to_labels().fmt(f),
        }
    }
}

/// A label set packed into one allocation (`name 0xFF value 0xFE ...`;
/// neither byte occurs in UTF-8), for the head's series: comparing an
/// incoming series against it touches one or two cache lines, and it costs
/// a fraction of a `Labels`' memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LabelKey(Box<[u8]>);

const KEY_NAME_END: u8 = 0xFF;
const KEY_VALUE_END: u8 = 0xFE;

impl LabelKey {
    pub fn from_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        let mut v = Vec::with_capacity(128);
        for (n, val) in pairs.filter(|(_, val)| !val.is_empty()) {
            v.extend_from_slice(n.as_bytes());
            v.push(KEY_NAME_END);
            v.extend_from_slice(val.as_bytes());
            v.push(KEY_VALUE_END);
        }
        LabelKey(v.into_boxed_slice())
    }

    pub fn from_labels(l: &Labels) -> Self {
        Self::from_pairs(l.iter().map(|x| (x.name.as_str(), x.value.as_str())))
    }

    /// The pairs in order, borrowed.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let n_end = rest.iter().position(|b| *b == KEY_NAME_END)?;
            let v_end = n_end + 1 + rest[n_end + 1..].iter().position(|b| *b == KEY_VALUE_END)?;
            let name = std::str::from_utf8(&rest[..n_end]).ok()?;
            let value = std::str::from_utf8(&rest[n_end + 1..v_end]).ok()?;
            rest = &rest[v_end + 1..];
            Some((name, value))
        })
    }

    pub fn to_labels(&self) -> Labels {
        Labels::from_sorted_unchecked(self.pairs().map(|(n, v)| Label::new(n, v)).collect())
    }

    pub fn hash64(&self) -> u64 {
        hash_pairs(self.pairs())
    }

    /// Does the key hold exactly these pairs (in order)?
    pub fn eq_pairs<'a>(&self, pairs: impl Iterator<Item = (&'a str, &'a str)>) -> bool {
        let k: &[u8] = &self.0;
        let mut pos = 0;
        for (n, v) in pairs {
            let (nb, vb) = (n.as_bytes(), v.as_bytes());
            let end = pos + nb.len() + vb.len() + 2;
            if end > k.len()
                || &k[pos..pos + nb.len()] != nb
                || k[pos + nb.len()] != KEY_NAME_END
                || &k[pos + nb.len() + 1..end - 1] != vb
                || k[end - 1] != KEY_VALUE_END
            {
                return false;
            }
            pos = end;
        }
        pos == k.len()
    }

    pub fn size_bytes(&self) -> usize {
        self.0.len()
    }
}

/// Hashes label pairs (sorted by name) with FNV-1a over 8-byte words:
/// fast on the ingest path and stable across runs.
pub fn hash_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    const PRIME: u64 = 0x100000001b3;
    let mut h: u64 = 0xcbf29ce484222325;
    let mut mix = |bytes: &[u8], sep: u64| {
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h ^ u64::from_le_bytes(w)).wrapping_mul(PRIME);
            h ^= h >> 29;
        }
        for b in chunks.remainder() {
            h = (h ^ *b as u64).wrapping_mul(PRIME);
        }
        h = (h ^ sep).wrapping_mul(PRIME);
    };
    for (n, v) in pairs {
        mix(n.as_bytes(), 0xff);
        mix(v.as_bytes(), 0xfe);
    }
    h
}

/// Is `name` a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`)?
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Is `name` a valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`)?
pub fn is_valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    match bytes.next() {
        Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {}
        _ => return false,
    }
    bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_deduplicated() {
        let l = Labels::from_pairs([("b", "2"), ("a", "1"), ("c", ""), ("b", "3")]);
        assert_eq!(l.len(), 2);
        assert_eq!(l.get("a"), Some("1"));
        assert_eq!(l.get("b"), Some("3"));
        assert_eq!(l.get("c"), None);
    }

    #[test]
    fn display_form() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "x")]);
        assert_eq!(l.to_string(), "up{job=\"x\"}");
        assert_eq!(Labels::from_pairs([("a", "b")]).to_string(), "{a=\"b\"}");
    }

    #[test]
    fn label_keys() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a"), ("x", "")]);
        let k = LabelKey::from_labels(&l);
        assert_eq!(k.to_labels(), l);
        assert_eq!(k.hash64(), l.hash64());
        assert!(k.eq_pairs([("__name__", "up"), ("job", "a")].into_iter()));
        assert!(!k.eq_pairs([("__name__", "up"), ("job", "ab")].into_iter()));
        assert!(!k.eq_pairs([("__name__", "up")].into_iter()));
        assert!(!k.eq_pairs([("__name__", "up"), ("job", "a"), ("z", "1")].into_iter()));
        let borrowed = SeriesLabels::Borrowed(vec![("__name__", "up"), ("job", "a")]);
        assert!(borrowed.matches_key(&k));
        assert_eq!(borrowed.hash64(), k.hash64());
        // Empty values mean "no label" in every form.
        let with_empty = SeriesLabels::Borrowed(vec![("__name__", "up"), ("job", "a"), ("x", "")]);
        assert!(with_empty.matches_key(&k));
        assert!(with_empty.matches(&l));
        assert_eq!(with_empty.hash64(), l.hash64());
        assert_eq!(with_empty.to_labels(), l);
    }

    #[test]
    fn names() {
        assert!(is_valid_label_name("_a1"));
        assert!(!is_valid_label_name("1a"));
        assert!(!is_valid_label_name("a-b"));
        assert!(is_valid_metric_name("a:b_c"));
    }
}
