//! `&mut` parameters (docs/API.md, "`&mut` parameters"): in/out values, in both modes, against
//! central finite differences and the dot-product identity (`common::check_fn`). Each function is
//! seen as the map from (initial states, other inputs) to (output, final states).
#![deny(warnings)]

mod common;

use autodiff::prelude::*;
use common::{Pair, check_fn, check_grad};

/// A Kalman filter step for a constant-velocity model: the state `x` and its covariance `p`
/// are updated in place (predict with `F = [[1, dt], [0, 1]]` and process noise `q`, then
/// update with a measurement `z` of the position, noise `r`); returns the negative
/// log-likelihood of the innovation (up to a constant).
#[differentiate]
fn kalman_step(x: &mut [f64; 2], p: &mut [[f64; 2]; 2], z: f64, q: f64, r: f64, dt: f64) -> f64 {
    let x0 = x[0] + dt * x[1];
    let x1 = x[1];
    let p00 = p[0][0] + dt * (p[1][0] + p[0][1]) + dt * dt * p[1][1] + q;
    let p01 = p[0][1] + dt * p[1][1];
    let p10 = p[1][0] + dt * p[1][1];
    let p11 = p[1][1] + q;
    let innov = z - x0;
    let s = p00 + r;
    let k0 = p00 / s;
    let k1 = p10 / s;
    x[0] = x0 + k0 * innov;
    x[1] = x1 + k1 * innov;
    *p = [
        [(1.0 - k0) * p00, (1.0 - k0) * p01],
        [p10 - k1 * p00, p11 - k1 * p01],
    ];
    0.5 * (innov * innov / s + s.ln())
}

/// An in-place normaliser: `v` becomes `scale * v / |v|`.
#[differentiate]
fn normalise(v: &mut [f64; 3], scale: f64) {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    for i in 0..3 {
        v[i] = scale * v[i] / n;
    }
}

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Params {
    w: [f64; 2],
    b: f64,
}

/// An optimiser step: a linear model's squared error on `(x, y)`, the momentum `m` and the
/// parameters `p` updated in place (heavy ball); returns the loss before the step.
#[differentiate]
fn momentum_step(p: &mut Params, m: &mut Params, x: &[f64; 2], y: f64, lr: f64, beta: f64) -> f64 {
    let e = p.w[0] * x[0] + p.w[1] * x[1] + p.b - y;
    m.w[0] = beta * m.w[0] + e * x[0];
    m.w[1] = beta * m.w[1] + e * x[1];
    m.b = beta * m.b + e;
    for i in 0..2 {
        p.w[i] -= lr * m.w[i];
    }
    p.b -= lr * m.b;
    0.5 * e * e
}

/// A scalar in/out value, an early return and a loop.
#[differentiate]
fn accumulate(acc: &mut f64, xs: &[f64; 3], k: usize) -> f64 {
    for i in 0..3 {
        if i == k {
            return *acc * 2.0;
        }
        *acc += xs[i] * xs[i].sin();
    }
    acc.cos()
}

/// An `&mut` parameter left out of `wrt`: still updated, still carries derivatives forward.
#[differentiate(wrt(a))]
fn scratch(buf: &mut [f64; 2], a: f64) -> f64 {
    buf[0] = a * a;
    buf[1] += buf[0] * 3.0;
    buf[1] * a
}

// --- Kalman filter step ------------------------------------------------------------------------

fn kalman_unflat(v: &[f64]) -> ([f64; 2], [[f64; 2]; 2], [f64; 4]) {
    (
        [v[0], v[1]],
        [[v[2], v[3]], [v[4], v[5]]],
        [v[6], v[7], v[8], v[9]],
    )
}

fn kalman_flat(y: f64, x: &[f64; 2], p: &[[f64; 2]; 2]) -> Vec<f64> {
    vec![y, x[0], x[1], p[0][0], p[0][1], p[1][0], p[1][1]]
}

