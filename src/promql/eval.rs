//! The expression evaluator: walks the AST, evaluating every node once over a
//! whole step [`Grid`] (see [`step`](super::step)). Selector nodes select from
//! storage once for their whole time range; subqueries run a nested evaluator
//! on their own aligned grid; step-invariant sub-expressions (those pinned by
//! `@`) are evaluated at one step and repeated.

use super::parser::{position_suffix, AtModifier, Expr, SubqueryExpr, UnaryOp, ValueType};

use crate::model::Sample;

use super::limits::{Annotations, Limits};
use super::selector::{self, InstantMode, RangeInput};
use super::source::SampleSource;
use super::step::{Evaluated, Grid, StepSeries};
use super::value::QueryError;
use super::{aggregate, binary, functions};

/// Step of a subquery written without one (`x[5m:]`): Prometheus uses the
/// global evaluation interval; we use its usual value.
pub(crate) const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// Functions whose result depends on the evaluation time even when their
/// arguments do not (Prometheus' `AtModifierUnsafeFunctions`).
pub(crate) const TIME_DEPENDENT_FUNCTIONS: [&str; 11] = [
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// Evaluation state shared by all nodes of one query.
pub(crate) struct Evaluator<'a> {
    pub src: &'a dyn SampleSource,
    /// The query text, for the positions annotations end with.
    pub query: &'a str,
    /// Byte offset of the sub-expression the next annotations refer to.
    pub note_pos: usize,
    pub lookback: i64,
    /// Start and end of the query, for `@ start()` / `@ end()`.
    pub query_start: i64,
    pub query_end: i64,
    /// Step of a range query (0 for instant queries), for `step()`.
    pub query_step: i64,
    pub limits: Limits,
    pub notes: Annotations,
}

impl<'a> Evaluator<'a> {
    /// Adds a warning about the sub-expression at `note_pos`.
    pub fn warn(&mut self, msg: String) {
        let pos = position_suffix(self.query, self.note_pos);
        self.notes.warn(format!("{msg}{pos}"));
    }

    /// Adds an info annotation about the sub-expression at `note_pos`.
    pub fn info(&mut self, msg: String) {
        let pos = position_suffix(self.query, self.note_pos);
        self.notes.info(format!("{msg}{pos}"));
    }

    /// The `@` time of a selector or subquery, in milliseconds.
    pub fn at_time(&self, at: &Option<AtModifier>) -> Option<i64> {
        match at {
            None => None,
            Some(AtModifier::Start) => Some(self.query_start),
            Some(AtModifier::End) => Some(self.query_end),
            Some(AtModifier::At(t)) => Some(*t),
        }
    }

    /// Evaluates `expr` at every step of `grid`.
    pub fn eval(&mut self, grid: Grid, expr: &Expr) -> Result<Evaluated, QueryError> {
        self.limits.check_deadline()?;
        if grid.steps() == 0 {
            return Ok(empty_of(expr));
        }
        if grid.steps() > 1 && is_step_invariant(expr) && has_at_modifier(expr) {
            let once = self.eval(Grid::instant(grid.start), expr)?;
            return self.repeat_over(grid, once);
        }
        match expr {
            Expr::Paren(p) => self.eval(grid, &p.expr),
            Expr::NumberLiteral(n) => {
                self.limits.hold(grid.steps())?;
                Ok(Evaluated::Scalar(vec![n.val; grid.steps()]))
            }
            Expr::Duration(d) => {
                self.limits.hold(grid.steps())?;
                Ok(Evaluated::Scalar(vec![d.secs(); grid.steps()]))
            }
            Expr::StringLiteral(s) => Ok(Evaluated::String(s.val.clone())),
            Expr::Unary(u) if u.op == UnaryOp::Plus => self.eval(grid, &u.expr),
            Expr::Unary(u) => self.eval_negation(grid, &u.expr),
            Expr::VectorSelector(vs) => Ok(Evaluated::Vector(selector::eval_vector_selector(
                self,
                grid,
                vs,
                InstantMode::Values,
            )?)),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => self.eval_range_vector(grid, expr),
            Expr::Aggregate(a) => aggregate::eval(self, grid, a),
            Expr::Binary(b) => binary::eval(self, grid, b),
            Expr::Call(c) => {
                if let Some(msg) = super::parser::extended_selector_error(c) {
                    return Err(QueryError::exec(msg));
                }
                functions::eval_call(self, grid, c)
            }
        }
    }

