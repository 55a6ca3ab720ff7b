//! Calls of functions and methods with `&mut` parameters from differentiated bodies (docs/API.md,
//! "`&mut` parameters"; docs/SUBSET.md): `predict(&mut x, &mut p, ..)`, an optimiser's step in a
//! loop, `s.observe(z)` with `&mut self` on a local, an `&mut` parameter passed on, elements and
//! fields passed by `&mut`, outputs discarded or `()`. A call writing through `&mut` is an
//! assignment (`let (y, s') = f(s, ..); s = s';`). Both modes against central finite differences
//! and the dot-product identity (`common::check_fn`), and `_grad` against `_vjp`.
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]
// `parts` binds the `()` output of a call through `&mut` to a name on purpose.
#![allow(clippy::let_unit_value)]
// `y = y * x` is the generic-code form the other test files write too; `struct_swaps` and
// `vec_moves` swap by hand on purpose (the moves are what they test).
#![allow(clippy::assign_op_pattern, clippy::manual_swap)]

mod common;

use autodiff::prelude::*;
use common::{Pair, check_fn, check_grad_vjp};

// --- a Kalman filter over a few measurements --------------------------------------------------

/// The prediction of a constant-velocity model: `x <- F x`, `p <- F p F^T + Q` (`Q` on the
/// diagonal). Returns nothing: it only updates `x` and `p`.
#[differentiate]
fn predict(x: &mut [f64; 2], p: &mut [[f64; 2]; 2], dt: f64, q: f64) {
    x[0] += dt * x[1];
    let p00 = p[0][0] + dt * (p[1][0] + p[0][1]) + dt * dt * p[1][1] + q;
    let p01 = p[0][1] + dt * p[1][1];
    let p10 = p[1][0] + dt * p[1][1];
    p[0][0] = p00;
    p[0][1] = p01;
    p[1][0] = p10;
    p[1][1] += q;
}

/// The update with a measurement `z` of the position (noise `r`); returns the innovation's
/// negative log-likelihood (up to a constant).
#[differentiate]
fn update(x: &mut [f64; 2], p: &mut [[f64; 2]; 2], z: f64, r: f64) -> f64 {
    let innov = z - x[0];
    let s = p[0][0] + r;
    let k0 = p[0][0] / s;
    let k1 = p[1][0] / s;
    x[0] += k0 * innov;
    x[1] += k1 * innov;
    let (p00, p01) = (p[0][0], p[0][1]);
    *p = [
        [(1.0 - k0) * p00, (1.0 - k0) * p01],
        [p[1][0] - k1 * p00, p[1][1] - k1 * p01],
    ];
    0.5 * (innov * innov / s + s.ln())
}

/// The filter's total negative log-likelihood: its state is local, each step calls `predict`
/// and `update` on it.
#[differentiate]
fn kalman_nll(x0: &[f64; 2], zs: &[f64; 4], q: f64, r: f64, dt: f64) -> f64 {
    let mut x = *x0;
    let mut p = [[1.0, 0.0], [0.0, 1.0]];
    let mut nll = 0.0;
    for k in 0..4 {
        predict(&mut x, &mut p, dt, q);
        nll += update(&mut x, &mut p, zs[k], r);
    }
    nll + 0.1 * x[1] * p[0][0]
}

/// One step with the state passed on: `&mut` parameters given to calls, in both spellings.
#[differentiate]
fn filter_step(x: &mut [f64; 2], p: &mut [[f64; 2]; 2], z: f64, q: f64, r: f64) -> f64 {
    predict(x, p, 0.5, q);
    update(&mut *x, &mut *p, z, r)
}

fn kalman_at() -> Vec<f64> {
    vec![0.3, -0.2, 0.5, 0.9, 1.7, 2.2, 0.05, 0.4, 0.8]
}

#[test]
fn kalman_filter_calls_predict_and_update() {
    let split = |v: &[f64]| ([v[0], v[1]], [v[2], v[3], v[4], v[5]], v[6], v[7], v[8]);
    let f = |v: &[f64]| {
        let (x0, zs, q, r, dt) = split(v);
        vec![kalman_nll(&x0, &zs, q, r, dt)]
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (x0, zs, q, r, dt) = split(v);
        let (x0d, zsd, qd, rd, dtd) = split(t);
        let (y, yd) = kalman_nll_jvp(&x0, &zs, q, r, dt, &x0d, &zsd, qd, rd, dtd);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (x0, zs, q, r, dt) = split(v);
        let (y, pb) = kalman_nll_vjp(&x0, &zs, q, r, dt);
        let (ax, az, aq, ar, adt) = pb(c[0]);
        let mut a = ax.to_vec();
        a.extend(az);
        a.extend([aq, ar, adt]);
        (vec![y], a)
    };
    check_fn("kalman_nll", &kalman_at(), &f, &jvp, &vjp);
    check_grad_vjp(
        "kalman_nll",
        &|v| f(v)[0],
        &|v| {
            let (x0, zs, q, r, dt) = split(v);
            let (y, (ax, az, aq, ar, adt)) = kalman_nll_grad(&x0, &zs, q, r, dt);
            let mut a = ax.to_vec();
            a.extend(az);
            a.extend([aq, ar, adt]);
            (y, a)
        },
        &|v| {
            let (y, a) = vjp(v, &[1.0]);
            (y[0], a)
        },
        &kalman_at(),
    );
}

