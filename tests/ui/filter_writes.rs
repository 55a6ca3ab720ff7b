use autodiff::prelude::*;

// A `filter` predicate only decides: a write inside it would carry no derivative.
#[differentiate]
fn f(xs: &[f64]) -> f64 {
    let mut seen = 0.0;
    let mut s = 0.0;
    for &x in xs.iter().filter(|v| {
        seen += **v;
        **v > 0.0
    }) {
        s += x;
    }
    s + seen
}

fn main() {}
