// References bound to parts of collections are the places themselves: `mid` is `x[1..__hi0]`
// with its bound evaluated where the reference was made; `split_at` gives two ranges.
#[differentiate]
fn ends(x: &[f64]) -> f64 {
    let mid = &x[1..x.len() - 1];
    let (a, b) = x.split_at(2);
    x[0] * mid.iter().sum::<f64>() + a[1] * b[0]
}
