use autodiff::prelude::*;

// A `move` closure copies its captures when it is made: inlining it would not.
#[differentiate]
fn f(x: f64) -> f64 {
    let g = move |a: f64| a * x;
    g(2.0)
}

fn main() {}
