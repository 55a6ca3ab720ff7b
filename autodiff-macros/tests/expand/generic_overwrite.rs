#[differentiate(reverse)]
fn g<F: Float>(x: F, y: F) -> F {
    let mut s = x * y;
    s = s.exp() / (y + F::one());
    s
}
