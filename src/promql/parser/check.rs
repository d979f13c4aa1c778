//! Static checks applied as nodes are built, worded as Prometheus' parser
//! words them: argument counts and types of calls and aggregations, operand
//! types of unary and binary operators, vector-matching rules, extended
//! range modifiers, and non-empty selectors.

use super::ast::*;
use super::error::ParseError;
use super::strings::quote;

type PResult<T> = Result<T, ParseError>;

/// Functions accepting `anchored` / `smoothed` range selectors.
/// Functions that accept `anchored` range selectors.
pub const ANCHORED_FUNCS: [&str; 5] = ["changes", "delta", "increase", "rate", "resets"];
/// Functions that accept `smoothed` range selectors.
pub const SMOOTHED_FUNCS: [&str; 3] = ["delta", "increase", "rate"];

/// Prometheus refuses `anchored` / `smoothed` range selectors in other
/// functions when the query is executed (not as a parse error): the
/// engine calls this before evaluating a call.
pub fn extended_selector_error(c: &Call) -> Option<String> {
    for a in &c.args {
        if let Expr::MatrixSelector(ms) = unwrap_parens(a) {
            if ms.vs.anchored && !ANCHORED_FUNCS.contains(&c.func.name) {
                return Some(format!(
                    "anchored modifier can only be used with: {} - not with {}",
                    ANCHORED_FUNCS.join(", "),
                    c.func.name
                ));
            }
            if ms.vs.smoothed && !SMOOTHED_FUNCS.contains(&c.func.name) {
                return Some(format!(
                    "smoothed modifier can only be used with: {} - not with {}",
                    SMOOTHED_FUNCS.join(", "),
                    c.func.name
                ));
            }
        }
    }
    None
}

fn err(q: &str, span: Span, msg: impl Into<String>) -> ParseError {
    ParseError::new(q, span.start, span.end, msg)
}

fn expect_type(q: &str, e: &Expr, want: ValueType, context: &str) -> PResult<()> {
    let got = e.value_type();
    if got != want {
        return Err(err(
            q,
            e.span(),
            format!(
                "expected type {} in {context}, got {}",
                want.name(),
                got.name()
            ),
        ));
    }
    Ok(())
}

pub fn call(q: &str, c: Call) -> PResult<Expr> {
    let f = c.func;
    let nargs = f.arg_types.len();
    let got = c.args.len();
    if f.variadic == 0 {
        if nargs != got {
            return Err(err(
                q,
                c.span,
                format!(
                    "expected {nargs} argument(s) in call to {}, got {got}",
                    quote(f.name)
                ),
            ));
        }
    } else {
        let min = nargs.saturating_sub(1);
        if min > got {
            return Err(err(
                q,
                c.span,
                format!(
                    "expected at least {min} argument(s) in call to {}, got {got}",
                    quote(f.name)
                ),
            ));
        }
        let max = min + f.variadic.max(0) as usize;
        if f.variadic > 0 && max < got {
            return Err(err(
                q,
                c.span,
                format!(
                    "expected at most {max} argument(s) in call to {}, got {got}",
                    quote(f.name)
                ),
            ));
        }
    }
    let context = format!("call to function {}", quote(f.name));
    for (i, a) in c.args.iter().enumerate() {
        let i = if i >= nargs {
            if f.variadic == 0 {
                break;
            }
            nargs - 1
        } else {
            i
        };
        if let Some(&t) = f.arg_types.get(i) {
            expect_type(q, a, t, &context)?;
        }
    }
    Ok(Expr::Call(c))
}

pub fn aggregate(q: &str, a: AggregateExpr) -> PResult<Expr> {
    expect_type(q, &a.expr, ValueType::Vector, "aggregation expression")?;
    if let Some(p) = &a.param {
        let want = if a.op == AggOp::CountValues {
            ValueType::String
        } else {
            ValueType::Scalar
        };
        expect_type(q, p, want, "aggregation parameter")?;
    }
    Ok(Expr::Aggregate(a))
}

pub fn unary(q: &str, u: UnaryExpr) -> PResult<Expr> {
    let t = u.expr.value_type();
    if t != ValueType::Scalar && t != ValueType::Vector {
        return Err(err(
            q,
            u.span,
            format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                quote(t.name())
            ),
        ));
    }
    Ok(Expr::Unary(u))
}

/// The operator's span: between the operands, trimmed of spaces.
fn op_span(q: &str, lhs: &Expr, rhs: &Expr) -> Span {
    let (mut s, mut e) = (lhs.span().end, rhs.span().start);
    let b = q.as_bytes();
    while s < e && b.get(s).is_some_and(|c| c.is_ascii_whitespace()) {
        s += 1;
    }
    while e > s && b.get(e - 1).is_some_and(|c| c.is_ascii_whitespace()) {
        e -= 1;
    }
    Span::new(s, e)
}

