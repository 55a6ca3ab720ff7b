//! Calls to differentiated functions whose arguments are locals bound from calls or from
//! indexing (`let a = inner(x, y); m::g(a)`, `g(x[0])`), and passive float arguments that are not
//! literals (`g(x, F::from(0.5).unwrap())`, `g(x, F::one())`, a float parameter left out of `wrt`,
//! `std::f64::consts::PI`).
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

#[differentiate]
fn two_outputs(a: f64, b: f64) -> (f64, f64) {
    (a * b, a - b.exp())
}

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
fn caller(x: f64, y: f64) -> f64 {
    let a = inner(x, y);
    let b = m::g(a);
    let c = cubic::<f64>(x * 0.5) + cubic(y);
    let d = m::deeper::h::<f64>(a, y) + m::deeper::h(x, 2.0); // a constant argument
    let e = scaled(y, 3) + inner(2.0, x); // a constant first argument
    b * c + d + e + inner(x * 2.0, y.sin())
}

#[test]
fn calls_to_differentiated_functions() {
    for &(x, y) in &[(0.3, 0.7), (-0.9, 0.2)] {
        check2!(caller, caller_jvp, caller_vjp, caller_grad, x, y);
    }
}

/// Calls in a generic function, forwarding the type parameter.
#[differentiate]
fn gen_caller<F: Float>(x: F, y: F) -> F {
    let a = cubic::<F>(x) * m::deeper::h::<F>(x, y);
    a + cubic(y)
}

#[test]
fn calls_in_generic_functions() {
    check2!(
        gen_caller,
        gen_caller_jvp::<f64>,
        gen_caller_vjp::<f64>,
        gen_caller_grad::<f64>,
        0.4,
        -0.6
    );
    let (v, (a, b)) = gen_caller_grad::<f32>(0.4, -0.6);
    let (v64, (a64, b64)) = gen_caller_grad::<f64>(0.4f32 as f64, -0.6f32 as f64);
    assert!(
        close(v as f64, v64, 1e-5, 1e-6)
            && close(a as f64, a64, 1e-5, 1e-6)
            && close(b as f64, b64, 1e-5, 1e-6)
    );
}

// ---------------------------------------------------------------------------------------------
// calls whose arguments are passive floats that are not literals: they still need a (zero)
// tangent in the callee's `_jvp` and an ignored adjoint from its pullback.

#[differentiate]
fn mul2<F: Float>(a: F, b: F) -> F {
    a * b + a.sin()
}

#[differentiate]
fn passive_float_args<F: Float>(x: F) -> F {
    let half = F::from(0.5).unwrap();
    mul2(x, F::from(0.5).unwrap()) + mul2(F::one(), x) + mul2(x, half) + mul2(x, F::zero())
}

#[differentiate(wrt(x))]
fn passive_float_param(x: f64, k: f64) -> f64 {
    mul2(x, k) + mul2(k, x) + mul2(x, std::f64::consts::PI)
}

#[test]
fn calls_with_passive_float_arguments() {
    for &x in &[0.3, -1.2] {
        check1!(
            passive_float_args::<f64>,
            passive_float_args_jvp::<f64>,
            passive_float_args_vjp::<f64>,
            passive_float_args_grad::<f64>,
            x
        );
        let k = 1.7;
        check1!(
            |x| passive_float_param(x, k),
            |x, t| passive_float_param_jvp(x, k, t),
            |x| passive_float_param_vjp(x, k),
            |x| passive_float_param_grad(x, k),
            x
        );
    }
}

/// Calls on locals bound from calls, from tuple patterns, and from arithmetic.
#[differentiate]
fn call_chain(x: f64, y: f64) -> f64 {
    let a = mul2(x, y);
    let b = mul2(a, a);
    let (p, q) = two_outputs(b, x);
    let c = mul2(p, q) * 2.0;
    mul2(c, mul2(b, y))
}

#[test]
fn calls_on_call_results() {
    check2!(
        call_chain,
        call_chain_jvp,
        call_chain_vjp,
        call_chain_grad,
        0.3,
        -0.4
    );
}
