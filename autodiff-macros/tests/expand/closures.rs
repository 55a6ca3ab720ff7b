// Closures bound by `let` are inlined where they are called, or used as values by adapters.
#[differentiate]
fn closures(x: f64, xs: &[f64]) -> f64 {
    let sq = |v: f64| v * v;
    let weight = |v: &f64| v * x;
    let total: f64 = xs.iter().map(weight).sum();
    sq(x) + sq(total)
}
