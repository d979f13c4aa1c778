//! Parsing of expressions: binary operators by precedence climbing
//! (Loki's precedence, `^` right-associative), literals, parentheses, range
//! aggregations over log ranges, vector aggregations, `vector()` and
//! `label_replace()`, with the type checks Loki makes while building them.

use super::lexer::Tok;
use super::log::parse_number;
use super::{ParseError, Parser};
use crate::logql::ast::*;

/// A parsed expression before the caller knows which kind it needs.
pub(super) enum Node {
    Log(LogExpr),
    Sample(SampleExpr),
}

impl Node {
    pub(super) fn into_expr(self) -> Expr {
        match self {
            Node::Log(l) => Expr::Log(l),
            Node::Sample(s) => Expr::Sample(s),
        }
    }
}

fn binary_op(t: &Tok) -> Option<(BinaryOp, u8)> {
    if let Some(k) = t.keyword() {
        return match k.as_str() {
            "or" => Some((BinaryOp::Or, 1)),
            "and" => Some((BinaryOp::And, 2)),
            "unless" => Some((BinaryOp::Unless, 2)),
            _ => None,
        };
    }
    let Tok::Op(o) = t else { return None };
    Some(match *o {
        "==" => (BinaryOp::Eq, 3),
        "!=" => (BinaryOp::Ne, 3),
        ">" => (BinaryOp::Gt, 3),
        ">=" => (BinaryOp::Ge, 3),
        "<" => (BinaryOp::Lt, 3),
        "<=" => (BinaryOp::Le, 3),
        "+" => (BinaryOp::Add, 4),
        "-" => (BinaryOp::Sub, 4),
        "*" => (BinaryOp::Mul, 5),
        "/" => (BinaryOp::Div, 5),
        "%" => (BinaryOp::Mod, 5),
        "^" => (BinaryOp::Pow, 6),
        _ => return None,
    })
}

/// Loki's spelling of an operator.
pub fn binary_op_str(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Mod => "%",
        BinaryOp::Pow => "^",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
        BinaryOp::Unless => "unless",
    }
}

/// Binding power, low to high.
pub fn precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And | BinaryOp::Unless => 2,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le => {
            3
        }
        BinaryOp::Add | BinaryOp::Sub => 4,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 5,
        BinaryOp::Pow => 6,
    }
}

fn range_op(name: &str) -> Option<RangeOp> {
    Some(match name {
        "rate" => RangeOp::Rate,
        "rate_counter" => RangeOp::RateCounter,
        "count_over_time" => RangeOp::CountOverTime,
        "bytes_rate" => RangeOp::BytesRate,
        "bytes_over_time" => RangeOp::BytesOverTime,
        "absent_over_time" => RangeOp::AbsentOverTime,
        "sum_over_time" => RangeOp::SumOverTime,
        "avg_over_time" => RangeOp::AvgOverTime,
        "max_over_time" => RangeOp::MaxOverTime,
        "min_over_time" => RangeOp::MinOverTime,
        "stddev_over_time" => RangeOp::StddevOverTime,
        "stdvar_over_time" => RangeOp::StdvarOverTime,
        "quantile_over_time" => RangeOp::QuantileOverTime,
        "first_over_time" => RangeOp::FirstOverTime,
        "last_over_time" => RangeOp::LastOverTime,
        _ => return None,
    })
}

fn vector_op(name: &str) -> Option<VectorOp> {
    Some(match name {
        "sum" => VectorOp::Sum,
        "avg" => VectorOp::Avg,
        "min" => VectorOp::Min,
        "max" => VectorOp::Max,
        "count" => VectorOp::Count,
        "stddev" => VectorOp::Stddev,
        "stdvar" => VectorOp::Stdvar,
        "topk" => VectorOp::Topk,
        "bottomk" => VectorOp::Bottomk,
        "sort" => VectorOp::Sort,
        "sort_desc" => VectorOp::SortDesc,
        _ => return None,
    })
}

/// Loki's Go type name of a log expression, for its binary-operand errors.
fn log_type_name(l: &LogExpr) -> &'static str {
    if l.stages.is_empty() {
        "*syntax.MatchersExpr"
    } else {
        "*syntax.PipelineExpr"
    }
}

