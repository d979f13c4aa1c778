//! The labels of the line being processed, in Loki's categories (stream,
//! structured metadata, parsed) plus the `__error__` / `__error_details__`
//! pair, kept in reusable buffers so that a line allocates nothing once the
//! buffers are warm. Precedence as Loki: parsed over structured metadata
//! over stream labels.

use crate::model::{Label, Labels};

pub const ERROR_LABEL: &str = "__error__";
pub const ERROR_DETAILS_LABEL: &str = "__error_details__";
pub const DUPLICATE_SUFFIX: &str = "_extracted";

/// A pool of name/value pairs whose first `len` entries are live; removed
/// entries keep their buffers for reuse.
#[derive(Debug, Default)]
struct Pool {
    items: Vec<Label>,
    len: usize,
}

impl Pool {
    fn clear(&mut self) {
        self.len = 0;
    }
    fn live(&self) -> &[Label] {
        &self.items[..self.len]
    }
    fn find(&self, name: &str) -> Option<usize> {
        self.live().iter().position(|l| l.name == name)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.find(name).map(|i| self.items[i].value.as_str())
    }
    fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Some(i) => {
                self.items[i..self.len].rotate_left(1);
                self.len -= 1;
                true
            }
            None => false,
        }
    }
    /// The value buffer of `name`, emptied, added if absent.
    fn slot(&mut self, name: &str) -> &mut String {
        let i = match self.find(name) {
            Some(i) => i,
            None => {
                if self.len == self.items.len() {
                    self.items.push(Label::new(name, ""));
                } else {
                    let l = &mut self.items[self.len];
                    l.name.clear();
                    l.name.push_str(name);
                }
                self.len += 1;
                self.len - 1
            }
        };
        let v = &mut self.items[i].value;
        v.clear();
        v
    }
}

/// Which category a label is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Stream,
    Metadata,
    Parsed,
}

/// Working labels of one line.
#[derive(Debug, Default)]
pub struct LineLabels {
    stream: Labels,
    stream_del: Vec<bool>,
    any_stream_del: bool,
    meta: Pool,
    parsed: Pool,
    err: String,
    err_details: String,
}

impl LineLabels {
    pub fn new(stream: &Labels) -> LineLabels {
        LineLabels {
            stream: stream.clone(),
            stream_del: vec![false; stream.len()],
            ..Default::default()
        }
    }

    /// Starts a line: no changes, this line's structured metadata. A
    /// metadata name that is also a stream label gets the `_extracted`
    /// suffix; metadata named `__error__` / `__error_details__` sets them.
    pub fn reset(&mut self, metadata: &[Label]) {
        if self.any_stream_del {
            self.stream_del.iter_mut().for_each(|d| *d = false);
            self.any_stream_del = false;
        }
        self.meta.clear();
        self.parsed.clear();
        self.err.clear();
        self.err_details.clear();
        for l in metadata {
            if l.name == ERROR_LABEL {
                self.err.push_str(&l.value);
            } else if l.name == ERROR_DETAILS_LABEL {
                self.err_details.push_str(&l.value);
            } else if self.stream.get(&l.name).is_some() {
                let name = format!("{}{DUPLICATE_SUFFIX}", l.name);
                self.meta.slot(&name).push_str(&l.value);
            } else {
                self.meta.slot(&l.name).push_str(&l.value);
            }
        }
    }

    /// Did nothing change the stream labels on this line?
    pub fn is_plain_stream(&self) -> bool {
        !self.any_stream_del
            && self.meta.len == 0
            && self.parsed.len == 0
            && self.err.is_empty()
            && self.err_details.is_empty()
    }

    /// Is `name` one of the original stream labels (the `_extracted` rule)?
    pub fn base_has(&self, name: &str) -> bool {
        self.stream.get(name).is_some()
    }

