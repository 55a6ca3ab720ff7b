use autodiff::prelude::*;

fn apply(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x)
}

// A closure is inlined where it is called; passed to another function it is refused.
#[differentiate]
fn f(x: f64) -> f64 {
    let g = |a: f64| a * x;
    apply(g, 2.0) + g(x)
}

fn main() {}
