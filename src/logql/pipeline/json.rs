//! The `json` parser (every field, nested objects flattened with `_`, or
//! only the fields named by extraction expressions) and `unpack`
//! (Promtail's packed JSON: fields become labels, `_entry` the line).

use super::json_scan::{each_member, lookup, parse_path, skip_ws, unescape_into, Kind, PathStep};
use super::state::{
    parsed_name, sanitize_into, scrub_replacement_chars, LineLabels, DUPLICATE_SUFFIX,
};
use crate::logql::ast::LabelExtraction;
use crate::model::labels::is_valid_label_name;

pub const JSON_ERR: &str = "JSONParserErr";
const PACKED_ENTRY_KEY: &str = "_entry";

/// A compiled `json` stage.
#[derive(Debug)]
pub enum JsonStage {
    All,
    Exprs(Vec<(String, Vec<PathStep>)>),
}

/// Reused buffers of the JSON stages.
#[derive(Debug, Default)]
pub struct JsonScratch {
    prefix: String,
    name: String,
    value: String,
    pairs: Vec<(usize, usize, usize, usize)>,
}

impl JsonStage {
    pub fn new(extractions: &[LabelExtraction]) -> Result<JsonStage, String> {
        if extractions.is_empty() {
            return Ok(JsonStage::All);
        }
        let mut out = Vec::with_capacity(extractions.len());
        for e in extractions {
            if !is_valid_label_name(&e.name) {
                return Err(format!("invalid extracted label name '{}'", e.name));
            }
            let path = parse_path(e.expr.as_deref().unwrap_or(&e.name))?;
            out.push((e.name.clone(), path));
        }
        Ok(JsonStage::Exprs(out))
    }

    pub fn process(&self, line: &str, st: &mut LineLabels, sc: &mut JsonScratch) {
        match self {
            JsonStage::All => parse_all(line, st, sc),
            JsonStage::Exprs(exprs) => parse_exprs(line, exprs, st, sc),
        }
    }
}

fn set_value(
    line: &str,
    kind: Kind,
    s: usize,
    e: usize,
    name: &str,
    st: &mut LineLabels,
    scratch: &mut String,
) {
    match kind {
        Kind::String => {
            scratch.clear();
            if unescape_into(&line[s + 1..e - 1], scratch).is_err() {
                scratch.clear();
            }
            scrub_replacement_chars(scratch);
            st.set_parsed(name, scratch);
        }
        Kind::Number | Kind::Bool => st.set_parsed(name, &line[s..e]),
        _ => {}
    }
}

fn flatten(
    line: &str,
    at: usize,
    depth: usize,
    st: &mut LineLabels,
    sc: &mut JsonScratch,
) -> Result<usize, String> {
    let b = line.as_bytes();
    each_member(b, at, depth, &mut |raw, kind, s, e| {
        let key = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
        if key.trim().is_empty() {
            return Ok(());
        }
        let plen = sc.prefix.len();
        if plen > 0 {
            sc.prefix.push('_');
        }
        sanitize_into(key, &mut sc.prefix);
        match kind {
            Kind::Object => {
                flatten(line, s, depth + 1, st, sc)?;
            }
            Kind::String | Kind::Number | Kind::Bool => {
                sc.name.clear();
                sc.name.push_str(&sc.prefix);
                if st.base_has(&sc.name) {
                    sc.name.push_str(DUPLICATE_SUFFIX);
                }
                let name = std::mem::take(&mut sc.name);
                set_value(line, kind, s, e, &name, st, &mut sc.value);
                sc.name = name;
            }
            Kind::Null | Kind::Array => {}
        }
        sc.prefix.truncate(plen);
        Ok(())
    })
}

fn parse_all(line: &str, st: &mut LineLabels, sc: &mut JsonScratch) {
    sc.prefix.clear();
    let at = skip_ws(line.as_bytes(), 0);
    if let Err(e) = flatten(line, at, 0, st, sc) {
        st.set_err(JSON_ERR, Some(&e));
    }
}

fn parse_exprs(
    line: &str,
    exprs: &[(String, Vec<PathStep>)],
    st: &mut LineLabels,
    sc: &mut JsonScratch,
) {
    if line.is_empty() {
        return;
    }
    let first = line.as_bytes()[0];
    if !matches!(first, b'"' | b'{' | b'[') {
        st.set_err(JSON_ERR, None);
        return;
    }
    for (id, path) in exprs {
        let mut name = std::mem::take(&mut sc.name);
        parsed_name(st, id, &mut name);
        match lookup(line, path) {
            Ok(Some((Kind::String, s, e))) => {
                set_value(line, Kind::String, s, e, &name, st, &mut sc.value)
            }
            Ok(Some((Kind::Null, _, _))) | Ok(None) => st.set_parsed(&name, ""),
            Ok(Some((_, s, e))) => st.set_parsed(&name, &line[s..e]),
            Err(err) => {
                st.set_err(JSON_ERR, Some(&err));
                st.set_parsed(&name, "");
            }
        }
        sc.name = name;
    }
}

/// `unpack`: returns true when the line was replaced by `_entry` (written
/// to `out`).
pub fn unpack(line: &str, st: &mut LineLabels, sc: &mut JsonScratch, out: &mut String) -> bool {
    if line.is_empty() {
        return false;
    }
    if !line.starts_with('{') {
        st.set_err(JSON_ERR, Some("expecting json object(3), but it is not"));
        return false;
    }
    let b = line.as_bytes();
    sc.pairs.clear();
    let mut entry = None;
    let pairs = &mut sc.pairs;
    let res = each_member(b, 0, 0, &mut |raw, kind, s, e| {
        if kind != Kind::String {
            return Ok(());
        }
        let ks = raw.as_ptr() as usize - b.as_ptr() as usize;
        let key = &line[ks..ks + raw.len()];
        if key == PACKED_ENTRY_KEY {
            entry = Some((s, e));
        } else {
            pairs.push((ks, ks + raw.len(), s, e));
        }
        Ok(())
    });
    if let Err(e) = res {
        st.set_err(JSON_ERR, Some(&e));
        return false;
    }
    let Some((s, e)) = entry else { return false };
    out.clear();
    if let Err(err) = unescape_into(&line[s + 1..e - 1], out) {
        st.set_err(JSON_ERR, Some(&err));
        return false;
    }
    for i in 0..sc.pairs.len() {
        let (ks, ke, vs, ve) = sc.pairs[i];
        let key = &line[ks..ke];
        sc.name.clear();
        if st.base_has(key) {
            let mut k = key.to_string();
            k.push_str(DUPLICATE_SUFFIX);
            sanitize_into(&k, &mut sc.name);
        } else {
            sanitize_into(key, &mut sc.name);
        }
        if sc.name.is_empty() {
            continue;
        }
        let name = std::mem::take(&mut sc.name);
        set_value(line, Kind::String, vs, ve, &name, st, &mut sc.value);
        sc.name = name;
    }
    true
}
