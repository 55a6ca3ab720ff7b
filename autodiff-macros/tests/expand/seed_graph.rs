#[differentiate]
fn f(x1: f64, x2: f64) -> f64 {
    x1 * x2 + x1.sin()
}
