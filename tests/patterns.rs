//! `if let`, `while let` and `let ... else` on passive `Option`s and enums, with payloads used in
//! active arithmetic; they are the `match`es they stand for (`front/desugar.rs`). Each checked
//! in both modes against finite differences and the dot-product test.
#![deny(warnings)]
#![allow(dead_code)]
// `while let Some(..) = it.next()` is the construct under test, as users write it.
#![allow(clippy::while_let_on_iterator)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

#[derive(Clone, Copy)]
pub enum Shape {
    Circle { r: f64 },
    Square(f64),
    Point,
}

#[differentiate(wrt(x))]
fn shaped(x: f64, s: Shape, scale: Option<f64>) -> f64 {
    let mut y = x;
    if let Shape::Circle { r } = s {
        y = y * r * x;
    } else if let Shape::Square(a) = s {
        y += a * x.sin();
    } else {
        y -= 1.0;
    }
    let k = if let Some(c) = scale { c * x } else { x * x };
    y + k
}

#[differentiate(wrt(x))]
fn drain(x: [f64; 3], steps: &[usize]) -> f64 {
    let mut it = steps.iter();
    let mut acc = 0.0;
    'outer: while let Some(&i) = it.next() {
        if i > 2 {
            continue 'outer;
        }
        acc = acc * 0.5 + x[i] * x[i];
    }
    acc
}

#[differentiate(wrt(x))]
fn first_or(x: f64, o: Option<f64>, pair: Option<(f64, usize)>) -> f64 {
    let Some(mut c) = o else {
        return x * 2.0;
    };
    c += 1.0;
    let Some((w, n)) = pair else { return c * x };
    c * x * w + (n as f64) * x.cos()
}

// What were the ui cases of these constructs while they were refused.
#[differentiate]
fn scaled_by(x: f64, o: Option<usize>) -> f64 {
    if let Some(k) = o { x * k as f64 } else { x }
}

#[differentiate]
fn scaled_else(x: f64, o: Option<usize>) -> f64 {
    let Some(k) = o else {
        return x;
    };
    x * k as f64
}

#[differentiate]
fn product_of_gets(x: f64, v: &[usize]) -> f64 {
    let mut s = x;
    let mut i = 0;
    while let Some(k) = v.get(i) {
        s *= *k as f64;
        i += 1;
    }
    s
}

// The expansion snapshot `patterns.rs`.
#[differentiate(wrt(x))]
fn patterns(x: f64, o: Option<f64>, steps: &[usize]) -> f64 {
    let Some(c) = o else {
        return x * 2.0;
    };
    let mut it = steps.iter();
    let mut acc = if let Some(&k) = steps.first() {
        x * k as f64
    } else {
        x
    };
    while let Some(&i) = it.next() {
        acc = acc * 0.5 + c * i as f64;
    }
    acc * x
}

#[test]
fn if_let_while_let_let_else() {
    for (s, scale) in [
        (Shape::Circle { r: 1.5 }, Some(0.5)),
        (Shape::Square(2.0), None),
        (Shape::Point, Some(-1.0)),
    ] {
        check_grad("shaped", &[0.7], &|p| shaped(p[0], s, scale), &|p| {
            let (y, g) = shaped_grad(p[0], s, scale);
            (y, vec![g])
        });
    }
    let steps = [0usize, 2, 5, 1, 2];
    let a3 = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    check_fn(
        "drain",
        &[0.3, -0.5, 0.8],
        &|p| vec![drain(a3(p), &steps)],
        &|p, t| {
            let (y, d) = drain_jvp(a3(p), &steps, a3(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = drain_vjp(a3(p), &steps);
            (vec![y], pb(c[0]).to_vec())
        },
    );
    for (o, pair) in [(None, None), (Some(0.5), None), (Some(0.5), Some((1.5, 2)))] {
        check_grad("first_or", &[0.7], &|p| first_or(p[0], o, pair), &|p| {
            let (y, g) = first_or_grad(p[0], o, pair);
            (y, vec![g])
        });
    }
    for o in [None, Some(3usize)] {
        let k = o.map_or(1.0, |k| k as f64);
        assert_eq!(scaled_by_grad(0.5, o), (0.5 * k, k));
        assert_eq!(scaled_else_grad(0.5, o), (0.5 * k, k));
    }
    let v = vec![2usize, 3, 4];
    assert_eq!(product_of_gets_grad(0.5, &v), (12.0, 24.0));
    let (y, d) = product_of_gets_jvp(0.5, &v, 1.0);
    assert_eq!((y, d), (12.0, 24.0));
    for o in [None, Some(0.3)] {
        check_grad("patterns", &[0.7], &|p| patterns(p[0], o, &steps), &|p| {
            let (y, g) = patterns_grad(p[0], o, &steps);
            (y, vec![g])
        });
    }
}
