//! Destructuring `let`s of arrays, structs, tuple structs and tuples on active values: the
//! `let`s of their parts (`front/desugar.rs`). Each checked in both modes against finite
//! differences and the dot-product test.
#![deny(warnings)]
#![allow(dead_code)]

mod common;

use autodiff::prelude::*;
use common::check_fn;

#[derive(Clone, Copy, Differentiable)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Copy, Differentiable)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
    pub w: [f64; 2],
}

#[differentiate]
fn shapes(s: Segment, m: [[f64; 2]; 2], t: (f64, f64)) -> f64 {
    let Segment {
        a,
        b: Point { x: bx, y: by },
        w: [w0, _],
    } = s;
    let Point { x, y } = a;
    let [[m00, m01], row] = m;
    let [m10, ..] = row;
    let (t0, t1) = t;
    // A value, computed once.
    let [p, q] = [x * bx + t1, (y - by).sin()];
    let (u, _) = (t0 * m01, m00);
    w0 * p + q * m10 + u + m00 * x
}

#[test]
fn destructuring_in_both_modes() {
    let unpack = |v: &[f64]| {
        (
            Segment {
                a: Point { x: v[0], y: v[1] },
                b: Point { x: v[2], y: v[3] },
                w: [v[4], v[5]],
            },
            [[v[6], v[7]], [v[8], v[9]]],
            (v[10], v[11]),
        )
    };
    let flat = |s: &Segment, m: &[[f64; 2]; 2], t: &(f64, f64)| {
        vec![
            s.a.x, s.a.y, s.b.x, s.b.y, s.w[0], s.w[1], m[0][0], m[0][1], m[1][0], m[1][1], t.0,
            t.1,
        ]
    };
    let x: Vec<f64> = (0..12)
        .map(|i| 0.3 + 0.17 * i as f64 - 0.02 * (i * i) as f64)
        .collect();
    check_fn(
        "shapes",
        &x,
        &|p| {
            let (s, m, t) = unpack(p);
            vec![shapes(s, m, t)]
        },
        &|p, d| {
            let (s, m, t) = unpack(p);
            let (sd, md, td) = unpack(d);
            let (y, dy) = shapes_jvp(s, m, t, &sd, md, &td);
            (vec![y], vec![dy])
        },
        &|p, c| {
            let (s, m, t) = unpack(p);
            let (y, pb) = shapes_vjp(s, m, t);
            let (gs, gm, gt) = pb(c[0]);
            (vec![y], flat(&gs, &gm, &gt))
        },
    );
}