#[test]
fn kalman_filter_step() {
    let at = [0.3, -0.5, 1.2, 0.1, 0.15, 0.8, 0.7, 0.05, 0.4, 0.1];
    let f = |v: &[f64]| {
        let (mut x, mut p, [z, q, r, dt]) = kalman_unflat(v);
        let y = kalman_step(&mut x, &mut p, z, q, r, dt);
        kalman_flat(y, &x, &p)
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (mut x, mut p, [z, q, r, dt]) = kalman_unflat(v);
        let (mut xd, mut pd, [zd, qd, rd, dtd]) = kalman_unflat(t);
        let (y, yd) = kalman_step_jvp(
            &mut x, &mut p, z, q, r, dt, &mut xd, &mut pd, zd, qd, rd, dtd,
        );
        (kalman_flat(y, &x, &p), kalman_flat(yd, &xd, &pd))
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (mut x, mut p, [z, q, r, dt]) = kalman_unflat(v);
        let (y, pb) = kalman_step_vjp(&mut x, &mut p, z, q, r, dt);
        let out = kalman_flat(y, &x, &p);
        let (ax, ap, az, aq, ar, adt) = pb(c[0], [c[1], c[2]], [[c[3], c[4]], [c[5], c[6]]]);
        let mut adj = vec![ax[0], ax[1], ap[0][0], ap[0][1], ap[1][0], ap[1][1]];
        adj.extend([az, aq, ar, adt]);
        (out, adj)
    };
    check_fn("kalman_step", &at, &f, &jvp, &vjp);
    // `_grad`: the output's gradient, the final states' cotangents zero.
    check_grad("kalman_step_grad", &at, &|v| f(v)[0], &|v| {
        let (mut x, mut p, [z, q, r, dt]) = kalman_unflat(v);
        let (y, (ax, ap, az, aq, ar, adt)) = kalman_step_grad(&mut x, &mut p, z, q, r, dt);
        assert_eq!(
            kalman_flat(y, &x, &p),
            f(v),
            "_grad leaves the final states"
        );
        let mut g = vec![ax[0], ax[1], ap[0][0], ap[0][1], ap[1][0], ap[1][1]];
        g.extend([az, aq, ar, adt]);
        (y, g)
    });
}

// --- in-place normaliser -----------------------------------------------------------------------

#[test]
fn in_place_normaliser() {
    let at = [0.3, -1.2, 0.7, 1.5];
    let f = |v: &[f64]| {
        let mut a = [v[0], v[1], v[2]];
        normalise(&mut a, v[3]);
        a.to_vec()
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let mut a = [v[0], v[1], v[2]];
        let mut ad = [t[0], t[1], t[2]];
        let ((), ()) = normalise_jvp(&mut a, v[3], &mut ad, t[3]);
        (a.to_vec(), ad.to_vec())
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let mut a = [v[0], v[1], v[2]];
        let ((), pb) = normalise_vjp(&mut a, v[3]);
        let (aa, ascale) = pb([c[0], c[1], c[2]]);
        (a.to_vec(), vec![aa[0], aa[1], aa[2], ascale])
    };
    check_fn("normalise", &at, &f, &jvp, &vjp);
}

// --- optimiser step ----------------------------------------------------------------------------

fn opt_unflat(v: &[f64]) -> (Params, Params, [f64; 2], [f64; 3]) {
    (
        Params {
            w: [v[0], v[1]],
            b: v[2],
        },
        Params {
            w: [v[3], v[4]],
            b: v[5],
        },
        [v[6], v[7]],
        [v[8], v[9], v[10]],
    )
}

fn opt_flat(y: f64, p: &Params, m: &Params) -> Vec<f64> {
    vec![y, p.w[0], p.w[1], p.b, m.w[0], m.w[1], m.b]
}

fn params_flat(p: &Params) -> [f64; 3] {
    [p.w[0], p.w[1], p.b]
}

