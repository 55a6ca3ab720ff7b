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
