//! The TraceQL syntax tree: what the parser produces, the engine evaluates
//! and the printer writes back. Durations are nanoseconds.
//!
//! A query is one of Tempo's three root forms, all held by [`Expr`]: a
//! spanset expression (filters joined by spanset and structural operators),
//! a pipeline of stages separated by `|`, or a comparison of scalar
//! pipelines (`({a} | count()) > ({b} | count())`). Inside `{ }`, `by()`,
//! `select()` and aggregates are field expressions ([`Field`]).

/// A whole query with its optional `with(...)` hints.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub expr: Expr,
    pub hints: Vec<Hint>,
}

/// One `name=value` of `with(...)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    pub name: String,
    pub value: Static,
}

/// A spanset-valued expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `{ cond }`; `{}` (every span) is `Filter(None)`.
    Filter(Option<Field>),
    /// `lhs op rhs` between spansets (`&&`, `||`, structural operators).
    SpansetOp {
        op: SpansetOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `stage | stage | ...`: at least two stages, or one stage that is not
    /// a spanset expression (`by(.a)`, `count() > 1`). Nested pipelines are
    /// flattened: `({a} | by(.x)) | count() > 1` is one pipeline.
    Pipeline(Vec<Stage>),
    /// A comparison whose sides include a scalar pipeline
    /// (`({a} | count()) > 2`); only at the root.
    ScalarFilter(ScalarFilter),
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// A spanset expression (never a pipeline).
    Spanset(Expr),
    /// `count() > 2`, `avg(duration) >= 1s`.
    ScalarFilter(ScalarFilter),
    /// `by(expr)`.
    By(Field),
    /// `select(a, b)`: attributes and intrinsics only.
    Select(Vec<Field>),
    /// `coalesce()`.
    Coalesce,
    /// An aggregate ending a scalar pipeline (`({a} | avg(duration))`);
    /// only as the last stage of [`Scalar::Pipeline`].
    Aggregate(Aggregate),
}

/// `lhs op rhs` with op one of `= != < <= > >=`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalarFilter {
    pub op: BinOp,
    pub lhs: Scalar,
    pub rhs: Scalar,
}

/// A scalar-valued expression of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Aggregate(Aggregate),
    /// An integer, float or duration (possibly negative).
    Static(Static),
    /// `+ - * / % ^` between scalars.
    Binary {
        op: BinOp,
        lhs: Box<Scalar>,
        rhs: Box<Scalar>,
    },
    /// `( pipeline | aggregate )`: the stages, the last an aggregate.
    Pipeline(Vec<Stage>),
}

/// `count()`, `avg(x)`, `min(x)`, `max(x)`, `sum(x)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Aggregate {
    pub op: AggregateOp,
    /// `None` only for `count()`.
    pub arg: Option<Field>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateOp {
    Count,
    Avg,
    Min,
    Max,
    Sum,
}

/// Operators between spansets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpansetOp {
    /// `&&`
    And,
    /// `||`
    Union,
    /// `>`
    Child,
    /// `<`
    Parent,
    /// `>>`
    Descendant,
    /// `<<`
    Ancestor,
    /// `~`
    Sibling,
    /// `!>`
    NotChild,
    /// `!<`
    NotParent,
    /// `!>>`
    NotDescendant,
    /// `!<<`
    NotAncestor,
    /// `!~`
    NotSibling,
    /// `&>`
    UnionChild,
    /// `&<`
    UnionParent,
    /// `&>>`
    UnionDescendant,
    /// `&<<`
    UnionAncestor,
    /// `&~`
    UnionSibling,
}

/// A field expression: inside `{ }`, `by()`, `select()`, aggregates.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    Static(Static),
    Intrinsic(Intrinsic),
    Attribute(Attribute),
    Binary {
        op: BinOp,
        lhs: Box<Field>,
        rhs: Box<Field>,
    },
    Unary {
        op: UnaryOp,
        arg: Box<Field>,
    },
}

/// Binary operators of field and scalar expressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Neq,
    Lt,
    Lte,
    Gt,
    Gte,
    /// `=~`
    Re,
    /// `!~`
    NotRe,
    /// `&&`
    And,
    /// `||`
    Or,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `!x`
    Not,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Static {
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Bool(bool),
    Nil,
    Status(Status),
    Kind(Kind),
}

/// Span status (`ok`, `error`, `unset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Error,
    Ok,
    Unset,
}

/// Span kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Unspecified,
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

/// Intrinsic fields. Scoped spellings map to the same intrinsic
/// (`span:duration` is [`Intrinsic::Duration`], `trace:rootName` is
/// [`Intrinsic::RootName`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intrinsic {
    /// `duration`, `span:duration`
    Duration,
    /// `name`, `span:name`
    Name,
    /// `status`, `span:status`
    Status,
    /// `statusMessage`, `span:statusMessage`
    StatusMessage,
    /// `kind`, `span:kind`
    Kind,
    /// `childCount`
    ChildCount,
    /// `parent`
    Parent,
    /// `rootName`, `trace:rootName`
    RootName,
    /// `rootServiceName`, `trace:rootService`
    RootServiceName,
    /// `traceDuration`, `trace:duration`
    TraceDuration,
    /// `nestedSetLeft`
    NestedSetLeft,
    /// `nestedSetRight`
    NestedSetRight,
    /// `nestedSetParent`
    NestedSetParent,
    /// `trace:id`
    TraceId,
    /// `span:id`
    SpanId,
    /// `span:parentID`
    ParentId,
    /// `event:name`
    EventName,
    /// `event:timeSinceStart`
    EventTimeSinceStart,
    /// `link:traceID`
    LinkTraceId,
    /// `link:spanID`
    LinkSpanId,
    /// `instrumentation:name`
    InstrumentationName,
    /// `instrumentation:version`
    InstrumentationVersion,
}

/// Attribute scopes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `.name`: span or resource.
    None,
    Span,
    Resource,
    Event,
    Link,
    Instrumentation,
}

/// `[parent.]scope.name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub scope: Scope,
    /// `parent.` prefix: the attribute of the parent span.
    pub parent: bool,
    pub name: String,
}
