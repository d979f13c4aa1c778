//! The pipeline level: spanset filters, the spanset operators `&&` `||`,
//! the structural operators (`>` `<` `>>` `<<` `~`, their negations `!>`
//! `!<` `!>>` `!<<` `!~` and union forms `&>` `&<` `&>>` `&<<` `&~`),
//! pipes, `by()`, `select()`, `coalesce()`, aggregates, scalar arithmetic
//! and scalar filters. Precedence, loosest first, as in Tempo's grammar:
//! `|`; `&&` and `||` (one level, left-associative); structural operators
//! and comparisons (one level, left-associative); `+ -`; `* / %`; `^`
//! (right-associative). `>` and `<` are structural after a spanset and
//! comparisons after a scalar. Parentheses group spanset expressions,
//! pipelines (`({a} | by(.x)) && {b}`), scalar expressions and scalar
//! pipelines (`({a} | count()) > 2`).

use super::super::ast::{
    Aggregate, AggregateOp, BinOp, Expr, Query, Scalar, ScalarFilter, SpansetOp, Stage, Static,
};
use super::super::lexer::Tok;
use super::super::ParseError;
use super::Parser;

/// What a piece of the pipeline level parses to.
enum Node {
    /// A spanset expression (not a pipeline).
    Spanset(Expr),
    /// A scalar (aggregate, number, arithmetic, scalar pipeline).
    Scalar(Scalar),
    /// A lone non-spanset stage: `by()`, `select()`, `coalesce()`, a
    /// scalar filter.
    Stage(Stage),
    /// Stages joined by `|`; the last may be an aggregate.
    Pipeline(Vec<Stage>),
}

/// What a binary operator at this level does.
#[derive(Clone, Copy)]
enum OpKind {
    Pipe,
    Spanset(SpansetOp),
    Compare(BinOp),
    Arith(BinOp),
}

/// The operator of a token, its precedence and right-associativity; `>`
/// and `<` compare when the left side is a scalar.
fn binop(t: &Tok, scalar_lhs: bool) -> Option<(OpKind, u8, bool)> {
    let Tok::Op(o) = t else { return None };
    let structural = |op| Some((OpKind::Spanset(op), 3, false));
    let compare = |op| Some((OpKind::Compare(op), 3, false));
    match *o {
        "|" => Some((OpKind::Pipe, 1, false)),
        "&&" => Some((OpKind::Spanset(SpansetOp::And), 2, false)),
        "||" => Some((OpKind::Spanset(SpansetOp::Union), 2, false)),
        ">" if scalar_lhs => compare(BinOp::Gt),
        "<" if scalar_lhs => compare(BinOp::Lt),
        ">" => structural(SpansetOp::Child),
        "<" => structural(SpansetOp::Parent),
        ">>" => structural(SpansetOp::Descendant),
        "<<" => structural(SpansetOp::Ancestor),
        "~" => structural(SpansetOp::Sibling),
        "!>" => structural(SpansetOp::NotChild),
        "!<" => structural(SpansetOp::NotParent),
        "!>>" => structural(SpansetOp::NotDescendant),
        "!<<" => structural(SpansetOp::NotAncestor),
        "!~" => structural(SpansetOp::NotSibling),
        "&>" => structural(SpansetOp::UnionChild),
        "&<" => structural(SpansetOp::UnionParent),
        "&>>" => structural(SpansetOp::UnionDescendant),
        "&<<" => structural(SpansetOp::UnionAncestor),
        "&~" => structural(SpansetOp::UnionSibling),
        "=" => compare(BinOp::Eq),
        "!=" => compare(BinOp::Neq),
        ">=" => compare(BinOp::Gte),
        "<=" => compare(BinOp::Lte),
        "+" => Some((OpKind::Arith(BinOp::Add), 4, false)),
        "-" => Some((OpKind::Arith(BinOp::Sub), 4, false)),
        "*" => Some((OpKind::Arith(BinOp::Mul), 5, false)),
        "/" => Some((OpKind::Arith(BinOp::Div), 5, false)),
        "%" => Some((OpKind::Arith(BinOp::Mod), 5, false)),
        "^" => Some((OpKind::Arith(BinOp::Pow), 6, true)),
        _ => None,
    }
}

/// The precedence of a spanset operator (for the printer).
pub(crate) fn spanset_precedence(op: SpansetOp) -> u8 {
    match op {
        SpansetOp::And | SpansetOp::Union => 2,
        _ => 3,
    }
}

/// The precedence of a scalar arithmetic operator (for the printer).
pub(crate) fn scalar_precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Add | BinOp::Sub => 4,
        BinOp::Pow => 6,
        _ => 5,
    }
}

/// A spanset operand: a spanset expression or a pipeline without a final
/// aggregate.
fn as_spanset(n: Node) -> Result<Expr, Node> {
    match n {
        Node::Spanset(e) => Ok(e),
        Node::Pipeline(st) if !matches!(st.last(), Some(Stage::Aggregate(_))) => {
            Ok(Expr::Pipeline(st))
        }
        n => Err(n),
    }
}

