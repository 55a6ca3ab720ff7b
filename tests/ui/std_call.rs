use autodiff::prelude::*;

// A standard library function has no derived functions beside it: a spanned error, not a
// missing `std::cmp::max_jvp` inside the emitted code.
#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut t = y;
    std::mem::take(&mut t);
    s += std::hint::black_box(x * y);
    // (Nor have the smart pointers' constructors: fuzzer seed 6101:27.)
    let b = Box::new([s, t]);
    s + t + b[0]
}

fn main() {}
