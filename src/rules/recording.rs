//! One recording rule: evaluates its expression and names the result.
