use autodiff::prelude::*;

#[differentiate(sideways)]
fn f(x: f64) -> f64 {
    x * x
}

fn main() {}
