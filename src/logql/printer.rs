//! Writes a syntax tree back as a canonical single-line LogQL query (for
//! `/loki/api/v1/format_query`). The output parses back to the same tree:
//! strings are Go-quoted, durations and byte sizes are written in units the
//! lexer reads back exactly, and binary operands are parenthesised where
//! precedence or associativity needs it.

use std::fmt::Write;

use super::ast::*;
use super::parser::{binary_op_str, precedence};
use crate::model::{MatchOp, Matcher};
use crate::promql::parser::duration::format_duration_ms;
use crate::promql::parser::strings::quote;

/// Formats a query canonically.
pub fn format_expr(e: &Expr) -> String {
    let mut out = String::new();
    match e {
        Expr::Log(l) => log_expr(&mut out, l),
        Expr::Sample(s) => sample(&mut out, s),
    }
    out
}

/// Formats a log query (`{..} | stages`).
pub fn format_log_expr(l: &LogExpr) -> String {
    let mut out = String::new();
    log_expr(&mut out, l);
    out
}

/// Formats stream matchers as a selector: `{a="b", c=~"d"}`.
pub fn format_matchers(ms: &[Matcher]) -> String {
    let mut out = String::from("{");
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        matcher(&mut out, m);
    }
    out.push('}');
    out
}

fn matcher(out: &mut String, m: &Matcher) {
    let op = match m.op {
        MatchOp::Equal => "=",
        MatchOp::NotEqual => "!=",
        MatchOp::Regex => "=~",
        MatchOp::NotRegex => "!~",
    };
    let _ = write!(out, "{}{}{}", m.name, op, quote(&m.value));
}

fn log_expr(out: &mut String, l: &LogExpr) {
    out.push_str(&format_matchers(&l.matchers));
    for s in &l.stages {
        out.push(' ');
        stage(out, s);
    }
}

fn stage(out: &mut String, s: &Stage) {
    match s {
        Stage::LineFilter(f) => {
            out.push_str(match f.op {
                LineFilterOp::Contains => "|=",
                LineFilterOp::NotContains => "!=",
                LineFilterOp::Regex => "|~",
                LineFilterOp::NotRegex => "!~",
                LineFilterOp::Pattern => "|>",
                LineFilterOp::NotPattern => "!>",
            });
            for (i, v) in f.values.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or");
                }
                out.push(' ');
                match v {
                    LineFilterValue::Literal(s) => out.push_str(&quote(s)),
                    LineFilterValue::Ip(s) => {
                        let _ = write!(out, "ip({})", quote(s));
                    }
                }
            }
        }
        Stage::Json(ex) => {
            out.push_str("| json");
            extractions(out, ex);
        }
        Stage::Logfmt {
            strict,
            keep_empty,
            extractions: ex,
        } => {
            out.push_str("| logfmt");
            if *strict {
                out.push_str(" --strict");
            }
            if *keep_empty {
                out.push_str(" --keep-empty");
            }
            extractions(out, ex);
        }
        Stage::Regexp(r) => {
            let _ = write!(out, "| regexp {}", quote(r));
        }
        Stage::Pattern(p) => {
            let _ = write!(out, "| pattern {}", quote(p));
        }
        Stage::Unpack => out.push_str("| unpack"),
        Stage::Decolorize => out.push_str("| decolorize"),
        Stage::LabelFilter(f) => {
            out.push_str("| ");
            label_filter(out, f, 0);
        }
        Stage::LineFormat(t) => {
            let _ = write!(out, "| line_format {}", quote(t));
        }
        Stage::LabelFormat(ops) => {
            out.push_str("| label_format ");
            for (i, op) in ops.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                match op {
                    LabelFormatOp::Rename { dst, src } => {
                        let _ = write!(out, "{dst}={src}");
                    }
                    LabelFormatOp::Template { dst, template } => {
                        let _ = write!(out, "{dst}={}", quote(template));
                    }
                }
            }
        }
        Stage::Drop(sel) => {
            out.push_str("| drop ");
            selections(out, sel);
        }
        Stage::Keep(sel) => {
            out.push_str("| keep ");
            selections(out, sel);
        }
    }
}

