// Position adapters after the sources: the index loop runs (0..len) through the same adapters.
#[differentiate]
fn adapted(xs: &[f64], w: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for (i, &x) in xs.iter().enumerate().skip(1).step_by(2) {
        s += x * w[i];
    }
    for x in xs.iter().rev().take(3) {
        s = s * 0.5 + x.sin();
    }
    s
}
