//! The fused im2col + GEMM rule `im2col_gemm` (and `conv2d`, which is built on it) against a
//! naive direct convolution on odd shapes (stride 1 and 2, padding 0 to 2, kernels 1, 3 and 5,
//! rectangular images and kernels, filter counts that are not multiples of the register tile),
//! in `f64` (the gathered-block path through the blocked GEMM) and in `f32` (with AVX2 or
//! AVX-512: the wide-row kernels at stride 1 with long output rows, the pixel-row kernel
//! otherwise), each with every kernel this CPU has ([`Kernel::install`]); its pullback against
//! the dot-product test and against the unfused `image_patches` +
//! `filters_times_image_patches`; and the batched `conv2d_batch` (the same rules image by
//! image) against them.

use autodiff_core::Differentiable;
use autodiff_core::num_traits::ToPrimitive;
use conv_kernels::gemm::Kernel;
use conv_kernels::layers::{
    conv2d, filters_times_image_patches, filters_times_image_patches_vjp, im2col_gemm,
    im2col_gemm_jvp, im2col_gemm_vjp, image_patches, image_patches_vjp,
};
use conv_kernels::{Filters, Image, Scalar, Tensor, Vector};

/// A deterministic pseudo-random fill in [-1, 1).
fn fill<F: Scalar, T: conv_kernels::Zeros<Scalar = F>>(seed: u64) -> Tensor<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Tensor::from_flat_fn(|_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        F::from((s >> 11) as f64 / (1u64 << 52) as f64 - 1.0).unwrap()
    })
}

/// Direct cross-correlation with stride and zero padding, accumulated in `f64`.
#[allow(clippy::too_many_arguments)]
fn naive<F: Scalar>(
    (c_n, h, w_n): (usize, usize, usize),
    (o_n, kh, kw): (usize, usize, usize),
    (s, p): (usize, usize),
    (oh, ow): (usize, usize),
    x: &[F],
    w: &[F],
) -> Vec<f64> {
    let mut y = vec![0.0; o_n * oh * ow];
    for o in 0..o_n {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = 0.0;
                for c in 0..c_n {
                    for u in 0..kh {
                        for v in 0..kw {
                            let r = (i * s + u) as isize - p as isize;
                            let q = (j * s + v) as isize - p as isize;
                            if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w_n {
                                let wv = w[((o * c_n + c) * kh + u) * kw + v].to_f64().unwrap();
                                let xv =
                                    x[(c * h + r as usize) * w_n + q as usize].to_f64().unwrap();
                                acc += wv * xv;
                            }
                        }
                    }
                }
                y[(o * oh + i) * ow + j] = acc;
            }
        }
    }
    y
}

fn assert_close<F: Scalar>(what: &str, got: &[F], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, &e)) in got.iter().zip(want).enumerate() {
        let g = g.to_f64().unwrap();
        assert!(
            (g - e).abs() <= tol * (1.0 + e.abs()),
            "{what}[{i}]: got {g}, want {e}"
        );
    }
}

