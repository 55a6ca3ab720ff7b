// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::manual_checked_ops
)]
#![deny(warnings)]
#![allow(dead_code)]
use autodiff::prelude::*;

#[differentiate]
fn f(x1: f64, x2: f64) -> f64 {
    x1 * x2 + x1.sin()
}

#[differentiate]
fn g<F: Float>(x: F, y: F) -> F {
    let mut s = x * y;
    s = s.exp() / (y + F::one());
    let (c, d) = (s.cos(), F::sin(x));
    c * d
}

#[differentiate]
fn loopy(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        s += 100.0 * a * a + (1.0 - x[i]) * (1.0 - x[i]);
    }
    s
}

#[differentiate]
fn prod(x: &[f64; 4]) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        if x[i] > 0.0 {
            p = p * x[i];
        } else {
            p = p * x[i].exp();
        }
        if p > 100.0 {
            break;
        }
    }
    p
}

#[test]
fn smoke() {
    let (y, dy) = f_jvp(2.0, 3.0, 1.0, 0.0);
    assert_eq!(y, 6.0 + 2f64.sin());
    assert!((dy - (3.0 + 2f64.cos())).abs() < 1e-15);
    let (_, (g1, g2)) = f_grad(2.0, 3.0);
    assert!((g1 - (3.0 + 2f64.cos())).abs() < 1e-15);
    assert_eq!(g2, 2.0);
    let (_, pb) = f_vjp(2.0, 3.0);
    let (h1, _h2) = pb(0.5);
    assert!((h1 - 0.5 * (3.0 + 2f64.cos())).abs() < 1e-15);
    let (_, (a, b)) = g_grad(0.3, 0.7);
    let (_, ta) = g_jvp(0.3, 0.7, 1.0, 0.0);
    let (_, tb) = g_jvp(0.3, 0.7, 0.0, 1.0);
    assert!(
        (a - ta).abs() < 1e-14 && (b - tb).abs() < 1e-14,
        "{a} {ta} {b} {tb}"
    );
    let x = [0.5, -0.3, 1.2, 0.8];
    let (_, gx) = loopy_grad(&x);
    for i in 0..4 {
        let mut t = [0.0; 4];
        t[i] = 1.0;
        let (_, d) = loopy_jvp(&x, &t);
        assert!((gx[i] - d).abs() < 1e-12);
    }
    let x = [2.0, -0.3, 1.2, 80.0];
    let (_, gx) = prod_grad(&x);
    for i in 0..4 {
        let mut t = [0.0; 4];
        t[i] = 1.0;
        let (_, d) = prod_jvp(&x, &t);
        assert!((gx[i] - d).abs() < 1e-10, "{i} {gx:?} {d}");
    }
}

/// A loop body may end in an `if`/`else` without a `;`.
#[differentiate]
fn doubling(x: f64) -> f64 {
    let mut s = x;
    let mut go = true;
    while go {
        if s > 10.0 { go = false } else { s = s * 2.0 }
    }
    s
}

#[test]
fn loop_body_ending_in_if_else() {
    let (y, g) = doubling_grad(1.5);
    assert_eq!(y, 12.0);
    assert_eq!(g, 8.0);
    assert_eq!(doubling_jvp(1.5, 1.0), (12.0, 8.0));
}
