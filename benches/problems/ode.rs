//! Explicit Euler on Lotka-Volterra, 1,000 steps; the state array is overwritten every step.
//! Loss: squared distance of the final state to a target. Gradient wrt the four rates and the
//! initial state.

use autodiff::prelude::*;
use num_dual::DualNum;

pub const STEPS: usize = 1000;
pub const DT: f64 = 0.01;

#[differentiate(wrt(p, s0))]
pub fn lv_loss(p: &[f64; 4], s0: &[f64; 2], dt: f64) -> f64 {
    let mut s = [s0[0], s0[1]];
    for _step in 0..STEPS {
        let u = s[0];
        let v = s[1];
        let du = p[0] * u - p[1] * u * v;
        let dv = p[2] * u * v - p[3] * v;
        s[0] = u + dt * du;
        s[1] = v + dt * dv;
    }
    let a = s[0] - 1.0;
    let b = s[1] - 0.5;
    a * a + b * b
}

/// Hand-written reverse mode: the trajectory (2 x 1,000 values) kept on the stack.
#[inline]
pub fn lv_loss_grad_hand(p: &[f64; 4], s0: &[f64; 2], dt: f64) -> (f64, ([f64; 4], [f64; 2])) {
    let mut traj = [[0.0; 2]; STEPS];
    let (mut u, mut v) = (s0[0], s0[1]);
    for st in traj.iter_mut() {
        *st = [u, v];
        let du = p[0] * u - p[1] * u * v;
        let dv = p[2] * u * v - p[3] * v;
        u += dt * du;
        v += dt * dv;
    }
    let a = u - 1.0;
    let b = v - 0.5;
    let mut ub = 2.0 * a;
    let mut vb = 2.0 * b;
    let mut gp = [0.0; 4];
    for st in traj.iter().rev() {
        let [u, v] = *st;
        let (dub, dvb) = (dt * ub, dt * vb);
        gp[0] += dub * u;
        gp[1] -= dub * u * v;
        gp[2] += dvb * u * v;
        gp[3] -= dvb * v;
        let nub = ub + dub * (p[0] - p[1] * v) + dvb * p[2] * v;
        let nvb = vb - dub * p[1] * u + dvb * (p[2] * u - p[3]);
        ub = nub;
        vb = nvb;
    }
    (a * a + b * b, (gp, [ub, vb]))
}

/// Hand-written forward mode along (tp, ts0).
#[inline]
pub fn lv_loss_tangent_hand(
    p: &[f64; 4],
    s0: &[f64; 2],
    dt: f64,
    tp: &[f64; 4],
    ts0: &[f64; 2],
) -> (f64, f64) {
    let (mut u, mut v) = (s0[0], s0[1]);
    let (mut tu, mut tv) = (ts0[0], ts0[1]);
    for _ in 0..STEPS {
        let uv = u * v;
        let tuv = tu * v + u * tv;
        let du = p[0] * u - p[1] * uv;
        let dv = p[2] * uv - p[3] * v;
        let tdu = (tp[0] * u + p[0] * tu) - (tp[1] * uv + p[1] * tuv);
        let tdv = (tp[2] * uv + p[2] * tuv) - (tp[3] * v + p[3] * tv);
        u += dt * du;
        v += dt * dv;
        tu += dt * tdu;
        tv += dt * tdv;
    }
    let a = u - 1.0;
    let b = v - 0.5;
    (a * a + b * b, 2.0 * (a * tu + b * tv))
}

/// The same objective over num-dual's numbers.
pub fn lv_loss_nd<T: DualNum<f64> + Copy>(p: &[T; 4], s0: &[T; 2], dt: f64) -> T {
    let mut s = [s0[0], s0[1]];
    for _step in 0..STEPS {
        let u = s[0];
        let v = s[1];
        let du = p[0] * u - p[1] * u * v;
        let dv = p[2] * u * v - p[3] * v;
        s[0] = u + du * dt;
        s[1] = v + dv * dt;
    }
    let a = s[0] - 1.0;
    let b = s[1] - 0.5;
    a * a + b * b
}
