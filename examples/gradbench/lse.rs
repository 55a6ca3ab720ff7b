//! `lse`: log-sum-exp of a vector, and its gradient.

use crate::util::{field, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// The shift `a` only guards `exp` against overflow; the value does not depend on it, so it is
/// held constant with `stop_gradient` (as JAX's `logsumexp` does).
#[differentiate(reverse)]
pub fn lse(x: &[f64]) -> f64 {
    let mut a = stop_gradient(x[0]);
    for i in 1..x.len() {
        a = a.max(stop_gradient(x[i]));
    }
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] - a).exp();
    }
    s.ln() + a
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let x = vec_of(field(input, "x")?)?;
    match function {
        "primal" => {
            let (y, t) = crate::runs(input, || lse(&x));
            Ok((json!(y), t))
        }
        "gradient" => {
            let (g, t) = crate::runs(input, || lse_grad(&x).1);
            Ok((json!(g), t))
        }
        _ => Err(crate::util::unknown("lse", function)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradient_matches_finite_differences() {
        let x = vec![0.3, -1.2, 2.5, 0.7, 2.4];
        let g = super::lse_grad(&x).1;
        crate::tests::check_fd(|x| super::lse(x), &x, &g, 1e-6);
    }
}
