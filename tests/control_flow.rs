//! Control flow (issue 3): `if`/`else` as statement and expression, `match` on passive
//! values, `&&`/`||`, `for` over every kind of range, `while`, `loop`/`break`, `continue`,
//! early `return` (also inside loops), nested loops, loop-carried and overwritten values.
//! Every function in both modes against finite differences, the dot-product test and the
//! Jacobian built both ways (`common::check_fn`), at points away from branch boundaries.
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

use autodiff::prelude::*;
use common::{check_fn, check_grad};

/// Checks `f(x: &[f64; N], ..passive) -> f64` through its `_jvp`, `_vjp` and `_grad`.
macro_rules! check_arr {
    ($name:literal, $n:literal, $x:expr, $f:expr, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let x: [f64; $n] = $x;
        let arr = |p: &[f64]| -> [f64; $n] { p.try_into().unwrap() };
        check_fn(
            $name,
            &x,
            &|p| vec![$f(&arr(p))],
            &|p, t| {
                let (y, d) = $jvp(&arr(p), &arr(t));
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(&arr(p));
                let g: [f64; $n] = pb(c[0]);
                (vec![y], g.to_vec())
            },
        );
        check_grad($name, &x, &|p| $f(&arr(p)), &|p| {
            let (y, g): (f64, [f64; $n]) = $grad(&arr(p));
            (y, g.to_vec())
        });
    }};
}

/// Checks `f(x: f64, y: f64) -> f64`.
macro_rules! check2 {
    ($name:literal, $x:expr, $y:expr, $f:expr, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let x = [$x, $y];
        check_fn(
            $name,
            &x,
            &|p| vec![$f(p[0], p[1])],
            &|p, t| {
                let (y, d) = $jvp(p[0], p[1], t[0], t[1]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p[0], p[1]);
                let (a, b) = pb(c[0]);
                (vec![y], vec![a, b])
            },
        );
        check_grad($name, &x, &|p| $f(p[0], p[1]), &|p| {
            let (y, (a, b)) = $grad(p[0], p[1]);
            (y, vec![a, b])
        });
    }};
}

// ---------------------------------------------------------------------------------------------
// if / else

#[differentiate]
fn if_stmt(x: f64, y: f64) -> f64 {
    let mut s = x * y;
    if x > y {
        s = s * x + y.sin();
    } else {
        s -= x.exp();
        s *= y;
    }
    if s < 0.0 {
        s = -s * 2.0;
    }
    s + x
}

#[differentiate]
fn if_expr(x: f64, y: f64) -> f64 {
    let a = if x > 0.0 { x.exp() * y } else { -x * x + y };
    let b = if a > 1.0 && y < 1.0 || x < -1.0 {
        a * a
    } else if y > 0.5 {
        let t = a.sin();
        t * y
    } else {
        a
    };
    // as the tail
    if b > 0.0 { b.sqrt() * x } else { b * b }
}

#[test]
fn if_else() {
    for &(x, y) in &[
        (0.7, 0.3),
        (0.3, 0.7),
        (-0.4, 2.0),
        (-1.5, -0.2),
        (1.3, 0.9),
        (-0.5, 0.2),
    ] {
        check2!(
            "if_stmt",
            x,
            y,
            if_stmt,
            if_stmt_jvp,
            if_stmt_vjp,
            if_stmt_grad
        );
        check2!(
            "if_expr",
            x,
            y,
            if_expr,
            if_expr_jvp,
            if_expr_vjp,
            if_expr_grad
        );
    }
}

// ---------------------------------------------------------------------------------------------
// match on passive values

#[differentiate]
fn matcher(x: f64, k: usize) -> f64 {
    let a = match k {
        0 => x,
        1 => x * x,
        2 | 3 => x.sin(),
        _ => {
            let b = x * 2.0;
            b * b * b
        }
    };
    let mut s = a;
    match k % 2 {
        0 => s += x.exp(),
        _ => {
            s *= x;
        }
    }
    s
}

