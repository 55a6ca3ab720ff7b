use autodiff::prelude::*;

fn g(x: f64) -> f64 {
    x * 3.0
}

#[differentiate]
fn f(x: f64) -> f64 {
    let y = x.sin();
    g(y) + 1.0
}

fn main() {}
