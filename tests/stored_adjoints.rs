//! Two shortcuts of the reverse sweep (autodiff-macros/src/once.rs) and the cases that must not
//! take them:
//! - a parameter element read at one place, indexed by the variables of every range loop
//!   around it, gets its adjoint stored (`x__bar[i] = c`) instead of added;
//! - a loop binding stored into an array element that nothing else writes is read back from
//!   that element by the reverse sweep instead of from a tape.
//!
//! Every function is checked three ways: `_grad` against `_vjp(..)(1.0)`, both against central
//! finite differences, and the values against the primal.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::prelude::*;
use common::{Rng, WithGrad, check_grad_vjp};

/// Runs `check` on a function of `[f64; N]` at a few random points.
macro_rules! check_array {
    ($name:ident, $grad:ident, $vjp:ident, $n:expr) => {{
        paste_check(
            stringify!($name),
            $n,
            &|x| $name(&x.try_into().unwrap()),
            &|x| {
                let (y, g) = $grad(&x.try_into().unwrap());
                (y, g.to_vec())
            },
            &|x| {
                let (y, pb) = $vjp(&x.try_into().unwrap());
                (y, pb(1.0).to_vec())
            },
        )
    }};
}

fn paste_check(name: &str, n: usize, f: &dyn Fn(&[f64]) -> f64, grad: WithGrad, vjp: WithGrad) {
    let mut rng = Rng::new(17 + n as u64);
    for _ in 0..3 {
        let x = rng.vec(n);
        check_grad_vjp(name, f, grad, vjp, &x);
    }
}

// ------------------------------------------------------------ stored, not added

/// Stored: `x[i]` read once, `i` steps by 2 (the odd elements' adjoints stay zero).
#[differentiate]
fn strided(x: &[f64; 8]) -> f64 {
    let mut s = 0.0;
    for i in (0..8).step_by(2) {
        s += x[i].sin();
    }
    s
}

/// Stored: one read per element in two nested range loops, backwards.
#[differentiate]
fn nested_once(x: &[[f64; 3]; 4]) -> f64 {
    let mut s = 0.0;
    for i in (0..4).rev() {
        for j in 0..3 {
            s += x[i][j] * x[i][j].cos() * (i + j) as f64;
        }
    }
    s
}

/// Added: the outer loop does not index `x`, so each element is read three times.
#[differentiate]
fn outer_not_indexing(x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        for j in 0..4 {
            s += x[j].exp() * (i as f64 + 1.0);
        }
    }
    s
}

const IDX: [usize; 5] = [0, 2, 0, 3, 0];

/// Added: the index is not a loop variable (`x[0]` is read three times).
#[differentiate]
fn gathered(x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for t in 0..5 {
        let k = IDX[t];
        s += x[k].exp();
    }
    s
}

/// Added: read in a `while` loop (its trip count says nothing about repeats).
#[differentiate]
fn in_while(x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < 7 {
        s += x[i % 4].sin();
        i += 1;
    }
    s
}

#[differentiate]
fn sum_sq(x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s += x[i] * x[i];
    }
    s
}

/// Added: `x[i]` read once in the loop, and `x` read whole by a call.
#[differentiate]
fn also_whole(x: &[f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        s += x[i].tanh();
    }
    s + sum_sq(x)
}

#[derive(Differentiable, Clone, Debug)]
struct Layer {
    w: [f64; 3],
    b: [f64; 3],
}

/// Stored for `p.w[i]` (one read), added for `p.b[i]` (two reads).
#[differentiate]
fn fields(p: &Layer) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += (p.w[i] * p.b[i]).sin() + p.b[i];
    }
    s
}

