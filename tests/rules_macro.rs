//! Every rule of `autodiff::rules::RULES`, applied inside a `#[differentiate]` function in
//! both call forms (`x.sin()` and `f64::sin(x)` / `F::sin(x)`), in f64, f32 and generic
//! `F: Float` (instantiated with both), checked in both modes against central finite
//! differences of the plain std function at several points of the rule's domain.
//!
//! `every_rule_is_covered` fails as soon as the table gains a rule these tables do not test.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::manual_checked_ops
)]
#![deny(warnings)]
#![allow(dead_code)]

mod common;

use autodiff::rules::RULES;
use common::close;

type Fwd = Box<dyn Fn(&[f64], &[f64]) -> (f64, f64)>;
type Rev = Box<dyn Fn(&[f64], f64) -> (f64, Vec<f64>)>;
type Grad = Box<dyn Fn(&[f64]) -> (f64, Vec<f64>)>;

/// One instantiation of a rule: its three generated functions, seen through f64 slices.
struct Variant {
    name: &'static str,
    is_f32: bool,
    jvp: Fwd,
    vjp: Rev,
    grad: Grad,
}

/// Checks every variant at `x` against the reference `f` (the std function in f64) and its
/// central finite differences.
fn check(
    rule: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> f64,
    f32_value: &dyn Fn(&[f64]) -> f64,
    variants: &[Variant],
) {
    let n = x.len();
    let fd = |x: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| {
                let h = 1e-6 * x[i].abs().max(1.0);
                let mut p = x.to_vec();
                let mut m = x.to_vec();
                p[i] += h;
                m[i] -= h;
                (f(&p) - f(&m)) / (2.0 * h)
            })
            .collect()
    };
    for v in variants {
        // f32 variants are evaluated at the f32-rounded point.
        let xr: Vec<f64> = if v.is_f32 {
            x.iter().map(|&a| a as f32 as f64).collect()
        } else {
            x.to_vec()
        };
        let want = fd(&xr);
        let value = if v.is_f32 { f32_value(&xr) } else { f(&xr) };
        let (fd_rel, fd_abs, dot_rel) = if v.is_f32 {
            (3e-4, 3e-5, 1e-5)
        } else {
            (1e-6, 1e-8, 1e-12)
        };
        let ctx = format!("rule `{rule}`, {} at {xr:?}", v.name);

        let (yg, g) = (v.grad)(&xr);
        assert_eq!(yg, value, "{ctx}: _grad value");
        assert_eq!(g.len(), n, "{ctx}: _grad arity");
        for i in 0..n {
            assert!(
                close(g[i], want[i], fd_rel, fd_abs),
                "{ctx}: _grad partial {i} = {}, finite differences {}",
                g[i],
                want[i]
            );
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            let (yj, d) = (v.jvp)(&xr, &e);
            assert_eq!(yj, value, "{ctx}: _jvp value");
            assert!(
                close(d, want[i], fd_rel, fd_abs),
                "{ctx}: _jvp along e{i} = {d}, finite differences {}",
                want[i]
            );
        }
        // A general tangent and cotangent: the dot-product test.
        let t: Vec<f64> = (0..n).map(|i| 0.7 - 0.45 * i as f64).collect();
        let c = -1.3;
        let (_, jt) = (v.jvp)(&xr, &t);
        let (yv, jtc) = (v.vjp)(&xr, c);
        assert_eq!(yv, value, "{ctx}: _vjp value");
        let lhs = jt * c;
        let rhs: f64 = t.iter().zip(&jtc).map(|(a, b)| a * b).sum();
        let scale = lhs.abs() + t.iter().zip(&jtc).map(|(a, b)| (a * b).abs()).sum::<f64>();
        assert!(
            (lhs - rhs).abs() <= dot_rel * scale,
            "{ctx}: dot-product test: <J t, c> = {lhs}, <t, J^T c> = {rhs}"
        );
        for i in 0..n {
            assert!(
                close(jtc[i], c * want[i], fd_rel, fd_abs * 2.0),
                "{ctx}: pullback(c) partial {i} = {}, want {}",
                jtc[i],
                c * want[i]
            );
        }
    }
}

