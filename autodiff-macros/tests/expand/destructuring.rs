#[differentiate]
fn destructuring(p: [f64; 3], m: [[f64; 2]; 2]) -> f64 {
    let [a, b, _] = p;
    let [[m00, m01], row] = m;
    let [c, d] = [a * m00, b - m01];
    c * d + row[1]
}
