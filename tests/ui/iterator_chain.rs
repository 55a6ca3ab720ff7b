use autodiff::prelude::*;

// Reductions over `iter`, `zip`, `enumerate`, `windows`, `map`, `filter`, `chain` are loops;
// `take_while` is not understood yet.
#[differentiate]
fn f(x: &[f64]) -> f64 {
    x.iter().take_while(|v| **v > 0.0).map(|v| v * v).sum()
}

// A window used other than by `w[j]` and `w.len()`.
#[differentiate]
fn g(x: &[f64]) -> f64 {
    x.windows(2).map(|w| w.iter().sum::<f64>()).sum()
}

// `enumerate` after `chain`: the positions run on across the parts.
#[differentiate]
fn h(x: &[f64], y: &[f64]) -> f64 {
    let mut s = 0.0;
    for (i, v) in x.iter().chain(y.iter()).enumerate() {
        s += v * i as f64;
    }
    s
}

// `max_by` of references (`xs.iter()`) bound as a reference: write `.copied()` (taken out at
// once, `*x.iter().max_by(..).unwrap()`, it is a value and works).
#[differentiate]
fn k(x: &[f64]) -> f64 {
    let m = x.iter().max_by(|a, b| a.total_cmp(b)).unwrap();
    *m * 2.0
}

fn main() {}
