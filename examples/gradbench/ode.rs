//! `ode`: fourth-order Runge-Kutta on `y0' = x0, yi' = xi * y(i-1)`, and the gradient of the
//! last component of the final state with respect to `x`.

use crate::util::{field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// The reference's `runge_kutta` on the reference's `ode_fun` (`z0 = x0`, `zi = xi * y(i-1)`),
/// with the same operations in the same order. Component `i` of every stage reads only component
/// `i - 1` of the stage before, so one pass per step computes the four stages and the update
/// together, carrying component `i - 1` along: no stage vectors, no calls, and a reverse sweep that
/// keeps four numbers per component and step.
#[differentiate(reverse)]
pub fn primal(x: &[f64], s: usize) -> Vec<f64> {
    let n = x.len();
    let tf = 2.0;
    let h = tf / (s as f64);
    let mut yf = vec![0.0; n];
    for _step in 0..s {
        // component i - 1 of the state and of the stages k1, k2, k3 (component 0: all x0)
        let mut yp = yf[0];
        let mut k1p = x[0];
        let mut k2p = x[0];
        let mut k3p = x[0];
        yf[0] += h * (x[0] + 2.0 * x[0] + 2.0 * x[0] + x[0]) / 6.0;
        for i in 1..n {
            let k1 = x[i] * yp;
            let k2 = x[i] * (yp + h * k1p / 2.0);
            let k3 = x[i] * (yp + h * k2p / 2.0);
            let k4 = x[i] * (yp + h * k3p);
            yp = yf[i];
            yf[i] += h * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0;
            k1p = k1;
            k2p = k2;
            k3p = k3;
        }
    }
    yf
}

/// The scalar the `gradient` function differentiates: the last component of the final state.
#[allow(dead_code)]
#[differentiate(reverse)]
pub fn last(x: &[f64], s: usize) -> f64 {
    let y = primal(x, s);
    y[y.len() - 1]
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let x = vec_of(field(input, "x")?)?;
    let s = usize_of(field(input, "s")?)?;
    match function {
        "primal" => {
            let (y, t) = crate::runs(input, || primal(&x, s));
            Ok((json!(y), t))
        }
        "gradient" => {
            let (g, t) = crate::runs(input, || last_grad(&x, s).1);
            Ok((json!(g), t))
        }
        _ => Err(crate::util::unknown("ode", function)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradient_matches_finite_differences() {
        let x = vec![0.3, 0.9, 0.5, 0.7];
        let g = super::last_grad(&x, 3).1;
        crate::tests::check_fd(|x| super::last(x, 3), &x, &g, 1e-6);
    }
}

#[cfg(test)]
mod scaling {
    /// Prints the gradient's cost per step as the number of steps grows (run with --ignored).
    #[test]
    #[ignore]
    fn gradient_cost_per_step() {
        let x: Vec<f64> = (0..1000).map(|i| 0.5 + (i % 7) as f64 / 14.0).collect();
        for s in [10, 20, 40, 80] {
            let t = std::time::Instant::now();
            let _ = super::last_grad(&x, s);
            let g = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let _ = super::primal(&x, s);
            let p = t.elapsed().as_secs_f64();
            println!(
                "s={s} grad {:.3} ms  primal {:.3} ms  ratio {:.1}",
                g * 1e3,
                p * 1e3,
                g / p
            );
        }
    }
}
