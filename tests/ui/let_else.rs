use autodiff::prelude::*;

#[differentiate]
fn f(x: f64, o: Option<usize>) -> f64 {
    let Some(k) = o else {
        return x;
    };
    x * k as f64
}

fn main() {}
