//! `lstm`: the loss of a multi-layer LSTM predicting the next character of a text, and its
//! gradient with respect to the main and extra parameters.

use crate::util::{field, matrix_of};
use autodiff::prelude::*;
use serde_json::{Value, json};

/// `main_params` is `2l × 4b` (per layer: weights then biases of the forget, input, output gates
/// and the change), `extra_params` is `3 × b` (input weight, output weight, output bias), `state`
/// is `2l × b` (per layer: hidden then cell), `sequence` is `c × b`; all row-major.
#[differentiate(reverse, wrt(main_params, extra_params))]
pub fn objective(
    l: usize,
    c: usize,
    b: usize,
    main_params: &[f64],
    extra_params: &[f64],
    state: &[f64],
    sequence: &[f64],
) -> f64 {
    let mut st = vec![0.0; 2 * l * b];
    for i in 0..2 * l * b {
        st[i] = state[i];
    }
    let mut input = vec![0.0; b];
    let mut ypred = vec![0.0; b];
    let mut total = 0.0;
    let mut count = 0;
    for t in 0..c - 1 {
        for i in 0..b {
            input[i] = sequence[t * b + i] * extra_params[i];
        }
        for layer in 0..l {
            let w = 8 * b * layer;
            let h = 2 * b * layer;
            for i in 0..b {
                let forget = 1.0
                    / (1.0 + (-(input[i] * main_params[w + i] + main_params[w + 4 * b + i])).exp());
                let ingate = 1.0
                    / (1.0
                        + (-(st[h + i] * main_params[w + b + i] + main_params[w + 5 * b + i]))
                            .exp());
                let outgate = 1.0
                    / (1.0
                        + (-(input[i] * main_params[w + 2 * b + i] + main_params[w + 6 * b + i]))
                            .exp());
                let change =
                    (st[h + i] * main_params[w + 3 * b + i] + main_params[w + 7 * b + i]).tanh();
                st[h + b + i] = st[h + b + i] * forget + ingate * change;
                st[h + i] = outgate * st[h + b + i].tanh();
            }
            for i in 0..b {
                input[i] = st[h + i];
            }
        }
        for i in 0..b {
            ypred[i] = input[i] * extra_params[b + i] + extra_params[2 * b + i];
        }
        let mut sum = 0.0;
        for i in 0..b {
            sum += ypred[i].exp();
        }
        sum += 2.0;
        let lse = sum.ln();
        for i in 0..b {
            total += sequence[(t + 1) * b + i] * (ypred[i] - lse);
        }
        count += b;
    }
    -total / (count as f64)
}

pub fn evaluate(function: &str, input: &Value) -> crate::Answer {
    let (main_params, l2) = matrix_of(field(input, "main_params")?)?;
    let (extra_params, _) = matrix_of(field(input, "extra_params")?)?;
    let (state, _) = matrix_of(field(input, "state")?)?;
    let (sequence, c) = matrix_of(field(input, "sequence")?)?;
    let l = l2 / 2;
    let b = main_params.len() / l2 / 4;
    match function {
        "objective" => {
            let (y, t) = crate::runs(input, || {
                objective(l, c, b, &main_params, &extra_params, &state, &sequence)
            });
            Ok((json!(y), t))
        }
        "jacobian" => {
            let ((gm, ge), t) = crate::runs(input, || {
                objective_grad(l, c, b, &main_params, &extra_params, &state, &sequence).1
            });
            let mut g = gm;
            g.extend(ge);
            Ok((json!(g), t))
        }
        _ => Err(crate::util::unknown("lstm", function)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let (l, c, b) = (2, 4, 3);
        let mp: Vec<f64> = (0..8 * l * b)
            .map(|i| ((i * 37 % 17) as f64) / 17.0)
            .collect();
        let ep: Vec<f64> = (0..3 * b).map(|i| ((i * 13 % 7) as f64) / 7.0).collect();
        let st: Vec<f64> = (0..2 * l * b)
            .map(|i| ((i * 5 % 11) as f64) / 11.0)
            .collect();
        let seq: Vec<f64> = (0..c * b).map(|i| ((i * 7 % 3) % 2) as f64).collect();
        let (_, (gm, ge)) = objective_grad(l, c, b, &mp, &ep, &st, &seq);
        crate::tests::check_fd(|v| objective(l, c, b, v, &ep, &st, &seq), &mp, &gm, 1e-6);
        crate::tests::check_fd(|v| objective(l, c, b, &mp, v, &st, &seq), &ep, &ge, 1e-6);
    }
}
