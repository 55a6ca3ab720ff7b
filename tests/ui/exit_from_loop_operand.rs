use autodiff::prelude::*;

// A loop used as a value may hold exits to the loops around (or `return`) only when it is a
// `let`'s or an assignment's whole value: here it is an operand of a larger value.
#[differentiate]
fn f(x: f64) -> f64 {
    let mut s = x;
    let y = 2.0 * loop {
        s = s * 1.5;
        if s > 100.0 {
            return s;
        }
        if s > 3.0 {
            break s * x;
        }
    };
    y + s
}

fn main() {}
