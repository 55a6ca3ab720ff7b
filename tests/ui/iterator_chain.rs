use autodiff::prelude::*;

#[differentiate]
fn f(x: &[f64]) -> f64 {
    x.iter().map(|a| a * a).sum()
}

fn main() {}
