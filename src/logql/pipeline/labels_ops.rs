//! `drop` and `keep`: remove labels by name or by matcher on the value,
//! with Loki's handling of `__error__` / `__error_details__` (`drop`
//! clears them; `keep` never removes them).

use super::state::{LineLabels, ERROR_DETAILS_LABEL, ERROR_LABEL};
use crate::logql::ast::LabelSelection;

/// `drop a, b="v"`.
pub fn drop_labels(sel: &[LabelSelection], st: &mut LineLabels) {
    for s in sel {
        match s {
            LabelSelection::Name(n) => st.delete(n),
            LabelSelection::Matcher(m) => {
                let v = st.get(&m.name).unwrap_or("");
                if m.matches(v) {
                    st.delete(&m.name);
                }
            }
        }
    }
}

/// `keep a, b="v"`: every other label goes, the error labels stay.
pub fn keep_labels(sel: &[LabelSelection], st: &mut LineLabels, names: &mut Vec<String>) {
    if sel.is_empty() {
        return;
    }
    names.clear();
    st.for_each(|name, value, _| {
        if name == ERROR_LABEL || name == ERROR_DETAILS_LABEL {
            return;
        }
        let keep = sel.iter().any(|s| match s {
            LabelSelection::Name(n) => n == name,
            LabelSelection::Matcher(m) => m.name == name && m.matches(value),
        });
        if !keep {
            names.push(name.to_string());
        }
    });
    for n in names.iter() {
        st.delete(n);
    }
}

/// Appends `line` without ANSI escape sequences (CSI `ESC [ ... final`,
/// OSC `ESC ] ... BEL|ESC \`, two-byte `ESC x`, and the 8-bit CSI).
/// Returns false (and writes nothing) when the line has none.
pub fn decolorize(line: &str, out: &mut String) -> bool {
    let b = line.as_bytes();
    if memchr::memchr2(0x1b, 0xc2, b).is_none() {
        return false;
    }
    out.clear();
    let mut i = 0;
    let mut last = 0;
    let mut changed = false;
    while i < b.len() {
        let (is_csi, body) = if b[i] == 0x1b {
            match b.get(i + 1) {
                Some(b'[') => (true, i + 2),
                Some(b']') => {
                    // OSC: up to BEL or ESC '\'
                    let mut j = i + 2;
                    while j < b.len()
                        && b[j] != 0x07
                        && !(b[j] == 0x1b && b.get(j + 1) == Some(&b'\\'))
                    {
                        j += 1;
                    }
                    let end = if j < b.len() && b[j] == 0x1b {
                        j + 2
                    } else {
                        (j + 1).min(b.len())
                    };
                    out.push_str(&line[last..i]);
                    i = end;
                    last = end;
                    changed = true;
                    continue;
                }
                Some(c) if (0x40..=0x5f).contains(c) || matches!(c, b'(' | b')' | b'#') => {
                    let end = if matches!(c, b'(' | b')' | b'#')
                        && b.get(i + 2).is_some_and(u8::is_ascii)
                    {
                        i + 3
                    } else {
                        i + 2
                    };
                    out.push_str(&line[last..i]);
                    i = end;
                    last = end;
                    changed = true;
                    continue;
                }
                _ => (false, 0),
            }
        } else if b[i] == 0xc2 && b.get(i + 1) == Some(&0x9b) {
            (true, i + 2)
        } else {
            (false, 0)
        };
        if !is_csi {
            i += 1;
            continue;
        }
        // CSI: parameters and intermediates 0x20-0x3f, final byte 0x40-0x7e
        let mut j = body;
        while j < b.len() && (0x20..=0x3f).contains(&b[j]) {
            j += 1;
        }
        let end = if j < b.len() && (0x40..=0x7e).contains(&b[j]) {
            j + 1
        } else {
            j
        };
        out.push_str(&line[last..i]);
        i = end;
        last = end;
        changed = true;
    }
    if !changed {
        return false;
    }
    out.push_str(&line[last..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_ansi() {
        let mut out = String::new();
        assert!(decolorize(
            "\u{1b}[31mred\u{1b}[0m plain \u{1b}[1;32mgreen\u{1b}[0m",
            &mut out
        ));
        assert_eq!(out, "red plain green");
        assert!(decolorize("\u{1b}]0;title\u{7}text", &mut out));
        assert_eq!(out, "text");
        assert!(!decolorize("no colors here", &mut out));
        assert!(decolorize("a\u{9b}2Kb", &mut out));
        assert_eq!(out, "ab");
    }
}
