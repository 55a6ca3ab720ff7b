use autodiff::prelude::*;

macro_rules! square {
    ($e:expr) => {
        $e * $e
    };
}

#[differentiate]
fn f(x: f64) -> f64 {
    let y = square!(x);
    y + x
}

fn main() {}
