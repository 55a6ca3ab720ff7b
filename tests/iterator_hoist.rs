//! Reductions (`.sum()`, `.product()`, `.fold(..)`, `max_by(..).unwrap()`) computed where a
//! statement uses them become statements of the enclosing block (`front/hoist.rs`), as a hand
//! rewrite writes them, so that `_grad` runs their loops in one pass. Each case here checks, in
//! both modes and against finite differences and the dot-product test, that the value is std's
//! to the bit (the accumulator keeps std's start and order: `s += xs.iter().sum()` adds the sum,
//! not the items one by one), and the cases where the loop must stay where it is (a call
//! before it, a branch) give std's value too.
#![deny(warnings)]
#![allow(
    clippy::ptr_arg,
    clippy::needless_range_loop,
    clippy::assign_op_pattern
)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

/// Checks a `fn(&[f64]) -> f64` in all three modes (every value equal to the function's).
macro_rules! check_scalar {
    ($f:ident, $jvp:ident, $vjp:ident, $grad:ident, $x:expr) => {{
        let x: &[f64] = &$x;
        let y = $f(x);
        assert_eq!(
            $jvp(x, x).0.to_bits(),
            y.to_bits(),
            "{}: jvp value",
            stringify!($f)
        );
        assert_eq!(
            $vjp(x).0.to_bits(),
            y.to_bits(),
            "{}: vjp value",
            stringify!($f)
        );
        assert_eq!(
            $grad(x).0.to_bits(),
            y.to_bits(),
            "{}: grad value",
            stringify!($f)
        );
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

const XS: [f64; 6] = [0.3, -0.5, 0.8, 0.1, 0.65, -0.2];

// ---------------------------------------------------------------- positions that are hoisted

/// A dense layer's dot products inside expressions, the loss as the body's value.
#[differentiate]
fn layer(xs: &[f64]) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        h[i] = (0.1 * i as f64 + xs.iter().map(|v| v * (i as f64 + 0.5)).sum::<f64>()).tanh();
    }
    0.5 * h
        .iter()
        .zip(xs)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
}

/// Two reductions in one statement, both hoisted in order; one whose map body is a block.
#[differentiate]
fn two_in_one(xs: &[f64]) -> f64 {
    let a = xs.iter().map(|v| 1.0 + 0.1 * v).product::<f64>()
        * xs.iter()
            .map(|v| {
                let t = v * v;
                t + 0.5
            })
            .sum::<f64>();
    a + xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// `s += REDUCTION` adds the reduction's sum (std's order), not each item to `s`: with `s` =
/// 2^53 the items 1.0 would each be lost, their sum 2.0 is not.
#[differentiate]
fn add_assign_sum(xs: &[f64]) -> f64 {
    let mut s = 9007199254740992.0 * xs[0];
    s += xs.iter().map(|v| v * v).sum::<f64>();
    s -= xs.iter().map(|v| v * v).sum::<f64>();
    s = s + xs.iter().skip(1).map(|v| 2.0 * v).sum::<f64>();
    s
}

/// A reduction that is a branch's value, and one after a branch's condition.
#[differentiate]
fn in_branches(xs: &[f64]) -> f64 {
    let y = if xs[0] > 0.0 {
        xs.iter().map(|v| v.sin()).sum::<f64>()
    } else {
        xs[1]
    };
    let z: f64 = if y > 0.0 {
        xs.iter().map(|v| v * y).sum()
    } else {
        0.0
    };
    y + z
}

/// A reduction over windows and one in a `return`.
#[differentiate]
#[allow(clippy::needless_return)]
fn windows_return(xs: &[f64]) -> f64 {
    let s = 2.0 * xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>();
    if s > 100.0 {
        return s;
    }
    return s + xs.iter().map(|v| v.exp()).sum::<f64>();
}

/// A generic float type keeps `acc = acc + item` (`Float` has no `+=`).
#[differentiate]
fn generic<F: Float + std::iter::Sum>(xs: &[F]) -> F {
    let s: F = xs.iter().map(|&v| v * v).sum();
    s + xs.iter().map(|&v| v.sin()).sum::<F>()
}

fn generic64(xs: &[f64]) -> f64 {
    generic(xs)
}
fn generic64_jvp(xs: &[f64], t: &[f64]) -> (f64, f64) {
    generic_jvp(xs, t)
}
fn generic64_vjp(xs: &[f64]) -> (f64, impl FnOnce(f64) -> Vec<f64>) {
    generic_vjp(xs)
}
fn generic64_grad(xs: &[f64]) -> (f64, Vec<f64>) {
    generic_grad(xs)
}

#[test]
fn hoisted() {
    check_scalar!(layer, layer_jvp, layer_vjp, layer_grad, XS);
    check_scalar!(
        two_in_one,
        two_in_one_jvp,
        two_in_one_vjp,
        two_in_one_grad,
        XS
    );
    let big = [1.0, 1.0, 1.0, 0.5];
    check_scalar!(
        add_assign_sum,
        add_assign_sum_jvp,
        add_assign_sum_vjp,
        add_assign_sum_grad,
        big
    );
    // 2^53 + 3.25 rounds to 2^53 + 4, less 3.25 to 2^53, plus 5 (a tie) to 2^53 + 4; adding
    // the items one by one would give 2^53 - 3.
    assert_eq!(add_assign_sum(&big), 9007199254740996.0);
    check_scalar!(
        in_branches,
        in_branches_jvp,
        in_branches_vjp,
        in_branches_grad,
        XS
    );
    let neg = [-0.3, 0.5, 0.2];
    check_scalar!(
        in_branches,
        in_branches_jvp,
        in_branches_vjp,
        in_branches_grad,
        neg
    );
    check_scalar!(
        windows_return,
        windows_return_jvp,
        windows_return_vjp,
        windows_return_grad,
        XS
    );
    check_scalar!(generic64, generic64_jvp, generic64_vjp, generic64_grad, XS);
}

// ---------------------------------------------------------------- positions that are not

#[differentiate]
fn offset(x: f64) -> f64 {
    x * 0.5 + 1.0
}

/// A call before the reduction (it could have effects) and a reduction under `&&`.
#[differentiate]
fn after_call(xs: &[f64]) -> f64 {
    let y = offset(xs[0]) + xs.iter().map(|v| v * v).sum::<f64>();
    let ok = xs.len() > 2 && xs.iter().map(|v| v.abs()).sum::<f64>() > 0.5;
    if ok { y * 2.0 } else { y }
}

#[test]
fn not_hoisted() {
    check_scalar!(
        after_call,
        after_call_jvp,
        after_call_vjp,
        after_call_grad,
        XS
    );
}

// ---------------------------------------------------------------- element copies recomputed

/// `let q = a[i]` (what `for q in a.iter()` binds) inside a loop is read again from `a` by the
/// reverse sweep instead of being taped, when nothing after it in the loop's body writes `a`
/// (here `a` is written before it in the same body, and again after the loop: the reverse
/// restores that overwrite first); written after it, it is taped.
#[differentiate]
fn element_copies(xs: &[f64]) -> f64 {
    let mut a = [0.0; 6];
    let mut s = 0.0;
    for k in 0..3 {
        for j in 0..6 {
            a[j] = xs[j] * (k as f64 + 1.0) + a[j] * 0.5;
        }
        for q in a.iter() {
            s += q * q.sin();
        }
        for i in 0..6 {
            let q = a[i];
            a[i] = q * 0.25;
            s += q * q;
        }
        let t: f64 = a.iter().map(|v| v.exp()).sum();
        s += t;
    }
    for j in 0..6 {
        a[j] = 2.0 * a[j];
    }
    s + a.iter().map(|v| v * v).sum::<f64>()
}

#[test]
fn element_copies_recomputed() {
    check_scalar!(
        element_copies,
        element_copies_jvp,
        element_copies_vjp,
        element_copies_grad,
        XS
    );
}
