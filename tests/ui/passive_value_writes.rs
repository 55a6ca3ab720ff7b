use autodiff::prelude::*;

// A passive value (here the integer `k`) is kept as written: the write of the active `s`
// inside it would carry no derivative.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    let k = {
        s = s * x;
        3
    };
    s * k as f64
}

fn main() {}
