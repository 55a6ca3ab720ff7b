//! `for` loops over the elements of arrays, slices and `Vec`s (`for x in xs.iter()`, `for &x in
//! xs`, `for (i, x) in xs.iter().enumerate()`, `for (a, b) in xs.iter().zip(ys)`, rows of nested
//! arrays), lowered to the index loops a hand rewrite gives; each checked in both modes against
//! finite differences, the dot-product test and the Jacobian built both ways.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(clippy::ptr_arg, clippy::type_complexity, clippy::needless_range_loop)]
#![deny(warnings)]
#![allow(dead_code)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

#[differentiate]
fn sum_of_squares(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += x * x;
    }
    s
}

#[differentiate]
fn weighted(xs: &[f64], w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        s += x * w[i % 3] + (i as f64) * x;
    }
    s
}

#[differentiate]
fn distance(a: &[f64; 3], b: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b.iter()) {
        s += (*x - *y).powi(2);
    }
    s.sqrt()
}

#[differentiate]
fn rows(m: [[f64; 2]; 3]) -> f64 {
    let mut s = 0.0;
    for row in m.iter() {
        s += row[0] * row[1];
    }
    for &r in m[1].iter() {
        s *= r;
    }
    s
}

#[differentiate(wrt(x))]
fn passive_data(x: f64, data: &[f64]) -> f64 {
    let mut s = 0.0;
    for &d in data {
        s += (x - d).powi(2);
    }
    for (i, d) in data.iter().enumerate() {
        s += x * d * i as f64;
    }
    s
}

#[differentiate]
fn product_by_value(x: [f64; 4]) -> f64 {
    let mut p = 1.0;
    for v in x {
        p *= v;
    }
    for v in x.iter().copied() {
        p += v.sin();
    }
    p
}

fn vjp1(pb: impl FnOnce(f64) -> Vec<f64>, c: f64) -> Vec<f64> {
    pb(c)
}

