//! Duration expressions: the small arithmetic language allowed in ranges,
//! subquery steps and offsets (`[1h/2]`, `offset -(2*step())`), kept as a
//! tree until the query's step and range are known, then resolved to
//! milliseconds. Also the Prometheus duration literal syntax (`1h30m`).

use std::fmt;

use super::ast::Span;

/// Query-time values of `step()` and `range()`, in milliseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    pub step_ms: i64,
    pub range_ms: i64,
}

/// Operators of duration arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DurOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl DurOp {
    fn as_str(self) -> &'static str {
        match self {
            DurOp::Add => "+",
            DurOp::Sub => "-",
            DurOp::Mul => "*",
            DurOp::Div => "/",
            DurOp::Mod => "%",
            DurOp::Pow => "^",
        }
    }
}

/// A node of a duration expression; values are seconds.
#[derive(Clone, Debug)]
pub enum DurNode {
    /// A number (seconds) or duration literal.
    Literal {
        secs: f64,
        duration: bool,
    },
    Step,
    Range,
    Neg(Box<DurNode>),
    Binary(DurOp, Box<DurNode>, Box<DurNode>),
    MinOf(Box<DurNode>, Box<DurNode>),
    MaxOf(Box<DurNode>, Box<DurNode>),
    Paren(Box<DurNode>),
}

impl PartialEq for DurNode {
    fn eq(&self, o: &Self) -> bool {
        use DurNode::*;
        match (self, o) {
            (Literal { secs: a, .. }, Literal { secs: b, .. }) => {
                a == b || a.is_nan() && b.is_nan()
            }
            (Step, Step) | (Range, Range) => true,
            (Neg(a), Neg(b)) | (Paren(a), Paren(b)) => a == b,
            (Binary(p, a, b), Binary(q, c, d)) => p == q && a == c && b == d,
            (MinOf(a, b), MinOf(c, d)) | (MaxOf(a, b), MaxOf(c, d)) => a == c && b == d,
            _ => false,
        }
    }
}

impl DurNode {
    /// Evaluates to seconds.
    pub fn eval(&self, ctx: Context) -> Result<f64, String> {
        Ok(match self {
            DurNode::Literal { secs, .. } => *secs,
            DurNode::Step => ctx.step_ms as f64 / 1000.0,
            DurNode::Range => ctx.range_ms as f64 / 1000.0,
            DurNode::Neg(x) => -x.eval(ctx)?,
            DurNode::Paren(x) => x.eval(ctx)?,
            DurNode::MinOf(a, b) => min_max(a.eval(ctx)?, b.eval(ctx)?, true),
            DurNode::MaxOf(a, b) => min_max(a.eval(ctx)?, b.eval(ctx)?, false),
            DurNode::Binary(op, a, b) => {
                let (l, r) = (a.eval(ctx)?, b.eval(ctx)?);
                match op {
                    DurOp::Add => l + r,
                    DurOp::Sub => l - r,
                    DurOp::Mul => l * r,
                    DurOp::Div if r == 0.0 => return Err("division by zero".into()),
                    DurOp::Div => l / r,
                    DurOp::Mod if r == 0.0 => return Err("modulo by zero".into()),
                    DurOp::Mod => l % r,
                    DurOp::Pow => l.powf(r),
                }
            }
        })
    }

    /// Does the value depend on the query (`step()`, `range()`)?
    pub fn is_dynamic(&self) -> bool {
        match self {
            DurNode::Literal { .. } => false,
            DurNode::Step | DurNode::Range => true,
            DurNode::Neg(x) | DurNode::Paren(x) => x.is_dynamic(),
            DurNode::Binary(_, a, b) | DurNode::MinOf(a, b) | DurNode::MaxOf(a, b) => {
                a.is_dynamic() || b.is_dynamic()
            }
        }
    }
}

/// Go's `math.Min`/`math.Max`: NaN wins.
fn min_max(a: f64, b: f64, min: bool) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if min {
        a.min(b)
    } else {
        a.max(b)
    }
}

/// A duration expression with its position and, once resolved, its value.
#[derive(Clone, Debug)]
pub struct DurationExpr {
    pub node: DurNode,
    pub span: Span,
    resolved_ms: Option<i64>,
    /// Value in seconds when used as a scalar expression.
    resolved_secs: Option<f64>,
}

impl PartialEq for DurationExpr {
    fn eq(&self, o: &Self) -> bool {
        self.node == o.node
    }
}

impl DurationExpr {
    /// A node; constant ones are resolved right away.
    pub fn new(node: DurNode, span: Span) -> Self {
        let mut d = DurationExpr {
            node,
            span,
            resolved_ms: None,
            resolved_secs: None,
        };
        if !d.node.is_dynamic() {
            if let Ok(s) = d.node.eval(Context::default()) {
                d.resolved_secs = Some(s);
                d.resolved_ms = secs_to_ms(s);
            }
        }
        d
    }

    /// A literal number of milliseconds (used by tools that rewrite queries).
    pub fn from_ms(ms: i64) -> Self {
        DurationExpr::new(
            DurNode::Literal {
                secs: ms as f64 / 1000.0,
                duration: true,
            },
            Span::default(),
        )
    }

    /// The resolved value in milliseconds (0 before resolution).
    pub fn ms(&self) -> i64 {
        self.resolved_ms.unwrap_or(0)
    }