#[test]
fn stored_where_each_element_is_read_once_added_elsewhere() {
    check_array!(strided, strided_grad, strided_vjp, 8);
    check_array!(
        outer_not_indexing,
        outer_not_indexing_grad,
        outer_not_indexing_vjp,
        4
    );
    check_array!(gathered, gathered_grad, gathered_vjp, 4);
    check_array!(in_while, in_while_grad, in_while_vjp, 4);
    check_array!(also_whole, also_whole_grad, also_whole_vjp, 4);

    let nest = |x: &[f64]| -> [[f64; 3]; 4] {
        let mut a = [[0.0; 3]; 4];
        for i in 0..4 {
            a[i].copy_from_slice(&x[3 * i..3 * i + 3]);
        }
        a
    };
    let flat = |a: [[f64; 3]; 4]| a.iter().flatten().copied().collect::<Vec<f64>>();
    paste_check(
        "nested_once",
        12,
        &|x| nested_once(&nest(x)),
        &|x| {
            let (y, g) = nested_once_grad(&nest(x));
            (y, flat(g))
        },
        &|x| {
            let (y, pb) = nested_once_vjp(&nest(x));
            (y, flat(pb(1.0)))
        },
    );

    let layer = |x: &[f64]| Layer {
        w: x[..3].try_into().unwrap(),
        b: x[3..].try_into().unwrap(),
    };
    let flat = |l: Layer| [l.w, l.b].concat();
    paste_check(
        "fields",
        6,
        &|x| fields(&layer(x)),
        &|x| {
            let (y, g) = fields_grad(&layer(x));
            (y, flat(g))
        },
        &|x| {
            let (y, pb) = fields_vjp(&layer(x));
            (y, flat(pb(1.0)))
        },
    );
}

// ------------------------------------------------------------ read back, not taped

/// Read back: `h[i]` holds `t` from its store to the reverse sweep.
#[differentiate]
fn alias_basic(x: &[f64; 5]) -> f64 {
    let mut h = [0.0; 5];
    for i in 0..5 {
        let t = x[i].tanh();
        h[i] = t;
    }
    let mut s = 0.0;
    for i in 0..5 {
        s += h[i] * h[i] * x[i];
    }
    s
}

/// Taped: `h` is written again by a later loop.
#[differentiate]
fn alias_overwritten_later(x: &[f64; 5]) -> f64 {
    let mut h = [0.0; 5];
    for i in 0..5 {
        let t = x[i].tanh();
        h[i] = t;
    }
    for i in 0..5 {
        h[i] *= x[i];
    }
    let mut s = 0.0;
    for i in 0..5 {
        s += h[i].sin();
    }
    s
}

/// Taped: a later loop overwrites `h` without reading it (so nothing restores `t` into it).
#[differentiate]
fn alias_overwritten_unread(x: &[f64; 5]) -> f64 {
    let mut h = [0.0; 5];
    let mut s = 0.0;
    for i in 0..5 {
        let t = x[i].tanh();
        h[i] = t;
        s += t * x[i];
    }
    for i in 0..5 {
        h[i] = x[i] * 2.0;
    }
    for i in 0..5 {
        s += h[i] * h[i];
    }
    s
}

/// Read back while the iteration's reverse also needs `h[i]`'s old value (restored after).
#[differentiate]
fn alias_old_value_needed(x: &[f64; 5]) -> f64 {
    let mut h = [0.5, -1.0, 2.0, 0.25, 1.5];
    let mut s = 0.0;
    for i in 0..5 {
        let a = h[i] * x[i];
        let t = a.sin();
        h[i] = t;
        s += a * t;
    }
    for i in 0..5 {
        s += h[i] * x[i];
    }
    s
}

/// Taped: the store happens in a branch (some `h[i]` never hold `t`).
#[differentiate]
fn alias_in_branch(x: &[f64; 5]) -> f64 {
    let mut h = [1.0; 5];
    let mut s = 0.0;
    for i in 0..5 {
        let t = x[i].exp();
        if x[i] > 0.0 {
            h[i] = t;
        }
        s += t * h[i];
    }
    s
}

/// Read back from a two-dimensional array in nested loops.
#[differentiate]
fn alias_nested(x: &[f64; 5]) -> f64 {
    let mut h = [[0.0; 5]; 3];
    for k in 0..3 {
        for i in 0..5 {
            let t = (x[i] * (k + 1) as f64).sin();
            h[k][i] = t;
        }
    }
    let mut s = 0.0;
    for k in 0..3 {
        for i in 0..5 {
            s += h[k][i] * h[k][i] * x[i];
        }
    }
    s
}

