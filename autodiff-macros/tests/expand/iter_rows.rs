// Element loops over rows: the row binding names the row (`c[k]`, `&w1[k]`), so inner loops and chains are index loops over the elements, and no row is copied.
#[differentiate]
fn frobenius(a: [[f64; 2]; 2]) -> f64 {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            c[i][j] = a[i][j] * a[j][i];
        }
    }
    let mut s = 0.0;
    for row in c.iter() {
        for v in row {
            s += v * v;
        }
    }
    s
}
