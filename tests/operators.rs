//! Operators on `Differentiable` types (issue 13, item 8): `#[differentiate]` on `impl Add / Sub /
//! Mul / Div / Neg` (and `Mul<f64>`, `Mul<V3> for f64`) blocks implements `autodiff::ops`'
//! derivative traits, and `a * b`, `a + b`, `-a` inside other differentiated bodies use them in
//! both modes. Checked against central finite differences, the dot-product identity and each
//! other (`tests/common`), concrete and generic; operators inside operators' bodies, in loops,
//! compound assignments, scalar-times-struct both ways, a struct operator whose value is a float,
//! struct fields under a declared struct type, and a trait impl that is not an operator.
#![deny(warnings)]
// `u = u + ..` beside `x += ..` on purpose: both forms are under test.
#![allow(
    clippy::needless_range_loop,
    clippy::suspicious_arithmetic_impl,
    clippy::assign_op_pattern,
    clippy::type_complexity
)]
use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

use autodiff::ops::{AddVjp, MulJvp, MulVjp, NegJvp};
use autodiff::prelude::*;

mod common;
use common::*;

/// A small vector: `*` between two is the cross product (not commutative), `*` with a float a
/// scaling, `/` by a float a division, `+ - -x` componentwise.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct V3 {
    x: f64,
    y: f64,
    z: f64,
}

fn v3(v: &[f64]) -> V3 {
    V3 {
        x: v[0],
        y: v[1],
        z: v[2],
    }
}

fn flat(v: V3) -> [f64; 3] {
    [v.x, v.y, v.z]
}

#[differentiate]
impl Add for V3 {
    type Output = V3;
    fn add(self, o: V3) -> V3 {
        V3 {
            x: self.x + o.x,
            y: self.y + o.y,
            z: self.z + o.z,
        }
    }
}

#[differentiate]
impl Neg for V3 {
    type Output = Self;
    fn neg(self) -> Self::Output {
        Self {
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }
}

/// Operators inside an operator's body: `+` and unary `-` of `V3`, differentiated by theirs.
#[differentiate]
impl Sub for V3 {
    type Output = V3;
    fn sub(self, o: V3) -> V3 {
        self + (-o)
    }
}

/// The cross product.
#[differentiate]
impl Mul for V3 {
    type Output = V3;
    fn mul(self, o: V3) -> V3 {
        V3 {
            x: self.y * o.z - self.z * o.y,
            y: self.z * o.x - self.x * o.z,
            z: self.x * o.y - self.y * o.x,
        }
    }
}

#[differentiate]
impl Mul<f64> for V3 {
    type Output = V3;
    fn mul(self, s: f64) -> V3 {
        V3 {
            x: self.x * s,
            y: self.y * s,
            z: self.z * s,
        }
    }
}

/// Scalar times vector: `Self` is `f64`, the other operand the struct.
#[differentiate]
impl Mul<V3> for f64 {
    type Output = V3;
    fn mul(self, v: V3) -> V3 {
        v * self
    }
}

/// Forward mode only (the reverse of `/` is never asked for below; a reverse use would be a
/// compile error naming `DivVjp`).
#[differentiate(forward)]
impl Div<f64> for V3 {
    type Output = V3;
    fn div(self, s: f64) -> V3 {
        V3 {
            x: self.x / s,
            y: self.y / s,
            z: self.z / s,
        }
    }
}

impl MulAssign<f64> for V3 {
    fn mul_assign(&mut self, s: f64) {
        *self = *self * s;
    }
}

impl AddAssign for V3 {
    fn add_assign(&mut self, o: V3) {
        self.x += o.x;
        self.y += o.y;
        self.z += o.z;
    }
}

impl V3 {
    /// An inherent method with operators on `self`.
    #[differentiate]
    fn lerp(self, o: V3, t: f64) -> V3 {
        self * (1.0 - t) + o * t
    }
}

/// A quaternion: `*` is Hamilton's product.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct Quat {
    w: f64,
    x: f64,
    y: f64,
    z: f64,
}

fn quat(v: &[f64]) -> Quat {
    Quat {
        w: v[0],
        x: v[1],
        y: v[2],
        z: v[3],
    }
}

