//! `det`: the determinant by expansion by minors (recursive, as GradBench's reference), and its
//! gradient by the generated reverse mode, `det_of_minor_grad`: at each call to itself the
//! reverse sweep calls the recursive pullback, which runs that minor's expansion again (one more
//! primal evaluation per level of the recursion; docs/SUBSET.md, "Recursion").

use crate::util::{field, usize_of, vec_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// The determinant of the minor of the `n × n` matrix `a` of size `m` left once the rows and
/// columns whose bits are set in `rows` and `cols` are removed, expanded along its first row:
/// cmpad's `det_of_minor`, with the same operations in the same order, the linked lists of the
/// remaining rows and columns replaced by bit sets (passive integers, so the recursion allocates
/// nothing; `n` is at most 64).
#[differentiate]
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
    det_of_minor_grad(a, ell, ell, 0, 0).1
}

/// The gradient by forward mode, one `det_of_minor_jvp` per entry of `A` (ℓ² evaluations): what
/// this module did before reverse mode went through recursion, kept to compare against.
#[cfg(test)]
pub fn gradient_forward(a: &[f64], ell: usize) -> Vec<f64> {
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
        for ell in 1..=6 {
            let a: Vec<f64> = (0..ell * ell)
                .map(|k| ((k * 37 + 11) % 19) as f64 / 9.0 - 1.0)
                .collect();
            let (g, f) = (super::gradient(&a, ell), super::gradient_forward(&a, ell));
            for (x, y) in g.iter().zip(&f) {
                assert!(
                    (x - y).abs() <= 1e-12 * (1.0 + y.abs()),
                    "ell {ell}: {g:?} vs {f:?}"
                );
            }
        }
    }

    /// A measurement, not a check: the gradient's time by reverse mode (`det_of_minor_grad`)
    /// and by forward mode (ℓ² `_jvp`s), against the primal's, for ℓ = 4..9:
    /// `cargo test --release --example gradbench det::tests::gradient_timing -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore]
    fn gradient_timing() {
        fn best<T>(mut f: impl FnMut() -> T) -> f64 {
            let mut best = f64::INFINITY;
            let start = std::time::Instant::now();
            let mut runs = 0;
            while runs < 5 || (start.elapsed().as_secs_f64() < 1.0 && runs < 1000) {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                best = best.min(t.elapsed().as_secs_f64());
                runs += 1;
            }
            best
        }
        println!(
            "| ℓ | primal | reverse (`_grad`) | forward (ℓ² `_jvp`) | reverse / primal | forward / reverse |"
        );
        println!("|---|---|---|---|---|---|");
        for ell in 4..=9 {
            let a: Vec<f64> = (0..ell * ell)
                .map(|k| ((k * 7919) % 101) as f64 / 50.0 - 1.0)
                .collect();
            let p = best(|| super::det(&a, ell));
            let r = best(|| super::gradient(&a, ell));
            let f = best(|| super::gradient_forward(&a, ell));
            println!(
                "| {ell} | {:.3} ms | {:.3} ms | {:.3} ms | {:.1} | {:.1} |",
                p * 1e3,
                r * 1e3,
                f * 1e3,
                r / p,
                f / r
            );
        }
    }
}
