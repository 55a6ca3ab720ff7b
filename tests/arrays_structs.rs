//! Arrays, slices, `&Vec`, local buffers and `Differentiable` structs (issue 3): every
//! parameter kind of API.md's table, read and written by index, in both modes, against finite
//! differences, the dot-product test and the Jacobian built both ways.
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
#![allow(dead_code)]

mod common;

use autodiff::prelude::*;
use common::check_fn;

// ---------------------------------------------------------------------------------------------
// every parameter kind: f64, [F; N], [[F; N]; M], &[F; N], &[[F; N]; M], &[F], &Vec<F>

#[differentiate]
fn kinds(
    a: f64,
    b: [f64; 2],
    c: [[f64; 2]; 2],
    d: &[f64; 2],
    e: &[[f64; 2]; 2],
    s: &[f64],
    v: &Vec<f64>,
) -> f64 {
    let mut acc = a * b[0] + b[1].sin();
    for i in 0..2 {
        for j in 0..2 {
            acc += c[i][j] * e[j][i] + d[i] * c[j][i];
        }
    }
    for i in 0..s.len() {
        acc = acc * 0.9 + s[i] * v[i % v.len()];
    }
    acc * a + v[0] * v[v.len() - 1]
}

/// Packs/unpacks a flat vector into the arguments of `kinds` (s of length 3, v of length 2).
fn unpack(
    p: &[f64],
) -> (
    f64,
    [f64; 2],
    [[f64; 2]; 2],
    [f64; 2],
    [[f64; 2]; 2],
    Vec<f64>,
    Vec<f64>,
) {
    (
        p[0],
        [p[1], p[2]],
        [[p[3], p[4]], [p[5], p[6]]],
        [p[7], p[8]],
        [[p[9], p[10]], [p[11], p[12]]],
        p[13..16].to_vec(),
        p[16..18].to_vec(),
    )
}

#[test]
fn every_parameter_kind() {
    let x: Vec<f64> = (0..18).map(|i| ((i * 7 % 11) as f64 - 5.0) / 6.0).collect();
    check_fn(
        "kinds",
        &x,
        &|p| {
            let (a, b, c, d, e, s, v) = unpack(p);
            vec![kinds(a, b, c, &d, &e, &s, &v)]
        },
        &|p, t| {
            let (a, b, c, d, e, s, v) = unpack(p);
            let (ta, tb, tc, td, te, ts, tv) = unpack(t);
            // `&Vec<F>` takes a `&[F]` tangent.
            let (y, dy) = kinds_jvp(a, b, c, &d, &e, &s, &v, ta, tb, tc, &td, &te, &ts, &tv[..]);
            (vec![y], vec![dy])
        },
        &|p, ct| {
            let (a, b, c, d, e, s, v) = unpack(p);
            let (y, pb) = kinds_vjp(a, b, c, &d, &e, &s, &v);
            let (ga, gb, gc, gd, ge, gs, gv): (
                f64,
                [f64; 2],
                [[f64; 2]; 2],
                [f64; 2],
                [[f64; 2]; 2],
                Vec<f64>,
                Vec<f64>,
            ) = pb(ct[0]);
            assert_eq!(gs.len(), s.len());
            assert_eq!(gv.len(), v.len());
            let mut g = vec![ga];
            g.extend(gb);
            g.extend(gc.iter().flatten());
            g.extend(gd);
            g.extend(ge.iter().flatten());
            g.extend(gs);
            g.extend(gv);
            (vec![y], g)
        },
    );
    let (a, b, c, d, e, s, v) = unpack(&x);
    let (y, grads) = kinds_grad(a, b, c, &d, &e, &s, &v);
    assert_eq!(y, kinds(a, b, c, &d, &e, &s, &v));
    let (_, pb) = kinds_vjp(a, b, c, &d, &e, &s, &v);
    assert_eq!(grads, pb(1.0));
}

// ---------------------------------------------------------------------------------------------
// writing by index, local buffers: [0.0; N], [a, b, c], vec![0.0; n], .len()

#[differentiate]
fn buffers(x: &[f64], w: &[[f64; 3]; 2]) -> [f64; 2] {
    let n = x.len();
    let mut buf = vec![0.0; n];
    for i in 0..n {
        buf[i] = x[i] * x[i];
    }
    for i in 1..buf.len() {
        buf[i] += buf[i - 1] * 0.5;
    }
    let mut h = [0.0; 3];
    for j in 0..3 {
        h[j] = buf[j % n] + x[n - 1 - j % n];
    }
    let lit = [h[0] * h[1], h[2], x[0]];
    let mut out = [0.0, 0.0];
    for o in 0..2 {
        for j in 0..lit.len() {
            out[o] += w[o][j] * lit[j];
        }
        out[o] = out[o].tanh() + out[o];
    }
    out
}

