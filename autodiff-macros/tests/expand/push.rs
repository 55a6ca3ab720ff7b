// `push` on a local `Vec`: the tangent and the adjoint grow alongside; the reverse sweep pops the element's adjoint (and the element, as the reverse sweep reads the `Vec`).
#[differentiate]
fn cumulative(x: &[f64]) -> f64 {
    let mut cs = Vec::with_capacity(x.len());
    let mut acc = 0.0;
    for &v in x {
        acc += v;
        cs.push(acc);
    }
    cs.iter().map(|c| c.sin()).sum()
}
