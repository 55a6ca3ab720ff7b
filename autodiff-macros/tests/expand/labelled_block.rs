#[differentiate]
fn labelled_block(x: f64, a: f64, b: f64) -> f64 {
    let v = 'blk: {
        if x > 0.5 {
            break 'blk a * b;
        }
        x.sin()
    };
    v * x
}
