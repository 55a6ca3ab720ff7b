//! A two-layer perceptron (32 -> 64 tanh -> 10), squared-error loss, gradient wrt the weights.

use autodiff::prelude::*;
use num_dual::DualNum;

pub const NI: usize = 32;
pub const NH: usize = 64;
pub const NO: usize = 10;

#[derive(Differentiable, Clone, Debug)]
pub struct Mlp {
    pub w1: [[f64; NI]; NH],
    pub b1: [f64; NH],
    pub w2: [[f64; NH]; NO],
    pub b2: [f64; NO],
}

impl Mlp {
    pub fn zeros() -> Self {
        Mlp {
            w1: [[0.0; NI]; NH],
            b1: [0.0; NH],
            w2: [[0.0; NH]; NO],
            b2: [0.0; NO],
        }
    }
    pub fn random(rng: &mut super::Rng, scale: f64) -> Self {
        let mut m = Mlp::zeros();
        for r in m.w1.iter_mut() {
            for v in r.iter_mut() {
                *v = rng.range(-scale, scale);
            }
        }
        for v in m.b1.iter_mut() {
            *v = rng.range(-scale, scale);
        }
        for r in m.w2.iter_mut() {
            for v in r.iter_mut() {
                *v = rng.range(-scale, scale);
            }
        }
        for v in m.b2.iter_mut() {
            *v = rng.range(-scale, scale);
        }
        m
    }
    /// Every parameter in a fixed order (for comparisons).
    pub fn flat(&self) -> Vec<f64> {
        let mut v = Vec::new();
        for r in &self.w1 {
            v.extend_from_slice(r);
        }
        v.extend_from_slice(&self.b1);
        for r in &self.w2 {
            v.extend_from_slice(r);
        }
        v.extend_from_slice(&self.b2);
        v
    }
}

#[differentiate(wrt(p))]
pub fn mlp_loss(p: &Mlp, x: &[f64; NI], y: &[f64; NO]) -> f64 {
    let mut h = [0.0; NH];
    for i in 0..NH {
        let mut s = p.b1[i];
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
        }
        h[i] = s.tanh();
    }
    let mut loss = 0.0;
    for o in 0..NO {
        let mut s = p.b2[o];
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
        }
        let e = s - y[o];
        loss += e * e;
    }
    0.5 * loss
}

/// Hand-written reverse mode: keeps the hidden activations (64) and output errors (10).
#[inline]
pub fn mlp_loss_grad_hand(p: &Mlp, x: &[f64; NI], y: &[f64; NO]) -> (f64, Mlp) {
    let mut h = [0.0; NH];
    for i in 0..NH {
        let mut s = p.b1[i];
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
        }
        h[i] = s.tanh();
    }
    let mut e = [0.0; NO];
    let mut loss = 0.0;
    for o in 0..NO {
        let mut s = p.b2[o];
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
        }
        e[o] = s - y[o];
        loss += e[o] * e[o];
    }
    let mut g = Mlp::zeros();
    let mut dh = [0.0; NH];
    for o in 0..NO {
        let d = e[o];
        g.b2[o] = d;
        for i in 0..NH {
            g.w2[o][i] = d * h[i];
            dh[i] += d * p.w2[o][i];
        }
    }
    for i in 0..NH {
        let d = dh[i] * (1.0 - h[i] * h[i]);
        g.b1[i] = d;
        for j in 0..NI {
            g.w1[i][j] = d * x[j];
        }
    }
    (0.5 * loss, g)
}

/// Hand-written forward mode along `t`.
#[inline]
pub fn mlp_loss_tangent_hand(p: &Mlp, x: &[f64; NI], y: &[f64; NO], t: &Mlp) -> (f64, f64) {
    let mut h = [0.0; NH];
    let mut dh = [0.0; NH];
    for i in 0..NH {
        let mut s = p.b1[i];
        let mut ds = t.b1[i];
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
            ds += t.w1[i][j] * x[j];
        }
        let hi = s.tanh();
        h[i] = hi;
        dh[i] = (1.0 - hi * hi) * ds;
    }
    let mut loss = 0.0;
    let mut dloss = 0.0;
    for o in 0..NO {
        let mut s = p.b2[o];
        let mut ds = t.b2[o];
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
            ds += t.w2[o][i] * h[i] + p.w2[o][i] * dh[i];
        }
        let e = s - y[o];
        loss += e * e;
        dloss += e * ds;
    }
    (0.5 * loss, dloss)
}

/// The weights as num-dual numbers.
#[derive(Clone)]
pub struct MlpNd<D> {
    pub w1: [[D; NI]; NH],
    pub b1: [D; NH],
    pub w2: [[D; NH]; NO],
    pub b2: [D; NO],
}

impl MlpNd<num_dual::Dual64> {
    pub fn from_tangent(p: &Mlp, t: &Mlp) -> Self {
        use num_dual::Dual64;
        let d = |v: f64, e: f64| Dual64::new(v, e);
        let mut w1 = [[d(0.0, 0.0); NI]; NH];
        let mut b1 = [d(0.0, 0.0); NH];
        let mut w2 = [[d(0.0, 0.0); NH]; NO];
        let mut b2 = [d(0.0, 0.0); NO];
        for i in 0..NH {
            for j in 0..NI {
                w1[i][j] = d(p.w1[i][j], t.w1[i][j]);
            }
            b1[i] = d(p.b1[i], t.b1[i]);
        }
        for o in 0..NO {
            for i in 0..NH {
                w2[o][i] = d(p.w2[o][i], t.w2[o][i]);
            }
            b2[o] = d(p.b2[o], t.b2[o]);
        }
        MlpNd { w1, b1, w2, b2 }
    }
}

/// The same objective over num-dual's numbers.
pub fn mlp_loss_nd<D: DualNum<f64> + Copy>(p: &MlpNd<D>, x: &[f64; NI], y: &[f64; NO]) -> D {
    let mut h = [D::zero(); NH];
    for i in 0..NH {
        let mut s = p.b1[i];
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
        }
        h[i] = s.tanh();
    }
    let mut loss = D::zero();
    for o in 0..NO {
        let mut s = p.b2[o];
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
        }
        let e = s - y[o];
        loss += e * e;
    }
    loss * 0.5
}
