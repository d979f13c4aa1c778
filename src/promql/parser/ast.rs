//! The PromQL syntax tree: expression nodes, their modifiers and byte
//! positions, and the static type of every node (`value_type`).

use crate::model::{MatchOp, Matcher};

use super::duration::DurationExpr;
use super::functions::Function;

/// A byte range `[start, end)` of the query text. Positions are not part of
/// a node's identity: any two spans compare equal, so that syntax trees
/// compare by structure (a query and its printed form give equal trees).
#[derive(Clone, Copy, Debug, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl PartialEq for Span {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// The static type of an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
    String,
}

impl ValueType {
    /// The name Prometheus uses in type errors.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    NumberLiteral(NumberLiteral),
    StringLiteral(StringLiteral),
    // The large variants are boxed to keep `Expr` small: the parser and the
    // evaluator recurse with expressions in their frames.
    VectorSelector(Box<VectorSelector>),
    MatrixSelector(Box<MatrixSelector>),
    Subquery(Box<SubqueryExpr>),
    Paren(ParenExpr),
    Unary(UnaryExpr),
    Binary(Box<BinaryExpr>),
    Aggregate(AggregateExpr),
    Call(Call),
    /// A duration expression standing where a value goes (`step()`,
    /// `min_of(5m, range())`): a scalar in seconds.
    Duration(Box<DurationExpr>),
}

#[derive(Clone, Debug)]
pub struct NumberLiteral {
    pub val: f64,
    /// Written as a duration (`5m`): printed back as one.
    pub duration: bool,
    pub span: Span,
}

impl PartialEq for NumberLiteral {
    fn eq(&self, o: &Self) -> bool {
        (self.val == o.val || self.val.is_nan() && o.val.is_nan()) && self.duration == o.duration
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StringLiteral {
    /// The unquoted value (invalid UTF-8 replaced, see `raw`).
    pub val: String,
    /// The exact bytes, only when they are not valid UTF-8 (`"\xff"`).
    pub raw: Option<Vec<u8>>,
    pub span: Span,
}

/// A label matcher as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelMatcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl LabelMatcher {
    /// The storage matcher (compiles regexes; Go's RE2 accepts a literal `{`
    /// that Rust's regex crate wants escaped).
    pub fn to_matcher(&self) -> Result<Matcher, String> {
        match Matcher::new(self.op, self.name.clone(), self.value.clone()) {
            Ok(m) => Ok(m),
            Err(e) => Matcher::new(
                self.op,
                self.name.clone(),
                super::strings::escape_literal_braces(&self.value),
            )
            .map_err(|_| e),
        }
    }
}

/// `@` modifier.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtModifier {
    /// A Unix time in milliseconds.
    At(i64),
    Start,
    End,
}

#[derive(Clone, Debug)]
pub struct VectorSelector {
    /// The metric name when written as one (`up`, `{"a.b"}`).
    pub name: Option<String>,
    /// All matchers, including one `__name__` matcher for `name`.
    pub matchers: Vec<LabelMatcher>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    pub anchored: bool,
    pub smoothed: bool,
    pub span: Span,
}

/// Matchers compare as a set: their order carries no meaning.
impl PartialEq for VectorSelector {
    fn eq(&self, o: &Self) -> bool {
        let sorted = |v: &VectorSelector| {
            let mut m: Vec<String> = v.matchers.iter().map(|m| m.to_string()).collect();
            m.sort();
            m
        };
        self.name == o.name
            && self.offset == o.offset
            && self.at == o.at
            && self.anchored == o.anchored
            && self.smoothed == o.smoothed
            && sorted(self) == sorted(o)
    }
}

impl VectorSelector {
    /// The offset in milliseconds (0 without one; resolved durations).
    pub fn offset_ms(&self) -> i64 {
        self.offset.as_ref().map_or(0, DurationExpr::ms)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    pub vs: VectorSelector,
    pub range: DurationExpr,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SubqueryExpr {
    pub expr: Box<Expr>,
    pub range: DurationExpr,
    pub step: Option<DurationExpr>,
    pub offset: Option<DurationExpr>,
    pub at: Option<AtModifier>,
    pub span: Span,
}

impl SubqueryExpr {
    pub fn offset_ms(&self) -> i64 {
        self.offset.as_ref().map_or(0, DurationExpr::ms)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ParenExpr {
    pub expr: Box<Expr>,
    pub span: Span,
}

/// Unary minus (a unary plus is dropped by the parser, as in Prometheus,
/// only when it applies to a number literal).
#[derive(Clone, Debug, PartialEq)]
pub struct UnaryExpr {
    pub op: UnaryOp,
    pub expr: Box<Expr>,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Plus,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eql,
    Neq,
    Gtr,
    Lss,
    Gte,
    Lte,
    And,
    Or,
    Unless,
    /// `</`: keeps the part of a histogram below the cutoff.
    TrimUpper,
    /// `>/`: keeps the part of a histogram above the cutoff.
    TrimLower,
}

impl BinOp {
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eql => "==",
            BinOp::Neq => "!=",
            BinOp::Gtr => ">",
            BinOp::Lss => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
            BinOp::TrimUpper => "</",
            BinOp::TrimLower => ">/",
        }
    }

    /// Binding power: higher binds tighter (Prometheus' yacc precedence).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul
            | BinOp::Div
            | BinOp::Mod
            | BinOp::Atan2
            | BinOp::TrimUpper
            | BinOp::TrimLower => 5,
            BinOp::Pow => 6,
        }
    }