/// Whether a scalar holds a scalar pipeline.
fn has_pipeline(s: &Scalar) -> bool {
    match s {
        Scalar::Pipeline(_) => true,
        Scalar::Binary { lhs, rhs, .. } => has_pipeline(lhs) || has_pipeline(rhs),
        _ => false,
    }
}

impl Parser {
    /// The whole query: a pipeline-level expression, optional hints, end.
    pub(super) fn query(&mut self) -> Result<Query, ParseError> {
        let node = self.node(1)?;
        let expr = match node {
            Node::Spanset(e) => e,
            Node::Stage(Stage::ScalarFilter(sf))
                if has_pipeline(&sf.lhs) || has_pipeline(&sf.rhs) =>
            {
                Expr::ScalarFilter(sf)
            }
            Node::Stage(s) => Expr::Pipeline(vec![s]),
            Node::Pipeline(st) if !matches!(st.last(), Some(Stage::Aggregate(_))) => {
                Expr::Pipeline(st)
            }
            _ => return Err(self.unexpected(&[])),
        };
        let hints = if self.peek().is_kw("with") {
            self.hints()?
        } else {
            Vec::new()
        };
        if !matches!(self.peek(), Tok::Eof) {
            return Err(self.unexpected(&[]));
        }
        Ok(Query { expr, hints })
    }

    /// `with(name=value, ...)`.
    fn hints(&mut self) -> Result<Vec<super::super::ast::Hint>, ParseError> {
        self.advance();
        self.expect_op("(")?;
        let mut hints = Vec::new();
        loop {
            let Tok::Ident(name) = self.peek().clone() else {
                return Err(self.unexpected(&["IDENTIFIER"]));
            };
            self.advance();
            self.expect_op("=")?;
            let value = match self.peek().clone() {
                Tok::Str(s) => Static::Str(s),
                Tok::Int(i) => Static::Int(i),
                Tok::Float(f) => Static::Float(f),
                Tok::Duration(d) => Static::Duration(d),
                Tok::Ident(w) => match super::field::static_keyword(&w) {
                    Some(s) => s,
                    None => return Err(self.unexpected(&[])),
                },
                _ => return Err(self.unexpected(&[])),
            };
            self.advance();
            hints.push(super::super::ast::Hint { name, value });
            if self.eat_op(")") {
                return Ok(hints);
            }
            if !self.eat_op(",") {
                return Err(self.unexpected(&["COMMA", "CLOSE_PARENS"]));
            }
        }
    }

    /// A pipeline-level expression whose operators all have precedence
    /// `min` or more.
    fn node(&mut self, min: u8) -> Result<Node, ParseError> {
        self.enter()?;
        let mut levels = 1;
        let mut lhs = self.node_primary()?;
        loop {
            let scalar_lhs = matches!(lhs, Node::Scalar(_));
            let Some((kind, prec, right)) = binop(self.peek(), scalar_lhs) else {
                break;
            };
            if prec < min {
                break;
            }
            self.enter()?;
            levels += 1;
            let next_min = if right { prec } else { prec + 1 };
            lhs = self.binary(lhs, kind, next_min)?;
        }
        self.depth -= levels;
        Ok(lhs)
    }

    /// The operator `kind` (the next token) applied to `lhs` and the
    /// operand after it. Kept out of [`Parser::node`] so that the frames
    /// of the recursion stay small.
    fn binary(&mut self, lhs: Node, kind: OpKind, next_min: u8) -> Result<Node, ParseError> {
        let op_at = self.pos;
        Ok(match kind {
            OpKind::Pipe => {
                let mut stages = match lhs {
                    Node::Spanset(e) => vec![Stage::Spanset(e)],
                    Node::Stage(s) => vec![s],
                    Node::Pipeline(st) if !matches!(st.last(), Some(Stage::Aggregate(_))) => st,
                    _ => return Err(self.unexpected(&[])),
                };
                self.advance();
                let rhs_at = self.pos;
                self.after_pipe = true;
                match self.node(next_min)? {
                    Node::Spanset(e) => stages.push(Stage::Spanset(e)),
                    Node::Stage(s) => stages.push(s),
                    Node::Pipeline(st) => stages.extend(st),
                    Node::Scalar(Scalar::Aggregate(a)) => stages.push(Stage::Aggregate(a)),
                    Node::Scalar(_) => return Err(self.unexpected_at(rhs_at, &[])),
                }
                Node::Pipeline(stages)
            }
            OpKind::Spanset(op) => {
                let l = as_spanset(lhs).map_err(|_| self.unexpected_at(op_at, &[]))?;
                self.advance();
                let rhs_at = self.pos;
                let r = as_spanset(self.node(next_min)?)
                    .map_err(|_| self.unexpected_at(rhs_at, &[]))?;
                Node::Spanset(Expr::SpansetOp {
                    op,
                    lhs: Box::new(l),
                    rhs: Box::new(r),
                })
            }
            OpKind::Compare(op) | OpKind::Arith(op) => {
                let Node::Scalar(l) = lhs else {
                    return Err(self.unexpected_at(op_at, &[]));
                };
                self.advance();
                let rhs_at = self.pos;
                let Node::Scalar(r) = self.node(next_min)? else {
                    return Err(self.unexpected_at(rhs_at, &[]));
                };
                if matches!(kind, OpKind::Compare(_)) {
                    Node::Stage(Stage::ScalarFilter(ScalarFilter { op, lhs: l, rhs: r }))
                } else {
                    Node::Scalar(Scalar::Binary {
                        op,
                        lhs: Box::new(l),
                        rhs: Box::new(r),
                    })
                }
            }
        })
    }

