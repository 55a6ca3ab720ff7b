//! Functions passed as values (issue 13 item 2): a parameter of type `impl Fn(..)`, `G: Fn(..)`,
//! `&dyn Fn(..)`, `&impl Fn(..)`, `Box<dyn Fn(..)>` or `fn(..)` is passive and may be called on
//! values that carry no derivative; a closure may be given to a call whose arguments carry none
//! (both left as written, run on the primal values). On active values each is a spanned error
//! (ui cases `closure_passed`, `fn_value_param`). Both modes against finite differences and the
//! dot-product identity (`common::check_fn`).
#![deny(warnings)]

mod common;

use autodiff::prelude::*;
use common::{Pair, check_fn};

fn apply(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    f(x)
}

/// A weight function by value (`impl Fn`) called on integers, and a passive closure given to
/// `apply` (a constant of the derivative).
#[differentiate]
fn weighted(w: impl Fn(usize) -> f64, xs: &[f64; 3]) -> f64 {
    let k = 2.0;
    let mut s = 0.0;
    for i in 0..3 {
        s += w(i) * xs[i] * xs[i];
    }
    s * apply(|v| v * k, 3.0)
}

/// A type parameter bounded by `Fn`, and a reference to one, read again by the reverse sweep
/// (`g(1) * x`: the value is bound first, not the function kept).
#[differentiate]
fn generic<G: Fn(usize) -> f64>(g: G, h: &G, x: f64) -> f64 {
    g(1) * x.sin() + h(2) * x * x
}

/// `&dyn Fn` and `Box<dyn Fn>`, and a function pointer called on a value with its derivative
/// stopped (the derivative sees `f(x)` frozen).
#[differentiate]
fn dynamic(
    g: &dyn Fn(usize) -> f64,
    b: Box<dyn Fn(usize) -> f64>,
    f: fn(f64) -> f64,
    x: f64,
) -> f64 {
    g(3) * x * x + b(1) * x + f(stop_gradient(x)) * x
}

#[test]
fn functions_passed_as_values() {
    let at = [0.3, -0.7, 1.1];
    let w = |i: usize| 1.0 + i as f64;
    let f = |v: &[f64]| vec![weighted(w, &[v[0], v[1], v[2]])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = weighted_jvp(w, &[v[0], v[1], v[2]], &[t[0], t[1], t[2]]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = weighted_vjp(w, &[v[0], v[1], v[2]]);
        (vec![y], pb(c[0]).to_vec())
    };
    check_fn("weighted", &at, &f, &jvp, &vjp);
    // d/dx_i of 6 sum w(i) x_i^2.
    let (_, g) = weighted_grad(w, &at);
    for i in 0..3 {
        assert!((g[i] - 12.0 * w(i) * at[i]).abs() < 1e-12);
    }

    let g1 = |i: usize| i as f64 + 0.5;
    let f = |v: &[f64]| vec![generic(g1, &g1, v[0])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = generic_jvp(g1, &g1, v[0], t[0]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = generic_vjp(g1, &g1, v[0]);
        (vec![y], vec![pb(c[0])])
    };
    check_fn("generic", &[0.8], &f, &jvp, &vjp);

    // (Finite differences would see `f(x)` move: the derivative is checked in closed form.)
    let sq: fn(f64) -> f64 = |v| v * v;
    let x = 0.6;
    let want = 7.0 * x + 1.5 + x * x; // 3.5 x^2 + 1.5 x + (x^2, frozen) x
    let (y, d) = dynamic_grad(&g1, Box::new(g1), sq, x);
    assert_eq!(y, dynamic(&g1, Box::new(g1), sq, x));
    assert!((d - want).abs() < 1e-12, "{d}");
    let (_, t) = dynamic_jvp(&g1, Box::new(g1), sq, x, 1.0);
    let (_, pb) = dynamic_vjp(&g1, Box::new(g1), sq, x);
    assert!((t - want).abs() < 1e-12 && (pb(1.0) - want).abs() < 1e-12);
}
