use autodiff::prelude::*;

// A function passed as a value may be called only on values that carry no derivative
// (`w(2)`, `g(stop_gradient(x))`: tests/fn_values.rs); on an active value it is refused.
#[differentiate]
fn impl_fn(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x) * x
}

#[differentiate]
fn generic<G: Fn(f64) -> f64>(g: G, x: f64) -> f64 {
    g(x * 2.0)
}

#[differentiate]
fn dyn_fn(g: &dyn Fn(f64) -> f64, x: f64) -> f64 {
    let y = x.sin();
    g(y)
}

#[differentiate]
fn fn_pointer(g: fn(f64) -> f64, x: f64) -> f64 {
    g(x) + x
}

fn main() {}
