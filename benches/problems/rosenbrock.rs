//! Rosenbrock over a slice (n = 10,000 in the bench).

use autodiff::prelude::*;
use num_dual::DualNum;

#[differentiate]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// Hand-written reverse mode: one pass, the adjoint of `x[i + 1]` carried in a register so that
/// each gradient entry is written once.
#[inline]
pub fn rosenbrock_grad_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut s = 0.0;
    let mut carry = 0.0;
    for i in 0..n - 1 {
        let xi = x[i];
        let a = x[i + 1] - xi * xi;
        let b = 1.0 - xi;
        s += 100.0 * a * a + b * b;
        g[i] = carry - 400.0 * a * xi - 2.0 * b;
        carry = 200.0 * a;
    }
    g[n - 1] = carry;
    (s, g)
}

/// Hand-written forward mode along `t`.
#[inline]
pub fn rosenbrock_tangent_hand(x: &[f64], t: &[f64]) -> (f64, f64) {
    let n = x.len();
    let mut s = 0.0;
    let mut ds = 0.0;
    for i in 0..n - 1 {
        let xi = x[i];
        let a = x[i + 1] - xi * xi;
        let da = t[i + 1] - 2.0 * xi * t[i];
        let b = 1.0 - xi;
        s += 100.0 * a * a + b * b;
        ds += 200.0 * a * da - 2.0 * b * t[i];
    }
    (s, ds)
}

/// The same objective over num-dual's numbers.
pub fn rosenbrock_nd<D: DualNum<f64> + Copy>(x: &[D]) -> D {
    let mut s = D::zero();
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = -x[i] + 1.0;
        s += a * a * 100.0 + b * b;
    }
    s
}