    /// The resolved value in seconds, for a duration used as a scalar.
    pub fn secs(&self) -> f64 {
        self.resolved_secs.unwrap_or(0.0)
    }

    /// Is this a plain literal (no arithmetic, no `step()`)?
    pub fn is_literal(&self) -> bool {
        matches!(self.node, DurNode::Literal { .. })
    }

    /// Resolves for a query; ranges and steps must be positive.
    pub fn resolve(&mut self, ctx: Context, allow_negative: bool) -> Result<(), String> {
        let secs = self.node.eval(ctx)?;
        if secs <= 0.0 && !allow_negative {
            return Err("duration must be greater than 0".into());
        }
        self.resolved_ms = Some(secs_to_ms(secs).ok_or("duration is out of range")?);
        self.resolved_secs = Some(secs);
        Ok(())
    }

    /// Resolves a duration standing as a scalar value.
    pub fn resolve_value(&mut self, ctx: Context) -> Result<(), String> {
        self.resolved_secs = Some(self.node.eval(ctx)?);
        Ok(())
    }
}

/// Seconds to whole milliseconds, if in range: rounded to nanoseconds
/// first (so `1.001` is 1001 ms despite binary floating point), then
/// truncated, as Prometheus converts through `time.Duration`.
fn secs_to_ms(secs: f64) -> Option<i64> {
    let ms = ((secs * 1e9).round() / 1e6).trunc();
    if !ms.is_finite() || ms.abs() > 9.2e15 {
        return None;
    }
    Some(ms as i64)
}

/// Parses a Prometheus duration literal (`1h30m`, `500ms`, `2d`) to
/// milliseconds. Units must appear in decreasing order, each at most once.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    const UNITS: [(&str, i64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let invalid = || format!("not a valid duration string: {s:?}");
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut last_unit = 0usize;
    let mut total: i64 = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(invalid());
        }
        let n: i64 = s[start..i].parse().map_err(|_| invalid())?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let idx = UNITS
            .iter()
            .position(|(u, _)| *u == unit)
            .ok_or_else(invalid)?;
        // Units in decreasing order, each once.
        if idx < last_unit || (idx == last_unit && total > 0) {
            return Err(invalid());
        }
        last_unit = idx;
        total = n
            .checked_mul(UNITS[idx].1)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| "duration out of range".to_string())?;
    }
    Ok(total)
}

/// Prints milliseconds as Prometheus does (`1h30m`, `0s`).
pub fn format_duration_ms(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let (neg, mut ms) = if ms < 0 {
        (true, ms.unsigned_abs())
    } else {
        (false, ms as u64)
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (unit, size) in [
        ("y", 365 * 24 * 3_600_000u64),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&(ms / size).to_string());
            out.push_str(unit);
            ms %= size;
        }
    }
    out
}

/// Formats a number the way Go's `strconv.FormatFloat(v, 'f', -1, 64)` does.
pub fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

impl fmt::Display for DurNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurNode::Literal { secs, duration } => {
                if *duration {
                    let ms = (secs * 1000.0).round() as i64;
                    write!(f, "{}", format_duration_ms(ms))
                } else {
                    write!(f, "{}", format_float(*secs))
                }
            }
            DurNode::Step => write!(f, "step()"),
            DurNode::Range => write!(f, "range()"),
            DurNode::Neg(x) => write!(f, "-{x}"),
            DurNode::Paren(x) => write!(f, "({x})"),
            DurNode::MinOf(a, b) => write!(f, "min_of({a}, {b})"),
            DurNode::MaxOf(a, b) => write!(f, "max_of({a}, {b})"),
            DurNode::Binary(op, a, b) => write!(f, "{a} {} {b}", op.as_str()),
        }
    }
}

impl fmt::Display for DurationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("1m30s500ms"), Ok(90_500));
        assert!(parse_duration_ms("30m1h").is_err());
        assert!(parse_duration_ms("1x").is_err());
        assert_eq!(format_duration_ms(5_400_000), "1h30m");
        assert_eq!(format_duration_ms(90_500), "1m30s500ms");
        assert_eq!(format_duration_ms(0), "0s");
        assert_eq!(format_duration_ms(86_400_000 * 8), "1w1d");
    }

    #[test]
    fn evaluation() {
        let lit = |s: f64| {
            Box::new(DurNode::Literal {
                secs: s,
                duration: true,
            })
        };
        let ctx = Context {
            step_ms: 5_000,
            range_ms: 60_000,
        };
        let e = DurNode::Binary(DurOp::Add, Box::new(DurNode::Step), lit(1.0));
        assert_eq!(e.eval(ctx), Ok(6.0));
        let e = DurNode::MinOf(Box::new(DurNode::Range), lit(8.0));
        assert_eq!(e.eval(ctx), Ok(8.0));
        let e = DurNode::Binary(DurOp::Div, lit(1.0), lit(0.0));
        assert_eq!(e.eval(ctx), Err("division by zero".into()));
        let mut d = DurationExpr::new(DurNode::Step, Span::default());
        assert!(d.resolve(Context::default(), false).is_err());
        assert!(d.resolve(ctx, false).is_ok());
        assert_eq!(d.ms(), 5_000);
    }
}
