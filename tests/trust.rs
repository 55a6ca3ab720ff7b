//! Regressions of the bug classes the random-program fuzzer found (issue 11), each checked in
//! both modes against finite differences, the dot-product test and the Jacobian built both ways
//! (`common::check_fn`), and `_grad` against `_vjp` (`common::check_grad`). The constructs
//! that must be refused instead are `tests/ui` cases (`unsafe_block`, `active_to_bits`,
//! `active_cast_to_int`, `format_active`, `unknown_call_argument`).
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
    clippy::manual_checked_ops,
    clippy::never_loop,
    clippy::self_assignment,
    clippy::eq_op,
    clippy::just_underscores_and_digits,
    clippy::redundant_locals
)]
#![deny(warnings)]
#![allow(dead_code, non_snake_case)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

/// Checks `f(x: f64) -> f64` through its `_jvp`, `_vjp` and `_grad`.
macro_rules! check1 {
    ($name:literal, $x:expr, $f:expr, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let x = [$x];
        check_fn(
            $name,
            &x,
            &|p| vec![$f(p[0])],
            &|p, t| {
                let (y, d) = $jvp(p[0], t[0]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p[0]);
                (vec![y], vec![pb(c[0])])
            },
        );
        check_grad($name, &x, &|p| $f(p[0]), &|p| {
            let (y, g) = $grad(p[0]);
            (y, vec![g])
        });
    }};
}

/// Checks `f(x: [f64; N]) -> f64` (or `&[f64; N]` with `&`).
macro_rules! check_arr {
    ($name:literal, $n:literal, $x:expr, $f:ident, $jvp:ident, $vjp:ident, $grad:ident $(, $r:tt)?) => {{
        let x: [f64; $n] = $x;
        let arr = |p: &[f64]| -> [f64; $n] { p.try_into().unwrap() };
        check_fn(
            $name,
            &x,
            &|p| vec![$f($($r)? arr(p))],
            &|p, t| {
                let (y, d) = $jvp($($r)? arr(p), $($r)? arr(t));
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp($($r)? arr(p));
                let g: [f64; $n] = pb(c[0]);
                (vec![y], g.to_vec())
            },
        );
        check_grad($name, &x, &|p| $f($($r)? arr(p)), &|p| {
            let (y, g): (f64, [f64; $n]) = $grad($($r)? arr(p));
            (y, g.to_vec())
        });
    }};
}

// ---------------------------------------------------------------- 1. break in nested loops

#[differentiate]
fn break_inner_for(x: f64) -> f64 {
    let mut acc = x;
    for _ in 0..2 {
        for _ in 0..2 {
            acc = acc * x;
            break;
        }
    }
    acc
}

#[differentiate]
fn break_inner_while(x: f64) -> f64 {
    let mut acc = x;
    let mut i = 0;
    while i < 3 {
        let mut j = 0;
        while j < 4 {
            acc = acc * x + 0.1;
            if j == 1 {
                break;
            }
            j += 1;
        }
        i += 1;
    }
    acc
}

#[differentiate]
fn break_inner_loop_outer_while(x: f64) -> f64 {
    let mut acc = x;
    let mut i = 0;
    while i < 3 {
        let mut n = 0;
        loop {
            acc = acc.sin() + x;
            n += 1;
            if n >= 2 {
                break;
            }
        }
        i += 1;
    }
    acc
}

#[differentiate]
fn break_labelled_outer(x: f64) -> f64 {
    let mut acc = x;
    'outer: for i in 0..4 {
        for j in 0..3 {
            acc = acc * x + 0.5;
            if i == 2 && j == 1 {
                break 'outer;
            }
            if j == 1 {
                break;
            }
        }
        for _ in 0..2 {
            acc = acc - 0.25 * x;
            continue;
        }
    }
    acc
}

#[test]
fn break_in_a_nested_loop_ends_only_that_loop() {
    // x = 0.7: break_inner_for = x^3 = 0.343, derivative 3 x^2 = 1.47.
    assert!((break_inner_for(0.7) - 0.343).abs() < 1e-12);
    let (y, g) = break_inner_for_grad(0.7);
    assert!(
        (y - 0.343).abs() < 1e-12 && (g - 1.47).abs() < 1e-12,
        "{y} {g}"
    );
    check1!(
        "break_inner_for",
        0.7,
        break_inner_for,
        break_inner_for_jvp,
        break_inner_for_vjp,
        break_inner_for_grad
    );
    check1!(
        "break_inner_while",
        0.6,
        break_inner_while,
        break_inner_while_jvp,
        break_inner_while_vjp,
        break_inner_while_grad
    );
    check1!(
        "break_inner_loop_outer_while",
        0.4,
        break_inner_loop_outer_while,
        break_inner_loop_outer_while_jvp,
        break_inner_loop_outer_while_vjp,
        break_inner_loop_outer_while_grad
    );
    check1!(
        "break_labelled_outer",
        0.3,
        break_labelled_outer,
        break_labelled_outer_jvp,
        break_labelled_outer_vjp,
        break_labelled_outer_grad
    );
}

// ---------------------------------------------------------------- 2. hygiene

/// Every kind of name the macro generates, written by the user.
#[differentiate]
fn named_like_generated(theta: f64) -> f64 {
    let ct = theta.cos();
    let theta__bar = ct * 2.0;
    let theta__dot = theta__bar + theta;
    let __t0 = theta__dot * theta;
    let __t1 = __t0.sin();
    let __tape0 = __t1 + ct;
    let __y = __tape0 * 0.5;
    let __n = __y + 1.0;
    let __ret = __n * theta;
    let (__b, __s) = (__ret * 0.5, __ret * 0.25);
    let __v = __b + __s;
    let __z = __v * ct;
    let __d = __z + __d_helper(theta);
    let __adj = __d * 1.5;
    let __e = __adj - __z;
    let __c = __e * __e;
    let __lo = __c + 1.0;
    let __hi = __lo.ln();
    let __trips = __hi * ct;
    let __k_ct = __trips + __y;
    let __own_theta = __k_ct * 0.5;
    let __pb___d = __own_theta + __hi;
    let __w_theta_0 = __pb___d * 0.3;
    let __brk0 = __w_theta_0 + 1.0;
    let __done0 = __brk0 * ct;
    let __core = __done0 + theta;
    let ct__bar = __core * 2.0;
    ct__bar + ct
}

