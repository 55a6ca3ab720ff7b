use autodiff::prelude::*;

#[differentiate]
fn f(x: f64) -> f64 {
    (x * 3.0) % 2.0
}

fn main() {}
