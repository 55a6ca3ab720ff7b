use autodiff::prelude::*;

fn scale(k: usize) -> f64 {
    k as f64 * 0.5
}

#[differentiate]
fn g(x: f64, s: f64) -> f64 {
    x * s
}

// Whether `scale(3)` (a passive call) is a float (a zero tangent) or an integer (none) cannot
// be seen from the source.
#[differentiate]
fn f(x: f64) -> f64 {
    g(x, scale(3))
}

fn main() {}
