//! A `Differentiable` struct whose name is a single upper-case letter (`S`, as API.md's table
//! writes it), by value and by reference: it is not taken for a type parameter.
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

use autodiff::prelude::*;

// A struct whose name is a single upper-case letter, by value and by reference (API.md's table
// writes it `S`).
#[derive(Differentiable, Clone, Debug, PartialEq)]
struct S {
    a: f64,
    b: [f64; 2],
}

#[differentiate]
fn s_by_value(p: S, x: f64) -> f64 {
    p.a * x + p.b[0] * p.b[1]
}

#[differentiate]
fn s_by_ref(p: &S, x: f64) -> f64 {
    p.a * x + p.b[0] * p.b[1] * x
}

#[test]
fn single_letter_struct() {
    let p = S {
        a: 0.5,
        b: [2.0, -3.0],
    };
    let (_, (gp, gx)) = s_by_value_grad(p.clone(), 1.5);
    assert_eq!(
        gp,
        S {
            a: 1.5,
            b: [-3.0, 2.0]
        }
    );
    assert_eq!(gx, 0.5);
    let (_, d) = s_by_value_jvp(
        p.clone(),
        1.5,
        &S {
            a: 1.0,
            b: [0.0, 0.0],
        },
        0.0,
    );
    assert_eq!(d, 1.5);
    let (_, (gp, gx)) = s_by_ref_grad(&p, 1.5);
    assert_eq!(
        gp,
        S {
            a: 1.5,
            b: [-4.5, 3.0]
        }
    );
    assert_eq!(gx, 0.5 - 6.0);
}