#[test]
fn mut_params_passed_on() {
    let at = [0.3, -0.2, 0.9, 0.1, 0.2, 0.7, 1.1, 0.05, 0.4];
    let split = |v: &[f64]| ([v[0], v[1]], [[v[2], v[3]], [v[4], v[5]]], v[6], v[7], v[8]);
    let flat = |y: f64, x: &[f64; 2], p: &[[f64; 2]; 2]| {
        vec![y, x[0], x[1], p[0][0], p[0][1], p[1][0], p[1][1]]
    };
    let f = |v: &[f64]| {
        let (mut x, mut p, z, q, r) = split(v);
        let y = filter_step(&mut x, &mut p, z, q, r);
        flat(y, &x, &p)
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (mut x, mut p, z, q, r) = split(v);
        let (mut xd, mut pd, zd, qd, rd) = split(t);
        let (y, yd) = filter_step_jvp(&mut x, &mut p, z, q, r, &mut xd, &mut pd, zd, qd, rd);
        (flat(y, &x, &p), flat(yd, &xd, &pd))
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (mut x, mut p, z, q, r) = split(v);
        let (y, pb) = filter_step_vjp(&mut x, &mut p, z, q, r);
        let (ax, ap, az, aq, ar) = pb(c[0], [c[1], c[2]], [[c[3], c[4]], [c[5], c[6]]]);
        let mut a = vec![ax[0], ax[1], ap[0][0], ap[0][1], ap[1][0], ap[1][1]];
        a.extend([az, aq, ar]);
        (flat(y, &x, &p), a)
    };
    check_fn("filter_step", &at, &f, &jvp, &vjp);
}

// --- an optimiser's loop calling an `&mut` step --------------------------------------------------

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Lin {
    w: [f64; 2],
    b: f64,
}

/// A heavy-ball step on a linear model's squared error at `(x, y)`: `p` and the momentum `m`
/// updated in place; returns the loss before the step.
#[differentiate]
fn step(p: &mut Lin, m: &mut Lin, x: &[f64; 2], y: f64, lr: f64) -> f64 {
    let e = p.w[0] * x[0] + p.w[1] * x[1] + p.b - y;
    for i in 0..2 {
        m.w[i] = 0.5 * m.w[i] + e * x[i];
        p.w[i] -= lr * m.w[i];
    }
    m.b = 0.5 * m.b + e;
    p.b -= lr * m.b;
    0.5 * e * e
}

/// Trains from `p0` for three passes over the data (the step's loss discarded on the last one),
/// and returns the final loss on the first point plus the last pass's: the meta-gradient with
/// respect to the data, the start and the learning rate.
#[differentiate]
fn train(p0: &Lin, xs: &[[f64; 2]; 3], ys: &[f64; 3], lr: f64) -> f64 {
    let mut p = Lin { w: p0.w, b: p0.b };
    let mut m = Lin {
        w: [0.0, 0.0],
        b: 0.0,
    };
    let mut last = 0.0;
    for k in 0..3 {
        last += step(&mut p, &mut m, &xs[k], ys[k], lr);
    }
    for k in 0..3 {
        step(&mut p, &mut m, &xs[k], ys[k], lr);
    }
    let e = p.w[0] * xs[0][0] + p.w[1] * xs[0][1] + p.b - ys[0];
    last + e * e
}

