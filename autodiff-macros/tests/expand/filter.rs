// `filter` on element loops and reductions: the body runs under the predicate, read as passive tokens.
#[differentiate]
fn filtered(xs: &[f64], w: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for &x in xs.iter().filter(|v| **v > 0.0) {
        s += x * x;
    }
    let pos: f64 = xs.iter().zip(w.iter()).filter(|(a, _)| **a < 0.5).map(|(a, b)| a * b).sum();
    s + pos
}
