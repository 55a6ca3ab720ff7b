//! ADBench's Gaussian-mixture objective (d = 10, K = 25, n = 1000): negative log-likelihood
//! with the inverse covariances parametrised by a log-diagonal and a strictly lower triangle
//! (column-major, as ADBench's `icf`), plus the Wishart prior (without its constant, which has
//! no gradient). As in ADBench, the exponentials of the log-diagonals are taken once, before the
//! loop over the data points. The log-sum-exp over the components is computed online, with a branch on the
//! running max.

use autodiff::prelude::*;
use num_dual::DualNum;

pub const D: usize = 10;
pub const K: usize = 25;
pub const N: usize = 1000;
/// Parameters per component's inverse-covariance factor: D log-diagonal + D(D-1)/2 lower.
pub const ICF: usize = D + D * (D - 1) / 2;

pub struct Data {
    pub alphas: [f64; K],
    pub means: [[f64; D]; K],
    pub icf: [[f64; ICF]; K],
    pub x: Vec<f64>,
    pub gamma: f64,
    pub m: f64,
}

impl Data {
    pub fn random(rng: &mut super::Rng) -> Self {
        let mut alphas = [0.0; K];
        let mut means = [[0.0; D]; K];
        let mut icf = [[0.0; ICF]; K];
        for k in 0..K {
            alphas[k] = rng.range(-1.0, 1.0);
            for j in 0..D {
                means[k][j] = rng.uniform();
            }
            for j in 0..ICF {
                icf[k][j] = rng.range(-0.5, 0.5);
            }
        }
        let x = (0..N * D).map(|_| rng.uniform()).collect();
        Data {
            alphas,
            means,
            icf,
            x,
            gamma: 1.0,
            m: 0.0,
        }
    }
}

#[differentiate(wrt(alphas, means, icf))]
pub fn gmm_objective(
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
            qdiags[k][j] = icf[k][j].exp();
        }
        sum_qs[k] = s;
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
    let mut amax = alphas[0];
    for k in 1..K {
        if alphas[k] > amax {
            amax = alphas[k];
        }
    }
    let mut asum = 0.0;
    for k in 0..K {
        asum += (alphas[k] - amax).exp();
    }
    let lse_alphas = amax + asum.ln();
    let mut prior = 0.0;
    for k in 0..K {
        let mut fro = 0.0;
        for j in 0..D {
            let q = qdiags[k][j];
            fro += q * q;
        }
        for j in D..ICF {
            fro += icf[k][j] * icf[k][j];
        }
        prior += 0.5 * wishart_gamma * wishart_gamma * fro - wishart_m * sum_qs[k];
    }
    let cst = -(n as f64) * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    cst + slse - (n as f64) * lse_alphas + prior
}

pub type Grad = ([f64; K], [[f64; D]; K], [[f64; ICF]; K]);

