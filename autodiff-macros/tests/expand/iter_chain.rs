// `chain`: one loop per part, the same body; `count` of a chain is passive (std runs it).
#[differentiate]
fn chained(a: &[f64], b: &[f64]) -> f64 {
    let s: f64 = a.iter().chain(b.iter()).map(|v| v * v).sum();
    let n = a.iter().chain(b.iter()).filter(|v| **v > 0.0).count();
    s * n as f64
}