/// One shape in one scalar type: the forward against the naive loops (with and without bias),
/// the pullback against the dot-product test with the jvp, and both against the unfused rules.
macro_rules! check {
    ($f:ty, $tol:expr, $c:literal, $h:literal, $w:literal, $o:literal, $kh:literal,
     $kw:literal, $s:literal, $p:literal, $oh:literal, $ow:literal) => {{
        type F = $f;
        let seed = ($c * 1000 + $h * 100 + $o * 10 + $kh + $s + $p) as u64;
        let x: Image<F, $c, $h, $w> = fill(seed);
        let w: Filters<F, $o, $c, $kh, $kw> = fill(seed + 1);
        let b: Vector<F, $o> = fill(seed + 2);
        let what = concat!(
            stringify!($f),
            " C",
            $c,
            " ",
            $h,
            "x",
            $w,
            " O",
            $o,
            " K",
            $kh,
            "x",
            $kw,
            " S",
            $s,
            " P",
            $p
        );
        let want = naive(
            ($c, $h, $w),
            ($o, $kh, $kw),
            ($s, $p),
            ($oh, $ow),
            x.as_flat(),
            w.as_flat(),
        );
        let y = im2col_gemm::<F, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w);
        assert_close(what, y.as_flat(), &want, $tol);
        let y_bias = conv2d::<F, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w, &b);
        let want_bias: Vec<f64> = want
            .iter()
            .enumerate()
            .map(|(i, &v)| v + b.as_flat()[i / ($oh * $ow)].to_f64().unwrap())
            .collect();
        assert_close(what, y_bias.as_flat(), &want_bias, $tol);

        // Dot-product test: <J t, c> == <t, Jᵀ c>.
        let (tx, tw): (Image<F, $c, $h, $w>, Filters<F, $o, $c, $kh, $kw>) =
            (fill(seed + 3), fill(seed + 4));
        let ct: Image<F, $o, $oh, $ow> = fill(seed + 5);
        let (y_jvp, ty) =
            im2col_gemm_jvp::<F, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w, &tx, &tw);
        assert_eq!(y_jvp, y, "{what}: jvp value");
        let (y_vjp, pullback) =
            im2col_gemm_vjp::<F, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w);
        assert_eq!(y_vjp, y, "{what}: vjp value");
        let (ax, aw) = pullback(ct.clone());
        let lhs = ty.dot(&ct).to_f64().unwrap();
        let rhs = (ax.dot(&tx) + aw.dot(&tw)).to_f64().unwrap();
        assert!(
            (lhs - rhs).abs() <= $tol * 10.0 * (1.0 + lhs.abs()),
            "{what}: dot-product test {lhs} {rhs}"
        );

        // The unfused pieces give the same gradients.
        let (cols, patches_back) =
            image_patches_vjp::<F, $c, $h, $w, $kh, $kw, $s, $p, $oh, $ow>(&x);
        let (y_unfused, product_back) = filters_times_image_patches_vjp(&w, cols);
        let (aw_unfused, dcols) = product_back(ct.clone());
        let ax_unfused = patches_back(dcols);
        let y_plain = filters_times_image_patches(
            &w,
            image_patches::<F, $c, $h, $w, $kh, $kw, $s, $p, $oh, $ow>(&x),
        );
        assert_eq!(y_unfused, y_plain);
        let to_f64 = |v: &[F]| v.iter().map(|a| a.to_f64().unwrap()).collect::<Vec<_>>();
        assert_close(what, ax.as_flat(), &to_f64(ax_unfused.as_flat()), $tol);
        assert_close(what, aw.as_flat(), &to_f64(aw_unfused.as_flat()), $tol);
    }};
}

