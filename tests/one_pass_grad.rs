//! `NAME_grad` runs top-level reduction loops whose bodies contain loops in one pass (forward and
//! reverse of each iteration together; see docs/SUBSET.md and autodiff-macros/src/fuse.rs), and
//! `NAME_vjp` keeps the two sweeps. Each function here is checked three ways: `_grad` against
//! `_vjp(..)(1.0)`, both against central finite differences, and `_grad`'s value against the
//! primal. The cases cover what must be done in one pass and what must not be.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::{Rng, check_grad_vjp};

const N: usize = 7;
const D: usize = 4;

/// One pass: a nested-loop reduction used linearly after the loop.
#[differentiate]
fn nested_sum(w: &[f64; D], x: &[[f64; D]; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        let mut h = [0.0; D];
        for j in 0..D {
            h[j] = (w[j] * x[i][j]).tanh();
        }
        let mut q = 0.0;
        for j in 0..D {
            q += h[j] * h[j];
        }
        s += q.sqrt() + 0.5 * x[i][0] * w[0];
    }
    0.5 * s + 1.0
}

/// One pass, two accumulators combined linearly, a divisor known before the loop.
#[differentiate]
fn two_accumulators(w: &[f64; D], x: &[[f64; D]; N]) -> f64 {
    let n = N as f64;
    let mut a = 0.0;
    let mut b = 0.0;
    for i in 0..N {
        let mut d = 0.0;
        for j in 0..D {
            d += (x[i][j] - w[j]) * (x[i][j] - w[j]);
        }
        a += d;
        b += d.exp();
    }
    let t = a - 2.0 * b;
    t / n
}

/// Not one pass: the accumulator is used nonlinearly after the loop.
#[differentiate]
fn log_of_sum(w: &[f64; D], x: &[[f64; D]; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        for j in 0..D {
            s += (w[j] * x[i][j]).exp();
        }
    }
    s.ln()
}

/// Not one pass: a value the loop reads is overwritten after it (its adjoint must not collect
/// the loop's contributions before the overwrite's reverse).
#[differentiate]
fn overwritten_after(w: &[f64; D], x: &[[f64; D]; N]) -> f64 {
    let mut v = [0.0; D];
    for j in 0..D {
        v[j] = w[j] * 2.0;
    }
    let mut s = 0.0;
    for i in 0..N {
        for j in 0..D {
            s += v[j] * x[i][j];
        }
    }
    v[0] = s * v[1];
    s + v[0] * v[0]
}

/// One pass with a branch and a running maximum inside (a log-sum-exp per row).
#[differentiate]
fn row_logsumexp(w: &[f64; D], x: &[[f64; D]; N]) -> f64 {
    let mut total = 0.0;
    for i in 0..N {
        let mut mx = 0.0;
        let mut se = 0.0;
        for j in 0..D {
            let z = w[j] * x[i][j];
            if j == 0 {
                mx = z;
                se = 1.0;
            } else if z > mx {
                se = se * (mx - z).exp() + 1.0;
                mx = z;
            } else {
                se += (z - mx).exp();
            }
        }
        total += mx + se.ln();
    }
    total
}

/// One pass over a slice with a per-row inner loop, returned as it is.
#[differentiate]
fn slice_rows(x: &[f64]) -> f64 {
    let rows = x.len() / D;
    let mut s = 0.0;
    for r in 0..rows {
        let mut p = 1.0;
        for j in 0..D {
            p *= x[r * D + j].sin() + 2.0;
        }
        s += p;
    }
    s
}

type Pair = ([f64; D], [[f64; D]; N]);

fn unflat(v: &[f64]) -> Pair {
    let mut w = [0.0; D];
    let mut x = [[0.0; D]; N];
    w.copy_from_slice(&v[..D]);
    for i in 0..N {
        x[i].copy_from_slice(&v[D + i * D..D + (i + 1) * D]);
    }
    (w, x)
}

fn flat(gw: &[f64; D], gx: &[[f64; D]; N]) -> Vec<f64> {
    let mut v = gw.to_vec();
    for r in gx {
        v.extend_from_slice(r);
    }
    v
}

