use autodiff::prelude::*;

// `return` in the closure of a reduction returns from the closure; the loop the reduction
// becomes has no closure to return from, so it is refused (not read as the function's return).
#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let s: f64 = xs
        .iter()
        .map(|x| {
            if *x < 0.0 {
                return 0.0;
            }
            x * x
        })
        .sum();
    s
}

fn main() {}