macro_rules! unary {
    ($name:ident : [$($x:expr),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64(x: f64) -> f64 { x.$name() }
            #[differentiate]
            fn p64(x: f64) -> f64 { f64::$name(x) }
            #[differentiate]
            fn m32(x: f32) -> f32 { x.$name() }
            #[differentiate]
            fn p32(x: f32) -> f32 { f32::$name(x) }
            #[differentiate]
            fn gm<F: Float>(x: F) -> F { x.$name() }
            #[differentiate]
            fn gp<F: Float>(x: F) -> F { F::$name(x) }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], t[0])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0]); (y, vec![pb(c)]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g) = $g(p[0]); (y, vec![g]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, t[0] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32); let g: f32 = pb(c as f32); (y as f64, vec![g as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g): (f32, f32) = $g(p[0] as f32); (y as f64, vec![g as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let x0: f64 = [$($x),*][0];
                assert_eq!(m64(x0), x0.$name());
                assert_eq!(gp::<f64>(x0), x0.$name());
                let variants = [
                    v64!("x.f() in f64", m64_jvp, m64_vjp, m64_grad),
                    v64!("f64::f(x)", p64_jvp, p64_vjp, p64_grad),
                    v64!("generic x.f() at f64", gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                    v64!("generic F::f(x) at f64", gp_jvp::<f64>, gp_vjp::<f64>, gp_grad::<f64>),
                    v32!("x.f() in f32", m32_jvp, m32_vjp, m32_grad),
                    v32!("f32::f(x)", p32_jvp, p32_vjp, p32_grad),
                    v32!("generic x.f() at f32", gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                    v32!("generic F::f(x) at f32", gp_jvp::<f32>, gp_vjp::<f32>, gp_grad::<f32>),
                ];
                for &x in &[$($x),*] {
                    check(
                        stringify!($name),
                        &[x],
                        &|p: &[f64]| p[0].$name(),
                        &|p: &[f64]| (p[0] as f32).$name() as f64,
                        &variants,
                    );
                }
            }
        }
    };
}

macro_rules! binary {
    ($name:ident : [$(($x:expr, $a:expr)),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64(x: f64, a: f64) -> f64 { x.$name(a) }
            #[differentiate]
            fn p64(x: f64, a: f64) -> f64 { f64::$name(x, a) }
            #[differentiate]
            fn m32(x: f32, a: f32) -> f32 { x.$name(a) }
            #[differentiate]
            fn p32(x: f32, a: f32) -> f32 { f32::$name(x, a) }
            #[differentiate]
            fn gm<F: Float>(x: F, a: F) -> F { x.$name(a) }
            #[differentiate]
            fn gp<F: Float>(x: F, a: F) -> F { F::$name(x, a) }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], p[1], t[0], t[1])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0], p[1]); let (g0, g1) = pb(c); (y, vec![g0, g1]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1)) = $g(p[0], p[1]); (y, vec![g0, g1]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, p[1] as f32, t[0] as f32, t[1] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32, p[1] as f32); let (g0, g1): (f32, f32) = pb(c as f32); (y as f64, vec![g0 as f64, g1 as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1)): (f32, (f32, f32)) = $g(p[0] as f32, p[1] as f32); (y as f64, vec![g0 as f64, g1 as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let variants = [
                    v64!("x.f(a) in f64", m64_jvp, m64_vjp, m64_grad),
                    v64!("f64::f(x, a)", p64_jvp, p64_vjp, p64_grad),
                    v64!("generic x.f(a) at f64", gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                    v64!("generic F::f(x, a) at f64", gp_jvp::<f64>, gp_vjp::<f64>, gp_grad::<f64>),
                    v32!("x.f(a) in f32", m32_jvp, m32_vjp, m32_grad),
                    v32!("f32::f(x, a)", p32_jvp, p32_vjp, p32_grad),
                    v32!("generic x.f(a) at f32", gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                    v32!("generic F::f(x, a) at f32", gp_jvp::<f32>, gp_vjp::<f32>, gp_grad::<f32>),
                ];
                for &(x, a) in &[$(($x, $a)),*] {
                    check(
                        stringify!($name),
                        &[x, a],
                        &|p: &[f64]| p[0].$name(p[1]),
                        &|p: &[f64]| (p[0] as f32).$name(p[1] as f32) as f64,
                        &variants,
                    );
                }
            }
        }
    };
}

