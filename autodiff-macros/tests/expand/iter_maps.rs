// Several maps before a reduction, and a filter after a map: `let`s spliced into the loop's body, the filter an `if`.
#[differentiate]
fn maps(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * 2.0).filter(|y| *y > 0.1).map(|y| y.sin()).sum::<f64>()
}
