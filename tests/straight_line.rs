//! Straight-line bodies (issue 2, API.md "What a differentiated body may contain"): every
//! feature in both modes, against finite differences, the dot-product test and the Jacobian
//! built both ways (`common::check_fn`).
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

#[macro_use]
mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad, close};

// ---------------------------------------------------------------------------------------------
// let, shadowing, let mut, assignment, compound assignment

#[differentiate]
fn lets(x: f64, y: f64) -> f64 {
    let a: f64 = x * y;
    let b = a + x;
    let a = b * a; // shadowing
    let mut c = a - y;
    c = c * x;
    c += y;
    c -= x * 0.5;
    c *= b;
    c /= 1.0 + y * y;
    let c = c + a; // shadow a mutable
    c
}

#[test]
fn let_shadowing_mut_compound() {
    for &(x, y) in &[(0.3, 0.7), (-1.2, 0.4), (2.0, -1.5)] {
        check2!(lets, lets_jvp, lets_vjp, lets_grad, x, y);
    }
}

/// The same variable overwritten many times by functions of itself (`x = f(x)`).
#[differentiate]
fn overwrite(x: f64) -> f64 {
    let mut s = x;
    s = s * s;
    s = s.sin() + s;
    s = s * x;
    s -= s * 0.25;
    s = (s / (1.0 + x * x)).exp();
    s
}

#[test]
fn overwritten_scalar() {
    for &x in &[0.3, -0.8, 1.1] {
        check1!(overwrite, overwrite_jvp, overwrite_vjp, overwrite_grad, x);
    }
}

/// `[a; n]` of a binding whose only use is the repeat: its adjoint is a sum over the elements,
/// made inside a loop (once a compile error: the adjoint was declared inside that loop).
#[differentiate]
fn repeated(x: f64) -> f64 {
    let a = x * 2.0;
    let v = [a; 3];
    v[0] + v[1] * v[2]
}

#[test]
fn repeated_binding() {
    for &x in &[0.3, -0.8, 1.5] {
        check1!(repeated, repeated_jvp, repeated_vjp, repeated_grad, x);
    }
}

// ---------------------------------------------------------------------------------------------
// tuples

#[differentiate]
fn two_outputs(a: f64, b: f64) -> (f64, f64) {
    (a * b, a - b.exp())
}

#[differentiate]
fn tuples(t: f64, u: f64) -> f64 {
    let (c, s) = (t.cos(), t.sin());
    let (p, q) = two_outputs(c * u, s);
    let (mut m, n): (f64, f64) = (p + q, p * q);
    m *= n;
    m + c * s
}