macro_rules! ternary {
    ($name:ident : [$(($x:expr, $a:expr, $b:expr)),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64(x: f64, a: f64, b: f64) -> f64 { x.$name(a, b) }
            #[differentiate]
            fn p64(x: f64, a: f64, b: f64) -> f64 { f64::$name(x, a, b) }
            #[differentiate]
            fn m32(x: f32, a: f32, b: f32) -> f32 { x.$name(a, b) }
            #[differentiate]
            fn p32(x: f32, a: f32, b: f32) -> f32 { f32::$name(x, a, b) }
            #[differentiate]
            fn gm<F: Float>(x: F, a: F, b: F) -> F { x.$name(a, b) }
            #[differentiate]
            fn gp<F: Float>(x: F, a: F, b: F) -> F { F::$name(x, a, b) }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], p[1], p[2], t[0], t[1], t[2])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0], p[1], p[2]); let (g0, g1, g2) = pb(c); (y, vec![g0, g1, g2]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1, g2)) = $g(p[0], p[1], p[2]); (y, vec![g0, g1, g2]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, p[1] as f32, p[2] as f32, t[0] as f32, t[1] as f32, t[2] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32, p[1] as f32, p[2] as f32); let (g0, g1, g2): (f32, f32, f32) = pb(c as f32); (y as f64, vec![g0 as f64, g1 as f64, g2 as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1, g2)): (f32, (f32, f32, f32)) = $g(p[0] as f32, p[1] as f32, p[2] as f32); (y as f64, vec![g0 as f64, g1 as f64, g2 as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let variants = [
                    v64!("x.f(a, b) in f64", m64_jvp, m64_vjp, m64_grad),
                    v64!("f64::f(x, a, b)", p64_jvp, p64_vjp, p64_grad),
                    v64!("generic x.f(a, b) at f64", gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                    v64!("generic F::f(x, a, b) at f64", gp_jvp::<f64>, gp_vjp::<f64>, gp_grad::<f64>),
                    v32!("x.f(a, b) in f32", m32_jvp, m32_vjp, m32_grad),
                    v32!("f32::f(x, a, b)", p32_jvp, p32_vjp, p32_grad),
                    v32!("generic x.f(a, b) at f32", gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                    v32!("generic F::f(x, a, b) at f32", gp_jvp::<f32>, gp_vjp::<f32>, gp_grad::<f32>),
                ];
                for &(x, a, b) in &[$(($x, $a, $b)),*] {
                    check(
                        stringify!($name),
                        &[x, a, b],
                        &|p: &[f64]| p[0].$name(p[1], p[2]),
                        &|p: &[f64]| (p[0] as f32).$name(p[1] as f32, p[2] as f32) as f64,
                        &variants,
                    );
                }
            }
        }
    };
}