#[test]
fn optimiser_step() {
    let at = [0.5, -0.3, 0.1, 0.05, -0.02, 0.01, 1.5, -0.7, 0.9, 0.1, 0.9];
    let f = |v: &[f64]| {
        let (mut p, mut m, x, [y, lr, beta]) = opt_unflat(v);
        let l = momentum_step(&mut p, &mut m, &x, y, lr, beta);
        opt_flat(l, &p, &m)
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (mut p, mut m, x, [y, lr, beta]) = opt_unflat(v);
        let (mut pd, mut md, xd, [yd, lrd, betad]) = opt_unflat(t);
        let (l, ld) = momentum_step_jvp(
            &mut p, &mut m, &x, y, lr, beta, &mut pd, &mut md, &xd, yd, lrd, betad,
        );
        (opt_flat(l, &p, &m), opt_flat(ld, &pd, &md))
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (mut p, mut m, x, [y, lr, beta]) = opt_unflat(v);
        let (l, pb) = momentum_step_vjp(&mut p, &mut m, &x, y, lr, beta);
        let out = opt_flat(l, &p, &m);
        let (cp, cm, _, _) =
            opt_unflat(&[c[1], c[2], c[3], c[4], c[5], c[6], 0.0, 0.0, 0.0, 0.0, 0.0]);
        let (ap, am, ax, ay, alr, abeta) = pb(c[0], cp, cm);
        let mut adj = params_flat(&ap).to_vec();
        adj.extend(params_flat(&am));
        adj.extend([ax[0], ax[1], ay, alr, abeta]);
        (out, adj)
    };
    check_fn("momentum_step", &at, &f, &jvp, &vjp);
    // A few steps of the optimiser itself decrease the loss.
    let (mut p, mut m) = (
        Params {
            w: [0.0, 0.0],
            b: 0.0,
        },
        Params {
            w: [0.0; 2],
            b: 0.0,
        },
    );
    let first = momentum_step(&mut p, &mut m, &[1.0, 2.0], 3.0, 0.05, 0.5);
    let mut last = first;
    for _ in 0..20 {
        last = momentum_step(&mut p, &mut m, &[1.0, 2.0], 3.0, 0.05, 0.5);
    }
    assert!(last < first * 1e-2, "{first} -> {last}");
}

// --- scalars, early returns, wrt ---------------------------------------------------------------

#[test]
fn scalar_in_out_with_early_return() {
    for k in [0, 2, 7] {
        let at = [0.4, 0.3, -0.8, 1.1];
        let f = |v: &[f64]| {
            let mut a = v[0];
            let y = accumulate(&mut a, &[v[1], v[2], v[3]], k);
            vec![y, a]
        };
        let jvp = |v: &[f64], t: &[f64]| -> Pair {
            let (mut a, mut ad) = (v[0], t[0]);
            let (y, yd) =
                accumulate_jvp(&mut a, &[v[1], v[2], v[3]], k, &mut ad, &[t[1], t[2], t[3]]);
            (vec![y, a], vec![yd, ad])
        };
        let vjp = |v: &[f64], c: &[f64]| -> Pair {
            let mut a = v[0];
            let (y, pb) = accumulate_vjp(&mut a, &[v[1], v[2], v[3]], k);
            let (aa, axs) = pb(c[0], c[1]);
            (vec![y, a], vec![aa, axs[0], axs[1], axs[2]])
        };
        check_fn(&format!("accumulate k={k}"), &at, &f, &jvp, &vjp);
    }
}

#[test]
fn mut_param_left_out_of_wrt() {
    // d/da of buf[1] * a with buf[1] = b1 + 3 a^2: b1 + 9 a^2.
    let (a, b1) = (0.7, 0.25);
    let mut buf = [5.0, b1];
    let y0 = scratch(&mut buf, a);
    let mut buf = [5.0, b1];
    let (y, dy) = scratch_jvp(&mut buf, a, 1.0);
    assert_eq!(buf, [a * a, b1 + 3.0 * a * a]);
    assert_eq!(y, y0);
    assert!((dy - (b1 + 9.0 * a * a)).abs() < 1e-12);
    let mut buf = [5.0, b1];
    let (_, pb) = scratch_vjp(&mut buf, a);
    assert!((pb(1.0) - (b1 + 9.0 * a * a)).abs() < 1e-12);
    assert_eq!(buf, [a * a, b1 + 3.0 * a * a]);
    let mut buf = [5.0, b1];
    let (_, g) = scratch_grad(&mut buf, a);
    assert!((g - (b1 + 9.0 * a * a)).abs() < 1e-12);
}

// --- `&mut self` -------------------------------------------------------------------------------

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Filter {
    level: f64,
    trend: f64,
}

impl Filter {
    /// Holt's linear smoothing step: the filter's state updated in place, the one-step
    /// forecast error returned.
    #[differentiate]
    fn observe(&mut self, z: f64, alpha: f64) -> f64 {
        let forecast = self.level + self.trend;
        let err = z - forecast;
        let level = forecast + alpha * err;
        self.trend += 0.5 * (level - self.level - self.trend);
        self.level = level;
        err * err
    }

