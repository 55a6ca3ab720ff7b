//! Functions that call themselves, in both modes: the reverse sweep calls the recursive pullback
//! `NAME__rev` at each call to itself (docs/SUBSET.md, "Recursion"). Each is checked against
//! central finite differences, the dot-product identity and forward mode, and `_grad` against
//! `_vjp`.
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::needless_return,
    clippy::only_used_in_recursion
)]
#![deny(warnings)]

#[macro_use]
mod common;

use autodiff::prelude::*;
use common::{check_fn, check_grad, check_grad_vjp};

/// GradBench's `det`: the determinant of the minor of `a` left once the rows and columns whose
/// bits are set are removed, expanded along its first row (an early return, a loop, a passive
/// sign, the slice passed on whole).
#[differentiate]
fn det_of_minor(a: &[f64], n: usize, m: usize, rows: u64, cols: u64) -> f64 {
    let r0 = (!rows).trailing_zeros() as usize;
    if m == 1 {
        let c0 = (!cols).trailing_zeros() as usize;
        return a[r0 * n + c0];
    }
    let mut det_m = 0.0;
    let mut sign = 1;
    for j in 0..n {
        if cols & (1 << j) == 0 {
            let m0j = a[r0 * n + j];
            let det_s = det_of_minor(a, n, m - 1, rows | (1 << r0), cols | (1 << j));
            if sign > 0 {
                det_m = det_m + m0j * det_s;
            } else {
                det_m = det_m - m0j * det_s;
            }
            sign = -sign;
        }
    }
    det_m
}

#[test]
fn determinant_by_minors() {
    let mut rng = common::Rng::new(5);
    for ell in 1..=5 {
        let a = rng.vec(ell * ell);
        let name = format!("det {ell}");
        check_fn(
            &name,
            &a,
            &|a| vec![det_of_minor(a, ell, ell, 0, 0)],
            &|a, t| {
                let (y, d) = det_of_minor_jvp(a, ell, ell, 0, 0, t);
                (vec![y], vec![d])
            },
            &|a, c| {
                let (y, pb) = det_of_minor_vjp(a, ell, ell, 0, 0);
                (vec![y], pb(c[0]))
            },
        );
        check_grad_vjp(
            &name,
            &|a| det_of_minor(a, ell, ell, 0, 0),
            &|a| det_of_minor_grad(a, ell, ell, 0, 0),
            &|a| {
                let (y, pb) = det_of_minor_vjp(a, ell, ell, 0, 0);
                (y, pb(1.0))
            },
            &a,
        );
    }
    // The gradient of the determinant is its cofactor matrix: for a 2 x 2, `[d, -c, -b, a]`.
    let (d, g) = det_of_minor_grad(&[1.0, 2.0, 3.0, 4.0], 2, 2, 0, 0);
    assert_eq!(d, -2.0);
    assert_eq!(g, vec![4.0, -3.0, -2.0, 1.0]);
}

/// Horner's rule by recursion: `p_k(x) = x p_{k-1}(x) + c`, `p_0 = 1`; both `x` and `c` active.
#[differentiate]
fn horner(x: f64, c: f64, k: u32) -> f64 {
    if k == 0 {
        1.0
    } else {
        x * horner(x, c, k - 1) + c
    }
}

#[test]
fn recursive_polynomial() {
    for k in 0..6 {
        K.with(|c| c.set(k));
        check2!(
            horner_k,
            horner_k_jvp,
            horner_k_vjp,
            horner_k_grad,
            0.7,
            -0.3
        );
    }
    // p_3(x) = x^3 + c x^2 + c x + c: d/dx = 3x^2 + 2cx + c, d/dc = x^2 + x + 1.
    let (x, c) = (1.5, 0.25);
    let (y, (dx, dc)) = horner_grad(x, c, 3);
    assert!((y - (x * x * x + c * x * x + c * x + c)).abs() < 1e-14);
    assert!((dx - (3.0 * x * x + 2.0 * c * x + c)).abs() < 1e-13);
    assert!((dc - (x * x + x + 1.0)).abs() < 1e-13);
}

