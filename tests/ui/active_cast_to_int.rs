use autodiff::prelude::*;

// An integer made from an active float carries no derivative: the macro asks to say so.
#[differentiate]
fn f(x: f64) -> f64 {
    let k = x as i64;
    let n = (x * 4.0).floor() as usize;
    k as f64 + x * n as f64
}

fn main() {}
