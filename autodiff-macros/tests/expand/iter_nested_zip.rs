// A zip of a zip with a nested tuple pattern: one index loop over the shortest length.
#[differentiate(wrt(w))]
fn weighted_sq_error(w: &[f64], pred: &[f64], obs: &[f64]) -> f64 {
    w.iter()
        .zip(pred.iter().zip(obs))
        .map(|(wi, (p, o))| wi * (p - o).powi(2))
        .sum()
}
