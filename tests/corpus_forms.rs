//! Constructs found by the corpus of naturally written functions (issue 13, "differentiate Rust
//! as people write it"), each as a class: the forms a user writes for it, in both modes,
//! against central finite differences, the dot-product test and the Jacobian built both ways
//! (`tests/common`), with `f64` and a generic `F: Real` where natural.
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern
)]
#![deny(warnings)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

const P6: [f64; 6] = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45];

/// Checks `f(x: &[f64]) -> f64` with its `_jvp`, `_vjp` and `_grad` at `x`.
macro_rules! check_slice {
    ($f:ident, $jvp:ident, $vjp:ident, $grad:ident, $x:expr) => {{
        let x: &[f64] = &$x;
        check_fn(
            stringify!($f),
            x,
            &|p| vec![$f(p)],
            &|p, t| {
                let (y, d) = $jvp(p, t);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p);
                (vec![y], pb(c[0]))
            },
        );
        check_grad(stringify!($f), x, &|p| $f(p), &|p| $grad(p));
    }};
}

// ------------------------------------------------- running values with a default (class 3)

/// `reduce(f64::max)` and its kin, each taken apart with a default: `unwrap_or(d)` (`d`
/// active or not), `unwrap_or_else(|| d)`, `unwrap_or_default()`; `cloned`, `copied`, a map
/// first, a closure `|a, b| a.max(b)`, `min`.
#[differentiate]
fn peaks(x: &[f64]) -> f64 {
    let m = x.iter().cloned().reduce(f64::max).unwrap_or(0.0);
    let n = x.iter().copied().reduce(f64::min).unwrap_or_default();
    let k = x
        .iter()
        .copied()
        .reduce(|a, b| a.max(b))
        .unwrap_or_else(|| 1.0);
    let j = x.iter().map(|v| v * v).reduce(f64::max).unwrap_or(x[0]);
    let s = x.iter().map(|v| (v - m).exp()).sum::<f64>();
    m * n + k * j + m + s.ln()
}

#[test]
fn reduce_with_defaults() {
    check_slice!(peaks, peaks_jvp, peaks_vjp, peaks_grad, P6);
}

/// The default is taken where the source is empty: the value and derivative of `d`.
#[differentiate]
fn peak_or(x: &[f64], d: f64) -> f64 {
    let m = x.iter().copied().reduce(f64::max).unwrap_or(d * d);
    let k = x
        .iter()
        .filter(|v| **v > 10.0)
        .map(|v| v.sin())
        .reduce(f64::max)
        .unwrap_or_else(|| d.exp());
    let z = x.iter().copied().reduce(f64::min).unwrap_or_default();
    m + k + z
}

#[test]
fn reduce_defaults_of_empty_sources() {
    for x in [&[][..], &[0.4][..], &P6[..]] {
        let n = x.len();
        let f = |p: &[f64]| peak_or(&p[..n], p[n]);
        let mut p = x.to_vec();
        p.push(0.7);
        check_fn(
            "peak_or",
            &p,
            &|p| vec![f(p)],
            &|p, t| {
                let (y, d) = peak_or_jvp(&p[..n], p[n], &t[..n], t[n]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = peak_or_vjp(&p[..n], p[n]);
                let (mut gx, gd) = pb(c[0]);
                gx.push(gd);
                (vec![y], gx)
            },
        );
    }
}

/// Generic floats: `F::max` and `F::min` with defaults.
#[differentiate]
fn peak_generic<F: Real>(x: &[F]) -> F {
    let m = x.iter().cloned().reduce(F::max).unwrap_or(F::zero());
    let n = x.iter().copied().reduce(F::min).unwrap_or(m);
    m * n + m
}

#[test]
fn reduce_with_defaults_generic() {
    let x = P6;
    check_slice!(
        peak_generic,
        peak_generic_jvp,
        peak_generic_vjp,
        peak_generic_grad,
        x
    );
}