macro_rules! pair_case {
    ($test:ident, $f:ident, $grad:ident, $vjp:ident) => {
        #[test]
        fn $test() {
            let mut rng = Rng::new(stringify!($f).len() as u64);
            for _ in 0..5 {
                let v: Vec<f64> = rng.vec(D + N * D).iter().map(|a| 0.8 * a).collect();
                check_grad_vjp(
                    stringify!($f),
                    &|v| {
                        let (w, x) = unflat(v);
                        $f(&w, &x)
                    },
                    &|v| {
                        let (w, x) = unflat(v);
                        let (y, (gw, gx)) = $grad(&w, &x);
                        (y, flat(&gw, &gx))
                    },
                    &|v| {
                        let (w, x) = unflat(v);
                        let (y, pb) = $vjp(&w, &x);
                        let (gw, gx) = pb(1.0);
                        (y, flat(&gw, &gx))
                    },
                    &v,
                );
            }
        }
    };
}

pair_case!(
    nested_sum_in_one_pass,
    nested_sum,
    nested_sum_grad,
    nested_sum_vjp
);
pair_case!(
    two_accumulators_in_one_pass,
    two_accumulators,
    two_accumulators_grad,
    two_accumulators_vjp
);
pair_case!(
    log_of_sum_keeps_two_sweeps,
    log_of_sum,
    log_of_sum_grad,
    log_of_sum_vjp
);
pair_case!(
    overwrite_after_keeps_two_sweeps,
    overwritten_after,
    overwritten_after_grad,
    overwritten_after_vjp
);
pair_case!(
    branchy_rows_in_one_pass,
    row_logsumexp,
    row_logsumexp_grad,
    row_logsumexp_vjp
);

#[test]
fn slice_rows_in_one_pass() {
    let mut rng = Rng::new(11);
    for rows in [0usize, 1, 3, 6] {
        let x = rng.vec(rows * D);
        check_grad_vjp(
            "slice_rows",
            &|x| slice_rows(x),
            &|x| slice_rows_grad(x),
            &|x| {
                let (y, pb) = slice_rows_vjp(x);
                (y, pb(1.0))
            },
            &x,
        );
    }
}

/// One pass with window registers: a second difference reads `x[i]`, `x[i + 1]`, `x[i + 2]`,
/// and each element's adjoint is written once.
#[differentiate]
fn second_difference(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 2 {
        let d = x[i + 2] - 2.0 * x[i + 1] + x[i];
        s += d * d + x[i + 1].sin();
    }
    s
}

/// One pass where the loop runs past the end of `x` and a branch keeps it in bounds: the
/// window's flush must not touch the adjoint past the end.
#[differentiate]
fn guarded(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() + 3 {
        if i < x.len() {
            s += x[i] * x[i];
        }
    }
    2.0 * s
}

#[test]
fn windows_in_one_pass() {
    let mut rng = Rng::new(5);
    for n in [3usize, 4, 9] {
        let x = rng.vec(n);
        check_grad_vjp(
            "second_difference",
            &|x| second_difference(x),
            &|x| second_difference_grad(x),
            &|x| {
                let (y, pb) = second_difference_vjp(x);
                (y, pb(1.0))
            },
            &x,
        );
    }
    for n in [0usize, 1, 5] {
        let x = rng.vec(n);
        check_grad_vjp(
            "guarded",
            &|x| guarded(x),
            &|x| guarded_grad(x),
            &|x| {
                let (y, pb) = guarded_vjp(x);
                (y, pb(1.0))
            },
            &x,
        );
    }
}

/// An array read through a window (`x[i]`) and passed whole to a call in the same one-pass loop:
/// the call's adjoint is added to every element while the window's registers are pending, so
/// the array rides in no window (a flush would have stored over the call's contribution).
#[differentiate]
fn window_and_whole_call(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += x[i] * window_helper(x);
    }
    s
}

#[differentiate]
fn window_helper(x: &[f64]) -> f64 {
    x[0] * x[1] + x[2].sin()
}

#[test]
fn window_and_whole_array_call() {
    let x = [0.3, 0.7, -0.4];
    check_grad_vjp(
        "window_and_whole_call",
        &|x| window_and_whole_call(x),
        &|x| window_and_whole_call_grad(x),
        &|x| {
            let (y, pb) = window_and_whole_call_vjp(x);
            (y, pb(1.0))
        },
        &x,
    );
}