/// Every shape, in one scalar type.
macro_rules! all_shapes {
    ($f:ty, $tol:expr) => {{
        // Kernel 1, 3, 5; stride 1 and 2; padding 0, 1, 2; 1 to 5 channels.
        check!($f, $tol, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1);
        check!($f, $tol, 3, 7, 9, 5, 1, 1, 1, 0, 7, 9);
        check!($f, $tol, 2, 9, 8, 7, 1, 1, 2, 1, 6, 5);
        check!($f, $tol, 3, 8, 11, 4, 3, 3, 1, 1, 8, 11);
        check!($f, $tol, 5, 9, 7, 13, 3, 3, 2, 1, 5, 4);
        check!($f, $tol, 4, 10, 10, 6, 3, 3, 2, 2, 6, 6);
        check!($f, $tol, 1, 13, 17, 3, 5, 5, 1, 2, 13, 17);
        check!($f, $tol, 3, 12, 11, 8, 5, 5, 2, 2, 6, 6);
        check!($f, $tol, 2, 11, 10, 17, 5, 3, 1, 0, 7, 8);
        check!($f, $tol, 3, 7, 6, 4, 3, 2, 2, 1, 4, 4);
        check!($f, $tol, 2, 6, 6, 2, 5, 5, 2, 1, 2, 2);
        // More than 16 filters (two blocks of output channels in the `f32` pixel-row kernel),
        // at stride 2 and at stride 1 with short output rows.
        check!($f, $tol, 3, 9, 9, 20, 3, 3, 2, 1, 5, 5);
        check!($f, $tol, 2, 6, 7, 33, 3, 3, 1, 1, 6, 7);
        // The two benchmarked layers.
        check!($f, $tol, 3, 32, 32, 6, 5, 5, 1, 0, 28, 28);
        check!($f, $tol, 6, 14, 14, 16, 5, 5, 1, 0, 10, 10);
        // Wider than one block of the gathered patch matrix (stride 2: the gathered path in
        // every scalar type), and a window as large as the padded image.
        check!($f, $tol, 2, 75, 70, 7, 3, 3, 2, 1, 38, 35);
        check!($f, $tol, 2, 3, 4, 3, 5, 6, 1, 1, 1, 1);
    }};
}

/// Runs `f` once with every kernel this CPU has (portable, AVX2, AVX-512) installed for the
/// GEMM and the convolution's own kernels, printing which ones ran.
fn with_every_kernel(what: &str, f: impl Fn()) {
    let kernels = Kernel::available::<f32>();
    let names: Vec<&str> = kernels.iter().map(|k| k.name::<f32>()).collect();
    println!("{what}: kernels run: {}", names.join(", "));
    for kernel in kernels {
        kernel.install(&f);
    }
}

#[test]
fn fused_rule_matches_direct_convolution_f64() {
    with_every_kernel("f64 shapes", || all_shapes!(f64, 1e-12));
}

#[test]
fn fused_rule_matches_direct_convolution_f32() {
    with_every_kernel("f32 shapes", || all_shapes!(f32, 2e-5));
}

/// The forward pass of `conv2d` on a large stride-1 image: more columns than one 16-wide tile
/// row of the output and more than the 128-column blocks of the input gradient; with 61
/// columns plus padding, the wide rows end in a partial 32-wide AVX-512 tile.
#[test]
fn fused_rule_on_a_large_image_f32() {
    with_every_kernel("f32 large image", || {
        check!(f32, 5e-5, 3, 64, 61, 9, 5, 5, 1, 2, 64, 61)
    });
}

// The library's batched convolution (`layers::conv2d_batch`, a `#[differentiate]` function over
// the fused rules `im2col_gemm_batch` and `add_bias_batch`), checked below image by image
// against the naive loops (values) and `conv2d`'s pullback (gradients).
use conv_kernels::layers::conv2d_vjp;
use conv_kernels::layers::{conv2d_batch, conv2d_batch_jvp, conv2d_batch_vjp};

