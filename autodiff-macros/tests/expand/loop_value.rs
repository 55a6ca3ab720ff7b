#[differentiate]
fn loop_value(x: f64, y: f64) -> f64 {
    let mut s = x;
    let r = 'grow: loop {
        s = s * y + 0.5;
        if s > 4.0 {
            break 'grow s * x;
        }
    };
    r + s
}
