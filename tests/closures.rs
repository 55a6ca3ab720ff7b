//! Closures in differentiated bodies: bound by `let`, called later, capturing active values and
//! parameters, mutating captured state, given to iterator adapters. They are inlined where they
//! are used (`autodiff-macros/src/front/inline.rs`); each case is checked in both modes against
//! finite differences and the dot-product test.
#![deny(warnings)]
#![allow(clippy::type_complexity)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

#[differentiate]
fn called(x: f64, y: f64) -> f64 {
    let sq = |v: f64| v * v;
    let scaled = |v: f64, k: f64| k * v.sin() + y;
    sq(x) + sq(2.0 * x * y) + scaled(sq(y), x)
}

#[differentiate]
fn capturing(a: f64, b: [f64; 3]) -> f64 {
    let c = a * 0.5;
    let f = |t: f64| t * c + a;
    let g = |i: usize| f(b[i]) * b[(i + 1) % 3];
    let mut s = 0.0;
    for i in 0..3 {
        s += g(i);
    }
    s
}

#[differentiate]
fn mutating(xs: &[f64]) -> f64 {
    let mut acc = 0.0;
    let mut add = |v: f64| acc += v * v;
    for i in 0..xs.len() {
        add(xs[i]);
        add(xs[i] * 0.5);
    }
    acc
}

#[differentiate]
fn adapters(xs: &[f64], w: f64) -> f64 {
    let weight = |v: &f64| v * w;
    let keep = |v: &&f64| **v > -0.4;
    let total: f64 = xs.iter().filter(keep).map(weight).sum();
    let pair = |(a, b): (f64, f64)| a * b;
    total + pair((xs[0], w)) + xs.iter().fold(0.0, |m, v| m * 0.5 + v)
}

fn vjp1<T>(pb: impl FnOnce(f64) -> T, c: f64) -> T {
    pb(c)
}

#[test]
fn closures_in_bodies() {
    check_fn(
        "called",
        &[0.4, -0.7],
        &|p| vec![called(p[0], p[1])],
        &|p, t| {
            let (y, d) = called_jvp(p[0], p[1], t[0], t[1]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = called_vjp(p[0], p[1]);
            let (ga, gb) = vjp1(pb, c[0]);
            (vec![y], vec![ga, gb])
        },
    );
    let b3 = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    check_fn(
        "capturing",
        &[0.4, 0.3, -0.2, 0.9],
        &|p| vec![capturing(p[0], b3(&p[1..]))],
        &|p, t| {
            let (y, d) = capturing_jvp(p[0], b3(&p[1..]), t[0], b3(&t[1..]));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = capturing_vjp(p[0], b3(&p[1..]));
            let (ga, gb) = vjp1(pb, c[0]);
            (vec![y], [vec![ga], gb.to_vec()].concat())
        },
    );
    check_grad("mutating", &[0.4, 0.3, -0.2], &|p| mutating(p), &|p| {
        mutating_grad(p)
    });
    let want: f64 = [0.4f64, 0.3, -0.2].iter().map(|v| 1.25 * v * v).sum();
    assert!((mutating(&[0.4, 0.3, -0.2]) - want).abs() < 1e-15);
    check_fn(
        "adapters",
        &[0.4, -0.5, 0.8, 0.1, 1.5],
        &|p| vec![adapters(&p[..4], p[4])],
        &|p, t| {
            let (y, d) = adapters_jvp(&p[..4], p[4], &t[..4], t[4]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = adapters_vjp(&p[..4], p[4]);
            let (gx, gw) = vjp1(pb, c[0]);
            (vec![y], [gx, vec![gw]].concat())
        },
    );
}
