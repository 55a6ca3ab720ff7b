// `if let`, `while let` and `let ... else` are the `match`es they stand for.
#[differentiate(wrt(x))]
fn patterns(x: f64, o: Option<f64>, steps: &[usize]) -> f64 {
    let Some(c) = o else {
        return x * 2.0;
    };
    let mut it = steps.iter();
    let mut acc = if let Some(&k) = steps.first() { x * k as f64 } else { x };
    while let Some(&i) = it.next() {
        acc = acc * 0.5 + c * i as f64;
    }
    acc * x
}
