//! `saddle`: a saddle point found by nested gradient descent: `r1 = argmin_p1 max_p f(p1, p)`,
//! then `r2 = argmax_p f(r1, p)`. The outer descent differentiates through the inner one (a
//! loop of gradient steps, each with the inner gradient): nested AD. Function names give the
//! modes of the outer and inner derivatives, as in `particle`.

use crate::solver::argmin;
use autodiff::prelude::*;
use serde_json::{Value, json};

#[differentiate]
pub fn f<F: Float>(x1: F, y1: F, x2: F, y2: F) -> F {
    (x1 * x1 + y1 * y1) - (x2 * x2 + y2 * y2)
}

/// The gradient of `f` in its second point, by forward mode.
pub fn df_f<F: Real>(x1: F, y1: F, x2: F, y2: F) -> (F, F) {
    let (z, o) = (F::zero(), F::one());
    (
        f_jvp(x1, y1, x2, y2, z, z, o, z).1,
        f_jvp(x1, y1, x2, y2, z, z, z, o).1,
    )
}

/// The gradient of `f` in its second point, by reverse mode.
pub fn df_r<F: Real>(x1: F, y1: F, x2: F, y2: F) -> (F, F) {
    let (_, (_, _, g2, g3)) = f_grad(x1, y1, x2, y2);
    (g2, g3)
}

// Pullbacks of the inner gradients, for the outer reverse mode: Hessian-vector products composed
// by hand from the generated functions (forward over forward, forward over reverse), because the
// macro cannot differentiate the code it emitted. No derivative formula is written.

pub fn df_f_vjp<F: Real>(
    x1: F,
    y1: F,
    x2: F,
    y2: F,
) -> ((F, F), impl FnOnce((F, F)) -> (F, F, F, F) + use<F>) {
    (df_f(x1, y1, x2, y2), move |(c0, c1): (F, F)| {
        let (z, o) = (F::zero(), F::one());
        let d = |v: F, t: F| Dual::new(v, t);
        let hv = |e: [F; 4]| {
            f_jvp(
                d(x1, e[0]),
                d(y1, e[1]),
                d(x2, e[2]),
                d(y2, e[3]),
                d(z, z),
                d(z, z),
                d(c0, z),
                d(c1, z),
            )
            .1
            .tangent()
        };
        (
            hv([o, z, z, z]),
            hv([z, o, z, z]),
            hv([z, z, o, z]),
            hv([z, z, z, o]),
        )
    })
}

pub fn df_r_vjp<F: Real>(
    x1: F,
    y1: F,
    x2: F,
    y2: F,
) -> ((F, F), impl FnOnce((F, F)) -> (F, F, F, F) + use<F>) {
    (df_r(x1, y1, x2, y2), move |(c0, c1): (F, F)| {
        let z = F::zero();
        let (_, (h0, h1, h2, h3)) = f_grad(
            Dual::new(x1, z),
            Dual::new(y1, z),
            Dual::new(x2, c0),
            Dual::new(y2, c1),
        );
        (h0.tangent(), h1.tangent(), h2.tangent(), h3.tangent())
    })
}

