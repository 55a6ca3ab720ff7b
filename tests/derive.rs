//! `#[derive(Differentiable)]` on parameter structs: every kind of field the contract lists,
//! generic structs, tuple structs, nesting; every trait method checked against values computed
//! by hand.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::manual_checked_ops
)]
#![deny(warnings)]

use autodiff::prelude::*;
use core::marker::PhantomData;

#[derive(Differentiable, Debug, Clone, PartialEq)]
struct Inner {
    a: f64,
    b: [f64; 2],
}

/// Every supported kind of field.
#[derive(Differentiable, Debug, Clone, PartialEq)]
pub struct Params {
    s: f64,
    v3: [f64; 3],
    m: [[f64; 2]; 2],
    list: Vec<f64>,
    boxed: Box<[f64; 4]>,
    boxed_nested: Box<[[f64; 2]; 3]>,
    inner: Inner,
    inners: [Inner; 2],
}

/// Generic over the float type.
#[derive(Differentiable, Debug, Clone, PartialEq)]
struct P<F: Float> {
    w: [[F; 2]; 2],
    b: F,
    v: Vec<F>,
}

/// The float parameter bounded in a where clause, a const generic, and a `PhantomData`.
#[derive(Differentiable, Debug, Clone, PartialEq)]
struct Layer<F, const N: usize>
where
    F: Float,
{
    w: Box<[F; N]>,
    layer: P<F>,
    _marker: PhantomData<F>,
}

/// A tuple struct of `f32`s.
#[derive(Differentiable, Debug, Clone, PartialEq)]
struct Pair(f32, [f32; 2]);

/// No float parameter: the scalar is the first field's.
#[derive(Differentiable, Debug, Clone, PartialEq)]
struct Wrap<T> {
    first: T,
    second: T,
}

/// A public struct whose fields are of private types, with no float written at the top level.
#[derive(Differentiable, Debug, Clone, PartialEq)]
pub struct Net {
    inner: Inner,
    layer: P<f64>,
}

fn params(k: f64) -> Params {
    Params {
        s: k,
        v3: [k, 2.0 * k, 3.0 * k],
        m: [[k, -k], [0.5 * k, 2.0]],
        list: vec![k, 1.0, -1.0],
        boxed: Box::new([k; 4]),
        boxed_nested: Box::new([[k, 1.0]; 3]),
        inner: Inner { a: k, b: [1.0, k] },
        inners: [
            Inner { a: 1.0, b: [k, k] },
            Inner {
                a: -k,
                b: [0.0, 2.0],
            },
        ],
    }
}

/// The leaves of `params(k)` in field order, written out by hand: the oracle.
fn leaves(k: f64) -> Vec<f64> {
    vec![
        k, // s
        k,
        2.0 * k,
        3.0 * k, // v3
        k,
        -k,
        0.5 * k,
        2.0, // m
        k,
        1.0,
        -1.0, // list
        k,
        k,
        k,
        k, // boxed
        k,
        1.0,
        k,
        1.0,
        k,
        1.0, // boxed_nested
        k,
        1.0,
        k, // inner
        1.0,
        k,
        k,
        -k,
        0.0,
        2.0, // inners
    ]
}

fn collect(p: &mut Params) -> Vec<f64> {
    let mut out = Vec::new();
    let other = p.clone();
    p.zip_map(&other, &mut |leaf, same| {
        assert_eq!(*leaf, same);
        out.push(*leaf);
    });
    out
}

#[test]
fn every_field_kind() {
    let mut p = params(3.0);
    assert_eq!(p.num_leaves(), 30);
    assert_eq!(collect(&mut p), leaves(3.0));

    let zero = p.zero_like();
    assert_eq!(zero.num_leaves(), 30);
    assert_eq!(collect(&mut zero.clone()), vec![0.0; 30]);
    assert_eq!(zero.list.len(), 3);

    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert_eq!(p.dot(&params(2.0)), dot(&leaves(3.0), &leaves(2.0)));

    let mut acc = params(3.0);
    acc.accumulate(&params(2.0));
    let want: Vec<f64> = leaves(3.0)
        .iter()
        .zip(leaves(2.0))
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(collect(&mut acc), want);

    let mut step = params(3.0);
    step.axpy(-0.5, &params(2.0));
    let want: Vec<f64> = leaves(3.0)
        .iter()
        .zip(leaves(2.0))
        .map(|(a, b)| a - 0.5 * b)
        .collect();
    assert_eq!(collect(&mut step), want);

    let mut scaled = params(3.0);
    scaled.scale(0.25);
    let want: Vec<f64> = leaves(3.0).iter().map(|a| 0.25 * a).collect();
    assert_eq!(collect(&mut scaled), want);

    // zip_map walks the leaves in field order, paired with the other value's.
    let mut q = params(1.0);
    let mut seen = Vec::new();
    q.zip_map(&params(2.0), &mut |leaf, other| {
        seen.push((*leaf, other));
        *leaf += other;
    });
    let want: Vec<(f64, f64)> = leaves(1.0).into_iter().zip(leaves(2.0)).collect();
    assert_eq!(seen, want);
    let want: Vec<f64> = leaves(1.0)
        .iter()
        .zip(leaves(2.0))
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(collect(&mut q), want);

    let boxed = p.zero_like_boxed();
    assert_eq!(*boxed, zero);
}

