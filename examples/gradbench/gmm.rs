//! `gmm`: the log-likelihood of a Gaussian mixture model with a Wishart prior, and its gradient
//! with respect to `alpha`, `mu`, `q` and `l`.

use crate::util::{f64_of, field, matrix_of, rows, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9): a constant of the prior, never differentiated.
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The constant term of the Wishart prior.
pub fn wishart_constant(d: usize, k: usize, gamma: f64, m: usize) -> f64 {
    let n = (d + m + 1) as f64;
    let p = d as f64;
    let mut lgd = 0.25 * p * (p - 1.0) * std::f64::consts::PI.ln();
    for j in 1..=d {
        lgd += ln_gamma(0.5 * n + 0.5 * (1.0 - j as f64));
    }
    let c = n * p * (gamma.ln() - 0.5 * 2f64.ln()) - lgd;
    k as f64 * c
}

/// `alpha` is `k`, `mu` and `q` are `k × d`, `l` is `k × d(d-1)/2`, `x` is `n × d`.
#[differentiate(reverse, wrt(alpha, mu, q, l))]
pub fn objective(
    d: usize,
    k: usize,
    n: usize,
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    gamma: f64,
    m: usize,
) -> f64 {
    let l_sz = d * (d - 1) / 2;
    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * std::f64::consts::PI).ln();
    let mut qdiags = vec![0.0; d * k];
    let mut sum_qs = vec![0.0; k];
    for i in 0..d * k {
        qdiags[i] = q[i].exp();
    }
    for i in 0..k {
        for j in 0..d {
            sum_qs[i] += q[i * d + j];
        }
    }
    let mut xc = vec![0.0; d];
    let mut qxc = vec![0.0; d];
    let mut main_term = vec![0.0; k];
    let mut slse = 0.0;
    for ix in 0..n {
        for ik in 0..k {
            for id in 0..d {
                xc[id] = x[ix * d + id] - mu[ik * d + id];
            }
            for id in 0..d {
                qxc[id] = qdiags[ik * d + id] * xc[id];
            }
            let mut lp = ik * l_sz;
            for i in 0..d {
                for j in i + 1..d {
                    qxc[j] += l[lp] * xc[i];
                    lp += 1;
                }
            }
            let mut sq = 0.0;
            for id in 0..d {
                sq += qxc[id] * qxc[id];
            }
            main_term[ik] = alpha[ik] + sum_qs[ik] - 0.5 * sq;
        }
        // log-sum-exp, shifted by its (constant) maximum
        let mut mx = stop_gradient(main_term[0]);
        for ik in 1..k {
            mx = mx.max(stop_gradient(main_term[ik]));
        }
        let mut se = 0.0;
        for ik in 0..k {
            se += (main_term[ik] - mx).exp();
        }
        slse += se.ln() + mx;
    }
    let mut amx = stop_gradient(alpha[0]);
    for ik in 1..k {
        amx = amx.max(stop_gradient(alpha[ik]));
    }
    let mut ase = 0.0;
    for ik in 0..k {
        ase += (alpha[ik] - amx).exp();
    }
    let lse_alpha = ase.ln() + amx;
    // the Wishart prior
    let mut prior = 0.0;
    for ik in 0..k {
        let mut frob = 0.0;
        for id in 0..d {
            frob += qdiags[ik * d + id] * qdiags[ik * d + id];
        }
        for i in 0..l_sz {
            frob += l[ik * l_sz + i] * l[ik * l_sz + i];
        }
        prior += 0.5 * gamma * gamma * frob - (m as f64) * sum_qs[ik];
    }
    constant + slse - (n as f64) * lse_alpha - prior + wishart_constant(d, k, gamma, m)
}

pub struct Input {
    d: usize,
    k: usize,
    n: usize,
    alpha: Vec<f64>,
    mu: Vec<f64>,
    q: Vec<f64>,
    l: Vec<f64>,
    x: Vec<f64>,
    gamma: f64,
    m: usize,
}

fn parse(input: &Value) -> Result<Input, String> {
    Ok(Input {
        d: usize_of(field(input, "d")?)?,
        k: usize_of(field(input, "k")?)?,
        n: usize_of(field(input, "n")?)?,
        alpha: vec_of(field(input, "alpha")?)?,
        mu: matrix_of(field(input, "mu")?)?.0,
        q: matrix_of(field(input, "q")?)?.0,
        l: matrix_of(field(input, "l")?)?.0,
        x: matrix_of(field(input, "x")?)?.0,
        gamma: f64_of(field(input, "gamma")?)?,
        m: usize_of(field(input, "m")?)?,
    })
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let i = parse(input)?;
    let f = || {
        objective(
            i.d, i.k, i.n, &i.alpha, &i.mu, &i.q, &i.l, &i.x, i.gamma, i.m,
        )
    };
    match function {
        "objective" => {
            let (y, t) = crate::runs(input, f);
            Ok((json!(y), t))
        }
        "jacobian" => {
            let g = || {
                objective_grad(
                    i.d, i.k, i.n, &i.alpha, &i.mu, &i.q, &i.l, &i.x, i.gamma, i.m,
                )
                .1
            };
            let ((ga, gmu, gq, gl), t) = crate::runs(input, g);
            let l_sz = i.d * (i.d - 1) / 2;
            let out = json!({
                "alpha": ga,
                "mu": rows(&gmu, i.d),
                "q": rows(&gq, i.d),
                "l": if l_sz == 0 { Value::Array(vec![json!([]); i.k]) } else { rows(&gl, l_sz) },
            });
            Ok((out, t))
        }
        _ => Err(crate::util::unknown("gmm", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let (d, k, n) = (3, 2, 4);
        let alpha = vec![0.3, -0.2];
        let mu = vec![0.1, 0.5, -0.3, 0.2, -0.1, 0.4];
        let q = vec![0.1, -0.2, 0.3, 0.05, 0.1, -0.15];
        let l = vec![0.2, -0.1, 0.3, 0.1, 0.05, -0.2];
        let x = vec![
            0.5, 0.1, -0.2, 0.3, 0.3, 0.1, -0.4, 0.2, 0.6, 0.0, -0.1, 0.2,
        ];
        let (_, (ga, gmu, gq, gl)) = objective_grad(d, k, n, &alpha, &mu, &q, &l, &x, 1.0, 0);
        let tol = 1e-5;
        crate::tests::check_fd(
            |a| objective(d, k, n, a, &mu, &q, &l, &x, 1.0, 0),
            &alpha,
            &ga,
            tol,
        );
        crate::tests::check_fd(
            |v| objective(d, k, n, &alpha, v, &q, &l, &x, 1.0, 0),
            &mu,
            &gmu,
            tol,
        );
        crate::tests::check_fd(
            |v| objective(d, k, n, &alpha, &mu, v, &l, &x, 1.0, 0),
            &q,
            &gq,
            tol,
        );
        crate::tests::check_fd(
            |v| objective(d, k, n, &alpha, &mu, &q, v, &x, 1.0, 0),
            &l,
            &gl,
            tol,
        );
    }

    #[test]
    fn ln_gamma_is_right() {
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-12);
    }
}
