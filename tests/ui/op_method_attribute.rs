// `#[differentiate]` on the method of an operator's impl: a method's attribute cannot see the
// trait, and what it would write beside the method cannot be members of `Mul`.
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
    #[differentiate]
    fn mul(self, o: V3) -> V3 {
        V3 { x: self.x * o.x, y: self.y * o.y, z: self.z * o.z }
    }
}

trait Model {
    type Out;
    fn loss(&self, x: f64) -> Self::Out;
}

impl Model for V3 {
    type Out = f64;
    #[differentiate]
    fn loss(&self, x: f64) -> Self::Out {
        self.x * x
    }
}

fn main() {}
