// `max_by(total_cmp)` and `reduce` unwrapped: a running value and a flag; an empty source panics as `unwrap` does.
#[differentiate]
fn running(xs: &[f64]) -> f64 {
    let hi = xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
    let t = xs.iter().map(|x| x * x).reduce(|a, b| a + b).expect("not empty");
    hi * t
}
