//! Iterator chains beyond one `map` and a reduction (`front/iterators.rs`): several `map`s, a
//! `filter` after a `map`, `collect` into a `Vec` of floats, `max_by` / `min_by` / `reduce`
//! unwrapped, `count` / `all` / `any` (passive), and `chain`, each lowered to the loops a hand
//! rewrite gives; checked in both modes against finite differences, the dot-product test and
//! the Jacobian built both ways, and against the user's code run as plain Rust.
#![deny(warnings)]
#![allow(clippy::ptr_arg)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

/// Checks a `fn(&[f64]) -> f64` in all three modes, and its value against `plain` (the same
/// body run by std's iterators).
macro_rules! check_scalar {
    ($f:ident, $jvp:ident, $vjp:ident, $grad:ident, $plain:expr, $x:expr) => {{
        let x: &[f64] = &$x;
        let plain: &dyn Fn(&[f64]) -> f64 = &$plain;
        assert_eq!(
            $f(x),
            plain(x),
            "{}: value differs from std's",
            stringify!($f)
        );
        check_fn(
            stringify!($f),
            x,
            &|p| vec![$f(p)],
            &|p, t| {
                let (y, d) = $jvp(p, t);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p);
                (vec![y], pb(c[0]))
            },
        );
        check_grad(stringify!($f), x, &|p| $f(p), &|p| $grad(p));
    }};
}

const XS: [f64; 6] = [0.3, -0.5, 0.8, 0.1, 0.65, -0.2];

// ---------------------------------------------------------------- several maps, map then filter

#[differentiate]
fn two_maps(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * 2.0).map(|y| y.sin()).sum::<f64>()
}

fn two_maps_plain(xs: &[f64]) -> f64 {
    xs.iter().map(|x| x * 2.0).map(|y| y.sin()).sum::<f64>()
}

#[differentiate]
fn map_filter_map(xs: &[f64]) -> f64 {
    let s: f64 = xs
        .iter()
        .map(|x| x * x + 0.01)
        .filter(|y| *y > 0.03)
        .map(|y| y.ln())
        .sum();
    let p: f64 = xs
        .iter()
        .enumerate()
        .map(|(i, x)| x * (i as f64 + 1.0))
        .map(|v| 1.0 + 0.1 * v)
        .product();
    let f = xs
        .iter()
        .zip(xs.iter())
        .rev()
        .skip(1)
        .map(|(a, b)| a * b - 0.3)
        .map(|d| d * d)
        .fold(0.0, |acc, d| acc * 0.5 + d);
    s + p + f
}

fn map_filter_map_plain(xs: &[f64]) -> f64 {
    let s: f64 = xs
        .iter()
        .map(|x| x * x + 0.01)
        .filter(|y| *y > 0.03)
        .map(|y| y.ln())
        .sum();
    let p: f64 = xs
        .iter()
        .enumerate()
        .map(|(i, x)| x * (i as f64 + 1.0))
        .map(|v| 1.0 + 0.1 * v)
        .product();
    let f = xs
        .iter()
        .zip(xs.iter())
        .rev()
        .skip(1)
        .map(|(a, b)| a * b - 0.3)
        .map(|d| d * d)
        .fold(0.0, |acc, d| acc * 0.5 + d);
    s + p + f
}

#[test]
fn several_maps() {
    check_scalar!(
        two_maps,
        two_maps_jvp,
        two_maps_vjp,
        two_maps_grad,
        two_maps_plain,
        XS
    );
    check_scalar!(
        map_filter_map,
        map_filter_map_jvp,
        map_filter_map_vjp,
        map_filter_map_grad,
        map_filter_map_plain,
        XS
    );
}

// ---------------------------------------------------------------- collect

#[differentiate]
fn collected(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().map(|x| x.exp()).collect();
    let w = xs
        .iter()
        .map(|x| x * 3.0)
        .filter(|y| *y > 0.0)
        .collect::<Vec<_>>();
    let c: Vec<f64> = xs.iter().copied().filter(|x| *x < 0.5).collect();
    let mut s = v[0] * v[v.len() - 1] + v[2];
    for (i, y) in w.iter().enumerate() {
        s += y * y * (i as f64 + 1.0);
    }
    s + c[c.len() - 1] * w.len() as f64
}