    fn node_primary(&mut self) -> Result<Node, ParseError> {
        let after_pipe = std::mem::replace(&mut self.after_pipe, false);
        let tok = self.peek().clone();
        match tok {
            Tok::Op("{") => self.filter(),
            Tok::Op("(") => self.paren(),
            Tok::Int(i) => {
                self.advance();
                Ok(Node::Scalar(Scalar::Static(Static::Int(i))))
            }
            Tok::Float(f) => {
                self.advance();
                Ok(Node::Scalar(Scalar::Static(Static::Float(f))))
            }
            Tok::Duration(d) => {
                self.advance();
                Ok(Node::Scalar(Scalar::Static(Static::Duration(d))))
            }
            Tok::Op("-") => {
                self.advance();
                let s = match self.peek() {
                    Tok::Int(i) => Static::Int(i.wrapping_neg()),
                    Tok::Float(f) => Static::Float(-f),
                    Tok::Duration(d) => Static::Duration(d.wrapping_neg()),
                    _ => return Err(self.unexpected(&["INTEGER", "FLOAT", "DURATION"])),
                };
                self.advance();
                Ok(Node::Scalar(Scalar::Static(s)))
            }
            Tok::Ident(w) => self.keyword_stage(&w, after_pipe),
            _ => Err(self.unexpected(&[])),
        }
    }

    /// `{ cond }` or `{}`.
    fn filter(&mut self) -> Result<Node, ParseError> {
        self.advance();
        if self.eat_op("}") {
            return Ok(Node::Spanset(Expr::Filter(None)));
        }
        let f = self.field(0)?;
        if !self.eat_op("}") {
            return Err(self.unexpected(&[]));
        }
        Ok(Node::Spanset(Expr::Filter(Some(f))))
    }

    /// `( ... )`: a parenthesized scalar pipeline becomes a scalar, a lone
    /// stage a pipeline.
    fn paren(&mut self) -> Result<Node, ParseError> {
        self.advance();
        let inner = self.node(1)?;
        if !self.eat_op(")") {
            return Err(self.unexpected(&[]));
        }
        Ok(match inner {
            Node::Pipeline(st) if matches!(st.last(), Some(Stage::Aggregate(_))) => {
                Node::Scalar(Scalar::Pipeline(st))
            }
            Node::Stage(s) => Node::Pipeline(vec![s]),
            n => n,
        })
    }

    /// `by()`, `select()`, `coalesce()` (after `|` only) and aggregates.
    fn keyword_stage(&mut self, w: &str, after_pipe: bool) -> Result<Node, ParseError> {
        let agg = match w {
            "count" => Some(AggregateOp::Count),
            "avg" => Some(AggregateOp::Avg),
            "min" => Some(AggregateOp::Min),
            "max" => Some(AggregateOp::Max),
            "sum" => Some(AggregateOp::Sum),
            _ => None,
        };
        if let Some(op) = agg {
            self.advance();
            self.expect_op("(")?;
            let arg = if op == AggregateOp::Count {
                None
            } else {
                Some(self.field(0)?)
            };
            if !self.eat_op(")") {
                let expecting: &[&str] = if arg.is_none() {
                    &["CLOSE_PARENS"]
                } else {
                    &[]
                };
                return Err(self.unexpected(expecting));
            }
            return Ok(Node::Scalar(Scalar::Aggregate(Aggregate { op, arg })));
        }
        match w {
            "by" => {
                self.advance();
                self.expect_op("(")?;
                let f = self.field(0)?;
                if !self.eat_op(")") {
                    return Err(self.unexpected(&[]));
                }
                Ok(Node::Stage(Stage::By(f)))
            }
            "select" => {
                self.advance();
                self.expect_op("(")?;
                let mut fields = vec![self.attribute_field()?];
                while self.eat_op(",") {
                    fields.push(self.attribute_field()?);
                }
                if !self.eat_op(")") {
                    return Err(self.unexpected(&["COMMA", "CLOSE_PARENS"]));
                }
                Ok(Node::Stage(Stage::Select(fields)))
            }
            "coalesce" if after_pipe => {
                self.advance();
                self.expect_op("(")?;
                self.expect_op(")")?;
                Ok(Node::Stage(Stage::Coalesce))
            }
            _ => Err(self.unexpected(&[])),
        }
    }
}