impl Parser {
    /// An expression whose operators bind tighter than `min_prec`.
    pub(super) fn expr(&mut self, min_prec: u8) -> Result<Node, ParseError> {
        let mut lhs = self.primary()?;
        while let Some((op, prec)) = binary_op(self.peek()) {
            if prec < min_prec {
                break;
            }
            self.advance();
            let (return_bool, matching) = self.bin_modifiers()?;
            // `^` is right-associative, everything else left-associative.
            let rhs = self.expr(if op == BinaryOp::Pow { prec } else { prec + 1 })?;
            lhs = match build_binary(op, return_bool, matching, lhs, rhs) {
                Ok(b) => Node::Sample(b),
                Err(e) => {
                    self.defer(e.msg);
                    Node::Sample(SampleExpr::Literal(0.0))
                }
            };
        }
        Ok(lhs)
    }

    /// Requires a metric expression: a log one is reported as the syntax
    /// error Loki's grammar gives at the token after it.
    fn sample_expr(&mut self) -> Result<SampleExpr, ParseError> {
        match self.expr(0)? {
            Node::Sample(s) => Ok(s),
            Node::Log(_) => Err(self.unexpected(&[])),
        }
    }

    /// `[bool] [on|ignoring (..) [group_left|group_right [(..)]]]`.
    fn bin_modifiers(&mut self) -> Result<(bool, Option<VectorMatching>), ParseError> {
        let return_bool = self.eat_kw("bool");
        let on = if self.eat_kw("on") {
            true
        } else if self.eat_kw("ignoring") {
            false
        } else {
            return Ok((return_bool, None));
        };
        let labels = self.label_list()?;
        let card = if self.eat_kw("group_left") {
            Cardinality::ManyToOne(self.optional_label_list()?)
        } else if self.eat_kw("group_right") {
            Cardinality::OneToMany(self.optional_label_list()?)
        } else {
            Cardinality::OneToOne
        };
        Ok((return_bool, Some(VectorMatching { on, labels, card })))
    }

    fn optional_label_list(&mut self) -> Result<Vec<String>, ParseError> {
        if self.peek().is_op("(") {
            self.label_list()
        } else {
            Ok(Vec::new())
        }
    }

