// A map used as a receiver (hoisted into statements first); `*x.last().unwrap()` and
// `x.first().copied().unwrap_or(d)` as the elements; `*x.iter().max_by(..).unwrap()` as the
// running value of the copied items.
#[differentiate]
fn ends(x: &[f64], a: [f64; 2]) -> f64 {
    let s = a.map(|v| v * v).iter().sum::<f64>();
    let l = *x.last().unwrap();
    let f = x.first().copied().unwrap_or(0.5);
    let m = *x.iter().max_by(|p, q| p.total_cmp(q)).unwrap();
    s * l + f * m
}