#[test]
fn optimiser_loop_calls_an_mut_step() {
    let at = [
        0.2, -0.1, 0.05, 1.0, 0.5, -0.3, 1.2, 0.7, 0.4, 0.9, -0.2, 0.3, 0.1,
    ];
    let split = |v: &[f64]| {
        (
            Lin {
                w: [v[0], v[1]],
                b: v[2],
            },
            [[v[3], v[4]], [v[5], v[6]], [v[7], v[8]]],
            [v[9], v[10], v[11]],
            v[12],
        )
    };
    let flat = |p: &Lin, xs: &[[f64; 2]; 3], ys: &[f64; 3], lr: f64| {
        let mut a = vec![p.w[0], p.w[1], p.b];
        for x in xs {
            a.extend(x);
        }
        a.extend(ys);
        a.push(lr);
        a
    };
    let f = |v: &[f64]| {
        let (p, xs, ys, lr) = split(v);
        vec![train(&p, &xs, &ys, lr)]
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (p, xs, ys, lr) = split(v);
        let (pd, xsd, ysd, lrd) = split(t);
        let (y, yd) = train_jvp(&p, &xs, &ys, lr, &pd, &xsd, &ysd, lrd);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (p, xs, ys, lr) = split(v);
        let (y, pb) = train_vjp(&p, &xs, &ys, lr);
        let (ap, axs, ays, alr) = pb(c[0]);
        (vec![y], flat(&ap, &axs, &ays, alr))
    };
    check_fn("train", &at, &f, &jvp, &vjp);
    check_grad_vjp(
        "train",
        &|v| f(v)[0],
        &|v| {
            let (p, xs, ys, lr) = split(v);
            let (y, (ap, axs, ays, alr)) = train_grad(&p, &xs, &ys, lr);
            (y, flat(&ap, &axs, &ays, alr))
        },
        &|v| {
            let (y, a) = vjp(v, &[1.0]);
            (y[0], a)
        },
        &at,
    );
}

// --- methods taking `&mut self` on a local -----------------------------------------------------

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Holt {
    level: f64,
    trend: f64,
}

impl Holt {
    /// Holt's linear smoothing step: the state updated in place, the squared one-step error
    /// returned.
    #[differentiate]
    fn observe(&mut self, z: f64, alpha: f64) -> f64 {
        let forecast = self.level + self.trend;
        let err = z - forecast;
        let level = forecast + alpha * err;
        self.trend += 0.5 * (level - self.level - self.trend);
        self.level = level;
        err * err
    }

    /// The `h`-step forecast: reads the state only (`&self`).
    #[differentiate]
    fn forecast(&self, h: f64) -> f64 {
        self.level + h * self.trend
    }

    /// Two observations through `self` (a `&mut self` method calling another on `self`), and
    /// a forecast between them on the same receiver.
    #[differentiate]
    fn observe_twice(&mut self, z: f64, alpha: f64) -> f64 {
        let a = self.observe(z, alpha);
        let f = self.forecast(2.0);
        self.observe(z + f * 0.1, alpha) + a
    }
}

/// Smooths a series with a local filter: `s.observe(..)` writes `s`, `s.forecast(..)` reads it.
#[differentiate]
fn smooth(zs: &[f64; 4], l0: f64, alpha: f64) -> f64 {
    let mut s = Holt {
        level: l0,
        trend: 0.0,
    };
    let mut sse = 0.0;
    for k in 0..4 {
        sse += s.observe(zs[k], alpha);
    }
    s.observe_twice(zs[3], alpha);
    sse + s.forecast(3.0)
}

#[test]
fn mut_self_methods_on_a_local() {
    let at = [1.0, 1.4, 1.1, 1.9, 0.8, 0.35];
    let f = |v: &[f64]| vec![smooth(&[v[0], v[1], v[2], v[3]], v[4], v[5])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = smooth_jvp(
            &[v[0], v[1], v[2], v[3]],
            v[4],
            v[5],
            &[t[0], t[1], t[2], t[3]],
            t[4],
            t[5],
        );
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = smooth_vjp(&[v[0], v[1], v[2], v[3]], v[4], v[5]);
        let (az, al, aa) = pb(c[0]);
        (vec![y], vec![az[0], az[1], az[2], az[3], al, aa])
    };
    check_fn("smooth", &at, &f, &jvp, &vjp);
}

#[test]
fn mut_self_method_calling_methods_on_self() {
    let at = [0.5, 0.2, 1.1, 0.3];
    let state = |v: &[f64]| Holt {
        level: v[0],
        trend: v[1],
    };
    let f = |v: &[f64]| {
        let mut s = state(v);
        let e = s.observe_twice(v[2], v[3]);
        vec![e, s.level, s.trend]
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let mut s = state(v);
        let mut sd = state(t);
        let (e, ed) = s.observe_twice_jvp(v[2], v[3], &mut sd, t[2], t[3]);
        (vec![e, s.level, s.trend], vec![ed, sd.level, sd.trend])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let mut s = state(v);
        let (e, pb) = s.observe_twice_vjp(v[2], v[3]);
        let (a, az, aa) = pb(c[0], state(&c[1..]));
        (vec![e, s.level, s.trend], vec![a.level, a.trend, az, aa])
    };
    check_fn("Holt::observe_twice", &at, &f, &jvp, &vjp);
}

