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

// ------------------------------------------ references bound to parts of collections (class 2)

/// `let mid = &x[a..b];` with runtime bounds, then iterated (`for v in mid`, `mid.iter()`),
/// indexed, measured; `x[half..]` iterated directly; `split_at`; an alias of an alias; a
/// reference to a whole collection and to a row.
#[differentiate]
fn split_energy(x: &[f64]) -> f64 {
    let half = x.len() / 2;
    let left: f64 = x[..half].iter().map(|v| v * v).sum();
    let right: f64 = x[half..].iter().map(|v| v.exp()).sum();
    let mid = &x[1..x.len() - 1];
    let mut m = 0.0;
    for v in mid {
        m += v.sin() * mid[0];
    }
    for (i, v) in mid.iter().enumerate() {
        m += v * i as f64;
    }
    let (a, b) = x.split_at(half);
    let tail: &[f64] = &b[1..];
    let all = &x;
    let first = a.iter().copied().fold(0.0, |s, v| s * 0.5 + v);
    left * right + m + first * tail.iter().product::<f64>() + all[all.len() - 1] * mid.len() as f64
}

#[test]
fn slices_with_runtime_bounds() {
    check_slice!(
        split_energy,
        split_energy_jvp,
        split_energy_vjp,
        split_energy_grad,
        P6
    );
}

/// The bounds are evaluated where the reference was made: a later change of the variables they
/// were computed from does not move the slice.
#[differentiate]
fn frozen_bounds(x: &[f64]) -> f64 {
    let mut k = 1;
    let w = &x[k..k + 3];
    k += 2;
    let mut s = 0.0;
    for v in w.iter() {
        s = s * v + x[k];
    }
    s
}

#[test]
fn slice_bounds_are_frozen() {
    check_slice!(
        frozen_bounds,
        frozen_bounds_jvp,
        frozen_bounds_vjp,
        frozen_bounds_grad,
        P6
    );
}

/// Rows of a nested array and of a slice of `Vec`s bound by reference, generic floats.
#[differentiate]
fn rows_generic<F: Real>(m: &[Vec<F>], x: &[F]) -> F {
    let mut s = F::zero();
    for i in 0..m.len() {
        let row = &m[i];
        let part = &row[1..];
        s = s + row[0] * x[i] + part.iter().fold(F::zero(), |a, v| a + *v * *v);
    }
    s
}

#[test]
fn row_references_generic() {
    let rows = |p: &[f64]| vec![p[..3].to_vec(), p[3..6].to_vec()];
    let f = |p: &[f64]| rows_generic(&rows(p), &p[6..]);
    check_fn(
        "rows_generic",
        &[0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.2, -0.9],
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = rows_generic_jvp(&rows(p), &p[6..], &rows(t), &t[6..]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = rows_generic_vjp(&rows(p), &p[6..]);
            let (gm, gx) = pb(c[0]);
            let mut g = gm.concat();
            g.extend(gx);
            (vec![y], g)
        },
    );
}