fn qflat(q: Quat) -> [f64; 4] {
    [q.w, q.x, q.y, q.z]
}

#[differentiate]
impl Mul for Quat {
    type Output = Quat;
    fn mul(self, r: Quat) -> Quat {
        let (a, b) = (self, r);
        Quat {
            w: a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z,
            x: a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            y: a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x,
            z: a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w,
        }
    }
}

impl Quat {
    #[differentiate]
    fn conj(self) -> Quat {
        Quat {
            w: self.w,
            x: -self.x,
            y: -self.y,
            z: -self.z,
        }
    }
}

/// A struct operator whose value is a float: `*` of two `W2` is their dot product.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct W2 {
    a: f64,
    b: f64,
}

#[differentiate]
impl Mul for W2 {
    type Output = f64;
    fn mul(self, o: W2) -> f64 {
        self.a * o.a + self.b * o.b.sin()
    }
}

/// Generic over the float type.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct G<F> {
    a: F,
    b: F,
}

#[differentiate]
impl<F: Float> Add for G<F> {
    type Output = G<F>;
    fn add(self, o: G<F>) -> G<F> {
        G {
            a: self.a + o.a,
            b: self.b * o.b,
        }
    }
}

#[differentiate]
impl<F: Float> Mul<F> for G<F> {
    type Output = G<F>;
    fn mul(self, s: F) -> G<F> {
        G {
            a: self.a * s,
            b: (self.b * s).sin(),
        }
    }
}

/// Const generics: the derived functions have the block's generics.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct Vn<const N: usize> {
    v: [f64; N],
}

#[differentiate]
impl<const N: usize> Add for Vn<N> {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        let mut v = [0.0; N];
        for i in 0..N {
            v[i] = self.v[i] + o.v[i] * o.v[i];
        }
        Vn { v }
    }
}

#[differentiate]
fn sum_n<const N: usize>(a: Vn<N>, b: Vn<N>) -> f64 {
    let c = a + b + a;
    let mut s = 0.0;
    for i in 0..N {
        s += c.v[i];
    }
    s
}

/// A trait that is not an operator: its method's derived methods are inherent methods of `V3`.
trait Energy {
    fn energy(&self, k: f64) -> f64;
}

#[differentiate]
impl Energy for V3 {
    #[differentiate]
    fn energy(&self, k: f64) -> f64 {
        0.5 * k * (self.x * self.x + self.y * self.y) + self.z.cos()
    }
}

/// A state whose fields are vectors.
#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct State {
    pos: V3,
    vel: V3,
}

// ---------------------------------------------------------------------------------------------
// The differentiated functions.

/// Cross product, both scalar products, negation, subtraction and a forward-only division.
#[differentiate(forward)]
fn mixed(a: V3, b: V3, s: f64) -> V3 {
    let c = a * b;
    2.0 * c - a * s + (-b) / s
}

/// The same without the division, in both modes.
#[differentiate]
fn mixed_rev(a: V3, b: V3, s: f64) -> V3 {
    let c = a * b;
    2.0 * c - a * s + (-b) * s.sin() + s * (c * a)
}

/// A rotation `q v q*`: a method's value as an operand.
#[differentiate]
fn rotate(q: Quat, v: Quat) -> Quat {
    q * v * q.conj()
}

/// A scalar of a vector operator's value, with `_grad`.
#[differentiate]
fn cross_norm2(a: V3, b: V3) -> f64 {
    let c: V3 = a * b - a;
    c.x * c.x + c.y * c.y + c.z * c.z
}

/// Loops: a damped oscillator integrated with vector operators; a compound `*=` and `+=` on
/// vectors.
#[differentiate]
fn integrate(p: V3, v: V3, dt: f64, n: usize) -> V3 {
    let mut x = p;
    let mut u = v;
    for k in 0..n {
        let acc: V3 = -x * 0.5 - u * 0.1;
        u = u + acc * dt;
        x += u * dt;
        if k % 2 == 1 {
            x *= 0.99;
        }
    }
    x
}

/// Fields of a struct under a declared vector type (a `let` and the function's value).
#[differentiate]
fn step(s: State, dt: f64) -> V3 {
    let half: V3 = s.pos + s.vel * (0.5 * dt);
    half * dt + s.vel * s.pos
}