pub fn binary(q: &str, op: BinOp, lhs: Expr, rhs: Expr, mut m: BinModifier) -> PResult<Expr> {
    let (lt, rt) = (lhs.value_type(), rhs.value_type());
    let span = lhs.span().to(rhs.span());
    let ops = op_span(q, &lhs, &rhs);
    if m.return_bool && !op.is_comparison() {
        return Err(err(
            q,
            ops,
            "bool modifier can only be used on comparison operators",
        ));
    }
    if op.is_comparison() && !m.return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
        return Err(err(
            q,
            ops,
            "comparisons between scalars must use BOOL modifier",
        ));
    }
    if op.is_set() && m.card == Cardinality::OneToOne {
        m.card = Cardinality::ManyToMany;
    }
    if let (Some(Matching::On(on)), Cardinality::ManyToOne(inc) | Cardinality::OneToMany(inc)) =
        (&m.matching, &m.card)
    {
        if let Some(l) = on.iter().find(|l| inc.contains(l)) {
            return Err(err(
                q,
                ops,
                format!(
                    "label {} must not occur in ON and GROUP clause at once",
                    quote(l)
                ),
            ));
        }
    }
    for (t, e) in [(lt, &lhs), (rt, &rhs)] {
        if t != ValueType::Scalar && t != ValueType::Vector {
            return Err(err(
                q,
                e.span(),
                "binary expression must contain only scalar and instant vector types",
            ));
        }
    }
    if lt != ValueType::Vector || rt != ValueType::Vector {
        let has_labels = match &m.matching {
            Some(Matching::On(l)) | Some(Matching::Ignoring(l)) => !l.is_empty(),
            None => false,
        };
        if has_labels {
            return Err(err(
                q,
                span,
                "vector matching only allowed between instant vectors",
            ));
        }
        m.matching = None;
        m.card = Cardinality::OneToOne;
        m.fill = FillValues::default();
    } else if op.is_set() {
        if matches!(
            m.card,
            Cardinality::ManyToOne(_) | Cardinality::OneToMany(_)
        ) {
            return Err(err(
                q,
                span,
                format!("no grouping allowed for \"{}\" operation", op.as_str()),
            ));
        }
        if m.fill.lhs.is_some() || m.fill.rhs.is_some() {
            return Err(err(
                q,
                span,
                format!(
                    "filling in missing series is not supported for set operator \"{}\"",
                    op.as_str()
                ),
            ));
        }
    }
    // `ignoring ()` without grouping matches like no clause at all.
    if matches!(&m.matching, Some(Matching::Ignoring(l)) if l.is_empty())
        && !matches!(
            m.card,
            Cardinality::ManyToOne(_) | Cardinality::OneToMany(_)
        )
    {
        m.matching = None;
    }
    if (lt == ValueType::Scalar || rt == ValueType::Scalar) && op.is_set() {
        return Err(err(
            q,
            span,
            format!(
                "set operator \"{}\" not allowed in binary scalar expression",
                op.as_str()
            ),
        ));
    }
    let result = if lt == ValueType::Scalar && rt == ValueType::Scalar {
        ValueType::Scalar
    } else {
        ValueType::Vector
    };
    Ok(Expr::Binary(Box::new(BinaryExpr {
        result,
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        modifier: m,
        span,
    })))
}

/// A selector must have a matcher that does not match the empty string.
pub fn selector_not_empty(q: &str, vs: &VectorSelector) -> PResult<()> {
    let non_empty = vs.matchers.iter().any(|m| match m.to_matcher() {
        Ok(mm) => !mm.matches(""),
        Err(_) => true,
    });
    if !non_empty {
        return Err(err(
            q,
            vs.span,
            "vector selector must contain at least one non-empty matcher",
        ));
    }
    Ok(())
}

/// Checks every selector of a parsed query for emptiness (the label
/// selector argument of `info()` is exempt), left to right, without
/// recursion.
pub fn selectors(q: &str, root: &Expr) -> PResult<()> {
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        match e {
            Expr::VectorSelector(vs) => selector_not_empty(q, vs)?,
            Expr::MatrixSelector(ms) => selector_not_empty(q, &ms.vs)?,
            Expr::Call(c) if c.func.name == "info" => {
                if let Some(first) = c.args.first() {
                    stack.push(first);
                }
                if let Some(second) = c.args.get(1) {
                    if !matches!(second, Expr::VectorSelector(_)) {
                        return Err(err(
                            q,
                            second.span(),
                            "expected label selectors as the second argument to \"info\" function",
                        ));
                    }
                }
            }
            other => stack.extend(other.children().into_iter().rev()),
        }
    }
    Ok(())
}

fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}