    /// `( [label (, label)*] )`.
    fn label_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect_op("(", &["("])?;
        let mut out = Vec::new();
        if self.eat_op(")") {
            return Ok(out);
        }
        loop {
            out.push(self.expect_ident(&["IDENTIFIER"])?);
            if self.eat_op(")") {
                return Ok(out);
            }
            self.expect_op(",", &[",", ")"])?;
        }
    }

    /// `by (..)` / `without (..)` if next.
    fn grouping(&mut self) -> Result<Option<Grouping>, ParseError> {
        let without = if self.eat_kw("by") {
            false
        } else if self.eat_kw("without") {
            true
        } else {
            return Ok(None);
        };
        Ok(Some(Grouping {
            without,
            labels: self.label_list()?,
        }))
    }

    fn primary(&mut self) -> Result<Node, ParseError> {
        match self.peek().clone() {
            Tok::Op("{") => Ok(Node::Log(self.log_expr()?)),
            Tok::Op("(") => {
                self.advance();
                let inner = self.expr(0)?;
                self.expect_op(")", &[])?;
                Ok(inner)
            }
            Tok::Number(_) | Tok::Op("+") | Tok::Op("-") => {
                if matches!(self.peek(), Tok::Op(_)) && !matches!(self.peek2(), Tok::Number(_)) {
                    self.advance();
                    return Err(self.unexpected(&["NUMBER"]));
                }
                Ok(Node::Sample(SampleExpr::Literal(self.number_literal()?)))
            }
            t => {
                let kw = t.keyword().unwrap_or_default();
                if let Some(op) = range_op(&kw) {
                    self.advance();
                    return Ok(Node::Sample(SampleExpr::RangeAgg(self.range_agg(op, &kw)?)));
                }
                if let Some(op) = vector_op(&kw) {
                    self.advance();
                    return Ok(Node::Sample(SampleExpr::VectorAgg(
                        self.vector_agg(op, &kw)?,
                    )));
                }
                match kw.as_str() {
                    "vector" => {
                        self.advance();
                        self.expect_op("(", &["("])?;
                        let v = match self.peek().clone() {
                            Tok::Number(n) => {
                                self.advance();
                                parse_number(&n)?
                            }
                            _ => return Err(self.unexpected(&["NUMBER"])),
                        };
                        self.expect_op(")", &[")"])?;
                        Ok(Node::Sample(SampleExpr::Vector(v)))
                    }
                    "label_replace" => {
                        self.advance();
                        Ok(Node::Sample(self.label_replace()?))
                    }
                    _ => Err(self.unexpected(&[])),
                }
            }
        }
    }

    /// `op( [param,] log_range ) [grouping]`, the name consumed.
    fn range_agg(&mut self, op: RangeOp, name: &str) -> Result<RangeAggregation, ParseError> {
        self.expect_op("(", &["("])?;
        let mut param_text = None;
        if let Tok::Number(n) = self.peek().clone() {
            self.advance();
            self.expect_op(",", &[","])?;
            param_text = Some(n);
        }
        let outer = std::mem::replace(&mut self.in_range, true);
        let range = self.log_range();
        self.in_range = outer;
        let range = range?;
        self.expect_op(")", &[")"])?;
        let grouping = self.grouping()?;
        let param = match param_text {
            Some(p) if op != RangeOp::QuantileOverTime => {
                self.defer(format!("parameter {p} not supported for operation {name}"));
                None
            }
            Some(p) => match p.parse::<f64>() {
                Ok(v) => Some(v),
                Err(_) => {
                    self.defer(format!("invalid parameter for operation {name}: {p}"));
                    None
                }
            },
            None if op == RangeOp::QuantileOverTime => {
                self.defer(format!("parameter required for operation {name}"));
                None
            }
            None => None,
        };
        let agg = RangeAggregation {
            op,
            range,
            param,
            grouping,
        };
        if let Err(e) = super::check::range_agg(&agg, name) {
            self.defer(e.msg);
        }
        Ok(agg)
    }

    /// The log range inside a range aggregation, in any of the grammar's
    /// orders: `sel stages [unwrap] [r] [offset]`, `sel [r] [offset] stages
    /// [unwrap]`, `(sel stages [unwrap]) [r] [offset]`, `(log_range)`.
    fn log_range(&mut self) -> Result<LogRange, ParseError> {
        if self.eat_op("(") {
            if self.peek().is_op("(") {
                let inner = self.log_range()?;
                self.expect_op(")", &[")"])?;
                return Ok(inner);
            }
            let (selector, unwrap) = self.selector_with_unwrap()?;
            if let Tok::Range(_) = self.peek() {
                // `( sel [r] ... )`: a whole range in parentheses.
                let r = self.range_tail(selector, unwrap)?;
                self.expect_op(")", &[")"])?;
                return Ok(r);
            }
            self.expect_op(")", &[")"])?;
            let range_ns = self.expect_range()?;
            let offset_ns = self.offset()?;
            return Ok(LogRange {
                selector,
                range_ns,
                offset_ns,
                unwrap,
            });
        }
        let (selector, unwrap) = self.selector_with_unwrap()?;
        self.range_tail(selector, unwrap)
    }

    /// `sel stages [| unwrap ..]`.
    fn selector_with_unwrap(&mut self) -> Result<(LogExpr, Option<Unwrap>), ParseError> {
        let selector = self.log_expr()?;
        let unwrap = if self.peek().is_op("|") && self.peek2().is_kw("unwrap") {
            Some(self.unwrap()?)
        } else {
            None
        };
        Ok((selector, unwrap))
    }

    /// `[r] [offset d]` and, when nothing came before the range, the
    /// stages and unwrap that may follow it.
    fn range_tail(
        &mut self,
        mut selector: LogExpr,
        mut unwrap: Option<Unwrap>,
    ) -> Result<LogRange, ParseError> {
        let range_ns = self.expect_range()?;
        let offset_ns = self.offset()?;
        if selector.stages.is_empty() && unwrap.is_none() {
            selector.stages = self.stages()?;
            if self.peek().is_op("|") && self.peek2().is_kw("unwrap") {
                unwrap = Some(self.unwrap()?);
            }
        }
        Ok(LogRange {
            selector,
            range_ns,
            offset_ns,
            unwrap,
        })
    }

    fn expect_range(&mut self) -> Result<i64, ParseError> {
        match self.peek().clone() {
            Tok::Range(ns) => {
                self.advance();
                Ok(ns)
            }
            _ => Err(self.unexpected(&[])),
        }
    }

    fn offset(&mut self) -> Result<i64, ParseError> {
        if !self.eat_kw("offset") {
            return Ok(0);
        }
        match self.peek().clone() {
            Tok::Duration(ns) => {
                self.advance();
                Ok(ns)
            }
            _ => Err(self.unexpected(&["DURATION"])),
        }
    }

    /// `op [grouping] ( [k,] expr ) [grouping]`, the name consumed.
    fn vector_agg(&mut self, op: VectorOp, name: &str) -> Result<VectorAggregation, ParseError> {
        let mut grouping = self.grouping()?;
        self.expect_op("(", &["("])?;
        let mut param_text = None;
        if let (Tok::Number(n), Tok::Op(",")) = (self.peek().clone(), self.peek2()) {
            self.advance();
            self.advance();
            param_text = Some(n);
        }
        let expr = self.sample_expr()?;
        self.expect_op(")", &[])?;
        if grouping.is_none() {
            grouping = self.grouping()?;
        }
        let param = match (op, param_text) {
            (VectorOp::Topk | VectorOp::Bottomk, None) => {
                self.defer(format!("parameter required for operation {name}"));
                None
            }
            (VectorOp::Topk | VectorOp::Bottomk, Some(p)) => match p.parse::<i64>() {
                Err(_) => {
                    self.defer(format!("invalid parameter {name}({p},"));
                    None
                }
                Ok(k) if k <= 0 => {
                    self.defer(format!(
                        "invalid parameter (must be greater than 0) {name}({p}"
                    ));
                    None
                }
                Ok(k) => Some(k as f64),
            },
            (_, Some(p)) => {
                self.defer(format!("unsupported parameter for operation {name}({p},"));
                None
            }
            (_, None) => None,
        };
        if matches!(op, VectorOp::Sort | VectorOp::SortDesc)
            && grouping.as_ref().is_some_and(|g| !g.labels.is_empty())
        {
            self.defer("sort and sort_desc doesn't allow grouping by ".to_string());
        }
        Ok(VectorAggregation {
            op,
            grouping,
            param,
            expr: Box::new(expr),
        })
    }

    /// `label_replace(expr, "dst", "replacement", "src", "regex")`.
    fn label_replace(&mut self) -> Result<SampleExpr, ParseError> {
        self.expect_op("(", &["("])?;
        let expr = self.sample_expr()?;
        let mut args = Vec::with_capacity(4);
        for _ in 0..4 {
            self.expect_op(",", &[","])?;
            args.push(self.expect_str(&["STRING"])?);
        }
        self.expect_op(")", &[")"])?;
        let mut it = args.into_iter();
        let (dst, replacement, src, regex) = (
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
        );
        if let Err(e) = regex::Regex::new(&format!("^(?s:{regex})$")) {
            self.defer(format!("invalid regex in label_replace: {e}"));
        }
        if !crate::model::labels::is_valid_label_name(&dst) {
            self.defer(format!(
                "invalid destination label name in label_replace: {dst}"
            ));
        }
        Ok(SampleExpr::LabelReplace(Box::new(LabelReplace {
            expr,
            dst,
            replacement,
            src,
            regex,
        })))
    }
}