/// A struct operator whose value is a float, then float arithmetic on it.
#[differentiate]
fn dot_len(u: W2, v: W2, s: f64) -> f64 {
    let d = u * v;
    d * s + (d * d).sqrt() - (u * u) * s.cos()
}

/// An inherent method and a trait's method called on vectors.
#[differentiate]
fn methods(a: V3, b: V3, k: f64) -> f64 {
    let m = a.lerp(b, 0.25);
    m.energy(k) + (a - b).energy(2.0 * k)
}

/// Fields of computed values: an operator's, a method's.
#[differentiate]
fn fields_of_values(a: V3, b: V3) -> f64 {
    (a * b).x * (a - b).z + a.lerp(b, 0.5).y * (-a).y
}

/// Generic over the float type.
#[differentiate]
fn generic<F: Float>(p: G<F>, q: G<F>, s: F) -> G<F> {
    let r = p + q * s;
    r * s + p
}

/// A scalar of generic struct operators, for forward over reverse (`Dual` floats).
#[differentiate]
fn gen_energy<F: Float>(p: G<F>, q: G<F>, s: F) -> F {
    let r = p * s + q;
    r.a * r.b + (r * s).b
}

/// A passive operand (`b` left out of `wrt`): a constant of the operator.
#[differentiate(wrt(a))]
fn only_a(a: V3, b: V3) -> V3 {
    a * b + b * a
}

// ---------------------------------------------------------------------------------------------

fn check_v3_fn(
    name: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> V3,
    jvp: &dyn Fn(&[f64], &[f64]) -> (V3, V3),
    vjp: &dyn Fn(&[f64], V3) -> (V3, Vec<f64>),
) {
    check_fn(
        name,
        x,
        &|p| flat(f(p)).to_vec(),
        &|p, t| {
            let (y, d) = jvp(p, t);
            (flat(y).to_vec(), flat(d).to_vec())
        },
        &|p, c| {
            let (y, g) = vjp(p, v3(c));
            (flat(y).to_vec(), g)
        },
    );
}

#[test]
fn the_operators_alone() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7];
    // Cross product, with the generated trait methods called directly.
    check_v3_fn(
        "V3 * V3",
        &x,
        &|p| v3(&p[..3]) * v3(&p[3..]),
        &|p, t| MulJvp::mul_jvp(v3(&p[..3]), v3(&p[3..]), &v3(&t[..3]), &v3(&t[3..])),
        &|p, c| {
            let (y, pb) = MulVjp::mul_vjp(v3(&p[..3]), v3(&p[3..]));
            let (ga, gb) = pb(c);
            (y, [flat(ga), flat(gb)].concat())
        },
    );
    // Subtraction, whose body is `self + (-o)`.
    check_v3_fn(
        "V3 - V3",
        &x,
        &|p| v3(&p[..3]) - v3(&p[3..]),
        &|p, t| autodiff::ops::sub_jvp(v3(&p[..3]), v3(&p[3..]), &v3(&t[..3]), &v3(&t[3..])),
        &|p, c| {
            let (y, pb) = autodiff::ops::sub_vjp(v3(&p[..3]), v3(&p[3..]));
            let (ga, gb) = pb(c);
            (y, [flat(ga), flat(gb)].concat())
        },
    );
    // Scalar times vector.
    check_v3_fn(
        "f64 * V3",
        &x[..4],
        &|p| p[0] * v3(&p[1..]),
        &|p, t| MulJvp::mul_jvp(p[0], v3(&p[1..]), &t[0], &v3(&t[1..])),
        &|p, c| {
            let (y, pb) = MulVjp::mul_vjp(p[0], v3(&p[1..]));
            let (gs, gv) = pb(c);
            (y, [[gs].as_slice(), &flat(gv)].concat())
        },
    );
    let a = v3(&x[..3]);
    let (y, t) = NegJvp::neg_jvp(a, &v3(&x[3..]));
    assert_eq!((y, t), (-a, -v3(&x[3..])));
    let (y, pb) = AddVjp::add_vjp(a, a);
    assert_eq!(y, a + a);
    assert_eq!(pb(a), (a, a));
}

