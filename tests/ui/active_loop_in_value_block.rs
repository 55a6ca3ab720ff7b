use autodiff::prelude::*;

// A loop over an iterator of active values that the macro does not take (here a window iterated
// instead of read as `w[j]`), inside a block whose value is used: refused, as at the top level
// (its items are active, so the block is not taken for passive code).
#[differentiate]
fn f(x: &[f64]) -> f64 {
    let s = {
        let mut a = 0.0;
        for w in x.windows(2) {
            a += w.iter().sum::<f64>();
        }
        a
    };
    s
}

fn main() {}