/// One batched shape: every image against the naive loops plus the bias, the gradients against
/// the per-image `conv2d_vjp` (`dW` and `db` summed over the batch), and the dot-product test
/// of the generated derivatives.
macro_rules! check_batch {
    ($f:ty, $tol:expr, $n:literal, $c:literal, $h:literal, $w:literal, $o:literal, $kh:literal,
     $kw:literal, $s:literal, $p:literal, $oh:literal, $ow:literal) => {{
        use conv_kernels::Batch;
        type F = $f;
        type X = Batch<F, $n, $c, $h, $w>;
        type Wt = Filters<F, $o, $c, $kh, $kw>;
        type B = Vector<F, $o>;
        type Y = Batch<F, $n, $o, $oh, $ow>;
        let (x, w, b): (X, Wt, B) = (fill(61), fill(62), fill(63));
        let y = conv2d_batch::<F, $n, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w, &b);
        let ct: Y = fill(64);
        let (_, pullback) =
            conv2d_batch_vjp::<F, $n, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&x, &w, &b);
        let (ax, aw, ab) = pullback(ct.clone());
        let to_f64 = |v: &[F]| v.iter().map(|a| a.to_f64().unwrap()).collect::<Vec<_>>();
        let (image_len, out_len) = ($c * $h * $w, $o * $oh * $ow);
        let mut aw_want = vec![0.0; aw.as_flat().len()];
        let mut ab_want = vec![0.0; $o];
        for n in 0..$n {
            let xn: Image<F, $c, $h, $w> = Tensor::from_array(x[n]);
            let cn: Image<F, $o, $oh, $ow> = Tensor::from_array(ct[n]);
            let want: Vec<f64> = naive(
                ($c, $h, $w),
                ($o, $kh, $kw),
                ($s, $p),
                ($oh, $ow),
                xn.as_flat(),
                w.as_flat(),
            )
            .iter()
            .enumerate()
            .map(|(i, &v)| v + b.as_flat()[i / ($oh * $ow)].to_f64().unwrap())
            .collect();
            assert_close(
                "batch y",
                &y.as_flat()[n * out_len..][..out_len],
                &want,
                $tol,
            );
            let (_, pullback) =
                conv2d_vjp::<F, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(&xn, &w, &b);
            let (dxn, dwn, dbn) = pullback(cn);
            let ax_n = &ax.as_flat()[n * image_len..][..image_len];
            assert_close("batch dx", ax_n, &to_f64(dxn.as_flat()), $tol);
            for (s, v) in aw_want.iter_mut().zip(to_f64(dwn.as_flat())) {
                *s += v;
            }
            for (s, v) in ab_want.iter_mut().zip(to_f64(dbn.as_flat())) {
                *s += v;
            }
        }
        assert_close("batch dw", aw.as_flat(), &aw_want, $tol * $n as f64);
        assert_close("batch db", ab.as_flat(), &ab_want, $tol * $n as f64);
        let (tx, tw, tb): (X, Wt, B) = (fill(65), fill(66), fill(67));
        let (_, ty) = conv2d_batch_jvp::<F, $n, $c, $h, $w, $o, $kh, $kw, $s, $p, $oh, $ow>(
            &x, &w, &b, &tx, &tw, &tb,
        );
        let lhs = ty.dot(&ct).to_f64().unwrap();
        let rhs = (ax.dot(&tx) + aw.dot(&tw) + ab.dot(&tb)).to_f64().unwrap();
        assert!(
            (lhs - rhs).abs() <= $tol * 10.0 * (1.0 + lhs.abs()),
            "batch dot-product test {lhs} {rhs}"
        );
    }};
}

#[test]
fn batched_convolution_matches_per_image() {
    check_batch!(f64, 1e-12, 3, 2, 7, 6, 5, 3, 3, 2, 1, 4, 3);
    check_batch!(f64, 1e-12, 4, 3, 9, 9, 6, 5, 5, 1, 0, 5, 5);
    check_batch!(f32, 2e-5, 3, 2, 7, 6, 5, 3, 3, 2, 1, 4, 3);
    check_batch!(f32, 2e-5, 5, 6, 14, 14, 16, 5, 5, 1, 0, 10, 10);
    check_batch!(f32, 2e-5, 2, 3, 32, 32, 6, 5, 5, 1, 0, 28, 28);
    // LeNet-5's two layers on MNIST, as train_mnist calls them.
    check_batch!(f32, 2e-5, 3, 1, 28, 28, 6, 5, 5, 1, 0, 24, 24);
    check_batch!(f32, 2e-5, 3, 6, 12, 12, 16, 5, 5, 1, 0, 8, 8);
    // train_digits' two layers.
    check_batch!(f32, 2e-5, 3, 1, 8, 8, 8, 3, 3, 1, 0, 6, 6);
    check_batch!(f32, 2e-5, 3, 8, 6, 6, 16, 3, 3, 1, 0, 4, 4);
}