    pub fn is_right_assoc(self) -> bool {
        self == BinOp::Pow
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

/// `on (...)` / `ignoring (...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matching {
    On(Vec<String>),
    Ignoring(Vec<String>),
}

/// Vector matching cardinality; the lists are `group_left/right` labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Cardinality {
    #[default]
    OneToOne,
    ManyToOne(Vec<String>),
    OneToMany(Vec<String>),
    ManyToMany,
}

/// `fill()`, `fill_left()`, `fill_right()` values.
#[derive(Clone, Copy, Debug, Default)]
pub struct FillValues {
    pub lhs: Option<f64>,
    pub rhs: Option<f64>,
}

impl PartialEq for FillValues {
    fn eq(&self, o: &Self) -> bool {
        let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(x), Some(y)) => x == y || x.is_nan() && y.is_nan(),
            (None, None) => true,
            _ => false,
        };
        same(self.lhs, o.lhs) && same(self.rhs, o.rhs)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct BinModifier {
    pub return_bool: bool,
    pub matching: Option<Matching>,
    pub card: Cardinality,
    pub fill: FillValues,
}

#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    pub op: BinOp,
    pub lhs: Box<Expr>,
    pub rhs: Box<Expr>,
    pub modifier: BinModifier,
    pub span: Span,
    /// The result type, fixed when the node is built (operator chains can
    /// be thousands of nodes long; nothing walks them to find it).
    pub(crate) result: ValueType,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    CountValues,
    Quantile,
    Limitk,
    LimitRatio,
}

impl AggOp {
    pub fn from_name(s: &str) -> Option<AggOp> {
        Some(match s {
            "sum" => AggOp::Sum,
            "avg" => AggOp::Avg,
            "count" => AggOp::Count,
            "min" => AggOp::Min,
            "max" => AggOp::Max,
            "group" => AggOp::Group,
            "stddev" => AggOp::Stddev,
            "stdvar" => AggOp::Stdvar,
            "topk" => AggOp::Topk,
            "bottomk" => AggOp::Bottomk,
            "count_values" => AggOp::CountValues,
            "quantile" => AggOp::Quantile,
            "limitk" => AggOp::Limitk,
            "limit_ratio" => AggOp::LimitRatio,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::CountValues => "count_values",
            AggOp::Quantile => "quantile",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
        }
    }

    /// Takes a parameter before the vector.
    pub fn has_param(self) -> bool {
        matches!(
            self,
            AggOp::Topk
                | AggOp::Bottomk
                | AggOp::CountValues
                | AggOp::Quantile
                | AggOp::Limitk
                | AggOp::LimitRatio
        )
    }

    pub fn is_experimental(self) -> bool {
        matches!(self, AggOp::Limitk | AggOp::LimitRatio)
    }
}

/// `by (...)` / `without (...)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    By(Vec<String>),
    Without(Vec<String>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    pub op: AggOp,
    pub expr: Box<Expr>,
    pub param: Option<Box<Expr>>,
    pub grouping: Option<Grouping>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub func: &'static Function,
    pub args: Vec<Expr>,
    pub span: Span,
}

impl Expr {
    /// The static type of the expression.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::NumberLiteral(_) | Expr::Duration(_) => ValueType::Scalar,
            Expr::StringLiteral(_) => ValueType::String,
            Expr::VectorSelector(_) | Expr::Aggregate(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(p) => p.expr.value_type(),
            Expr::Unary(u) => u.expr.value_type(),
            Expr::Call(c) => c.func.return_type,
            Expr::Binary(b) => b.result,
        }
    }

