// `[T; N]::map` on a known array: an array of zeros filled by the element loop, hoisted into
// statements of the body; a map of rows taken apart by a pattern; `std::array::from_fn`
// declared as an array of floats, the closure's parameter bound to each position.
#[differentiate]
fn squash(x: [f64; 3], m: [[f64; 2]; 3]) -> f64 {
    let y = x.map(|v| v.tanh());
    let q = m.map(|[a, b]| a * b);
    let r: [f64; 3] = std::array::from_fn(|i| y[i] * q[(i + 1) % 3]);
    y[0] * y[1] + y[2] * q[1] + r[2]
}
