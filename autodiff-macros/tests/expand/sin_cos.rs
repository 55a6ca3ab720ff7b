#[differentiate]
fn sin_cos(x: f64, r: f64) -> f64 {
    let (s, c) = x.sin_cos();
    r * s * c + f64::sin_cos(r * x).1
}
