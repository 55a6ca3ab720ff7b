//! The MLP of `benches/problems/mlp.rs` (32 -> 64 tanh -> 10, squared error): dense layers whose
//! dot products are `row.iter().zip(v).map(|(w, v)| w * v).sum()`, against index loops.

use crate::problems::mlp::{Mlp, NH, NI, NO};
use autodiff::prelude::*;

#[differentiate(wrt(p))]
pub fn mlp_iter(p: &Mlp, x: &[f64; NI], y: &[f64; NO]) -> f64 {
    let mut h = [0.0; NH];
    for i in 0..NH {
        h[i] = (p.b1[i] + p.w1[i].iter().zip(x).map(|(w, v)| w * v).sum::<f64>()).tanh();
    }
    let mut out = [0.0; NO];
    for o in 0..NO {
        out[o] = p.b2[o] + p.w2[o].iter().zip(&h).map(|(w, v)| w * v).sum::<f64>();
    }
    0.5 * out
        .iter()
        .zip(y)
        .map(|(o, t)| (o - t) * (o - t))
        .sum::<f64>()
}

#[differentiate(wrt(p))]
pub fn mlp_index(p: &Mlp, x: &[f64; NI], y: &[f64; NO]) -> f64 {
    let mut h = [0.0; NH];
    for i in 0..NH {
        let mut s = 0.0;
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
        }
        h[i] = (p.b1[i] + s).tanh();
    }
    let mut out = [0.0; NO];
    for o in 0..NO {
        let mut s = 0.0;
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
        }
        out[o] = p.b2[o] + s;
    }
    let mut loss = 0.0;
    for o in 0..NO {
        loss += (out[o] - y[o]) * (out[o] - y[o]);
    }
    0.5 * loss
}