fn p(k: f64) -> P<f64> {
    P {
        w: [[k, 1.0], [2.0, -k]],
        b: 0.5,
        v: vec![k, k],
    }
}

#[test]
fn generic_struct() {
    let mut a = p(2.0);
    assert_eq!(a.num_leaves(), 7);
    // [2, 1, 2, -2, 0.5, 2, 2] . [1, 1, 2, -1, 0.5, 1, 1]
    assert_eq!(a.dot(&p(1.0)), 2.0 + 1.0 + 4.0 + 2.0 + 0.25 + 2.0 + 2.0);
    a.axpy(2.0, &p(1.0));
    assert_eq!(
        a,
        P {
            w: [[4.0, 3.0], [6.0, -4.0]],
            b: 1.5,
            v: vec![4.0, 4.0]
        }
    );
    a.scale(0.5);
    assert_eq!(
        a,
        P {
            w: [[2.0, 1.5], [3.0, -2.0]],
            b: 0.75,
            v: vec![2.0, 2.0]
        }
    );
    a.accumulate(&p(1.0));
    assert_eq!(
        a,
        P {
            w: [[3.0, 2.5], [5.0, -3.0]],
            b: 1.25,
            v: vec![3.0, 3.0]
        }
    );
    assert_eq!(
        a.zero_like(),
        P {
            w: [[0.0; 2]; 2],
            b: 0.0,
            v: vec![0.0, 0.0]
        }
    );

    // The same struct on f32 and on dual numbers.
    let h = P {
        w: [[1.0_f32; 2]; 2],
        b: 2.0,
        v: vec![3.0],
    };
    assert_eq!(h.dot(&h), 4.0 + 4.0 + 9.0);
    let d = P {
        w: [[Dual::new(1.0, 1.0); 2]; 2],
        b: Dual::new(2.0, 0.0),
        v: vec![Dual::new(3.0, -1.0)],
    };
    let dd = d.dot(&d);
    assert_eq!((dd.value(), dd.tangent()), (17.0, 4.0 * 2.0 - 6.0));
}

#[test]
fn where_clause_const_generic_and_phantom() {
    let mut l = Layer::<f64, 3> {
        w: Box::new([1.0, 2.0, 3.0]),
        layer: p(1.0),
        _marker: PhantomData,
    };
    assert_eq!(l.num_leaves(), 3 + 7);
    assert_eq!(l.dot(&l), 14.0 + 1.0 + 1.0 + 4.0 + 1.0 + 0.25 + 1.0 + 1.0);
    let z = l.zero_like();
    assert_eq!(*z.w, [0.0; 3]);
    l.axpy(1.0, &l.clone());
    assert_eq!(*l.w, [2.0, 4.0, 6.0]);
    assert_eq!(l.layer.b, 1.0);
}

#[test]
fn tuple_struct_and_scalar_of_the_first_field() {
    let mut t = Pair(1.0, [2.0, 3.0]);
    assert_eq!(t.dot(&t), 14.0_f32);
    t.axpy(2.0, &Pair(1.0, [1.0, -1.0]));
    assert_eq!(t, Pair(3.0, [4.0, 1.0]));
    assert_eq!(t.zero_like(), Pair(0.0, [0.0, 0.0]));
    assert_eq!(t.num_leaves(), 3);

    let mut w = Wrap {
        first: [1.0_f64, 2.0],
        second: [3.0, 4.0],
    };
    let s: f64 = w.dot(&w);
    assert_eq!(s, 30.0);
    w.scale(2.0);
    assert_eq!(
        w,
        Wrap {
            first: [2.0, 4.0],
            second: [6.0, 8.0]
        }
    );

    let n = Net {
        inner: Inner {
            a: 1.0,
            b: [2.0, 3.0],
        },
        layer: p(1.0),
    };
    assert_eq!(n.dot(&n), 14.0 + 1.0 + 1.0 + 4.0 + 1.0 + 0.25 + 1.0 + 1.0);
    assert_eq!(n.num_leaves(), 3 + 7);
}