/// A float receiver and a passive `i32` argument (`powi`).
macro_rules! float_int {
    ($name:ident : [$(($x:expr, $ni:expr)),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64(x: f64, n: i32) -> f64 { x.$name(n) }
            #[differentiate]
            fn p64(x: f64, n: i32) -> f64 { f64::$name(x, n) }
            #[differentiate]
            fn m32(x: f32, n: i32) -> f32 { x.$name(n) }
            #[differentiate]
            fn p32(x: f32, n: i32) -> f32 { f32::$name(x, n) }
            #[differentiate]
            fn gm<F: Float>(x: F, n: i32) -> F { x.$name(n) }
            #[differentiate]
            fn gp<F: Float>(x: F, n: i32) -> F { F::$name(x, n) }
            /// A literal exponent.
            #[differentiate]
            fn lit3(x: f64) -> f64 { x.$name(3) }

            macro_rules! v64 {
                ($n:literal, $k:expr, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(move |p: &[f64], t: &[f64]| $j(p[0], $k, t[0])),
                        vjp: Box::new(move |p: &[f64], c: f64| { let (y, pb) = $v(p[0], $k); (y, vec![pb(c)]) }),
                        grad: Box::new(move |p: &[f64]| { let (y, g) = $g(p[0], $k); (y, vec![g]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $k:expr, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(move |p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, $k, t[0] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(move |p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32, $k); let g: f32 = pb(c as f32); (y as f64, vec![g as f64]) }),
                        grad: Box::new(move |p: &[f64]| { let (y, g): (f32, f32) = $g(p[0] as f32, $k); (y as f64, vec![g as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                for &(x, k) in &[$(($x, $ni)),*] {
                    let k: i32 = k;
                    let variants = [
                        v64!("x.f(n) in f64", k, m64_jvp, m64_vjp, m64_grad),
                        v64!("f64::f(x, n)", k, p64_jvp, p64_vjp, p64_grad),
                        v64!("generic x.f(n) at f64", k, gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                        v64!("generic F::f(x, n) at f64", k, gp_jvp::<f64>, gp_vjp::<f64>, gp_grad::<f64>),
                        v32!("x.f(n) in f32", k, m32_jvp, m32_vjp, m32_grad),
                        v32!("f32::f(x, n)", k, p32_jvp, p32_vjp, p32_grad),
                        v32!("generic x.f(n) at f32", k, gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                        v32!("generic F::f(x, n) at f32", k, gp_jvp::<f32>, gp_vjp::<f32>, gp_grad::<f32>),
                    ];
                    check(
                        &format!("{}(_, {k})", stringify!($name)),
                        &[x],
                        &|p: &[f64]| p[0].$name(k),
                        &|p: &[f64]| (p[0] as f32).$name(k) as f64,
                        &variants,
                    );
                }
                let x = 1.7f64;
                let (_, g) = lit3_grad(x);
                assert!((g - 3.0 * x * x).abs() < 1e-12, "literal exponent: {g}");
                let (_, d) = lit3_jvp(x, 2.0);
                assert!((d - 6.0 * x * x).abs() < 1e-12, "literal exponent: {d}");
            }
        }
    };
}

/// Generates the per-rule modules and `COVERED`, the list of (name, float args, int args) the
/// tables test.
macro_rules! all_rules {
    (
        unary { $($u:ident : $up:tt;)* }
        binary { $($b:ident : $bp:tt;)* }
        ternary { $($t:ident : $tp:tt;)* }
        float_int { $($fi:ident : $fip:tt;)* }
    ) => {
        $( unary!($u : $up); )*
        $( binary!($b : $bp); )*
        $( ternary!($t : $tp); )*
        $( float_int!($fi : $fip); )*
        const COVERED: &[(&str, usize, usize)] = &[
            $((stringify!($u), 1, 0),)*
            $((stringify!($b), 2, 0),)*
            $((stringify!($t), 3, 0),)*
            $((stringify!($fi), 1, 1),)*
        ];
    };
}

all_rules! {
    unary {
        sin: [-1.2, -0.3, 0.4, 1.1, 2.9];
        cos: [-1.2, -0.3, 0.4, 1.1, 2.9];
        tan: [-1.2, -0.3, 0.4, 1.1];
        asin: [-0.8, -0.2, 0.3, 0.7];
        acos: [-0.8, -0.2, 0.3, 0.7];
        atan: [-2.5, -0.4, 0.3, 1.2];
        sinh: [-1.5, -0.4, 0.3, 1.2];
        cosh: [-1.5, -0.4, 0.3, 1.2];
        tanh: [-1.5, -0.4, 0.3, 1.2];
        asinh: [-1.5, -0.4, 0.3, 1.2];
        acosh: [1.2, 2.0, 3.5];
        atanh: [-0.8, -0.2, 0.3, 0.7];
        exp: [-1.0, 0.2, 1.3];
        exp2: [-1.0, 0.2, 1.3];
        exp_m1: [-1.0, 0.2, 1.3];
        ln: [0.3, 1.0, 2.5];
        ln_1p: [-0.5, 0.2, 3.0];
        log2: [0.3, 1.0, 2.5];
        log10: [0.3, 1.0, 2.5];
        sqrt: [0.3, 1.0, 2.5];
        cbrt: [-2.0, -0.5, 0.7, 3.0];
        recip: [-1.5, 0.3, 2.5];
        abs: [-1.3, -0.2, 0.6, 2.0];
        floor: [-1.3, 0.2, 2.7];
        ceil: [-1.3, 0.2, 2.7];
        round: [-1.3, 0.2, 2.7];
        trunc: [-1.3, 0.2, 2.7];
        signum: [-1.3, 0.2, 2.7];
        to_degrees: [-1.3, 0.2, 2.7];
        to_radians: [-130.0, 20.0, 270.0];
    }
    binary {
        atan2: [(0.5, 1.0), (-0.7, 0.3), (1.2, -0.8), (-0.4, -0.9)];
        log: [(2.0, 3.0), (0.5, 10.0), (4.0, 0.5)];
        powf: [(1.5, 2.3), (0.7, -1.2), (2.0, 0.5)];
        hypot: [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)];
        max: [(1.0, 2.0), (2.0, -1.0), (-0.5, -0.6)];
        min: [(1.0, 2.0), (2.0, -1.0), (-0.5, -0.6)];
        copysign: [(1.5, -2.0), (-0.7, 0.3), (0.4, 0.9), (-1.2, -0.5)];
    }
    ternary {
        mul_add: [(1.5, -2.0, 0.3), (-0.4, 0.7, 2.0)];
        clamp: [(0.5, -1.0, 1.0), (-2.0, -1.0, 1.0), (3.0, -1.0, 1.0)];
    }
    float_int {
        powi: [(1.3, 3), (-0.7, 2), (2.0, -2), (0.9, 0), (1.1, 1), (-1.4, 5)];
    }
}

/// A tuple of two rows of one float argument (`rules::TUPLES`, `x.sin_cos()`): each part in
/// both call forms (`x.f().k`, `f64::f(x).k` / `F::f(x).k`) and both parts through a tuple
/// `let`, in f64, f32 and generic `F`.
macro_rules! tuple2 {
    ($name:ident : [$($x:expr),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64_0(x: f64) -> f64 { x.$name().0 }
            #[differentiate]
            fn m64_1(x: f64) -> f64 { x.$name().1 }
            #[differentiate]
            fn p64_0(x: f64) -> f64 { f64::$name(x).0 }
            #[differentiate]
            fn p64_1(x: f64) -> f64 { f64::$name(x).1 }
            #[differentiate]
            fn l64(x: f64) -> f64 { let (a, b) = x.$name(); 0.7 * a - 1.3 * b }
            #[differentiate]
            fn m32_0(x: f32) -> f32 { x.$name().0 }
            #[differentiate]
            fn m32_1(x: f32) -> f32 { x.$name().1 }
            #[differentiate]
            fn p32_0(x: f32) -> f32 { f32::$name(x).0 }
            #[differentiate]
            fn p32_1(x: f32) -> f32 { f32::$name(x).1 }
            #[differentiate]
            fn l32(x: f32) -> f32 { let (a, b) = x.$name(); 0.7 * a - 1.3 * b }
            #[differentiate]
            fn gm_0<F: Float>(x: F) -> F { x.$name().0 }
            #[differentiate]
            fn gm_1<F: Float>(x: F) -> F { x.$name().1 }
            #[differentiate]
            fn gp_0<F: Float>(x: F) -> F { F::$name(x).0 }
            #[differentiate]
            fn gp_1<F: Float>(x: F) -> F { F::$name(x).1 }
            #[differentiate]
            fn gl<F: Float>(x: F) -> F {
                let (a, b) = x.$name();
                F::from(0.7).unwrap() * a - F::from(1.3).unwrap() * b
            }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], t[0])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0]); (y, vec![pb(c)]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g) = $g(p[0]); (y, vec![g]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, t[0] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32); let g: f32 = pb(c as f32); (y as f64, vec![g as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g): (f32, f32) = $g(p[0] as f32); (y as f64, vec![g as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let part0 = [
                    v64!("x.f().0 in f64", m64_0_jvp, m64_0_vjp, m64_0_grad),
                    v64!("f64::f(x).0", p64_0_jvp, p64_0_vjp, p64_0_grad),
                    v64!("generic x.f().0 at f64", gm_0_jvp::<f64>, gm_0_vjp::<f64>, gm_0_grad::<f64>),
                    v64!("generic F::f(x).0 at f64", gp_0_jvp::<f64>, gp_0_vjp::<f64>, gp_0_grad::<f64>),
                    v32!("x.f().0 in f32", m32_0_jvp, m32_0_vjp, m32_0_grad),
                    v32!("f32::f(x).0", p32_0_jvp, p32_0_vjp, p32_0_grad),
                    v32!("generic x.f().0 at f32", gm_0_jvp::<f32>, gm_0_vjp::<f32>, gm_0_grad::<f32>),
                    v32!("generic F::f(x).0 at f32", gp_0_jvp::<f32>, gp_0_vjp::<f32>, gp_0_grad::<f32>),
                ];
                let part1 = [
                    v64!("x.f().1 in f64", m64_1_jvp, m64_1_vjp, m64_1_grad),
                    v64!("f64::f(x).1", p64_1_jvp, p64_1_vjp, p64_1_grad),
                    v64!("generic x.f().1 at f64", gm_1_jvp::<f64>, gm_1_vjp::<f64>, gm_1_grad::<f64>),
                    v64!("generic F::f(x).1 at f64", gp_1_jvp::<f64>, gp_1_vjp::<f64>, gp_1_grad::<f64>),
                    v32!("x.f().1 in f32", m32_1_jvp, m32_1_vjp, m32_1_grad),
                    v32!("f32::f(x).1", p32_1_jvp, p32_1_vjp, p32_1_grad),
                    v32!("generic x.f().1 at f32", gm_1_jvp::<f32>, gm_1_vjp::<f32>, gm_1_grad::<f32>),
                    v32!("generic F::f(x).1 at f32", gp_1_jvp::<f32>, gp_1_vjp::<f32>, gp_1_grad::<f32>),
                ];
                let both = [
                    v64!("let (a, b) = x.f() in f64", l64_jvp, l64_vjp, l64_grad),
                    v64!("generic let (a, b) at f64", gl_jvp::<f64>, gl_vjp::<f64>, gl_grad::<f64>),
                    v32!("let (a, b) = x.f() in f32", l32_jvp, l32_vjp, l32_grad),
                    v32!("generic let (a, b) at f32", gl_jvp::<f32>, gl_vjp::<f32>, gl_grad::<f32>),
                ];
                for &x in &[$($x),*] {
                    let x: f64 = x;
                    assert_eq!(m64_0(x), x.$name().0);
                    let name = concat!(stringify!($name), ".0");
                    check(name, &[x], &|p: &[f64]| p[0].$name().0, &|p: &[f64]| (p[0] as f32).$name().0 as f64, &part0);
                    let name = concat!(stringify!($name), ".1");
                    check(name, &[x], &|p: &[f64]| p[0].$name().1, &|p: &[f64]| (p[0] as f32).$name().1 as f64, &part1);
                    check(
                        stringify!($name),
                        &[x],
                        &|p: &[f64]| { let (a, b) = p[0].$name(); 0.7 * a - 1.3 * b },
                        &|p: &[f64]| { let (a, b) = (p[0] as f32).$name(); (0.7 * a - 1.3 * b) as f64 },
                        &both,
                    );
                }
            }
        }
    };
}

tuple2!(sin_cos: [-1.2, -0.3, 0.4, 1.1, 2.9]);

/// The tuples these tables test.
const TUPLES_COVERED: &[&str] = &["sin_cos"];

#[test]
fn every_tuple_is_covered() {
    for t in autodiff::rules::TUPLES {
        assert!(
            TUPLES_COVERED.contains(&t.name),
            "tuple `{}` of autodiff::rules::TUPLES is not tested by tests/rules_macro.rs: add a `tuple2!` line",
            t.name
        );
        let rows: Vec<_> = t.rules().collect();
        assert_eq!(
            (rows.len(), rows[0].args.len()),
            (2, 1),
            "`{}`: `tuple2!` tests tuples of two rows of one float argument",
            t.name
        );
    }
}

/// An operator row (`x OP a`, and `y OP= a` for a binary one), in f64, f32 and generic `F`.
macro_rules! operator {
    ($name:ident, binary $op:tt $op_assign:tt : [$(($x:expr, $a:expr)),* $(,)?]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64(x: f64, a: f64) -> f64 { x $op a }
            #[differentiate]
            fn p64(x: f64, a: f64) -> f64 { let mut y = x; y $op_assign a; y }
            #[differentiate]
            fn m32(x: f32, a: f32) -> f32 { x $op a }
            #[differentiate]
            fn p32(x: f32, a: f32) -> f32 { let mut y = x; y $op_assign a; y }
            #[differentiate]
            fn gm<F: Float>(x: F, a: F) -> F { x $op a }
            #[differentiate]
            fn gp<F: Float>(x: F, a: F) -> F { let mut y = x; y = y $op a; y }
            /// A constant on either side.
            #[differentiate]
            fn cl(x: f64) -> f64 { 1.75 $op x }
            #[differentiate]
            fn cr(x: f64) -> f64 { x $op 1.75 }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], p[1], t[0], t[1])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0], p[1]); let (g0, g1) = pb(c); (y, vec![g0, g1]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1)) = $g(p[0], p[1]); (y, vec![g0, g1]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, p[1] as f32, t[0] as f32, t[1] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32, p[1] as f32); let (g0, g1): (f32, f32) = pb(c as f32); (y as f64, vec![g0 as f64, g1 as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, (g0, g1)): (f32, (f32, f32)) = $g(p[0] as f32, p[1] as f32); (y as f64, vec![g0 as f64, g1 as f64]) }),
                    }
                };
            }
            macro_rules! v1 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], t[0])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0]); (y, vec![pb(c)]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g) = $g(p[0]); (y, vec![g]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let variants = [
                    v64!("x op a in f64", m64_jvp, m64_vjp, m64_grad),
                    v64!("y op= a in f64", p64_jvp, p64_vjp, p64_grad),
                    v64!("generic x op a at f64", gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                    v64!("generic y = y op a at f64", gp_jvp::<f64>, gp_vjp::<f64>, gp_grad::<f64>),
                    v32!("x op a in f32", m32_jvp, m32_vjp, m32_grad),
                    v32!("y op= a in f32", p32_jvp, p32_vjp, p32_grad),
                    v32!("generic x op a at f32", gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                    v32!("generic y = y op a at f32", gp_jvp::<f32>, gp_vjp::<f32>, gp_grad::<f32>),
                ];
                for &(x, a) in &[$(($x, $a)),*] {
                    let (x, a): (f64, f64) = (x, a);
                    check(
                        stringify!($name),
                        &[x, a],
                        &|p: &[f64]| p[0] $op p[1],
                        &|p: &[f64]| ((p[0] as f32) $op (p[1] as f32)) as f64,
                        &variants,
                    );
                    check(
                        concat!("1.75 ", stringify!($op), " x"),
                        &[a],
                        &|p: &[f64]| 1.75 $op p[0],
                        &|p: &[f64]| (1.75f32 $op p[0] as f32) as f64,
                        &[v1!("constant on the left", cl_jvp, cl_vjp, cl_grad)],
                    );
                    check(
                        concat!("x ", stringify!($op), " 1.75"),
                        &[x],
                        &|p: &[f64]| p[0] $op 1.75,
                        &|p: &[f64]| (p[0] as f32 $op 1.75f32) as f64,
                        &[v1!("constant on the right", cr_jvp, cr_vjp, cr_grad)],
                    );
                }
            }
        }
    };
    ($name:ident, unary: [$($x:expr),* $(,)?]) => {
        operator!(@one $name, |x| -x, [$($x),*]);
    };
    ($name:ident, square: [$($x:expr),* $(,)?]) => {
        operator!(@one $name, |x| x * x, [$($x),*]);
    };
    (@one $name:ident, |$x:ident| $e:expr, [$($p:expr),*]) => {
        mod $name {
            use autodiff::prelude::*;
            use super::{check, Variant};

            #[differentiate]
            fn m64($x: f64) -> f64 { $e }
            #[differentiate]
            fn m32($x: f32) -> f32 { $e }
            #[differentiate]
            fn gm<F: Float>($x: F) -> F { $e }
            /// Of an element and a field-free place.
            #[differentiate]
            fn el(v: [f64; 2]) -> f64 { let $x = v[1]; $e + v[0] }

            macro_rules! v64 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: false,
                        jvp: Box::new(|p: &[f64], t: &[f64]| $j(p[0], t[0])),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0]); (y, vec![pb(c)]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g) = $g(p[0]); (y, vec![g]) }),
                    }
                };
            }
            macro_rules! v32 {
                ($n:literal, $j:expr, $v:expr, $g:expr) => {
                    Variant {
                        name: $n, is_f32: true,
                        jvp: Box::new(|p: &[f64], t: &[f64]| { let (y, d): (f32, f32) = $j(p[0] as f32, t[0] as f32); (y as f64, d as f64) }),
                        vjp: Box::new(|p: &[f64], c: f64| { let (y, pb) = $v(p[0] as f32); let g: f32 = pb(c as f32); (y as f64, vec![g as f64]) }),
                        grad: Box::new(|p: &[f64]| { let (y, g): (f32, f32) = $g(p[0] as f32); (y as f64, vec![g as f64]) }),
                    }
                };
            }

            #[test]
            fn both_modes_against_finite_differences() {
                let variants = [
                    v64!("in f64", m64_jvp, m64_vjp, m64_grad),
                    v64!("generic at f64", gm_jvp::<f64>, gm_vjp::<f64>, gm_grad::<f64>),
                    v32!("in f32", m32_jvp, m32_vjp, m32_grad),
                    v32!("generic at f32", gm_jvp::<f32>, gm_vjp::<f32>, gm_grad::<f32>),
                ];
                for &p in &[$($p),*] {
                    let p: f64 = p;
                    check(stringify!($name), &[p], &|v: &[f64]| { let $x = v[0]; $e }, &|v: &[f64]| { let $x = v[0] as f32; $e as f64 }, &variants);
                    // Of an array element.
                    let (y, g) = el_grad([0.5, p]);
                    let h = 1e-6;
                    let f = |$x: f64| $e;
                    let fd = (f(p + h) - f(p - h)) / (2.0 * h);
                    assert_eq!(y, f(p) + 0.5);
                    assert_eq!(g[0], 1.0);
                    assert!(super::close(g[1], fd, 1e-6, 1e-8), "{}: element {} against {fd}", stringify!($name), g[1]);
                }
            }
        }
    };
}

