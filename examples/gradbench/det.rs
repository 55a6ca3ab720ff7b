//! `det`: the determinant by expansion by minors (recursive, as GradBench's reference), and its
//! gradient. The macro's reverse mode cannot differentiate a recursive function (the pullback
//! type would contain itself), so the gradient is computed with the generated forward mode,
//! one `det_of_minor_jvp` per entry of `A`.

use crate::util::{field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// The determinant of the minor of the `n × n` matrix `a` of size `m` whose rows and columns
/// are given by the linked lists `r` and `c` (heads at index `n`), as in cmpad's
/// `det_of_minor`; the lists are passed by value instead of being modified and restored.
#[differentiate(forward)]
pub fn det_of_minor(a: &[f64], n: usize, m: usize, r: Vec<usize>, c: Vec<usize>) -> f64 {
    let r0 = r[n];
    let mut cj = c[n];
    if m == 1 {
        return a[r0 * n + cj];
    }
    let mut r = r;
    let mut c = c;
    let mut det_m = 0.0;
    let mut sign = 1;
    r[n] = r[r0];
    let mut cj1 = n;
    for _j in 0..m {
        let m0j = a[r0 * n + cj];
        c[cj1] = c[cj];
        let det_s = det_of_minor(a, n, m - 1, r.clone(), c.clone());
        c[cj1] = cj;
        if sign > 0 {
            det_m = det_m + m0j * det_s;
        } else {
            det_m = det_m - m0j * det_s;
        }
        cj1 = cj;
        cj = c[cj];
        sign = -sign;
    }
    det_m
}

pub fn det(a: &[f64], ell: usize) -> f64 {
    let head: Vec<usize> = (0..=ell).map(|i| (i + 1) % (ell + 1)).collect();
    det_of_minor(a, ell, ell, head.clone(), head)
}

pub fn gradient(a: &[f64], ell: usize) -> Vec<f64> {
    let head: Vec<usize> = (0..=ell).map(|i| (i + 1) % (ell + 1)).collect();
    let mut t = vec![0.0; a.len()];
    (0..a.len())
        .map(|k| {
            t[k] = 1.0;
            let d = det_of_minor_jvp(a, ell, ell, head.clone(), head.clone(), &t).1;
            t[k] = 0.0;
            d
        })
        .collect()
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let a = vec_of(field(input, "A")?)?;
    let ell = usize_of(field(input, "ell")?)?;
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
