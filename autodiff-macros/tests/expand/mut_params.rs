#[differentiate]
fn momentum_step(p: &mut Params, m: &mut Params, x: &[f64; 2], y: f64, lr: f64, beta: f64) -> f64 {
    let e = p.w[0] * x[0] + p.w[1] * x[1] + p.b - y;
    m.b = beta * m.b + e;
    p.b -= lr * m.b;
    0.5 * e * e
}
