//! Multi-line formatting as Prometheus' `Pretty(0)` (`/api/v1/format_query`):
//! a node that fits in 100 characters prints on one line; otherwise its
//! children go on their own lines, indented by two spaces per level.

use super::ast::*;

const MAX_LINE: usize = 100;

fn indent(level: usize) -> String {
    "  ".repeat(level)
}

impl Expr {
    /// The expression formatted over several lines where it is long.
    pub fn prettify(&self) -> String {
        pretty(self, 0)
    }
}

fn pretty(e: &Expr, level: usize) -> String {
    let flat = e.to_string();
    let split = flat.len() > MAX_LINE;
    match e {
        Expr::Aggregate(a) if split => {
            let mut s = format!("{}{}(\n", indent(level), a.op_string());
            if let Some(p) = &a.param {
                s.push_str(&pretty(p, level + 1));
                s.push_str(",\n");
            }
            s.push_str(&pretty(&a.expr, level + 1));
            s.push('\n');
            s.push_str(&indent(level));
            s.push(')');
            s
        }
        Expr::Binary(b) if split => format!(
            "{}\n{}{}\n{}",
            pretty(&b.lhs, level + 1),
            indent(level),
            b.op_string(),
            pretty(&b.rhs, level + 1)
        ),
        Expr::Call(c) if split => {
            let args: Vec<String> = c.args.iter().map(|a| pretty(a, level + 1)).collect();
            format!(
                "{}{}(\n{}\n{})",
                indent(level),
                c.func.name,
                args.join(",\n"),
                indent(level)
            )
        }
        Expr::Paren(p) if split => format!(
            "{}(\n{}\n{})",
            indent(level),
            pretty(&p.expr, level + 1),
            indent(level)
        ),
        Expr::Subquery(sq) => {
            if split {
                format!("{}{}", pretty(&sq.expr, level), sq.time_suffix())
            } else {
                flat
            }
        }
        Expr::Unary(u) => {
            let op = if u.op == UnaryOp::Neg { "-" } else { "+" };
            format!(
                "{}{op}{}",
                indent(level),
                pretty(&u.expr, level).trim_start()
            )
        }
        _ => format!("{}{flat}", indent(level)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    #[test]
    fn short_stays_flat() {
        let e = parse("sum(rate(x[5m])) by (job)").unwrap();
        assert_eq!(e.prettify(), "sum by (job) (rate(x[5m]))");
    }

    #[test]
    fn long_splits() {
        let q = format!(
            "sum by (job) (rate(a_very_long_metric_name_{}[5m])) / on (job) group_left () count(up)",
            "x".repeat(40)
        );
        let e = parse(&q).unwrap();
        let p = e.prettify();
        let want = format!(
            "  sum by (job) (rate(a_very_long_metric_name_{}[5m]))\n/ on (job) group_left ()\n  count(up)",
            "x".repeat(40)
        );
        assert_eq!(p, want);
    }
}
