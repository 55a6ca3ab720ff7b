use autodiff::prelude::*;

#[differentiate]
fn f(x: f64, o: Option<usize>) -> f64 {
    if let Some(k) = o {
        x * k as f64
    } else {
        x
    }
}

fn main() {}
