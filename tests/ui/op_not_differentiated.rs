// A struct's operator without a derivative: `impl Mul for V3` has no `#[differentiate]`.
use autodiff::prelude::*;
use std::ops::Mul;

#[derive(Differentiable, Clone, Copy)]
struct V3 {
    x: f64,
    y: f64,
    z: f64,
}

impl Mul for V3 {
    type Output = V3;
    fn mul(self, o: V3) -> V3 {
        V3 { x: self.x * o.x, y: self.y * o.y, z: self.z * o.z }
    }
}

#[differentiate(reverse)]
fn f(a: V3, b: V3) -> V3 {
    a * b
}

fn main() {}
