//! The compiled form of a query: the syntax tree with literals turned into
//! values, regexes compiled once (anchored, as Tempo's and Prometheus'
//! are) and the names Tempo gives `by()`/aggregate/`select()` results
//! computed once, so evaluating a trace does no per-query work.

use regex::Regex;

use super::value::V;
use super::EvalError;
use crate::traceql::ast::{
    AggregateOp, Attribute, BinOp, Expr, Field, Intrinsic, Query, Scalar, ScalarFilter, Scope,
    SpansetOp, Stage, UnaryOp,
};

/// A field expression ready to evaluate on a span.
#[derive(Clone, Debug)]
pub(crate) enum CField {
    Static(V<'static>),
    Intrinsic(Intrinsic),
    Attr(Attribute),
    Binary {
        op: BinOp,
        lhs: Box<CField>,
        rhs: Box<CField>,
    },
    /// `lhs =~ re` / `lhs !~ re` with a literal pattern.
    Regex {
        negate: bool,
        lhs: Box<CField>,
        re: Regex,
    },
    Unary {
        op: UnaryOp,
        arg: Box<CField>,
    },
    /// `x = nil` (`exists: false`) or `x != nil` (`exists: true`).
    NilTest {
        exists: bool,
        arg: Box<CField>,
    },
}

/// A spanset filter: the condition and whether it looks at events or links
/// (then a span matches when the condition holds for one of them).
#[derive(Clone, Debug)]
pub(crate) struct CFilter {
    pub cond: CField,
    pub events: bool,
    pub links: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum CExpr {
    /// `None`: `{}`.
    Filter(Option<CFilter>),
    Op {
        op: SpansetOp,
        lhs: Box<CExpr>,
        rhs: Box<CExpr>,
    },
    Pipeline(Vec<CStage>),
    ScalarFilter(CScalarFilter),
}

#[derive(Clone, Debug)]
pub(crate) enum CStage {
    Spanset(CExpr),
    ScalarFilter(CScalarFilter),
    /// `by(field)`, with the spanset attribute name (`by(<field>)`).
    By {
        field: CField,
        name: String,
    },
    /// `select(...)`: each field with the name it is reported under.
    Select(Vec<(String, CField)>),
    Coalesce,
    Aggregate(CAggregate),
}

#[derive(Clone, Debug)]
pub(crate) struct CAggregate {
    pub op: AggregateOp,
    pub arg: Option<CField>,
    /// How Tempo prints it (`avg(duration)`), the spanset attribute name.
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct CScalarFilter {
    pub op: BinOp,
    pub lhs: CScalar,
    pub rhs: CScalar,
}

#[derive(Clone, Debug)]
pub(crate) enum CScalar {
    Aggregate(CAggregate),
    Static(V<'static>),
    Binary {
        op: BinOp,
        lhs: Box<CScalar>,
        rhs: Box<CScalar>,
    },
    Pipeline(Vec<CStage>),
}

/// A query compiled once, evaluated on many traces
/// ([`CompiledQuery::evaluate`](super::CompiledQuery::evaluate)).
#[derive(Clone, Debug)]
pub struct CompiledQuery {
    pub(crate) expr: CExpr,
}

/// Compiles `q` (fails on an invalid regex).
pub fn compile(q: &Query) -> Result<CompiledQuery, EvalError> {
    Ok(CompiledQuery {
        expr: expr(&q.expr)?,
    })
}

fn expr(e: &Expr) -> Result<CExpr, EvalError> {
    Ok(match e {
        Expr::Filter(None) => CExpr::Filter(None),
        Expr::Filter(Some(f)) => {
            let cond = field(f)?;
            let (events, links) = scopes(&cond);
            CExpr::Filter(Some(CFilter {
                cond,
                events,
                links,
            }))
        }
        Expr::SpansetOp { op, lhs, rhs } => CExpr::Op {
            op: *op,
            lhs: Box::new(expr(lhs)?),
            rhs: Box::new(expr(rhs)?),
        },
        Expr::Pipeline(stages) => CExpr::Pipeline(pipeline(stages)?),
        Expr::ScalarFilter(sf) => CExpr::ScalarFilter(scalar_filter(sf)?),
    })
}

fn pipeline(stages: &[Stage]) -> Result<Vec<CStage>, EvalError> {
    stages.iter().map(stage).collect()
}

fn stage(s: &Stage) -> Result<CStage, EvalError> {
    Ok(match s {
        Stage::Spanset(e) => CStage::Spanset(expr(e)?),
        Stage::ScalarFilter(sf) => CStage::ScalarFilter(scalar_filter(sf)?),
        Stage::By(f) => CStage::By {
            field: field(f)?,
            name: format!("by({f})"),
        },
        Stage::Select(fields) => CStage::Select(
            fields
                .iter()
                .map(|f| Ok((f.to_string(), field(f)?)))
                .collect::<Result<_, EvalError>>()?,
        ),
        Stage::Coalesce => CStage::Coalesce,
        Stage::Aggregate(a) => CStage::Aggregate(aggregate(a)?),
    })
}

fn aggregate(a: &crate::traceql::ast::Aggregate) -> Result<CAggregate, EvalError> {
    Ok(CAggregate {
        op: a.op,
        arg: a.arg.as_ref().map(field).transpose()?,
        name: a.to_string(),
    })
}

fn scalar_filter(sf: &ScalarFilter) -> Result<CScalarFilter, EvalError> {
    Ok(CScalarFilter {
        op: sf.op,
        lhs: scalar(&sf.lhs)?,
        rhs: scalar(&sf.rhs)?,
    })
}

fn scalar(s: &Scalar) -> Result<CScalar, EvalError> {
    Ok(match s {
        Scalar::Aggregate(a) => CScalar::Aggregate(aggregate(a)?),
        Scalar::Static(v) => CScalar::Static(V::from_static(v)),
        Scalar::Binary { op, lhs, rhs } => CScalar::Binary {
            op: *op,
            lhs: Box::new(scalar(lhs)?),
            rhs: Box::new(scalar(rhs)?),
        },
        Scalar::Pipeline(stages) => CScalar::Pipeline(pipeline(stages)?),
    })
}

/// Compiles a field expression.
pub(crate) fn field(f: &Field) -> Result<CField, EvalError> {
    Ok(match f {
        Field::Static(s) => CField::Static(V::from_static(s)),
        Field::Intrinsic(i) => CField::Intrinsic(*i),
        Field::Attribute(a) => CField::Attr(a.clone()),
        Field::Binary { op, lhs, rhs } => {
            if let (BinOp::Eq | BinOp::Neq, Some(arg)) = (op, nil_operand(lhs, rhs)) {
                return Ok(CField::NilTest {
                    exists: *op == BinOp::Neq,
                    arg: Box::new(field(arg)?),
                });
            }
            if let (BinOp::Re | BinOp::NotRe, Field::Static(crate::traceql::ast::Static::Str(p))) =
                (op, &**rhs)
            {
                return Ok(CField::Regex {
                    negate: *op == BinOp::NotRe,
                    lhs: Box::new(field(lhs)?),
                    re: anchored(p)?,
                });
            }
            CField::Binary {
                op: *op,
                lhs: Box::new(field(lhs)?),
                rhs: Box::new(field(rhs)?),
            }
        }
        Field::Unary { op, arg } => CField::Unary {
            op: *op,
            arg: Box::new(field(arg)?),
        },
    })
}

/// The other side of a comparison with a literal `nil`.
fn nil_operand<'f>(lhs: &'f Field, rhs: &'f Field) -> Option<&'f Field> {
    use crate::traceql::ast::Static;
    match (lhs, rhs) {
        (x, Field::Static(Static::Nil)) | (Field::Static(Static::Nil), x) => Some(x),
        _ => None,
    }
}

/// A regex that must match the whole value.
pub(crate) fn anchored(p: &str) -> Result<Regex, EvalError> {
    Regex::new(&format!("^(?:{p})$")).map_err(|e| EvalError(format!("invalid regex {p:?}: {e}")))
}

/// Whether a condition reads event and link fields.
fn scopes(f: &CField) -> (bool, bool) {
    match f {
        CField::Static(_) => (false, false),
        CField::Intrinsic(i) => (
            matches!(i, Intrinsic::EventName | Intrinsic::EventTimeSinceStart),
            matches!(i, Intrinsic::LinkTraceId | Intrinsic::LinkSpanId),
        ),
        CField::Attr(a) => (a.scope == Scope::Event, a.scope == Scope::Link),
        CField::Binary { lhs, rhs, .. } => {
            let (a, b) = scopes(lhs);
            let (c, d) = scopes(rhs);
            (a || c, b || d)
        }
        CField::Regex { lhs, .. } => scopes(lhs),
        CField::Unary { arg, .. } | CField::NilTest { arg, .. } => scopes(arg),
    }
}
