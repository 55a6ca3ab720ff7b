use autodiff::prelude::*;

// A `loop` used as a value must have a float value: an array breaks out of this one.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    let y = loop {
        s = s * 2.0;
        if s > 10.0 {
            break [s, x];
        }
    };
    y[0] + y[1]
}

fn main() {}