fn extractions(out: &mut String, ex: &[LabelExtraction]) {
    for (i, e) in ex.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(&e.name);
        if let Some(x) = &e.expr {
            out.push('=');
            out.push_str(&quote(x));
        }
    }
}

fn selections(out: &mut String, sel: &[LabelSelection]) {
    for (i, s) in sel.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match s {
            LabelSelection::Name(n) => out.push_str(n),
            LabelSelection::Matcher(m) => matcher(out, m),
        }
    }
}

fn cmp_str(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}

/// `or` is level 1, `and` level 2; an operand is parenthesised when it
/// binds looser than its context (the right operand of an `and` always is,
/// so that the tree's shape survives).
fn label_filter(out: &mut String, f: &LabelFilterExpr, ctx: u8) {
    match f {
        LabelFilterExpr::Or(a, b) => {
            let paren = ctx > 1;
            if paren {
                out.push('(');
            }
            label_filter(out, a, 1);
            out.push_str(" or ");
            label_filter(out, b, 2);
            if paren {
                out.push(')');
            }
        }
        LabelFilterExpr::And(a, b) => {
            let paren = ctx > 2;
            if paren {
                out.push('(');
            }
            label_filter(out, a, 2);
            out.push_str(" and ");
            label_filter(out, b, 3);
            if paren {
                out.push(')');
            }
        }
        LabelFilterExpr::String(m) => matcher(out, m),
        LabelFilterExpr::Number { name, op, value } => {
            let _ = write!(out, "{name} {} {}", cmp_str(*op), float(*value));
        }
        LabelFilterExpr::Duration { name, op, value } => {
            let ns = (value * 1e9).round() as i64;
            let _ = write!(out, "{name} {} {}", cmp_str(*op), go_duration(ns));
        }
        LabelFilterExpr::Bytes { name, op, value } => {
            let _ = write!(out, "{name} {} {}B", cmp_str(*op), *value as u64);
        }
        LabelFilterExpr::Ip {
            name,
            negated,
            pattern,
        } => {
            let op = if *negated { "!=" } else { "=" };
            let _ = write!(out, "{name}{op}ip({})", quote(pattern));
        }
    }
}

/// A number as Go's `FormatFloat(v, 'f', -1, 64)` writes it.
fn float(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// A duration the lexer reads back exactly: Prometheus notation for whole
/// non-negative milliseconds, else seconds with a fraction (`1.5s`, `-2s`).
fn go_duration(ns: i64) -> String {
    if ns >= 0 && ns % 1_000_000 == 0 {
        return format_duration_ms(ns / 1_000_000);
    }
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    let (secs, frac) = (a / 1_000_000_000, a % 1_000_000_000);
    if frac == 0 {
        return format!("{sign}{secs}s");
    }
    let f = format!("{frac:09}");
    format!("{sign}{secs}.{}s", f.trim_end_matches('0'))
}

fn grouping(out: &mut String, g: &Grouping) {
    out.push_str(if g.without { "without (" } else { "by (" });
    out.push_str(&g.labels.join(", "));
    out.push(')');
}

fn range_op_str(op: RangeOp) -> &'static str {
    match op {
        RangeOp::Rate => "rate",
        RangeOp::RateCounter => "rate_counter",
        RangeOp::CountOverTime => "count_over_time",
        RangeOp::BytesRate => "bytes_rate",
        RangeOp::BytesOverTime => "bytes_over_time",
        RangeOp::AbsentOverTime => "absent_over_time",
        RangeOp::SumOverTime => "sum_over_time",
        RangeOp::AvgOverTime => "avg_over_time",
        RangeOp::MaxOverTime => "max_over_time",
        RangeOp::MinOverTime => "min_over_time",
        RangeOp::StddevOverTime => "stddev_over_time",
        RangeOp::StdvarOverTime => "stdvar_over_time",
        RangeOp::QuantileOverTime => "quantile_over_time",
        RangeOp::FirstOverTime => "first_over_time",
        RangeOp::LastOverTime => "last_over_time",
    }
}

