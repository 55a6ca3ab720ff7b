// What #[differentiate] on an operator's impl refuses: `wrt(..)` (an operator is differentiated
// with respect to both operands), operators on references, and a trait impl for a type that
// cannot have inherent methods here.
use autodiff::prelude::*;
use std::ops::{Add, Mul};

#[derive(Differentiable, Clone, Copy)]
struct V3 {
    x: f64,
    y: f64,
    z: f64,
}

#[differentiate(wrt(o))]
impl Mul for V3 {
    type Output = V3;
    fn mul(self, o: V3) -> V3 {
        V3 { x: self.x * o.x, y: self.y * o.y, z: self.z * o.z }
    }
}

#[differentiate]
impl<'a> Add for &'a V3 {
    type Output = V3;
    fn add(self, o: &'a V3) -> V3 {
        V3 { x: self.x + o.x, y: self.y + o.y, z: self.z + o.z }
    }
}

trait Energy {
    fn energy(&self, k: f64) -> f64;
}

#[differentiate]
impl Energy for f64 {
    #[differentiate]
    fn energy(&self, k: f64) -> f64 {
        k * self * self
    }
}

fn main() {}
