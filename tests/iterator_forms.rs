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
    clippy::useless_vec,
    clippy::assign_op_pattern
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
    // A row the body never names.
    for _row in m.iter() {
        s *= 0.9;
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

/// A row bound again (`let r = row;`) names the row too; rows passed to a call by reference.
#[differentiate(wrt(m, a))]
fn row_bindings(m: &[Vec<f64>], a: [[f64; 2]; 2], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for row in m.iter() {
        let r = row;
        let q: &Vec<f64> = r;
        s += r[0] * q[q.len() - 1] + dot(q, x);
    }
    for row in &a {
        let r = row;
        for v in r.iter() {
            s *= 1.0 + 0.25 * v;
        }
    }
    s
}

/// A local `Vec<Vec<F>>` consumed by value, its rows iterated through `&row` (a `for` loop's
/// source, a `zip`'s argument).
#[differentiate]
fn owned_rows(x: &[f64]) -> f64 {
    let mut vv = vec![vec![0.0; 2]; 2];
    let mut ww = vec![vec![0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            vv[i][j] = x[i] * x[j] + x[i + j];
            ww[i][j] = x[i] - x[j];
        }
    }
    let mut s = 0.0;
    for row in vv {
        for v in &row {
            s += v * v;
        }
    }
    for row in ww {
        for (a, b) in x.iter().zip(&row) {
            s += a * b;
        }
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
        |p: &[f64], t: &[f64]| frobenius_ab_jvp(
            a22(&p[..4]),
            a22(&p[4..]),
            a22(&t[..4]),
            a22(&t[4..])
        ),
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
    let x3 = [0.5, -0.25, 0.75];
    check_flat!(
        "row_bindings",
        x12_()[..10],
        |p: &[f64]| row_bindings(&rows_of(&p[..6], 3), a22(&p[6..]), &x3),
        |p: &[f64], t: &[f64]| row_bindings_jvp(
            &rows_of(&p[..6], 3),
            a22(&p[6..]),
            &x3,
            &rows_of(&t[..6], 3),
            a22(&t[6..])
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = row_bindings_vjp(&rows_of(&p[..6], 3), a22(&p[6..]), &x3);
            let (gm, ga) = pb(c);
            (y, [gm.concat(), ga.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (gm, ga)) = row_bindings_grad(&rows_of(&p[..6], 3), a22(&p[6..]), &x3);
            (y, [gm.concat(), ga.concat()].concat())
        }
    );
    check_flat!(
        "owned_rows",
        P6[..3],
        |p: &[f64]| owned_rows(p),
        |p: &[f64], t: &[f64]| owned_rows_jvp(p, t),
        |p: &[f64], c: f64| {
            let (y, pb) = owned_rows_vjp(p);
            (y, pb(c))
        },
        |p: &[f64]| owned_rows_grad(p)
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

// ---------------------------------------------------------------- chains over rows

/// The corpus case: a map over the rows of `&[Vec<F>]` whose closure runs a chain over its row.
#[differentiate(wrt(w1, w2))]
fn mlp(w1: &[Vec<f64>], w2: &[f64], x: &[f64]) -> f64 {
    let hidden: Vec<f64> = w1
        .iter()
        .map(|row| row.iter().zip(x).map(|(w, xi)| w * xi).sum::<f64>().tanh())
        .collect();
    hidden.iter().zip(w2).map(|(h, w)| h * w).sum()
}

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Rows of `&Vec<Vec<F>>` passed to a differentiated function, reduced, folded.
#[differentiate(wrt(m))]
fn row_calls(m: &Vec<Vec<f64>>, x: &[f64]) -> f64 {
    let a: f64 = m.iter().map(|row| dot(row, x)).sum();
    let b = m
        .iter()
        .map(|row| row.iter().map(|v| v * v).sum::<f64>())
        .fold(0.0, |acc, r| acc + r.sqrt());
    let c = m.iter().fold(1.0, |acc, row| acc * (1.0 + row[0] * row[1]));
    a + b + c
}

/// Rows of `&[[F; 3]]` and of `[[F; 3]; 2]`: the chains of each row in maps.
#[differentiate]
fn array_rows(m: &[[f64; 3]], n: [[f64; 3]; 2]) -> f64 {
    let h: Vec<f64> = m
        .iter()
        .map(|row| row.iter().map(|v| v.sin()).sum::<f64>())
        .collect();
    let g = n
        .iter()
        .zip(m)
        .map(|(r, q)| r.iter().zip(q.iter()).map(|(a, b)| a * b).sum::<f64>())
        .map(|t| t.exp())
        .sum::<f64>();
    h.iter().sum::<f64>() * g
}

#[test]
fn chains_over_rows() {
    let x = [0.2, -0.4, 0.7, 0.1];
    let x15: Vec<f64> = (0..15)
        .map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0)
        .collect();
    check_flat!(
        "mlp",
        x15,
        |p: &[f64]| mlp(&rows_of(&p[..12], 4), &p[12..], &x),
        |p: &[f64], t: &[f64]| mlp_jvp(
            &rows_of(&p[..12], 4),
            &p[12..],
            &x,
            &rows_of(&t[..12], 4),
            &t[12..]
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = mlp_vjp(&rows_of(&p[..12], 4), &p[12..], &x);
            let (g1, g2) = pb(c);
            (y, [g1.concat(), g2].concat())
        },
        |p: &[f64]| {
            let (y, (g1, g2)) = mlp_grad(&rows_of(&p[..12], 4), &p[12..], &x);
            (y, [g1.concat(), g2].concat())
        }
    );
    let x3 = [0.5, -0.25, 0.75];
    check_flat!(
        "row_calls",
        P6,
        |p: &[f64]| row_calls(&rows_of(p, 3), &x3),
        |p: &[f64], t: &[f64]| row_calls_jvp(&rows_of(p, 3), &x3, &rows_of(t, 3)),
        |p: &[f64], c: f64| {
            let (y, pb) = row_calls_vjp(&rows_of(p, 3), &x3);
            (y, pb(c).concat())
        },
        |p: &[f64]| {
            let (y, g) = row_calls_grad(&rows_of(p, 3), &x3);
            (y, g.concat())
        }
    );
    let a3 = |p: &[f64]| -> Vec<[f64; 3]> { p.chunks(3).map(|c| [c[0], c[1], c[2]]).collect() };
    let n23 = |p: &[f64]| [[p[0], p[1], p[2]], [p[3], p[4], p[5]]];
    check_flat!(
        "array_rows",
        x12_(),
        |p: &[f64]| array_rows(&a3(&p[..6]), n23(&p[6..])),
        |p: &[f64], t: &[f64]| array_rows_jvp(
            &a3(&p[..6]),
            n23(&p[6..]),
            &a3(&t[..6]),
            n23(&t[6..])
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = array_rows_vjp(&a3(&p[..6]), n23(&p[6..]));
            let (gm, gn) = pb(c);
            (y, [gm.concat(), gn.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (gm, gn)) = array_rows_grad(&a3(&p[..6]), n23(&p[6..]));
            (y, [gm.concat(), gn.concat()].concat())
        }
    );
}

fn x12_() -> [f64; 12] {
    [
        0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15, 0.6, 0.2, -0.3, 0.9,
    ]
}

// ---------------------------------------------------------------- zips of zips

/// The corpus case: a zip of a zip with a nested tuple pattern.
#[differentiate(wrt(w))]
fn weighted_sq_error(w: &[f64], pred: &[f64], obs: &[f64]) -> f64 {
    w.iter()
        .zip(pred.iter().zip(obs))
        .map(|(wi, (p, o))| wi * (p - o).powi(2))
        .sum()
}

/// Both nestings, in loops, reductions, chains, `collect`, with `enumerate`, adapters and
/// filters, `&x` patterns and `_`.
#[differentiate]
fn zips(a: &[f64], b: [f64; 4], c: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for (x, (y, z)) in a.iter().zip(b.iter().zip(c)) {
        s += x * y - z.sin();
    }
    for ((x, &y), z) in a.iter().zip(&b).zip(c.iter()) {
        s = s * 0.5 + x * y * z;
    }
    for (i, (x, (_, z))) in a.iter().zip(b.iter().zip(c)).enumerate().rev().skip(1) {
        s += (i as f64 + 1.0) * x * z;
    }
    for (x, (y, z)) in a
        .iter()
        .zip(b.iter().zip(c))
        .filter(|(x, (_, z))| **x > **z)
    {
        s += x * y * z;
    }
    let t: f64 = a
        .iter()
        .zip(b.iter().zip(c))
        .map(|(x, (y, z))| x * y + z)
        .map(|u| u * u)
        .sum();
    let v: Vec<f64> = a
        .iter()
        .zip(b)
        .zip(c)
        .map(|((x, y), z)| x * y * z)
        .collect();
    let f = a
        .iter()
        .zip(b.iter().zip(c.iter()))
        .fold(0.0, |acc, (x, (y, z))| acc + x * (y - z));
    s + t + v[1] * v[2] + f
}

/// Three levels, and rows zipped with rows.
#[differentiate]
fn deep_zips(a: &[f64], m: [[f64; 2]; 3], n: &[Vec<f64>]) -> f64 {
    let mut s = 0.0;
    for (x, (r, (q, k))) in a.iter().zip(m.iter().zip(n.iter().zip(a.iter()))) {
        s += x * r[0] * q[1] + k * r[1];
    }
    s
}

#[test]
fn zips_of_zips() {
    let pred = [0.3, 0.1, -0.2, 0.5, 0.9];
    let obs = [0.1, -0.4, 0.2, 0.2, 0.3];
    let w = [0.5, 1.5, -0.5, 0.25, 2.0];
    check_flat!(
        "weighted_sq_error",
        w,
        |p: &[f64]| weighted_sq_error(p, &pred, &obs),
        |p: &[f64], t: &[f64]| weighted_sq_error_jvp(p, &pred, &obs, t),
        |p: &[f64], c: f64| {
            let (y, pb) = weighted_sq_error_vjp(p, &pred, &obs);
            (y, pb(c))
        },
        |p: &[f64]| weighted_sq_error_grad(p, &pred, &obs)
    );
    let b4 = |p: &[f64]| [p[0], p[1], p[2], p[3]];
    check_flat!(
        "zips",
        x12_(),
        |p: &[f64]| zips(&p[..4], b4(&p[4..8]), &p[8..].to_vec()),
        |p: &[f64], t: &[f64]| zips_jvp(
            &p[..4],
            b4(&p[4..8]),
            &p[8..].to_vec(),
            &t[..4],
            b4(&t[4..8]),
            &t[8..]
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = zips_vjp(&p[..4], b4(&p[4..8]), &p[8..].to_vec());
            let (ga, gb, gc) = pb(c);
            (y, [ga, gb.to_vec(), gc].concat())
        },
        |p: &[f64]| {
            let (y, (ga, gb, gc)) = zips_grad(&p[..4], b4(&p[4..8]), &p[8..].to_vec());
            (y, [ga, gb.to_vec(), gc].concat())
        }
    );
    let x15: Vec<f64> = (0..15)
        .map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0)
        .collect();
    check_flat!(
        "deep_zips",
        x15,
        |p: &[f64]| deep_zips(&p[..3], a32(&p[3..9]), &rows_of(&p[9..], 2)),
        |p: &[f64], t: &[f64]| deep_zips_jvp(
            &p[..3],
            a32(&p[3..9]),
            &rows_of(&p[9..], 2),
            &t[..3],
            a32(&t[3..9]),
            &rows_of(&t[9..], 2)
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = deep_zips_vjp(&p[..3], a32(&p[3..9]), &rows_of(&p[9..], 2));
            let (ga, gm, gn) = pb(c);
            (y, [ga, gm.concat(), gn.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (ga, gm, gn)) = deep_zips_grad(&p[..3], a32(&p[3..9]), &rows_of(&p[9..], 2));
            (y, [ga, gm.concat(), gn.concat()].concat())
        }
    );
}

// ---------------------------------------------------------------- flatten, flat_map

/// The corpus case: a reduction over a nested array's `flatten()`.
#[differentiate]
fn frobenius_flat(a: [[f64; 2]; 2], b: [[f64; 2]; 2]) -> f64 {
    let mut c = [[0.0; 2]; 2];
    for i in 0..2 {
        for j in 0..2 {
            for k in 0..2 {
                c[i][j] += a[i][k] * b[k][j];
            }
        }
    }
    c.iter().flatten().map(|v| v * v).sum()
}

/// `flatten` and `flat_map` in loops (with `break`, `continue` and labels), reductions, chains
/// and `collect`, over nested arrays, slices of arrays and `Vec<Vec<F>>`.
#[differentiate]
fn flattened(m: [[f64; 2]; 3], n: &[Vec<f64>], t: f64) -> f64 {
    let mut s = 0.0;
    for v in m.iter().flatten() {
        s += v * t;
    }
    for &v in n.iter().flatten() {
        if v > 0.7 {
            break;
        }
        s = s * 0.9 + v;
    }
    'rows: for v in n.iter().flat_map(|r| r.iter()) {
        for k in 0..2 {
            if k as f64 > 0.5 + *v {
                continue 'rows;
            }
            s += v * (k as f64 + 1.0);
        }
    }
    let p: f64 = m.iter().flatten().copied().product();
    let q = n.iter().flatten().fold(0.0, |acc, v| acc + v.sin());
    let w: Vec<f64> = m
        .iter()
        .flatten()
        .map(|v| v * t)
        .filter(|v| *v > -0.5)
        .collect();
    let z: f64 = n
        .iter()
        .flat_map(|r| r.iter().zip(m[0].iter()))
        .map(|(a, b)| a * b)
        .map(|u| u.exp())
        .sum();
    let d: f64 = m
        .into_iter()
        .flatten()
        .chain(n[1].iter().copied())
        .map(|v| v * v)
        .sum();
    s + p + q + w.iter().sum::<f64>() + z + d
}

/// A flatten of a flatten (three levels).
#[differentiate]
fn deep_flat(t: [[[f64; 2]; 2]; 2]) -> f64 {
    t.iter().flatten().flatten().map(|v| v.sin()).sum::<f64>()
}

#[test]
fn flatten_and_flat_map() {
    check_flat!(
        "frobenius_flat",
        P8,
        |p: &[f64]| frobenius_flat(a22(&p[..4]), a22(&p[4..])),
        |p: &[f64], t: &[f64]| frobenius_flat_jvp(
            a22(&p[..4]),
            a22(&p[4..]),
            a22(&t[..4]),
            a22(&t[4..])
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = frobenius_flat_vjp(a22(&p[..4]), a22(&p[4..]));
            let (ga, gb) = pb(c);
            (y, [ga.concat(), gb.concat()].concat())
        },
        |p: &[f64]| {
            let (y, (ga, gb)) = frobenius_flat_grad(a22(&p[..4]), a22(&p[4..]));
            (y, [ga.concat(), gb.concat()].concat())
        }
    );
    let x13: Vec<f64> = (0..13)
        .map(|i| ((i * 37 % 11) as f64 - 5.0) / 7.0)
        .collect();
    check_flat!(
        "flattened",
        x13,
        |p: &[f64]| flattened(a32(&p[..6]), &rows_of(&p[6..12], 3), p[12]),
        |p: &[f64], t: &[f64]| flattened_jvp(
            a32(&p[..6]),
            &rows_of(&p[6..12], 3),
            p[12],
            a32(&t[..6]),
            &rows_of(&t[6..12], 3),
            t[12]
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = flattened_vjp(a32(&p[..6]), &rows_of(&p[6..12], 3), p[12]);
            let (gm, gn, gt) = pb(c);
            (y, [gm.concat(), gn.concat(), vec![gt]].concat())
        },
        |p: &[f64]| {
            let (y, (gm, gn, gt)) = flattened_grad(a32(&p[..6]), &rows_of(&p[6..12], 3), p[12]);
            (y, [gm.concat(), gn.concat(), vec![gt]].concat())
        }
    );
    let t3 = |p: &[f64]| [a22(&p[..4]), a22(&p[4..])];
    check_flat!(
        "deep_flat",
        P8,
        |p: &[f64]| deep_flat(t3(p)),
        |p: &[f64], t: &[f64]| deep_flat_jvp(t3(p), t3(t)),
        |p: &[f64], c: f64| {
            let (y, pb) = deep_flat_vjp(t3(p));
            (y, pb(c).iter().flat_map(|r| r.concat()).collect())
        },
        |p: &[f64]| {
            let (y, g) = deep_flat_grad(t3(p));
            (y, g.iter().flat_map(|r| r.concat()).collect())
        }
    );
}

// ---------------------------------------------------------------- Vec outputs

/// The corpus case: a `Vec<F>` output whose tail is a `collect()` typed by the return type,
/// called from another differentiated function.
#[differentiate]
fn softmax(x: &[f64]) -> Vec<f64> {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[differentiate]
fn use_softmax(x: &[f64]) -> f64 {
    let p = softmax(x);
    p[0] * 2.0 + p[1]
}

/// `collect()`s typed by the return type in branches and `return`s, generic.
#[differentiate]
fn shrink<F: Float>(x: &[F], k: F) -> Vec<F> {
    if k > F::one() {
        return x.iter().map(|v| *v / k).collect();
    }
    let y: Vec<F> = x.iter().map(|v| *v * k).collect();
    if y.len() > 3 {
        y.iter().map(|v| v.sin()).collect()
    } else {
        y.iter().zip(x).map(|(a, b)| *a * *b).collect()
    }
}

#[differentiate]
fn use_shrink(x: &[f64], k: f64) -> f64 {
    let v = shrink(x, k);
    let mut s = 0.0;
    for (i, a) in v.iter().enumerate() {
        s += a * (i as f64 + 1.0);
    }
    s
}

#[test]
fn vec_outputs() {
    let x = [0.3, -0.5, 0.8, 0.1];
    check_flat!(
        "use_softmax",
        x,
        |p: &[f64]| use_softmax(p),
        |p: &[f64], t: &[f64]| use_softmax_jvp(p, t),
        |p: &[f64], c: f64| {
            let (y, pb) = use_softmax_vjp(p);
            (y, pb(c))
        },
        |p: &[f64]| use_softmax_grad(p)
    );
    check_fn(
        "softmax",
        &x,
        &|p| softmax(p),
        &|p, t| softmax_jvp(p, t),
        &|p, c| {
            let (y, pb) = softmax_vjp(p);
            (y, pb(c.to_vec()))
        },
    );
    for k in [0.5, 1.5] {
        for n in [3, 4] {
            let p: Vec<f64> = x[..n].iter().copied().chain([k]).collect();
            check_fn(
                "shrink",
                &p,
                &|p| shrink(&p[..n], p[n]),
                &|p, t| shrink_jvp(&p[..n], p[n], &t[..n], t[n]),
                &|p, c| {
                    let (y, pb) = shrink_vjp(&p[..n], p[n]);
                    let (gx, gk) = pb(c.to_vec());
                    (y, [gx, vec![gk]].concat())
                },
            );
            check_flat!(
                "use_shrink",
                p,
                |p: &[f64]| use_shrink(&p[..n], p[n]),
                |p: &[f64], t: &[f64]| use_shrink_jvp(&p[..n], p[n], &t[..n], t[n]),
                |p: &[f64], c: f64| {
                    let (y, pb) = use_shrink_vjp(&p[..n], p[n]);
                    let (gx, gk) = pb(c);
                    (y, [gx, vec![gk]].concat())
                },
                |p: &[f64]| {
                    let (y, (gx, gk)) = use_shrink_grad(&p[..n], p[n]);
                    (y, [gx, vec![gk]].concat())
                }
            );
        }
    }
}

// ---------------------------------------------------------------- push

/// The corpus case: a local `Vec` built by `push` in a loop, then read by a chain.
#[differentiate]
fn cumulative(x: &[f64]) -> f64 {
    let mut cs = Vec::with_capacity(x.len());
    let mut acc = 0.0;
    for &v in x {
        acc += v;
        cs.push(acc);
    }
    cs.iter().map(|c| c.sin()).sum()
}

/// `Vec::new()` and `vec![]`, pushes under branches, the length read between pushes (the
/// reverse sweep sees the `Vec` as it was: a loop over `0..cs.len()` before a later push),
/// an element overwritten, a passive push, a push whose `Vec` is not read afterwards.
#[differentiate]
fn pushes(x: &[f64], k: f64) -> f64 {
    let mut cs = Vec::new();
    let mut ds: Vec<f64> = vec![];
    for (i, v) in x.iter().enumerate() {
        if *v > 0.0 {
            cs.push(v * k);
        } else {
            cs.push(v.sin());
            ds.push(0.5);
        }
        ds.push(v * v);
        if i % 2 == 0 {
            ds.push(cs[cs.len() - 1] * k);
        }
    }
    let mut s = 0.0;
    for i in 0..cs.len() {
        s += cs[i] * (i as f64 + 1.0);
    }
    cs[0] *= s;
    cs.push(s.cos());
    let mut t = 0.0;
    for j in 0..cs.len() {
        t += cs[j] * cs[cs.len() - 1 - j];
    }
    let y = ds[1];
    ds.push(y * 3.0);
    t + s + y + ds.iter().sum::<f64>()
}

/// A `Vec` declared in a loop body, pushed in an inner loop; a `Vec` of arrays.
#[differentiate]
fn local_pushes(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for r in 0..3 {
        let mut row = Vec::new();
        for j in 0..x.len() {
            row.push(x[j] * (r as f64 + 1.0) + s);
        }
        s += row[0] * row[row.len() - 1];
    }
    let mut pairs: Vec<[f64; 2]> = Vec::new();
    for w in x.windows(2) {
        pairs.push([w[0], w[0] * w[1]]);
    }
    for p in pairs.iter() {
        s += p[0] * p[1];
    }
    s
}

/// A `Vec` output built by `push`, generic.
#[differentiate]
fn prefix_products<F: Float>(x: &[F]) -> Vec<F> {
    let mut out = Vec::new();
    let mut p = F::one();
    for v in x.iter() {
        p = p * *v;
        out.push(p);
    }
    out
}

#[test]
fn push_on_local_vecs() {
    let x = [0.3, -0.5, 0.8, 0.1, -0.7];
    check_flat!(
        "cumulative",
        x,
        |p: &[f64]| cumulative(p),
        |p: &[f64], t: &[f64]| cumulative_jvp(p, t),
        |p: &[f64], c: f64| {
            let (y, pb) = cumulative_vjp(p);
            (y, pb(c))
        },
        |p: &[f64]| cumulative_grad(p)
    );
    let x6 = [0.3, -0.5, 0.8, 0.1, -0.7, 1.25];
    check_flat!(
        "pushes",
        x6,
        |p: &[f64]| pushes(&p[..5], p[5]),
        |p: &[f64], t: &[f64]| pushes_jvp(&p[..5], p[5], &t[..5], t[5]),
        |p: &[f64], c: f64| {
            let (y, pb) = pushes_vjp(&p[..5], p[5]);
            let (gx, gk) = pb(c);
            (y, [gx, vec![gk]].concat())
        },
        |p: &[f64]| {
            let (y, (gx, gk)) = pushes_grad(&p[..5], p[5]);
            (y, [gx, vec![gk]].concat())
        }
    );
    check_flat!(
        "local_pushes",
        x,
        |p: &[f64]| local_pushes(p),
        |p: &[f64], t: &[f64]| local_pushes_jvp(p, t),
        |p: &[f64], c: f64| {
            let (y, pb) = local_pushes_vjp(p);
            (y, pb(c))
        },
        |p: &[f64]| local_pushes_grad(p)
    );
    check_fn(
        "prefix_products",
        &x,
        &|p| prefix_products(p),
        &|p, t| prefix_products_jvp(p, t),
        &|p, c| {
            let (y, pb) = prefix_products_vjp(p);
            (y, pb(c.to_vec()))
        },
    );
}

// ---------------------------------------------------------------- combinations

/// Rows through filters and position adapters, passive rows against active weights, three
/// levels of rows, rows pushed then iterated, a `Vec<Vec<F>>` built by pushing rows, a flatten
/// of a local `Vec<Vec<F>>` by value.
#[differentiate(wrt(m, w))]
fn combined(m: [[f64; 2]; 3], w: &[f64], data: &[Vec<f64>], t: [[[f64; 2]; 2]; 2]) -> f64 {
    let mut s = 0.0;
    for row in m.iter().filter(|r| r[0] > -0.6) {
        for v in row {
            s += v * 0.5;
        }
    }
    for (i, row) in m.iter().enumerate().rev().skip(1) {
        s = s * 0.9 + row[1] * (i as f64 + 1.0);
    }
    for row in data.iter() {
        for (d, wj) in row.iter().zip(w.iter()) {
            s += d * wj;
        }
    }
    for plane in t.iter() {
        for row in plane {
            for v in row.iter() {
                s += v * w[0];
            }
        }
    }
    let mut pairs = Vec::new();
    for j in 0..w.len() {
        pairs.push([w[j], w[j] * s]);
    }
    for p in pairs.iter() {
        s += p[0] * p[1];
    }
    let mut grid = Vec::new();
    for i in 0..2 {
        let mut r = Vec::new();
        for j in 0..w.len() {
            r.push(w[j] * m[i][0] + (j as f64));
        }
        grid.push(r);
    }
    for g in grid.iter() {
        s += g[0] * g[g.len() - 1];
    }
    let flat: f64 = grid.into_iter().flatten().map(|v| v.sin()).sum();
    s + flat
}

#[test]
fn combinations() {
    let data = vec![vec![0.5, -0.25, 1.0], vec![0.75, 0.1, -0.6]];
    let t = [[[0.1, 0.2], [0.3, -0.4]], [[0.5, -0.6], [0.7, 0.8]]];
    let x9 = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15, 0.6];
    check_flat!(
        "combined",
        x9,
        |p: &[f64]| combined(a32(&p[..6]), &p[6..], &data, t),
        |p: &[f64], tt: &[f64]| combined_jvp(
            a32(&p[..6]),
            &p[6..],
            &data,
            t,
            a32(&tt[..6]),
            &tt[6..]
        ),
        |p: &[f64], c: f64| {
            let (y, pb) = combined_vjp(a32(&p[..6]), &p[6..], &data, t);
            let (gm, gw) = pb(c);
            (y, [gm.concat(), gw].concat())
        },
        |p: &[f64]| {
            let (y, (gm, gw)) = combined_grad(a32(&p[..6]), &p[6..], &data, t);
            (y, [gm.concat(), gw].concat())
        }
    );
}