fn vector_op_str(op: VectorOp) -> &'static str {
    match op {
        VectorOp::Sum => "sum",
        VectorOp::Avg => "avg",
        VectorOp::Min => "min",
        VectorOp::Max => "max",
        VectorOp::Count => "count",
        VectorOp::Stddev => "stddev",
        VectorOp::Stdvar => "stdvar",
        VectorOp::Topk => "topk",
        VectorOp::Bottomk => "bottomk",
        VectorOp::Sort => "sort",
        VectorOp::SortDesc => "sort_desc",
    }
}

fn log_range(out: &mut String, r: &LogRange) {
    log_expr(out, &r.selector);
    if let Some(u) = &r.unwrap {
        out.push_str(" | unwrap ");
        match u.conversion {
            UnwrapConversion::None => out.push_str(&u.label),
            UnwrapConversion::Duration => {
                let _ = write!(out, "duration({})", u.label);
            }
            UnwrapConversion::Bytes => {
                let _ = write!(out, "bytes({})", u.label);
            }
        }
        for f in &u.post_filters {
            out.push_str(" | ");
            label_filter(out, f, 0);
        }
    }
    if !r.selector.stages.is_empty() || r.unwrap.is_some() {
        out.push(' ');
    }
    let _ = write!(out, "[{}]", format_duration_ms(r.range_ns / 1_000_000));
    if r.offset_ns != 0 {
        let _ = write!(out, " offset {}", go_duration(r.offset_ns));
    }
}

fn sample(out: &mut String, s: &SampleExpr) {
    match s {
        SampleExpr::RangeAgg(a) => {
            out.push_str(range_op_str(a.op));
            out.push('(');
            if let Some(p) = a.param {
                let _ = write!(out, "{}, ", float(p));
            }
            log_range(out, &a.range);
            out.push(')');
            if let Some(g) = &a.grouping {
                out.push(' ');
                grouping(out, g);
            }
        }
        SampleExpr::VectorAgg(v) => {
            out.push_str(vector_op_str(v.op));
            if let Some(g) = &v.grouping {
                out.push(' ');
                grouping(out, g);
                out.push(' ');
            }
            out.push('(');
            if let Some(p) = v.param {
                let _ = write!(out, "{}, ", float(p));
            }
            sample(out, &v.expr);
            out.push(')');
        }
        SampleExpr::Binary(b) => binary(out, b),
        SampleExpr::Literal(v) => out.push_str(&float(*v)),
        SampleExpr::Vector(v) => {
            let _ = write!(out, "vector({})", float(*v));
        }
        SampleExpr::LabelReplace(l) => {
            out.push_str("label_replace(");
            sample(out, &l.expr);
            for a in [&l.dst, &l.replacement, &l.src, &l.regex] {
                out.push_str(", ");
                out.push_str(&quote(a));
            }
            out.push(')');
        }
    }
}

fn binary(out: &mut String, b: &BinaryExpr) {
    let p = precedence(b.op);
    let right_assoc = b.op == BinaryOp::Pow;
    let needs_paren = |e: &SampleExpr, left: bool| match e {
        SampleExpr::Binary(c) => {
            let cp = precedence(c.op);
            cp < p || (cp == p && (left == right_assoc))
        }
        _ => false,
    };
    operand(out, &b.lhs, needs_paren(&b.lhs, true));
    let _ = write!(out, " {}", binary_op_str(b.op));
    if b.return_bool {
        out.push_str(" bool");
    }
    if let Some(m) = &b.matching {
        let _ = write!(
            out,
            " {} ({})",
            if m.on { "on" } else { "ignoring" },
            m.labels.join(", ")
        );
        match &m.card {
            Cardinality::OneToOne => {}
            Cardinality::ManyToOne(l) => {
                let _ = write!(out, " group_left ({})", l.join(", "));
            }
            Cardinality::OneToMany(l) => {
                let _ = write!(out, " group_right ({})", l.join(", "));
            }
        }
    }
    out.push(' ');
    operand(out, &b.rhs, needs_paren(&b.rhs, false));
}

fn operand(out: &mut String, e: &SampleExpr, paren: bool) {
    if paren {
        out.push('(');
    }
    sample(out, e);
    if paren {
        out.push(')');
    }
}
