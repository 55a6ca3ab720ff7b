// Rows of `&[Vec<F>]` in a map whose closure runs a chain over its row: `&w1[k]` in place of the row.
#[differentiate(wrt(w1))]
fn layer(w1: &[Vec<f64>], x: &[f64]) -> f64 {
    let hidden: Vec<f64> = w1
        .iter()
        .map(|row| row.iter().zip(x).map(|(w, xi)| w * xi).sum::<f64>().tanh())
        .collect();
    hidden[0] * hidden[1]
}