#[test]
fn mixed_forward() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7, 0.9];
    let f = |p: &[f64]| mixed(v3(&p[..3]), v3(&p[3..6]), p[6]);
    let y = f(&x);
    let mut rng = Rng::new(5);
    for _ in 0..3 {
        let t = rng.vec(7);
        let (yj, dj) = mixed_jvp(
            v3(&x[..3]),
            v3(&x[3..6]),
            x[6],
            &v3(&t[..3]),
            &v3(&t[3..6]),
            t[6],
        );
        assert_eq!(yj, y);
        let fd = fd_dir(&|p| flat(f(p)).to_vec(), &x, &t, 1e-6);
        assert_close_vec(
            "mixed: jvp vs finite differences",
            &flat(dj),
            &fd,
            1e-6,
            1e-7,
        );
    }
}

#[test]
fn mixed_both_modes() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7, 0.9];
    check_v3_fn(
        "mixed_rev",
        &x,
        &|p| mixed_rev(v3(&p[..3]), v3(&p[3..6]), p[6]),
        &|p, t| {
            mixed_rev_jvp(
                v3(&p[..3]),
                v3(&p[3..6]),
                p[6],
                &v3(&t[..3]),
                &v3(&t[3..6]),
                t[6],
            )
        },
        &|p, c| {
            let (y, pb) = mixed_rev_vjp(v3(&p[..3]), v3(&p[3..6]), p[6]);
            let (ga, gb, gs) = pb(c);
            (y, [flat(ga).as_slice(), &flat(gb), &[gs]].concat())
        },
    );
}

#[test]
fn quaternion_rotation() {
    let x = [0.9, 0.1, -0.3, 0.2, 0.0, 1.0, -2.0, 0.5];
    check_fn(
        "rotate",
        &x,
        &|p| qflat(rotate(quat(&p[..4]), quat(&p[4..]))).to_vec(),
        &|p, t| {
            let (y, d) = rotate_jvp(quat(&p[..4]), quat(&p[4..]), &quat(&t[..4]), &quat(&t[4..]));
            (qflat(y).to_vec(), qflat(d).to_vec())
        },
        &|p, c| {
            let (y, pb) = rotate_vjp(quat(&p[..4]), quat(&p[4..]));
            let (gq, gv) = pb(quat(c));
            (qflat(y).to_vec(), [qflat(gq), qflat(gv)].concat())
        },
    );
}

#[test]
fn scalar_of_a_vector_operator() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7];
    let f = |p: &[f64]| cross_norm2(v3(&p[..3]), v3(&p[3..]));
    check_fn(
        "cross_norm2",
        &x,
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = cross_norm2_jvp(v3(&p[..3]), v3(&p[3..]), &v3(&t[..3]), &v3(&t[3..]));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = cross_norm2_vjp(v3(&p[..3]), v3(&p[3..]));
            let (ga, gb) = pb(c[0]);
            (vec![y], [flat(ga), flat(gb)].concat())
        },
    );
    check_grad("cross_norm2", &x, &f, &|p| {
        let (y, (ga, gb)) = cross_norm2_grad(v3(&p[..3]), v3(&p[3..]));
        (y, [flat(ga), flat(gb)].concat())
    });
}

#[test]
fn loops_and_compound_assignments() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7, 0.05];
    for n in [0, 1, 5] {
        check_v3_fn(
            &format!("integrate n={n}"),
            &x,
            &|p| integrate(v3(&p[..3]), v3(&p[3..6]), p[6], n),
            &|p, t| {
                integrate_jvp(
                    v3(&p[..3]),
                    v3(&p[3..6]),
                    p[6],
                    n,
                    &v3(&t[..3]),
                    &v3(&t[3..6]),
                    t[6],
                )
            },
            &|p, c| {
                let (y, pb) = integrate_vjp(v3(&p[..3]), v3(&p[3..6]), p[6], n);
                let (gp, gv, gdt) = pb(c);
                (y, [flat(gp).as_slice(), &flat(gv), &[gdt]].concat())
            },
        );
    }
}

