use autodiff::prelude::*;

// A statement the macro would keep as the user's tokens must not write an active value: the
// write would carry no derivative.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    let t = x * x;
    debug_assert!({
        s = t;
        true
    });
    s + 2.0 * t
}

fn main() {}