    /// Unary minus: negates values; a vector loses its metric name.
    fn eval_negation(&mut self, grid: Grid, inner: &Expr) -> Result<Evaluated, QueryError> {
        match self.eval(grid, inner)? {
            Evaluated::Scalar(mut v) => {
                v.iter_mut().for_each(|x| *x = -*x);
                Ok(Evaluated::Scalar(v))
            }
            Evaluated::Vector(mut series) => {
                for s in &mut series {
                    s.drop_name = true;
                    s.floats.iter_mut().for_each(|p| p.v = -p.v);
                    s.hists.iter_mut().for_each(|p| p.h.neg());
                }
                Ok(Evaluated::Vector(series))
            }
            other => Err(QueryError::exec(format!(
                "unary expression only allowed on expressions of type scalar or instant vector, got {}",
                other.kind()
            ))),
        }
    }

    /// A range selector or subquery as a value: only in instant evaluation.
    fn eval_range_vector(&mut self, grid: Grid, expr: &Expr) -> Result<Evaluated, QueryError> {
        if grid.steps() != 1 {
            return Err(QueryError::exec(
                "range vectors can only be returned by instant queries",
            ));
        }
        let input = match expr {
            Expr::MatrixSelector(ms) => selector::load_matrix_selector(self, grid, ms)?,
            Expr::Subquery(sq) => self.eval_subquery(grid, sq)?,
            _ => return Err(QueryError::exec("expected a range vector expression")),
        };
        let held = super::step::total_points(&input.series);
        let out = selector::matrix_at(self, input, grid)?;
        self.limits.release(held);
        Ok(Evaluated::Matrix(out))
    }

    /// Evaluates an expression that must be an instant vector.
    pub fn eval_vector(&mut self, grid: Grid, expr: &Expr) -> Result<Vec<StepSeries>, QueryError> {
        match self.eval(grid, expr)? {
            Evaluated::Vector(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected instant vector, got {}",
                other.kind()
            ))),
        }
    }

    /// Evaluates an expression that must be a scalar (one value per step).
    pub fn eval_scalar(&mut self, grid: Grid, expr: &Expr) -> Result<Vec<f64>, QueryError> {
        match self.eval(grid, expr)? {
            Evaluated::Scalar(v) => Ok(v),
            other => Err(QueryError::exec(format!(
                "expected scalar, got {}",
                other.kind()
            ))),
        }
    }

    /// Evaluates a subquery's inner expression on its own grid: steps aligned
    /// to multiples of the subquery step, the first one strictly after
    /// `start - offset - range`, the last at or before `end - offset`.
    pub fn eval_subquery(
        &mut self,
        grid: Grid,
        sq: &SubqueryExpr,
    ) -> Result<RangeInput, QueryError> {
        let offset = sq.offset_ms();
        let at = self.at_time(&sq.at);
        let range = sq.range.ms();
        let step = sq
            .step
            .as_ref()
            .map(|s| s.ms())
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let (outer_start, outer_end) = match at {
            Some(t) => (t, t),
            None => (grid.start, grid.end),
        };
        let lowest = outer_start.saturating_sub(offset).saturating_sub(range);
        let inner = Grid {
            start: lowest
                .div_euclid(step)
                .saturating_add(1)
                .saturating_mul(step),
            end: outer_end.saturating_sub(offset),
            interval: step,
        };
        if inner.steps() > self.limits.max_samples() {
            return Err(QueryError::TooManySamples);
        }
        let series = match self.eval(inner, &sq.expr)? {
            // Points of a subquery are not consecutive raw samples: a
            // "no counter reset" hint read from storage says nothing about
            // the previous subquery step, so functions detect resets again.
            Evaluated::Vector(mut v) => {
                for s in &mut v {
                    for p in &mut s.hists {
                        if p.h.counter_reset_hint
                            == crate::model::histogram::CounterResetHint::NotCounterReset
                        {
                            p.h.counter_reset_hint =
                                crate::model::histogram::CounterResetHint::Unknown;
                        }
                    }
                }
                v
            }
            Evaluated::Scalar(v) => vec![StepSeries::with_floats(
                Default::default(),
                false,
                inner
                    .timestamps()
                    .zip(v)
                    .map(|(t, v)| Sample::new(t, v))
                    .collect(),
            )],
            other => {
                return Err(QueryError::exec(format!(
                    "subquery is only allowed on instant vector, got {}",
                    other.kind()
                )))
            }
        };
        Ok(RangeInput {
            series,
            range,
            offset,
            at,
            extension: None,
        })
    }

    /// Repeats a value evaluated at the grid's first step over all steps.
    fn repeat_over(&mut self, grid: Grid, once: Evaluated) -> Result<Evaluated, QueryError> {
        let steps = grid.steps();
        match once {
            Evaluated::Scalar(v) => {
                let x = v.first().copied().unwrap_or(f64::NAN);
                self.limits.hold(steps.saturating_sub(1))?;
                Ok(Evaluated::Scalar(vec![x; steps]))
            }
            Evaluated::Vector(mut series) => {
                for s in &mut series {
                    if let Some(p) = s.floats.first().copied() {
                        self.limits.hold(steps.saturating_sub(1))?;
                        s.floats = grid.timestamps().map(|t| Sample::new(t, p.v)).collect();
                    } else if let Some(p) = s.hists.first() {
                        let h = p.h.clone();
                        let w = super::step::hist_weight(p);
                        self.limits
                            .hold(steps.saturating_sub(1).saturating_mul(w))?;
                        s.hists = grid
                            .timestamps()
                            .map(|t| crate::model::HistogramSample { t, h: h.clone() })
                            .collect();
                    }
                }
                Ok(Evaluated::Vector(series))
            }
            other => Ok(other),
        }
    }

    pub fn release_series(&mut self, v: &[StepSeries]) {
        self.limits.release(super::step::total_points(v));
    }
}

