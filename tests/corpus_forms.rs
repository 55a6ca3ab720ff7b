//! Constructs found by the corpus of naturally written functions (issue 13, "differentiate Rust
//! as people write it"), each as a class: the forms a user writes for it, in both modes,
//! against central finite differences, the dot-product test and the Jacobian built both ways
//! (`tests/common`), with `f64` and a generic `F: Real` where natural. Clippy's style lints that
//! the forms under test trip on purpose (`unwrap_or_else(|| 1.0)`, `vec![..]` locals) are
//! allowed.
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::unnecessary_lazy_evaluations,
    clippy::useless_vec
)]
#![deny(warnings)]

mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad};

const P6: [f64; 6] = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45];

/// Checks `f(x: &[f64]) -> f64` with its `_jvp`, `_vjp` and `_grad` at `x`.
macro_rules! check_slice {
    ($f:ident, $jvp:ident, $vjp:ident, $grad:ident, $x:expr) => {{
        let x: &[f64] = &$x;
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

// ------------------------------------------------- running values with a default (class 3)

/// `reduce(f64::max)` and its kin, each taken apart with a default: `unwrap_or(d)` (`d`
/// active or not), `unwrap_or_else(|| d)`, `unwrap_or_default()`; `cloned`, `copied`, a map
/// first, a closure `|a, b| a.max(b)`, `min`.
#[differentiate]
fn peaks(x: &[f64]) -> f64 {
    let m = x.iter().cloned().reduce(f64::max).unwrap_or(0.0);
    let n = x.iter().copied().reduce(f64::min).unwrap_or_default();
    let k = x
        .iter()
        .copied()
        .reduce(|a, b| a.max(b))
        .unwrap_or_else(|| 1.0);
    let j = x.iter().map(|v| v * v).reduce(f64::max).unwrap_or(x[0]);
    let s = x.iter().map(|v| (v - m).exp()).sum::<f64>();
    m * n + k * j + m + s.ln()
}

#[test]
fn reduce_with_defaults() {
    check_slice!(peaks, peaks_jvp, peaks_vjp, peaks_grad, P6);
}

/// The default is taken where the source is empty: the value and derivative of `d`.
#[differentiate]
fn peak_or(x: &[f64], d: f64) -> f64 {
    let m = x.iter().copied().reduce(f64::max).unwrap_or(d * d);
    let k = x
        .iter()
        .filter(|v| **v > 10.0)
        .map(|v| v.sin())
        .reduce(f64::max)
        .unwrap_or_else(|| d.exp());
    let z = x.iter().copied().reduce(f64::min).unwrap_or_default();
    m + k + z
}

#[test]
fn reduce_defaults_of_empty_sources() {
    for x in [&[][..], &[0.4][..], &P6[..]] {
        let n = x.len();
        let f = |p: &[f64]| peak_or(&p[..n], p[n]);
        let mut p = x.to_vec();
        p.push(0.7);
        check_fn(
            "peak_or",
            &p,
            &|p| vec![f(p)],
            &|p, t| {
                let (y, d) = peak_or_jvp(&p[..n], p[n], &t[..n], t[n]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = peak_or_vjp(&p[..n], p[n]);
                let (mut gx, gd) = pb(c[0]);
                gx.push(gd);
                (vec![y], gx)
            },
        );
    }
}

/// Generic floats: `F::max` and `F::min` with defaults.
#[differentiate]
fn peak_generic<F: Real>(x: &[F]) -> F {
    let m = x.iter().cloned().reduce(F::max).unwrap_or(F::zero());
    let n = x.iter().copied().reduce(F::min).unwrap_or(m);
    m * n + m
}

#[test]
fn reduce_with_defaults_generic() {
    let x = P6;
    check_slice!(
        peak_generic,
        peak_generic_jvp,
        peak_generic_vjp,
        peak_generic_grad,
        x
    );
}

// ------------------------------------------ references bound to parts of collections (class 2)

/// `let mid = &x[a..b];` with runtime bounds, then iterated (`for v in mid`, `mid.iter()`),
/// indexed, measured; `x[half..]` iterated directly; `split_at`; an alias of an alias; a
/// reference to a whole collection and to a row.
#[differentiate]
fn split_energy(x: &[f64]) -> f64 {
    let half = x.len() / 2;
    let left: f64 = x[..half].iter().map(|v| v * v).sum();
    let right: f64 = x[half..].iter().map(|v| v.exp()).sum();
    let mid = &x[1..x.len() - 1];
    let mut m = 0.0;
    for v in mid {
        m += v.sin() * mid[0];
    }
    for (i, v) in mid.iter().enumerate() {
        m += v * i as f64;
    }
    let (a, b) = x.split_at(half);
    let tail: &[f64] = &b[1..];
    let all = &x;
    let first = a.iter().copied().fold(0.0, |s, v| s * 0.5 + v);
    left * right + m + first * tail.iter().product::<f64>() + all[all.len() - 1] * mid.len() as f64
}

#[test]
fn slices_with_runtime_bounds() {
    check_slice!(
        split_energy,
        split_energy_jvp,
        split_energy_vjp,
        split_energy_grad,
        P6
    );
}

/// The bounds are evaluated where the reference was made: a later change of the variables they
/// were computed from does not move the slice.
#[differentiate]
fn frozen_bounds(x: &[f64]) -> f64 {
    let mut k = 1;
    let w = &x[k..k + 3];
    k += 2;
    let mut s = 0.0;
    for v in w.iter() {
        s = s * v + x[k];
    }
    s
}

#[test]
fn slice_bounds_are_frozen() {
    check_slice!(
        frozen_bounds,
        frozen_bounds_jvp,
        frozen_bounds_vjp,
        frozen_bounds_grad,
        P6
    );
}

/// Rows of a nested array and of a slice of `Vec`s bound by reference, generic floats.
#[differentiate]
fn rows_generic<F: Real>(m: &[Vec<F>], x: &[F]) -> F {
    let mut s = F::zero();
    for i in 0..m.len() {
        let row = &m[i];
        let part = &row[1..];
        s = s + row[0] * x[i] + part.iter().fold(F::zero(), |a, v| a + *v * *v);
    }
    s
}

#[test]
fn row_references_generic() {
    let rows = |p: &[f64]| vec![p[..3].to_vec(), p[3..6].to_vec()];
    let f = |p: &[f64]| rows_generic(&rows(p), &p[6..]);
    check_fn(
        "rows_generic",
        &[0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.2, -0.9],
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = rows_generic_jvp(&rows(p), &p[6..], &rows(t), &t[6..]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = rows_generic_vjp(&rows(p), &p[6..]);
            let (gm, gx) = pb(c[0]);
            let mut g = gm.concat();
            g.extend(gx);
            (vec![y], g)
        },
    );
}

// ------------------------------------------------------------- `[T; N]::map` (class 1)

/// `x.map(|v| ..)` on active arrays: of a parameter, of a map's value, of rows (taken apart by
/// a pattern, or reduced), of an array literal mixing active and passive values, used as an
/// operand directly, typed closure parameters.
#[differentiate]
fn squash(x: [f64; 3], m: [[f64; 2]; 3]) -> f64 {
    let y = x.map(|v| v.tanh());
    let z = y.map(|v: f64| v * v + 1.0);
    let r = m.map(|row| row.iter().sum::<f64>());
    let q = m.map(|[a, b]| a * b);
    let w = [x[0], 2.0, x[1]].map(|v| v.sin());
    let t: [f64; 3] = x.map(|v| {
        let e = v.exp();
        e / (1.0 + e)
    });
    y[0] * y[1] + y[2] + z[1] * r[2] + q[0] * w[0] + w[2] + x.map(|v| v.exp())[1] * t[2]
}

fn x3m32(p: &[f64]) -> ([f64; 3], [[f64; 2]; 3]) {
    (
        [p[0], p[1], p[2]],
        [[p[3], p[4]], [p[5], p[6]], [p[7], p[8]]],
    )
}

#[test]
fn array_maps() {
    let p = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15, 0.6];
    check_fn(
        "squash",
        &p,
        &|p| {
            let (x, m) = x3m32(p);
            vec![squash(x, m)]
        },
        &|p, t| {
            let ((x, m), (dx, dm)) = (x3m32(p), x3m32(t));
            let (y, d) = squash_jvp(x, m, dx, dm);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (x, m) = x3m32(p);
            let (y, pb) = squash_vjp(x, m);
            let (gx, gm) = pb(c[0]);
            let mut g = gx.to_vec();
            g.extend(gm.concat());
            (vec![y], g)
        },
    );
    check_grad(
        "squash",
        &p,
        &|p| {
            let (x, m) = x3m32(p);
            squash(x, m)
        },
        &|p| {
            let (x, m) = x3m32(p);
            let (y, (gx, gm)) = squash_grad(x, m);
            let mut g = gx.to_vec();
            g.extend(gm.concat());
            (y, g)
        },
    );
}

/// An array output made by a map, through a reference parameter, generic floats.
#[differentiate]
fn logistic_all<F: Real>(x: &[F; 3], s: F) -> [F; 3] {
    let e = x.map(|v| (v * s).exp());
    e.map(|v| v / (F::one() + v))
}

#[test]
fn array_map_outputs_generic() {
    let a3 = |p: &[f64]| [p[0], p[1], p[2]];
    check_fn(
        "logistic_all",
        &[0.3, -0.5, 0.8, 1.3],
        &|p| logistic_all(&a3(p), p[3]).to_vec(),
        &|p, t| {
            let (y, d) = logistic_all_jvp(&a3(p), p[3], &a3(t), t[3]);
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (y, pb) = logistic_all_vjp(&a3(p), p[3]);
            let (gx, gs) = pb(a3(c));
            let mut g = gx.to_vec();
            g.push(gs);
            (y.to_vec(), g)
        },
    );
}

#[derive(Clone, Debug, Differentiable)]
struct Weights {
    w: [f64; 3],
}

/// A field's `map`, the result declared as an array.
#[differentiate]
fn field_map(s: &Weights, x: f64) -> f64 {
    let y: [f64; 3] = s.w.map(|v| (v * x).tanh());
    y[0] * y[1] - y[2]
}

#[test]
fn array_map_declared() {
    let mk = |p: &[f64]| Weights {
        w: [p[0], p[1], p[2]],
    };
    check_fn(
        "field_map",
        &[0.3, -0.5, 0.8, 1.3],
        &|p| vec![field_map(&mk(p), p[3])],
        &|p, t| {
            let (y, d) = field_map_jvp(&mk(p), p[3], &mk(t), t[3]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = field_map_vjp(&mk(p), p[3]);
            let (gs, gx) = pb(c[0]);
            let mut g = gs.w.to_vec();
            g.push(gx);
            (vec![y], g)
        },
    );
}

// ------------------------------------------ structs with integer and boolean fields (class 4)

/// A layer with its sizes: integer fields need no annotation; `#[differentiable(skip)]` makes
/// any `Clone` field static. Their tangents and adjoints keep the value.
#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Layer {
    weights: Vec<f64>,
    bias: Vec<f64>,
    inputs: usize,
    relu: bool,
    #[differentiable(skip)]
    name: String,
}

/// Index arithmetic on the sizes (`w[o * layer.inputs + i]`), a size bound by `let`, a size in
/// a range and cast to a float after its use as an index, a `bool` field deciding.
#[differentiate(wrt(layer))]
fn layer_forward(layer: &Layer, x: &[f64]) -> f64 {
    let outputs = layer.bias.len();
    let n = layer.inputs;
    let mut total = 0.0;
    for o in 0..outputs {
        let mut z = layer.bias[o];
        for i in 0..layer.inputs {
            z += layer.weights[o * n + i] * x[i];
        }
        total += if layer.relu { z.max(0.0) } else { z.tanh() };
    }
    total / layer.inputs as f64
}

fn layer_of(p: &[f64], relu: bool) -> Layer {
    Layer {
        weights: p[..6].to_vec(),
        bias: p[6..].to_vec(),
        inputs: 3,
        relu,
        name: "hidden".to_string(),
    }
}

fn layer_flat(l: &Layer) -> Vec<f64> {
    let mut g = l.weights.clone();
    g.extend(&l.bias);
    g
}

#[test]
fn struct_with_integer_fields() {
    let x = [0.4, -0.3, 0.9];
    let p = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15];
    for relu in [false, true] {
        check_fn(
            "layer_forward",
            &p,
            &|p| vec![layer_forward(&layer_of(p, relu), &x)],
            &|p, t| {
                let (y, d) = layer_forward_jvp(&layer_of(p, relu), &x, &layer_of(t, relu));
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = layer_forward_vjp(&layer_of(p, relu), &x);
                let g = pb(c[0]);
                // The adjoint keeps the static fields' values.
                assert_eq!((g.inputs, g.relu, g.name.as_str()), (3, relu, "hidden"));
                (vec![y], layer_flat(&g))
            },
        );
        check_grad(
            "layer_forward",
            &p,
            &|p| layer_forward(&layer_of(p, relu), &x),
            &|p| {
                let (y, g) = layer_forward_grad(&layer_of(p, relu), &x);
                (y, layer_flat(&g))
            },
        );
    }
}

/// Generic floats, a tuple struct with a count, the count used in `step_by`.
#[derive(Clone, Debug, Differentiable)]
struct Strided<F: Real>(Vec<F>, usize);

#[differentiate]
fn strided_sum<F: Real>(s: &Strided<F>) -> F {
    let mut acc = F::zero();
    for i in (0..s.0.len()).step_by(s.1) {
        acc = acc + s.0[i] * s.0[i];
    }
    acc
}

#[test]
fn generic_struct_with_a_count() {
    let p = [0.3, -0.5, 0.8, 0.1, -0.7];
    check_fn(
        "strided_sum",
        &p,
        &|p| vec![strided_sum(&Strided(p.to_vec(), 2))],
        &|p, t| {
            let (y, d) = strided_sum_jvp(&Strided(p.to_vec(), 2), &Strided(t.to_vec(), 2));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = strided_sum_vjp(&Strided(p.to_vec(), 2));
            let g = pb(c[0]);
            assert_eq!(g.1, 2);
            (vec![y], g.0)
        },
    );
}

#[derive(Clone, Debug, Differentiable)]
struct Pt {
    x: f64,
    k: usize,
    on: bool,
}

#[differentiate]
fn make_pt(a: f64, n: usize) -> Pt {
    Pt {
        x: a * a,
        k: n + 1,
        on: true,
    }
}

/// Struct literals with static fields, returned by a call, with `..rest`; a count cast through
/// `stop_gradient`, a count used as a bound.
#[differentiate]
fn use_pts(a: f64, b: f64) -> f64 {
    let p = Pt {
        x: a.sin() * b,
        k: 2,
        on: false,
    };
    let q = make_pt(b, 3);
    let r = Pt { k: 5, ..q };
    let mut s = p.x * q.x * stop_gradient(p.k) as f64;
    for _ in 0..r.k {
        s = s * 0.5 + r.x;
    }
    if q.on { s } else { -s }
}

#[test]
fn struct_literals_with_static_fields() {
    check_fn(
        "use_pts",
        &[0.3, -0.8],
        &|p| vec![use_pts(p[0], p[1])],
        &|p, t| {
            let (y, d) = use_pts_jvp(p[0], p[1], t[0], t[1]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = use_pts_vjp(p[0], p[1]);
            let (ga, gb) = pb(c[0]);
            (vec![y], vec![ga, gb])
        },
    );
    // The tangent of a returned struct keeps its static fields.
    let (p, dp) = make_pt_jvp(0.3, 4, 1.0);
    assert_eq!((p.k, p.on, dp.k, dp.on), (5, true, 5, true));
    assert_eq!(dp.x, 0.6);
}

#[derive(Clone, Debug, Differentiable)]
struct Buf {
    w: Vec<f64>,
    n: usize,
}

/// A struct literal whose only active value is inside `vec![..]` (it was taken for passive: a
/// zero derivative).
#[differentiate]
fn fill(a: f64, b: f64) -> Buf {
    let z = a * b.sin();
    Buf {
        w: vec![z; 2],
        n: 2,
    }
}

#[test]
fn struct_literal_of_a_vec_macro() {
    check_fn(
        "fill",
        &[0.3, -0.8],
        &|p| fill(p[0], p[1]).w,
        &|p, t| {
            let (y, d) = fill_jvp(p[0], p[1], t[0], t[1]);
            assert_eq!(d.n, 2);
            (y.w, d.w)
        },
        &|p, c| {
            let (y, pb) = fill_vjp(p[0], p[1]);
            let (ga, gb) = pb(Buf {
                w: c.to_vec(),
                n: 2,
            });
            (y.w, vec![ga, gb])
        },
    );
}

/// Running values over local collections of floats: an array literal, a repeat, a `vec![e; n]`.
#[differentiate]
fn local_peaks(x: f64, y: f64) -> f64 {
    let a = [x * 2.0, y.sin(), 0.5];
    let mut b = [0.0; 2];
    b[1] = x * y;
    let mut v = vec![0.25; 3];
    v[0] = x.cos();
    v[2] = y;
    a.iter()
        .map(|v| v * v)
        .reduce(|p, q| p.max(q))
        .unwrap_or(0.5)
        + b.iter()
            .copied()
            .reduce(|p, q| p.min(q))
            .unwrap_or_default()
        + v.iter().copied().reduce(|p, q| p.max(q)).unwrap()
}

#[test]
fn reduce_over_local_collections() {
    check_fn(
        "local_peaks",
        &[0.3, -0.8],
        &|p| vec![local_peaks(p[0], p[1])],
        &|p, t| {
            let (y, d) = local_peaks_jvp(p[0], p[1], t[0], t[1]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = local_peaks_vjp(p[0], p[1]);
            let (ga, gb) = pb(c[0]);
            (vec![y], vec![ga, gb])
        },
    );
}

// ------------------------------------------------ other corpus forms (class 5)

/// A map used as a receiver; first and last elements taken out by value (with defaults); a
/// running value of references taken out by `*` or `.copied()`.
#[differentiate]
fn ends_and_peaks(x: &[f64], a: [f64; 3]) -> f64 {
    let sq = a.map(|v| v * v).iter().sum::<f64>();
    let l = *x.last().unwrap();
    let f = x.first().copied().unwrap_or(0.5);
    let m = *x.iter().max_by(|p, q| p.partial_cmp(q).unwrap()).unwrap();
    let n = x
        .iter()
        .rev()
        .min_by(|p, q| p.total_cmp(q))
        .copied()
        .unwrap_or_default();
    sq * l + f * m - n + a.map(|v| v.sin()).iter().product::<f64>()
}

#[test]
fn ends_peaks_and_receiver_maps() {
    let n = 5;
    let f = |p: &[f64]| ends_and_peaks(&p[..n], [p[n], p[n + 1], p[n + 2]]);
    let x = [0.3, -0.5, 0.8, 0.1, -0.7, 0.45, 0.25, -0.15];
    check_fn(
        "ends_and_peaks",
        &x,
        &|p| vec![f(p)],
        &|p, t| {
            let (y, d) = ends_and_peaks_jvp(
                &p[..n],
                [p[n], p[n + 1], p[n + 2]],
                &t[..n],
                [t[n], t[n + 1], t[n + 2]],
            );
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = ends_and_peaks_vjp(&p[..n], [p[n], p[n + 1], p[n + 2]]);
            let (mut gx, ga) = pb(c[0]);
            gx.extend(ga);
            (vec![y], gx)
        },
    );
}

/// The defaults of `first` / `last` on an empty slice; the panic of `unwrap` is std's.
#[differentiate]
fn first_or(x: &[f64], d: f64) -> f64 {
    x.first().copied().unwrap_or(d * d) + x.last().cloned().unwrap_or_else(|| d.sin())
}

#[differentiate]
fn last_of(x: &[f64]) -> f64 {
    *x.last().unwrap() * 2.0
}

#[test]
fn first_and_last_of_empty_slices() {
    for x in [&[][..], &[0.4, -0.2][..]] {
        let n = x.len();
        let mut p = x.to_vec();
        p.push(0.7);
        check_fn(
            "first_or",
            &p,
            &|p| vec![first_or(&p[..n], p[n])],
            &|p, t| {
                let (y, d) = first_or_jvp(&p[..n], p[n], &t[..n], t[n]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = first_or_vjp(&p[..n], p[n]);
                let (mut gx, gd) = pb(c[0]);
                gx.push(gd);
                (vec![y], gx)
            },
        );
    }
    check_slice!(last_of, last_of_jvp, last_of_vjp, last_of_grad, P6);
    let e = std::panic::catch_unwind(|| last_of_grad(&[])).expect_err("empty");
    assert_eq!(
        e.downcast_ref::<&str>().copied(),
        Some("called `Option::unwrap()` on a `None` value")
    );
}

/// `std::array::from_fn(|i| ..)` declared as an array of floats, over active values.
#[differentiate]
fn from_fn_mix(x: [f64; 3], w: &[f64]) -> f64 {
    let y: [f64; 3] = std::array::from_fn(|i| x[i] * w[i] + x[(i + 1) % 3]);
    let z: [f64; 3] = core::array::from_fn(|i: usize| {
        let t = y[i].tanh();
        t * t
    });
    y[0] * z[1] + z[2]
}

#[test]
fn array_from_fn() {
    let x3 = |p: &[f64]| [p[0], p[1], p[2]];
    check_fn(
        "from_fn_mix",
        &[0.3, -0.5, 0.8, 0.1, -0.7, 0.45],
        &|p| vec![from_fn_mix(x3(p), &p[3..])],
        &|p, t| {
            let (y, d) = from_fn_mix_jvp(x3(p), &p[3..], x3(t), &t[3..]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = from_fn_mix_vjp(x3(p), &p[3..]);
            let (gx, gw) = pb(c[0]);
            let mut g = gx.to_vec();
            g.extend(gw);
            (vec![y], g)
        },
    );
}