#[test]
fn fields_under_a_declared_type() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7, 0.2];
    let st = |p: &[f64]| State {
        pos: v3(&p[..3]),
        vel: v3(&p[3..6]),
    };
    check_v3_fn(
        "step",
        &x,
        &|p| step(st(p), p[6]),
        &|p, t| step_jvp(st(p), p[6], &st(t), t[6]),
        &|p, c| {
            let (y, pb) = step_vjp(st(p), p[6]);
            let (gs, gdt) = pb(c);
            (y, [flat(gs.pos).as_slice(), &flat(gs.vel), &[gdt]].concat())
        },
    );
}

#[test]
fn a_struct_operator_with_a_float_value() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4];
    let w = |p: &[f64]| W2 { a: p[0], b: p[1] };
    let f = |p: &[f64]| dot_len(w(&p[..2]), w(&p[2..4]), p[4]);
    check_fn(
        "dot_len",
        &x,
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = dot_len_jvp(
                w(&p[..2]),
                w(&p[2..4]),
                p[4],
                &w(&t[..2]),
                &w(&t[2..4]),
                t[4],
            );
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = dot_len_vjp(w(&p[..2]), w(&p[2..4]), p[4]);
            let (gu, gv, gs) = pb(c[0]);
            (vec![y], vec![gu.a, gu.b, gv.a, gv.b, gs])
        },
    );
    check_grad("dot_len", &x, &f, &|p| {
        let (y, (gu, gv, gs)) = dot_len_grad(w(&p[..2]), w(&p[2..4]), p[4]);
        (y, vec![gu.a, gu.b, gv.a, gv.b, gs])
    });
}

#[test]
fn methods_and_a_trait_impl() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7, 1.3];
    let f = |p: &[f64]| methods(v3(&p[..3]), v3(&p[3..6]), p[6]);
    check_grad("methods", &x, &f, &|p| {
        let (y, (ga, gb, gk)) = methods_grad(v3(&p[..3]), v3(&p[3..6]), p[6]);
        (y, [flat(ga).as_slice(), &flat(gb), &[gk]].concat())
    });
    check_fn(
        "methods",
        &x,
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = methods_jvp(
                v3(&p[..3]),
                v3(&p[3..6]),
                p[6],
                &v3(&t[..3]),
                &v3(&t[3..6]),
                t[6],
            );
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = methods_vjp(v3(&p[..3]), v3(&p[3..6]), p[6]);
            let (ga, gb, gk) = pb(c[0]);
            (vec![y], [flat(ga).as_slice(), &flat(gb), &[gk]].concat())
        },
    );
    // The trait's method's derived methods, called directly.
    let a = v3(&x[..3]);
    let (e, (ga, gk)) = a.energy_grad(2.0);
    assert_eq!(e, a.energy(2.0));
    let fd =
        (v3(&[a.x + 1e-6, a.y, a.z]).energy(2.0) - v3(&[a.x - 1e-6, a.y, a.z]).energy(2.0)) / 2e-6;
    assert!(close(ga.x, fd, 1e-6, 1e-8), "{} vs {fd}", ga.x);
    assert!(close(gk, 0.5 * (a.x * a.x + a.y * a.y), 1e-12, 1e-14));
}

#[test]
fn generic_and_concrete() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.7];
    let g = |p: &[f64]| G { a: p[0], b: p[1] };
    check_fn(
        "generic::<f64>",
        &x,
        &|p| {
            let r = generic(g(&p[..2]), g(&p[2..4]), p[4]);
            vec![r.a, r.b]
        },
        &|p, t| {
            let (y, d) = generic_jvp(
                g(&p[..2]),
                g(&p[2..4]),
                p[4],
                &g(&t[..2]),
                &g(&t[2..4]),
                t[4],
            );
            (vec![y.a, y.b], vec![d.a, d.b])
        },
        &|p, c| {
            let (y, pb) = generic_vjp(g(&p[..2]), g(&p[2..4]), p[4]);
            let (gp, gq, gs) = pb(G { a: c[0], b: c[1] });
            (vec![y.a, y.b], vec![gp.a, gp.b, gq.a, gq.b, gs])
        },
    );
    // On `f32` too.
    let p32 = G { a: 0.3f32, b: -1.2 };
    let (y, d) = generic_jvp(p32, p32, 0.5f32, &p32, &G { a: 0.0, b: 0.0 }, 0.0);
    let (y64, d64) = generic_jvp(
        G { a: 0.3, b: -1.2 },
        G { a: 0.3, b: -1.2 },
        0.5,
        &G { a: 0.3, b: -1.2 },
        &G { a: 0.0, b: 0.0 },
        0.0,
    );
    assert!((y.a as f64 - y64.a).abs() < 1e-5 && (d.b as f64 - d64.b).abs() < 1e-4);
}

