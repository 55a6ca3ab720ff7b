use autodiff::prelude::*;

// A statement the macro would keep as the user's tokens must not write an active value: the
// write would carry no derivative.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    'done: {
        s *= x;
        if s > 1.0 {
            break 'done;
        }
        s += x;
    }
    s
}

fn main() {}