fn empty_of(expr: &Expr) -> Evaluated {
    match expr.value_type() {
        ValueType::Scalar => Evaluated::Scalar(Vec::new()),
        ValueType::String => match unwrap_parens(expr) {
            Expr::StringLiteral(s) => Evaluated::String(s.val.clone()),
            _ => Evaluated::String(String::new()),
        },
        ValueType::Matrix => Evaluated::Matrix(Vec::new()),
        ValueType::Vector => Evaluated::Vector(Vec::new()),
    }
}

/// The nesting depth of an expression, computed without recursion (so that
/// absurdly deep queries are rejected before anything recurses over them).
pub(crate) fn expr_depth(expr: &Expr) -> usize {
    let mut max = 0;
    let mut stack: Vec<(&Expr, usize)> = vec![(expr, 1)];
    while let Some((e, d)) = stack.pop() {
        max = max.max(d);
        match e {
            Expr::Paren(p) => stack.push((&p.expr, d + 1)),
            Expr::Unary(u) => stack.push((&u.expr, d + 1)),
            Expr::Subquery(s) => stack.push((&s.expr, d + 1)),
            Expr::Binary(b) => {
                stack.push((&b.lhs, d + 1));
                stack.push((&b.rhs, d + 1));
            }
            Expr::Aggregate(a) => {
                stack.push((&a.expr, d + 1));
                if let Some(p) = &a.param {
                    stack.push((p, d + 1));
                }
            }
            Expr::Call(c) => stack.extend(c.args.iter().map(|a| (a, d + 1))),
            Expr::NumberLiteral(_)
            | Expr::StringLiteral(_)
            | Expr::Duration(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => {}
        }
    }
    max
}

/// Strips any number of enclosing parentheses.
pub(crate) fn unwrap_parens(mut e: &Expr) -> &Expr {
    while let Expr::Paren(p) = e {
        e = &p.expr;
    }
    e
}

/// Does the expression give the same result at every step (all its selectors
/// and subqueries pinned with `@`, no time-dependent function)?
pub(crate) fn is_step_invariant(expr: &Expr) -> bool {
    match expr {
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.vs.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Duration(_) => true,
        Expr::Paren(p) => is_step_invariant(&p.expr),
        Expr::Unary(u) => is_step_invariant(&u.expr),
        Expr::Binary(b) => is_step_invariant(&b.lhs) && is_step_invariant(&b.rhs),
        Expr::Aggregate(a) => {
            is_step_invariant(&a.expr) && a.param.as_ref().is_none_or(|p| is_step_invariant(p))
        }
        Expr::Call(c) => {
            !TIME_DEPENDENT_FUNCTIONS.contains(&c.func.name) && c.args.iter().all(is_step_invariant)
        }
    }
}

fn has_at_modifier(expr: &Expr) -> bool {
    match expr {
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.vs.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Duration(_) => false,
        Expr::Paren(p) => has_at_modifier(&p.expr),
        Expr::Unary(u) => has_at_modifier(&u.expr),
        Expr::Binary(b) => has_at_modifier(&b.lhs) || has_at_modifier(&b.rhs),
        Expr::Aggregate(a) => {
            has_at_modifier(&a.expr) || a.param.as_ref().is_some_and(|p| has_at_modifier(p))
        }
        Expr::Call(c) => c.args.iter().any(has_at_modifier),
    }
}