operator!(add, binary + += : [(1.3, -0.4), (-2.0, 0.7)]);
operator!(sub, binary - -= : [(1.3, -0.4), (-2.0, 0.7)]);
operator!(mul, binary * *= : [(1.3, -0.4), (-2.0, 0.7)]);
operator!(div, binary / /= : [(1.3, -0.4), (-2.0, 0.7), (0.2, 3.0)]);
// Away from the multiples of the divisor, where `x % a` jumps.
operator!(rem, binary % %= : [(1.3, 0.5), (-2.2, 0.7), (5.5, -2.0)]);
operator!(neg, unary: [-1.3, 0.2, 2.0]);
operator!(square, square: [-1.3, 0.2, 2.0]);

/// The operator rows these tables test: (name, float args, int args).
const OPERATORS_COVERED: &[(&str, usize, usize)] = &[
    ("add", 2, 0),
    ("sub", 2, 0),
    ("mul", 2, 0),
    ("div", 2, 0),
    ("rem", 2, 0),
    ("neg", 1, 0),
    ("square", 1, 0),
];

#[test]
fn every_rule_is_covered() {
    for rule in RULES {
        let floats = rule.args.iter().filter(|(_, k)| *k == "F").count();
        let ints = rule.args.iter().filter(|(_, k)| *k == "i32").count();
        assert_eq!(
            floats + ints,
            rule.args.len(),
            "rule `{}` has an argument kind this test does not know: {:?}",
            rule.name,
            rule.args
        );
        match COVERED
            .iter()
            .chain(OPERATORS_COVERED)
            .find(|(n, _, _)| *n == rule.name)
        {
            None => panic!(
                "rule `{}` of autodiff::rules::RULES is not tested by tests/rules_macro.rs: add it to `all_rules!`",
                rule.name
            ),
            Some(&(_, f, i)) => assert_eq!(
                (f, i),
                (floats, ints),
                "rule `{}`: tested with {f} float and {i} int arguments, but the table says {:?}",
                rule.name,
                rule.args
            ),
        }
    }
    for (n, _, _) in COVERED.iter().chain(OPERATORS_COVERED) {
        assert!(
            RULES.iter().any(|r| r.name == *n),
            "`{n}` is tested but is not in RULES"
        );
    }
}

/// The non-differentiable points follow the conventions documented in the rules.
mod conventions {
    use autodiff::prelude::*;

    #[differentiate]
    fn abs(x: f64) -> f64 {
        x.abs()
    }
    #[differentiate]
    fn max(x: f64, a: f64) -> f64 {
        x.max(a)
    }
    #[differentiate]
    fn min(x: f64, a: f64) -> f64 {
        f64::min(x, a)
    }

    #[test]
    fn at_the_kinks() {
        assert_eq!(abs_grad(0.0).1, 0.0);
        assert_eq!(abs_jvp(0.0, 1.0).1, 0.0);
        // On a tie the whole derivative goes to the receiver.
        assert_eq!(max_grad(1.0, 1.0).1, (1.0, 0.0));
        assert_eq!(max_jvp(1.0, 1.0, 0.0, 1.0).1, 0.0);
        assert_eq!(min_grad(1.0, 1.0).1, (1.0, 0.0));
        assert_eq!(min_jvp(1.0, 1.0, 1.0, 0.0).1, 1.0);
    }
}
