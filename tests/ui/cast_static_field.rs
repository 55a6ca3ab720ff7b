use autodiff::prelude::*;

#[derive(Clone, Differentiable)]
struct Counted {
    w: Vec<f64>,
    n: usize,
}

// A field cast to a float, used nowhere else: the macro cannot see whether it is an integer (a
// static field) or a float; `stop_gradient(c.n) as f64` says it carries no derivative.
#[differentiate]
fn mean(c: &Counted) -> f64 {
    let mut s = 0.0;
    for v in c.w.iter() {
        s += v;
    }
    s / c.n as f64
}

fn main() {}
