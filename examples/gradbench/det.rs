//! `det`: the determinant by expansion by minors (recursive, as GradBench's reference), and its
//! gradient. The macro's reverse mode cannot differentiate a recursive function (the pullback
//! type would contain itself), so the gradient is computed with the generated forward mode,
//! one `det_of_minor_jvp` per entry of `A`.

use crate::util::{field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// The determinant of the minor of the `n × n` matrix `a` of size `m` left once the rows and
/// columns whose bits are set in `rows` and `cols` are removed, expanded along its first row:
/// cmpad's `det_of_minor`, with the same operations in the same order, the linked lists of the
/// remaining rows and columns replaced by bit sets (passive integers, so the recursion allocates
/// nothing; `n` is at most 64).
#[differentiate(forward)]
pub fn det_of_minor(a: &[f64], n: usize, m: usize, rows: u64, cols: u64) -> f64 {
    let r0 = (!rows).trailing_zeros() as usize;
    if m == 1 {
        let c0 = (!cols).trailing_zeros() as usize;
        return a[r0 * n + c0];
    }
    let mut det_m = 0.0;
    let mut sign = 1;
    for j in 0..n {
        if cols & (1 << j) == 0 {
            let m0j = a[r0 * n + j];
            let det_s = det_of_minor(a, n, m - 1, rows | (1 << r0), cols | (1 << j));
            if sign > 0 {
                det_m = det_m + m0j * det_s;
            } else {
                det_m = det_m - m0j * det_s;
            }
            sign = -sign;
        }
    }
    det_m
}

pub fn det(a: &[f64], ell: usize) -> f64 {
    det_of_minor(a, ell, ell, 0, 0)
}

pub fn gradient(a: &[f64], ell: usize) -> Vec<f64> {
    let mut t = vec![0.0; a.len()];
    (0..a.len())
        .map(|k| {
            t[k] = 1.0;
            let d = det_of_minor_jvp(a, ell, ell, 0, 0, &t).1;
            t[k] = 0.0;
            d
        })
        .collect()
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let a = vec_of(field(input, "A")?)?;
    let ell = usize_of(field(input, "ell")?)?;
    if ell == 0 || ell > 64 || a.len() != ell * ell {
        return Err(format!(
            "A must be ell × ell with 1 <= ell <= 64, ell = {ell}"
        ));
    }
    match function {
        "primal" => {
            let (y, t) = crate::runs(input, || det(&a, ell));
            Ok((json!(y), t))
        }
        "gradient" => {
            let (g, t) = crate::runs(input, || gradient(&a, ell));
            Ok((json!(g), t))
        }
        _ => Err(crate::util::unknown("det", function)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn determinant_and_gradient() {
        let a = vec![2.0, 1.0, 0.5, -1.0, 3.0, 0.2, 0.4, 0.1, 1.5];
        let d = super::det(&a, 3);
        let expect = 2.0 * (3.0 * 1.5 - 0.2 * 0.1) - 1.0 * (-1.0 * 1.5 - 0.2 * 0.4)
            + 0.5 * (-1.0 * 0.1 - 3.0 * 0.4);
        assert!((d - expect).abs() < 1e-12);
        let g = super::gradient(&a, 3);
        crate::tests::check_fd(|a| super::det(a, 3), &a, &g, 1e-6);
    }
}
