//! Iterator forms found by a corpus of naturally written functions (issue 13): element loops
//! over the rows of nested arrays, slices of arrays and `Vec<Vec<F>>` with inner loops over
//! each row; iterator chains over those rows (a map whose closure runs a chain over its row);
//! nested `zip`s with nested tuple patterns; `flatten`; `Vec<F>` outputs built by `collect`;
//! `push` on a local `Vec`. Each checked in both modes against central finite differences, the
//! dot-product test and the Jacobian built both ways (`tests/common`).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::useless_vec
)]
#![deny(warnings)]
#![allow(dead_code)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

fn a22(p: &[f64]) -> [[f64; 2]; 2] {
    [[p[0], p[1]], [p[2], p[3]]]
}

fn a32(p: &[f64]) -> [[f64; 2]; 3] {
    [[p[0], p[1]], [p[2], p[3]], [p[4], p[5]]]
}

fn rows_of(p: &[f64], n: usize) -> Vec<Vec<f64>> {
    p.chunks(n).map(|c| c.to_vec()).collect()
}

fn arrays_of(p: &[f64]) -> Vec<[f64; 2]> {
    p.chunks(2).map(|c| [c[0], c[1]]).collect()
}

const P6: [f64; 6] = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45];
const P8: [f64; 8] = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15];

/// Checks a scalar function of a flat vector given its `_jvp`, `_vjp` (as flat vectors) and
/// `_grad`, all against each other and finite differences.
macro_rules! check_flat {
    ($name:expr, $x:expr, $f:expr, $jvp:expr, $vjp:expr, $grad:expr) => {{
        let x: &[f64] = &$x;
        check_fn(
            $name,
            x,
            &|p| vec![$f(p)],
            &|p, t| {
                let (y, d) = $jvp(p, t);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, g) = $vjp(p, c[0]);
                (vec![y], g)
            },
        );
        check_grad($name, x, &$f, &$grad);
    }};
}

// ---------------------------------------------------------------- rows of nested collections

