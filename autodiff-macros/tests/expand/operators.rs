// Operators on a `Differentiable` type: `#[differentiate]` on `impl Mul for V3` (and the scalar
// form `impl Mul<V3> for f64`) implements `ops::MulJvp` / `ops::MulVjp` with the method's
// derivative (its own item inside each trait method); `a * b` on a struct operand calls
// `ops::mul_jvp` / `ops::mul_vjp` (`_rhs` when the left operand is a constant).
#[differentiate]
impl Mul for V3 {
    type Output = Self;
    fn mul(self, o: Self) -> Self::Output {
        V3 { x: self.y * o.z - self.z * o.y, y: self.z * o.x - self.x * o.z, z: self.x * o.y - self.y * o.x }
    }
}

#[differentiate]
impl Mul<V3> for f64 {
    type Output = V3;
    fn mul(self, v: V3) -> V3 {
        V3 { x: self * v.x, y: self * v.y, z: self * v.z }
    }
}

#[differentiate]
fn torque(r: V3, f: V3, s: f64) -> V3 {
    let t = r * f;
    2.0 * t + s * (t * r)
}