#[test]
fn match_on_passive() {
    for k in 0..6 {
        for &x in &[0.4, -1.1] {
            let arr = [x];
            check_fn(
                "matcher",
                &arr,
                &|p| vec![matcher(p[0], k)],
                &|p, t| {
                    let (y, d) = matcher_jvp(p[0], k, t[0]);
                    (vec![y], vec![d])
                },
                &|p, c| {
                    let (y, pb) = matcher_vjp(p[0], k);
                    (vec![y], vec![pb(c[0])])
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// for loops over ranges

#[differentiate]
fn ranges(x: &[f64; 6], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        s = s * 0.5 + x[i] * x[i];
    }
    for i in 1..=3 {
        s += x[i] * x[i - 1];
    }
    for i in (0..n).rev() {
        s = s * x[i].cos() + 0.1;
    }
    for i in (0..6).step_by(2) {
        s -= x[i] * s * 0.1;
    }
    for i in (1..=5).rev() {
        s += x[i] * (i as f64);
    }
    for i in (2..n).step_by(3) {
        s = s * x[i];
    }
    s
}

#[test]
fn for_loops_over_ranges() {
    let x0 = [0.3, -0.5, 0.8, 1.1, -0.2, 0.6];
    for n in [0usize, 1, 4, 6] {
        check_arr!(
            "ranges",
            6,
            x0,
            |x| ranges(x, n),
            |x, t| ranges_jvp(x, n, t),
            |x| ranges_vjp(x, n),
            |x| ranges_grad(x, n)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// while, loop/break, continue

#[differentiate]
fn whiles(x: f64, y: f64) -> f64 {
    let mut s = y;
    let mut i = 0;
    while i < 4 {
        s = s * x + 1.0;
        i += 1;
    }
    // data-dependent trip count
    let mut p = x.abs() + 1.1;
    let mut k = 0;
    while p < 50.0 {
        p = p * (1.0 + x * x) + s * 0.01;
        k += 1;
    }
    s + p + k as f64
}

#[differentiate]
fn loops(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut i = 0usize;
    loop {
        s = s.sin() + y * s;
        i += 1;
        if i >= 5 {
            break;
        }
    }
    // break on a data-dependent condition
    let mut t = y;
    loop {
        t = t * 1.5 + x;
        if t > 20.0 || t < -20.0 {
            break;
        }
    }
    s + t
}

#[differentiate]
fn continues(x: &[f64; 6]) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        if i % 2 == 0 {
            continue;
        }
        s += x[i] * x[i];
        if x[i] < 0.0 {
            continue;
        }
        s = s * x[i];
    }
    let mut j = 0;
    while j < 6 {
        j += 1;
        if x[j - 1] > 0.5 {
            continue;
        }
        s += x[j - 1].exp();
    }
    s
}

#[test]
fn while_loops() {
    for &(x, y) in &[(0.7, 0.3), (-0.4, 0.8), (1.3, -0.9)] {
        check2!("whiles", x, y, whiles, whiles_jvp, whiles_vjp, whiles_grad);
    }
}

#[test]
fn loop_break() {
    // (not y = -2x: that is the fixed point of the second loop, which would never end)
    for &(x, y) in &[(0.7, 0.3), (-0.4, 0.9), (1.3, -0.9)] {
        check2!("loops", x, y, loops, loops_jvp, loops_vjp, loops_grad);
    }
}

#[test]
fn continue_in_for_and_while() {
    for x in [
        [0.3, -0.5, 0.8, 1.1, -0.2, 0.6],
        [1.0, 2.0, -3.0, -0.1, 0.9, 0.4],
    ] {
        check_arr!(
            "continues",
            6,
            x,
            continues,
            continues_jvp,
            continues_vjp,
            continues_grad
        );
    }
}

// ---------------------------------------------------------------------------------------------
// early return

#[differentiate]
fn early(x: f64, y: f64) -> f64 {
    if x < -1.0 {
        return x * y;
    }
    let a = x.exp() + y;
    if a > 3.0 {
        return a.ln() * x;
    }
    a * a
}

#[differentiate]
fn early_in_loop(x: &[f64; 5]) -> f64 {
    let mut s = 1.0;
    for i in 0..5 {
        s = s * x[i] + x[i];
        if s > 4.0 {
            return s * 2.0;
        }
        let mut j = 0;
        while j < i {
            s -= 0.1 * x[j];
            if s < -3.0 {
                return s.exp();
            }
            j += 1;
        }
    }
    s
}

#[test]
fn early_returns() {
    for &(x, y) in &[(-1.5, 0.3), (0.2, 0.3), (1.0, 1.0), (0.5, 5.0)] {
        check2!("early", x, y, early, early_jvp, early_vjp, early_grad);
    }
    for x in [
        [0.3, -0.5, 0.8, 1.1, -0.2],
        [1.5, 1.2, 1.1, 1.0, 3.0],
        [-2.0, 1.5, -1.0, 0.1, 0.2],
        [0.1, 0.2, 0.3, -0.4, 0.5],
    ] {
        check_arr!(
            "early_in_loop",
            5,
            x,
            early_in_loop,
            early_in_loop_jvp,
            early_in_loop_vjp,
            early_in_loop_grad
        );
    }
}

// ---------------------------------------------------------------------------------------------
// nested loops, loop-carried values, in-place updates

#[differentiate]
fn nested(w: &[[f64; 3]; 3], x: &[f64; 3]) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        for j in 0..3 {
            h[i] += w[i][j] * x[j];
        }
        h[i] = h[i].tanh();
    }
    let mut s = 0.0;
    for i in 0..3 {
        for j in i..3 {
            s += h[i] * h[j] * w[j][i];
        }
    }
    s
}

#[test]
fn nested_loops() {
    let w0 = [[0.3, -0.5, 0.8], [1.1, -0.2, 0.6], [0.1, 0.9, -0.7]];
    let x0 = [0.4, -1.2, 0.5];
    let mut flat: Vec<f64> = w0.iter().flatten().copied().collect();
    flat.extend(x0);
    let split = |p: &[f64]| -> ([[f64; 3]; 3], [f64; 3]) {
        let mut w = [[0.0; 3]; 3];
        for i in 0..3 {
            for j in 0..3 {
                w[i][j] = p[3 * i + j];
            }
        }
        (w, [p[9], p[10], p[11]])
    };
    check_fn(
        "nested",
        &flat,
        &|p| {
            let (w, x) = split(p);
            vec![nested(&w, &x)]
        },
        &|p, t| {
            let (w, x) = split(p);
            let (tw, tx) = split(t);
            let (y, d) = nested_jvp(&w, &x, &tw, &tx);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (w, x) = split(p);
            let (y, pb) = nested_vjp(&w, &x);
            let (gw, gx): ([[f64; 3]; 3], [f64; 3]) = pb(c[0]);
            let mut g: Vec<f64> = gw.iter().flatten().copied().collect();
            g.extend(gx);
            (vec![y], g)
        },
    );
}

/// In-place prefix products: `a[i] = a[i - 1] * a[i]` overwrites the values the adjoint needs.
#[differentiate]
fn prefix(x: [f64; 5]) -> [f64; 5] {
    let mut a = x;
    for i in 1..5 {
        a[i] = a[i - 1] * a[i];
    }
    for i in 0..4 {
        a[i + 1] = a[i + 1] - a[i] * a[i];
    }
    a
}

/// Explicit Euler on a pendulum: x = f(x) in a loop.
#[differentiate]
fn euler(theta0: f64, omega0: f64, k: f64) -> f64 {
    let dt = 0.01;
    let mut theta = theta0;
    let mut omega = omega0;
    for _ in 0..200 {
        let acc = -k * theta.sin();
        theta = theta + dt * omega;
        omega = omega + dt * acc;
    }
    theta * theta + omega
}

#[differentiate]
fn running_logsumexp(x: &[f64]) -> f64 {
    let mut m = x[0];
    let mut s = 1.0;
    for i in 1..x.len() {
        if x[i] > m {
            s = s * (m - x[i]).exp() + 1.0;
            m = x[i];
        } else {
            s += (x[i] - m).exp();
        }
    }
    m + s.ln()
}

#[test]
fn loop_carried_and_in_place() {
    let x0 = [0.9, -1.1, 1.3, 0.7, -0.8];
    let arr = |p: &[f64]| -> [f64; 5] { p.try_into().unwrap() };
    check_fn(
        "prefix",
        &x0,
        &|p| prefix(arr(p)).to_vec(),
        &|p, t| {
            let (y, d) = prefix_jvp(arr(p), arr(t));
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (y, pb) = prefix_vjp(arr(p));
            (y.to_vec(), pb(arr(c)).to_vec())
        },
    );
    check_fn(
        "euler",
        &[0.4, -0.3, 2.0],
        &|p| vec![euler(p[0], p[1], p[2])],
        &|p, t| {
            let (y, d) = euler_jvp(p[0], p[1], p[2], t[0], t[1], t[2]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = euler_vjp(p[0], p[1], p[2]);
            let (a, b, k) = pb(c[0]);
            (vec![y], vec![a, b, k])
        },
    );
    let x = [0.3, 1.5, -0.2, 2.1, 0.4, 1.9];
    check_fn(
        "running_logsumexp",
        &x,
        &|p| vec![running_logsumexp(p)],
        &|p, t| {
            let (y, d) = running_logsumexp_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = running_logsumexp_vjp(p);
            let g: Vec<f64> = pb(c[0]);
            (vec![y], g)
        },
    );
}

/// A passive helper call for indices.
fn idx(i: usize, j: usize) -> usize {
    i * 3 + j
}

#[differentiate]
fn passive_calls(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        for j in 0..3 {
            let k: usize = idx(i, j);
            s += x[k] * (k as f64 + 1.0);
        }
    }
    s * s
}

#[test]
fn passive_call_for_indices() {
    let x = [0.3, -0.5, 0.8, 1.1, -0.2, 0.6];
    check_fn(
        "passive_calls",
        &x,
        &|p| vec![passive_calls(p)],
        &|p, t| {
            let (y, d) = passive_calls_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = passive_calls_vjp(p);
            (vec![y], pb(c[0]))
        },
    );
}