// The recursion depth of the two-argument wrappers the `check2!` tests take.
fn horner_k(x: f64, c: f64) -> f64 {
    horner(x, c, K.with(|k| k.get()))
}
fn horner_k_jvp(x: f64, c: f64, tx: f64, tc: f64) -> (f64, f64) {
    horner_jvp(x, c, K.with(|k| k.get()), tx, tc)
}
fn horner_k_vjp(x: f64, c: f64) -> (f64, impl FnOnce(f64) -> (f64, f64)) {
    horner_vjp(x, c, K.with(|k| k.get()))
}
fn horner_k_grad(x: f64, c: f64) -> (f64, (f64, f64)) {
    horner_grad(x, c, K.with(|k| k.get()))
}

thread_local! {
    static K: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// A sum by halves: the slice's parts are passed on (`&xs[..mid]`), so their adjoints are made
/// fresh and added into the parts of `xs`'s.
#[differentiate]
fn sum_halves(xs: &[f64]) -> f64 {
    if xs.len() == 1 {
        return xs[0] * xs[0];
    }
    let mid = xs.len() / 2;
    let l = sum_halves(&xs[..mid]);
    let r = sum_halves(&xs[mid..]);
    l * r.sin() + r
}

/// The same through indices, the slice passed on whole.
#[differentiate]
fn sum_range(xs: &[f64], lo: usize, hi: usize) -> f64 {
    if hi - lo == 1 {
        return xs[lo].exp();
    }
    let mid = (lo + hi) / 2;
    sum_range(xs, lo, mid) * sum_range(xs, mid, hi).cos()
}

#[test]
fn sums_split_in_halves() {
    let mut rng = common::Rng::new(11);
    for n in [1, 2, 3, 5, 8] {
        let x = rng.vec(n);
        check_fn(
            &format!("sum_halves {n}"),
            &x,
            &|x| vec![sum_halves(x)],
            &|x, t| {
                let (y, d) = sum_halves_jvp(x, t);
                (vec![y], vec![d])
            },
            &|x, c| {
                let (y, pb) = sum_halves_vjp(x);
                (vec![y], pb(c[0]))
            },
        );
        check_grad(&format!("sum_halves {n}"), &x, &|x| sum_halves(x), &|x| {
            sum_halves_grad(x)
        });
        check_fn(
            &format!("sum_range {n}"),
            &x,
            &|x| vec![sum_range(x, 0, x.len())],
            &|x, t| {
                let (y, d) = sum_range_jvp(x, 0, x.len(), t);
                (vec![y], vec![d])
            },
            &|x, c| {
                let (y, pb) = sum_range_vjp(x, 0, x.len());
                (vec![y], pb(c[0]))
            },
        );
        check_grad_vjp(
            &format!("sum_range {n}"),
            &|x| sum_range(x, 0, x.len()),
            &|x| sum_range_grad(x, 0, x.len()),
            &|x| {
                let (y, pb) = sum_range_vjp(x, 0, x.len());
                (y, pb(1.0))
            },
            &x,
        );
    }
}

#[derive(Clone, Debug, Differentiable)]
struct Coef {
    a: f64,
    w: [f64; 2],
}

/// Active `f64`, slice and struct parameters, a local passed where a parameter was (its adjoint
/// made fresh), the parameters passed in another order, and two calls to itself in a loop.
#[differentiate]
fn walk(p: &Coef, xs: &[f64], s: f64, t: f64, k: usize) -> f64 {
    if k == 0 {
        return s * p.a + t * xs[0];
    }
    let mut acc = 0.0;
    for i in 0..2 {
        let u = s * p.w[i] + xs[k % xs.len()];
        let v = walk(p, xs, u.sin(), t, k - 1);
        acc = acc + v * p.w[1 - i];
    }
    let swapped = walk(p, xs, t, s, k - 1);
    acc * 0.5 + swapped.tanh()
}

fn walk_flat(v: &[f64], k: usize) -> f64 {
    let p = Coef {
        a: v[0],
        w: [v[1], v[2]],
    };
    walk(&p, &v[5..], v[3], v[4], k)
}

fn walk_grad_flat(v: &[f64], k: usize) -> (f64, Vec<f64>) {
    let p = Coef {
        a: v[0],
        w: [v[1], v[2]],
    };
    let (y, (dp, dxs, ds, dt)) = walk_grad(&p, &v[5..], v[3], v[4], k);
    let mut g = vec![dp.a, dp.w[0], dp.w[1], ds, dt];
    g.extend(dxs);
    (y, g)
}

fn walk_vjp_flat(v: &[f64], k: usize, c: f64) -> (f64, Vec<f64>) {
    let p = Coef {
        a: v[0],
        w: [v[1], v[2]],
    };
    let (y, pb) = walk_vjp(&p, &v[5..], v[3], v[4], k);
    let (dp, dxs, ds, dt) = pb(c);
    let mut g = vec![dp.a, dp.w[0], dp.w[1], ds, dt];
    g.extend(dxs);
    (y, g)
}

fn walk_jvp_flat(v: &[f64], k: usize, t: &[f64]) -> (f64, f64) {
    let p = Coef {
        a: v[0],
        w: [v[1], v[2]],
    };
    let tp = Coef {
        a: t[0],
        w: [t[1], t[2]],
    };
    walk_jvp(&p, &v[5..], v[3], v[4], k, &tp, &t[5..], t[3], t[4])
}

#[test]
fn struct_slice_and_float_parameters() {
    let mut rng = common::Rng::new(3);
    let v = rng.vec(8);
    for k in 0..4 {
        let name = format!("walk {k}");
        check_fn(
            &name,
            &v,
            &|v| vec![walk_flat(v, k)],
            &|v, t| {
                let (y, d) = walk_jvp_flat(v, k, t);
                (vec![y], vec![d])
            },
            &|v, c| {
                let (y, g) = walk_vjp_flat(v, k, c[0]);
                (vec![y], g)
            },
        );
        check_grad_vjp(
            &name,
            &|v| walk_flat(v, k),
            &|v| walk_grad_flat(v, k),
            &|v| walk_vjp_flat(v, k, 1.0),
            &v,
        );
    }
}

/// A parameter passed twice to the same call: its adjoint goes in through one position and the
/// other's is added.
#[differentiate]
fn twice(a: f64, b: f64, k: u32) -> f64 {
    if k == 0 {
        return a * b.exp();
    }
    twice(a, a, k - 1) + twice(b * a, b, k - 1).sin()
}

#[test]
fn a_parameter_passed_twice() {
    for k in 0..4 {
        K.with(|c| c.set(k));
        check2!(twice_k, twice_k_jvp, twice_k_vjp, twice_k_grad, 0.4, -0.8);
    }
    fn twice_k(a: f64, b: f64) -> f64 {
        twice(a, b, K.with(|k| k.get()))
    }
    fn twice_k_jvp(a: f64, b: f64, ta: f64, tb: f64) -> (f64, f64) {
        twice_jvp(a, b, K.with(|k| k.get()), ta, tb)
    }
    fn twice_k_vjp(a: f64, b: f64) -> (f64, impl FnOnce(f64) -> (f64, f64)) {
        twice_vjp(a, b, K.with(|k| k.get()))
    }
    fn twice_k_grad(a: f64, b: f64) -> (f64, (f64, f64)) {
        twice_grad(a, b, K.with(|k| k.get()))
    }
}

/// A generic recursive function: reverse mode runs on `f64` and on dual numbers
/// (forward over reverse: a Hessian-vector product).
#[differentiate]
fn power_tower<F: Float>(x: F, y: F, k: u32) -> F {
    if k == 0 {
        return x * y;
    }
    let inner = power_tower(y, x, k - 1);
    (inner * x).sin() + y * inner
}

#[test]
fn generic_recursion_and_hessian_vector_products() {
    for k in 0..4 {
        K.with(|c| c.set(k));
        check2!(pt, pt_jvp, pt_vjp, pt_grad, 0.3, 0.9);
        let x = [0.3, 0.9];
        common::check_hvp(
            &format!("power_tower {k}"),
            &x,
            &|p| {
                let (_, (a, b)) = power_tower_grad(p[0], p[1], k);
                vec![a, b]
            },
            &|p, v| {
                let (_, (a, b)) =
                    power_tower_grad(common::D::new(p[0], v[0]), common::D::new(p[1], v[1]), k);
                (vec![a.value(), b.value()], vec![a.tangent(), b.tangent()])
            },
        );
    }
    fn pt(x: f64, y: f64) -> f64 {
        power_tower(x, y, K.with(|k| k.get()))
    }
    fn pt_jvp(x: f64, y: f64, tx: f64, ty: f64) -> (f64, f64) {
        power_tower_jvp(x, y, K.with(|k| k.get()), tx, ty)
    }
    fn pt_vjp(x: f64, y: f64) -> (f64, impl FnOnce(f64) -> (f64, f64)) {
        power_tower_vjp(x, y, K.with(|k| k.get()))
    }
    fn pt_grad(x: f64, y: f64) -> (f64, (f64, f64)) {
        power_tower_grad(x, y, K.with(|k| k.get()))
    }
}

/// A vector output: `_vjp` only (no `_grad`), its cotangent an array.
#[differentiate]
fn rotate(v: [f64; 2], t: f64, k: u32) -> [f64; 2] {
    if k == 0 {
        return v;
    }
    let (c, s) = (t.cos(), t.sin());
    let w = [c * v[0] - s * v[1], s * v[0] + c * v[1]];
    let r = rotate(w, t * 0.5, k - 1);
    [r[0] * t, r[1] + r[0]]
}

#[test]
fn array_output() {
    let x = [0.3, -1.2, 0.7];
    for k in 0..4 {
        check_fn(
            &format!("rotate {k}"),
            &x,
            &|p| rotate([p[0], p[1]], p[2], k).to_vec(),
            &|p, t| {
                let (y, d) = rotate_jvp([p[0], p[1]], p[2], k, [t[0], t[1]], t[2]);
                (y.to_vec(), d.to_vec())
            },
            &|p, c| {
                let (y, pb) = rotate_vjp([p[0], p[1]], p[2], k);
                let (dv, dt) = pb([c[0], c[1]]);
                (y.to_vec(), vec![dv[0], dv[1], dt])
            },
        );
    }
}

#[derive(Clone, Differentiable)]
struct Lin {
    w: f64,
}

impl Lin {
    /// A method calling itself through `self.` and through `Self::`.
    #[differentiate]
    fn depth(&self, x: f64, k: u32) -> f64 {
        if k == 0 {
            return x * self.w;
        }
        let a = self.depth(x.sin(), k - 1);
        let b = Self::depth(self, a * x, k - 1);
        a + b * self.w
    }
}

#[test]
fn methods() {
    let x = [0.6, 1.3];
    for k in 0..4 {
        check_fn(
            &format!("Lin::depth {k}"),
            &x,
            &|p| vec![Lin { w: p[0] }.depth(p[1], k)],
            &|p, t| {
                let (y, d) = Lin { w: p[0] }.depth_jvp(p[1], k, &Lin { w: t[0] }, t[1]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = Lin { w: p[0] }.depth_vjp(p[1], k);
                let (dl, dx) = pb(c[0]);
                (vec![y], vec![dl.w, dx])
            },
        );
    }
}

/// A recursive helper called from another differentiated function keeps that function's own
/// reverse mode: its `_vjp` is an ordinary pullback.
#[differentiate]
fn outer(x: &[f64]) -> f64 {
    let d = det_of_minor(x, 2, 2, 0, 0);
    d * d + horner(x[0], x[1], 3)
}

#[test]
fn called_from_another_function() {
    let x = [0.5, -1.5, 2.0, 0.25];
    check_grad_vjp(
        "outer",
        &|x| outer(x),
        &|x| outer_grad(x),
        &|x| {
            let (y, pb) = outer_vjp(x);
            (y, pb(1.0))
        },
        &x,
    );
}

/// Calls to itself inside top-level loops, which `_grad` (and the recursive pullback, whose
/// cotangent is also known up front) runs in one pass: the iteration's reverse calls the
/// recursive pullback right after the iteration.
#[differentiate]
fn in_windowed_loop(x: &[f64], k: usize) -> f64 {
    let mut s = x[0];
    for i in 0..k {
        s += x[i] * in_windowed_loop(x, k - 1);
    }
    s
}

#[differentiate]
fn in_nested_loop(x: &[f64], k: usize) -> f64 {
    let mut s = x[0] * 0.5;
    for i in 0..k {
        let v = in_nested_loop(x, i);
        for j in 0..x.len() {
            s += v * x[j].sin();
        }
    }
    s
}

#[test]
fn one_pass_loops() {
    let x = [0.3, 0.7, -0.4];
    for k in 0..4 {
        check_grad_vjp(
            &format!("in_windowed_loop {k}"),
            &|x| in_windowed_loop(x, k),
            &|x| in_windowed_loop_grad(x, k),
            &|x| {
                let (y, pb) = in_windowed_loop_vjp(x, k);
                (y, pb(1.0))
            },
            &x,
        );
        check_fn(
            &format!("in_nested_loop {k}"),
            &x,
            &|x| vec![in_nested_loop(x, k)],
            &|x, t| {
                let (y, d) = in_nested_loop_jvp(x, k, t);
                (vec![y], vec![d])
            },
            &|x, c| {
                let (y, pb) = in_nested_loop_vjp(x, k);
                (vec![y], pb(c[0]))
            },
        );
        check_grad_vjp(
            &format!("in_nested_loop {k}"),
            &|x| in_nested_loop(x, k),
            &|x| in_nested_loop_grad(x, k),
            &|x| {
                let (y, pb) = in_nested_loop_vjp(x, k);
                (y, pb(1.0))
            },
            &x,
        );
    }
}

/// Mutual recursion, declared on both functions: `even` and `odd` call each other through their
/// recursive pullbacks.
#[differentiate(recursive(odd))]
fn even(x: f64, v: &[f64], k: usize) -> f64 {
    if k == 0 {
        return x.cos() + v[0];
    }
    x * odd(x.sin(), v, k - 1) + v[k % v.len()]
}

#[differentiate(recursive(even))]
fn odd(x: f64, v: &[f64], k: usize) -> f64 {
    if k == 0 {
        return x * v[1];
    }
    let e = even(x * 0.5, v, k - 1);
    e * e + x
}

#[test]
fn mutual_recursion() {
    let mut rng = common::Rng::new(21);
    let p = rng.vec(4);
    for k in 0..5 {
        let name = format!("even {k}");
        check_fn(
            &name,
            &p,
            &|p| vec![even(p[0], &p[1..], k)],
            &|p, t| {
                let (y, d) = even_jvp(p[0], &p[1..], k, t[0], &t[1..]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = even_vjp(p[0], &p[1..], k);
                let (dx, mut dv) = pb(c[0]);
                dv.insert(0, dx);
                (vec![y], dv)
            },
        );
        check_grad(&name, &p, &|p| odd(p[0], &p[1..], k), &|p| {
            let (y, (dx, mut dv)) = odd_grad(p[0], &p[1..], k);
            dv.insert(0, dx);
            (y, dv)
        });
    }
}

#[derive(Clone, Differentiable)]
struct Affine {
    w: f64,
    b: f64,
}

impl Affine {
    /// A method calling itself on another value of its type, through `Self::` (the receiver's
    /// adjoint comes back fresh and is added into the local's).
    #[differentiate]
    fn halve(&self, x: f64, k: u32) -> f64 {
        if k == 0 {
            return x * self.w + self.b;
        }
        let half = Affine {
            w: self.w * 0.5,
            b: self.b.sin(),
        };
        Self::halve(&half, x + self.b, k - 1) * self.w
    }
}

#[test]
fn method_on_another_value() {
    let p = [0.9, -0.4, 1.3];
    for k in 0..4 {
        check_fn(
            &format!("Affine::halve {k}"),
            &p,
            &|p| vec![Affine { w: p[0], b: p[1] }.halve(p[2], k)],
            &|p, t| {
                let (y, d) = Affine { w: p[0], b: p[1] }.halve_jvp(
                    p[2],
                    k,
                    &Affine { w: t[0], b: t[1] },
                    t[2],
                );
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = Affine { w: p[0], b: p[1] }.halve_vjp(p[2], k);
                let (da, dx) = pb(c[0]);
                (vec![y], vec![da.w, da.b, dx])
            },
        );
    }
}

#[derive(Clone, Copy, Differentiable)]
struct Gen2<F: Float> {
    a: F,
    b: F,
}

#[differentiate]
impl<F: Float> Gen2<F> {
    /// A method of a generic impl taking `self` by value, calling itself on `self` and on a
    /// new value of its type.
    #[differentiate]
    fn nest(self, x: F, k: u32) -> F {
        if k == 0 {
            return self.a * x + self.b;
        }
        let inner = self.nest(x.sin(), k - 1);
        let next = Gen2 {
            a: self.b,
            b: self.a * inner,
        };
        Self::nest(next, x, k - 1) + inner * self.b
    }
}

#[test]
fn generic_method_by_value() {
    let p = [0.4, -0.7, 1.1];
    for k in 0..4 {
        check_fn(
            &format!("Gen2::nest {k}"),
            &p,
            &|p| vec![Gen2 { a: p[0], b: p[1] }.nest(p[2], k)],
            &|p, t| {
                let (y, d) =
                    Gen2 { a: p[0], b: p[1] }.nest_jvp(p[2], k, &Gen2 { a: t[0], b: t[1] }, t[2]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = Gen2 { a: p[0], b: p[1] }.nest_vjp(p[2], k);
                let (dg, dx) = pb(c[0]);
                (vec![y], vec![dg.a, dg.b, dx])
            },
        );
        check_grad(
            &format!("Gen2::nest {k}"),
            &p,
            &|p| Gen2 { a: p[0], b: p[1] }.nest(p[2], k),
            &|p| {
                let (y, (dg, dx)) = Gen2 { a: p[0], b: p[1] }.nest_grad(p[2], k);
                (y, vec![dg.a, dg.b, dx])
            },
        );
    }
}

/// An element of an array passed whole as well (`g(z[0], z, ..)`): the adjoint of `z[0]` is
/// added after the callee hands back `z`'s (it was added, then overwritten: a zero gradient,
/// fuzzer 5202:15).
#[differentiate]
fn shift(x: f64, z: [f64; 2], q: usize) -> f64 {
    if q == 0 {
        return x * x;
    }
    z[1] * shift(z[0], z, q - 1)
}

#[test]
fn element_of_an_array_passed_whole() {
    let z = [0.7, -1.3];
    for q in 0..3 {
        let (y, (gx, gz)) = shift_grad(0.4, z, q);
        assert_eq!(y, shift(0.4, z, q));
        let (_, dx) = shift_jvp(0.4, z, q, 1.0, [0.0; 2]);
        let (_, d0) = shift_jvp(0.4, z, q, 0.0, [1.0, 0.0]);
        let (_, d1) = shift_jvp(0.4, z, q, 0.0, [0.0, 1.0]);
        assert!(
            (gx - dx).abs() < 1e-12 && (gz[0] - d0).abs() < 1e-12 && (gz[1] - d1).abs() < 1e-12,
            "q {q}: grad ({gx}, {gz:?}) jvp ({dx}, {d0}, {d1})"
        );
        let h = 1e-6;
        let fd = (shift(0.4, [z[0] + h, z[1]], q) - shift(0.4, [z[0] - h, z[1]], q)) / (2.0 * h);
        assert!((gz[0] - fd).abs() < 1e-6, "q {q}: {} vs fd {fd}", gz[0]);
    }
}