/// The corpus case: a local nested array's rows, then each row's elements.
#[differentiate]
fn frobenius_ab(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> f64 {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            for k in 0..2 {
                c[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    let mut s = 0.0;
    for row in c.iter() {
        for v in row {
            s += v * v;
        }
    }
    s
}

/// Rows by reference (`&m`), by value (`for row in m`), elements by `row.iter()`, `&row`,
/// `row` by value, `&v` patterns.
#[differentiate]
fn row_forms(m: [[f64; 2]; 3]) -> f64 {
    let mut s = 0.0;
    for row in &m {
        for v in row.iter() {
            s += v.sin();
        }
    }
    for row in m {
        for &v in &row {
            s += v * s;
        }
    }
    for row in m.iter() {
        for v in row.iter().copied() {
            s = s * 0.5 + v;
        }
    }
    for row in m.into_iter() {
        for v in row {
            s += v * v;
        }
    }
    s
}

/// Rows with `enumerate` and `zip`, elements with `enumerate` and `zip`.
#[differentiate]
fn row_index_forms(m: [[f64; 2]; 3], w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            s += v * w[i] * (j as f64 + 1.0);
        }
    }
    for (row, wi) in m.iter().zip(w.iter()) {
        for (a, b) in row.iter().zip(w.iter()) {
            s += a * b * wi;
        }
    }
    s
}

/// A slice of arrays (`&[[F; 2]]`): rows by reference and their elements.
#[differentiate]
fn slice_of_arrays(m: &[[f64; 2]]) -> f64 {
    let mut s = 0.0;
    for row in m {
        for v in row {
            s += v * v * v;
        }
    }
    for row in m.iter() {
        s += row[0] * row[1];
    }
    s
}

/// `&[Vec<F>]` and `&Vec<Vec<F>>`: rows are `Vec`s (not `Copy`).
#[differentiate]
fn slice_of_vecs(m: &[Vec<f64>], n: &Vec<Vec<f64>>) -> f64 {
    let mut s = 0.0;
    for row in m {
        for v in row {
            s += v.cos();
        }
    }
    for row in m.iter() {
        for (j, v) in row.iter().enumerate() {
            s += v * n[0][j];
        }
    }
    for row in n.iter() {
        for &v in row.iter() {
            s *= 1.0 + 0.1 * v;
        }
    }
    for (r, q) in m.iter().zip(n) {
        for (a, b) in r.iter().zip(q.iter()) {
            s += a * b;
        }
    }
    s
}

/// A local `Vec<Vec<F>>` built by writes, then its rows.
#[differentiate]
fn local_vec_rows(x: &[f64]) -> f64 {
    let mut c = vec![vec![0.0; 2]; 3];
    for i in 0..3 {
        for j in 0..2 {
            c[i][j] = x[i + j] * x[j];
        }
    }
    let mut s = 0.0;
    for row in c.iter() {
        for v in row.iter() {
            s += v.exp();
        }
    }
    for row in &c {
        s += row[1] * s;
    }
    s
}

/// Rows reduced by a chain inside a row loop.
#[differentiate]
fn row_reductions(m: [[f64; 2]; 3]) -> f64 {
    let mut s = 0.0;
    for row in m.iter() {
        s += row.iter().map(|v| v * v).sum::<f64>().sqrt();
    }
    s
}

#[test]
fn rows_of_nested_collections() {
    check_flat!(
        "frobenius_ab",
        P8,
        |p: &[f64]| frobenius_ab(a22(&p[..4]), a22(&p[4..])),
        |p: &[f64], t: &[f64]| frobenius_ab_jvp(a22(&p[..4]), a22(&p[4..]), a22(&t[..4]), a22(&t[4..])),
        |p: &[f64], c: f64| {
            let (y, pb) = frobenius_ab_vjp(a22(&p[..4]), a22(&p[4..]));
            let (ga, gb) = pb(c);
            (y, [ga.concat(), gb.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (ga, gb)) = frobenius_ab_grad(a22(&p[..4]), a22(&p[4..]));
            (y, [ga.concat(), gb.concat()].concat())
        }
    );
    check_flat!(
        "row_forms",
        P6,
        |p: &[f64]| row_forms(a32(p)),
        |p: &[f64], t: &[f64]| row_forms_jvp(a32(p), a32(t)),
        |p: &[f64], c: f64| {
            let (y, pb) = row_forms_vjp(a32(p));
            (y, pb(c).concat())
        },
        |p: &[f64]| {
            let (y, g) = row_forms_grad(a32(p));
            (y, g.concat())
        }
    );
    let w3 = |p: &[f64]| [p[6], p[7], p[0]];
    let x9 = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15, 0.6];
    check_flat!(
        "row_index_forms",
        x9,
        |p: &[f64]| row_index_forms(a32(p), [p[6], p[7], p[8]]),
        |p: &[f64], t: &[f64]| row_index_forms_jvp(
            a32(p),
            [p[6], p[7], p[8]],
            a32(t),
            [t[6], t[7], t[8]]
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = row_index_forms_vjp(a32(p), [p[6], p[7], p[8]]);
            let (gm, gw) = pb(c);
            (y, [gm.concat(), gw.to_vec()].concat())
        },
        |p: &[f64]| {
            let (y, (gm, gw)) = row_index_forms_grad(a32(p), [p[6], p[7], p[8]]);
            (y, [gm.concat(), gw.to_vec()].concat())
        }
    );
    let _ = w3;
    check_flat!(
        "slice_of_arrays",
        P6,
        |p: &[f64]| slice_of_arrays(&arrays_of(p)),
        |p: &[f64], t: &[f64]| slice_of_arrays_jvp(&arrays_of(p), &arrays_of(t)),
        |p: &[f64], c: f64| {
            let (y, pb) = slice_of_arrays_vjp(&arrays_of(p));
            (y, pb(c).concat())
        },
        |p: &[f64]| {
            let (y, g) = slice_of_arrays_grad(&arrays_of(p));
            (y, g.concat())
        }
    );
    let x12 = [
        0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15, 0.6, 0.2, -0.3, 0.9,
    ];
    check_flat!(
        "slice_of_vecs",
        x12,
        |p: &[f64]| slice_of_vecs(&rows_of(&p[..6], 3), &rows_of(&p[6..], 3)),
        |p: &[f64], t: &[f64]| slice_of_vecs_jvp(
            &rows_of(&p[..6], 3),
            &rows_of(&p[6..], 3),
            &rows_of(&t[..6], 3),
            &rows_of(&t[6..], 3)
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = slice_of_vecs_vjp(&rows_of(&p[..6], 3), &rows_of(&p[6..], 3));
            let (gm, gn) = pb(c);
            (y, [gm.concat(), gn.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (gm, gn)) = slice_of_vecs_grad(&rows_of(&p[..6], 3), &rows_of(&p[6..], 3));
            (y, [gm.concat(), gn.concat()].concat())
        }
    );
    check_flat!(
        "local_vec_rows",
        P6,
        |p: &[f64]| local_vec_rows(p),
        |p: &[f64], t: &[f64]| local_vec_rows_jvp(p, t),
        |p: &[f64], c: f64| {
            let (y, pb) = local_vec_rows_vjp(p);
            (y, pb(c))
        },
        |p: &[f64]| local_vec_rows_grad(p)
    );
    check_flat!(
        "row_reductions",
        P6,
        |p: &[f64]| row_reductions(a32(p)),
        |p: &[f64], t: &[f64]| row_reductions_jvp(a32(p), a32(t)),
        |p: &[f64], c: f64| {
            let (y, pb) = row_reductions_vjp(a32(p));
            (y, pb(c).concat())
        },
        |p: &[f64]| {
            let (y, g) = row_reductions_grad(a32(p));
            (y, g.concat())
        }
    );
}