#[test]
fn read_back_from_memory_only_where_it_still_holds_the_value() {
    check_array!(alias_basic, alias_basic_grad, alias_basic_vjp, 5);
    check_array!(
        alias_overwritten_later,
        alias_overwritten_later_grad,
        alias_overwritten_later_vjp,
        5
    );
    check_array!(
        alias_overwritten_unread,
        alias_overwritten_unread_grad,
        alias_overwritten_unread_vjp,
        5
    );
    check_array!(
        alias_old_value_needed,
        alias_old_value_needed_grad,
        alias_old_value_needed_vjp,
        5
    );
    check_array!(
        alias_in_branch,
        alias_in_branch_grad,
        alias_in_branch_vjp,
        5
    );
    check_array!(alias_nested, alias_nested_grad, alias_nested_vjp, 5);
}

// ------------------------------------------------------------ one-pass windows

/// Stored: a one-pass loop's windows are the only reads of `x`.
#[differentiate]
fn window_only(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        s += a * a + (1.0 - x[i]).powi(2);
    }
    s
}

/// Added: `x` is also read after the loop.
#[differentiate]
fn window_and_after(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        s += a * a;
    }
    s + x[0] * x[1]
}

/// Added: two one-pass loops read `x` (the second must not overwrite the first's adjoints).
#[differentiate]
fn two_window_loops(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        s += a * a;
    }
    let mut t = 0.0;
    for i in 0..x.len() - 1 {
        t += (x[i] * x[i + 1]).sin();
    }
    s + 2.0 * t
}

#[test]
fn window_flushes_store_only_where_nothing_else_reads() {
    let fs: [Case; 3] = [
        (
            "window_only",
            window_only,
            window_only_grad,
            window_only_vjp_fn,
        ),
        (
            "window_and_after",
            window_and_after,
            window_and_after_grad,
            window_and_after_vjp_fn,
        ),
        (
            "two_window_loops",
            two_window_loops,
            two_window_loops_grad,
            two_window_loops_vjp_fn,
        ),
    ];
    let mut rng = Rng::new(3);
    for n in [2usize, 3, 8] {
        let x = rng.vec(n);
        for (name, f, grad, vjp) in fs {
            check_grad_vjp(name, &f, &grad, &vjp, &x);
        }
    }
}

type ValueAndGrad = fn(&[f64]) -> (f64, Vec<f64>);
/// A function with its `_grad` and its `_vjp` applied to 1.
type Case = (&'static str, fn(&[f64]) -> f64, ValueAndGrad, ValueAndGrad);

fn window_only_vjp_fn(x: &[f64]) -> (f64, Vec<f64>) {
    let (y, pb) = window_only_vjp(x);
    (y, pb(1.0))
}
fn window_and_after_vjp_fn(x: &[f64]) -> (f64, Vec<f64>) {
    let (y, pb) = window_and_after_vjp(x);
    (y, pb(1.0))
}
fn two_window_loops_vjp_fn(x: &[f64]) -> (f64, Vec<f64>) {
    let (y, pb) = two_window_loops_vjp(x);
    (y, pb(1.0))
}

// ------------------------------------------------------------ branch conditions recomputed

/// Conditions on loop variables and a passive parameter are evaluated again by the reverse
/// sweep instead of stored (a statement `if` and a value-producing `if`).
#[differentiate(wrt(x))]
fn branch_recomputed(x: &[f64; 6], cut: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..6 {
        if i < cut {
            s += x[i].sin();
        } else {
            s += x[i] * x[i];
        }
        let w = if (i + cut) % 3 == 1 {
            2.0 * x[i]
        } else {
            x[i].exp()
        };
        s += w * x[(i + 1) % 6];
    }
    s
}

#[test]
fn branch_conditions_recomputed_in_reverse() {
    for cut in [0usize, 2, 6] {
        paste_check(
            "branch_recomputed",
            6,
            &|x| branch_recomputed(&x.try_into().unwrap(), cut),
            &|x| {
                let (y, g) = branch_recomputed_grad(&x.try_into().unwrap(), cut);
                (y, g.to_vec())
            },
            &|x| {
                let (y, pb) = branch_recomputed_vjp(&x.try_into().unwrap(), cut);
                (y, pb(1.0).to_vec())
            },
        );
    }
}