/// Builds a binary expression with Loki's operand checks.
fn build_binary(
    op: BinaryOp,
    return_bool: bool,
    matching: Option<VectorMatching>,
    lhs: Node,
    rhs: Node,
) -> Result<SampleExpr, ParseError> {
    let o = binary_op_str(op);
    let lhs = match lhs {
        Node::Sample(s) => s,
        Node::Log(l) => {
            return Err(ParseError::plain(format!(
                "unexpected type for left leg of binary operation ({o}): {}",
                log_type_name(&l)
            )))
        }
    };
    let rhs = match rhs {
        Node::Sample(s) => s,
        Node::Log(l) => {
            return Err(ParseError::plain(format!(
                "unexpected type for right leg of binary operation ({o}): {}",
                log_type_name(&l)
            )))
        }
    };
    if matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless) {
        for (side, e) in [("left", &lhs), ("right", &rhs)] {
            if let SampleExpr::Literal(v) = e {
                return Err(ParseError::plain(format!(
                    "unexpected literal for {side} leg of logical/set binary operation ({o}): {v:.6}"
                )));
            }
        }
    }
    if let (SampleExpr::Literal(a), SampleExpr::Literal(b)) = (&lhs, &rhs) {
        if let Some(v) = fold(op, *a, *b) {
            return Ok(SampleExpr::Literal(v));
        }
    }
    Ok(SampleExpr::Binary(Box::new(BinaryExpr {
        op,
        lhs,
        rhs,
        return_bool,
        matching,
    })))
}

/// Loki reduces an operation on two literals to a literal while parsing;
/// comparisons give 1 or 0 with or without `bool`. Results that are not
/// finite (division by zero) stay operations, which print back as valid
/// LogQL and are left to the engine.
fn fold(op: BinaryOp, a: f64, b: f64) -> Option<f64> {
    let bit = |c: bool| if c { 1.0 } else { 0.0 };
    let v = match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        BinaryOp::Mod => a % b,
        BinaryOp::Pow => a.powf(b),
        BinaryOp::Eq => bit(a == b),
        BinaryOp::Ne => bit(a != b),
        BinaryOp::Gt => bit(a > b),
        BinaryOp::Ge => bit(a >= b),
        BinaryOp::Lt => bit(a < b),
        BinaryOp::Le => bit(a <= b),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => return None,
    };
    v.is_finite().then_some(v)
}
