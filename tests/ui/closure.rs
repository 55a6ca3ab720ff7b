use autodiff::prelude::*;

#[differentiate]
fn f(x: f64) -> f64 {
    let g = |a: f64| a * x;
    g(2.0)
}

fn main() {}
