#[differentiate]
fn kalman_nll(x0: &[f64; 2], zs: &[f64; 3], q: f64, r: f64) -> f64 {
    let mut x = *x0;
    let mut p = [[1.0, 0.0], [0.0, 1.0]];
    let mut s = Holt { level: x0[0], trend: 0.0 };
    let mut nll = 0.0;
    for k in 0..3 {
        nll += x[0].sin();
        predict(&mut x, &mut p, q);
        nll += update(&mut x, &mut p, zs[k], r) + s.level * s.observe(zs[k]);
    }
    nll * p[0][0]
}
