use autodiff::prelude::*;

// The reference of an `&mut` parameter cannot be bound or returned, or its name rebound
// (passing it on to a call, `g(v)`, is allowed: tests/mut_calls.rs).
#[differentiate]
fn f(v: &mut [f64; 2], a: f64) -> f64 {
    let w = v;
    w[1] = a;
    a
}

#[differentiate]
fn g(v: &mut [f64; 2], a: f64) -> f64 {
    v[0] = a;
    let v = a * 2.0;
    v
}

fn main() {}