#[differentiate]
fn __d_helper(ct: f64) -> f64 {
    ct * ct
}

/// Shadowing next to user names spelled like the renamer's (`x__1`).
#[differentiate]
fn renamed_like_user(x: f64) -> f64 {
    let x__1 = x * 3.0;
    let y = x * 2.0;
    let y = y.sin() + x__1;
    let y = y * x;
    let y__1 = y + 1.0;
    y__1 * x__1
}

/// A tuple output whose pullback parameter would be named `ct`.
#[differentiate]
fn tuple_with_ct(theta: f64) -> (f64, f64) {
    let ct = theta.cos();
    let st = theta.sin();
    (ct * theta, st * ct)
}

/// The name of a loop label and of tapes inside loops.
#[differentiate]
fn loop_names(x: &[f64; 4]) -> f64 {
    let mut __n = 0.0;
    let mut ct = 1.0;
    'ct: for __trips in 0..4 {
        let __v = x[__trips] * ct;
        if __v > 10.0 {
            break 'ct;
        }
        __n += __v.sin();
        ct *= x[__trips];
    }
    __n + ct
}

#[test]
fn user_names_never_meet_generated_ones() {
    check1!(
        "named_like_generated",
        0.4,
        named_like_generated,
        named_like_generated_jvp,
        named_like_generated_vjp,
        named_like_generated_grad
    );
    check1!(
        "renamed_like_user",
        0.4,
        renamed_like_user,
        renamed_like_user_jvp,
        renamed_like_user_vjp,
        renamed_like_user_grad
    );
    check_fn(
        "tuple_with_ct",
        &[0.7],
        &|p| {
            let (a, b) = tuple_with_ct(p[0]);
            vec![a, b]
        },
        &|p, t| {
            let ((a, b), (da, db)) = tuple_with_ct_jvp(p[0], t[0]);
            (vec![a, b], vec![da, db])
        },
        &|p, c| {
            let ((a, b), pb) = tuple_with_ct_vjp(p[0]);
            (vec![a, b], vec![pb((c[0], c[1]))])
        },
    );
    check_arr!(
        "loop_names",
        4,
        [0.3, -0.6, 0.8, 0.5],
        loop_names,
        loop_names_jvp,
        loop_names_vjp,
        loop_names_grad,
        &
    );
}

// ---------------------------------------------------------------- 3. assignments reading their place

#[differentiate]
fn reads_own_place(x: [f64; 3]) -> f64 {
    let mut a = x[0] * 2.0;
    a -= a;
    a += x[1];
    a += a;
    let mut b = x;
    b[1] += b[0];
    b[2] *= b[1];
    b[0] -= b[2];
    b[1] -= b[1] * 0.5;
    b[2] /= b[0] + 3.0;
    a + b[2] + b[0] * b[1]
}

#[differentiate]
fn prefix_sums_array(x: &[f64; 5]) -> f64 {
    let mut p = [x[0], x[1], x[2], x[3], x[4]];
    for i in 1..5 {
        p[i] += p[i - 1];
        p[i] *= p[i - 1] * 0.5 + 1.0;
    }
    p[4]
}

#[differentiate]
fn prefix_sums_vec(x: &[f64]) -> f64 {
    let mut p = vec![0.0; x.len()];
    for i in 0..x.len() {
        p[i] = x[i];
    }
    for i in 1..p.len() {
        p[i] += p[i - 1];
        p[i] -= p[i - 1] * 0.25;
    }
    p[p.len() - 1] * p[0]
}

#[test]
fn compound_assignment_reading_its_own_place() {
    check_arr!(
        "reads_own_place",
        3,
        [0.7, 0.3, -0.4],
        reads_own_place,
        reads_own_place_jvp,
        reads_own_place_vjp,
        reads_own_place_grad
    );
    check_arr!(
        "prefix_sums_array",
        5,
        [0.7, 0.3, -0.4, 0.2, 0.9],
        prefix_sums_array,
        prefix_sums_array_jvp,
        prefix_sums_array_vjp,
        prefix_sums_array_grad,
        &
    );
    let x = vec![0.7, 0.3, -0.4, 0.2];
    check_fn(
        "prefix_sums_vec",
        &x,
        &|p| vec![prefix_sums_vec(p)],
        &|p, t| {
            let (y, d) = prefix_sums_vec_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = prefix_sums_vec_vjp(p);
            (vec![y], pb(c[0]))
        },
    );
}

// ---------------------------------------------------------------- 4. `-=` of the only parameter

#[differentiate]
fn sub_only_param(x: f64) -> f64 {
    let mut v = x * 3.0;
    v -= x;
    v
}

#[differentiate]
fn sub_only_param_twice(x: f64) -> f64 {
    let mut v = 1.0;
    v -= x;
    v *= x;
    v -= x;
    v
}

#[test]
fn subtracting_the_only_parameter() {
    check1!(
        "sub_only_param",
        0.7,
        sub_only_param,
        sub_only_param_jvp,
        sub_only_param_vjp,
        sub_only_param_grad
    );
    check1!(
        "sub_only_param_twice",
        0.7,
        sub_only_param_twice,
        sub_only_param_twice_jvp,
        sub_only_param_twice_vjp,
        sub_only_param_twice_grad
    );
}

// ---------------------------------------------------------------- 5. passive float arguments

#[differentiate]
fn g2(x: f64, b: f64) -> f64 {
    x * b + b.sin()
}

