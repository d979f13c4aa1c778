//! The `@`-pinned variants of instant evals in the conformance runner, as
//! Prometheus' harness builds them: every selector and subquery without an
//! `@` gets `@ <eval time>` (nothing inside an `@`-pinned subquery is
//! touched), unless the query calls a function whose result depends on the
//! evaluation time even with step-invariant arguments.

use super::eval::TIME_DEPENDENT_FUNCTIONS;
use super::parser::{self, AtModifier, Expr};

/// The query with every selector pinned to `@ t_ms`, printed; `None` when
/// it does not parse or calls a time-dependent function.
pub(crate) fn pin_at(query: &str, t_ms: i64) -> Option<String> {
    let mut e = parser::parse(query).ok()?;
    let mut time_dependent = false;
    pin(&mut e, AtModifier::At(t_ms), &mut time_dependent);
    (!time_dependent).then(|| e.to_string())
}

fn pin(e: &mut Expr, at: AtModifier, time_dependent: &mut bool) {
    match e {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(at);
        }
        Expr::MatrixSelector(ms) => {
            ms.vs.at.get_or_insert(at);
        }
        // Prometheus pins the subquery itself and, with its `@` now set,
        // leaves everything inside it alone.
        Expr::Subquery(sq) => {
            sq.at.get_or_insert(at);
        }
        Expr::Paren(p) => pin(&mut p.expr, at, time_dependent),
        Expr::Unary(u) => pin(&mut u.expr, at, time_dependent),
        Expr::Binary(b) => {
            pin(&mut b.lhs, at, time_dependent);
            pin(&mut b.rhs, at, time_dependent);
        }
        Expr::Aggregate(a) => {
            pin(&mut a.expr, at, time_dependent);
            if let Some(p) = a.param.as_mut() {
                pin(p, at, time_dependent);
            }
        }
        Expr::Call(c) => {
            // `start()` / `end()` are the query's own times: pinning the
            // selectors does not pin them.
            *time_dependent |= TIME_DEPENDENT_FUNCTIONS.contains(&c.func.name)
                || matches!(c.func.name, "start" | "end");
            for a in c.args.iter_mut() {
                pin(a, at, time_dependent);
            }
        }
        Expr::Duration(_) | Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_selectors_but_not_inside_pinned_subqueries() {
        let q = pin_at("sum(rate(m[5m])) + n", 60_000).unwrap();
        assert_eq!(q, "sum(rate(m[5m] @ 60.000)) + n @ 60.000");
        let q = pin_at("max_over_time(rate(m[1m])[5m:1m])", 1_000).unwrap();
        assert_eq!(q, "max_over_time(rate(m[1m])[5m:1m] @ 1.000)");
        assert_eq!(pin_at("time() - m", 1_000), None);
        assert_eq!(pin_at("m @ 5", 1_000).as_deref(), Some("m @ 5.000"));
    }
}
