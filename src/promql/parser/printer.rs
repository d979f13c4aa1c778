//! Printing an expression back to PromQL the way Prometheus' `String()`
//! does (canonical modifier order, sorted matchers, durations as `1h30m`).

use std::fmt::{self, Display, Formatter, Write};

use crate::model::MatchOp;

use super::ast::*;
use super::duration::{format_duration_ms, format_float, DurNode, DurationExpr};
use super::strings::{is_legacy_label_name, quote, quote_bytes};

/// A range, step or offset: a literal prints as a duration (`90s` → `1m30s`).
pub(crate) fn duration_str(d: &DurationExpr) -> String {
    match d.node {
        DurNode::Literal { secs, .. } => {
            // (Negative values, i64::MIN included, print with a sign.)
            format_duration_ms((secs * 1000.0).round() as i64)
        }
        _ => d.node.to_string(),
    }
}

fn label_list(ls: &[String]) -> String {
    let mut s = String::new();
    for (i, l) in ls.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        if is_legacy_label_name(l) {
            s.push_str(l);
        } else {
            s.push_str(&quote(l));
        }
    }
    s
}

fn at_str(at: &Option<AtModifier>) -> String {
    match at {
        None => String::new(),
        Some(AtModifier::Start) => " @ start()".into(),
        Some(AtModifier::End) => " @ end()".into(),
        Some(AtModifier::At(ms)) => format!(" @ {:.3}", *ms as f64 / 1000.0),
    }
}

fn offset_str(o: &Option<DurationExpr>) -> String {
    match o {
        None => String::new(),
        Some(d) if d.is_literal() && d.node_secs() == 0.0 => String::new(),
        Some(d) => format!(" offset {}", duration_str(d)),
    }
}

impl Display for LabelMatcher {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        };
        if is_legacy_label_name(&self.name) {
            write!(f, "{}{op}{}", self.name, quote(&self.value))
        } else {
            write!(f, "{}{op}{}", quote(&self.name), quote(&self.value))
        }
    }
}

impl VectorSelector {
    /// Name and matchers only (`up{job="x"}`), without modifiers.
    pub fn selector_string(&self) -> String {
        let mut ms: Vec<String> = self
            .matchers
            .iter()
            .filter(|m| {
                !(m.name == "__name__"
                    && m.op == MatchOp::Equal
                    && Some(&m.value) == self.name.as_ref()
                    && !m.value.is_empty())
            })
            .map(|m| m.to_string())
            .collect();
        ms.sort();
        let mut s = self.name.clone().unwrap_or_default();
        if !ms.is_empty() {
            s.push('{');
            s.push_str(&ms.join(","));
            s.push('}');
        }
        s
    }

    fn extended_str(&self) -> &'static str {
        if self.anchored {
            " anchored"
        } else if self.smoothed {
            " smoothed"
        } else {
            ""
        }
    }
}

impl Display for VectorSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}{}",
            self.selector_string(),
            at_str(&self.at),
            self.extended_str(),
            offset_str(&self.offset)
        )
    }
}

impl Display for MatrixSelector {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}[{}]{}{}{}",
            self.vs.selector_string(),
            duration_str(&self.range),
            self.vs.extended_str(),
            at_str(&self.vs.at),
            offset_str(&self.vs.offset)
        )
    }
}

impl SubqueryExpr {
    /// `[range:step] @ t offset d`.
    pub fn time_suffix(&self) -> String {
        let step = self.step.as_ref().map(duration_str).unwrap_or_default();
        format!(
            "[{}:{step}]{}{}",
            duration_str(&self.range),
            at_str(&self.at),
            offset_str(&self.offset)
        )
    }
}

impl BinaryExpr {
    /// The operator with its modifiers (`+ on (a) group_left (b)`).
    pub fn op_string(&self) -> String {
        let m = &self.modifier;
        let mut s = self.op.as_str().to_string();
        if m.return_bool {
            s.push_str(" bool");
        }
        let grouped = matches!(
            m.card,
            Cardinality::ManyToOne(_) | Cardinality::OneToMany(_)
        );
        match &m.matching {
            Some(Matching::On(l)) => {
                let _ = write!(s, " on ({})", label_list(l));
            }
            Some(Matching::Ignoring(l)) if !l.is_empty() || grouped => {
                let _ = write!(s, " ignoring ({})", label_list(l));
            }
            None if grouped => s.push_str(" ignoring ()"),
            _ => {}
        }
        match &m.card {
            Cardinality::ManyToOne(l) => {
                let _ = write!(s, " group_left ({})", label_list(l));
            }
            Cardinality::OneToMany(l) => {
                let _ = write!(s, " group_right ({})", label_list(l));
            }
            _ => {}
        }
        match (m.fill.lhs, m.fill.rhs) {
            (Some(a), Some(b)) if a == b || a.is_nan() && b.is_nan() => {
                let _ = write!(s, " fill ({})", format_float(a));
            }
            (l, r) => {
                if let Some(a) = l {
                    let _ = write!(s, " fill_left ({})", format_float(a));
                }
                if let Some(b) = r {
                    let _ = write!(s, " fill_right ({})", format_float(b));
                }
            }
        }
        s
    }
}

impl AggregateExpr {
    /// The operator with its grouping (`sum by (job) `).
    pub fn op_string(&self) -> String {
        let mut s = self.op.as_str().to_string();
        match &self.grouping {
            Some(Grouping::Without(l)) => {
                let _ = write!(s, " without ({}) ", label_list(l));
            }
            Some(Grouping::By(l)) if !l.is_empty() => {
                let _ = write!(s, " by ({}) ", label_list(l));
            }
            _ => {}
        }
        s
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::NumberLiteral(n) => {
                if n.duration {
                    // (Negative values, i64::MIN included, print with a sign.)
                    write!(f, "{}", format_duration_ms((n.val * 1000.0).round() as i64))
                } else {
                    write!(f, "{}", format_float(n.val))
                }
            }
            Expr::StringLiteral(s) => match &s.raw {
                Some(b) => write!(f, "{}", quote_bytes(b)),
                None => write!(f, "{}", quote(&s.val)),
            },
            Expr::VectorSelector(vs) => write!(f, "{vs}"),
            Expr::MatrixSelector(ms) => write!(f, "{ms}"),
            Expr::Subquery(sq) => write!(f, "{}{}", sq.expr, sq.time_suffix()),
            Expr::Paren(p) => write!(f, "({})", p.expr),
            Expr::Unary(u) => {
                let op = if u.op == UnaryOp::Neg { "-" } else { "+" };
                write!(f, "{op}{}", u.expr)
            }
            // `+Inf ^ x` would read back as `+(Inf ^ x)` (unary plus binds
            // looser than `^`): an infinite base is written without its sign.
            Expr::Binary(b) => match &*b.lhs {
                Expr::NumberLiteral(n)
                    if b.op == BinOp::Pow && !n.duration && n.val == f64::INFINITY =>
                {
                    write!(f, "Inf {} {}", b.op_string(), b.rhs)
                }
                _ => write!(f, "{} {} {}", b.lhs, b.op_string(), b.rhs),
            },
            Expr::Aggregate(a) => {
                write!(f, "{}(", a.op_string())?;
                if let Some(p) = &a.param {
                    write!(f, "{p}, ")?;
                }
                write!(f, "{})", a.expr)
            }
            Expr::Call(c) => {
                write!(f, "{}(", c.func.name)?;
                for (i, a) in c.args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Duration(d) => write!(f, "{}", d.node),
        }
    }
}
