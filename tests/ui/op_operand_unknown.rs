// An operator whose operand the macro cannot classify (a field, `s.vel`) next to a float is
// float arithmetic, declared with the float type: a vector there is a type error at the
// operator, never a float's derivative applied to it. Declaring the value's type makes it the
// vector's operator (`let p: V3 = s.pos + s.vel * dt;`). And an operand that is a reference to a
// struct would use the reference's operator: write `*a`.
use autodiff::prelude::*;
use std::ops::{Add, Mul};

#[derive(Differentiable, Clone, Copy)]
struct V3 {
    x: f64,
    y: f64,
    z: f64,
}

#[differentiate]
impl Mul<f64> for V3 {
    type Output = V3;
    fn mul(self, s: f64) -> V3 {
        V3 { x: self.x * s, y: self.y * s, z: self.z * s }
    }
}

#[differentiate]
impl Add for V3 {
    type Output = V3;
    fn add(self, o: V3) -> V3 {
        V3 { x: self.x + o.x, y: self.y + o.y, z: self.z + o.z }
    }
}

impl Mul<f64> for &V3 {
    type Output = V3;
    fn mul(self, s: f64) -> V3 {
        *self * s
    }
}

#[derive(Differentiable, Clone, Copy)]
struct State {
    pos: V3,
    vel: V3,
}

#[differentiate]
fn speed(s: State, dt: f64) -> f64 {
    let v = s.vel * dt;
    v.x + v.y + v.z
}

#[differentiate]
fn by_ref(a: &V3, s: f64) -> V3 {
    a * s
}

fn main() {}
