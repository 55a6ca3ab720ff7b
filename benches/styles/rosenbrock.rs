//! Rosenbrock over a slice (n = 10,000 in the bench): `windows(2).map(..).sum()` against the
//! index loop.

use autodiff::prelude::*;

#[differentiate]
pub fn rosenbrock_iter(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

#[differentiate]
pub fn rosenbrock_index(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}
