// A function that calls itself: the forward sweep calls the function for the value, the reverse
// sweep the recursive pullback `horner__rev`, which adds into the adjoint of `x` passed in.
#[differentiate]
fn horner(x: f64, c: &[f64], k: usize) -> f64 {
    if k == 0 {
        return c[0];
    }
    x * horner(x, c, k - 1) + c[k]
}