    /// Scales the state; a method with `&self` and an `&mut` parameter beside it.
    #[differentiate]
    fn project(&self, out: &mut [f64; 2], k: f64) {
        out[0] += k * self.level;
        out[1] *= self.trend;
    }
}

#[test]
fn mut_self_method() {
    let at = [0.5, 0.2, 1.1, 0.3];
    let unflat = |v: &[f64]| {
        (
            Filter {
                level: v[0],
                trend: v[1],
            },
            v[2],
            v[3],
        )
    };
    let f = |v: &[f64]| {
        let (mut s, z, a) = unflat(v);
        let e = s.observe(z, a);
        vec![e, s.level, s.trend]
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (mut s, z, a) = unflat(v);
        let (mut sd, zd, ad) = unflat(t);
        let (e, ed) = s.observe_jvp(z, a, &mut sd, zd, ad);
        (vec![e, s.level, s.trend], vec![ed, sd.level, sd.trend])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let (mut s, z, a) = unflat(v);
        let (e, pb) = s.observe_vjp(z, a);
        let (as_, az, aa) = pb(
            c[0],
            Filter {
                level: c[1],
                trend: c[2],
            },
        );
        (
            vec![e, s.level, s.trend],
            vec![as_.level, as_.trend, az, aa],
        )
    };
    check_fn("Filter::observe", &at, &f, &jvp, &vjp);
    let (mut s, z, a) = unflat(&at);
    let (e, (gs, gz, ga)) = s.observe_grad(z, a);
    let (mut s2, _, _) = unflat(&at);
    assert_eq!(e, s2.observe(z, a));
    assert_eq!(s, s2);
    let (mut s3, _, _) = unflat(&at);
    let (_, pb) = s3.observe_vjp(z, a);
    assert_eq!(
        (gs, gz, ga),
        pb(
            1.0,
            Filter {
                level: 0.0,
                trend: 0.0
            }
        )
    );
}

#[test]
fn method_with_mut_param() {
    let at = [0.5, 0.2, 1.1, -0.3, 0.7];
    let f = |v: &[f64]| {
        let s = Filter {
            level: v[0],
            trend: v[1],
        };
        let mut o = [v[2], v[3]];
        s.project(&mut o, v[4]);
        o.to_vec()
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let s = Filter {
            level: v[0],
            trend: v[1],
        };
        let sd = Filter {
            level: t[0],
            trend: t[1],
        };
        let (mut o, mut od) = ([v[2], v[3]], [t[2], t[3]]);
        let ((), ()) = s.project_jvp(&mut o, v[4], &sd, &mut od, t[4]);
        (o.to_vec(), od.to_vec())
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let s = Filter {
            level: v[0],
            trend: v[1],
        };
        let mut o = [v[2], v[3]];
        let ((), pb) = s.project_vjp(&mut o, v[4]);
        let (as_, ao, ak) = pb([c[0], c[1]]);
        (o.to_vec(), vec![as_.level, as_.trend, ao[0], ao[1], ak])
    };
    check_fn("Filter::project", &at, &f, &jvp, &vjp);
}

// --- generic code ------------------------------------------------------------------------------

#[differentiate]
fn damp<F: Float, const N: usize>(v: &mut [F; N], k: F) -> F {
    let mut s = F::zero();
    for i in 0..N {
        v[i] = v[i] * k.exp();
        s = s + v[i] * v[i];
    }
    s
}

#[derive(Differentiable, Clone, Debug)]
struct Acc<F: Float> {
    total: F,
}

#[differentiate]
impl<F: Float> Acc<F> {
    #[differentiate]
    fn add(&mut self, x: F) -> F {
        self.total = self.total + x * x;
        self.total.sqrt()
    }
}

