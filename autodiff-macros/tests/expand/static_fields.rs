// Integer and `bool` fields of an active struct are static (passive) where the body uses them
// so: in an index, a range bound, a `let` used as an index, a condition. A struct literal's
// static field gets its value as tangent (`rt::field_zero`).
#[derive(Clone, Differentiable)]
struct Layer {
    w: Vec<f64>,
    n: usize,
    relu: bool,
}

#[differentiate]
fn forward(layer: &Layer, x: &[f64]) -> Layer {
    let n = layer.n;
    let mut z = 0.0;
    for i in 0..layer.n {
        z += layer.w[n + i] * x[i];
    }
    let z = if layer.relu { z.max(0.0) } else { z };
    Layer { w: vec![z; 2], n: 2, relu: false }
}
