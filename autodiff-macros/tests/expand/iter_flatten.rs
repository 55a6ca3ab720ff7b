// `flatten()` and `flat_map(..)`: the nested loops over the rows and their elements (a `break` leaves both).
#[differentiate]
fn flattened(c: [[f64; 2]; 3], t: f64) -> f64 {
    let mut s: f64 = c.iter().flatten().map(|v| v * v).sum();
    for v in c.iter().flat_map(|r| r.iter()) {
        if *v > t {
            break;
        }
        s = s * 0.5 + v;
    }
    s
}