    /// The current value of a label (the error labels included).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(v) = self.parsed.get(name) {
            return Some(v);
        }
        if let Some(v) = self.meta.get(name) {
            return Some(v);
        }
        if name == ERROR_LABEL {
            return (!self.err.is_empty()).then_some(self.err.as_str());
        }
        if name == ERROR_DETAILS_LABEL {
            return (!self.err_details.is_empty()).then_some(self.err_details.as_str());
        }
        let i = self
            .stream
            .as_slice()
            .binary_search_by(|l| l.name.as_str().cmp(name))
            .ok()?;
        if self.stream_del[i] {
            None
        } else {
            Some(self.stream.as_slice()[i].value.as_str())
        }
    }

    /// Sets a parsed label; it hides metadata and stream labels of the name.
    pub fn set_parsed(&mut self, name: &str, value: &str) {
        self.parsed_slot(name).push_str(value);
    }

    /// The emptied value buffer of parsed label `name`, to write into.
    pub fn parsed_slot(&mut self, name: &str) -> &mut String {
        if self.meta.len > 0 {
            self.meta.remove(name);
        }
        self.parsed.slot(name)
    }

    /// Removes a label from every category (the error labels too).
    pub fn delete(&mut self, name: &str) {
        if name == ERROR_LABEL {
            self.err.clear();
            return;
        }
        if name == ERROR_DETAILS_LABEL {
            self.err_details.clear();
            return;
        }
        self.parsed.remove(name);
        self.meta.remove(name);
        if let Ok(i) = self
            .stream
            .as_slice()
            .binary_search_by(|l| l.name.as_str().cmp(name))
        {
            self.stream_del[i] = true;
            self.any_stream_del = true;
        }
    }

    pub fn has_err(&self) -> bool {
        !self.err.is_empty()
    }

    /// Sets `__error__` and `__error_details__` (details left as they are
    /// when `details` is `None`).
    pub fn set_err(&mut self, err: &str, details: Option<&str>) {
        self.err.clear();
        self.err.push_str(err);
        if let Some(d) = details {
            self.err_details.clear();
            self.err_details.push_str(d);
        }
    }

    /// Calls `f` on every visible label with its category (error labels as
    /// parsed), in no particular order.
    pub fn for_each<'s>(&'s self, mut f: impl FnMut(&'s str, &'s str, Category)) {
        for (i, l) in self.stream.iter().enumerate() {
            if self.stream_del[i]
                || self.meta.find(&l.name).is_some()
                || self.parsed.find(&l.name).is_some()
            {
                continue;
            }
            f(&l.name, &l.value, Category::Stream);
        }
        for l in self.meta.live() {
            if self.parsed.find(&l.name).is_none() {
                f(&l.name, &l.value, Category::Metadata);
            }
        }
        for l in self.parsed.live() {
            f(&l.name, &l.value, Category::Parsed);
        }
        if !self.err.is_empty() {
            f(ERROR_LABEL, &self.err, Category::Parsed);
        }
        if !self.err_details.is_empty() {
            f(ERROR_DETAILS_LABEL, &self.err_details, Category::Parsed);
        }
    }

    /// An order-independent signature of the visible labels and their
    /// categories, for cheap comparison with the last built result.
    pub fn signature(&self) -> u64 {
        let mut sig = 0u64;
        let mut n = 0u64;
        self.for_each(|name, value, cat| {
            sig = sig.wrapping_add(label_sig(name, value, cat));
            n += 1;
        });
        sig ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// Appends `key` made a valid label name as Loki does: trimmed, a leading
/// digit prefixed with `_`, every other character outside `[A-Za-z0-9_]`
/// replaced by `_`.
pub fn sanitize_into(key: &str, out: &mut String) {
    let key = key.trim();
    if key.as_bytes().first().is_some_and(|b| b.is_ascii_digit()) {
        out.push('_');
    }
    for c in key.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            out.push('_');
        }
    }
}

/// Writes into `buf` the name a parser uses for `name` (already a valid
/// label name): with the `_extracted` suffix when a stream label has it.
pub fn parsed_name<'b>(st: &LineLabels, name: &str, buf: &'b mut String) -> &'b str {
    buf.clear();
    buf.push_str(name);
    if st.base_has(name) {
        buf.push_str(DUPLICATE_SUFFIX);
    }
    buf.as_str()
}

/// Replaces U+FFFD (rejected in label values) by spaces, as Loki does.
pub fn scrub_replacement_chars(s: &mut String) {
    if !s.is_ascii() && s.contains('\u{fffd}') {
        *s = s.replace('\u{fffd}', " ");
    }
}

/// FNV-1a of one label with its category, mixed.
pub fn label_sig(name: &str, value: &str, cat: Category) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name
        .bytes()
        .chain(std::iter::once(0xff))
        .chain(value.bytes())
    {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    h ^= cat as u64 + 1;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_deletes() {
        let stream = Labels::from_pairs([("app", "web"), ("level", "info")]);
        let mut st = LineLabels::new(&stream);
        st.reset(&[Label::new("app", "meta-app"), Label::new("trace", "t1")]);
        assert_eq!(st.get("app"), Some("web"));
        assert_eq!(st.get("app_extracted"), Some("meta-app"));
        assert_eq!(st.get("trace"), Some("t1"));
        st.set_parsed("trace", "t2");
        st.set_parsed("level", "warn");
        assert_eq!(st.get("trace"), Some("t2"));
        assert_eq!(st.get("level"), Some("warn"));
        st.delete("level");
        assert_eq!(st.get("level"), None);
        st.set_err("JSONParserErr", Some("bad"));
        assert_eq!(st.get(ERROR_LABEL), Some("JSONParserErr"));
        let mut seen = Vec::new();
        st.for_each(|n, v, c| seen.push((n.to_string(), v.to_string(), c)));
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            seen,
            vec![
                ("__error__".into(), "JSONParserErr".into(), Category::Parsed),
                ("__error_details__".into(), "bad".into(), Category::Parsed),
                ("app".into(), "web".into(), Category::Stream),
                (
                    "app_extracted".into(),
                    "meta-app".into(),
                    Category::Metadata
                ),
                ("trace".into(), "t2".into(), Category::Parsed),
            ]
        );
        st.reset(&[]);
        assert!(st.is_plain_stream());
        assert_eq!(st.get("level"), Some("info"));
    }
}
