#[differentiate(reverse)]
fn product_until(x: &[f64; 4], limit: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..4 {
        if p > limit {
            return p;
        }
        p = p * x[i];
    }
    p
}