// --- scalars, elements, fields, `()` outputs, generic code ---------------------------------------

/// Adds `x^2` to an accumulator and returns the old value.
#[differentiate]
fn add_square(acc: &mut f64, x: f64) -> f64 {
    let old = *acc;
    *acc += x * x;
    old
}

/// Scales in place; returns nothing.
#[differentiate]
fn scale(v: &mut f64, k: f64) {
    *v *= k;
}

/// `&mut` of a scalar local, of an array element and of a struct field; outputs discarded,
/// bound, and `()` bound to a name.
#[differentiate]
fn parts(a: f64, b: f64, xs: &[f64; 3]) -> f64 {
    let mut acc = a;
    add_square(&mut acc, b);
    let old = add_square(&mut acc, xs[0]);
    let mut v = [a, b, xs[1]];
    scale(&mut v[1], acc);
    let unit = scale(&mut v[2], b);
    let _ = unit;
    let mut h = Holt {
        level: xs[2],
        trend: a,
    };
    add_square(&mut h.trend, v[1]);
    scale(&mut h.level, old);
    acc * v[1] + v[2] + h.level * h.trend + old
}

#[test]
fn scalars_elements_fields_and_unit_outputs() {
    let at = [0.7, -0.4, 0.3, 1.2, -0.9];
    let f = |v: &[f64]| vec![parts(v[0], v[1], &[v[2], v[3], v[4]])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = parts_jvp(
            v[0],
            v[1],
            &[v[2], v[3], v[4]],
            t[0],
            t[1],
            &[t[2], t[3], t[4]],
        );
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = parts_vjp(v[0], v[1], &[v[2], v[3], v[4]]);
        let (aa, ab, axs) = pb(c[0]);
        (vec![y], vec![aa, ab, axs[0], axs[1], axs[2]])
    };
    check_fn("parts", &at, &f, &jvp, &vjp);
}

#[differentiate]
fn damp<F: Float>(v: &mut [F; 2], k: F) -> F {
    v[0] = v[0] * k;
    v[1] = v[1] * k.exp();
    v[0] + v[1]
}

/// Generic code calling a generic `&mut` function in a loop.
#[differentiate]
fn damp_all<F: Float>(x: &[F; 2], k: F) -> F {
    let mut v = *x;
    let mut s = F::zero();
    for _ in 0..3 {
        s = s + damp(&mut v, k);
    }
    s * v[0]
}

