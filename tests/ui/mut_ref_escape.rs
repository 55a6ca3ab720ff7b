use autodiff::prelude::*;

fn helper(v: &mut [f64; 2]) {
    v[0] = 1.0;
}

// The reference of an `&mut` parameter cannot be bound, passed on or its name rebound.
#[differentiate]
fn f(v: &mut [f64; 2], a: f64) -> f64 {
    let w = v;
    w[1] = a;
    a
}

#[differentiate]
fn g(v: &mut [f64; 2], a: f64) -> f64 {
    helper(v);
    let v = a * 2.0;
    v
}

fn main() {}
