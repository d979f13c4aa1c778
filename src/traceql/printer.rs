//! The TraceQL printer: canonical text for every tree node (via
//! `Display`), which parses back to the same tree. Filters print as
//! `{ cond }` (`{}` when empty), operators with single spaces around them,
//! parentheses only where precedence or associativity needs them (and around
//! unary operations and negative numbers under arithmetic), pipelines
//! inside spanset operators in parentheses, durations as unit sums (`1s500ms`),
//! attribute names quoted when they hold characters that would end them.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::{
    Aggregate, AggregateOp, Attribute, BinOp, Expr, Field, Intrinsic, Kind, Query, Scalar,
    ScalarFilter, Scope, SpansetOp, Stage, Static, Status, UnaryOp,
};
use super::lexer::is_attribute_char;
use super::parser::{field_precedence, scalar_precedence, spanset_precedence};

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)?;
        if !self.hints.is_empty() {
            f.write_str(" with(")?;
            for (i, h) in self.hints.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}={}", h.name, h.value)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Filter(None) => f.write_str("{}"),
            Expr::Filter(Some(c)) => write!(f, "{{ {c} }}"),
            Expr::SpansetOp { op, lhs, rhs } => {
                let prec = spanset_precedence(*op);
                spanset_operand(f, lhs, prec, false)?;
                write!(f, " {} ", spanset_op_str(*op))?;
                spanset_operand(f, rhs, prec, true)
            }
            Expr::Pipeline(stages) => pipeline(f, stages),
            Expr::ScalarFilter(sf) => write!(f, "{sf}"),
        }
    }
}

/// An operand of a spanset operator of precedence `parent`.
fn spanset_operand(f: &mut Formatter<'_>, e: &Expr, parent: u8, right: bool) -> fmt::Result {
    let paren = match e {
        Expr::SpansetOp { op, .. } => {
            let p = spanset_precedence(*op);
            p < parent || (right && p == parent)
        }
        Expr::Pipeline(_) | Expr::ScalarFilter(_) => true,
        Expr::Filter(_) => false,
    };
    if paren {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

fn pipeline(f: &mut Formatter<'_>, stages: &[Stage]) -> fmt::Result {
    for (i, s) in stages.iter().enumerate() {
        if i > 0 {
            f.write_str(" | ")?;
        }
        write!(f, "{s}")?;
    }
    Ok(())
}

/// The text of a spanset operator.
pub fn spanset_op_str(op: SpansetOp) -> &'static str {
    match op {
        SpansetOp::And => "&&",
        SpansetOp::Union => "||",
        SpansetOp::Child => ">",
        SpansetOp::Parent => "<",
        SpansetOp::Descendant => ">>",
        SpansetOp::Ancestor => "<<",
        SpansetOp::Sibling => "~",
        SpansetOp::NotChild => "!>",
        SpansetOp::NotParent => "!<",
        SpansetOp::NotDescendant => "!>>",
        SpansetOp::NotAncestor => "!<<",
        SpansetOp::NotSibling => "!~",
        SpansetOp::UnionChild => "&>",
        SpansetOp::UnionParent => "&<",
        SpansetOp::UnionDescendant => "&>>",
        SpansetOp::UnionAncestor => "&<<",
        SpansetOp::UnionSibling => "&~",
    }
}

/// The text of a binary operator.
pub fn binop_str(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        BinOp::Mod => "%",
        BinOp::Pow => "^",
        BinOp::Eq => "=",
        BinOp::Neq => "!=",
        BinOp::Lt => "<",
        BinOp::Lte => "<=",
        BinOp::Gt => ">",
        BinOp::Gte => ">=",
        BinOp::Re => "=~",
        BinOp::NotRe => "!~",
        BinOp::And => "&&",
        BinOp::Or => "||",
    }
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Spanset(Expr::Pipeline(st)) => {
                f.write_char('(')?;
                pipeline(f, st)?;
                f.write_char(')')
            }
            Stage::Spanset(e) => write!(f, "{e}"),
            Stage::ScalarFilter(sf) => write!(f, "{sf}"),
            Stage::By(e) => write!(f, "by({e})"),
            Stage::Select(fields) => {
                f.write_str("select(")?;
                for (i, e) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_char(')')
            }
            Stage::Coalesce => f.write_str("coalesce()"),
            Stage::Aggregate(a) => write!(f, "{a}"),
        }
    }
}

impl Display for ScalarFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.lhs, binop_str(self.op), self.rhs)
    }
}