fn collected_plain(xs: &[f64]) -> f64 {
    let v: Vec<f64> = xs.iter().map(|x| x.exp()).collect();
    let w = xs
        .iter()
        .map(|x| x * 3.0)
        .filter(|y| *y > 0.0)
        .collect::<Vec<_>>();
    let c: Vec<f64> = xs.iter().copied().filter(|x| *x < 0.5).collect();
    let mut s = v[0] * v[v.len() - 1] + v[2];
    for (i, y) in w.iter().enumerate() {
        s += y * y * (i as f64 + 1.0);
    }
    s + c[c.len() - 1] * w.len() as f64
}

/// A `Vec` output built by `collect`.
#[differentiate]
fn scaled(xs: &[f64], k: f64) -> Vec<f64> {
    xs.iter()
        .zip(xs.iter())
        .skip(1)
        .map(|(a, b)| a * b)
        .map(|p| p * k)
        .collect::<Vec<f64>>()
}

#[test]
fn collect() {
    check_scalar!(
        collected,
        collected_jvp,
        collected_vjp,
        collected_grad,
        collected_plain,
        XS
    );
    let x = [0.3, -0.5, 0.8, 0.1, 1.5];
    assert_eq!(scaled(&x[..4], 1.5).len(), 3);
    check_fn(
        "scaled",
        &x,
        &|p| scaled(&p[..4], p[4]),
        &|p, t| scaled_jvp(&p[..4], p[4], &t[..4], t[4]),
        &|p, c| {
            let (y, pb) = scaled_vjp(&p[..4], p[4]);
            let (gx, gk) = pb(c.to_vec());
            (y, [gx, vec![gk]].concat())
        },
    );
}

// ---------------------------------------------------------------- max_by, min_by, reduce

#[differentiate]
fn extremes(xs: &[f64]) -> f64 {
    let hi = xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
    let lo = xs
        .iter()
        .map(|x| x.sin())
        .min_by(|a, b| a.total_cmp(b))
        .expect("not empty");
    let r = xs.iter().copied().reduce(f64::max).unwrap();
    let t = xs.iter().map(|x| x * x).reduce(|a, b| a + b).unwrap();
    let m = xs.iter().copied().fold(f64::INFINITY, f64::min);
    hi * 2.0 + lo + r * t + m
}

fn extremes_plain(xs: &[f64]) -> f64 {
    let hi = xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
    let lo = xs
        .iter()
        .map(|x| x.sin())
        .min_by(|a, b| a.total_cmp(b))
        .expect("not empty");
    let r = xs.iter().copied().reduce(f64::max).unwrap();
    let t = xs.iter().map(|x| x * x).reduce(|a, b| a + b).unwrap();
    let m = xs.iter().copied().fold(f64::INFINITY, f64::min);
    hi * 2.0 + lo + r * t + m
}

/// Equal extremes: `max_by` keeps the last, `min_by` the first (the derivative goes there).
#[differentiate]
fn tie_max(xs: &[f64]) -> f64 {
    xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiate]
fn tie_min(xs: &[f64]) -> f64 {
    xs.iter().copied().min_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiate]
fn empty_max(xs: &[f64]) -> f64 {
    xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap()
}

#[differentiate]
fn empty_reduce(xs: &[f64]) -> f64 {
    xs.iter()
        .map(|x| x * 2.0)
        .reduce(|a, b| a * b)
        .expect("an empty product")
}

