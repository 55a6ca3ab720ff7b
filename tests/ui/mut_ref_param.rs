use autodiff::prelude::*;

// `&mut` slices and `Vec`s, and `&mut` to a type without derivatives, are refused.
#[differentiate]
fn grow(xs: &mut Vec<f64>, a: f64) -> f64 {
    xs[0] *= a;
    a
}

#[differentiate]
fn count(n: &mut usize, a: f64) -> f64 {
    *n += 1;
    a * a
}

fn main() {}
