use autodiff::prelude::*;

// An exit out of a block used as a value (here to the loop around it) is refused.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..3 {
        let y = {
            if s > 2.0 {
                break;
            }
            s * x
        };
        s += y;
    }
    s
}

fn main() {}
