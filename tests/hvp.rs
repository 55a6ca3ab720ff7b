//! Hessian-vector products by forward-over-reverse: the reverse-mode code of a generic
//! function called on `Dual<f64>` (tangent = v) returns a gradient whose tangent is `H v`,
//! checked against central finite differences of the gradient (`f_grad::<f64>`) and for the
//! symmetry `<w, H v> == <v, H w>`.
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

mod common;

use autodiff::prelude::*;
use common::{D, check_hvp, dot, duals, split};

/// Straight-line, three scalars.
#[differentiate]
fn scalars<F: Float>(x: F, y: F, z: F) -> F {
    let a = x * y.sin() + z.exp() * x;
    let b = (a * a + F::one()).ln() / (y * y + F::from(2.0).unwrap());
    b * z + x.atan2(y) + x.powi(3) - y.sqrt() * z.tanh()
}

/// An array with a loop and branches.
#[differentiate]
fn rosen<F: Float>(x: &[F; 5]) -> F {
    let mut s = F::zero();
    for i in 0..4 {
        let a = x[i + 1] - x[i] * x[i];
        let b = F::one() - x[i];
        s = s + F::from(100.0).unwrap() * a * a + b * b;
    }
    if s > F::from(10.0).unwrap() {
        s.sqrt()
    } else {
        s * s
    }
}

/// A slice, a local buffer, a data-dependent loop (the call of `softish` inlined).
#[differentiate]
fn softish_inline<F: Float>(x: &[F]) -> F {
    let n = x.len();
    let mut buf = vec![F::zero(); n];
    for i in 0..n {
        let (p, q) = (x[i], x[(i + 1) % n]);
        buf[i] = p * q.sin() + (q * q + F::one()).ln() * p;
    }
    let mut m = buf[0];
    for i in 1..n {
        m = m.max(buf[i]);
    }
    let mut s = F::zero();
    for i in 0..n {
        s = s + (buf[i] - m).exp();
    }
    let mut k = 0;
    let mut t = s;
    while t < F::from(100.0).unwrap() && k < 50 {
        t = t * F::from(1.7).unwrap() + x[k % n] * x[k % n];
        k += 1;
    }
    m + s.ln() + t.ln()
}

#[test]
fn hvp_scalars() {
    for x in [[0.4, 0.9, -0.3], [1.2, 0.3, 0.5]] {
        check_hvp(
            "scalars",
            &x,
            &|p| {
                let (_, (a, b, c)) = scalars_grad::<f64>(p[0], p[1], p[2]);
                vec![a, b, c]
            },
            &|p, v| {
                let d = duals(p, v);
                let (y, (a, b, c)) = scalars_grad::<D>(d[0], d[1], d[2]);
                assert_eq!(y.value(), scalars::<f64>(p[0], p[1], p[2]));
                split(&[a, b, c])
            },
        );
    }
}

#[test]
fn hvp_through_vjp_with_a_dual_cotangent() {
    // The pullback on duals, with a cotangent whose tangent is 0, gives the same H v.
    let x = [0.4, 0.9, -0.3];
    let v = [0.3, -0.2, 0.7];
    let d = duals(&x, &v);
    let (_, pb) = scalars_vjp::<D>(d[0], d[1], d[2]);
    let (a, b, c) = pb(Dual::new(1.0, 0.0));
    let (_, (a2, b2, c2)) = scalars_grad::<D>(d[0], d[1], d[2]);
    assert_eq!(
        (a.tangent(), b.tangent(), c.tangent()),
        (a2.tangent(), b2.tangent(), c2.tangent())
    );
}

#[test]
fn hvp_array_loop_branch() {
    for x in [[0.4, 0.9, -0.3, 1.1, 0.2], [0.1, 0.2, 0.1, 0.0, 0.1]] {
        check_hvp(
            "rosen",
            &x,
            &|p| rosen_grad::<f64>(&p.try_into().unwrap()).1.to_vec(),
            &|p, v| {
                let d: [D; 5] = duals(p, v).try_into().unwrap();
                let (_, g) = rosen_grad::<D>(&d);
                split(&g)
            },
        );
    }
}

#[test]
fn hvp_slice_buffer_while() {
    let x = [0.4, 0.9, -0.3, 1.1];
    check_hvp(
        "softish_inline",
        &x,
        &|p| softish_inline_grad::<f64>(p).1,
        &|p, v| {
            let d = duals(p, v);
            let (_, g) = softish_inline_grad::<D>(&d);
            split(&g)
        },
    );
}

/// Forward-over-forward as a cross-check of one entry: the jvp on duals gives a second
/// directional derivative `v^T H w`.
#[test]
fn forward_over_forward_agrees() {
    let x = [0.4, 0.9, -0.3];
    let v = [0.3, -0.2, 0.7];
    let w = [-0.5, 0.1, 0.4];
    let d = duals(&x, &v);
    let (_, dd) = scalars_jvp::<D>(
        d[0],
        d[1],
        d[2],
        Dual::from_f64(w[0]),
        Dual::from_f64(w[1]),
        Dual::from_f64(w[2]),
    );
    let vhw = dd.tangent();
    let hv = {
        let (_, (a, b, c)) = scalars_grad::<D>(d[0], d[1], d[2]);
        [a.tangent(), b.tangent(), c.tangent()]
    };
    let whv = dot(&w, &hv);
    assert!(
        (vhw - whv).abs() < 1e-12 * (1.0 + whv.abs()),
        "{vhw} vs {whv}"
    );
}

trait FromF64 {
    fn from_f64(v: f64) -> Self;
}
impl FromF64 for D {
    fn from_f64(v: f64) -> Self {
        Dual::new(v, 0.0)
    }
}
