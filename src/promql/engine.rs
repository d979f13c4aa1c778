//! The engine entry points: [`Engine::instant`] and [`Engine::range`] parse a
//! query, evaluate it over a [`SampleSource`] and assemble the API-facing
//! [`QueryResult`] (metric-name removal, label-set collision checks, result
//! ordering).

use std::time::{Duration, Instant};

use super::parser::{AggOp, Expr, ValueType};

use crate::model::Sample;

use super::eval::{expr_depth, unwrap_parens, Evaluator};
use super::limits::{Annotations, Limits};
use super::source::{SampleSource, Series};
use super::step::{merge_same_labelset, Evaluated, Grid, StepSeries};
use super::util::drop_metric_name;
use super::value::{InstantSample, QueryError, QueryResult, Value};

/// The deepest expression nesting we evaluate. Evaluation recurses once per
/// level; this bound keeps it well inside a 2 MiB thread stack (Prometheus
/// has no such limit, but real queries stay far below it).
const MAX_NESTING: usize = 200;

/// The most points a range query may return per series (as Prometheus).
const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// How far back an instant selector looks for a sample (default 5 min).
    pub lookback_delta_ms: i64,
    /// The most samples a query may hold in memory at once.
    pub max_samples: usize,
    /// Deadline of one query's evaluation.
    pub timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            lookback_delta_ms: 300_000,
            max_samples: 50_000_000,
            timeout: Duration::from_secs(120),
        }
    }
}

/// The PromQL engine. Cheap to share; holds only its options.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Evaluates `query` at `t_ms`.
    pub fn instant(
        &self,
        src: &dyn SampleSource,
        query: &str,
        t_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        let expr = parse(query)?;
        self.eval_expr(src, query, &expr, t_ms, t_ms, 0)
    }

    /// Evaluates `query` at `start_ms, start_ms + step_ms, ... <= end_ms`;
    /// always returns a matrix.
    pub fn range(
        &self,
        src: &dyn SampleSource,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        if step_ms <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        if (end_ms as i128 - start_ms as i128) / step_ms as i128 > MAX_POINTS_PER_SERIES as i128 {
            return Err(QueryError::BadData(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
                    .into(),
            ));
        }
        let expr = parse(query)?;
        match expr.value_type() {
            ValueType::Scalar | ValueType::Vector => {}
            other => {
                let name = match other {
                    ValueType::Matrix => "range vector",
                    _ => "string",
                };
                return Err(QueryError::BadData(format!(
                    "invalid expression type \"{name}\" for range query, must be Scalar or instant Vector"
                )));
            }
        }
        self.eval_expr(src, query, &expr, start_ms, end_ms, step_ms)
    }

    /// Evaluates a parsed expression; `step_ms == 0` means an instant query.
    pub(crate) fn eval_expr(
        &self,
        src: &dyn SampleSource,
        query: &str,
        expr: &Expr,
        start: i64,
        end: i64,
        step_ms: i64,
    ) -> Result<QueryResult, QueryError> {
        check_nesting(expr)?;
        // Duration expressions (`[step()*2]`, `offset -range()`) are fixed
        // for the whole query: resolve them once, now.
        let mut resolved = expr.clone();
        resolved
            .resolve_durations(step_ms, end.saturating_sub(start))
            .map_err(QueryError::BadData)?;
        let expr = &resolved;
        let instant = step_ms == 0;
        let deadline = Instant::now().checked_add(self.opts.timeout);
        let mut ev = Evaluator {
            src,
            query,
            note_pos: 0,
            lookback: if self.opts.lookback_delta_ms > 0 {
                self.opts.lookback_delta_ms
            } else {
                EngineOptions::default().lookback_delta_ms
            },
            query_start: start,
            query_end: end,
            query_step: step_ms,
            limits: Limits::new(self.opts.max_samples, deadline),
            notes: Annotations::default(),
        };
        let grid = if instant {
            Grid::instant(start)
        } else {
            Grid {
                start,
                end,
                interval: step_ms,
            }
        };
        let value = match ev.eval(grid, expr)? {
            Evaluated::Scalar(v) => {
                if instant {
                    Value::Scalar {
                        t: start,
                        v: v.first().copied().unwrap_or(f64::NAN),
                    }
                } else {
                    let samples: Vec<Sample> = grid
                        .timestamps()
                        .zip(v)
                        .map(|(t, v)| Sample::new(t, v))
                        .collect();
                    Value::Matrix(vec![Series::floats(Default::default(), samples)])
                }
            }
            Evaluated::String(s) => Value::String { t: start, v: s },
            Evaluated::Vector(series) => {
                let mut series = finalize(series)?;
                if instant {
                    if !keeps_order(expr) {
                        series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    }
                    Value::Vector(
                        series
                            .into_iter()
                            .filter_map(|mut s| match s.floats.first() {
                                Some(p) => Some(InstantSample {
                                    labels: s.labels,
                                    t: start,
                                    v: p.v,
                                    h: None,
                                }),
                                None => s.hists.pop().map(|p| InstantSample {
                                    labels: s.labels,
                                    t: start,
                                    v: 0.0,
                                    h: Some(p.h),
                                }),
                            })
                            .collect(),
                    )
                } else {
                    series.sort_by(|a, b| a.labels.cmp(&b.labels));
                    Value::Matrix(into_matrix(series))
                }
            }
            Evaluated::Matrix(series) => {
                let mut series = finalize(series)?;
                series.sort_by(|a, b| a.labels.cmp(&b.labels));
                Value::Matrix(into_matrix(series))
            }
        };
        ev.limits.check_deadline()?;
        Ok(QueryResult {
            value,
            warnings: ev.notes.warnings,
            infos: ev.notes.infos,
            total_samples: ev.limits.total(),
        })
    }
}

/// Rejects expressions nested deeper than the evaluator (and the printer)
/// recurse safely.
pub(crate) fn check_nesting(expr: &Expr) -> Result<(), QueryError> {
    let depth = expr_depth(expr);
    if depth > MAX_NESTING {
        return Err(QueryError::BadData(format!(
            "query is too deeply nested ({depth} levels, at most {MAX_NESTING} are allowed)"
        )));
    }
    Ok(())
}

/// Parses a query; parse errors are `bad_data`.
pub(crate) fn parse(query: &str) -> Result<Expr, QueryError> {
    super::parser::parse(query).map_err(|e| QueryError::BadData(e.to_string()))
}

/// Applies delayed metric-name removal and rejects label-set collisions.
fn finalize(mut series: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    for s in &mut series {
        if s.drop_name {
            s.labels = drop_metric_name(&s.labels);
            s.drop_name = false;
        }
    }
    let mut series = merge_same_labelset(series)?;
    series.retain(|s| !s.is_empty());
    Ok(series)
}

fn into_matrix(series: Vec<StepSeries>) -> Vec<Series> {
    series
        .into_iter()
        .map(|s| Series {
            labels: s.labels,
            samples: s.floats,
            histograms: s.hists,
        })
        .collect()
}

/// Does the query define its own result order (`sort*()`, `topk`, ...)?
fn keeps_order(expr: &Expr) -> bool {
    match unwrap_parens(expr) {
        Expr::Call(c) => matches!(
            c.func.name,
            "sort" | "sort_desc" | "sort_by_label" | "sort_by_label_desc"
        ),
        Expr::Aggregate(a) => matches!(
            a.op,
            AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio
        ),
        _ => false,
    }
}
