//! The Gaussian mixture of `benches/problems/gmm.rs` (d = 10, K = 25, n = 1000, log-sum-exp
//! over the components online, Wishart prior), its reductions written with iterators (the sums
//! of the log-diagonals, the squared norm of `Q (x - mu)`, the log-sum-exp of the weights, the
//! prior's Frobenius norms, `chunks_exact` over the data points) against index loops. Element
//! writes (`xc[j] = ..`) are index loops in both: `iter_mut` is not in the subset.

use crate::problems::gmm::{D, ICF, K};
use autodiff::prelude::*;

#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_iter(
    alphas: &[f64; K],
    means: &[[f64; D]; K],
    icf: &[[f64; ICF]; K],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
) -> f64 {
    let n = x.len() / D;
    let mut sum_qs = [0.0; K];
    let mut qdiags = [[0.0; D]; K];
    for k in 0..K {
        sum_qs[k] = icf[k].iter().take(D).sum();
        for j in 0..D {
            qdiags[k][j] = icf[k][j].exp();
        }
    }
    let mut slse = 0.0;
    for xi in x.chunks_exact(D) {
        let mut mx = 0.0;
        let mut se = 0.0;
        for k in 0..K {
            let mut xc = [0.0; D];
            for j in 0..D {
                xc[j] = xi[j] - means[k][j];
            }
            let mut qxc = [0.0; D];
            for j in 0..D {
                qxc[j] = qdiags[k][j] * xc[j];
            }
            let mut li = D;
            for c in 0..D {
                for r in c + 1..D {
                    qxc[r] += icf[k][li] * xc[c];
                    li += 1;
                }
            }
            let v = alphas[k] + sum_qs[k] - 0.5 * qxc.iter().map(|q| q * q).sum::<f64>();
            if k == 0 {
                mx = v;
                se = 1.0;
            } else if v > mx {
                se = se * (mx - v).exp() + 1.0;
                mx = v;
            } else {
                se += (v - mx).exp();
            }
        }
        slse += mx + se.ln();
    }
    let amax = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse_alphas = amax + alphas.iter().map(|a| (a - amax).exp()).sum::<f64>().ln();
    let mut prior = 0.0;
    for k in 0..K {
        let fro = qdiags[k].iter().map(|q| q * q).sum::<f64>()
            + icf[k].iter().skip(D).map(|l| l * l).sum::<f64>();
        prior += 0.5 * wishart_gamma * wishart_gamma * fro - wishart_m * sum_qs[k];
    }
    let cst = -(n as f64) * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    cst + slse - (n as f64) * lse_alphas + prior
}

#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_index(
    alphas: &[f64; K],
    means: &[[f64; D]; K],
    icf: &[[f64; ICF]; K],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
) -> f64 {
    let n = x.len() / D;
    let mut sum_qs = [0.0; K];
    let mut qdiags = [[0.0; D]; K];
    for k in 0..K {
        let mut s = 0.0;
        for j in 0..D {
            s += icf[k][j];
        }
        sum_qs[k] = s;
        for j in 0..D {
            qdiags[k][j] = icf[k][j].exp();
        }
    }
    let mut slse = 0.0;
    for i in 0..n {
        let mut mx = 0.0;
        let mut se = 0.0;
        for k in 0..K {
            let mut xc = [0.0; D];
            for j in 0..D {
                xc[j] = x[i * D + j] - means[k][j];
            }
            let mut qxc = [0.0; D];
            for j in 0..D {
                qxc[j] = qdiags[k][j] * xc[j];
            }
            let mut li = D;
            for c in 0..D {
                for r in c + 1..D {
                    qxc[r] += icf[k][li] * xc[c];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            for j in 0..D {
                sq += qxc[j] * qxc[j];
            }
            let v = alphas[k] + sum_qs[k] - 0.5 * sq;
            if k == 0 {
                mx = v;
                se = 1.0;
            } else if v > mx {
                se = se * (mx - v).exp() + 1.0;
                mx = v;
            } else {
                se += (v - mx).exp();
            }
        }
        slse += mx + se.ln();
    }
    let mut amax = f64::NEG_INFINITY;
    for k in 0..K {
        amax = f64::max(amax, alphas[k]);
    }
    let mut asum = 0.0;
    for k in 0..K {
        asum += (alphas[k] - amax).exp();
    }
    let lse_alphas = amax + asum.ln();
    let mut prior = 0.0;
    for k in 0..K {
        let mut fq = 0.0;
        for j in 0..D {
            fq += qdiags[k][j] * qdiags[k][j];
        }
        let mut fl = 0.0;
        for j in D..ICF {
            fl += icf[k][j] * icf[k][j];
        }
        let fro = fq + fl;
        prior += 0.5 * wishart_gamma * wishart_gamma * fro - wishart_m * sum_qs[k];
    }
    let cst = -(n as f64) * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    cst + slse - (n as f64) * lse_alphas + prior
}