#[test]
fn generic_calls() {
    let at = [0.4, -0.7, 0.3];
    let f = |v: &[f64]| vec![damp_all(&[v[0], v[1]], v[2])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = damp_all_jvp(&[v[0], v[1]], v[2], &[t[0], t[1]], t[2]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = damp_all_vjp(&[v[0], v[1]], v[2]);
        let (ax, ak) = pb(c[0]);
        (vec![y], vec![ax[0], ax[1], ak])
    };
    check_fn("damp_all", &at, &f, &jvp, &vjp);
    // And on duals: forward over reverse.
    let (_, (g, _)) = damp_all_grad::<autodiff::Dual<f64>>(
        &[
            autodiff::Dual::new(0.4, 1.0),
            autodiff::Dual::new(-0.7, 0.0),
        ],
        autodiff::Dual::new(0.3, 0.0),
    );
    let h = 1e-6;
    let fd = (damp_all_grad(&[0.4 + h, -0.7], 0.3).1.0[0]
        - damp_all_grad(&[0.4 - h, -0.7], 0.3).1.0[0])
        / (2.0 * h);
    assert!(
        (g[0].tangent() - fd).abs() < 1e-6,
        "{} vs {fd}",
        g[0].tangent()
    );
}

// --- old values the reverse sweep reads: saved before the call -----------------------------------

/// Each iteration reads the state nonlinearly before the call overwrites it (`x[0].sin()`,
/// `p[0][0] * p[1][1]`), so the forward sweep saves the state before each call; a branch on the
/// state too; a method on a local struct read before and after.
#[differentiate]
fn reads_before_overwrite(x0: &[f64; 2], q: f64, dt: f64, z: f64) -> f64 {
    let mut x = *x0;
    let mut p = [[1.0, 0.1], [0.1, 1.0]];
    let mut s = 0.0;
    for _ in 0..3 {
        s += x[0].sin() * (p[0][0] * p[1][1]).sqrt();
        if x[1] > 0.0 {
            predict(&mut x, &mut p, dt, q);
        } else {
            s += update(&mut x, &mut p, z, q);
        }
        s += x[1] * x[1];
    }
    let mut h = Holt {
        level: x[0],
        trend: x[1],
    };
    let before = h.level.exp();
    h.observe(z, 0.3);
    s + before * h.level + h.trend.cos()
}

#[test]
fn saves_before_the_call() {
    let f = |v: &[f64]| vec![reads_before_overwrite(&[v[0], v[1]], v[2], v[3], v[4])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = reads_before_overwrite_jvp(
            &[v[0], v[1]],
            v[2],
            v[3],
            v[4],
            &[t[0], t[1]],
            t[2],
            t[3],
            t[4],
        );
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = reads_before_overwrite_vjp(&[v[0], v[1]], v[2], v[3], v[4]);
        let (ax, aq, adt, az) = pb(c[0]);
        (vec![y], vec![ax[0], ax[1], aq, adt, az])
    };
    // Both branches: the velocity's sign decides.
    for at in [[0.3, 0.4, 0.2, 0.5, 0.7], [0.3, -0.4, 0.2, 0.5, 0.7]] {
        check_fn("reads_before_overwrite", &at, &f, &jvp, &vjp);
    }
}

// --- order of evaluation: a place read before a call that writes it -------------------------------

#[differentiate]
fn weigh(u: f64, v: f64) -> f64 {
    u * v.cos()
}

/// Rust reads `s.level` before `s.observe(..)` runs and `x[0]` after `add_square(&mut x[0], ..)`
/// returns: operands, rule arguments and call arguments keep that order.
#[differentiate]
fn reads_around_calls(a: f64, b: f64) -> f64 {
    let mut s = Holt { level: a, trend: b };
    let e = s.level * s.observe(b, 0.4) + s.trend;
    let mut x = [a, b];
    let y = (x[0] * 2.0).sin() + add_square(&mut x[0], b) * x[0];
    let m = x[1].max(add_square(&mut x[1], a));
    let w = weigh(x[0], add_square(&mut x[0], 0.5));
    let t = (x[1], add_square(&mut x[1], e));
    e + y + m + w + t.0 * t.1 + x[0] * x[1]
}

#[test]
fn reads_before_a_call_keep_their_order() {
    let at = [0.7, -0.4];
    let f = |v: &[f64]| vec![reads_around_calls(v[0], v[1])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = reads_around_calls_jvp(v[0], v[1], t[0], t[1]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = reads_around_calls_vjp(v[0], v[1]);
        let (a, b) = pb(c[0]);
        (vec![y], vec![a, b])
    };
    check_fn("reads_around_calls", &at, &f, &jvp, &vjp);
}

// --- `Copy` state, receivers taken by value ---------------------------------------------------

#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct Pt {
    p: f64,
    q: f64,
}

impl Pt {
    /// `&mut self` on a `Copy` struct: the nested pullback copies what it captures (an `FnMut`
    /// closure; it was called through a binding that is not `mut`: E0596 in emitted code).
    #[differentiate]
    fn nudge(&mut self, z: f64) -> f64 {
        let e = z - self.p;
        self.p += 0.5 * e;
        self.q *= e.cos();
        e * e
    }

    /// By value.
    #[differentiate]
    fn moved(self, d: f64) -> Pt {
        Pt {
            p: self.p + d,
            q: self.q * d,
        }
    }
}

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Owned {
    level: f64,
    trend: f64,
}

impl Owned {
    /// By value, on a type that is not `Copy`.
    #[differentiate]
    fn shifted(self, d: f64) -> Owned {
        Owned {
            level: self.level + d,
            trend: self.trend,
        }
    }
}

#[differentiate]
fn owned_sq(h: Owned) -> f64 {
    h.level * h.trend
}

/// A `Copy` state through `&mut self` and by value; a non-`Copy` struct moved into a call (a
/// method taking `self`, a function taking it by value) after the reverse sweep needs it
/// (`s.trend * a`): the forward sweep passes a copy (it moved the value the pullback captures:
/// E0382 in emitted code).
#[differentiate]
fn copies_and_moves(a: f64, b: f64) -> f64 {
    let mut c = Pt { p: a, q: b };
    let e = c.nudge(b * a);
    let m = c.moved(a);
    let s = Owned {
        level: a,
        trend: 0.5 * b,
    };
    let x = s.trend * a;
    let t = s.shifted(a);
    let u = Owned {
        level: a * b,
        trend: 0.5,
    };
    let z = u.level.sin();
    let y = owned_sq(u);
    e + m.p * m.q + c.q + x + t.level * b + y + z
}

#[test]
fn copy_state_and_moved_receivers() {
    let at = [0.6, -0.3];
    let f = |v: &[f64]| vec![copies_and_moves(v[0], v[1])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = copies_and_moves_jvp(v[0], v[1], t[0], t[1]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = copies_and_moves_vjp(v[0], v[1]);
        let (a, b) = pb(c[0]);
        (vec![y], vec![a, b])
    };
    check_fn("copies_and_moves", &at, &f, &jvp, &vjp);
    let mut c = Pt { p: 0.2, q: 0.7 };
    let (e, (g, gz)) = c.nudge_grad(0.9);
    assert_eq!(
        c,
        Pt {
            p: 0.55,
            q: 0.7 * 0.7f64.cos()
        }
    );
    assert!((e - 0.49).abs() < 1e-15 && (gz - 1.4).abs() < 1e-15 && (g.p + 1.4).abs() < 1e-15);
}

/// A non-`Copy` state read before each call that writes it: the forward sweep saves a copy (it
/// moved the state onto the tape before the call: E0382 in emitted code).
#[differentiate]
fn saved_struct(zs: &[f64; 3], a: f64) -> f64 {
    let mut s = Holt {
        level: a,
        trend: 0.1,
    };
    let mut acc = 0.0;
    for k in 0..3 {
        acc += s.level.sin() * s.trend;
        s.observe(zs[k], 0.3);
    }
    acc * s.level
}

#[test]
fn saved_non_copy_state() {
    let at = [0.4, -0.2, 0.9, 0.5];
    let f = |v: &[f64]| vec![saved_struct(&[v[0], v[1], v[2]], v[3])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = saved_struct_jvp(&[v[0], v[1], v[2]], v[3], &[t[0], t[1], t[2]], t[3]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = saved_struct_vjp(&[v[0], v[1], v[2]], v[3]);
        let (az, aa) = pb(c[0]);
        (vec![y], vec![az[0], az[1], az[2], aa])
    };
    check_fn("saved_struct", &at, &f, &jvp, &vjp);
}

// --- std::mem::swap and std::mem::replace of places ---------------------------------------------

/// A leapfrog of two buffers swapped each step, an element swap, and the old value kept by
/// `replace` (`desugar::mem_calls`: the assignments they make).
#[differentiate]
fn swaps(x: [f64; 3], k: f64) -> f64 {
    let mut cur = x;
    let mut next = [0.0; 3];
    let mut acc = 0.0;
    for _ in 0..3 {
        for i in 0..3 {
            next[i] = cur[i] * k + cur[(i + 1) % 3].sin();
        }
        std::mem::swap(&mut cur, &mut next);
        let halved = acc * 0.5 + cur[0];
        let old = std::mem::replace(&mut acc, halved);
        acc += 0.1 * old;
    }
    let mut first = cur[0];
    core::mem::swap(&mut first, &mut cur[2]);
    cur[0] = first;
    let mut s = cur[0] * 2.0;
    let sq = s * s;
    let prev = std::mem::replace(&mut s, sq);
    acc + s + prev * cur[1] - cur[2]
}

#[test]
fn mem_swap_and_replace() {
    let f = |p: &[f64]| swaps([p[0], p[1], p[2]], p[3]);
    for x in [[0.3, -0.8, 1.1, 0.7], [1.2, 0.4, -0.5, -0.9]] {
        check_fn(
            "swaps",
            &x,
            &|p| vec![f(p)],
            &|p, t| {
                let (y, d) = swaps_jvp([p[0], p[1], p[2]], p[3], [t[0], t[1], t[2]], t[3]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = swaps_vjp([p[0], p[1], p[2]], p[3]);
                let (gx, gk) = pb(c[0]);
                (vec![y], vec![gx[0], gx[1], gx[2], gk])
            },
        );
        check_grad_vjp(
            "swaps",
            &f,
            &|p| {
                let (y, (gx, gk)) = swaps_grad([p[0], p[1], p[2]], p[3]);
                (y, vec![gx[0], gx[1], gx[2], gk])
            },
            &|p| {
                let (y, pb) = swaps_vjp([p[0], p[1], p[2]], p[3]);
                let (gx, gk) = pb(1.0);
                (y, vec![gx[0], gx[1], gx[2], gk])
            },
            &x,
        );
    }
}

// --- found by the fuzzer ----------------------------------------------------------------------

/// An `&mut` struct parameter and early returns: the inner function returns `(y, s)` at each
/// `return`, and the reverse sweep, which runs on past a `return` (guarded by flags), built and
/// re-ran that tuple moving `s` (E0382 in emitted code; fuzzer seed 1:39).
#[differentiate]
fn early_returns(s: &mut Lin, x: f64) -> f64 {
    if s.b > 1.0 {
        return s.w[0] * x;
    }
    s.b = s.b * x + s.w[1];
    if s.b.sin() > 0.9 {
        return s.w[1];
    }
    s.w[0] = s.b.cos() * x;
    s.b * s.w[0]
}

#[test]
fn mut_struct_param_with_early_returns() {
    for at in [
        [0.3, 0.2, 1.5, 0.7],
        [0.3, 0.2, 0.5, 0.7],
        [0.3, 1.9, 0.6, 1.1],
    ] {
        let split = |v: &[f64]| {
            (
                Lin {
                    w: [v[0], v[1]],
                    b: v[2],
                },
                v[3],
            )
        };
        let flat = |y: f64, s: &Lin| vec![y, s.w[0], s.w[1], s.b];
        let f = |v: &[f64]| {
            let (mut s, x) = split(v);
            let y = early_returns(&mut s, x);
            flat(y, &s)
        };
        let jvp = |v: &[f64], t: &[f64]| -> Pair {
            let (mut s, x) = split(v);
            let (mut sd, xd) = split(t);
            let (y, yd) = early_returns_jvp(&mut s, x, &mut sd, xd);
            (flat(y, &s), flat(yd, &sd))
        };
        let vjp = |v: &[f64], c: &[f64]| -> Pair {
            let (mut s, x) = split(v);
            let (y, pb) = early_returns_vjp(&mut s, x);
            let (cs, _) = split(&[c[1], c[2], c[3], 0.0]);
            let (a, ax) = pb(c[0], cs);
            (flat(y, &s), vec![a.w[0], a.w[1], a.b, ax])
        };
        check_fn("early_returns", &at, &f, &jvp, &vjp);
    }
}

#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct Mm {
    a: f64,
    b: f64,
}

impl Mm {
    #[differentiate]
    fn push(&mut self, v: f64) -> f64 {
        let old = self.a;
        self.a = 0.5 * self.a + v * self.b;
        self.b *= v.cos();
        old * v
    }
}

/// `m.push(m.b)`: the receiver's borrow is two-phase, so the argument reads `m.b` first; the
/// forward mode passes `&mut m__dot` explicitly, so the argument's tangent `m__dot.b` is read
/// before the call (E0502 in emitted code; fuzzer seed 1:23).
#[differentiate]
fn two_phase(a: f64, b: f64) -> f64 {
    let mut m = Mm { a, b };
    let r = m.push(m.b);
    r + m.a * m.push(m.a)
}

#[test]
fn receiver_read_by_its_own_arguments() {
    let f = |v: &[f64]| vec![two_phase(v[0], v[1])];
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (y, yd) = two_phase_jvp(v[0], v[1], t[0], t[1]);
        (vec![y], vec![yd])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (y, pb) = two_phase_vjp(v[0], v[1]);
        let (a, b) = pb(c[0]);
        (vec![y], vec![a, b])
    };
    check_fn("two_phase", &[0.4, 0.9], &f, &jvp, &vjp);
}

/// An `&mut` struct parameter left out of `wrt`, returned with the output from inside a loop:
/// the forward mode moved it into the output tuple before making its zero tangent, the reverse
/// mode into `__ret` on an earlier iteration of the loop it runs on past the `return` (E0382
/// in emitted code; fuzzer seed 1:62).
#[differentiate(wrt(x))]
fn passive_state_returned(x: f64, k: &mut Lin) -> f64 {
    let mut y = x * 2.0;
    for _ in 0..3 {
        if y > 1.0 {
            return stop_gradient(k.b) * y;
        }
        y = y * x;
        k.b += 1.0;
    }
    y + k.b
}

#[test]
fn passive_mut_state_returned_in_a_loop() {
    for x in [0.3, 0.7, 1.3] {
        let state = || Lin {
            w: [0.0, 0.0],
            b: 0.5,
        };
        let mut k = state();
        let y = passive_state_returned(x, &mut k);
        let mut k1 = state();
        let (y1, d) = passive_state_returned_jvp(x, &mut k1, 1.0);
        let mut k2 = state();
        let (y2, g) = passive_state_returned_grad(x, &mut k2);
        assert_eq!((y, &k), (y1, &k1));
        assert_eq!((y, &k), (y2, &k2));
        let h = 1e-6;
        let fd = (passive_state_returned(x + h, &mut state())
            - passive_state_returned(x - h, &mut state()))
            / (2.0 * h);
        assert!(
            (d - fd).abs() < 1e-6 && (g - d).abs() < 1e-12,
            "{x}: {d} {g} {fd}"
        );
    }
}

/// Closure parameters, `for` patterns and `match` arms reusing the name of an `&mut` parameter
/// bind their own `v` (refused as a rebinding before; fuzzer seed 2:51).
#[differentiate]
fn shadowed_names(v: &mut [f64; 2], xs: &[f64; 3], k: usize) -> f64 {
    let s =
        xs.iter().map(|v| v * 0.5).sum::<f64>() * xs.iter().filter(|v| **v > 0.0).count() as f64;
    for v in 0..2 {
        let _ = v;
    }
    let m = match k {
        0 => 1.0,
        v => v as f64,
    };
    v[0] = v[1] * s + m;
    v[0] * v[1]
}

#[test]
fn names_shadowing_mut_params() {
    let at = [0.4, -0.3, 0.9, 0.2, -0.6];
    let f = |p: &[f64]| {
        let mut v = [p[0], p[1]];
        let y = shadowed_names(&mut v, &[p[2], p[3], p[4]], 2);
        vec![y, v[0], v[1]]
    };
    let jvp = |p: &[f64], t: &[f64]| -> Pair {
        let (mut v, mut vd) = ([p[0], p[1]], [t[0], t[1]]);
        let (y, yd) =
            shadowed_names_jvp(&mut v, &[p[2], p[3], p[4]], 2, &mut vd, &[t[2], t[3], t[4]]);
        (vec![y, v[0], v[1]], vec![yd, vd[0], vd[1]])
    };
    let vjp = |p: &[f64], c: &[f64]| -> Pair {
        let mut v = [p[0], p[1]];
        let (y, pb) = shadowed_names_vjp(&mut v, &[p[2], p[3], p[4]], 2);
        let (av, axs) = pb(c[0], [c[1], c[2]]);
        (
            vec![y, v[0], v[1]],
            vec![av[0], av[1], axs[0], axs[1], axs[2]],
        )
    };
    check_fn("shadowed_names", &at, &f, &jvp, &vjp);
}

/// Whole structs and `Vec`s moved inside a block whose bindings the reverse sweep keeps: the
/// block's save at its end pushed the binding that had been moved away (E0382 in emitted code;
/// fuzzer seed 6101:47, `std::mem::swap(&mut b6, &mut x)` of two structs, desugared to
/// `let m = b6; b6 = x; x = m;`).
#[differentiate]
fn struct_swaps(x: &Lin, k: f64) -> f64 {
    let mut a = Lin {
        w: [x.w[0] * k, x.b],
        b: x.w[1],
    };
    let mut b = Lin {
        w: [k, x.b * k],
        b: x.b.sin(),
    };
    if k > 0.0 {
        let m = a;
        a = b;
        b = m;
    }
    std::mem::swap(&mut a, &mut b);
    let old = std::mem::replace(
        &mut a,
        Lin {
            w: [b.b, k],
            b: b.w[0] * k,
        },
    );
    a.w[0] * b.w[1] + a.b * old.w[0] + old.b * b.b
}

#[differentiate]
fn vec_moves(x: &[f64], k: f64) -> f64 {
    let mut u = vec![k; 2];
    let mut v = vec![0.0; 2];
    v[0] = x[0];
    v[1] = x[1] * k;
    if k > 0.0 {
        let m = u;
        u = v;
        v = m;
    }
    u[0] * v[1] + u[1].sin() * v[0]
}

#[test]
fn moved_structs_and_vecs() {
    for at in [[0.3, -0.4, 0.8, 0.6], [0.3, -0.4, 0.8, -0.6]] {
        let lin = |v: &[f64]| Lin {
            w: [v[0], v[1]],
            b: v[2],
        };
        check_fn(
            "struct_swaps",
            &at,
            &|p| vec![struct_swaps(&lin(p), p[3])],
            &|p, t| {
                let (y, d) = struct_swaps_jvp(&lin(p), p[3], &lin(t), t[3]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = struct_swaps_vjp(&lin(p), p[3]);
                let (a, ak) = pb(c[0]);
                (vec![y], vec![a.w[0], a.w[1], a.b, ak])
            },
        );
        let (y, (a, ak)) = struct_swaps_grad(&lin(&at), at[3]);
        let (y1, pb) = struct_swaps_vjp(&lin(&at), at[3]);
        assert_eq!((y, (a, ak)), (y1, pb(1.0)));
        check_fn(
            "vec_moves",
            &at[..3],
            &|p| vec![vec_moves(&p[..2], p[2])],
            &|p, t| {
                let (y, d) = vec_moves_jvp(&p[..2], p[2], &t[..2], t[2]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = vec_moves_vjp(&p[..2], p[2]);
                let (ax, ak) = pb(c[0]);
                (vec![y], vec![ax[0], ax[1], ak])
            },
        );
    }
}
