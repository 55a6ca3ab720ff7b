use autodiff::prelude::*;

struct Thing;
impl Thing {
    fn scale(&self, x: f64) -> f64 {
        x * 2.0
    }
}

#[differentiate]
fn f(x: f64) -> f64 {
    let t = Thing;
    t.scale(x)
}

fn main() {}