#[test]
fn running_values() {
    check_scalar!(
        extremes,
        extremes_jvp,
        extremes_vjp,
        extremes_grad,
        extremes_plain,
        XS
    );
    let x = [1.0, 3.0, -2.0, 3.0, 0.5, -2.0];
    assert_eq!((tie_max(&x), tie_min(&x)), (3.0, -2.0));
    assert_eq!(tie_max_grad(&x), (3.0, vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]));
    assert_eq!(tie_min_grad(&x), (-2.0, vec![0.0, 0.0, 1.0, 0.0, 0.0, 0.0]));
    let (_, pb) = tie_max_vjp(&x);
    assert_eq!(pb(1.0), vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    assert_eq!(
        tie_min_jvp(&x, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        (-2.0, 3.0)
    );
    // Signed zeros: `total_cmp` orders -0.0 below 0.0.
    assert_eq!(tie_max_grad(&[0.0, -0.0]).1, vec![1.0, 0.0]);
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let e = std::panic::catch_unwind(f).expect_err("a panic");
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn empty_sources_panic_as_std() {
    let std_msg = panic_message(|| {
        let v: Vec<f64> = Vec::new();
        let _ = v.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
    });
    assert_eq!(
        panic_message(|| {
            let _ = empty_max(&[]);
        }),
        std_msg
    );
    assert_eq!(
        panic_message(|| {
            let _ = empty_max_grad(&[]);
        }),
        std_msg
    );
    assert_eq!(
        panic_message(|| {
            let _ = empty_max_jvp(&[], &[]);
        }),
        std_msg
    );
    assert_eq!(
        panic_message(|| {
            let _ = empty_reduce_vjp(&[]).0;
        }),
        "an empty product"
    );
    assert_eq!(empty_reduce(&[0.5, 3.0]), 6.0);
}

// ---------------------------------------------------------------- count, all, any (passive)

#[differentiate]
fn counted(xs: &[f64], t: f64) -> f64 {
    let n = xs.iter().filter(|v| **v > t).count();
    let m = xs.iter().map(|v| v * t).filter(|w| *w < 0.1).count();
    let all = xs.iter().all(|v| v.abs() < 10.0 * t);
    let any = xs.iter().copied().any(|v| v > 0.7);
    let s: f64 = xs.iter().map(|v| v * t).sum();
    let mut r = s * n as f64 + (m as f64) * t;
    if all {
        r += t * t;
    }
    if any {
        r *= 2.0;
    }
    r
}

fn counted_plain(p: &[f64]) -> f64 {
    let (xs, t) = (&p[..p.len() - 1], p[p.len() - 1]);
    let n = xs.iter().filter(|v| **v > t).count();
    let m = xs.iter().map(|v| v * t).filter(|w| *w < 0.1).count();
    let all = xs.iter().all(|v| v.abs() < 10.0 * t);
    let any = xs.iter().copied().any(|v| v > 0.7);
    let s: f64 = xs.iter().map(|v| v * t).sum();
    let mut r = s * n as f64 + (m as f64) * t;
    if all {
        r += t * t;
    }
    if any {
        r *= 2.0;
    }
    r
}

#[test]
fn counts_and_truths() {
    let split = |p: &[f64]| (p[..p.len() - 1].to_vec(), p[p.len() - 1]);
    let p = [0.3, -0.5, 0.8, 0.1, 0.65, -0.2, 0.45];
    assert_eq!(counted(&p[..6], p[6]), counted_plain(&p));
    check_fn(
        "counted",
        &p,
        &|p| {
            let (x, t) = split(p);
            vec![counted(&x, t)]
        },
        &|p, d| {
            let ((x, t), (dx, dt)) = (split(p), split(d));
            let (y, dy) = counted_jvp(&x, t, &dx, dt);
            (vec![y], vec![dy])
        },
        &|p, c| {
            let (x, t) = split(p);
            let (y, pb) = counted_vjp(&x, t);
            let (gx, gt) = pb(c[0]);
            (vec![y], [gx, vec![gt]].concat())
        },
    );
}

// ---------------------------------------------------------------- chain

#[differentiate]
fn chained(a: &[f64], b: [f64; 3]) -> f64 {
    let s: f64 = a.iter().chain(b.iter()).map(|v| v * v).sum();
    let p: f64 = a.iter().chain(&b).product();
    let hi = a
        .iter()
        .copied()
        .chain(b.iter().copied())
        .max_by(|x, y| x.total_cmp(y))
        .unwrap();
    let v: Vec<f64> = b.iter().chain(a.iter()).map(|x| x.sin()).collect();
    let mut t = 0.0;
    for &x in a.iter().chain(b.iter()) {
        t = t * 0.5 + x;
    }
    for x in a.iter().chain(b.iter()).filter(|x| **x > 0.0) {
        t += x.exp();
    }
    s + p + hi + v[0] * v[v.len() - 1] + t
}

fn chained_plain(p: &[f64]) -> f64 {
    let (a, b) = (
        &p[..p.len() - 3],
        [p[p.len() - 3], p[p.len() - 2], p[p.len() - 1]],
    );
    let s: f64 = a.iter().chain(b.iter()).map(|v| v * v).sum();
    let pr: f64 = a.iter().chain(&b).product();
    let hi = a
        .iter()
        .copied()
        .chain(b.iter().copied())
        .max_by(|x, y| x.total_cmp(y))
        .unwrap();
    let v: Vec<f64> = b.iter().chain(a.iter()).map(|x| x.sin()).collect();
    let mut t = 0.0;
    for &x in a.iter().chain(b.iter()) {
        t = t * 0.5 + x;
    }
    for x in a.iter().chain(b.iter()).filter(|x| **x > 0.0) {
        t += x.exp();
    }
    s + pr + hi + v[0] * v[v.len() - 1] + t
}

#[test]
fn chains() {
    let b3 = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    let p = [0.3, -0.5, 0.8, 0.1, 0.65, -0.2, 0.45];
    assert_eq!(chained(&p[..4], b3(&p[4..])), chained_plain(&p));
    check_fn(
        "chained",
        &p,
        &|p| vec![chained(&p[..4], b3(&p[4..]))],
        &|p, d| {
            let (y, dy) = chained_jvp(&p[..4], b3(&p[4..]), &d[..4], b3(&d[4..]));
            (vec![y], vec![dy])
        },
        &|p, c| {
            let (y, pb) = chained_vjp(&p[..4], b3(&p[4..]));
            let (ga, gb) = pb(c[0]);
            (vec![y], [ga, gb.to_vec()].concat())
        },
    );
    check_grad("chained", &p, &|p| chained(&p[..4], b3(&p[4..])), &|p| {
        let (y, (ga, gb)) = chained_grad(&p[..4], b3(&p[4..]));
        (y, [ga, gb.to_vec()].concat())
    });
}

// ---------------------------------------------------------------- generic floats

/// In a function generic over `F: Float`: the running value starts from `F::zero()`.
#[differentiate]
fn generic_chains<F: Float>(xs: &Vec<F>) -> F {
    let hi = xs
        .iter()
        .copied()
        .max_by(|a, b| a.partial_cmp(b).unwrap())
        .unwrap();
    let t = xs.iter().map(|x| *x * *x).reduce(|a, b| a + b).unwrap();
    let v: Vec<F> = xs.iter().map(|x| x.sin()).map(|s| s * s).collect();
    hi * t + v[0]
}

#[test]
fn generic_floats() {
    let plain = |xs: &[f64]| {
        let hi = xs.iter().copied().max_by(|a, b| a.total_cmp(b)).unwrap();
        let t = xs.iter().map(|x| *x * *x).reduce(|a, b| a + b).unwrap();
        hi * t + xs[0].sin() * xs[0].sin()
    };
    assert_eq!(generic_chains(&XS.to_vec()), plain(&XS));
    check_grad(
        "generic_chains",
        &XS,
        &|p| generic_chains(&p.to_vec()),
        &|p| generic_chains_grad(&p.to_vec()),
    );
    let (y32, g32) = generic_chains_grad(&vec![0.5f32, -0.25, 0.75]);
    assert!((y32 - generic_chains(&vec![0.5f32, -0.25, 0.75])).abs() == 0.0 && g32.len() == 3);
}
