//! `conv2d` and `conv2d_batch` (values and generated gradients) against numbers from JAX
//! (`jax.lax.conv_general_dilated` and `jax.grad`, float64) on shapes held out from the other
//! tests: odd and rectangular sizes, a rectangular kernel, stride 2, padding 1 and 2, up to five
//! channels. The numbers are in `jax_oracle/conv2d_cases.rs`, written by
//! `jax_oracle/make_conv2d.py` (kept beside them); this test needs no Python.

use conv_kernels::layers::conv2d_batch_vjp;
use conv_kernels::layers::{conv2d, conv2d_vjp};
use conv_kernels::{Batch, Filters, Image, Tensor, Vector};

#[rustfmt::skip]
#[allow(clippy::excessive_precision, clippy::approx_constant, clippy::unreadable_literal)]
#[path = "jax_oracle/conv2d_cases.rs"]
mod cases;

/// Entry `i` (row-major) of the formulas of `make_conv2d.py`.
fn x_at(i: usize) -> f64 {
    (0.37 * i as f64 + 0.1).sin()
}
fn w_at(i: usize) -> f64 {
    (0.53 * i as f64).cos() * 0.5
}
fn b_at(o: usize) -> f64 {
    0.1 * o as f64 - 0.2
}
fn g_at(i: usize) -> f64 {
    (0.29 * i as f64 + 1.3).sin()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
            "{what}[{i}]: got {g}, JAX gives {w}"
        );
    }
}

/// One held-out case: every image through `conv2d` and its pullback, and the batch through
/// `conv2d_batch` and its pullback, against the JAX module `$case`.
macro_rules! check_case {
    ($case:ident, $n:literal, $c:literal, $h:literal, $w:literal, $o:literal, $kh:literal,
     $kw:literal, $s:literal, $p:literal, $oh:literal, $ow:literal) => {{
        use cases::$case as jax;
        let x: Batch<f64, $n, $c, $h, $w> = Tensor::from_flat_fn(x_at);
        let w: Filters<f64, $o, $c, $kh, $kw> = Tensor::from_flat_fn(w_at);
        let b: Vector<f64, $o> = Tensor::from_flat_fn(b_at);
        let g: Batch<f64, $n, $o, $oh, $ow> = Tensor::from_flat_fn(g_at);
        let (image_len, out_len) = ($c * $h * $w, $o * $oh * $ow);

        // One image at a time.
        for n in 0..$n {
            let xn: Image<f64, $c, $h, $w> = Tensor::from_array(x[n]);
            let gn: Image<f64, $o, $oh, $ow> = Tensor::from_array(g[n]);
            let y = conv2d::<f64, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&xn, &w, &b);
            let want_y = &jax::Y[n * out_len..][..out_len];
            assert_close(concat!(stringify!($case), " y"), y.as_flat(), want_y);
            let (y, pullback) =
                conv2d_vjp::<f64, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&xn, &w, &b);
            assert_close(concat!(stringify!($case), " vjp y"), y.as_flat(), want_y);
            let (dx, dw, db) = pullback(gn);
            let want_dx = &jax::DX[n * image_len..][..image_len];
            assert_close(concat!(stringify!($case), " dx"), dx.as_flat(), want_dx);
            if n == 0 {
                assert_close(concat!(stringify!($case), " dw"), dw.as_flat(), &jax::DW0);
                assert_close(concat!(stringify!($case), " db"), db.as_flat(), &jax::DB0);
            }
        }

        // The whole batch.
        let (y, pullback) =
            conv2d_batch_vjp::<f64, $n, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w, &b);
        assert_close(concat!(stringify!($case), " batch y"), y.as_flat(), &jax::Y);
        let (dx, dw, db) = pullback(g);
        assert_close(
            concat!(stringify!($case), " batch dx"),
            dx.as_flat(),
            &jax::DX,
        );
        assert_close(
            concat!(stringify!($case), " batch dw"),
            dw.as_flat(),
            &jax::DW,
        );
        assert_close(
            concat!(stringify!($case), " batch db"),
            db.as_flat(),
            &jax::DB,
        );
    }};
}

#[test]
fn odd_sizes_stride_2_padding_1_match_jax() {
    check_case!(odd_stride2_pad1, 2, 3, 7, 9, 4, 3, 3, 2, 1, 4, 5);
}

#[test]
fn rectangular_kernel_padding_2_matches_jax() {
    check_case!(rect_kernel_pad2, 2, 2, 6, 5, 3, 2, 3, 1, 2, 9, 7);
}

#[test]
fn five_channels_stride_2_padding_2_match_jax() {
    check_case!(
        five_channels_stride2_pad2,
        2,
        5,
        11,
        11,
        2,
        5,
        5,
        2,
        2,
        6,
        6
    );
}
