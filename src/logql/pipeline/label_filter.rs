//! Label filters (`| status >= 400 and level="error"`), with Loki's
//! conversion rules: string matchers compare the value (empty when absent,
//! the error labels included); numeric, duration and bytes comparisons drop
//! a line lacking the label and, when the value does not convert, keep the
//! line with `__error__="LabelFilterErr"` (unless an error is already set).

use super::convert::{parse_bytes, parse_float, parse_go_duration};
use super::ip::IpPattern;
use super::state::LineLabels;
use crate::logql::ast::{CmpOp, LabelFilterExpr};
use crate::model::Matcher;

pub const LABEL_FILTER_ERR: &str = "LabelFilterErr";

/// A compiled label filter.
#[derive(Debug)]
pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    Str(Matcher),
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    Duration {
        name: String,
        op: CmpOp,
        nanos: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Ip {
        name: String,
        negated: bool,
        pattern: IpPattern,
    },
}

fn cmp<T: PartialOrd>(op: CmpOp, a: T, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
    }
}

impl LabelFilter {
    pub fn new(e: &LabelFilterExpr) -> Result<LabelFilter, String> {
        Ok(match e {
            LabelFilterExpr::And(a, b) => {
                LabelFilter::And(Box::new(Self::new(a)?), Box::new(Self::new(b)?))
            }
            LabelFilterExpr::Or(a, b) => {
                LabelFilter::Or(Box::new(Self::new(a)?), Box::new(Self::new(b)?))
            }
            LabelFilterExpr::String(m) => LabelFilter::Str(m.clone()),
            LabelFilterExpr::Number { name, op, value } => LabelFilter::Number {
                name: name.clone(),
                op: *op,
                value: *value,
            },
            LabelFilterExpr::Duration { name, op, value } => LabelFilter::Duration {
                name: name.clone(),
                op: *op,
                nanos: (value * 1e9).round() as i64,
            },
            LabelFilterExpr::Bytes { name, op, value } => LabelFilter::Bytes {
                name: name.clone(),
                op: *op,
                value: if *value <= 0.0 { 0 } else { *value as u64 },
            },
            LabelFilterExpr::Ip {
                name,
                negated,
                pattern,
            } => LabelFilter::Ip {
                name: name.clone(),
                negated: *negated,
                pattern: IpPattern::parse(pattern)?,
            },
        })
    }

    /// Does the line pass? May set `__error__` on a conversion failure.
    pub fn eval(&self, st: &mut LineLabels) -> bool {
        match self {
            LabelFilter::And(a, b) => {
                let l = a.eval(st);
                let r = b.eval(st);
                l && r
            }
            LabelFilter::Or(a, b) => a.eval(st) || b.eval(st),
            LabelFilter::Str(m) => m.matches(st.get(&m.name).unwrap_or("")),
            LabelFilter::Number { name, op, value } => {
                convert_cmp(st, name, parse_float, |v| cmp(*op, v, *value))
            }
            LabelFilter::Duration { name, op, nanos } => {
                convert_cmp(st, name, parse_go_duration, |v| cmp(*op, v, *nanos))
            }
            LabelFilter::Bytes { name, op, value } => {
                convert_cmp(st, name, parse_bytes, |v| cmp(*op, v, *value))
            }
            LabelFilter::Ip {
                name,
                negated,
                pattern,
            } => match st.get(name) {
                None => false,
                Some(v) => pattern.matches_text(v) != *negated,
            },
        }
    }
}

fn convert_cmp<T>(
    st: &mut LineLabels,
    name: &str,
    conv: impl Fn(&str) -> Result<T, String>,
    test: impl Fn(T) -> bool,
) -> bool {
    let Some(v) = st.get(name) else { return false };
    match conv(v) {
        Ok(x) => test(x),
        Err(e) => {
            if !st.has_err() {
                st.set_err(LABEL_FILTER_ERR, Some(&e));
            }
            true
        }
    }
}
