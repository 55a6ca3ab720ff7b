use autodiff::prelude::*;

// Reductions over `iter`, `zip`, `enumerate`, `map` are loops; `windows` is not understood yet.
#[differentiate]
fn f(x: &[f64]) -> f64 {
    x.windows(2).map(|w| w[0] * w[1]).sum()
}

fn main() {}
