use autodiff::prelude::*;

#[differentiate(forward, forward)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
