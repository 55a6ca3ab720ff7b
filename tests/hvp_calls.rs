//! A Hessian-vector product through a generic function that calls another generic differentiated
//! function with a passive float argument `F::from(0.5).unwrap()` and with slice elements `x[i]`.
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
use common::{D, check_hvp, duals, split};

/// Straight-line, three scalars.
#[differentiate]
fn scalars<F: Float>(x: F, y: F, z: F) -> F {
    let a = x * y.sin() + z.exp() * x;
    let b = (a * a + F::one()).ln() / (y * y + F::from(2.0).unwrap());
    b * z + x.atan2(y) + x.powi(3) - (y * y + F::one()).sqrt() * z.tanh()
}

/// A slice, a local buffer, a call to another generic function, a data-dependent loop.
#[differentiate]
fn softish<F: Float>(x: &[F]) -> F {
    let n = x.len();
    let mut buf = vec![F::zero(); n];
    for i in 0..n {
        buf[i] = scalars(x[i], x[(i + 1) % n], F::from(0.5).unwrap());
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
fn hvp_slice_calls_while() {
    let x = [0.4, 0.9, -0.3, 1.1];
    check_hvp("softish", &x, &|p| softish_grad::<f64>(p).1, &|p, v| {
        let d = duals(p, v);
        let (_, g) = softish_grad::<D>(&d);
        split(&g)
    });
}