#[test]
fn local_buffers_and_writes() {
    let x0 = [0.3, -0.7, 1.1, 0.4];
    let w0 = [[0.5, -0.2, 0.9], [0.3, 0.8, -1.1]];
    let mut flat = x0.to_vec();
    flat.extend(w0.iter().flatten());
    let split = |p: &[f64]| -> (Vec<f64>, [[f64; 3]; 2]) {
        (p[..4].to_vec(), [[p[4], p[5], p[6]], [p[7], p[8], p[9]]])
    };
    check_fn(
        "buffers",
        &flat,
        &|p| {
            let (x, w) = split(p);
            buffers(&x, &w).to_vec()
        },
        &|p, t| {
            let (x, w) = split(p);
            let (tx, tw) = split(t);
            let (y, d) = buffers_jvp(&x, &w, &tx, &tw);
            (y.to_vec(), d.to_vec())
        },
        &|p, c| {
            let (x, w) = split(p);
            let (y, pb) = buffers_vjp(&x, &w);
            let (gx, gw): (Vec<f64>, [[f64; 3]; 2]) = pb([c[0], c[1]]);
            let mut g = gx;
            g.extend(gw.iter().flatten());
            (y.to_vec(), g)
        },
    );
}

/// Writing into a 4-deep nested array with a compound assignment.
#[differentiate]
fn deep(w: &[[[[f64; 2]; 2]; 2]; 2], x: f64) -> f64 {
    let mut acc = [[[[0.0; 2]; 2]; 2]; 2];
    for o in 0..2 {
        for c in 0..2 {
            for i in 0..2 {
                for j in 0..2 {
                    acc[o][c][i][j] += w[o][c][i][j] * x;
                    acc[o][c][i][j] *= w[c][o][j][i];
                }
            }
        }
    }
    let mut s = 0.0;
    for o in 0..2 {
        for c in 0..2 {
            s += acc[o][c][1][0] - acc[o][c][0][1] * acc[c][o][1][1];
        }
    }
    s
}

#[test]
fn nested_array_writes() {
    let flat: Vec<f64> = (0..17).map(|i| ((i * 5 % 13) as f64 - 6.0) / 5.0).collect();
    let split = |p: &[f64]| -> ([[[[f64; 2]; 2]; 2]; 2], f64) {
        let mut w = [[[[0.0; 2]; 2]; 2]; 2];
        let mut k = 0;
        for a in w.iter_mut() {
            for b in a.iter_mut() {
                for c in b.iter_mut() {
                    for d in c.iter_mut() {
                        *d = p[k];
                        k += 1;
                    }
                }
            }
        }
        (w, p[16])
    };
    let flatten = |w: &[[[[f64; 2]; 2]; 2]; 2]| -> Vec<f64> {
        w.iter().flatten().flatten().flatten().copied().collect()
    };
    check_fn(
        "deep",
        &flat,
        &|p| {
            let (w, x) = split(p);
            vec![deep(&w, x)]
        },
        &|p, t| {
            let (w, x) = split(p);
            let (tw, tx) = split(t);
            let (y, d) = deep_jvp(&w, x, &tw, tx);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (w, x) = split(p);
            let (y, pb) = deep_vjp(&w, x);
            let (gw, gx) = pb(c[0]);
            let mut g = flatten(&gw);
            g.push(gx);
            (vec![y], g)
        },
    );
}

/// Overwriting an element of an array parameter passed by value.
#[differentiate]
fn overwrite_param(mut x: [f64; 3]) -> f64 {
    x[0] = x[0] * x[1];
    x[1] = x[0].sin();
    x[2] += x[1] * x[0];
    x[0] + x[1] * x[2]
}

