// Reductions as statements of their block: `let s = R;` accumulates into `s`, `R` inside an expression or as the body's value into a fresh `__accN` just before (`front/hoist.rs`); `_grad` runs the top-level one in one pass, and the element copy `w` is read again from `m[i]` instead of taped.
#[differentiate]
fn layer(m: &[[f64; 3]; 2], x: &[f64; 3]) -> f64 {
    let mut h = [0.0; 2];
    for i in 0..2 {
        let s: f64 = x.iter().map(|v| v * v).sum();
        h[i] = (s + m[i].iter().zip(x).map(|(w, v)| w * v).sum::<f64>()).tanh();
    }
    0.5 * h.iter().map(|a| a * a).sum::<f64>()
}
