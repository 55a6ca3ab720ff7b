#[differentiate(wrt(p, s0))]
pub fn lv_loss(p: &[f64; 4], s0: &[f64; 2], dt: f64) -> f64 {
    let mut s = [s0[0], s0[1]];
    for _step in 0..1000 {
        let u = s[0];
        let v = s[1];
        let du = p[0] * u - p[1] * u * v;
        let dv = p[2] * u * v - p[3] * v;
        s[0] = u + dt * du;
        s[1] = v + dt * dv;
    }
    let a = s[0] - 1.0;
    let b = s[1] - 0.5;
    a * a + b * b
}
