//! Structural operators between two span sets of one trace, as Tempo
//! defines them: `{a} > {b}` (b spans whose parent is an a span), `<`
//! (b spans that are the parent of an a span), `>>` / `<<` (descendant /
//! ancestor), `~` (b spans sharing a parent with another a span); `!`
//! forms keep the b spans for which the relation does not hold; `&` forms
//! return both sides' spans that take part in the relation. Like Tempo,
//! every structural operator yields nothing unless both sides matched
//! (checked by the caller).
//!
//! Sets are membership masks over [`TraceData::spans`]; every operator is
//! linear in the trace size (ancestor walks stop at marked spans).

use crate::traceql::ast::SpansetOp;
use crate::traceql::data::TraceData;

/// The relation behind each operator, `rel(l, r)` for l on the left and r
/// on the right.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rel {
    /// `r`'s parent is `l`.
    Child,
    /// `l`'s parent is `r`.
    Parent,
    /// `l` is an ancestor of `r`.
    Descendant,
    /// `r` is an ancestor of `l`.
    Ancestor,
    /// Same parent, different spans.
    Sibling,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Plain,
    Not,
    Union,
}

fn classify(op: SpansetOp) -> Option<(Rel, Form)> {
    use SpansetOp::*;
    Some(match op {
        Child => (Rel::Child, Form::Plain),
        Parent => (Rel::Parent, Form::Plain),
        Descendant => (Rel::Descendant, Form::Plain),
        Ancestor => (Rel::Ancestor, Form::Plain),
        Sibling => (Rel::Sibling, Form::Plain),
        NotChild => (Rel::Child, Form::Not),
        NotParent => (Rel::Parent, Form::Not),
        NotDescendant => (Rel::Descendant, Form::Not),
        NotAncestor => (Rel::Ancestor, Form::Not),
        NotSibling => (Rel::Sibling, Form::Not),
        UnionChild => (Rel::Child, Form::Union),
        UnionParent => (Rel::Parent, Form::Union),
        UnionDescendant => (Rel::Descendant, Form::Union),
        UnionAncestor => (Rel::Ancestor, Form::Union),
        UnionSibling => (Rel::Sibling, Form::Union),
        And | Union => return None,
    })
}

/// The spans `lhs op rhs` yields (a mask), or `None` for `&&`/`||`.
pub(crate) fn join(
    trace: &TraceData<'_>,
    op: SpansetOp,
    lhs: &[bool],
    rhs: &[bool],
) -> Option<Vec<bool>> {
    let (rel, form) = classify(op)?;
    let n = trace.spans.len();
    // r_side[x]: some l relates to x; l_side[x]: x relates to some r.
    let r_side = right_marks(trace, rel, lhs);
    let mut out = vec![false; n];
    for x in 0..n {
        out[x] = rhs[x]
            && match form {
                Form::Plain | Form::Union => r_side[x],
                Form::Not => !r_side[x],
            };
    }
    if form == Form::Union {
        let l_side = left_marks(trace, rel, rhs);
        for x in 0..n {
            out[x] |= lhs[x] && l_side[x];
        }
    }
    Some(out)
}

/// `m[x]` = some l in `lhs` with `rel(l, x)`.
fn right_marks(trace: &TraceData<'_>, rel: Rel, lhs: &[bool]) -> Vec<bool> {
    match rel {
        Rel::Child => parent_in(trace, lhs),
        Rel::Parent => parents_of(trace, lhs),
        Rel::Descendant => ancestor_in(trace, lhs),
        Rel::Ancestor => ancestors_of(trace, lhs),
        Rel::Sibling => siblings_of(trace, lhs),
    }
}

/// `m[x]` = some r in `rhs` with `rel(x, r)`.
fn left_marks(trace: &TraceData<'_>, rel: Rel, rhs: &[bool]) -> Vec<bool> {
    match rel {
        Rel::Child => parents_of(trace, rhs),
        Rel::Parent => parent_in(trace, rhs),
        Rel::Descendant => ancestors_of(trace, rhs),
        Rel::Ancestor => ancestor_in(trace, rhs),
        Rel::Sibling => siblings_of(trace, rhs),
    }
}

/// Spans whose parent is in `set`.
fn parent_in(trace: &TraceData<'_>, set: &[bool]) -> Vec<bool> {
    trace
        .spans
        .iter()
        .map(|v| v.parent.is_some_and(|p| set[p]))
        .collect()
}

/// Parents of spans in `set`.
fn parents_of(trace: &TraceData<'_>, set: &[bool]) -> Vec<bool> {
    let mut m = vec![false; trace.spans.len()];
    for (i, v) in trace.spans.iter().enumerate() {
        if let (true, Some(p)) = (set[i], v.parent) {
            m[p] = true;
        }
    }
    m
}

/// Spans with an ancestor in `set`.
fn ancestor_in(trace: &TraceData<'_>, set: &[bool]) -> Vec<bool> {
    // below[x]: x is in `set` or has an ancestor in it; resolved
    // memoised top-down along parent links.
    let n = trace.spans.len();
    let mut state: Vec<Option<bool>> = vec![None; n];
    let mut path = Vec::new();
    let mut out = vec![false; n];
    for (start, slot) in out.iter_mut().enumerate() {
        // Walk up until a resolved span, a member or a root.
        path.clear();
        let mut cur = trace.spans[start].parent;
        let mut found = false;
        while let Some(p) = cur {
            if set[p] {
                found = true;
                break;
            }
            if let Some(s) = state[p] {
                found = s;
                break;
            }
            if path.len() > n {
                break;
            }
            path.push(p);
            cur = trace.spans[p].parent;
        }
        // Spans on the path have the same answer as `start`'s parent chain
        // above them.
        for &p in &path {
            state[p] = Some(found);
        }
        *slot = found;
    }
    out
}

/// Ancestors of spans in `set`.
fn ancestors_of(trace: &TraceData<'_>, set: &[bool]) -> Vec<bool> {
    let mut m = vec![false; trace.spans.len()];
    for (i, &member) in set.iter().enumerate() {
        if !member {
            continue;
        }
        let mut cur = trace.spans[i].parent;
        while let Some(p) = cur {
            if m[p] {
                break;
            }
            m[p] = true;
            cur = trace.spans[p].parent;
        }
    }
    m
}

/// Spans that share a parent with a different span in `set`.
fn siblings_of(trace: &TraceData<'_>, set: &[bool]) -> Vec<bool> {
    let n = trace.spans.len();
    let mut count = vec![0u32; n];
    for (i, v) in trace.spans.iter().enumerate() {
        if let (true, Some(p)) = (set[i], v.parent) {
            count[p] += 1;
        }
    }
    trace
        .spans
        .iter()
        .enumerate()
        .map(|(i, v)| v.parent.is_some_and(|p| count[p] > u32::from(set[i])))
        .collect()
}