/// `max_p f(p1, p)`, by gradient ascent on `p` from `(s0, s1)` (the same steps as
/// `solver::argmin` on `-f`), written inline so that the macro differentiates through it.
#[differentiate(reverse, wrt(p0, p1))]
pub fn r1_cost<F: Real>(p0: F, p1: F, s0: F, s1: F, inner_forward: bool) -> F {
    let tol = F::from(1e-5).unwrap();
    let two = F::from(2.0).unwrap();
    let mut x0 = s0;
    let mut x1 = s1;
    let mut fx = -f(p0, p1, x0, x1);
    let (a0, a1) = if inner_forward {
        df_f(p0, p1, x0, x1)
    } else {
        df_r(p0, p1, x0, x1)
    };
    let mut gx0 = -a0;
    let mut gx1 = -a1;
    let mut eta = F::from(1e-5).unwrap();
    let mut i = 0;
    let mut go = true;
    while go {
        if (gx0 * gx0 + gx1 * gx1).sqrt() <= tol {
            go = false;
        } else if i == 10 {
            eta = eta * two;
            i = 0;
        } else {
            let xp0 = x0 - eta * gx0;
            let xp1 = x1 - eta * gx1;
            if ((x0 - xp0) * (x0 - xp0) + (x1 - xp1) * (x1 - xp1)).sqrt() <= tol {
                go = false;
            } else {
                let fxp = -f(p0, p1, xp0, xp1);
                if fxp < fx {
                    x0 = xp0;
                    x1 = xp1;
                    fx = fxp;
                    let (b0, b1) = if inner_forward {
                        df_f(p0, p1, x0, x1)
                    } else {
                        df_r(p0, p1, x0, x1)
                    };
                    gx0 = -b0;
                    gx1 = -b1;
                    i += 1;
                } else {
                    eta = eta / two;
                    i = 0;
                }
            }
        };
    }
    f(p0, p1, x0, x1)
}

pub fn saddle(start: [f64; 2], outer_forward: bool, inner_forward: bool) -> [f64; 4] {
    let [s0, s1] = start;
    let cost = |p: &[f64]| r1_cost(p[0], p[1], s0, s1, inner_forward);
    let grad = |p: &[f64]| {
        if outer_forward {
            let d = |v: f64, t: f64| Dual::new(v, t);
            let g0 = r1_cost(
                d(p[0], 1.0),
                d(p[1], 0.0),
                d(s0, 0.0),
                d(s1, 0.0),
                inner_forward,
            )
            .tangent();
            let g1 = r1_cost(
                d(p[0], 0.0),
                d(p[1], 1.0),
                d(s0, 0.0),
                d(s1, 0.0),
                inner_forward,
            )
            .tangent();
            vec![g0, g1]
        } else {
            let (_, (g0, g1)) = r1_cost_grad(p[0], p[1], s0, s1, inner_forward);
            vec![g0, g1]
        }
    };
    let r1 = argmin(cost, grad, &start);
    // r2 = argmax_p f(r1, p), with the outer mode's gradient
    let neg = |p: &[f64]| -f(r1[0], r1[1], p[0], p[1]);
    let gneg = |p: &[f64]| {
        let (a, b) = if outer_forward {
            df_f(r1[0], r1[1], p[0], p[1])
        } else {
            df_r(r1[0], r1[1], p[0], p[1])
        };
        vec![-a, -b]
    };
    let r2 = argmin(neg, gneg, &start);
    [r1[0], r1[1], r2[0], r2[1]]
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let s = crate::util::vec_of(crate::util::field(input, "start")?)?;
    let start: [f64; 2] = s.try_into().map_err(|_| "start is not 2 numbers")?;
    let (outer, inner) = match function {
        "ff" => (true, true),
        "fr" => (true, false),
        "rf" => (false, true),
        "rr" => (false, false),
        _ => return Err(crate::util::unknown("saddle", function)),
    };
    let (y, t) = crate::runs(input, || saddle(start, outer, inner));
    Ok((json!(y), t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_gradients_agree() {
        let (p0, p1) = (0.7, -0.4);
        for inner in [true, false] {
            let (_, (r0, r1)) = r1_cost_grad(p0, p1, 1.0, 1.0, inner);
            let d = |v: f64, t: f64| Dual::new(v, t);
            let f0 = r1_cost(d(p0, 1.0), d(p1, 0.0), d(1.0, 0.0), d(1.0, 0.0), inner).tangent();
            let f1 = r1_cost(d(p0, 0.0), d(p1, 1.0), d(1.0, 0.0), d(1.0, 0.0), inner).tangent();
            assert!(
                (r0 - f0).abs() < 1e-9 && (r1 - f1).abs() < 1e-9,
                "{r0} {f0} {r1} {f1}"
            );
        }
    }
}