#[test]
fn loops_over_elements() {
    let xs = vec![0.3, -0.5, 0.8, 0.1];
    check_fn(
        "sum_of_squares",
        &xs,
        &|p| vec![sum_of_squares(p)],
        &|p, t| {
            let (y, d) = sum_of_squares_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = sum_of_squares_vjp(p);
            (vec![y], vjp1(pb, c[0]))
        },
    );
    let w = [1.0, 2.0, 3.0];
    check_grad(
        "weighted",
        &[0.3, -0.5, 0.8, 0.1, 1.0, 2.0, 3.0],
        &|p| weighted(&p[..4], [p[4], p[5], p[6]]),
        &|p| {
            let (y, (gx, gw)) = weighted_grad(&p[..4], [p[4], p[5], p[6]]);
            (y, [gx, gw.to_vec()].concat())
        },
    );
    let _ = w;
    let b = vec![0.5, -0.1, 0.4, 9.0];
    check_grad(
        "distance",
        &[0.3, 0.2, 0.1, 0.5, -0.1, 0.4, 9.0],
        &|p| distance(&[p[0], p[1], p[2]], &p[3..].to_vec()),
        &|p| {
            let (y, (ga, gb)) = distance_grad(&[p[0], p[1], p[2]], &p[3..].to_vec());
            (y, [ga.to_vec(), gb].concat())
        },
    );
    let _ = b;
    let m = |p: &[f64]| [[p[0], p[1]], [p[2], p[3]], [p[4], p[5]]];
    check_fn(
        "rows",
        &[0.3, 0.2, 0.5, 0.7, 0.1, 0.9],
        &|p| vec![rows(m(p))],
        &|p, t| {
            let (y, d) = rows_jvp(m(p), m(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = rows_vjp(m(p));
            (vec![y], pb(c[0]).concat())
        },
    );
    check_grad("passive_data", &[0.5], &|p| passive_data(p[0], &xs), &|p| {
        let (y, g) = passive_data_grad(p[0], &xs);
        (y, vec![g])
    });
    let a4 = |p: &[f64]| -> [f64; 4] { p.try_into().unwrap() };
    check_fn(
        "product_by_value",
        &[0.3, 0.2, 0.5, 0.7],
        &|p| vec![product_by_value(a4(p))],
        &|p, t| {
            let (y, d) = product_by_value_jvp(a4(p), a4(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = product_by_value_vjp(a4(p));
            (vec![y], pb(c[0]).to_vec())
        },
    );
}

// ---------------------------------------------------------------- position adapters

#[differentiate]
fn adapted_loops(xs: &[f64], w: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for (i, &x) in xs.iter().enumerate().skip(1).step_by(2) {
        s += x * w[i] * (i as f64 + 1.0);
    }
    for x in xs.iter().rev().take(3) {
        s = s * 0.5 + x.sin();
    }
    for (a, b) in xs.iter().zip(w.iter()).rev().skip(1) {
        s += a * b;
    }
    for &v in (w.iter().step_by(2)).rev() {
        s *= 1.0 + 0.1 * v;
    }
    s
}

#[differentiate]
fn adapted_reductions(xs: &[f64]) -> f64 {
    let head: f64 = xs.iter().take(2).map(|x| x * x).sum();
    let tail = xs.iter().skip(1).rev().fold(0.0, |acc, x| acc * 0.5 + x);
    let odd: f64 = xs.iter().step_by(2).product();
    head + tail + odd
}

#[test]
fn position_adapters() {
    let w5 = |p: &[f64]| -> [f64; 5] { p.try_into().unwrap() };
    check_fn(
        "adapted_loops",
        &[0.3, -0.5, 0.8, 0.1, 0.6, 1.0, 2.0, -1.5, 0.5, 0.7],
        &|p| vec![adapted_loops(&p[..5], w5(&p[5..]))],
        &|p, t| {
            let (y, d) = adapted_loops_jvp(&p[..5], w5(&p[5..]), &t[..5], w5(&t[5..]));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = adapted_loops_vjp(&p[..5], w5(&p[5..]));
            let (gx, gw) = pb(c[0]);
            (vec![y], [gx, gw.to_vec()].concat())
        },
    );
    check_grad(
        "adapted_loops (grad)",
        &[0.3, -0.5, 0.8, 0.1, 0.6, 1.0, 2.0, -1.5, 0.5, 0.7],
        &|p| adapted_loops(&p[..5], w5(&p[5..])),
        &|p| {
            let (y, (gx, gw)) = adapted_loops_grad(&p[..5], w5(&p[5..]));
            (y, [gx, gw.to_vec()].concat())
        },
    );
    // A shorter slice than `w`: `zip` stops at the shorter, `take` at the end.
    check_grad(
        "adapted_loops (short)",
        &[0.3, -0.5, 1.0, 2.0, -1.5, 0.5, 0.7],
        &|p| adapted_loops(&p[..2], w5(&p[2..])),
        &|p| {
            let (y, (gx, gw)) = adapted_loops_grad(&p[..2], w5(&p[2..]));
            (y, [gx, gw.to_vec()].concat())
        },
    );
    check_fn(
        "adapted_reductions",
        &[0.3, -0.5, 0.8, 0.1, 0.6],
        &|p| vec![adapted_reductions(p)],
        &|p, t| {
            let (y, d) = adapted_reductions_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = adapted_reductions_vjp(p);
            (vec![y], pb(c[0]))
        },
    );
    check_grad(
        "adapted_reductions (grad)",
        &[0.3, -0.5, 0.8, 0.1, 0.6, 0.9],
        &|p| adapted_reductions(p),
        &|p| adapted_reductions_grad(p),
    );
}

// ---------------------------------------------------------------- filter

#[differentiate]
fn filtered(xs: &[f64], w: [f64; 4], t: f64) -> f64 {
    let mut s = 0.0;
    for &x in xs.iter().filter(|v| **v > 0.0) {
        s += x * x * t;
    }
    for (i, x) in xs.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        s += x.sin() * (i as f64);
    }
    // The predicate reads an active parameter: it only decides.
    let pos: f64 = xs
        .iter()
        .zip(w.iter())
        .filter(|(a, _)| **a < t)
        .map(|(a, b)| a * b)
        .sum();
    let big = xs
        .iter()
        .copied()
        .filter(|v| v.abs() > 0.2)
        .fold(1.0, |acc, v| acc * v);
    s + pos + big
}

#[differentiate(wrt(x))]
fn filtered_passive(x: f64, data: &[f64]) -> f64 {
    let mut s = 0.0;
    for &d in data.iter().filter(|d| **d >= 0.0).filter(|d| **d < 2.0) {
        s += (x - d).powi(2);
    }
    s
}

#[test]
fn filters() {
    let w4 = |p: &[f64]| -> [f64; 4] { p.try_into().unwrap() };
    let p0 = [0.3, -0.5, 0.8, 0.1, 0.6, 1.0, 2.0, -1.5, 0.5, 0.45];
    check_fn(
        "filtered",
        &p0,
        &|p| vec![filtered(&p[..5], w4(&p[5..9]), p[9])],
        &|p, t| {
            let (y, d) = filtered_jvp(&p[..5], w4(&p[5..9]), p[9], &t[..5], w4(&t[5..9]), t[9]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = filtered_vjp(&p[..5], w4(&p[5..9]), p[9]);
            let (gx, gw, gt) = pb(c[0]);
            (vec![y], [gx, gw.to_vec(), vec![gt]].concat())
        },
    );
    check_grad(
        "filtered (grad)",
        &p0,
        &|p| filtered(&p[..5], w4(&p[5..9]), p[9]),
        &|p| {
            let (y, (gx, gw, gt)) = filtered_grad(&p[..5], w4(&p[5..9]), p[9]);
            (y, [gx, gw.to_vec(), vec![gt]].concat())
        },
    );
    let data = [0.5, -1.0, 1.5, 2.5, 0.0];
    check_grad(
        "filtered_passive",
        &[0.7],
        &|p| filtered_passive(p[0], &data),
        &|p| {
            let (y, g) = filtered_passive_grad(p[0], &data);
            (y, vec![g])
        },
    );
    // Against the loop written by hand.
    let (y, _) = filtered_passive_grad(0.7, &data);
    let want: f64 = [0.5f64, 1.5, 0.0].iter().map(|d| (0.7 - d).powi(2)).sum();
    assert!((y - want).abs() < 1e-15);
}

// ---------------------------------------------------------------- reductions

#[differentiate]
fn norm_sq(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * x).sum::<f64>()
}

#[differentiate]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[differentiate]
fn prod_plus_sum(a: [f64; 3]) -> f64 {
    a.iter().product::<f64>() + a.iter().sum::<f64>()
}

#[differentiate]
fn max_and_fold(a: &[f64]) -> f64 {
    a.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        + a.iter().fold(0.0, |acc, &v| acc + v.sin())
}

#[differentiate]
fn weighted_by_position(x: &[f64]) -> f64 {
    x.iter()
        .enumerate()
        .map(|(i, &v)| (i as f64 + 1.0) * v * v)
        .sum::<f64>()
}

#[differentiate(wrt(w))]
fn mean_squared_error(w: &[f64], data: &[f64]) -> f64 {
    data.iter()
        .map(|d| (w[0] * d + w[1] - 1.0).powi(2))
        .sum::<f64>()
        / data.len() as f64
}

#[differentiate]
fn generic_norm<F: Float>(a: &[F]) -> F {
    a.iter().fold(F::zero(), |s, &v| s + v * v).sqrt()
}

#[test]
fn iterator_reductions() {
    let xs = [0.3, -0.5, 0.8, 0.1];
    let grad1 = |name: &str, f: &dyn Fn(&[f64]) -> f64, g: &dyn Fn(&[f64]) -> (f64, Vec<f64>)| {
        check_grad(name, &xs, f, g);
    };
    grad1("norm_sq", &|p| norm_sq(p), &|p| norm_sq_grad(p));
    grad1("max_and_fold", &|p| max_and_fold(p), &|p| {
        max_and_fold_grad(p)
    });
    grad1("weighted_by_position", &|p| weighted_by_position(p), &|p| {
        weighted_by_position_grad(p)
    });
    grad1("generic_norm", &|p| generic_norm(p), &|p| {
        generic_norm_grad(p)
    });
    check_fn(
        "norm_sq",
        &xs,
        &|p| vec![norm_sq(p)],
        &|p, t| {
            let (y, d) = norm_sq_jvp(p, t);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = norm_sq_vjp(p);
            (vec![y], vjp1(pb, c[0]))
        },
    );
    check_grad(
        "dot",
        &[0.3, -0.5, 0.8, 1.0, 2.0, 3.0],
        &|p| dot(&p[..3], &p[3..]),
        &|p| {
            let (y, (ga, gb)) = dot_grad(&p[..3], &p[3..]);
            (y, [ga, gb].concat())
        },
    );
    check_grad(
        "prod_plus_sum",
        &[0.3, 0.5, 0.7],
        &|p| prod_plus_sum([p[0], p[1], p[2]]),
        &|p| {
            let (y, g) = prod_plus_sum_grad([p[0], p[1], p[2]]);
            (y, g.to_vec())
        },
    );
    check_grad(
        "mean_squared_error",
        &[0.5, 0.1],
        &|p| mean_squared_error(p, &xs),
        &|p| mean_squared_error_grad(p, &xs),
    );
}