impl Display for Scalar {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Aggregate(a) => write!(f, "{a}"),
            Scalar::Static(s) => write!(f, "{s}"),
            Scalar::Pipeline(st) => {
                f.write_char('(')?;
                pipeline(f, st)?;
                f.write_char(')')
            }
            Scalar::Binary { op, lhs, rhs } => {
                let prec = scalar_precedence(*op);
                let right_assoc = *op == BinOp::Pow;
                for (i, side) in [lhs, rhs].into_iter().enumerate() {
                    if i == 1 {
                        write!(f, " {} ", binop_str(*op))?;
                    }
                    let paren = match &**side {
                        Scalar::Binary { op: o, .. } => {
                            let p = scalar_precedence(*o);
                            p < prec || (p == prec && (i == 1) != right_assoc)
                        }
                        _ => false,
                    };
                    if paren {
                        write!(f, "({side})")?;
                    } else {
                        write!(f, "{side}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl Display for Aggregate {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let name = match self.op {
            AggregateOp::Count => "count",
            AggregateOp::Avg => "avg",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Sum => "sum",
        };
        match &self.arg {
            Some(a) => write!(f, "{name}({a})"),
            None => write!(f, "{name}()"),
        }
    }
}

/// Whether a field prints as a unary operation or negative number.
fn is_unary_like(e: &Field) -> bool {
    match e {
        Field::Unary { .. } => true,
        Field::Static(Static::Int(i)) => *i < 0,
        Field::Static(Static::Float(x)) => x.is_sign_negative(),
        Field::Static(Static::Duration(d)) => *d < 0,
        _ => false,
    }
}

impl Display for Field {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Field::Static(s) => write!(f, "{s}"),
            Field::Intrinsic(i) => f.write_str(intrinsic_str(*i)),
            Field::Attribute(a) => write!(f, "{a}"),
            Field::Unary { op, arg } => {
                f.write_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                })?;
                let paren = matches!(**arg, Field::Binary { .. })
                    || (*op == UnaryOp::Neg && is_unary_like(arg));
                if paren {
                    write!(f, "({arg})")
                } else {
                    write!(f, "{arg}")
                }
            }
            Field::Binary { op, lhs, rhs } => {
                let prec = field_precedence(*op);
                let right_assoc = *op == BinOp::Pow;
                for (i, side) in [lhs, rhs].into_iter().enumerate() {
                    if i == 1 {
                        write!(f, " {} ", binop_str(*op))?;
                    }
                    let paren = match &**side {
                        Field::Binary { op: o, .. } => {
                            let p = field_precedence(*o);
                            p < prec || (p == prec && (i == 1) != right_assoc)
                        }
                        side => prec >= 3 && is_unary_like(side),
                    };
                    if paren {
                        write!(f, "({side})")?;
                    } else {
                        write!(f, "{side}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// The canonical spelling of an intrinsic: unscoped where Tempo has one.
pub fn intrinsic_str(i: Intrinsic) -> &'static str {
    match i {
        Intrinsic::Duration => "duration",
        Intrinsic::Name => "name",
        Intrinsic::Status => "status",
        Intrinsic::StatusMessage => "statusMessage",
        Intrinsic::Kind => "kind",
        Intrinsic::ChildCount => "childCount",
        Intrinsic::Parent => "parent",
        Intrinsic::RootName => "rootName",
        Intrinsic::RootServiceName => "rootServiceName",
        Intrinsic::TraceDuration => "traceDuration",
        Intrinsic::NestedSetLeft => "nestedSetLeft",
        Intrinsic::NestedSetRight => "nestedSetRight",
        Intrinsic::NestedSetParent => "nestedSetParent",
        Intrinsic::TraceId => "trace:id",
        Intrinsic::SpanId => "span:id",
        Intrinsic::ParentId => "span:parentID",
        Intrinsic::EventName => "event:name",
        Intrinsic::EventTimeSinceStart => "event:timeSinceStart",
        Intrinsic::LinkTraceId => "link:traceID",
        Intrinsic::LinkSpanId => "link:spanID",
        Intrinsic::InstrumentationName => "instrumentation:name",
        Intrinsic::InstrumentationVersion => "instrumentation:version",
    }
}

impl Display for Attribute {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.parent {
            f.write_str("parent.")?;
        }
        f.write_str(match self.scope {
            Scope::None if self.parent => "",
            Scope::None => ".",
            Scope::Span => "span.",
            Scope::Resource => "resource.",
            Scope::Event => "event.",
            Scope::Link => "link.",
            Scope::Instrumentation => "instrumentation.",
        })?;
        let plain = !self.name.is_empty()
            && self.name.chars().all(is_attribute_char)
            && !(self.scope == Scope::None
                && !self.parent
                && self.name.starts_with(|c: char| c.is_ascii_digit()))
            && !(self.parent
                && self.scope == Scope::None
                && (self.name.starts_with("span.") || self.name.starts_with("resource.")));
        if plain {
            return f.write_str(&self.name);
        }
        f.write_char('"')?;
        for c in self.name.chars() {
            if c == '"' || c == '\\' {
                f.write_char('\\')?;
            }
            f.write_char(c)?;
        }
        f.write_char('"')
    }
}

impl Display for Static {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Static::Str(s) => quote(f, s),
            Static::Int(i) => write!(f, "{i}"),
            Static::Float(x) => write!(f, "{x:?}"),
            Static::Duration(d) => duration(f, *d),
            Static::Bool(b) => write!(f, "{b}"),
            Static::Nil => f.write_str("nil"),
            Static::Status(s) => f.write_str(match s {
                Status::Ok => "ok",
                Status::Error => "error",
                Status::Unset => "unset",
            }),
            Static::Kind(k) => f.write_str(match k {
                Kind::Unspecified => "unspecified",
                Kind::Internal => "internal",
                Kind::Server => "server",
                Kind::Client => "client",
                Kind::Producer => "producer",
                Kind::Consumer => "consumer",
            }),
        }
    }
}

/// A double-quoted string with Go escapes.
fn quote(f: &mut Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{:04x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// Nanoseconds as a sum of units, largest first (`1h30m`, `1s500ms`).
fn duration(f: &mut Formatter<'_>, ns: i64) -> fmt::Result {
    if ns == 0 {
        return f.write_str("0s");
    }
    if ns < 0 {
        f.write_char('-')?;
    }
    let mut rest = ns.unsigned_abs();
    for (unit, size) in [
        ("h", 3_600_000_000_000u64),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("us", 1_000),
        ("ns", 1),
    ] {
        if rest >= size {
            write!(f, "{}{unit}", rest / size)?;
            rest %= size;
        }
    }
    Ok(())
}
