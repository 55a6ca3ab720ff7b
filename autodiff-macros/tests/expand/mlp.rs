#[differentiate(wrt(p))]
pub fn mlp_loss(p: &Mlp, x: &[f64; NI], y: &[f64; NO]) -> f64 {
    let mut h = [0.0; NH];
    for i in 0..NH {
        let mut s = p.b1[i];
        for j in 0..NI {
            s += p.w1[i][j] * x[j];
        }
        h[i] = s.tanh();
    }
    let mut loss = 0.0;
    for o in 0..NO {
        let mut s = p.b2[o];
        for i in 0..NH {
            s += p.w2[o][i] * h[i];
        }
        let e = s - y[o];
        loss += e * e;
    }
    0.5 * loss
}
