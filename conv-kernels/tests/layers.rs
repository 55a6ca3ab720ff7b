//! The layers of `conv_kernels::layers`: values against naive direct loops and against numbers
//! from PyTorch / JAX (pasted beside the snippet that produced them), forward mode against
//! central finite differences, and every `_jvp` / `_vjp` pair against each other with the
//! dot-product test `<J t, c> == <t, Jᵀ c>`.
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
    clippy::neg_multiply
)]

use autodiff_core::Dual;
use conv_kernels::layers::*;
use conv_kernels::tensor::{Batch, Image, Mat, Tensor, Vector, Zeros};

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/// `s * sin(a i + b)` for `i in 0..n`: the inputs of the reference snippets
/// (`seq(n, a, b, s)` in the Python below).
fn seq(n: usize, a: f64, b: f64, s: f64) -> Vec<f64> {
    (0..n).map(|i| s * (a * i as f64 + b).sin()).collect()
}

/// The default input sequence `2 sin(0.37 i + 0.1)`.
fn xs(n: usize) -> Vec<f64> {
    seq(n, 0.37, 0.1, 2.0)
}

/// `cos(0.23 i)`: the output cotangents of the reference snippets (`ctseq(n)`).
fn ctseq(n: usize) -> Vec<f64> {
    (0..n).map(|i| (0.23 * i as f64).cos()).collect()
}

#[track_caller]
fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w} (tolerance {tol})\n got: {got:?}\nwant: {want:?}"
        );
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Splits a flat vector into consecutive pieces of the given lengths.
fn split<'a>(v: &'a [f64], sizes: &[usize]) -> Vec<&'a [f64]> {
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        out.push(&v[at..at + n]);
        at += n;
    }
    assert_eq!(at, v.len());
    out
}

fn t<T: Zeros<Scalar = f64>>(v: &[f64]) -> Tensor<T> {
    Tensor::from_flat(v)
}

fn flat<T: Zeros<Scalar = f64>>(v: &Tensor<T>) -> Vec<f64> {
    v.as_flat().to_vec()
}

/// Checks a function of flat (concatenated) active inputs with its forward and reverse modes:
/// the three values agree; the jvp matches central finite differences; and
/// `<jvp(t), c> == <t, vjp(c)>` to 1e-12.
#[track_caller]
fn check(
    name: &str,
    x: &[f64],
    f: impl Fn(&[f64]) -> Vec<f64>,
    jvp: impl Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
    vjp: impl Fn(&[f64], &[f64]) -> (Vec<f64>, Vec<f64>),
) {
    let y = f(x);
    let tan = seq(x.len(), 0.71, 0.5, 1.0);
    let ct = seq(y.len(), 0.43, 0.2, 1.0);
    let (y1, dy) = jvp(x, &tan);
    let (y2, adj) = vjp(x, &ct);
    assert_eq!(y1, y, "{name}: jvp value differs from the function");
    assert_eq!(y2, y, "{name}: vjp value differs from the function");
    assert_eq!(dy.len(), y.len(), "{name}: tangent length");
    assert_eq!(adj.len(), x.len(), "{name}: adjoint length");

    let h = 1e-6;
    let plus: Vec<f64> = x.iter().zip(&tan).map(|(a, b)| a + h * b).collect();
    let minus: Vec<f64> = x.iter().zip(&tan).map(|(a, b)| a - h * b).collect();
    let fd: Vec<f64> = f(&plus)
        .iter()
        .zip(f(&minus))
        .map(|(p, m)| (p - m) / (2.0 * h))
        .collect();
    for (i, (a, b)) in fd.iter().zip(&dy).enumerate() {
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "{name}: output {i}: finite difference {a}, jvp {b}"
        );
    }

    let lhs = dot(&dy, &ct);
    let rhs = dot(&tan, &adj);
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{name}: dot-product test <J t, c> = {lhs}, <t, J^T c> = {rhs}"
    );
}

// ---------------------------------------------------------------------------------------------
// naive references
// ---------------------------------------------------------------------------------------------

fn naive_pool<const C: usize, const H: usize, const W: usize>(
    x: &[[[f64; W]; H]; C],
    k: usize,
    s: usize,
    max: bool,
) -> Vec<f64> {
    let (oh, ow) = ((H - k) / s + 1, (W - k) / s + 1);
    let mut out = Vec::new();
    for plane in x {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
                for p in 0..k {
                    for q in 0..k {
                        let v = plane[i * s + p][j * s + q];
                        acc = if max { acc.max(v) } else { acc + v };
                    }
                }
                out.push(if max { acc } else { acc / (k * k) as f64 });
            }
        }
    }
    out
}

/// MATLAB's definition of the full 2-D convolution:
/// `full[i][j] = Σ_{p,q} x[p][q] w[i - p][j - q]`.
fn naive_full_conv(x: &[Vec<f64>], w: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (xh, xw, kh, kw) = (x.len(), x[0].len(), w.len(), w[0].len());
    let mut out = vec![vec![0.0; xw + kw - 1]; xh + kh - 1];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, o) in row.iter_mut().enumerate() {
            for (p, xrow) in x.iter().enumerate() {
                for (q, &xv) in xrow.iter().enumerate() {
                    if i >= p && j >= q && i - p < kh && j - q < kw {
                        *o += xv * w[i - p][j - q];
                    }
                }
            }
        }
    }
    out
}

fn rows<const R: usize, const C: usize>(m: &Mat<f64, R, C>) -> Vec<Vec<f64>> {
    m.iter().map(|r| r.to_vec()).collect()
}

