//! Methods (issue 13 item 3): `#[differentiate]` on inherent methods taking `&self` or `self`,
//! `wrt(self, ..)`, calls of differentiated methods in bodies (`self.predict(x)`,
//! `model.loss(x, y)`, `Self::helper(..)`), methods returning `Self`. Both modes against central
//! finite differences and the dot-product identity (`tests/common`).
#![deny(warnings)]
#![allow(clippy::needless_range_loop)]
use autodiff::prelude::*;

mod common;
use common::*;

#[derive(Differentiable, Clone, Debug)]
struct Mlp {
    w1: [[f64; 2]; 3],
    b1: [f64; 3],
    w2: [f64; 3],
    b2: f64,
}

impl Mlp {
    #[differentiate]
    fn predict(&self, x: &[f64; 2]) -> f64 {
        let mut y = self.b2;
        for i in 0..3 {
            let mut s = self.b1[i];
            for j in 0..2 {
                s += self.w1[i][j] * x[j];
            }
            y += self.w2[i] * s.tanh();
        }
        y
    }

    #[differentiate]
    fn loss(&self, x: &[f64; 2], y: f64) -> f64 {
        let d = self.predict(x) - y;
        Self::half_square(d)
    }

    #[differentiate]
    fn half_square(d: f64) -> f64 {
        0.5 * d * d
    }

    /// Only the weights: `x` and `y` are data. The call in its path form.
    #[differentiate(wrt(self))]
    fn data_loss(&self, x: &[f64; 2], y: f64) -> f64 {
        let d = Self::predict(self, x) - y;
        0.5 * d * d
    }

    /// Only the input: the weights are constants.
    #[differentiate(wrt(x))]
    fn input_sensitivity(&self, x: &[f64; 2]) -> f64 {
        let p = self.predict(x);
        p * p.sin()
    }
}

/// A free function calling a method of a parameter.
#[differentiate]
fn batch_loss(m: &Mlp, xs: &[[f64; 2]; 2], ys: &[f64; 2]) -> f64 {
    let mut s = 0.0;
    for k in 0..2 {
        s += m.loss(&xs[k], ys[k]);
    }
    s
}

#[derive(Differentiable, Clone, Copy, Debug, PartialEq)]
struct State {
    x: f64,
    v: f64,
}

impl State {
    /// By value.
    #[differentiate]
    fn energy(self, k: f64) -> f64 {
        0.5 * self.v * self.v + 0.5 * k * self.x * self.x
    }

    /// Returning `Self`.
    #[differentiate]
    fn step(&self, dt: f64, k: f64) -> Self {
        Self {
            x: self.x + dt * self.v,
            v: self.v - dt * k * self.x.sin(),
        }
    }

    /// Chains of method calls on locals, by value and by reference.
    #[differentiate]
    fn rollout(self, dt: f64, k: f64) -> f64 {
        let mut s = self;
        for _ in 0..3 {
            s = s.step(dt, k);
        }
        s.energy(k)
    }

    /// An associated constructor.
    #[differentiate]
    fn at_rest(x: f64) -> Self {
        Self { x, v: 0.0 }
    }

    /// A method called on the result of an associated function.
    #[differentiate]
    fn rest_energy(&self, k: f64) -> f64 {
        Self::at_rest(self.x + self.v).energy(k)
    }

    /// `mut self`, written in the body, returning `Self` with functional update.
    #[differentiate]
    fn kick(mut self, dv: f64) -> Self {
        self.v *= dv.exp();
        Self {
            x: self.x * self.v,
            ..self
        }
    }
}

fn mlp_from(v: &[f64]) -> Mlp {
    Mlp {
        w1: [[v[0], v[1]], [v[2], v[3]], [v[4], v[5]]],
        b1: [v[6], v[7], v[8]],
        w2: [v[9], v[10], v[11]],
        b2: v[12],
    }
}

fn mlp_flat(m: &Mlp) -> Vec<f64> {
    let mut v: Vec<f64> = m.w1.iter().flatten().copied().collect();
    v.extend(m.b1);
    v.extend(m.w2);
    v.push(m.b2);
    v
}

const NM: usize = 13;

fn point() -> Vec<f64> {
    let mut r = Rng::new(1300);
    r.vec(NM + 3)
}

