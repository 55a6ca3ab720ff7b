use autodiff::prelude::*;

// The value of a labelled block is an array the macro cannot see is one (a variable): rustc
// names the type, and says what to write instead.
#[differentiate]
fn f(x: f64) -> f64 {
    let p = [x, 2.0 * x];
    let q = [x * x, x];
    let v = 'pick: {
        if x > 1.0 {
            break 'pick p;
        }
        q
    };
    v[0] + v[1]
}

fn main() {}
