use autodiff::prelude::*;

// `push` of an active value grows a `Vec` declared in the function; one the caller passed (a
// parameter, or a field of one) keeps its length: return the new values instead.
#[differentiate]
fn f(x: f64, mut v: Vec<f64>) -> f64 {
    v.push(x * 2.0);
    v[0] + x
}

fn main() {}