    /// The byte range of the expression in the query.
    pub fn span(&self) -> Span {
        match self {
            Expr::NumberLiteral(n) => n.span,
            Expr::StringLiteral(s) => s.span,
            Expr::VectorSelector(v) => v.span,
            Expr::MatrixSelector(m) => m.span,
            Expr::Subquery(s) => s.span,
            Expr::Paren(p) => p.span,
            Expr::Unary(u) => u.span,
            Expr::Binary(b) => b.span,
            Expr::Aggregate(a) => a.span,
            Expr::Call(c) => c.span,
            Expr::Duration(d) => d.span,
        }
    }

    /// The direct sub-expressions.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Paren(p) => vec![&p.expr],
            Expr::Unary(u) => vec![&u.expr],
            Expr::Subquery(s) => vec![&s.expr],
            Expr::Binary(b) => vec![&b.lhs, &b.rhs],
            Expr::Aggregate(a) => match &a.param {
                Some(p) => vec![p, &a.expr],
                None => vec![&a.expr],
            },
            Expr::Call(c) => c.args.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Resolves every duration expression (ranges, steps, offsets and
    /// duration values) for a query with the given step and range, in
    /// milliseconds (both 0 for an instant query).
    pub fn resolve_durations(&mut self, step_ms: i64, range_ms: i64) -> Result<(), String> {
        let ctx = super::duration::Context { step_ms, range_ms };
        let mut stack: Vec<&mut Expr> = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::VectorSelector(vs) => resolve_offset(&mut vs.offset, ctx)?,
                Expr::MatrixSelector(ms) => {
                    resolve_offset(&mut ms.vs.offset, ctx)?;
                    ms.range.resolve(ctx, false)?;
                }
                Expr::Subquery(sq) => {
                    resolve_offset(&mut sq.offset, ctx)?;
                    sq.range.resolve(ctx, false)?;
                    if let Some(s) = &mut sq.step {
                        s.resolve(ctx, false)?;
                    }
                    stack.push(&mut sq.expr);
                }
                Expr::Duration(d) => d.resolve_value(ctx)?,
                Expr::Paren(p) => stack.push(&mut p.expr),
                Expr::Unary(u) => stack.push(&mut u.expr),
                Expr::Binary(b) => {
                    stack.push(&mut b.lhs);
                    stack.push(&mut b.rhs);
                }
                Expr::Aggregate(a) => {
                    stack.push(&mut a.expr);
                    if let Some(p) = &mut a.param {
                        stack.push(p);
                    }
                }
                Expr::Call(c) => stack.extend(c.args.iter_mut()),
                Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            }
        }
        Ok(())
    }
}

fn resolve_offset(
    o: &mut Option<DurationExpr>,
    ctx: super::duration::Context,
) -> Result<(), String> {
    match o {
        Some(d) => d.resolve(ctx, true),
        None => Ok(()),
    }
}

/// A cheap stand-in left behind when a child is moved out for dropping.
fn placeholder() -> Expr {
    Expr::NumberLiteral(NumberLiteral {
        val: 0.0,
        duration: false,
        span: Span::default(),
    })
}

/// Moves the children of `e` onto `stack`, leaving placeholders.
fn take_children(e: &mut Expr, stack: &mut Vec<Expr>) {
    let mut take = |b: &mut Box<Expr>| stack.push(std::mem::replace(&mut **b, placeholder()));
    match e {
        Expr::Binary(b) => {
            take(&mut b.lhs);
            take(&mut b.rhs);
        }
        Expr::Subquery(s) => take(&mut s.expr),
        Expr::Paren(p) => take(&mut p.expr),
        Expr::Unary(u) => take(&mut u.expr),
        Expr::Aggregate(a) => {
            take(&mut a.expr);
            if let Some(p) = &mut a.param {
                take(p);
            }
        }
        Expr::Call(c) => stack.append(&mut c.args),
        _ => {}
    }
}

/// Operator chains (`1 + 1 + ...`) and subquery chains (`x[1m:][1m:]...`)
/// need no parser recursion, so they can be far deeper than the stack
/// allows to drop recursively: these two nodes drop their subtrees with an
/// explicit stack.
fn drop_iteratively(first: &mut [&mut Box<Expr>]) {
    let mut stack: Vec<Expr> = first
        .iter_mut()
        .map(|b| std::mem::replace(&mut ***b, placeholder()))
        .collect();
    while let Some(mut e) = stack.pop() {
        take_children(&mut e, &mut stack);
    }
}

impl Drop for BinaryExpr {
    fn drop(&mut self) {
        drop_iteratively(&mut [&mut self.lhs, &mut self.rhs]);
    }
}

impl Drop for SubqueryExpr {
    fn drop(&mut self) {
        drop_iteratively(&mut [&mut self.expr]);
    }
}