/// Hand-written reverse mode, as an expert writes it: per data point it keeps the K centred
/// points, their products with Q and the K main terms (stack arrays), takes the softmax
/// weights from one pass of exponentials and back-propagates through Q by hand.
#[inline]
pub fn gmm_grad_hand(
    alphas: &[f64; K],
    means: &[[f64; D]; K],
    icf: &[[f64; ICF]; K],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
) -> (f64, Grad) {
    let n = x.len() / D;
    let mut ga = [0.0; K];
    let mut gm = [[0.0; D]; K];
    let mut gq = [[0.0; ICF]; K];
    let mut sum_qs = [0.0; K];
    let mut qd = [[0.0; D]; K];
    for k in 0..K {
        let mut s = 0.0;
        for j in 0..D {
            s += icf[k][j];
            qd[k][j] = icf[k][j].exp();
        }
        sum_qs[k] = s;
    }
    let mut slse = 0.0;
    let mut xc = [[0.0; D]; K];
    let mut qxc = [[0.0; D]; K];
    let mut main = [0.0; K];
    for i in 0..n {
        let xi = &x[i * D..i * D + D];
        let mut mx = f64::NEG_INFINITY;
        for k in 0..K {
            let xck = &mut xc[k];
            let qk = &mut qxc[k];
            for j in 0..D {
                xck[j] = xi[j] - means[k][j];
                qk[j] = qd[k][j] * xck[j];
            }
            let mut li = D;
            for c in 0..D {
                for r in c + 1..D {
                    qk[r] += icf[k][li] * xck[c];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            for j in 0..D {
                sq += qk[j] * qk[j];
            }
            let v = alphas[k] + sum_qs[k] - 0.5 * sq;
            main[k] = v;
            if v > mx {
                mx = v;
            }
        }
        let mut se = 0.0;
        for k in 0..K {
            main[k] = (main[k] - mx).exp();
            se += main[k];
        }
        slse += mx + se.ln();
        let inv = 1.0 / se;
        for k in 0..K {
            let w = main[k] * inv;
            ga[k] += w;
            let mut dxc = [0.0; D];
            let mut dq = [0.0; D];
            for j in 0..D {
                dq[j] = -w * qxc[k][j];
                let t = dq[j] * qd[k][j];
                dxc[j] = t;
                gq[k][j] += w + t * xc[k][j];
            }
            let mut li = D;
            for c in 0..D {
                for r in c + 1..D {
                    gq[k][li] += dq[r] * xc[k][c];
                    dxc[c] += dq[r] * icf[k][li];
                    li += 1;
                }
            }
            for j in 0..D {
                gm[k][j] -= dxc[j];
            }
        }
    }
    let mut amax = alphas[0];
    for k in 1..K {
        if alphas[k] > amax {
            amax = alphas[k];
        }
    }
    let mut ea = [0.0; K];
    let mut asum = 0.0;
    for k in 0..K {
        ea[k] = (alphas[k] - amax).exp();
        asum += ea[k];
    }
    let lse_alphas = amax + asum.ln();
    let nf = n as f64;
    let g2 = wishart_gamma * wishart_gamma;
    let mut prior = 0.0;
    for k in 0..K {
        ga[k] -= nf * ea[k] / asum;
        let mut fro = 0.0;
        for j in 0..D {
            let q = qd[k][j];
            fro += q * q;
            gq[k][j] += g2 * q * q - wishart_m;
        }
        for j in D..ICF {
            fro += icf[k][j] * icf[k][j];
            gq[k][j] += g2 * icf[k][j];
        }
        prior += 0.5 * g2 * fro - wishart_m * sum_qs[k];
    }
    let cst = -nf * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    (cst + slse - nf * lse_alphas + prior, (ga, gm, gq))
}

/// Hand-written forward mode along (ta, tm, tq).
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn gmm_tangent_hand(
    alphas: &[f64; K],
    means: &[[f64; D]; K],
    icf: &[[f64; ICF]; K],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
    ta: &[f64; K],
    tm: &[[f64; D]; K],
    tq: &[[f64; ICF]; K],
) -> (f64, f64) {
    let n = x.len() / D;
    let mut sum_qs = [0.0; K];
    let mut tsum_qs = [0.0; K];
    let mut qd = [[0.0; D]; K];
    for k in 0..K {
        let mut s = 0.0;
        let mut ts = 0.0;
        for j in 0..D {
            s += icf[k][j];
            ts += tq[k][j];
            qd[k][j] = icf[k][j].exp();
        }
        sum_qs[k] = s;
        tsum_qs[k] = ts;
    }
    let mut slse = 0.0;
    let mut tslse = 0.0;
    let mut main = [0.0; K];
    let mut tmain = [0.0; K];
    for i in 0..n {
        let xi = &x[i * D..i * D + D];
        let mut mx = f64::NEG_INFINITY;
        for k in 0..K {
            let mut xc = [0.0; D];
            let mut txc = [0.0; D];
            let mut qk = [0.0; D];
            let mut tqk = [0.0; D];
            for j in 0..D {
                xc[j] = xi[j] - means[k][j];
                txc[j] = -tm[k][j];
                qk[j] = qd[k][j] * xc[j];
                tqk[j] = qd[k][j] * (tq[k][j] * xc[j] + txc[j]);
            }
            let mut li = D;
            for c in 0..D {
                for r in c + 1..D {
                    qk[r] += icf[k][li] * xc[c];
                    tqk[r] += tq[k][li] * xc[c] + icf[k][li] * txc[c];
                    li += 1;
                }
            }
            let mut sq = 0.0;
            let mut tsq = 0.0;
            for j in 0..D {
                sq += qk[j] * qk[j];
                tsq += qk[j] * tqk[j];
            }
            let v = alphas[k] + sum_qs[k] - 0.5 * sq;
            main[k] = v;
            tmain[k] = ta[k] + tsum_qs[k] - tsq;
            if v > mx {
                mx = v;
            }
        }
        let mut se = 0.0;
        let mut tse = 0.0;
        for k in 0..K {
            let e = (main[k] - mx).exp();
            se += e;
            tse += e * tmain[k];
        }
        slse += mx + se.ln();
        tslse += tse / se;
    }
    let mut amax = alphas[0];
    for k in 1..K {
        if alphas[k] > amax {
            amax = alphas[k];
        }
    }
    let mut asum = 0.0;
    let mut tasum = 0.0;
    for k in 0..K {
        let e = (alphas[k] - amax).exp();
        asum += e;
        tasum += e * ta[k];
    }
    let lse_alphas = amax + asum.ln();
    let tlse_alphas = tasum / asum;
    let g2 = wishart_gamma * wishart_gamma;
    let mut prior = 0.0;
    let mut tprior = 0.0;
    for k in 0..K {
        let mut fro = 0.0;
        let mut tfro = 0.0;
        for j in 0..D {
            let q = qd[k][j];
            fro += q * q;
            tfro += q * q * tq[k][j];
        }
        for j in D..ICF {
            fro += icf[k][j] * icf[k][j];
            tfro += icf[k][j] * tq[k][j];
        }
        prior += 0.5 * g2 * fro - wishart_m * sum_qs[k];
        tprior += g2 * tfro - wishart_m * tsum_qs[k];
    }
    let nf = n as f64;
    let cst = -nf * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    (
        cst + slse - nf * lse_alphas + prior,
        tslse - nf * tlse_alphas + tprior,
    )
}

/// The same objective over num-dual's numbers (the same running log-sum-exp).
pub fn gmm_objective_nd<T: DualNum<f64> + Copy + PartialOrd>(
    alphas: &[T; K],
    means: &[[T; D]; K],
    icf: &[[T; ICF]; K],
    x: &[f64],
    wishart_gamma: f64,
    wishart_m: f64,
) -> T {
    let n = x.len() / D;
    let mut sum_qs = [T::zero(); K];
    let mut qdiags = [[T::zero(); D]; K];
    for k in 0..K {
        let mut s = T::zero();
        for j in 0..D {
            s += icf[k][j];
            qdiags[k][j] = icf[k][j].exp();
        }
        sum_qs[k] = s;
    }
    let mut slse = T::zero();
    for i in 0..n {
        let mut mx = T::zero();
        let mut se = T::zero();
        for k in 0..K {
            let mut xc = [T::zero(); D];
            for j in 0..D {
                xc[j] = -means[k][j] + x[i * D + j];
            }
            let mut qxc = [T::zero(); D];
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
            let mut sq = T::zero();
            for j in 0..D {
                sq += qxc[j] * qxc[j];
            }
            let v = alphas[k] + sum_qs[k] - sq * 0.5;
            if k == 0 {
                mx = v;
                se = T::one();
            } else if v > mx {
                se = se * (mx - v).exp() + 1.0;
                mx = v;
            } else {
                se += (v - mx).exp();
            }
        }
        slse += mx + se.ln();
    }
    let mut amax = alphas[0];
    for k in 1..K {
        if alphas[k] > amax {
            amax = alphas[k];
        }
    }
    let mut asum = T::zero();
    for k in 0..K {
        asum += (alphas[k] - amax).exp();
    }
    let lse_alphas = amax + asum.ln();
    let mut prior = T::zero();
    for k in 0..K {
        let mut fro = T::zero();
        for j in 0..D {
            let q = qdiags[k][j];
            fro += q * q;
        }
        for j in D..ICF {
            fro += icf[k][j] * icf[k][j];
        }
        prior += fro * (0.5 * wishart_gamma * wishart_gamma) - sum_qs[k] * wishart_m;
    }
    let nf = n as f64;
    let cst = -nf * (D as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    slse + cst - lse_alphas * nf + prior
}