#[test]
fn a_constant_operand() {
    let x = [0.3, -1.2, 0.8];
    let b = V3 {
        x: 1.1,
        y: 0.4,
        z: -0.7,
    };
    check_v3_fn(
        "only_a",
        &x,
        &|p| only_a(v3(p), b),
        &|p, t| only_a_jvp(v3(p), b, &v3(t)),
        &|p, c| {
            let (y, pb) = only_a_vjp(v3(p), b);
            (y, flat(pb(c)).to_vec())
        },
    );
    // `a * b + b * a` is zero for the cross product.
    let (y, d) = only_a_jvp(v3(&x), b, &v3(&[1.0, 2.0, 3.0]));
    assert!(flat(y).iter().chain(&flat(d)).all(|v| v.abs() < 1e-15));
}

#[test]
fn fields_of_computed_values() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7];
    let f = |p: &[f64]| fields_of_values(v3(&p[..3]), v3(&p[3..]));
    check_fn(
        "fields_of_values",
        &x,
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = fields_of_values_jvp(v3(&p[..3]), v3(&p[3..]), &v3(&t[..3]), &v3(&t[3..]));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = fields_of_values_vjp(v3(&p[..3]), v3(&p[3..]));
            let (ga, gb) = pb(c[0]);
            (vec![y], [flat(ga), flat(gb)].concat())
        },
    );
    check_grad("fields_of_values", &x, &f, &|p| {
        let (y, (ga, gb)) = fields_of_values_grad(v3(&p[..3]), v3(&p[3..]));
        (y, [flat(ga), flat(gb)].concat())
    });
}

#[test]
fn const_generic_operator() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.4, -0.7];
    let vn = |p: &[f64]| Vn {
        v: [p[0], p[1], p[2]],
    };
    let f = |p: &[f64]| sum_n(vn(&p[..3]), vn(&p[3..]));
    check_grad("sum_n", &x, &f, &|p| {
        let (y, (ga, gb)) = sum_n_grad(vn(&p[..3]), vn(&p[3..]));
        (y, [ga.v, gb.v].concat())
    });
    let (y, d) = sum_n_jvp(
        vn(&x[..3]),
        vn(&x[3..]),
        &vn(&[1.0, 0.0, 0.0]),
        &vn(&[0.0; 3]),
    );
    assert_eq!(y, f(&x));
    // c = (a + b * b) + a * a, elementwise: dc/da0 = 1 + 2 a0.
    assert!(close(d, 1.0 + 2.0 * x[0], 1e-15, 0.0), "{d}");
}

#[test]
fn forward_over_reverse_through_operators() {
    let x = [0.3, -1.2, 0.8, 1.1, 0.7];
    let grad = |p: &[f64]| {
        let (_, (gp, gq, gs)) =
            gen_energy_grad(G { a: p[0], b: p[1] }, G { a: p[2], b: p[3] }, p[4]);
        vec![gp.a, gp.b, gq.a, gq.b, gs]
    };
    check_grad(
        "gen_energy",
        &x,
        &|p| gen_energy(G { a: p[0], b: p[1] }, G { a: p[2], b: p[3] }, p[4]),
        &|p| {
            let (y, _) = gen_energy_grad(G { a: p[0], b: p[1] }, G { a: p[2], b: p[3] }, p[4]);
            (y, grad(p))
        },
    );
    check_hvp("gen_energy", &x, &grad, &|p, v| {
        let d = duals(p, v);
        let (_, (gp, gq, gs)) =
            gen_energy_grad::<D>(G { a: d[0], b: d[1] }, G { a: d[2], b: d[3] }, d[4]);
        split(&[gp.a, gp.b, gq.a, gq.b, gs])
    });
}