#[test]
fn tuple_patterns_and_tuple_returning_calls() {
    for &(x, y) in &[(0.3, 0.7), (-1.2, 0.4)] {
        check2!(tuples, tuples_jvp, tuples_vjp, tuples_grad, x, y);
        check_fn(
            "two_outputs",
            &[x, y],
            &|p| {
                let (a, b) = two_outputs(p[0], p[1]);
                vec![a, b]
            },
            &|p, t| {
                let ((a, b), (da, db)) = two_outputs_jvp(p[0], p[1], t[0], t[1]);
                (vec![a, b], vec![da, db])
            },
            &|p, c| {
                let ((a, b), pb) = two_outputs_vjp(p[0], p[1]);
                let (ga, gb) = pb((c[0], c[1]));
                (vec![a, b], vec![ga, gb])
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// unary minus, parentheses, literals, casts from integers

#[differentiate]
fn misc(x: f64, n: usize) -> f64 {
    let k = n as f64;
    let i = 3i32 as f64;
    let lit = 2.5e-1 + 1e1 + 3.0f64;
    -(x * k) + (x - 2.5) * (1.0 / i) - -x + (x * lit) * -(-(x))
}

#[test]
fn unary_minus_parens_literals_casts() {
    for &x in &[0.3, -1.7] {
        let n = 4usize;
        check1!(
            |x| misc(x, n),
            |x, t| misc_jvp(x, n, t),
            |x| misc_vjp(x, n),
            |x| misc_grad(x, n),
            x
        );
    }
}

// ---------------------------------------------------------------------------------------------
// constants

#[differentiate]
fn consts_f64(x: f64) -> f64 {
    x * std::f64::consts::PI + std::f64::consts::E * x * x + core::f64::consts::LN_2
}

mod with_use {
    use autodiff::prelude::*;
    use std::f64::consts::{FRAC_PI_2, PI};

    #[differentiate]
    pub fn consts_imported(x: f64) -> f64 {
        (x + FRAC_PI_2).sin() * PI
    }
}

#[differentiate]
fn consts_generic<F: Float>(x: F) -> F {
    let two = F::from(2.0).unwrap();
    let pi = F::from(std::f64::consts::PI).unwrap();
    F::one() + two * x + F::zero() * x + x * x * pi - F::one() / (x + two)
}

#[test]
fn constants() {
    for &x in &[0.3, -0.7, 1.4] {
        check1!(
            consts_f64,
            consts_f64_jvp,
            consts_f64_vjp,
            consts_f64_grad,
            x
        );
        check1!(
            with_use::consts_imported,
            with_use::consts_imported_jvp,
            with_use::consts_imported_vjp,
            with_use::consts_imported_grad,
            x
        );
        check1!(
            consts_generic::<f64>,
            consts_generic_jvp::<f64>,
            consts_generic_vjp::<f64>,
            consts_generic_grad::<f64>,
            x
        );
        // f32 against the f64 derivative
        let (y32, g32) = consts_generic_grad::<f32>(x as f32);
        let (_, g64) = consts_generic_grad::<f64>(x as f32 as f64);
        assert_eq!(y32, consts_generic::<f32>(x as f32));
        assert!(close(g32 as f64, g64, 1e-5, 1e-6), "{g32} vs {g64}");
        let (_, d32) = consts_generic_jvp::<f32>(x as f32, 1.0);
        assert!(close(d32 as f64, g64, 1e-5, 1e-6), "{d32} vs {g64}");
    }
}

// ---------------------------------------------------------------------------------------------
// stop_gradient

#[differentiate]
fn sg(x: f64, y: f64) -> f64 {
    let k = stop_gradient(x * y);
    x * k + y + stop_gradient(y.sin())
}

#[test]
fn stop_gradient_has_zero_derivative() {
    let (x, y) = (0.7, -1.3);
    let (v, (gx, gy)) = sg_grad(x, y);
    assert_eq!(v, sg(x, y));
    assert!(close(gx, x * y, 1e-15, 0.0), "{gx}");
    assert!(close(gy, 1.0, 1e-15, 0.0), "{gy}");
    let (_, dx) = sg_jvp(x, y, 1.0, 0.0);
    let (_, dy) = sg_jvp(x, y, 0.0, 1.0);
    assert!(
        close(dx, x * y, 1e-15, 0.0) && close(dy, 1.0, 1e-15, 0.0),
        "{dx} {dy}"
    );
    let (_, pb) = sg_vjp(x, y);
    let (a, b) = pb(2.0);
    assert!(
        close(a, 2.0 * x * y, 1e-15, 0.0) && close(b, 2.0, 1e-15, 0.0),
        "{a} {b}"
    );
}

// ---------------------------------------------------------------------------------------------
// calls to other differentiated functions: plain, across modules, turbofish, passive args,
// custom rules

#[differentiate]
fn inner(x: f64, y: f64) -> f64 {
    x * y.exp() - y
}

mod m {
    use autodiff::prelude::*;

    #[differentiate]
    pub fn g(x: f64) -> f64 {
        x.sin() * x
    }

    pub mod deeper {
        use autodiff::prelude::*;

        #[differentiate]
        pub fn h<F: Float>(x: F, y: F) -> F {
            x * y + x.tanh()
        }
    }
}

#[differentiate]
fn cubic<F: Float>(x: F) -> F {
    x * x * x - x
}

/// A differentiated function with a passive integer argument.
#[differentiate]
fn scaled(x: f64, n: i32) -> f64 {
    x.powi(n) * (n as f64)
}

#[differentiate]
fn caller_simple(x: f64, y: f64) -> f64 {
    inner(x, y) * m::g(x)
        + cubic::<f64>(y)
        + m::deeper::h(x, y)
        + m::deeper::h::<f64>(y, x)
        + scaled(y, 3)
        + cubic(x * y)
}

#[test]
fn calls_on_parameters_and_expressions() {
    for &(x, y) in &[(0.3, 0.7), (-0.9, 0.2)] {
        check2!(
            caller_simple,
            caller_simple_jvp,
            caller_simple_vjp,
            caller_simple_grad,
            x,
            y
        );
    }
}

// a custom rule, written by hand as in API.md
fn cube_root(x: f64) -> f64 {
    x.cbrt()
}
fn cube_root_jvp(x: f64, t: f64) -> (f64, f64) {
    let y = x.cbrt();
    (y, t / (3.0 * y * y))
}
fn cube_root_vjp(x: f64) -> (f64, impl FnOnce(f64) -> f64) {
    let y = x.cbrt();
    (y, move |ct| ct / (3.0 * y * y))
}

mod custom {
    /// A custom rule in another module, with two inputs.
    pub fn softplus2(x: f64, y: f64) -> f64 {
        (1.0 + x.exp()).ln() * y
    }
    pub fn softplus2_jvp(x: f64, y: f64, tx: f64, ty: f64) -> (f64, f64) {
        let s = (1.0 + x.exp()).ln();
        let sig = 1.0 / (1.0 + (-x).exp());
        (s * y, sig * y * tx + s * ty)
    }
    pub fn softplus2_vjp(x: f64, y: f64) -> (f64, impl FnOnce(f64) -> (f64, f64)) {
        let s = (1.0 + x.exp()).ln();
        let sig = 1.0 / (1.0 + (-x).exp());
        (s * y, move |ct| (ct * sig * y, ct * s))
    }
}

#[differentiate]
fn uses_custom(x: f64, y: f64) -> f64 {
    let r = cube_root(x * x + 1.0) * y;
    r + custom::softplus2(r, x)
}

#[test]
fn custom_rules() {
    for &(x, y) in &[(0.3, 0.7), (-1.5, 2.0)] {
        check2!(
            uses_custom,
            uses_custom_jvp,
            uses_custom_vjp,
            uses_custom_grad,
            x,
            y
        );
    }
}

// ---------------------------------------------------------------------------------------------
// outputs: arrays, tuples, tuples of arrays

#[differentiate]
fn arr_out(x: f64, y: f64) -> [f64; 3] {
    let a = x * y;
    [a, x.sin(), y / x]
}

#[differentiate]
fn tup_out(x: f64, y: f64) -> (f64, [f64; 2], f64) {
    let a = x * y;
    (a.exp(), [a, x - y], y)
}

#[test]
fn array_and_tuple_outputs() {
    let x = [0.6, -1.1];
    check_fn(
        "arr_out",
        &x,
        &|p| arr_out(p[0], p[1]).to_vec(),
        &|p, t| {
            let (y, d) = arr_out_jvp(p[0], p[1], t[0], t[1]);
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (y, pb) = arr_out_vjp(p[0], p[1]);
            let (a, b) = pb([c[0], c[1], c[2]]);
            (y.to_vec(), vec![a, b])
        },
    );
    let flat = |(a, [b, c], d): (f64, [f64; 2], f64)| vec![a, b, c, d];
    check_fn(
        "tup_out",
        &x,
        &|p| flat(tup_out(p[0], p[1])),
        &|p, t| {
            let (y, d) = tup_out_jvp(p[0], p[1], t[0], t[1]);
            (flat(y), flat(d))
        },
        &|p, c| {
            let (y, pb) = tup_out_vjp(p[0], p[1]);
            let (a, b) = pb((c[0], [c[1], c[2]], c[3]));
            (flat(y), vec![a, b])
        },
    );
}

// ---------------------------------------------------------------------------------------------
// options

#[differentiate(wrt(y))]
fn only_y(x: f64, y: f64, z: f64) -> f64 {
    x * y * y + z.sin() * y
}

#[differentiate(wrt(x, z))]
fn only_xz(x: f64, y: f64, z: f64) -> f64 {
    x * y * y + z.sin() * x
}

#[differentiate(forward)]
fn fwd_only(x: f64, y: f64) -> f64 {
    x.exp() * y
}

#[differentiate(reverse)]
fn rev_only(x: f64, y: f64) -> f64 {
    x.exp() * y
}

#[differentiate(reverse, wrt(y))]
fn rev_wrt(x: f64, y: f64) -> f64 {
    x.exp() * y * y
}

#[test]
fn options_wrt_forward_reverse() {
    let (x, y, z) = (0.3, -0.8, 1.3);
    // wrt(y): one tangent, a single adjoint (not a tuple)
    let (v, d) = only_y_jvp(x, y, z, 1.0);
    assert_eq!(v, only_y(x, y, z));
    let want = 2.0 * x * y + z.sin();
    assert!(close(d, want, 1e-14, 0.0));
    let (_, g): (f64, f64) = only_y_grad(x, y, z);
    assert!(close(g, want, 1e-14, 0.0));
    let (_, pb) = only_y_vjp(x, y, z);
    let h: f64 = pb(0.5);
    assert!(close(h, 0.5 * want, 1e-14, 0.0));
    check_fn(
        "only_y",
        &[y],
        &|p| vec![only_y(x, p[0], z)],
        &|p, t| {
            let (v, d) = only_y_jvp(x, p[0], z, t[0]);
            (vec![v], vec![d])
        },
        &|p, c| {
            let (v, pb) = only_y_vjp(x, p[0], z);
            (vec![v], vec![pb(c[0])])
        },
    );
    // wrt(x, z)
    let (_, (gx, gz)) = only_xz_grad(x, y, z);
    assert!(close(gx, y * y + z.sin(), 1e-14, 0.0) && close(gz, z.cos() * x, 1e-14, 0.0));
    let (_, d) = only_xz_jvp(x, y, z, 0.5, 2.0);
    assert!(close(d, 0.5 * gx + 2.0 * gz, 1e-14, 0.0));
    // forward only / reverse only
    let (_, d) = fwd_only_jvp(x, y, 1.0, 0.0);
    assert!(close(d, x.exp() * y, 1e-15, 0.0));
    let (_, (a, b)) = rev_only_grad(x, y);
    assert!(close(a, x.exp() * y, 1e-15, 0.0) && close(b, x.exp(), 1e-15, 0.0));
    let (_, pb) = rev_only_vjp(x, y);
    let (a2, _) = pb(2.0);
    assert!(close(a2, 2.0 * a, 1e-15, 0.0));
    let (_, gy) = rev_wrt_grad(x, y);
    assert!(close(gy, 2.0 * x.exp() * y, 1e-15, 0.0));
}

// ---------------------------------------------------------------------------------------------
// generic functions in f32 and f64, with a where clause

#[differentiate]
fn generic_mix<F>(x: F, y: F) -> F
where
    F: Float,
{
    let a = x.sin() * y + F::exp(x * y);
    let b = a.sqrt() / (F::one() + y * y);
    b.powi(3) + a.atan2(y) + x.hypot(y)
}

#[test]
fn generic_in_f32_and_f64() {
    for &(x, y) in &[(0.3, 0.7), (1.2, 0.4)] {
        check2!(
            generic_mix,
            generic_mix_jvp::<f64>,
            generic_mix_vjp::<f64>,
            generic_mix_grad::<f64>,
            x,
            y
        );
        let (x32, y32) = (x as f32, y as f32);
        let (v, (a, b)) = generic_mix_grad::<f32>(x32, y32);
        let (v64, (a64, b64)) = generic_mix_grad::<f64>(x32 as f64, y32 as f64);
        assert_eq!(v, generic_mix::<f32>(x32, y32));
        assert!(close(v as f64, v64, 1e-5, 1e-6));
        assert!(
            close(a as f64, a64, 1e-4, 1e-5) && close(b as f64, b64, 1e-4, 1e-5),
            "{a} {a64} {b} {b64}"
        );
        let (_, d) = generic_mix_jvp::<f32>(x32, y32, 1.0, 2.0);
        assert!(close(d as f64, a64 + 2.0 * b64, 1e-4, 1e-5));
    }
}

/// f32 concrete.
#[differentiate]
fn concrete_f32(x: f32, y: f32) -> f32 {
    let z: f32 = x * y + 1.5;
    z.ln() * x + std::f32::consts::PI * y
}

#[test]
fn concrete_f32_both_modes() {
    let (x, y) = (0.8f32, 1.7f32);
    let (_, (a, b)) = concrete_f32_grad(x, y);
    let z = x * y + 1.5;
    let wa = y / z * x + z.ln();
    let wb = x / z * x + std::f32::consts::PI;
    assert!((a - wa).abs() < 1e-5 && (b - wb).abs() < 1e-5);
    let (_, d) = concrete_f32_jvp(x, y, 1.0, -1.0);
    assert!((d - (wa - wb)).abs() < 1e-5);
}

// ---------------------------------------------------------------------------------------------
// blocks, zero-derivative functions, comparisons and predicates on active values

#[differentiate]
fn blocks_and_flat(x: f64, y: f64) -> f64 {
    let a = {
        let t = x * y;
        t + x.floor() + y.signum() + x.round() * 0.0
    };
    let ok = x.is_nan() || y.is_infinite() || !x.is_finite();
    let b = if ok { 0.0 } else { a * a };
    b + (x.trunc() + y.ceil()) * x
}

#[test]
fn blocks_and_piecewise_constant() {
    check2!(
        blocks_and_flat,
        blocks_and_flat_jvp,
        blocks_and_flat_vjp,
        blocks_and_flat_grad,
        0.3,
        1.7
    );
    check2!(
        blocks_and_flat,
        blocks_and_flat_jvp,
        blocks_and_flat_vjp,
        blocks_and_flat_grad,
        -1.4,
        2.2
    );
}

/// An expression body with nothing but the return value; a parameter that is not used.
#[differentiate]
fn unused_param(x: f64, _y: f64) -> f64 {
    x * 2.0
}

#[test]
fn unused_parameter_gets_zero() {
    let (_, (a, b)) = unused_param_grad(1.0, 2.0);
    assert_eq!((a, b), (2.0, 0.0));
    let (_, d) = unused_param_jvp(1.0, 2.0, 1.0, 1.0);
    assert_eq!(d, 2.0);
}

/// A function whose output does not depend on the input at all.
#[differentiate]
fn constant_output(_x: f64) -> f64 {
    3.0
}

#[test]
fn constant_output_has_zero_gradient() {
    assert_eq!(constant_output_grad(1.0), (3.0, 0.0));
    assert_eq!(constant_output_jvp(1.0, 1.0), (3.0, 0.0));
}
