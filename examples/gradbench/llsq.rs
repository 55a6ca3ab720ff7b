//! `llsq`: a linear least-squares objective (polynomial fit of the sign function).

use crate::util::{field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

#[differentiate(reverse)]
pub fn llsq(x: &[f64], n: usize) -> f64 {
    let m = x.len();
    let mut sum = 0.0;
    for i in 0..n {
        let ti = -1.0 + (i as f64) * 2.0 / ((n as f64) - 1.0);
        let si = if ti > 0.0 {
            1.0
        } else if ti < 0.0 {
            -1.0
        } else {
            0.0
        };
        // sum_j x[j] ti^j by Horner's rule, the even and the odd coefficients as two
        // independent chains in ti^2: nothing is overwritten that the reverse sweep reads
        // (a running power `mul *= ti` would be stored once per term), and the two chains
        // keep the primal as fast as the running-power sum
        let t2 = ti * ti;
        let mut pe = if m % 2 == 1 { x[m - 1] } else { 0.0 };
        let mut po = 0.0;
        for jj in (0..m / 2).rev() {
            pe = pe * t2 + x[2 * jj];
            po = po * t2 + x[2 * jj + 1];
        }
        let inner = si - (pe + ti * po);
        sum += inner * inner;
    }
    sum / 2.0
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let x = vec_of(field(input, "x")?)?;
    let n = usize_of(field(input, "n")?)?;
    match function {
        "primal" => {
            let (y, t) = crate::runs(input, || llsq(&x, n));
            Ok((json!(y), t))
        }
        "gradient" => {
            let (g, t) = crate::runs(input, || llsq_grad(&x, n).1);
            Ok((json!(g), t))
        }
        _ => Err(crate::util::unknown("llsq", function)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradient_matches_finite_differences() {
        let x = vec![0.3, -0.2, 0.5, 0.1];
        let g = super::llsq_grad(&x, 9).1;
        crate::tests::check_fd(|x| super::llsq(x, 9), &x, &g, 1e-6);
        // an odd number of coefficients (the even chain starts from the last one)
        let x = vec![0.3, -0.2, 0.5, 0.1, -0.4];
        let g = super::llsq_grad(&x, 9).1;
        crate::tests::check_fd(|x| super::llsq(x, 9), &x, &g, 1e-6);
    }
}
