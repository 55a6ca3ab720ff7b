// `collect` into a `Vec` of floats: a `vec![0.0; n]` written in order (`n` the source's length, or the filtered chain's count).
#[differentiate]
fn collected(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().map(|x| x.exp()).collect();
    let w = xs.iter().copied().filter(|x| *x > 0.0).collect::<Vec<f64>>();
    v[0] * w[0]
}
