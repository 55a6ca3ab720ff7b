use autodiff::prelude::*;

// Reductions over `iter`, `zip`, `enumerate`, `windows`, `map` are loops; `chain` is not
// understood yet.
#[differentiate]
fn f(x: &[f64], y: &[f64]) -> f64 {
    x.iter().chain(y.iter()).map(|v| v * v).sum()
}

// A window used other than by `w[j]` and `w.len()`.
#[differentiate]
fn g(x: &[f64]) -> f64 {
    x.windows(2).map(|w| w.iter().sum::<f64>()).sum()
}

fn main() {}