#[test]
fn overwrite_array_parameter() {
    let arr = |p: &[f64]| -> [f64; 3] { p.try_into().unwrap() };
    check_fn(
        "overwrite_param",
        &[0.5, -1.2, 0.8],
        &|p| vec![overwrite_param(arr(p))],
        &|p, t| {
            let (y, d) = overwrite_param_jvp(arr(p), arr(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = overwrite_param_vjp(arr(p));
            (vec![y], pb(c[0]).to_vec())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Differentiable structs: S and &S, field access p.w[i][j], nested structs, Vec fields

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Layer {
    w: [[f64; 3]; 2],
    b: [f64; 2],
}

#[derive(Differentiable, Clone, Debug, PartialEq)]
struct Mlp {
    l1: Layer,
    v: Vec<f64>,
    s: f64,
}

#[differentiate]
fn mlp_loss(p: &Mlp, x: &[f64; 3], target: f64) -> f64 {
    let mut h = [0.0; 2];
    for i in 0..2 {
        let mut z = p.l1.b[i];
        for j in 0..3 {
            z += p.l1.w[i][j] * x[j];
        }
        h[i] = z.tanh();
    }
    let mut y = p.s;
    for i in 0..p.v.len() {
        y += p.v[i] * h[i];
    }
    let e = y - target;
    e * e
}

/// A struct by value.
#[differentiate]
fn layer_sum(l: Layer, x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        s += l.b[i] * x;
        for j in 0..3 {
            s += l.w[i][j] * l.w[i][j] * x;
        }
    }
    s
}

fn mlp_from(p: &[f64]) -> Mlp {
    Mlp {
        l1: Layer {
            w: [[p[0], p[1], p[2]], [p[3], p[4], p[5]]],
            b: [p[6], p[7]],
        },
        v: vec![p[8], p[9]],
        s: p[10],
    }
}

fn mlp_flat(m: &Mlp) -> Vec<f64> {
    let mut g: Vec<f64> = m.l1.w.iter().flatten().copied().collect();
    g.extend(m.l1.b);
    g.extend(&m.v);
    g.push(m.s);
    g
}

#[test]
fn struct_parameters() {
    // p (11 leaves), x (3), target (1): all active.
    let flat: Vec<f64> = (0..15).map(|i| ((i * 3 % 7) as f64 - 3.0) / 4.0).collect();
    check_fn(
        "mlp_loss",
        &flat,
        &|p| vec![mlp_loss(&mlp_from(p), &[p[11], p[12], p[13]], p[14])],
        &|p, t| {
            let (y, d) = mlp_loss_jvp(
                &mlp_from(p),
                &[p[11], p[12], p[13]],
                p[14],
                &mlp_from(t),
                &[t[11], t[12], t[13]],
                t[14],
            );
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = mlp_loss_vjp(&mlp_from(p), &[p[11], p[12], p[13]], p[14]);
            let (gp, gx, gt): (Mlp, [f64; 3], f64) = pb(c[0]);
            let mut g = mlp_flat(&gp);
            g.extend(gx);
            g.push(gt);
            (vec![y], g)
        },
    );
    // The adjoint of a struct is the struct, with Vec fields of the right length.
    let m = mlp_from(&flat);
    let (_, (gm, _, _)) = mlp_loss_grad(&m, &[0.1, 0.2, 0.3], 0.3);
    assert_eq!(gm.v.len(), 2);

    let layer_from = |p: &[f64]| Layer {
        w: [[p[0], p[1], p[2]], [p[3], p[4], p[5]]],
        b: [p[6], p[7]],
    };
    let layer_flat = |l: &Layer| -> Vec<f64> {
        let mut g: Vec<f64> = l.w.iter().flatten().copied().collect();
        g.extend(l.b);
        g
    };
    check_fn(
        "layer_sum",
        &flat[..9],
        &|p| vec![layer_sum(layer_from(p), p[8])],
        &|p, t| {
            let (y, d) = layer_sum_jvp(layer_from(p), p[8], &layer_from(t), t[8]);
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = layer_sum_vjp(layer_from(p), p[8]);
            let (gl, gx): (Layer, f64) = pb(c[0]);
            let mut g = layer_flat(&gl);
            g.push(gx);
            (vec![y], g)
        },
    );
}

/// `wrt` restricted to the struct, the data left passive.
#[differentiate(wrt(p))]
fn mlp_wrt(p: &Mlp, x: &[f64; 3]) -> f64 {
    mlp_loss(p, x, 1.0)
}

#[test]
fn struct_wrt_and_calls() {
    let flat: Vec<f64> = (0..11).map(|i| ((i * 3 % 7) as f64 - 3.0) / 4.0).collect();
    let x = [0.5, -0.5, 0.25];
    check_fn(
        "mlp_wrt",
        &flat,
        &|p| vec![mlp_wrt(&mlp_from(p), &x)],
        &|p, t| {
            let (y, d) = mlp_wrt_jvp(&mlp_from(p), &x, &mlp_from(t));
            (vec![y], vec![d])
        },
        &|p, c| {
            let (y, pb) = mlp_wrt_vjp(&mlp_from(p), &x);
            let g: Mlp = pb(c[0]);
            (vec![y], mlp_flat(&g))
        },
    );
}
