//! Loops and reductions over `windows(k)`, `chunks(k)` and `chunks_exact(k)` of arrays, slices
//! and `Vec`s, as users write Rosenbrock or a strided sum: the index loops a hand rewrite gives
//! (`w[j]` is `xs[s + j]`, `front/desugar.rs`). Each checked in both modes against finite
//! differences, the dot-product test, and the index-loop version of the same function.
// Tests write what API.md's table lists (`&Vec<F>` parameters).
#![allow(clippy::ptr_arg, clippy::unnecessary_to_owned)]
#![deny(warnings)]
#![allow(dead_code)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

/// Rosenbrock as it is usually written.
#[differentiate]
fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

#[differentiate]
fn rosenbrock_indexed(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

/// A `for` loop over enumerated windows of a `Vec`, with `w.len()` and a labelled `break`.
#[differentiate]
fn path_length(p: &Vec<f64>, limit: usize) -> f64 {
    let mut total = 0.0;
    'walk: for (i, w) in p.windows(3).enumerate() {
        if i >= limit {
            break 'walk;
        }
        let mut seg = 0.0;
        for j in 1..w.len() {
            seg += (w[j] - w[j - 1]).abs() * (j as f64);
        }
        total += seg * w[0].cos();
    }
    total
}

/// Chunks of an array: exact ones and a shorter last one.
#[differentiate]
fn chunked(x: [f64; 7]) -> (f64, f64) {
    let mut exact = 0.0;
    for c in x.chunks_exact(3) {
        exact += c[0] * c[1] - c[2];
    }
    let ragged: f64 = x
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                c[0] * c[1]
            } else {
                c[0].sin()
            }
        })
        .sum();
    (exact, ragged)
}

fn vjp1(pb: impl FnOnce(f64) -> Vec<f64>, c: f64) -> Vec<f64> {
    pb(c)
}

#[test]
fn windows_and_chunks_in_both_modes() {
    let x = [0.3, -0.8, 1.1, 0.4, -0.2, 0.9];
    check_grad("rosenbrock", &x, &|p| rosenbrock(p), &|p| {
        rosenbrock_grad(p)
    });
    // The index loop's numbers (to rounding: the reduction adds in another order).
    let t = [1.0, 0.5, -0.5, 0.25, 2.0, -1.0];
    let ((y, g), (yi, gi)) = (rosenbrock_grad(&x), rosenbrock_indexed_grad(&x));
    assert_eq!(y, yi);
    common::assert_close_vec("rosenbrock against the index loop", &g, &gi, 1e-14, 1e-14);
    assert_eq!(rosenbrock_jvp(&x, &t), rosenbrock_indexed_jvp(&x, &t));
    // Fewer elements than a window: no windows.
    assert_eq!(rosenbrock_grad(&[0.5]), (0.0, vec![0.0]));
    for limit in [0, 2, 10] {
        check_fn(
            "path_length",
            &x,
            &|p| vec![path_length(&p.to_vec(), limit)],
            &|p, t| {
                let (y, d) = path_length_jvp(&p.to_vec(), limit, &t.to_vec());
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = path_length_vjp(&p.to_vec(), limit);
                (vec![y], vjp1(pb, c[0]))
            },
        );
    }
    let a7 = |p: &[f64]| -> [f64; 7] { p.try_into().unwrap() };
    check_fn(
        "chunked",
        &[0.3, -0.8, 1.1, 0.4, -0.2, 0.9, 0.6],
        &|p| {
            let (a, b) = chunked(a7(p));
            vec![a, b]
        },
        &|p, t| {
            let ((a, b), (da, db)) = chunked_jvp(a7(p), a7(t));
            (vec![a, b], vec![da, db])
        },
        &|p, c| {
            let ((a, b), pb) = chunked_vjp(a7(p));
            (vec![a, b], pb((c[0], c[1])).to_vec())
        },
    );
}