#[differentiate]
fn g_arr(a: [f64; 2], x: f64) -> f64 {
    a[0] * x + a[1] * x * x
}

#[differentiate]
fn h(a: f64, x: f64) -> f64 {
    a * x.exp()
}

#[differentiate]
fn passive_arguments(x: f64) -> f64 {
    let b = [0.5, 1.5, 2.5, 3.5];
    let a = [x, 2.0];
    let k = 2;
    g2(x, b[0])
        + g2(x, b[1] * 2.0)
        + g2(x, stop_gradient(a[1]))
        + g_arr([1.0, 2.0], x)
        + h(b[3] + b[2], x)
        + h(b[k], x)
        + h(k as f64, x)
}

#[differentiate(wrt(x))]
fn passive_parameter_elements(x: f64, s: &[f64], arr: [f64; 2], n: usize) -> f64 {
    g2(x, s[0]) + h(s[1], x) + g2(x, arr[1]) + h(n as f64, x)
}

#[test]
fn passive_float_arguments_get_zero_tangents() {
    check1!(
        "passive_arguments",
        0.7,
        passive_arguments,
        passive_arguments_jvp,
        passive_arguments_vjp,
        passive_arguments_grad
    );
    let (s, arr) = ([0.3, 0.4], [0.6, -0.2]);
    let f = |x: f64| passive_parameter_elements(x, &s, arr, 3);
    check_fn(
        "passive_parameter_elements",
        &[0.5],
        &|p| vec![f(p[0])],
        &|p, t| {
            let (y, d) = passive_parameter_elements_jvp(p[0], &s, arr, 3, t[0]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = passive_parameter_elements_vjp(p[0], &s, arr, 3);
            (vec![y], vec![pb(c[0])])
        },
    );
}

// ---------------------------------------------------------------- 6. passive tuple after a return

#[differentiate]
fn tuple_after_return(x: f64) -> f64 {
    let mut acc = x * x;
    if x > 0.0 {
        return acc;
    }
    let (a, b) = (0.3, 0.4);
    acc *= b;
    acc + a * x
}

#[test]
fn passive_tuple_after_an_early_return() {
    for x in [-0.7, 0.6] {
        check1!(
            "tuple_after_return",
            x,
            tuple_after_return,
            tuple_after_return_jvp,
            tuple_after_return_vjp,
            tuple_after_return_grad
        );
    }
}

// ---------------------------------------------------------------- 7. structs by value, returned

#[derive(Clone, Copy, Debug, Differentiable)]
struct State {
    x: f64,
    v: f64,
}

#[differentiate]
fn kick(s0: State, k: f64) -> State {
    let mut s = s0;
    s.v += k * s.x;
    s
}

#[differentiate]
fn two_kicks(s0: State, k: f64) -> f64 {
    let s1 = kick(s0, k);
    let s2 = kick(s1, k * 0.5);
    s2.v * s2.x + s0.v
}

#[test]
fn struct_by_value_mutated_and_returned() {
    let flat = |s: &State| vec![s.x, s.v];
    let st = |p: &[f64]| State { x: p[0], v: p[1] };
    check_fn(
        "kick",
        &[0.5, 0.2, 0.3],
        &|p| flat(&kick(st(p), p[2])),
        &|p, t| {
            let (y, d) = kick_jvp(st(p), p[2], &st(t), t[2]);
            (flat(&y), flat(&d))
        },
        &|p, c| {
            let (y, pb) = kick_vjp(st(p), p[2]);
            let (gs, gk) = pb(st(c));
            (flat(&y), vec![gs.x, gs.v, gk])
        },
    );
    check_grad(
        "two_kicks",
        &[0.5, 0.2, 0.3],
        &|p| two_kicks(st(p), p[2]),
        &|p| {
            let (y, (gs, gk)) = two_kicks_grad(st(p), p[2]);
            (y, vec![gs.x, gs.v, gk])
        },
    );
}

// ---------------------------------------------------------------- 8. enum parameters

pub enum Shape {
    Circle { r: f64 },
    Square(f64),
}

#[differentiate(wrt(k))]
fn area(s: &Shape, k: f64) -> f64 {
    match s {
        Shape::Circle { r } => 3.0 * r * r * k * k,
        Shape::Square(a) => a * a * k * k,
    }
}

/// Without `wrt`: a parameter the body matches on is an enum, so passive.
#[differentiate]
fn area_no_wrt(s: &Shape, k: f64) -> f64 {
    let mut y = k.sin();
    for i in 0..2 {
        y = match s {
            Shape::Circle { r } => y * r * k + i as f64,
            Shape::Square(a) => y * *a + k,
        };
    }
    y
}

#[derive(Clone, Copy)]
enum Mode {
    Double,
    Scale(f64),
}

#[differentiate]
fn by_mode(m: Mode, x: f64) -> f64 {
    let mut y = x;
    match m {
        Mode::Double => y *= 2.0,
        Mode::Scale(c) => y = y * c + x,
    }
    y * x
}

/// The enum parameter's name reused by a closure parameter and by a later `let`: those are
/// other bindings, so `m` is still used only as a `match` scrutinee (found by the fuzzer).
#[differentiate]
fn by_mode_shadowed(x: [f64; 2], m: Mode) -> f64 {
    let mut acc = x[1];
    acc = match m {
        Mode::Double => acc * x[0],
        Mode::Scale(c) => acc * c,
    };
    let sq = x.iter().map(|m| m * m).sum::<f64>();
    let m = sq * acc;
    m * 0.5
}

#[test]
fn enum_parameters_are_passive() {
    for s in [Shape::Circle { r: 2.0 }, Shape::Square(1.5)] {
        check1!(
            "area",
            0.5,
            (|k| area(&s, k)),
            (|k, t| area_jvp(&s, k, t)),
            (|k| area_vjp(&s, k)),
            (|k| area_grad(&s, k))
        );
        check1!(
            "area_no_wrt",
            0.5,
            (|k| area_no_wrt(&s, k)),
            (|k, t| area_no_wrt_jvp(&s, k, t)),
            (|k| area_no_wrt_vjp(&s, k)),
            (|k| area_no_wrt_grad(&s, k))
        );
    }
    for m in [Mode::Double, Mode::Scale(3.0)] {
        check1!(
            "by_mode",
            0.5,
            (|x| by_mode(m, x)),
            (|x, t| by_mode_jvp(m, x, t)),
            (|x| by_mode_vjp(m, x)),
            (|x| by_mode_grad(m, x))
        );
        check_grad(
            "by_mode_shadowed",
            &[0.7, -1.3],
            &|v: &[f64]| by_mode_shadowed([v[0], v[1]], m),
            &|v: &[f64]| {
                let (y, g) = by_mode_shadowed_grad([v[0], v[1]], m);
                (y, g.to_vec())
            },
        );
    }
}

// ---------------------------------------------------------------- 9. raw identifiers

#[differentiate]
fn r#raw(r#x: f64, r#type: [f64; 2]) -> f64 {
    let r#loop = r#x * r#type[0];
    let r#loop = r#loop * r#x + r#type[1];
    r#loop.sin()
}