#[test]
fn predict_both_modes() {
    let x0 = point();
    check_fn(
        "Mlp::predict",
        &x0[..NM + 2],
        &|v| vec![mlp_from(v).predict(&[v[NM], v[NM + 1]])],
        &|v, t| {
            let (m, dm) = (mlp_from(v), mlp_from(t));
            let (y, dy) = m.predict_jvp(&[v[NM], v[NM + 1]], &dm, &[t[NM], t[NM + 1]]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = mlp_from(v).predict_vjp(&[v[NM], v[NM + 1]]);
            let (gm, gx): (Mlp, [f64; 2]) = pb(c[0]);
            let mut g = mlp_flat(&gm);
            g.extend(gx);
            (vec![y], g)
        },
    );
}

#[test]
fn loss_calls_predict_and_helper() {
    let x0 = point();
    let f = |v: &[f64]| mlp_from(v).loss(&[v[NM], v[NM + 1]], v[NM + 2]);
    check_fn(
        "Mlp::loss",
        &x0,
        &|v| vec![f(v)],
        &|v, t| {
            let (m, dm) = (mlp_from(v), mlp_from(t));
            let (y, dy) = m.loss_jvp(
                &[v[NM], v[NM + 1]],
                v[NM + 2],
                &dm,
                &[t[NM], t[NM + 1]],
                t[NM + 2],
            );
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = mlp_from(v).loss_vjp(&[v[NM], v[NM + 1]], v[NM + 2]);
            let (gm, gx, gy): (Mlp, [f64; 2], f64) = pb(c[0]);
            let mut g = mlp_flat(&gm);
            g.extend(gx);
            g.push(gy);
            (vec![y], g)
        },
    );
    check_grad("Mlp::loss_grad", &x0, &f, &|v| {
        let (y, (gm, gx, gy)) = mlp_from(v).loss_grad(&[v[NM], v[NM + 1]], v[NM + 2]);
        let mut g = mlp_flat(&gm);
        g.extend(gx);
        g.push(gy);
        (y, g)
    });
}

#[test]
fn wrt_self_only() {
    let x0 = point();
    let (x, y) = ([x0[NM], x0[NM + 1]], x0[NM + 2]);
    let f = |v: &[f64]| mlp_from(v).data_loss(&x, y);
    check_fn(
        "Mlp::data_loss",
        &x0[..NM],
        &|v| vec![f(v)],
        &|v, t| {
            let (y, dy) = mlp_from(v).data_loss_jvp(&x, y, &mlp_from(t));
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = mlp_from(v).data_loss_vjp(&x, y);
            let gm: Mlp = pb(c[0]);
            (vec![y], mlp_flat(&gm))
        },
    );
    // The same as the full gradient's `self` part.
    let m = mlp_from(&x0);
    let (_, g1) = m.data_loss_grad(&x, y);
    let (_, (g2, _, _)) = m.loss_grad(&x, y);
    assert_close_vec(
        "wrt(self) vs all",
        &mlp_flat(&g1),
        &mlp_flat(&g2),
        1e-14,
        1e-15,
    );
}

#[test]
fn wrt_input_only() {
    let x0 = point();
    let m = mlp_from(&x0);
    check_fn(
        "Mlp::input_sensitivity",
        &x0[NM..NM + 2],
        &|v| vec![m.input_sensitivity(&[v[0], v[1]])],
        &|v, t| {
            let (y, dy) = m.input_sensitivity_jvp(&[v[0], v[1]], &[t[0], t[1]]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = m.input_sensitivity_vjp(&[v[0], v[1]]);
            let g: [f64; 2] = pb(c[0]);
            (vec![y], g.to_vec())
        },
    );
}

#[test]
fn free_function_calls_a_method() {
    let mut r = Rng::new(77);
    let x0 = r.vec(NM + 6);
    let split = |v: &[f64]| {
        (
            mlp_from(v),
            [[v[NM], v[NM + 1]], [v[NM + 2], v[NM + 3]]],
            [v[NM + 4], v[NM + 5]],
        )
    };
    let f = |v: &[f64]| {
        let (m, xs, ys) = split(v);
        batch_loss(&m, &xs, &ys)
    };
    check_fn(
        "batch_loss",
        &x0,
        &|v| vec![f(v)],
        &|v, t| {
            let (m, xs, ys) = split(v);
            let (dm, dxs, dys) = split(t);
            let (y, dy) = batch_loss_jvp(&m, &xs, &ys, &dm, &dxs, &dys);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (m, xs, ys) = split(v);
            let (y, pb) = batch_loss_vjp(&m, &xs, &ys);
            let (gm, gxs, gys) = pb(c[0]);
            let mut g = mlp_flat(&gm);
            g.extend(gxs.iter().flatten());
            g.extend(gys);
            (vec![y], g)
        },
    );
}

fn st(v: &[f64]) -> State {
    State { x: v[0], v: v[1] }
}

#[test]
fn by_value_self_and_returning_self() {
    let x0 = [0.7, -0.3, 1.4, 0.1];
    check_fn(
        "State::energy",
        &x0[..3],
        &|v| vec![st(v).energy(v[2])],
        &|v, t| {
            let (y, dy) = st(v).energy_jvp(v[2], &st(t), t[2]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = st(v).energy_vjp(v[2]);
            let (gs, gk) = pb(c[0]);
            (vec![y], vec![gs.x, gs.v, gk])
        },
    );
    check_fn(
        "State::step",
        &x0,
        &|v| {
            let s = st(v).step(v[2], v[3]);
            vec![s.x, s.v]
        },
        &|v, t| {
            let (s, ds) = st(v).step_jvp(v[2], v[3], &st(t), t[2], t[3]);
            (vec![s.x, s.v], vec![ds.x, ds.v])
        },
        &|v, c| {
            let (s, pb) = st(v).step_vjp(v[2], v[3]);
            let (gs, gdt, gk) = pb(st(c));
            (vec![s.x, s.v], vec![gs.x, gs.v, gdt, gk])
        },
    );
    check_fn(
        "State::rollout",
        &x0[..3],
        &|v| vec![st(v).rollout(v[2], 0.8)],
        &|v, t| {
            let (y, dy) = st(v).rollout_jvp(v[2], 0.8, &st(t), t[2], 0.0);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = st(v).rollout_vjp(v[2], 0.8);
            let (gs, gdt, _) = pb(c[0]);
            (vec![y], vec![gs.x, gs.v, gdt])
        },
    );
    check_fn(
        "State::rest_energy",
        &x0[..3],
        &|v| vec![st(v).rest_energy(v[2])],
        &|v, t| {
            let (y, dy) = st(v).rest_energy_jvp(v[2], &st(t), t[2]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = st(v).rest_energy_vjp(v[2]);
            let (gs, gk) = pb(c[0]);
            (vec![y], vec![gs.x, gs.v, gk])
        },
    );
    let (y, (gs, _, _)) = st(&x0).rollout_grad(x0[2], 0.8);
    assert_eq!(y, st(&x0).rollout(x0[2], 0.8));
    let (_, pb) = st(&x0).rollout_vjp(x0[2], 0.8);
    let (gv, _, _) = pb(1.0);
    assert_close_vec(
        "rollout grad vs vjp",
        &[gs.x, gs.v],
        &[gv.x, gv.v],
        1e-12,
        1e-14,
    );
    check_fn(
        "State::kick",
        &x0[..3],
        &|v| {
            let s = st(v).kick(v[2]);
            vec![s.x, s.v]
        },
        &|v, t| {
            let (s, ds) = st(v).kick_jvp(v[2], &st(t), t[2]);
            (vec![s.x, s.v], vec![ds.x, ds.v])
        },
        &|v, c| {
            let (s, pb) = st(v).kick_vjp(v[2]);
            let (gs, gdv) = pb(st(c));
            (vec![s.x, s.v], vec![gs.x, gs.v, gdv])
        },
    );
}

#[derive(Differentiable, Clone, Debug)]
struct Layer {
    w: [f64; 2],
}

impl Layer {
    #[differentiate]
    fn forward(&self, x: f64) -> f64 {
        (self.w[0] * x + self.w[1]).tanh()
    }
}

#[derive(Differentiable, Clone, Debug)]
struct Net {
    first: Layer,
    rest: [Layer; 2],
    out: Vec<f64>,
}

impl Net {
    /// Methods of fields and of array elements of `self`.
    #[differentiate]
    fn run(&self, x: f64) -> f64 {
        let mut h = self.first.forward(x);
        for i in 0..2 {
            h = self.rest[i].forward(h);
        }
        h * self.out[0] + self.out[1]
    }

    /// By value, calling a `&self` method on itself.
    #[differentiate]
    fn consume(self, k: f64) -> f64 {
        let a = self.out[0] * k;
        a + self.run(k)
    }
}

fn net_from(v: &[f64]) -> Net {
    Net {
        first: Layer { w: [v[0], v[1]] },
        rest: [Layer { w: [v[2], v[3]] }, Layer { w: [v[4], v[5]] }],
        out: vec![v[6], v[7]],
    }
}

fn net_flat(n: &Net) -> Vec<f64> {
    let mut v = n.first.w.to_vec();
    v.extend(n.rest.iter().flat_map(|l| l.w));
    v.extend(&n.out);
    v
}

#[test]
fn methods_of_fields_and_elements() {
    let x0 = [0.5, 0.1, 0.3, -0.2, 1.1, 0.4, 2.0, -0.3, 0.7];
    for (name, f) in [
        (
            "Net::run",
            (|n: Net, x: f64| n.run(x)) as fn(Net, f64) -> f64,
        ),
        ("Net::consume", |n: Net, x: f64| n.consume(x)),
    ] {
        let jvp = |v: &[f64], t: &[f64]| {
            let (n, dn) = (net_from(v), net_from(t));
            if name == "Net::run" {
                n.run_jvp(v[8], &dn, t[8])
            } else {
                n.consume_jvp(v[8], &dn, t[8])
            }
        };
        let vjp = |v: &[f64], c: f64| {
            let n = net_from(v);
            let (y, (gn, gx)) = if name == "Net::run" {
                let (y, pb) = n.run_vjp(v[8]);
                (y, pb(c))
            } else {
                let (y, pb) = n.consume_vjp(v[8]);
                (y, pb(c))
            };
            let mut g = net_flat(&gn);
            g.push(gx);
            (vec![y], g)
        };
        check_fn(
            name,
            &x0,
            &|v| vec![f(net_from(v), v[8])],
            &|v, t| {
                let (y, dy) = jvp(v, t);
                (vec![y], vec![dy])
            },
            &|v, c| vjp(v, c[0]),
        );
    }
    check_grad("Net::run_grad", &x0, &|v| net_from(v).run(v[8]), &|v| {
        let (y, (gn, gx)) = net_from(v).run_grad(v[8]);
        let mut g = net_flat(&gn);
        g.push(gx);
        (y, g)
    });
}

#[derive(Differentiable, Clone, Debug)]
struct Gain {
    k: f64,
}

impl Gain {
    /// A generic method: `self`'s fields are read as constants of `F`.
    #[differentiate(wrt(x))]
    fn apply<F: Float>(&self, x: F) -> F {
        x * x.sin() * F::from(self.k).unwrap()
    }
}

#[test]
fn generic_method() {
    let g = Gain { k: 1.5 };
    check_fn(
        "Gain::apply",
        &[0.8],
        &|v| vec![g.apply(v[0])],
        &|v, t| {
            let (y, dy) = g.apply_jvp(v[0], t[0]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = g.apply_vjp(v[0]);
            (vec![y], vec![pb(c[0])])
        },
    );
    let (y32, d32) = g.apply_grad(0.8f32);
    let (y64, d64) = g.apply_grad(0.8f64);
    assert!((f64::from(y32) - y64).abs() < 1e-6 && (f64::from(d32) - d64).abs() < 1e-5);
}

impl Gain {
    /// User names that look like the ones the macro gives `self` and its tangent.
    #[differentiate]
    #[allow(non_snake_case)]
    fn names(&self, self_0: f64) -> f64 {
        let self_0__dot = self_0 * self.k;
        let self_1 = self_0__dot.sin();
        self_1 * self.k
    }
}

#[test]
fn user_names_like_generated_ones() {
    check_fn(
        "Gain::names",
        &[1.5, 0.8],
        &|v| vec![Gain { k: v[0] }.names(v[1])],
        &|v, t| {
            let (y, dy) = Gain { k: v[0] }.names_jvp(v[1], &Gain { k: t[0] }, t[1]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = Gain { k: v[0] }.names_vjp(v[1]);
            let (gs, gx) = pb(c[0]);
            (vec![y], vec![gs.k, gx])
        },
    );
}

#[derive(Clone, Copy)]
enum Mode {
    Single,
    Double,
}

impl Mode {
    fn scale(self, k: f64) -> f64 {
        match self {
            Mode::Single => k,
            Mode::Double => 2.0 * k,
        }
    }
}

/// Methods of a passive enum called on passive arguments stay passive code.
#[differentiate]
fn scaled(x: f64, mode: Mode, n: usize) -> f64 {
    x * mode.scale(2.0) + mode.scale(n as f64)
}

#[derive(Differentiable, Clone, Debug)]
struct Radius {
    w: f64,
}

impl Radius {
    #[differentiate]
    fn norm(&self) -> f64 {
        self.w * self.w
    }
}

/// `m.norm()` alone would read as an enum's method; `wrt(x, m)` says `m` is differentiable.
#[differentiate(wrt(x, m))]
fn weighted(x: f64, m: &Radius) -> f64 {
    x * m.norm()
}

#[test]
fn enum_receivers_and_wrt_override() {
    for mode in [Mode::Single, Mode::Double] {
        let (y, g) = scaled_grad(1.5, mode, 3);
        assert_eq!(y, scaled(1.5, mode, 3));
        assert_eq!(g, mode.scale(2.0));
    }
    check_fn(
        "weighted",
        &[2.0, 3.0],
        &|v| vec![weighted(v[0], &Radius { w: v[1] })],
        &|v, t| {
            let (y, dy) = weighted_jvp(v[0], &Radius { w: v[1] }, t[0], &Radius { w: t[1] });
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = weighted_vjp(v[0], &Radius { w: v[1] });
            let (gx, gm) = pb(c[0]);
            (vec![y], vec![gx, gm.w])
        },
    );
}

#[derive(Differentiable, Clone, Debug)]
struct Lin<F: Float> {
    a: F,
    b: [F; 2],
}

/// A generic impl: the attribute on the block tells the methods its generics.
#[differentiate]
impl<F: Float> Lin<F> {
    #[differentiate]
    fn eval(&self, x: F) -> F {
        self.a * x.sin() + self.b[1] * x
    }

    #[differentiate(reverse, wrt(self))]
    fn scaled_eval(&self, x: F) -> F {
        self.eval(x) * self.b[0]
    }

    #[differentiate]
    fn shift(self, d: F) -> Self {
        Self {
            a: self.a + d,
            ..self
        }
    }

    fn a(&self) -> F {
        self.a
    }
}

fn lin(v: &[f64]) -> Lin<f64> {
    Lin {
        a: v[0],
        b: [v[1], v[2]],
    }
}

#[test]
fn generic_impl() {
    let x0 = [2.0, 0.5, 1.5, 0.9];
    check_fn(
        "Lin::eval",
        &x0,
        &|v| vec![lin(v).eval(v[3])],
        &|v, t| {
            let (y, dy) = lin(v).eval_jvp(v[3], &lin(t), t[3]);
            (vec![y], vec![dy])
        },
        &|v, c| {
            let (y, pb) = lin(v).eval_vjp(v[3]);
            let (gl, gx) = pb(c[0]);
            (vec![y], vec![gl.a, gl.b[0], gl.b[1], gx])
        },
    );
    check_fn(
        "Lin::shift",
        &x0,
        &|v| {
            let s = lin(v).shift(v[3]);
            vec![s.a, s.b[0], s.b[1]]
        },
        &|v, t| {
            let (s, ds) = lin(v).shift_jvp(v[3], &lin(t), t[3]);
            (vec![s.a, s.b[0], s.b[1]], vec![ds.a, ds.b[0], ds.b[1]])
        },
        &|v, c| {
            let (s, pb) = lin(v).shift_vjp(v[3]);
            let (gl, gd) = pb(lin(c));
            (vec![s.a, s.b[0], s.b[1]], vec![gl.a, gl.b[0], gl.b[1], gd])
        },
    );
    let l = lin(&x0);
    check_grad(
        "Lin::scaled_eval_grad",
        &x0[..3],
        &|v| lin(v).scaled_eval(x0[3]),
        &|v| {
            let (y, g) = lin(v).scaled_eval_grad(x0[3]);
            (y, vec![g.a, g.b[0], g.b[1]])
        },
    );
    let l32 = Lin {
        a: 2.0f32,
        b: [0.5, 1.5],
    };
    let ((y32, (_, d32)), (y64, (_, d64))) = (l32.eval_grad(0.9), l.eval_grad(0.9));
    assert!((f64::from(y32) - y64).abs() < 1e-5 && (f64::from(d32) - d64).abs() < 1e-5);
    assert_eq!(l.a(), 2.0);
}
