//! The LogQL syntax tree: what the parser produces, the engine evaluates and
//! the printer (`format_query`) writes back. Durations are nanoseconds.
//! Mirrors Loki 3.x's grammar: log queries (a stream selector and a pipeline
//! of stages) and metric queries (range aggregations over log ranges, vector
//! aggregations, binary operations, literals, `vector()`, `label_replace`).

use crate::model::Matcher;

/// A whole query.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A log query: returns streams of lines.
    Log(LogExpr),
    /// A metric query: returns a vector, matrix or scalar.
    Sample(SampleExpr),
}

/// `{matchers} stage*`.
#[derive(Clone, Debug)]
pub struct LogExpr {
    pub matchers: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

/// One stage of a log pipeline, in query order.
#[derive(Clone, Debug)]
pub enum Stage {
    /// `|= "a"`, `!= "a"`, `|~ "re"`, `!~ "re"`, `|> "pat"`, `!> "pat"`, each
    /// optionally with `or` alternatives.
    LineFilter(LineFilter),
    /// `| json` (no extractions = every field) or `| json a="x.y", b`.
    Json(Vec<LabelExtraction>),
    /// `| logfmt [--strict] [--keep-empty] [a="key", b]`.
    Logfmt {
        strict: bool,
        keep_empty: bool,
        extractions: Vec<LabelExtraction>,
    },
    /// `| regexp "(?P<name>...)"`.
    Regexp(String),
    /// `| pattern "<ip> - <_> <status>"`.
    Pattern(String),
    /// `| unpack`.
    Unpack,
    /// `| status >= 400 and level="error"`.
    LabelFilter(LabelFilterExpr),
    /// `| line_format "{{.msg}}"`.
    LineFormat(String),
    /// `| label_format a="{{.b}}", c=d`.
    LabelFormat(Vec<LabelFormatOp>),
    /// `| drop a, b="v"`.
    Drop(Vec<LabelSelection>),
    /// `| keep a, b="v"`.
    Keep(Vec<LabelSelection>),
    /// `| decolorize`.
    Decolorize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Regex,
    /// `!~`
    NotRegex,
    /// `|>`
    Pattern,
    /// `!>`
    NotPattern,
}

/// One operand of a line filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineFilterValue {
    /// A string (needle, regex or pattern, by the operator).
    Literal(String),
    /// `ip("10.0.0.0/8")` (only with `|=` and `!=`).
    Ip(String),
}

/// `op value (or value)*`. For the positive operators a line passes if any
/// value matches; for the negative ones, if none does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineFilter {
    pub op: LineFilterOp,
    pub values: Vec<LineFilterValue>,
}

/// `name` or `name="expression"` in `json` / `logfmt`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelExtraction {
    pub name: String,
    /// The JSON path (`a.b[0]`) or logfmt key; `None` means the name itself.
    pub expr: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// Label filter expressions (`|` stage, and after `unwrap`).
#[derive(Clone, Debug)]
pub enum LabelFilterExpr {
    And(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
    Or(Box<LabelFilterExpr>, Box<LabelFilterExpr>),
    /// `name = "v"`, `!=`, `=~`, `!~` on the string value.
    String(Matcher),
    /// `name > 1.5` (also `=`/`==` with a number).
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    /// `name > 250ms`; the value in seconds.
    Duration {
        name: String,
        op: CmpOp,
        value: f64,
    },
    /// `name > 20KB`; the value in bytes.
    Bytes {
        name: String,
        op: CmpOp,
        value: f64,
    },
    /// `name = ip("10.0.0.0/8")` or `name != ip(..)`.
    Ip {
        name: String,
        negated: bool,
        pattern: String,
    },
}

/// One `label_format` assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelFormatOp {
    /// `dst=src`: rename.
    Rename { dst: String, src: String },
    /// `dst="{{ template }}"`.
    Template { dst: String, template: String },
}

/// One item of `drop` / `keep`: a name, or a matcher on name and value.
#[derive(Clone, Debug)]
pub enum LabelSelection {
    Name(String),
    Matcher(Matcher),
}

/// Metric queries.
#[derive(Clone, Debug)]
pub enum SampleExpr {
    RangeAgg(RangeAggregation),
    VectorAgg(VectorAggregation),
    Binary(Box<BinaryExpr>),
    /// A number literal.
    Literal(f64),
    /// `vector(1)`.
    Vector(f64),
    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    LabelReplace(Box<LabelReplace>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeOp {
    Rate,
    RateCounter,
    CountOverTime,
    BytesRate,
    BytesOverTime,
    AbsentOverTime,
    SumOverTime,
    AvgOverTime,
    MaxOverTime,
    MinOverTime,
    StddevOverTime,
    StdvarOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
}

/// `{..} stages [range] offset d` with an optional `unwrap`.
#[derive(Clone, Debug)]
pub struct LogRange {
    pub selector: LogExpr,
    pub range_ns: i64,
    pub offset_ns: i64,
    pub unwrap: Option<Unwrap>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnwrapConversion {
    /// `unwrap x`: a float.
    None,
    /// `unwrap duration(x)` / `duration_seconds(x)`: a Go duration, in seconds.
    Duration,
    /// `unwrap bytes(x)`: a byte size like `1.5KiB`, in bytes.
    Bytes,
}

/// `| unwrap [conv(]label[)] (| label filter)*`.
#[derive(Clone, Debug)]
pub struct Unwrap {
    pub label: String,
    pub conversion: UnwrapConversion,
    /// Label filters after the unwrap (typically `| __error__=""`).
    pub post_filters: Vec<LabelFilterExpr>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grouping {
    /// `without (..)` rather than `by (..)`.
    pub without: bool,
    pub labels: Vec<String>,
}

/// `op([param,] log_range) [by|without (..)]`.
#[derive(Clone, Debug)]
pub struct RangeAggregation {
    pub op: RangeOp,
    pub range: LogRange,
    /// The quantile of `quantile_over_time`.
    pub param: Option<f64>,
    /// Only for unwrapped range aggregations.
    pub grouping: Option<Grouping>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
}

/// `op [by|without (..)] ([param,] expr)`.
#[derive(Clone, Debug)]
pub struct VectorAggregation {
    pub op: VectorOp,
    pub grouping: Option<Grouping>,
    /// `k` of topk/bottomk.
    pub param: Option<f64>,
    pub expr: Box<SampleExpr>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Unless,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cardinality {
    OneToOne,
    /// `group_left (include..)`
    ManyToOne(Vec<String>),
    /// `group_right (include..)`
    OneToMany(Vec<String>),
}

/// `on (..)` / `ignoring (..)` with an optional group modifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VectorMatching {
    pub on: bool,
    pub labels: Vec<String>,
    pub card: Cardinality,
}

#[derive(Clone, Debug)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: SampleExpr,
    pub rhs: SampleExpr,
    /// The `bool` modifier of comparisons.
    pub return_bool: bool,
    pub matching: Option<VectorMatching>,
}

#[derive(Clone, Debug)]
pub struct LabelReplace {
    pub expr: SampleExpr,
    pub dst: String,
    pub replacement: String,
    pub src: String,
    pub regex: String,
}