#[test]
fn raw_identifiers() {
    let f = |p: &[f64]| r#raw(p[0], [p[1], p[2]]);
    check_fn(
        "raw",
        &[0.3, 0.8, -0.2],
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = raw_jvp(p[0], [p[1], p[2]], t[0], [t[1], t[2]]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = raw_vjp(p[0], [p[1], p[2]]);
            let (gx, gt) = pb(c[0]);
            (vec![y], vec![gx, gt[0], gt[1]])
        },
    );
}

// ---------------------------------------------------------------- `*x` of a reference parameter

#[differentiate]
fn deref_copy(x: &[f64; 3]) -> [f64; 3] {
    let mut p = *x;
    for i in 1..3 {
        p[i] += p[i - 1];
    }
    p[0] -= p[0] * p[2];
    p
}

#[differentiate]
fn sum_by_value(x: [f64; 3]) -> f64 {
    x[0] + x[1] * x[2]
}

#[differentiate]
fn deref_into_call(x: &[f64; 3]) -> f64 {
    sum_by_value(*x) * (*x)[1]
}

#[differentiate]
fn kick_ref(s0: &State, k: f64) -> State {
    let mut s = *s0;
    s.v += k * s.x;
    s
}

#[test]
fn deref_of_a_reference_parameter_is_its_value() {
    let arr = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    check_fn(
        "deref_copy",
        &[0.7, 0.3, 0.2],
        &|p| deref_copy(&arr(p)).to_vec(),
        &|p, t| {
            let (y, d) = deref_copy_jvp(&arr(p), &arr(t));
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (y, pb) = deref_copy_vjp(&arr(p));
            (y.to_vec(), pb(arr(c)).to_vec())
        },
    );
    check_arr!(
        "deref_into_call",
        3,
        [0.7, 0.3, 0.2],
        deref_into_call,
        deref_into_call_jvp,
        deref_into_call_vjp,
        deref_into_call_grad,
        &
    );
    let st = |p: &[f64]| State { x: p[0], v: p[1] };
    check_fn(
        "kick_ref",
        &[0.5, 0.2, 0.3],
        &|p| {
            let s = kick_ref(&st(p), p[2]);
            vec![s.x, s.v]
        },
        &|p, t| {
            let (y, d) = kick_ref_jvp(&st(p), p[2], &st(t), t[2]);
            (vec![y.x, y.v], vec![d.x, d.v])
        },
        &|p, c| {
            let (y, pb) = kick_ref_vjp(&st(p), p[2]);
            let (gs, gk) = pb(st(c));
            (vec![y.x, y.v], vec![gs.x, gs.v, gk])
        },
    );
}

// ---------------------------------------------------------------- struct literals (fuzzer F4)

#[derive(Clone, Debug, Differentiable)]
pub struct Out {
    pub a: f64,
    pub w: [f64; 2],
}

#[differentiate]
fn build_struct(c: [f64; 3]) -> Out {
    let b = c[2];
    Out {
        a: b * c[1],
        w: [c[0].sin(), 0.5],
    }
}

#[differentiate]
fn step(s: State, dt: f64) -> State {
    let a = -s.x;
    State {
        x: s.x + dt * s.v,
        v: s.v + dt * a,
    }
}

#[differentiate]
fn damp(s: State, k: f64) -> State {
    let v = s.v * k;
    State { v, ..s }
}

#[differentiate]
fn simulate(s0: State, dt: f64) -> f64 {
    let mut s = s0;
    for _ in 0..3 {
        s = step(s, dt);
        s = damp(s, 0.9);
    }
    s.x * s.v
}

#[test]
fn struct_literals_on_active_values() {
    let arr = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    let flat = |o: &Out| vec![o.a, o.w[0], o.w[1]];
    let out = |p: &[f64]| Out {
        a: p[0],
        w: [p[1], p[2]],
    };
    check_fn(
        "build_struct",
        &[0.1, 0.2, 0.3],
        &|p| flat(&build_struct(arr(p))),
        &|p, t| {
            let (y, d) = build_struct_jvp(arr(p), arr(t));
            (flat(&y), flat(&d))
        },
        &|p, c| {
            let (y, pb) = build_struct_vjp(arr(p));
            (flat(&y), pb(out(c)).to_vec())
        },
    );
    let st = |p: &[f64]| State { x: p[0], v: p[1] };
    check_fn(
        "damp",
        &[0.5, 0.2, 0.9],
        &|p| {
            let s = damp(st(p), p[2]);
            vec![s.x, s.v]
        },
        &|p, t| {
            let (y, d) = damp_jvp(st(p), p[2], &st(t), t[2]);
            (vec![y.x, y.v], vec![d.x, d.v])
        },
        &|p, c| {
            let (y, pb) = damp_vjp(st(p), p[2]);
            let (gs, gk) = pb(st(c));
            (vec![y.x, y.v], vec![gs.x, gs.v, gk])
        },
    );
    check_grad(
        "simulate",
        &[0.5, 0.2, 0.1],
        &|p| simulate(st(p), p[2]),
        &|p| {
            let (y, (gs, gdt)) = simulate_grad(st(p), p[2]);
            (y, vec![gs.x, gs.v, gdt])
        },
    );
}

