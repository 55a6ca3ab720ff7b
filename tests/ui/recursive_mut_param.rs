use autodiff::prelude::*;

// A function with `&mut` parameters that calls itself: a spanned error (its derived functions
// would be recursive opaque types, E0720 inside emitted code).
#[differentiate]
fn acc(s: &mut f64, x: f64, n: usize) -> f64 {
    if n == 0 {
        return x;
    }
    *s += x;
    acc(s, x * 0.5, n - 1)
}
fn main() {}