#[test]
fn generic_mut_params() {
    let at = [0.3, -0.4, 0.2];
    let f = |v: &[f64]| {
        let mut a = [v[0], v[1]];
        let s = damp(&mut a, v[2]);
        vec![s, a[0], a[1]]
    };
    let jvp = |v: &[f64], t: &[f64]| -> Pair {
        let (mut a, mut ad) = ([v[0], v[1]], [t[0], t[1]]);
        let (s, sd) = damp_jvp(&mut a, v[2], &mut ad, t[2]);
        (vec![s, a[0], a[1]], vec![sd, ad[0], ad[1]])
    };
    let vjp = |v: &[f64], c: &[f64]| -> Pair {
        let mut a = [v[0], v[1]];
        let (s, pb) = damp_vjp(&mut a, v[2]);
        let (aa, ak) = pb(c[0], [c[1], c[2]]);
        (vec![s, a[0], a[1]], vec![aa[0], aa[1], ak])
    };
    check_fn("damp", &at, &f, &jvp, &vjp);
    let mut acc = Acc { total: 2.0 };
    let y = acc.add(1.5);
    let mut acc = Acc { total: 2.0 };
    let (y1, (ga, gx)) = acc.add_grad(1.5);
    assert_eq!(y, y1);
    assert_eq!(y, 4.25f64.sqrt());
    assert_eq!(acc.total, 4.25);
    assert!((ga.total - 0.5 / y).abs() < 1e-15 && (gx - 1.5 / y).abs() < 1e-15);
    let mut acc = Acc { total: 2.0 };
    let mut ad = Acc { total: 1.0 };
    let (_, yd) = acc.add_jvp(1.5, &mut ad, 0.0);
    assert!((yd - 0.5 / y).abs() < 1e-15 && ad.total == 1.0);
}

// --- other outputs -----------------------------------------------------------------------------

/// A tuple output beside two in/out values, `f32`, and `assert!` reading `*a`.
#[differentiate]
fn swap_rotate(a: &mut f32, b: &mut [f32; 2], t: f32) -> (f32, f32) {
    assert!(!a.is_nan(), "not NaN");
    let (c, s) = (t.cos(), t.sin());
    let (x, y) = (c * b[0] - s * b[1], s * b[0] + c * b[1]);
    *b = [y, *a];
    *a = x;
    (x * y, t)
}

#[test]
fn tuple_output_and_f32() {
    let (mut a, mut b) = (0.5f32, [0.25f32, -0.75]);
    let y = swap_rotate(&mut a, &mut b, 0.3);
    let (mut a1, mut b1) = (0.5f32, [0.25f32, -0.75]);
    let (y1, pb) = swap_rotate_vjp(&mut a1, &mut b1, 0.3);
    assert_eq!((y, a, b), (y1, a1, b1));
    // The adjoint of the initial `a` along the output's first part only: d(x y)/da0 where
    // x = c b0 - s b1 and y = s b0 + c b1 do not depend on a0; the final b[1] is a0.
    let (aa, ab, at) = pb((1.0, 0.0), 0.0, [0.0, 1.0]);
    assert_eq!(aa, 1.0);
    let (mut a2, mut b2, mut ad, mut bd) = (0.5f32, [0.25f32, -0.75], 0.0f32, [1.0f32, 0.0]);
    let ((p, _), (pd, td)) = swap_rotate_jvp(&mut a2, &mut b2, 0.3, &mut ad, &mut bd, 0.0);
    assert_eq!(p, y.0);
    assert_eq!(td, 0.0);
    // <J t, c> = <t, J^T c> for t = (0, (1, 0), 0) and c = ((1, 0), 0, (0, 1)).
    let lhs = pd + bd[1];
    assert!((lhs - ab[0]).abs() < 1e-5, "{lhs} vs {ab:?}");
    let _ = at;
}

/// Parameters named as the derived functions do not shadow them.
#[differentiate]
fn named(x: &mut f64, named_vjp: f64, named_jvp: f64) -> f64 {
    *x *= named_vjp + named_jvp;
    *x
}

#[test]
fn parameters_named_as_derived_functions() {
    let mut x = 2.0;
    assert_eq!(named(&mut x, 3.0, 1.0), 8.0);
    let (mut x, mut xd) = (2.0, 1.0);
    assert_eq!(named_jvp(&mut x, 3.0, 1.0, &mut xd, 0.0, 0.0), (8.0, 4.0));
    let mut x = 2.0;
    let (y, pb) = named_vjp(&mut x, 3.0, 1.0);
    assert_eq!((y, x), (8.0, 8.0));
    assert_eq!(pb(1.0, 0.0), (4.0, 2.0, 2.0));
    let mut x = 2.0;
    assert_eq!(named_grad(&mut x, 3.0, 1.0), (8.0, (4.0, 2.0, 2.0)));
}