// ---------------------------------------------------------------- parameters written in the body

#[derive(Clone, Debug, Differentiable)]
pub struct Params {
    pub a: f64,
    pub w: [f64; 2],
}

/// `s1` is left out of `wrt`, but written with an active value: derivatives flow through it.
#[differentiate(wrt(t))]
fn written_passive_param(mut s1: [f64; 2], t: f64) -> f64 {
    s1[0] -= t;
    s1[0] * s1[1]
}

#[differentiate]
fn pair_of(h1: [f64; 2], u2: f64) -> [f64; 2] {
    [h1[0], u2]
}

#[differentiate(wrt(t))]
fn written_passive_param_into_call(mut s1: [f64; 2], t: f64) -> f64 {
    s1[0] -= t;
    let a = pair_of(s1, 0.5 * t);
    a[0] + a[1]
}

/// A struct parameter by value (tangent by reference) written in the body.
#[differentiate]
fn written_struct_param(x: &Vec<f64>, mut h: Params) -> f64 {
    h.w[1] -= x[0] * h.a;
    h.w[1] * h.a
}

#[test]
fn parameters_written_in_the_body() {
    check1!(
        "written_passive_param",
        0.5,
        (|t| written_passive_param([0.3, 0.7], t)),
        (|t, d| written_passive_param_jvp([0.3, 0.7], t, d)),
        (|t| written_passive_param_vjp([0.3, 0.7], t)),
        (|t| written_passive_param_grad([0.3, 0.7], t))
    );
    check1!(
        "written_passive_param_into_call",
        0.5,
        (|t| written_passive_param_into_call([0.3, 0.7], t)),
        (|t, d| written_passive_param_into_call_jvp([0.3, 0.7], t, d)),
        (|t| written_passive_param_into_call_vjp([0.3, 0.7], t)),
        (|t| written_passive_param_into_call_grad([0.3, 0.7], t))
    );
    let pr = |p: &[f64]| Params {
        a: p[1],
        w: [p[2], p[3]],
    };
    check_fn(
        "written_struct_param",
        &[0.3, 0.5, 0.1, 0.2],
        &|p| vec![written_struct_param(&vec![p[0]], pr(p))],
        &|p, t| {
            let (y, d) = written_struct_param_jvp(&vec![p[0]], pr(p), &[t[0]], &pr(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = written_struct_param_vjp(&vec![p[0]], pr(p));
            let (gx, gh) = pb(c[0]);
            (vec![y], vec![gx[0], gh.a, gh.w[0], gh.w[1]])
        },
    );
}

// ---------------------------------------------------------------- values that do not reach the result

/// `acc` overflows to infinity but the result does not depend on it: its adjoint is zero, and
/// the reverse sweep must not multiply that zero by an infinite partial (0 * inf = NaN).
#[differentiate]
fn unused_overflow(x: [f64; 2]) -> f64 {
    let mut acc = x[0] + 3.0;
    for _ in 0..12 {
        acc = acc * acc * acc + x[1];
    }
    (2.0 + x[1].tanh()).ln()
}

#[test]
fn values_that_do_not_reach_the_result_have_zero_adjoints() {
    let (y, g) = unused_overflow_grad([0.5, 0.3]);
    assert!(y.is_finite());
    assert_eq!(g[0], 0.0);
    let want = (1.0 - 0.3f64.tanh().powi(2)) / (2.0 + 0.3f64.tanh());
    assert!((g[1] - want).abs() < 1e-14, "{g:?}");
    let (_, pb) = unused_overflow_vjp([0.5, 0.3]);
    assert_eq!(pb(1.0), g);
}

/// A struct parameter left out of `wrt`, returned: its zero tangent is made before the value
/// moves into the result.
#[differentiate(wrt(x))]
fn returns_passive_struct(x: f64, mut r: Params) -> Params {
    r.a = r.a * x;
    if r.w[0] > 0.5 {
        return r;
    }
    r
}

#[test]
fn a_passive_struct_returned() {
    let p = Params {
        a: 0.5,
        w: [0.1, 0.2],
    };
    let (y, d) = returns_passive_struct_jvp(0.3, p.clone(), 1.0);
    assert_eq!((y.a, d.a, d.w), (0.15, 0.5, [0.0, 0.0]));
    let (_, pb) = returns_passive_struct_vjp(0.3, p);
    let g = pb(Params {
        a: 1.0,
        w: [1.0, 1.0],
    });
    assert_eq!(g, 0.5);
}

/// `y` diverges, then is overwritten before it reaches the result: its adjoint is zero from the
/// overwrite back, and no 0 * inf turns the gradient into NaN. `v` is overwritten too, and its
/// old value is still restored for the statement that read it.
#[differentiate]
fn overwritten_overflow(x: [f64; 2]) -> f64 {
    let mut y = x[0] + 2.0;
    for _ in 0..40 {
        y = y + y * (-y);
    }
    y = (0.5 * (x[1] * x[0]).tanh()).acos();
    let mut v = x[0] * x[1];
    let w = v * x[0];
    v = 3.0;
    let z = v * w;
    v = x[1].sin();
    y * 2.0 + z + v
}

#[test]
fn values_overwritten_before_they_reach_the_result() {
    let f = |p: &[f64]| overwritten_overflow([p[0], p[1]]);
    check_grad("overwritten_overflow", &[0.5, 0.3], &f, &|p| {
        let (y, g) = overwritten_overflow_grad([p[0], p[1]]);
        (y, g.to_vec())
    });
    let (_, pb) = overwritten_overflow_vjp([0.5, 0.3]);
    assert!(pb(1.0).iter().all(|g| g.is_finite()));
}

/// `v` reaches the result only through `stop_gradient(v)` (a passive read), then changes: the
/// reverse sweep still restores the value the partial read.
#[differentiate(reverse)]
fn passive_read_then_overwritten(x: &Params) -> f64 {
    let mut v = x.w[1];
    let w = x.w[0] * stop_gradient(v);
    for _ in 0..3 {
        v += 0.5;
    }
    w + 0.0 * stop_gradient(v)
}

#[test]
fn a_value_read_passively_is_restored() {
    let p = Params {
        a: 0.1,
        w: [0.3, 0.7],
    };
    let (y, g) = passive_read_then_overwritten_grad(&p);
    assert!((y - 0.21).abs() < 1e-15);
    assert_eq!((g.a, g.w), (0.0, [0.7, 0.0]));
}

/// Parameters spelled like the structuring pass's flags (`__brk0`, `__done0`, `__cont0`).
#[differentiate]
fn named_like_flags(__brk0: f64, mut z: f64, __done0: f64, __cont0: f64) -> [f64; 2] {
    let h = __brk0;
    let mut n: usize = 0;
    loop {
        n += 1;
        if n > 1 {
            break;
        }
        z = __brk0 * __done0;
    }
    let mut s = 0.0;
    for i in 0..3 {
        if i == 1 {
            continue;
        }
        s += __done0 * __cont0;
        if i == 2 {
            return [s, h];
        }
    }
    [z, h]
}

#[test]
fn parameters_named_like_flags() {
    let f = |p: &[f64]| named_like_flags(p[0], p[1], p[2], p[3]);
    check_fn(
        "named_like_flags",
        &[0.3, 0.7, 0.4, 0.9],
        &|p| f(p).to_vec(),
        &|p, t| {
            let (y, d) = named_like_flags_jvp(p[0], p[1], p[2], p[3], t[0], t[1], t[2], t[3]);
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (y, pb) = named_like_flags_vjp(p[0], p[1], p[2], p[3]);
            let (a, b, cc, d) = pb([c[0], c[1]]);
            (y.to_vec(), vec![a, b, cc, d])
        },
    );
}

// ------------------------------ one-pass loops beside a call that makes the same adjoint

#[differentiate]
fn weigh(w: &[f64; 3], k: f64) -> f64 {
    w[0] * k + w[1] * w[2]
}

/// A one-pass reduction loop (`_grad`) and then a call: the call's adjoint of `x` is not the
/// only contribution, even where the loop adds nothing (fuzzer 821:50: `x__bar` was made after
/// the loop had written it).
#[differentiate]
fn loop_then_call(x: [f64; 3]) -> f64 {
    for &q in x.iter() {
        let _ = q;
    }
    weigh(&x, 0.5)
}

#[differentiate]
fn reduce_then_call(x: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for &q in x.iter() {
        s += q * q;
    }
    s + weigh(&x, s)
}

#[differentiate]
fn call_then_reduce(x: [f64; 3]) -> f64 {
    let c = weigh(&x, 2.0);
    let mut s = 0.0;
    for i in 0..3 {
        s += x[i].sin();
    }
    c + s
}

#[test]
fn one_pass_loops_beside_calls() {
    check_arr!(
        "loop_then_call",
        3,
        [0.3, -0.7, 1.1],
        loop_then_call,
        loop_then_call_jvp,
        loop_then_call_vjp,
        loop_then_call_grad
    );
    check_arr!(
        "reduce_then_call",
        3,
        [0.3, -0.7, 1.1],
        reduce_then_call,
        reduce_then_call_jvp,
        reduce_then_call_vjp,
        reduce_then_call_grad
    );
    check_arr!(
        "call_then_reduce",
        3,
        [0.3, -0.7, 1.1],
        call_then_reduce,
        call_then_reduce_jvp,
        call_then_reduce_vjp,
        call_then_reduce_grad
    );
}

// ------------------------------------------- statements written inside parentheses or blocks

// A write inside a parenthesised statement is a write (was kept as the user's tokens: a silent
// zero derivative; found through inlined closures).
#[differentiate]
fn paren_statements(x: [f64; 2]) -> f64 {
    let mut s = x[0];
    (s *= x[1]);
    ({
        s += x[0] * x[0];
    });
    ({
        let t = s.sin();
        s -= t * x[1];
    });
    s
}

#[test]
fn writes_in_parenthesised_statements() {
    check_arr!(
        "paren_statements",
        2,
        [0.3, -0.7],
        paren_statements,
        paren_statements_jvp,
        paren_statements_vjp,
        paren_statements_grad
    );
}

// ----------------------------------------------- loops with exits inside blocks used as values

// A loop with `break` inside a block used as a value was left unstructured (an internal error;
// fuzzer 1105:11, through `while let` in a block expression).
#[differentiate]
fn loop_in_value_block(x: [f64; 2]) -> f64 {
    let y = {
        let mut w = x[0];
        for i in 0..4 {
            if i == 2 {
                break;
            }
            w = w * x[1] + 0.5;
        }
        w
    };
    let z = if y > 0.0 {
        let mut v = y;
        let mut k = 0;
        loop {
            k += 1;
            if k > 3 {
                break;
            }
            if k == 2 {
                continue;
            }
            v = v.sin() * x[0];
        }
        v
    } else {
        y
    };
    y * z
}

#[test]
fn exits_inside_value_blocks() {
    check_arr!(
        "loop_in_value_block",
        2,
        [0.8, -0.7],
        loop_in_value_block,
        loop_in_value_block_jvp,
        loop_in_value_block_vjp,
        loop_in_value_block_grad
    );
}

// ------------------------------------------ compound assignment to a passive float, compound rhs

// `w *= a + b` on a passive float kept as tokens was written `w * a + b` (the right side
// unparenthesised).
#[differentiate(wrt(x))]
fn passive_compound(x: f64, a: f64) -> f64 {
    let mut w = 2.0;
    w *= a + 1.0;
    w /= a - 3.0;
    w %= a + 0.25;
    x * w
}

#[test]
fn passive_compound_assignment_keeps_the_right_side_whole() {
    let a = 0.5;
    let mut w: f64 = 2.0;
    w *= a + 1.0;
    w /= a - 3.0;
    w %= a + 0.25;
    assert_eq!(passive_compound_grad(1.5, a), (1.5 * w, w));
    assert_eq!(passive_compound_jvp(1.5, a, 1.0), (1.5 * w, w));
}

// --------------------------------------- functional update of a struct with non-Copy fields

#[derive(Clone, Differentiable)]
pub struct LayerNc {
    pub w: Vec<f64>,
    pub b: f64,
}

#[derive(Clone, Differentiable)]
pub struct NetNc {
    pub l1: LayerNc,
    pub l2: LayerNc,
    pub scale: f64,
}

// The pullback moved a written field's adjoint out of the struct's adjoint, then cloned the
// struct's adjoint for the fields `..rest` gave (E0382 inside emitted code; found while adding
// methods).
#[differentiate]
fn replace_layer(n: NetNc, x: f64) -> f64 {
    let l = LayerNc {
        w: vec![n.scale * x; 2],
        b: n.l1.b * x,
    };
    let m = NetNc { l1: l, ..n };
    m.l1.b * m.scale + m.l2.w[0] * m.l1.w[1]
}

#[test]
fn functional_update_of_non_copy_fields() {
    let net = |v: &[f64]| NetNc {
        l1: LayerNc {
            w: vec![v[0], v[1]],
            b: v[2],
        },
        l2: LayerNc {
            w: vec![v[3], v[4]],
            b: v[5],
        },
        scale: v[6],
    };
    let flat = |n: &NetNc| {
        vec![
            n.l1.w[0], n.l1.w[1], n.l1.b, n.l2.w[0], n.l2.w[1], n.l2.b, n.scale,
        ]
    };
    let x = 0.7;
    let p = [0.3, -0.5, 0.8, 1.2, -0.4, 0.6, 1.5];
    // y = l1.b x scale + l2.w[0] scale x, so dy/dl1.b = x scale, dy/dl2.w[0] = scale x,
    // dy/dscale = l1.b x + l2.w[0] x, dy/dx = l1.b scale + l2.w[0] scale.
    let (y, (g, gx)) = replace_layer_grad(net(&p), x);
    assert_eq!(y, p[2] * x * p[6] + p[3] * (p[6] * x));
    let want = [0.0, 0.0, x * p[6], p[6] * x, 0.0, 0.0, p[2] * x + p[3] * x];
    common::assert_close_vec("replace_layer", &flat(&g), &want, 1e-15, 1e-15);
    assert!((gx - (p[2] * p[6] + p[3] * p[6])).abs() < 1e-15);
    let (yj, dj) = replace_layer_jvp(net(&p), x, &net(&[1.0; 7]), 0.0);
    assert_eq!(yj, y);
    assert!((dj - want.iter().sum::<f64>()).abs() < 1e-14);
}

// -------------------------------------------- a saved Vec local as the value of a block

// `let w = { ..; v }` with `v` saved at the end of the block for the reverse sweep: the tail
// moved `v` before the save read it (E0382 inside emitted code; found by a helper adding
// `collect`).
#[differentiate]
fn block_vec_tail(x: &[f64; 3]) -> f64 {
    let w = {
        let mut v = vec![1.0; 3];
        for i in 0..3 {
            let t = v[i] * x[i];
            v[i] = t.sin();
        }
        let u = v[0] * v[1];
        v[2] = u;
        v
    };
    w[0] * w[2] + w[1]
}

#[test]
fn saved_vec_as_a_block_value() {
    let a3 = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    check_grad(
        "block_vec_tail",
        &[0.4, -0.7, 1.1],
        &|p| block_vec_tail(&a3(p)),
        &|p| {
            let (y, g) = block_vec_tail_grad(&a3(p));
            (y, g.to_vec())
        },
    );
}

// ------------------------------------------------ an empty float sum is -0.0, as std's

// The reductions started sums at `0.0`, std's float `Sum` at `-0.0`: an empty (or all `-0.0`)
// sum had the wrong sign (fuzzer 2105:127, through `.signum()`).
#[differentiate]
fn empty_sums(x: f64, xs: &[f64]) -> f64 {
    let a = xs.iter().filter(|v| **v > 10.0).map(|v| v * v).sum::<f64>();
    let b: f64 = xs
        .iter()
        .map(|v| v * 2.0)
        .map(|v| v + 1.0)
        .filter(|v| *v > 99.0)
        .sum();
    x * a.signum() + x * b.signum() + x.copysign(xs[..0].iter().sum::<f64>())
}

#[test]
fn empty_sums_are_negative_zero() {
    let xs = [0.5, -1.5, 2.0];
    let std_a = xs.iter().filter(|v| **v > 10.0).map(|v| v * v).sum::<f64>();
    assert!(std_a.is_sign_negative());
    let x = 0.75;
    let want = -x - x - x;
    assert_eq!(empty_sums(x, &xs), want);
    assert_eq!(empty_sums_grad(x, &xs).0, want);
    assert_eq!(empty_sums_grad(x, &xs).1.0, -3.0);
    assert_eq!(empty_sums_jvp(x, &xs, 1.0, &[0.0; 3]), (want, -3.0));
}

// ------------------------------------------------ a one-pass accumulator whose `let` reads itself

// `_grad` ran `for .. { t -= k; }` in one pass, though the reverse of `let t = k.sqrt()` reads
// `t` (the partial is `0.5 / t`), which the loop had changed by then (fuzzer 1320:102).
#[differentiate]
fn sqrt_then_loop(k: f64) -> f64 {
    let mut t = k.sqrt();
    for _u in (1..3).rev() {
        t -= k;
    }
    let mut e = k.exp();
    for i in 0..2 {
        e += k * i as f64;
    }
    t + e
}

#[test]
fn one_pass_accumulator_declared_by_a_rule_reading_its_result() {
    for k in [0.7, 1.3] {
        let (y, g) = sqrt_then_loop_grad(k);
        let (yv, pb) = sqrt_then_loop_vjp(k);
        assert_eq!(y, yv);
        let gv = pb(1.0);
        assert!((g - gv).abs() < 1e-12, "grad {g} vs pullback {gv}");
        let want = 0.5 / k.sqrt() - 2.0 + k.exp() + 1.0;
        assert!((g - want).abs() < 1e-12, "grad {g} want {want}");
        check_grad("sqrt_then_loop", &[k], &|p| sqrt_then_loop(p[0]), &|p| {
            let (y, g) = sqrt_then_loop_grad(p[0]);
            (y, vec![g])
        });
    }
}

/// A passive value kept as written may write its own locals (a reduction inside
/// `stop_gradient` becomes a loop whose accumulator is active by name): only writes of active
/// variables declared outside it are refused (fuzzer 4101:155).
#[differentiate]
fn stopped_reduction(x: f64, y: &Vec<f64>) -> f64 {
    let k = stop_gradient(y.iter().map(|v| v.sin()).sum::<f64>());
    x * k + stop_gradient(y.iter().map(|v| v * x).sum::<f64>())
}

#[test]
fn stopped_reductions_are_passive() {
    let y = vec![0.3, -0.7, 1.1];
    let k: f64 = y.iter().map(|v| v.sin()).sum();
    let (v, (gx, gy)) = stopped_reduction_grad(0.6, &y);
    assert_eq!(v, stopped_reduction(0.6, &y));
    assert_eq!(gx, k);
    assert_eq!(gy, vec![0.0; 3]);
    let (_, d) = stopped_reduction_jvp(0.6, &y, 1.0, &[1.0, 1.0, 1.0]);
    assert_eq!(d, k);
}

/// Operands are read in Rust's order: a later operand that writes what an earlier one reads
/// (a block, a loop used as a value) runs after the earlier one is read (gave d = 6, and the
/// wrong value, reading `s` after the block).
#[differentiate]
fn read_before_written(x: f64) -> f64 {
    let mut s = x;
    s + {
        s = s * 3.0;
        s
    } + f64::max(s, {
        s = s * 0.5;
        s
    })
}

#[test]
fn operands_are_read_in_order() {
    let x = 0.7;
    let (v, g) = read_before_written_grad(x);
    assert_eq!(v, read_before_written(x));
    // x + 3x + max(3x, 1.5x) = 7x.
    assert!((v - 7.0 * x).abs() < 1e-12);
    assert_eq!(g, 7.0);
    assert_eq!(read_before_written_jvp(x, 1.0), (v, 7.0));
}

/// A passive `Vec` built by `push` inside a branch, whose length bounds a later loop: the
/// reverse sweep recomputed it from its `let` (empty, and untyped: E0282 in emitted code,
/// fuzzer 1796686795:55); passive code now counts as writing what it names.
#[differentiate(wrt(x))]
fn pushed_then_read(x: f64, k: &[f64; 3]) -> f64 {
    let t = if x > -10.0 {
        let mut v = vec![0.5; 1];
        let mut w: Vec<f64> = Vec::new();
        for i in 0..3 {
            if k[i] > 0.0 {
                v.push(k[i] * 2.0);
                w.push(k[i]);
            }
        }
        let mut s = 0.0;
        for j in 0..v.len() {
            s += x.sin() * v[j];
        }
        for j in 0..w.len() {
            s += x * w[j];
        }
        s
    } else {
        0.0
    };
    t * 2.0
}

#[test]
fn passive_vecs_built_by_push_are_not_recomputed_empty() {
    let k = [1.0, -2.0, 3.0];
    for x in [0.5, -1.3] {
        let want = 2.0 * (x.cos() * 8.5 + 4.0);
        let (y, g) = pushed_then_read_grad(x, &k);
        assert_eq!(y, pushed_then_read(x, &k));
        assert!((g - want).abs() < 1e-12, "grad {g} want {want}");
        let (_, d) = pushed_then_read_jvp(x, &k, 1.0);
        assert!((d - want).abs() < 1e-12, "jvp {d} want {want}");
    }
}

/// User bindings spelled as the names the front end's passes write (`__d`, `__acc`, `__x`):
/// renaming is by spelling, so they were confused (fuzzer 9101:266, E0425 in emitted code).
#[differentiate]
fn reserved_spellings(x: &[f64; 3]) -> f64 {
    let __d = *x;
    let __acc = x[1];
    let mut acc = __d[0];
    acc -= __d
        .iter()
        .copied()
        .filter(|v| *v > 2.0)
        .reduce(f64::max)
        .unwrap_or(__d.iter().map(|__x| __x * __acc).sum::<f64>());
    acc
}

#[test]
fn user_bindings_spelled_as_generated_ones() {
    let x = [0.5, 1.5, -0.7];
    let (y, g) = reserved_spellings_grad(&x);
    assert!((y - (0.5 - 1.5 * (0.5 + 1.5 - 0.7))).abs() < 1e-12);
    check_grad(
        "reserved_spellings",
        &x,
        &|p| reserved_spellings(&[p[0], p[1], p[2]]),
        &|p| {
            let (y, g) = reserved_spellings_grad(&[p[0], p[1], p[2]]);
            (y, g.to_vec())
        },
    );
    for i in 0..3 {
        let mut t = [0.0; 3];
        t[i] = 1.0;
        assert!((reserved_spellings_jvp(&x, &t).1 - g[i]).abs() < 1e-12);
    }
}
