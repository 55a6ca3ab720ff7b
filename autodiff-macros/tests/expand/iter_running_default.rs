// `reduce(f64::max)` taken apart with a default: `unwrap_or(d)` evaluates `d` after the loop and
// takes it where the source was empty; `unwrap_or_default()` keeps the zero the value starts from.
#[differentiate]
fn peak(x: &[f64]) -> f64 {
    let m = x.iter().cloned().reduce(f64::max).unwrap_or(0.0);
    let n = x.iter().copied().reduce(|a, b| a.min(b)).unwrap_or_default();
    m * n
}