/// Rows `r0..r0 + h`, columns `c0..c0 + w` of a matrix, flattened.
fn window(m: &[Vec<f64>], r0: usize, c0: usize, h: usize, w: usize) -> Vec<f64> {
    m[r0..r0 + h]
        .iter()
        .flat_map(|r| r[c0..c0 + w].to_vec())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// relu
// ---------------------------------------------------------------------------------------------

#[test]
fn relu_values_and_derivatives() {
    let x: Image<f64, 2, 3, 4> = t(&[
        -1.0, 0.0, 2.0, 3.0, -0.5, 0.25, 0.0, -4.0, 1.0, 1.0, -1.0, 7.0, //
        0.5, -0.5, 0.0, 0.0, 9.0, -9.0, 1e-300, -1e-300, 2.0, 3.0, 4.0, -5.0,
    ]);
    let y = relu(&x);
    let want: Vec<f64> = x
        .as_flat()
        .iter()
        .map(|&v| if v > 0.0 { v } else { 0.0 })
        .collect();
    assert_eq!(y.as_flat(), &want[..]);
    // derivative 0 at 0 exactly
    let ones: Image<f64, 2, 3, 4> = Tensor::from_flat_fn(|_| 1.0);
    let (_, dy) = relu_jvp(&x, &ones);
    assert_eq!(dy.as_flat()[1], 0.0);
    let (_, pullback) = relu_vjp(&x);
    assert_eq!(pullback(ones).as_flat()[1], 0.0);

    type B = [[[[f64; 5]; 4]; 3]; 2];
    check(
        "relu",
        &xs(120),
        |x| flat(&relu(&t::<B>(x))),
        |x, tx| {
            let (y, dy) = relu_jvp(&t::<B>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = relu_vjp(&t::<B>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
}

// ---------------------------------------------------------------------------------------------
// pooling
// ---------------------------------------------------------------------------------------------

// PyTorch 2.x, float64 (the helpers of all the PyTorch snippets below):
//
//     import math, torch, torch.nn.functional as F
//     def seq(n, a=0.37, b=0.1, s=2.0):
//         return torch.tensor([s * math.sin(a * i + b) for i in range(n)], dtype=torch.float64)
//     def ctseq(n):
//         return torch.tensor([math.cos(0.23 * i) for i in range(n)], dtype=torch.float64)
//     def show(name, t): print(name, "=", [float(v) for v in t.flatten()])
//
//     x = seq(50).reshape(1, 2, 5, 5).requires_grad_()
//     y = F.max_pool2d(x, 2, 2)
//     y.backward(ctseq(y.numel()).reshape(y.shape))
//     show("MAXPOOL_Y", y); show("MAXPOOL_DX", x.grad)
const MAXPOOL_Y: [f64; 8] = [
    1.8579194300077384,
    1.8712320031067717,
    -0.5203149828609378,
    0.9179029727553806,
    0.14941658077906955,
    -0.5071429289900276,
    1.5073415702835617,
    1.999478674073706,
];
const MAXPOOL_DX: [f64; 50] = [
    0.0,
    0.0,
    0.0,
    0.9736663950053749,
    0.0,
    1.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.8960524975255252,
    0.0,
    0.7712460149971065,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.6058201566434628,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.40848744088415717,
    0.0,
    0.0,
    0.18964083129783424,
    0.0,
    -0.03919363177298771,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
];

#[test]
fn max_pool2d_matches_pytorch() {
    let x: Image<f64, 2, 5, 5> = t(&xs(50));
    let (y, pullback) = max_pool2d_vjp::<_, _, _, _, 2, 2, 2, 2>(&x);
    assert_close(y.as_flat(), &MAXPOOL_Y, 1e-15);
    assert_close(pullback(t(&ctseq(8))).as_flat(), &MAXPOOL_DX, 1e-15);
    assert_eq!(y.as_flat(), &naive_pool(&x, 2, 2, true)[..]);
}

// Overlapping 3x3 windows, stride 1, with many ties (PyTorch sends the gradient to the first
// maximum of each window in row-major order, as does `max_pool2d`):
//
//     x = torch.tensor([float((7 * i) % 5 - 2) for i in range(50)],
//                      dtype=torch.float64).reshape(1, 2, 5, 5).requires_grad_()
//     y = F.max_pool2d(x, 3, 1)
//     y.backward(ctseq(y.numel()).reshape(y.shape))
//     show("MAXPOOL_TIES_Y", y); show("MAXPOOL_TIES_DX", x.grad)
const MAXPOOL_TIES_DX_NONZERO: [(usize, f64); 6] = [
    (2, 2.8697188925309),
    (7, 1.7855536125247267),
    (12, -0.11551667608413385),
    (27, -1.9637371647159267),
    (32, -2.9135322494936156),
    (37, -2.5303631092590875),
];

#[test]
fn max_pool2d_ties_go_to_the_first_maximum_as_in_pytorch() {
    let x: Image<f64, 2, 5, 5> = Tensor::from_flat_fn(|i| ((7 * i) % 5) as f64 - 2.0);
    let (y, pullback) = max_pool2d_vjp::<_, _, _, _, 3, 1, 3, 3>(&x);
    assert_eq!(y.as_flat(), &[2.0; 18]);
    let dx = pullback(t(&ctseq(18)));
    let mut want = [0.0; 50];
    for (i, v) in MAXPOOL_TIES_DX_NONZERO {
        want[i] = v;
    }
    assert_close(dx.as_flat(), &want, 1e-15);
    // forward mode picks the same positions
    let tx: Image<f64, 2, 5, 5> = Tensor::from_flat_fn(|i| i as f64);
    let (_, dy) = max_pool2d_jvp::<_, _, _, _, 3, 1, 3, 3>(&x, &tx);
    assert_eq!(
        dy.as_flat(),
        &[
            2.0, 2.0, 2.0, 7.0, 7.0, 7.0, 12.0, 12.0, 12.0, 27.0, 27.0, 27.0, 32.0, 32.0, 32.0,
            37.0, 37.0, 37.0
        ]
    );
}

#[test]
fn max_pool2d_derivatives() {
    type X = [[[f64; 7]; 6]; 3];
    check(
        "max_pool2d 2x2/2",
        &xs(126),
        |x| flat(&max_pool2d::<_, _, _, _, 2, 2, 3, 3>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = max_pool2d_jvp::<_, _, _, _, 2, 2, 3, 3>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = max_pool2d_vjp::<_, _, _, _, 2, 2, 3, 3>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    check(
        "max_pool2d 3x3/1 (overlapping)",
        &xs(126),
        |x| flat(&max_pool2d::<_, _, _, _, 3, 1, 4, 5>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = max_pool2d_jvp::<_, _, _, _, 3, 1, 4, 5>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = max_pool2d_vjp::<_, _, _, _, 3, 1, 4, 5>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    let x: Image<f64, 3, 6, 7> = t(&xs(126));
    let y = max_pool2d::<_, _, _, _, 3, 1, 4, 5>(&x);
    assert_eq!(y.as_flat(), &naive_pool(&x, 3, 1, true)[..]);
}

//     x = seq(98).reshape(1, 2, 7, 7).requires_grad_()
//     y = F.avg_pool2d(x, 3, 2)
//     y.backward(ctseq(y.numel()).reshape(y.shape))
//     show("AVGPOOL_Y", y); show("AVGPOOL_DX", x.grad)
const AVGPOOL_Y: [f64; 18] = [
    -0.036493882341601704,
    0.2739690842460548,
    0.4411289919009,
    -0.41481724545800713,
    -0.19265460591895048,
    0.13027850712683844,
    -0.33746805898043075,
    -0.4476491595634042,
    -0.32368160037816623,
    -0.3215656773748369,
    -0.02736318533779773,
    0.2811519732975291,
    -0.4230895456928252,
    -0.4112842331978355,
    -0.18435140414279272,
    -0.05985382625658101,
    -0.3434137097066381,
    -0.44734662825350224,
];
const AVGPOOL_DX: [f64; 98] = [
    0.1111111111111111,
    0.1111111111111111,
    0.21929626611170833,
    0.10818515500059721,
    0.20774654361454445,
    0.09956138861394724,
    0.09956138861394724,
    0.1111111111111111,
    0.1111111111111111,
    0.21929626611170833,
    0.10818515500059721,
    0.20774654361454445,
    0.09956138861394724,
    0.09956138861394724,
    0.19680511277745627,
    0.19680511277745627,
    0.372303618516216,
    0.17549850573875975,
    0.32044738778427995,
    0.14494888204552026,
    0.14494888204552026,
    0.08569400166634517,
    0.08569400166634517,
    0.1530073524045077,
    0.06731335073816253,
    0.11270084416973555,
    0.04538749343157302,
    0.04538749343157302,
    0.1067652051438823,
    0.1067652051438823,
    0.1697237079072684,
    0.06295850276338612,
    0.078794454460628,
    0.01583595169724187,
    0.01583595169724187,
    0.02107120347753714,
    0.02107120347753714,
    0.016716355502760728,
    -0.004354847974776412,
    -0.033906389709107566,
    -0.029551541734331152,
    -0.029551541734331152,
    0.02107120347753714,
    0.02107120347753714,
    0.016716355502760728,
    -0.004354847974776412,
    -0.033906389709107566,
    -0.029551541734331152,
    -0.029551541734331152,
    -0.0531918382398578,
    -0.0531918382398578,
    -0.12722250727094941,
    -0.07403066903109161,
    -0.16500118006191183,
    -0.09097051103082021,
    -0.09097051103082021,
    -0.0531918382398578,
    -0.0531918382398578,
    -0.12722250727094941,
    -0.07403066903109161,
    -0.16500118006191183,
    -0.09097051103082021,
    -0.09097051103082021,
    -0.156311028263117,
    -0.156311028263117,
    -0.3401785662750304,
    -0.18386753801191338,
    -0.3856077955379433,
    -0.20174025752602986,
    -0.20174025752602986,
    -0.10311919002325919,
    -0.10311919002325919,
    -0.21295605900408096,
    -0.10983686898082178,
    -0.22060661547603144,
    -0.11076974649520965,
    -0.11076974649520965,
    -0.20898788053373749,
    -0.20898788053373749,
    -0.41421657548590385,
    -0.2052286949521664,
    -0.3958893815498962,
    -0.19066068659772978,
    -0.19066068659772978,
    -0.1058686905104783,
    -0.1058686905104783,
    -0.20126051648182292,
    -0.09539182597134463,
    -0.17528276607386475,
    -0.07989094010252012,
    -0.07989094010252012,
    -0.1058686905104783,
    -0.1058686905104783,
    -0.20126051648182292,
    -0.09539182597134463,
    -0.17528276607386475,
    -0.07989094010252012,
    -0.07989094010252012,
];

#[test]
fn avg_pool2d_matches_pytorch_and_naive_loops() {
    let x: Image<f64, 2, 7, 7> = t(&xs(98));
    let (y, pullback) = avg_pool2d_vjp::<_, _, _, _, 3, 2, 3, 3>(&x);
    assert_close(y.as_flat(), &AVGPOOL_Y, 1e-14);
    assert_close(pullback(t(&ctseq(18))).as_flat(), &AVGPOOL_DX, 1e-14);
    assert_close(y.as_flat(), &naive_pool(&x, 3, 2, false), 1e-15);
}

#[test]
fn avg_pool2d_derivatives() {
    type X = [[[f64; 7]; 6]; 3];
    check(
        "avg_pool2d 3x3/2",
        &xs(126),
        |x| flat(&avg_pool2d::<_, _, _, _, 3, 2, 2, 3>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = avg_pool2d_jvp::<_, _, _, _, 3, 2, 2, 3>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = avg_pool2d_vjp::<_, _, _, _, 3, 2, 2, 3>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
}

/// The batched forms equal the per-sample forms, on a batch small enough to stay on one thread
/// and on one large enough to be split across rayon's pool.
fn batch_pool_matches_per_sample<const N: usize>() {
    let x: Batch<f64, N, 6, 28, 28> = Tensor::from_flat_fn(|i| (0.37 * i as f64 + 0.1).sin());
    let ct: Batch<f64, N, 6, 14, 14> = Tensor::from_flat_fn(|i| (0.23 * i as f64).cos());

    let (ym, pbm) = max_pool2d_batch_vjp::<_, _, _, _, _, 2, 2, 14, 14>(&x);
    let (ya, pba) = avg_pool2d_batch_vjp::<_, _, _, _, _, 2, 2, 14, 14>(&x);
    let (_, dym) = max_pool2d_batch_jvp::<_, _, _, _, _, 2, 2, 14, 14>(&x, &x);
    let (_, dya) = avg_pool2d_batch_jvp::<_, _, _, _, _, 2, 2, 14, 14>(&x, &x);
    let (dxm, dxa) = (pbm(ct.clone()), pba(ct.clone()));
    for n in 0..N {
        let xn: Image<f64, 6, 28, 28> = Tensor::from_array(x[n]);
        let ctn: Image<f64, 6, 14, 14> = Tensor::from_array(ct[n]);
        let (y1, pb1) = max_pool2d_vjp::<_, _, _, _, 2, 2, 14, 14>(&xn);
        let (y2, pb2) = avg_pool2d_vjp::<_, _, _, _, 2, 2, 14, 14>(&xn);
        assert_eq!(ym[n], *y1);
        assert_eq!(ya[n], *y2);
        assert_eq!(dym[n], *y1);
        assert_eq!(dya[n], *y2);
        assert_eq!(dxm[n], *pb1(ctn.clone()));
        assert_eq!(dxa[n], *pb2(ctn));
    }
}

#[test]
fn batched_pooling_equals_per_sample_pooling() {
    batch_pool_matches_per_sample::<3>(); // sequential
    batch_pool_matches_per_sample::<16>(); // split across rayon's pool
}

#[test]
fn batched_pooling_derivatives() {
    type X = [[[[f64; 4]; 4]; 2]; 3];
    check(
        "max_pool2d_batch",
        &xs(96),
        |x| flat(&max_pool2d_batch::<_, _, _, _, _, 2, 2, 2, 2>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = max_pool2d_batch_jvp::<_, _, _, _, _, 2, 2, 2, 2>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = max_pool2d_batch_vjp::<_, _, _, _, _, 2, 2, 2, 2>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    check(
        "avg_pool2d_batch",
        &xs(96),
        |x| flat(&avg_pool2d_batch::<_, _, _, _, _, 3, 1, 2, 2>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = avg_pool2d_batch_jvp::<_, _, _, _, _, 3, 1, 2, 2>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = avg_pool2d_batch_vjp::<_, _, _, _, _, 3, 1, 2, 2>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
}

/// The course's layer after pooling, on a batch of 256 images, on a thread with a 2 MiB stack:
/// nothing large passes through the stack.
#[test]
fn batched_layers_run_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let x: Batch<f32, 256, 6, 28, 28> = Tensor::from_flat_fn(|i| (i % 13) as f32 - 6.0);
            let (h, pb_relu) = relu_vjp(&x);
            let (p, pb_pool) = max_pool2d_batch_vjp::<_, _, _, _, _, 2, 2, 14, 14>(&h);
            let (v, pb_flat) = flatten_batch_vjp::<_, _, _, _, _, { 6 * 14 * 14 }>(&p);
            let dx = pb_relu(pb_pool(pb_flat(v)));
            assert_eq!(dx.as_flat().len(), 256 * 6 * 28 * 28);
            let a: Batch<f32, 256, 6, 14, 14> = avg_pool2d_batch::<_, _, _, _, _, 2, 2, _, _>(&h);
            assert!(a.as_flat().iter().all(|v| v.is_finite()));
        })
        .unwrap()
        .join()
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// linear, flatten
// ---------------------------------------------------------------------------------------------

#[test]
fn linear_against_a_direct_loop_and_derivatives() {
    const O: usize = 3;
    const I: usize = 5;
    let w: Mat<f64, O, I> = t(&xs(O * I));
    let b: Vector<f64, O> = t(&ctseq(O));
    let x: Vector<f64, I> = t(&seq(I, 0.9, 0.3, 1.5));
    let y = linear(&w, &b, &x);
    for o in 0..O {
        let mut acc = b[o];
        for i in 0..I {
            acc += w[o][i] * x[i];
        }
        assert!((y[o] - acc).abs() < 1e-15);
    }
    let sizes = [O * I, O, I];
    check(
        "linear",
        &xs(O * I + O + I),
        |p| {
            let p = split(p, &sizes);
            flat(&linear(
                &t::<[[f64; I]; O]>(p[0]),
                &t(p[1]),
                &t::<[f64; I]>(p[2]),
            ))
        },
        |p, tp| {
            let (p, tp) = (split(p, &sizes), split(tp, &sizes));
            let (y, dy) = linear_jvp(
                &t::<[[f64; I]; O]>(p[0]),
                &t(p[1]),
                &t::<[f64; I]>(p[2]),
                &t(tp[0]),
                &t(tp[1]),
                &t(tp[2]),
            );
            (flat(&y), flat(&dy))
        },
        |p, ct| {
            let p = split(p, &sizes);
            let (y, pb) = linear_vjp(&t::<[[f64; I]; O]>(p[0]), &t(p[1]), &t::<[f64; I]>(p[2]));
            let (dw, db, dx) = pb(t(ct));
            (flat(&y), [flat(&dw), flat(&db), flat(&dx)].concat())
        },
    );
}

#[test]
fn flatten_and_unflatten_are_inverse_reshapes() {
    let x: Image<f64, 2, 3, 4> = t(&xs(24));
    let v: Vector<f64, 24> = flatten(&x);
    assert_eq!(v.as_flat(), x.as_flat());
    let back: Image<f64, 2, 3, 4> = unflatten(&v);
    assert_eq!(back, x);
    let b: Batch<f64, 2, 2, 3, 4> = t(&xs(48));
    let m: Mat<f64, 2, 24> = flatten_batch(&b);
    assert_eq!(m[1][..], b.as_flat()[24..]);
    assert_eq!(unflatten_batch::<_, 2, 2, 3, 4, 24>(&m), b);

    type X = [[[f64; 4]; 3]; 2];
    check(
        "flatten",
        &xs(24),
        |x| flat(&flatten::<_, 2, 3, 4, 24>(&t::<X>(x))),
        |x, tx| {
            let (y, dy) = flatten_jvp::<_, 2, 3, 4, 24>(&t::<X>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = flatten_vjp::<_, 2, 3, 4, 24>(&t::<X>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    check(
        "unflatten",
        &xs(24),
        |x| flat(&unflatten::<f64, 2, 3, 4, 24>(&t(x))),
        |x, tx| {
            let (y, dy) = unflatten_jvp::<f64, 2, 3, 4, 24>(&t(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = unflatten_vjp::<f64, 2, 3, 4, 24>(&t(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    type XB = [[[[f64; 4]; 3]; 2]; 2];
    check(
        "flatten_batch",
        &xs(48),
        |x| flat(&flatten_batch::<_, 2, 2, 3, 4, 24>(&t::<XB>(x))),
        |x, tx| {
            let (y, dy) = flatten_batch_jvp::<_, 2, 2, 3, 4, 24>(&t::<XB>(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = flatten_batch_vjp::<_, 2, 2, 3, 4, 24>(&t::<XB>(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    check(
        "unflatten_batch",
        &xs(48),
        |x| flat(&unflatten_batch::<f64, 2, 2, 3, 4, 24>(&t(x))),
        |x, tx| {
            let (y, dy) = unflatten_batch_jvp::<f64, 2, 2, 3, 4, 24>(&t(x), &t(tx));
            (flat(&y), flat(&dy))
        },
        |x, ct| {
            let (y, pb) = unflatten_batch_vjp::<f64, 2, 2, 3, 4, 24>(&t(x));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
}

// ---------------------------------------------------------------------------------------------
// losses
// ---------------------------------------------------------------------------------------------

//     z = seq(5, 0.9, 0.2, 3.0).requires_grad_()
//     l = F.cross_entropy(z.reshape(1, 5), torch.tensor([3]))
//     l.backward()
//     print("SCE_LOSS =", float(l)); show("SCE_GRAD", z.grad)
const SCE_LOSS: f64 = 2.8032204830550778;
const SCE_GRAD: [f64; 5] = [
    0.05366681287386079,
    0.42855063045088,
    0.4524508275159781,
    -0.9393854601431747,
    0.004717189302455772,
];

//     z = seq(15, 0.9, 0.2, 3.0).reshape(3, 5)
//     z[1] = z[1] + 1000.0
//     z.requires_grad_()
//     l = F.cross_entropy(z, torch.tensor([0, 4, 2]))
//     l.backward()
//     print("SCE_BATCH_LOSS =", float(l)); show("SCE_BATCH_GRAD", z.grad)
const SCE_BATCH_LOSS: f64 = 2.7143646757090276;
const SCE_BATCH_GRAD: [f64; 15] = [
    -0.3154443957087131,
    0.1428502101502933,
    0.150816942505326,
    0.020204846618941775,
    0.001572396434151924,
    0.0005202606731751898,
    0.001572307932487521,
    0.019919605316084138,
    0.15485183579831918,
    -0.17686400972006605,
    0.1507967371268093,
    0.011846721104734937,
    -0.32948633782460074,
    0.012095720825130097,
    0.15474715876792633,
];

#[test]
fn softmax_cross_entropy_matches_pytorch() {
    let z: Vector<f64, 5> = t(&seq(5, 0.9, 0.2, 3.0));
    let (loss, pullback) = softmax_cross_entropy_vjp(&z, 3);
    assert!((loss - SCE_LOSS).abs() < 1e-14);
    assert_eq!(softmax_cross_entropy(&z, 3), loss);
    assert_close(pullback(1.0).as_flat(), &SCE_GRAD, 1e-14);

    let mut zb: Mat<f64, 3, 5> = t(&seq(15, 0.9, 0.2, 3.0));
    for v in zb[1].iter_mut() {
        *v += 1000.0;
    }
    let (loss, pullback) = softmax_cross_entropy_batch_vjp(&zb, &[0, 4, 2]);
    assert!((loss - SCE_BATCH_LOSS).abs() < 1e-13);
    assert_eq!(softmax_cross_entropy_batch(&zb, &[0, 4, 2]), loss);
    assert_close(pullback(1.0).as_flat(), &SCE_BATCH_GRAD, 1e-13);
    // the batch loss is the mean of the per-sample losses
    let per: f64 = (0..3)
        .map(|b| softmax_cross_entropy(&Vector::from_array(zb[b]), [0, 4, 2][b]))
        .sum();
    assert!((per / 3.0 - loss).abs() < 1e-13);
}

#[test]
fn softmax_is_stable_and_sums_to_one() {
    let z: Vector<f64, 4> = Vector::from_array([1e300, -1e300, 0.0, 1e300]);
    let p = softmax(&z);
    assert_eq!(*p, [0.5, 0.0, 0.0, 0.5]);
    let z: Vector<f64, 5> = t(&xs(5));
    let p = softmax(&z);
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    let naive: Vec<f64> = {
        let e: Vec<f64> = z.iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    };
    assert_close(p.as_flat(), &naive, 1e-15);
    // log-sum-exp of huge logits does not overflow
    let big: Vector<f64, 3> = Vector::from_array([800.0, 800.0, 0.0]);
    assert!((softmax_cross_entropy(&big, 0) - 2.0_f64.ln()).abs() < 1e-12);
}

#[test]
fn loss_derivatives() {
    check(
        "softmax",
        &xs(6),
        |z| flat(&softmax(&t::<[f64; 6]>(z))),
        |z, tz| {
            let (y, dy) = softmax_jvp(&t::<[f64; 6]>(z), &t(tz));
            (flat(&y), flat(&dy))
        },
        |z, ct| {
            let (y, pb) = softmax_vjp(&t::<[f64; 6]>(z));
            (flat(&y), flat(&pb(t(ct))))
        },
    );
    check(
        "softmax_cross_entropy",
        &xs(6),
        |z| vec![softmax_cross_entropy(&t::<[f64; 6]>(z), 4)],
        |z, tz| {
            let (y, dy) = softmax_cross_entropy_jvp(&t::<[f64; 6]>(z), 4, &t(tz));
            (vec![y], vec![dy])
        },
        |z, ct| {
            let (y, pb) = softmax_cross_entropy_vjp(&t::<[f64; 6]>(z), 4);
            (vec![y], flat(&pb(ct[0])))
        },
    );
    const LABELS: [usize; 3] = [5, 0, 2];
    check(
        "softmax_cross_entropy_batch",
        &xs(18),
        |z| vec![softmax_cross_entropy_batch(&t::<[[f64; 6]; 3]>(z), &LABELS)],
        |z, tz| {
            let (y, dy) = softmax_cross_entropy_batch_jvp(&t::<[[f64; 6]; 3]>(z), &LABELS, &t(tz));
            (vec![y], vec![dy])
        },
        |z, ct| {
            let (y, pb) = softmax_cross_entropy_batch_vjp(&t::<[[f64; 6]; 3]>(z), &LABELS);
            (vec![y], flat(&pb(ct[0])))
        },
    );
    type X = [[f64; 3]; 4];
    check(
        "mse",
        &xs(24),
        |p| vec![mse(&t::<X>(&p[..12]), &t::<X>(&p[12..]))],
        |p, tp| {
            let (y, dy) = mse_jvp(
                &t::<X>(&p[..12]),
                &t::<X>(&p[12..]),
                &t(&tp[..12]),
                &t(&tp[12..]),
            );
            (vec![y], vec![dy])
        },
        |p, ct| {
            let (y, pb) = mse_vjp(&t::<X>(&p[..12]), &t::<X>(&p[12..]));
            let (dp, dq) = pb(ct[0]);
            (vec![y], [flat(&dp), flat(&dq)].concat())
        },
    );
}

//     p = seq(6).requires_grad_(); q = seq(6, 0.5, 1.0, 1.0).requires_grad_()
//     l = F.mse_loss(p, q); l.backward()
//     print("MSE_LOSS =", float(l)); show("MSE_DP", p.grad); show("MSE_DQ", q.grad)
const MSE_LOSS: f64 = 1.7850195989873026;
const MSE_DP: [f64; 6] = [
    -0.21393471717141338,
    -0.030574138615305963,
    0.1933296043720123,
    0.42425328633427173,
    0.6195984283125376,
    0.7362342192324527,
];

#[test]
fn mse_matches_pytorch() {
    let p: Vector<f64, 6> = t(&xs(6));
    let q: Vector<f64, 6> = t(&seq(6, 0.5, 1.0, 1.0));
    let (loss, pullback) = mse_vjp(&p, &q);
    assert!((loss - MSE_LOSS).abs() < 1e-14);
    let (dp, dq) = pullback(1.0);
    assert_close(dp.as_flat(), &MSE_DP, 1e-14);
    let neg: Vec<f64> = MSE_DP.iter().map(|v| -v).collect();
    assert_close(dq.as_flat(), &neg, 1e-14);
}

// ---------------------------------------------------------------------------------------------
// conv1d
// ---------------------------------------------------------------------------------------------

//     x = seq(14).reshape(1, 2, 7).requires_grad_()
//     w = seq(18, 0.51, 0.7, 1.0).reshape(3, 2, 3).requires_grad_()
//     b = seq(3, 1.3, 0.4, 0.5).requires_grad_()
//     y = F.conv1d(x, w, b, stride=2, padding=1)
//     y.backward(ctseq(y.numel()).reshape(y.shape))
//     show("CONV1D_Y", y); show("CONV1D_DW", w.grad); show("CONV1D_DB", b.grad)
//     show("CONV1D_DX", x.grad)
const CONV1D_Y: [f64; 12] = [
    1.600757125848759,
    4.060962504748611,
    3.6849115394944176,
    0.43770646799286916,
    -0.9894494514320622,
    -3.1472302187222154,
    -2.481846640968791,
    0.6570685785497354,
    1.6251931894479639,
    3.466192187060662,
    2.5159032386049063,
    -0.49383682739716117,
];
const CONV1D_DW: [f64; 18] = [
    3.9915553800775037,
    4.5712250573265205,
    4.392521634901428,
    -2.457430646137727,
    -2.7284444713771223,
    -2.7940286535854186,
    0.6520401020687325,
    1.051184896629693,
    1.6654474381407325,
    -0.08825587695244227,
    0.04840538954223769,
    -0.7747811023406631,
    -3.201517306531306,
    -3.2975670598516347,
    -2.374598379189683,
    2.3504962677376575,
    2.787094392726855,
    1.8552726360165885,
];
const CONV1D_DB: [f64; 3] = [3.640964907528007, 1.1647547970524663, -2.229701040324907];
const CONV1D_DX: [f64; 14] = [
    0.1578366870875484,
    0.26413183234943916,
    0.12731720684850328,
    0.20319122888590518,
    0.09009228454112317,
    0.13154911030266325,
    0.048122452965404516,
    -0.032931971504547825,
    -0.10010073038585142,
    -0.06542076228269317,
    -0.15714732017214095,
    -0.09446402403603904,
    -0.20591739904767614,
    -0.11853212919904921,
];

fn naive_conv1d(
    w: &[f64],
    b: &[f64],
    x: &[f64],
    (o_n, c_n, k_n, l_n): (usize, usize, usize, usize),
    s: usize,
    p: usize,
) -> Vec<f64> {
    let ol = (l_n + 2 * p - k_n) / s + 1;
    let mut y = vec![0.0; o_n * ol];
    for o in 0..o_n {
        for j in 0..ol {
            let mut acc = b[o];
            for c in 0..c_n {
                for k in 0..k_n {
                    let i = (j * s + k) as isize - p as isize;
                    if i >= 0 && (i as usize) < l_n {
                        acc += w[(o * c_n + c) * k_n + k] * x[c * l_n + i as usize];
                    }
                }
            }
            y[o * ol + j] = acc;
        }
    }
    y
}

#[test]
fn conv1d_matches_pytorch_and_a_direct_loop() {
    let x: Mat<f64, 2, 7> = t(&xs(14));
    let w: Filters1d<f64, 3, 2, 3> = t(&seq(18, 0.51, 0.7, 1.0));
    let b: Vector<f64, 3> = t(&seq(3, 1.3, 0.4, 0.5));
    let (y, pullback) = conv1d_vjp::<_, _, _, _, _, 2, 1, 4>(&x, &w, &b);
    assert_close(y.as_flat(), &CONV1D_Y, 1e-14);
    let (dx, dw, db) = pullback(t(&ctseq(12)));
    assert_close(dw.as_flat(), &CONV1D_DW, 1e-14);
    assert_close(db.as_flat(), &CONV1D_DB, 1e-14);
    assert_close(dx.as_flat(), &CONV1D_DX, 1e-14);
    let naive = naive_conv1d(w.as_flat(), b.as_flat(), x.as_flat(), (3, 2, 3, 7), 2, 1);
    assert_close(y.as_flat(), &naive, 1e-15);
}

#[test]
fn conv1d_derivatives() {
    // (O, C, K, L) = (3, 2, 3, 8), stride 1, padding 2 -> OL = 10
    const SIZES: [usize; 3] = [2 * 8, 3 * 2 * 3, 3]; // x, w, b
    type W = [[[f64; 3]; 2]; 3];
    type X = [[f64; 8]; 2];
    check(
        "conv1d",
        &xs(16 + 18 + 3),
        |p| {
            let p = split(p, &SIZES);
            flat(&conv1d::<_, _, _, _, _, 1, 2, 10>(
                &t::<X>(p[0]),
                &t::<W>(p[1]),
                &t(p[2]),
            ))
        },
        |p, tp| {
            let (p, tp) = (split(p, &SIZES), split(tp, &SIZES));
            let (y, dy) = conv1d_jvp::<_, _, _, _, _, 1, 2, 10>(
                &t::<X>(p[0]),
                &t::<W>(p[1]),
                &t(p[2]),
                &t(tp[0]),
                &t(tp[1]),
                &t(tp[2]),
            );
            (flat(&y), flat(&dy))
        },
        |p, ct| {
            let p = split(p, &SIZES);
            let (y, pb) =
                conv1d_vjp::<_, _, _, _, _, 1, 2, 10>(&t::<X>(p[0]), &t::<W>(p[1]), &t(p[2]));
            let (dx, dw, db) = pb(t(ct));
            (flat(&y), [flat(&dx), flat(&dw), flat(&db)].concat())
        },
    );
    let (w, b, x): (Tensor<W>, Vector<f64, 3>, Tensor<X>) = (t(&xs(18)), t(&xs(3)), t(&ctseq(16)));
    let y = conv1d::<_, _, _, _, _, 3, 1, 3>(&x, &w, &b);
    assert_close(
        y.as_flat(),
        &naive_conv1d(w.as_flat(), b.as_flat(), x.as_flat(), (3, 2, 3, 8), 3, 1),
        1e-15,
    );
}

// ---------------------------------------------------------------------------------------------
// locally connected
// ---------------------------------------------------------------------------------------------

#[test]
fn locally_connected2d_against_a_direct_loop_and_derivatives() {
    // input (2, 5, 6), O = 3 filters of 2x3 per position, stride 1 -> (3, 4, 4)
    const SIZES: [usize; 3] = [2 * 5 * 6, 4 * 4 * 3 * 2 * 2 * 3, 3 * 4 * 4]; // x, w, b
    type Wt = [[[[[[f64; 3]; 2]; 2]; 3]; 4]; 4];
    type Bt = [[[f64; 4]; 4]; 3];
    type X = [[[f64; 6]; 5]; 2];
    let p = xs(SIZES.iter().sum());
    let parts = split(&p, &SIZES);
    let (x, w, b): (Tensor<X>, Tensor<Wt>, Tensor<Bt>) = (t(parts[0]), t(parts[1]), t(parts[2]));
    let y = locally_connected2d::<_, _, _, _, _, _, _, 1, _, _>(&x, &w, &b);
    for o in 0..3 {
        for i in 0..4 {
            for j in 0..4 {
                let mut acc = b[o][i][j];
                for c in 0..2 {
                    for pp in 0..2 {
                        for q in 0..3 {
                            acc += w[i][j][o][c][pp][q] * x[c][i + pp][j + q];
                        }
                    }
                }
                assert!((y[o][i][j] - acc).abs() < 1e-14);
            }
        }
    }
    check(
        "locally_connected2d",
        &p,
        |p| {
            let p = split(p, &SIZES);
            flat(&locally_connected2d::<_, _, _, _, _, _, _, 1, _, _>(
                &t::<X>(p[0]),
                &t::<Wt>(p[1]),
                &t::<Bt>(p[2]),
            ))
        },
        |p, tp| {
            let (p, tp) = (split(p, &SIZES), split(tp, &SIZES));
            let (y, dy) = locally_connected2d_jvp::<_, _, _, _, _, _, _, 1, _, _>(
                &t::<X>(p[0]),
                &t::<Wt>(p[1]),
                &t::<Bt>(p[2]),
                &t(tp[0]),
                &t(tp[1]),
                &t(tp[2]),
            );
            (flat(&y), flat(&dy))
        },
        |p, ct| {
            let p = split(p, &SIZES);
            let (y, pb) = locally_connected2d_vjp::<_, _, _, _, _, _, _, 1, _, _>(
                &t::<X>(p[0]),
                &t::<Wt>(p[1]),
                &t::<Bt>(p[2]),
            );
            let (dx, dw, db) = pb(t(ct));
            (flat(&y), [flat(&dx), flat(&dw), flat(&db)].concat())
        },
    );
}

#[test]
fn locally_connected2d_with_shared_weights_is_a_correlation() {
    // stride 2 on a single channel: with the same 3x3 filter at every position it equals
    // correlate2d(x, w, Valid) sampled every second row and column
    let x: Mat<f64, 7, 7> = t(&xs(49));
    let k: Mat<f64, 3, 3> = t(&ctseq(9));
    let w: LocalWeights<f64, 3, 3, 1, 1, 3, 3> = Tensor::from_flat_fn(|i| k.as_flat()[i % 9]);
    let b: Image<f64, 1, 3, 3> = Image::zeros();
    let xi: Image<f64, 1, 7, 7> = t(x.as_flat());
    let y = locally_connected2d::<_, _, _, _, _, _, _, 2, _, _>(&xi, &w, &b);
    let full: Mat<f64, 5, 5> = correlate2d(&x, &k, Mode::Valid);
    for i in 0..3 {
        for j in 0..3 {
            assert!((y[0][i][j] - full[2 * i][2 * j]).abs() < 1e-14);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// correlate2d / convolve2d
// ---------------------------------------------------------------------------------------------

// JAX 0.10, float64 (`jax.scipy.signal` follows SciPy; for `Full` and `Valid` there is no
// centring question, for `Same` only odd kernels are compared, as SciPy and MATLAB centre even
// kernels differently):
//
//     import math, numpy as np, jax
//     jax.config.update("jax_enable_x64", True)
//     from jax.scipy.signal import convolve2d, correlate2d
//     x = np.array([2 * math.sin(0.37 * i + 0.1) for i in range(30)]).reshape(5, 6)
//     w = np.array([math.cos(0.9 * i + 0.3) for i in range(6)]).reshape(2, 3)
//     w3 = np.array([math.cos(0.9 * i + 0.3) for i in range(9)]).reshape(3, 3)
//     for mode in ['full', 'valid']:
//         print("CONV_" + mode.upper(), "=", [float(v) for v in np.asarray(convolve2d(x, w, mode=mode)).flatten()])
//         print("CORR_" + mode.upper(), "=", [float(v) for v in np.asarray(correlate2d(x, w, mode=mode)).flatten()])
//     print("CONV_SAME_3X3 =", [float(v) for v in np.asarray(convolve2d(x, w3, mode='same')).flatten()])
//     print("CORR_SAME_3X3 =", [float(v) for v in np.asarray(correlate2d(x, w3, mode='same')).flatten()])
const CONV_FULL: [f64; 48] = [
    0.19074901151358928,
    0.9376684130501103,
    1.6501821795693872,
    1.870034875865144,
    1.8367871244427327,
    1.5549388524849233,
    -0.3364179325432752,
    -0.9379633868997944,
    1.2013861671537744,
    0.3228227646067514,
    -2.3817803696608393,
    -3.779379858308625,
    -4.665458013006742,
    -4.920088312297333,
    -1.1766479030735346,
    1.0273451993036293,
    -3.3321598366226164,
    -4.51462639060401,
    -1.9937674932377154,
    -0.23040671815145147,
    1.5641385253498343,
    3.1469849571505466,
    1.4763583118120749,
    -0.25752690077591434,
    2.8275434263626695,
    5.135832510228683,
    4.792453701657512,
    4.057965667759554,
    2.774251017507856,
    1.1150545066363262,
    -0.6084236375289459,
    -0.7159682538584513,
    -0.08663576322232441,
    -1.695132025059783,
    -3.8008100453163416,
    -4.676098002486838,
    -4.9184980315881255,
    -4.495202425831286,
    -0.7407105281451736,
    1.1232073685269282,
    -0.8519033035460771,
    -0.7725968648382827,
    0.5429090260978143,
    1.6576108805775576,
    2.5479628785752966,
    3.0934600539920756,
    1.2815147137820329,
    -0.17260467099210697,
];
const CORR_FULL: [f64; 48] = [
    0.017470644939768337,
    -0.06569042519653821,
    -0.7248872041071746,
    -1.8140981424003044,
    -2.6577794074386527,
    -3.141742697887012,
    -3.3286248667477154,
    -1.8393262949958376,
    0.027337990983998247,
    -1.3716568952644022,
    -2.302034572950741,
    -0.5718798269932571,
    1.2356761707382178,
    2.8759891955792405,
    5.038783067819672,
    3.4707517611956424,
    -0.9117324931458356,
    1.3487832581601507,
    4.859718008628794,
    4.24216096340166,
    3.0504473326548207,
    1.4458699657284937,
    -1.429441025849799,
    -1.847538875490957,
    1.0750419076732476,
    -0.25916306850686316,
    -3.573872544684569,
    -4.557336262242278,
    -4.923985896136367,
    -4.624197138450463,
    -3.310439430777927,
    -1.2368841151039005,
    -0.388105560386786,
    -1.0354280148798205,
    -0.538532481907519,
    1.2681350112247876,
    2.9031663796780878,
    4.145267798011117,
    5.432108378002828,
    3.343061077134038,
    -0.4344275999745931,
    0.2363818715049186,
    1.1699958101392274,
    0.5551016778131821,
    -0.13492286250518642,
    -0.80668622633524,
    -2.357936518312932,
    -1.8845423559280048,
];
const CONV_VALID: [f64; 16] = [
    -2.3817803696608393,
    -3.779379858308625,
    -4.665458013006742,
    -4.920088312297333,
    -1.9937674932377154,
    -0.23040671815145147,
    1.5641385253498343,
    3.1469849571505466,
    4.792453701657512,
    4.057965667759554,
    2.774251017507856,
    1.1150545066363262,
    -3.8008100453163416,
    -4.676098002486838,
    -4.9184980315881255,
    -4.495202425831286,
];
const CORR_VALID: [f64; 16] = [
    -2.302034572950741,
    -0.5718798269932571,
    1.2356761707382178,
    2.8759891955792405,
    4.859718008628794,
    4.24216096340166,
    3.0504473326548207,
    1.4458699657284937,
    -3.573872544684569,
    -4.557336262242278,
    -4.923985896136367,
    -4.624197138450463,
    -0.538532481907519,
    1.2681350112247876,
    2.9031663796780878,
    4.145267798011117,
];
const CONV_SAME_3X3: [f64; 30] = [
    0.3228227646067514,
    -2.3817803696608393,
    -3.779379858308625,
    -4.665458013006742,
    -4.920088312297333,
    -1.1766479030735346,
    -3.568836513106778,
    0.17926496538298223,
    3.060675645140947,
    5.527838234607613,
    7.246833851281577,
    3.935055180669753,
    7.255948662519754,
    6.265511298389041,
    4.040572781506901,
    1.2687616938316015,
    -1.674770337073634,
    -2.660313317214941,
    -5.204363972105346,
    -7.754923134943403,
    -7.946150548010655,
    -7.061903761482014,
    -5.221861429724939,
    -0.7184582653738603,
    1.3503152693815166,
    3.850787526074137,
    5.62883915258058,
    6.645053805863407,
    6.761891599879235,
    3.306499081478877,
];
const CORR_SAME_3X3: [f64; 30] = [
    1.6284326098472452,
    1.3833830019774054,
    -1.1278543487543846,
    -3.4864419043862016,
    -5.373155903897685,
    -5.977782645589339,
    -3.923731447318723,
    -6.394751940359682,
    -4.221483683945787,
    -1.476857414785037,
    1.4676545772155412,
    4.8070813117119195,
    2.740385155823543,
    7.699970961074825,
    7.968669770120601,
    7.158846508500352,
    5.380106955621719,
    1.4998683987179278,
    0.6103193082656039,
    -2.915317922836101,
    -5.413471129728367,
    -7.178936414952995,
    -7.972766334326886,
    -6.620579005177806,
    -1.0354280148798205,
    -0.538532481907519,
    1.2681350112247876,
    2.9031663796780878,
    4.145267798011117,
    5.432108378002828,
];

#[test]
fn correlate_and_convolve_match_jax() {
    let x: Mat<f64, 5, 6> = t(&xs(30));
    let w: Mat<f64, 2, 3> = Tensor::from_flat_fn(|i| (0.9 * i as f64 + 0.3).cos());
    let w3: Mat<f64, 3, 3> = Tensor::from_flat_fn(|i| (0.9 * i as f64 + 0.3).cos());
    let cf: Mat<f64, 6, 8> = convolve2d(&x, &w, Mode::Full);
    let rf: Mat<f64, 6, 8> = correlate2d(&x, &w, Mode::Full);
    let cv: Mat<f64, 4, 4> = convolve2d(&x, &w, Mode::Valid);
    let rv: Mat<f64, 4, 4> = correlate2d(&x, &w, Mode::Valid);
    let cs: Mat<f64, 5, 6> = convolve2d(&x, &w3, Mode::Same);
    let rs: Mat<f64, 5, 6> = correlate2d(&x, &w3, Mode::Same);
    assert_close(cf.as_flat(), &CONV_FULL, 1e-14);
    assert_close(rf.as_flat(), &CORR_FULL, 1e-14);
    assert_close(cv.as_flat(), &CONV_VALID, 1e-14);
    assert_close(rv.as_flat(), &CORR_VALID, 1e-14);
    assert_close(cs.as_flat(), &CONV_SAME_3X3, 1e-14);
    assert_close(rs.as_flat(), &CORR_SAME_3X3, 1e-14);
}

/// MATLAB's documentation of `conv`: `u = [-1 2 3 -2 0 1 2]; v = [2 4 -1 1];
/// w = conv(u, v, 'same')` gives `[15 5 -9 7 6 7 -1]` (an even kernel: MATLAB's centring).
#[test]
fn same_mode_centres_like_matlab() {
    let u: Mat<f64, 1, 7> = t(&[-1.0, 2.0, 3.0, -2.0, 0.0, 1.0, 2.0]);
    let v: Mat<f64, 1, 4> = t(&[2.0, 4.0, -1.0, 1.0]);
    let same: Mat<f64, 1, 7> = convolve2d(&u, &v, Mode::Same);
    assert_eq!(same.as_flat(), &[15.0, 5.0, -9.0, 7.0, 6.0, 7.0, -1.0]);
    let full: Mat<f64, 1, 10> = convolve2d(&u, &v, Mode::Full);
    assert_eq!(
        full.as_flat(),
        &[-2.0, 0.0, 15.0, 5.0, -9.0, 7.0, 6.0, 7.0, -1.0, 2.0]
    );
    // in 2-D, Same is the window of Full at (KH / 2, KW / 2)
    let x: Mat<f64, 5, 6> = t(&xs(30));
    let w: Mat<f64, 4, 2> = t(&ctseq(8));
    let full: Mat<f64, 8, 7> = convolve2d(&x, &w, Mode::Full);
    let same: Mat<f64, 5, 6> = convolve2d(&x, &w, Mode::Same);
    assert_eq!(same.as_flat(), &window(&rows(&full), 2, 1, 5, 6)[..]);
    let same: Mat<f64, 5, 6> = correlate2d(&x, &w, Mode::Same);
    let full: Mat<f64, 8, 7> = correlate2d(&x, &w, Mode::Full);
    assert_eq!(same.as_flat(), &window(&rows(&full), 2, 1, 5, 6)[..]);
}

#[test]
fn convolve2d_against_matlabs_definition() {
    let x: Mat<f64, 5, 6> = t(&xs(30));
    let w: Mat<f64, 3, 2> = t(&ctseq(6));
    let naive = naive_full_conv(&rows(&x), &rows(&w));
    let full: Mat<f64, 7, 7> = convolve2d(&x, &w, Mode::Full);
    assert_close(full.as_flat(), &window(&naive, 0, 0, 7, 7), 1e-15);
    let same: Mat<f64, 5, 6> = convolve2d(&x, &w, Mode::Same);
    assert_close(same.as_flat(), &window(&naive, 1, 1, 5, 6), 1e-15);
    let valid: Mat<f64, 3, 5> = convolve2d(&x, &w, Mode::Valid);
    assert_close(valid.as_flat(), &window(&naive, 2, 1, 3, 5), 1e-15);
}

#[test]
fn valid_gives_n_minus_m_plus_one() {
    assert_eq!(Mode::Valid.output_len(32, 5), 28);
    assert_eq!(Mode::Full.output_len(32, 5), 36);
    assert_eq!(Mode::Same.output_len(32, 5), 32);
    let x: Mat<f32, 32, 32> = Tensor::from_flat_fn(|i| i as f32);
    let w: Mat<f32, 5, 5> = Tensor::from_flat_fn(|_| 1.0);
    let y: Mat<f32, 28, 28> = correlate2d(&x, &w, Mode::Valid);
    assert_eq!(y.as_flat().len(), 28 * 28);
    let y: Mat<f32, 28, 28> = convolve2d(&x, &w, Mode::Valid);
    assert_eq!(
        y[0][0],
        (0..5)
            .flat_map(|r| (0..5).map(move |c| (32 * r + c) as f32))
            .sum()
    );
}

#[test]
#[should_panic(expected = "mode Valid")]
fn a_size_of_another_mode_panics() {
    let x: Mat<f64, 5, 5> = Mat::zeros();
    let w: Mat<f64, 3, 3> = Mat::zeros();
    let _: Mat<f64, 5, 5> = correlate2d(&x, &w, Mode::Valid); // the size of Same
}

#[test]
fn true_convolution_is_associative_and_commutative() {
    let a: Mat<f64, 4, 5> = t(&xs(20));
    let b: Mat<f64, 3, 2> = t(&ctseq(6));
    let c: Mat<f64, 2, 3> = t(&seq(6, 0.9, 0.4, 1.0));
    let ab: Mat<f64, 6, 6> = convolve2d(&a, &b, Mode::Full);
    let ab_c: Mat<f64, 7, 8> = convolve2d(&ab, &c, Mode::Full);
    let bc: Mat<f64, 4, 4> = convolve2d(&b, &c, Mode::Full);
    let a_bc: Mat<f64, 7, 8> = convolve2d(&a, &bc, Mode::Full);
    assert_close(ab_c.as_flat(), a_bc.as_flat(), 1e-14);
    let ba: Mat<f64, 6, 6> = convolve2d(&b, &a, Mode::Full);
    assert_close(ab.as_flat(), ba.as_flat(), 1e-15);
    // correlation is not associative
    let ab: Mat<f64, 6, 6> = correlate2d(&a, &b, Mode::Full);
    let ab_c: Mat<f64, 7, 8> = correlate2d(&ab, &c, Mode::Full);
    let bc: Mat<f64, 4, 4> = correlate2d(&b, &c, Mode::Full);
    let a_bc: Mat<f64, 7, 8> = correlate2d(&a, &bc, Mode::Full);
    assert!(
        ab_c.as_flat()
            .iter()
            .zip(a_bc.as_flat())
            .any(|(p, q)| (p - q).abs() > 1e-3)
    );
}

#[test]
fn convolution_is_correlation_with_the_flipped_kernel() {
    let x: Mat<f64, 5, 6> = t(&xs(30));
    let w: Mat<f64, 3, 4> = t(&ctseq(12));
    let flipped: Mat<f64, 3, 4> = Mat::from_matrix_fn(|u, v| w[2 - u][3 - v]);
    for mode in [Mode::Full, Mode::Same, Mode::Valid] {
        let sizes = (mode.output_len(5, 3), mode.output_len(6, 4));
        match sizes {
            (7, 9) => {
                let a: Mat<f64, 7, 9> = convolve2d(&x, &w, mode);
                let b: Mat<f64, 7, 9> = correlate2d(&x, &flipped, mode);
                assert_eq!(a, b);
            }
            (5, 6) => {
                let a: Mat<f64, 5, 6> = convolve2d(&x, &w, mode);
                let b: Mat<f64, 5, 6> = correlate2d(&x, &flipped, mode);
                assert_eq!(a, b);
            }
            (3, 3) => {
                let a: Mat<f64, 3, 3> = convolve2d(&x, &w, mode);
                let b: Mat<f64, 3, 3> = correlate2d(&x, &flipped, mode);
                assert_eq!(a, b);
            }
            other => panic!("unexpected sizes {other:?}"),
        }
    }
}

/// jvp against finite differences and the dot-product test, in every mode, for both.
fn check_corr_conv<const OH: usize, const OW: usize>(mode: Mode) {
    type X = [[f64; 6]; 5];
    type W = [[f64; 3]; 4];
    let p = xs(30 + 12);
    let name = format!("correlate2d {mode:?}");
    check(
        &name,
        &p,
        |p| {
            flat(&correlate2d::<_, 5, 6, 4, 3, OH, OW>(
                &t::<X>(&p[..30]),
                &t::<W>(&p[30..]),
                mode,
            ))
        },
        |p, tp| {
            let (y, dy) = correlate2d_jvp::<f64, 5, 6, 4, 3, OH, OW>(
                &t(&p[..30]),
                &t(&p[30..]),
                mode,
                &t(&tp[..30]),
                &t(&tp[30..]),
            );
            (flat(&y), flat(&dy))
        },
        |p, ct| {
            let (y, pb) =
                correlate2d_vjp::<f64, 5, 6, 4, 3, OH, OW>(&t(&p[..30]), &t(&p[30..]), mode);
            let (dx, dw) = pb(t(ct));
            (flat(&y), [flat(&dx), flat(&dw)].concat())
        },
    );
    let name = format!("convolve2d {mode:?}");
    check(
        &name,
        &p,
        |p| {
            flat(&convolve2d::<_, 5, 6, 4, 3, OH, OW>(
                &t::<X>(&p[..30]),
                &t::<W>(&p[30..]),
                mode,
            ))
        },
        |p, tp| {
            let (y, dy) = convolve2d_jvp::<f64, 5, 6, 4, 3, OH, OW>(
                &t(&p[..30]),
                &t(&p[30..]),
                mode,
                &t(&tp[..30]),
                &t(&tp[30..]),
            );
            (flat(&y), flat(&dy))
        },
        |p, ct| {
            let (y, pb) =
                convolve2d_vjp::<f64, 5, 6, 4, 3, OH, OW>(&t(&p[..30]), &t(&p[30..]), mode);
            let (dx, dw) = pb(t(ct));
            (flat(&y), [flat(&dx), flat(&dw)].concat())
        },
    );
}

#[test]
fn correlate_and_convolve_derivatives() {
    check_corr_conv::<8, 8>(Mode::Full);
    check_corr_conv::<5, 6>(Mode::Same);
    check_corr_conv::<2, 4>(Mode::Valid);
}

// ---------------------------------------------------------------------------------------------
// generic scalars, owned pullbacks, parameter counts
// ---------------------------------------------------------------------------------------------

/// The layers run on dual numbers (so forward-over-reverse works), and a forward pass on duals
/// gives the jvp.
#[test]
fn layers_run_on_dual_numbers() {
    type D = Dual<f64>;
    let xv = xs(50);
    let tv = ctseq(50);
    let x: Image<f64, 2, 5, 5> = t(&xv);
    let tx: Image<f64, 2, 5, 5> = t(&tv);
    let xd: Image<D, 2, 5, 5> = Tensor::from_flat_fn(|i| Dual::new(xv[i], tv[i]));

    let yd = max_pool2d::<_, _, _, _, 2, 1, 4, 4>(&relu(&xd));
    let (h, dh) = relu_jvp(&x, &tx);
    let (y, dy) = max_pool2d_jvp::<_, _, _, _, 2, 1, 4, 4>(&h, &dh);
    for i in 0..32 {
        assert_eq!(yd.as_flat()[i].value(), y.as_flat()[i]);
        assert_eq!(yd.as_flat()[i].tangent(), dy.as_flat()[i]);
    }
    let v: Vector<D, 50> = flatten(&xd);
    let w: Mat<D, 4, 50> = Tensor::from_flat_fn(|i| Dual::constant((i as f64 * 0.1).sin()));
    let b: Vector<D, 4> = Vector::zeros();
    let (loss, pullback) = softmax_cross_entropy_vjp(&linear(&w, &b, &v), 1);
    assert!(loss.value().is_finite() && loss.tangent().is_finite());
    let g = pullback(Dual::constant(1.0));
    assert!(g.as_flat().iter().all(|d| d.value().is_finite()));
}

/// Every pullback owns its residuals: it outlives the (temporary) arguments it was made from.
#[test]
fn pullbacks_outlive_their_arguments() {
    let pb_relu = {
        let x: Vector<f64, 3> = Vector::from_array([-1.0, 1.0, 2.0]);
        relu_vjp(&x).1
    };
    let pb_pool =
        max_pool2d_vjp::<f64, 1, 2, 2, 2, 2, 1, 1>(&Image::from_flat(&[1.0, 2.0, 3.0, 4.0])).1;
    let pb_lin = linear_vjp::<f64, 1, 2>(
        &Mat::from_flat(&[1.0, 2.0]),
        &Vector::zeros(),
        &Vector::from_array([3.0, 4.0]),
    )
    .1;
    let pb_sce = softmax_cross_entropy_vjp(&Vector::from_array([0.0_f64, 0.0]), 0).1;
    let pb_mse = mse_vjp(&Vector::from_array([1.0_f64]), &Vector::from_array([0.0])).1;
    let pb_corr = correlate2d_vjp::<f64, 1, 2, 1, 1, 1, 2>(
        &Mat::from_flat(&[1.0, 2.0]),
        &Mat::from_flat(&[3.0]),
        Mode::Same,
    )
    .1;
    assert_eq!(*pb_relu(Vector::from_array([1.0; 3])), [0.0, 1.0, 1.0]);
    assert_eq!(
        pb_pool(Image::from_flat(&[1.0])).as_flat(),
        &[0.0, 0.0, 0.0, 1.0]
    );
    assert_eq!(*pb_lin(Vector::from_array([1.0])).2, [1.0, 2.0]);
    assert_eq!(*pb_sce(1.0), [-0.5, 0.5]);
    assert_eq!(pb_mse(1.0).0[0], 2.0);
    assert_eq!(*pb_corr(Mat::from_flat(&[1.0, 1.0])).1, [[3.0]]);
}

#[test]
fn parameter_counts_of_the_course() {
    // a 200x200 image into 40 000 hidden units
    assert_eq!(LinearShape::<{ 200 * 200 }, 40_000>::WEIGHTS, 1_600_000_000);
    assert_eq!(LinearShape::<{ 200 * 200 }, 40_000>::PARAMS, 1_600_040_000);
    assert_eq!(
        LocallyConnected2dShape::<1, 1, 10, 10, 200, 200>::WEIGHTS,
        4_000_000
    );
    assert_eq!(Conv2dShape::<1, 100, 10, 10>::WEIGHTS, 10_000);
    assert_eq!(Conv2dShape::<1, 100, 10, 10>::PARAMS, 10_100);
    // 3x32x32 through six 5x5x3 filters -> 6x28x28
    assert_eq!(Conv2dShape::<3, 6, 5, 5>::PARAMS, 456);
    assert_eq!(conv_output_size(32, 5, 1, 0), 28);
    assert_eq!(LinearShape::<256, 10>::PARAMS, 2570);
    assert_eq!(Conv1dShape::<2, 3, 3>::PARAMS, 21);
    // the shape of a layer's weights matches its count
    assert_eq!(
        LocalWeights::<f32, 4, 4, 3, 2, 2, 3>::LEN,
        LocallyConnected2dShape::<2, 3, 2, 3, 4, 4>::WEIGHTS
    );
    assert_eq!(
        Filters1d::<f32, 3, 2, 3>::LEN,
        Conv1dShape::<2, 3, 3>::WEIGHTS
    );
}

/// The naive max pooling: for each window, every element in row-major order, a larger one or
/// the first NaN taking over; the value and the flat index of the winner.
fn naive_max_pool(
    x: &[f32],
    (n, c, h, w): (usize, usize, usize, usize),
    k: usize,
    s: usize,
) -> (Vec<f32>, Vec<usize>) {
    let (oh, ow) = ((h - k) / s + 1, (w - k) / s + 1);
    let (mut y, mut at) = (Vec::new(), Vec::new());
    for img in 0..n {
        for ch in 0..c {
            for i in 0..oh {
                for j in 0..ow {
                    let mut best: Option<(f32, usize)> = None;
                    for p in 0..k {
                        for q in 0..k {
                            let idx = ((img * c + ch) * h + i * s + p) * w + j * s + q;
                            let v = x[idx];
                            best = match best {
                                None => Some((v, idx)),
                                Some((b, _)) if b.is_nan() => best,
                                Some(_) if v.is_nan() => Some((v, idx)),
                                Some((b, _)) if v > b => Some((v, idx)),
                                keep => keep,
                            };
                        }
                    }
                    let (v, idx) = best.unwrap();
                    y.push(v);
                    at.push(idx);
                }
            }
        }
    }
    (y, at)
}

/// LeNet's 2x2 stride-2 pooling (its own code path) and a 3x3 stride-2 one, on values with
/// many ties (few distinct levels) and a few NaNs, against the naive reference: the values,
/// the tangent (picked at the winner) and the pullback (sent to the winner).
#[test]
fn batch_max_pool_matches_a_naive_reference_with_ties_and_nans() {
    fn run<const K: usize, const S: usize, const OH: usize, const OW: usize>() {
        const N: usize = 5;
        let x: Batch<f32, N, 3, 9, 8> = Tensor::from_flat_fn(|i| {
            if i % 37 == 5 {
                f32::NAN
            } else {
                ((i * 7919) % 5) as f32 - 2.0
            }
        });
        let tx: Batch<f32, N, 3, 9, 8> = Tensor::from_flat_fn(|i| i as f32);
        let ct: Batch<f32, N, 3, OH, OW> = Tensor::from_flat_fn(|i| 1.0 + i as f32);
        let (want, at) = naive_max_pool(x.as_flat(), (N, 3, 9, 8), K, S);
        let (y, pb) = max_pool2d_batch_vjp::<_, _, _, _, _, K, S, OH, OW>(&x);
        let (y2, dy) = max_pool2d_batch_jvp::<_, _, _, _, _, K, S, OH, OW>(&x, &tx);
        for (o, (&v, &a)) in want.iter().zip(&at).enumerate() {
            assert!(y.as_flat()[o].to_bits() == v.to_bits(), "K={K}: output {o}");
            assert!(y2.as_flat()[o].to_bits() == v.to_bits());
            assert_eq!(dy.as_flat()[o], a as f32, "K={K}: tangent of output {o}");
        }
        let mut dx = vec![0.0f32; x.as_flat().len()];
        for (o, &a) in at.iter().enumerate() {
            dx[a] += ct.as_flat()[o];
        }
        assert_eq!(pb(ct).as_flat(), &dx[..], "K={K}: pullback");
    }
    run::<2, 2, 4, 4>();
    run::<3, 2, 4, 3>();
}

/// The fused ReLU + max-pool equals `relu` then `max_pool2d_batch` bit for bit, values,
/// tangents and adjoints, on values with ties, zeros, negatives, whole negative windows and NaNs.
#[test]
fn relu_max_pool_equals_relu_then_max_pool() {
    fn run<const K: usize, const S: usize, const OH: usize, const OW: usize>() {
        const N: usize = 4;
        let x: Batch<f32, N, 3, 9, 8> = Tensor::from_flat_fn(|i| {
            if i % 41 == 7 {
                f32::NAN
            } else if (i / 16) % 3 == 0 {
                -1.0 - (i % 4) as f32
            } else {
                ((i * 7919) % 5) as f32 - 2.0
            }
        });
        let tx: Batch<f32, N, 3, 9, 8> = Tensor::from_flat_fn(|i| 1.0 + i as f32);
        let ct: Batch<f32, N, 3, OH, OW> = Tensor::from_flat_fn(|i| 0.5 + i as f32);
        let (y, pb) = relu_max_pool2d_batch_vjp::<_, _, _, _, _, K, S, OH, OW>(&x);
        let (y2, dy) = relu_max_pool2d_batch_jvp::<_, _, _, _, _, K, S, OH, OW>(&x, &tx);
        let y3 = relu_max_pool2d_batch::<_, _, _, _, _, K, S, OH, OW>(&x);
        let (r, relu_pb) = relu_vjp(&x);
        let (want, pool_pb) = max_pool2d_batch_vjp::<_, _, _, _, _, K, S, OH, OW>(&r);
        let (_, dr) = relu_jvp(&x, &tx);
        let (_, want_dy) = max_pool2d_batch_jvp::<_, _, _, _, _, K, S, OH, OW>(&r, &dr);
        assert!(want.as_flat().contains(&0.0) && want.as_flat().iter().any(|&v| v > 0.0));
        let bits = |t: &[f32]| t.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(y.as_flat()), bits(want.as_flat()), "K={K}: values");
        assert_eq!(bits(y2.as_flat()), bits(want.as_flat()));
        assert_eq!(bits(y3.as_flat()), bits(want.as_flat()));
        assert_eq!(
            bits(dy.as_flat()),
            bits(want_dy.as_flat()),
            "K={K}: tangents"
        );
        let want_dx = relu_pb(pool_pb(ct.clone()));
        assert_eq!(
            bits(pb(ct).as_flat()),
            bits(want_dx.as_flat()),
            "K={K}: adjoints"
        );
    }
    run::<2, 2, 4, 4>();
    run::<3, 2, 4, 3>();
}
