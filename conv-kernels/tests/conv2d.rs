//! `conv2d` (written with `#[differentiate]`) against a naive direct convolution, and its
//! generated derivatives against finite differences and the dot-product test.
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

use autodiff_core::Differentiable;
use conv_kernels::layers::{conv2d, conv2d_jvp, conv2d_vjp};
use conv_kernels::{Filters, Image, Tensor, Vector};

/// A deterministic pseudo-random fill in [-1, 1).
fn fill<T: conv_kernels::Zeros<Scalar = f64>>(seed: u64) -> Tensor<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    Tensor::from_flat_fn(|_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    })
}

/// Direct cross-correlation with stride and zero padding.
fn naive<
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<f64, C, H, W>,
    w: &Filters<f64, O, C, KH, KW>,
    b: &Vector<f64, O>,
    s: usize,
    p: usize,
) -> Image<f64, O, OH, OW> {
    let mut y = Image::zeros();
    for o in 0..O {
        for i in 0..OH {
            for j in 0..OW {
                let mut acc = b[o];
                for c in 0..C {
                    for u in 0..KH {
                        for v in 0..KW {
                            let (r, q) = (
                                (i * s + u) as isize - p as isize,
                                (j * s + v) as isize - p as isize,
                            );
                            if r >= 0 && q >= 0 && (r as usize) < H && (q as usize) < W {
                                acc += w[o][c][u][v] * x[c][r as usize][q as usize];
                            }
                        }
                    }
                }
                y[o][i][j] = acc;
            }
        }
    }
    y
}

#[test]
fn matches_direct_convolution_with_stride_and_padding() {
    let x: Image<f64, 3, 7, 6> = fill(1);
    let w: Filters<f64, 4, 3, 3, 2> = fill(2);
    let b: Vector<f64, 4> = fill(3);
    let y = conv2d::<f64, 3, 7, 6, 4, 3, 2, 2, 1, 4, 4>(&x, &w, &b);
    let want = naive::<3, 7, 6, 4, 3, 2, 4, 4>(&x, &w, &b, 2, 1);
    for (a, e) in y.as_flat().iter().zip(want.as_flat()) {
        assert!((a - e).abs() < 1e-12, "{a} {e}");
    }
}

#[test]
fn generated_derivatives_pass_the_dot_product_test_and_finite_differences() {
    type X = Image<f64, 2, 6, 5>;
    type Wt = Filters<f64, 3, 2, 3, 3>;
    type B = Vector<f64, 3>;
    type Y = Image<f64, 3, 3, 3>;
    let (x, w, b): (X, Wt, B) = (fill(4), fill(5), fill(6));
    let (tx, tw, tb): (X, Wt, B) = (fill(7), fill(8), fill(9));
    let c: Y = fill(10);
    let f = |x: &X, w: &Wt, b: &B| conv2d::<f64, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(x, w, b);
    let (y, ty) = conv2d_jvp::<f64, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&x, &w, &b, &tx, &tw, &tb);
    assert_eq!(y, f(&x, &w, &b));
    let (y2, pullback) = conv2d_vjp::<f64, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&x, &w, &b);
    assert_eq!(y2, y);
    let (ax, aw, ab) = pullback(c.clone());
    // <J t, c> == <t, J^T c>
    let lhs = ty.dot(&c);
    let rhs = ax.dot(&tx) + aw.dot(&tw) + ab.dot(&tb);
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{lhs} {rhs}"
    );
    // Central finite differences along the tangent.
    let h = 1e-6;
    let mut xp = x.clone();
    xp.axpy(h, &tx);
    let mut wp = w.clone();
    wp.axpy(h, &tw);
    let mut bp = b.clone();
    bp.axpy(h, &tb);
    let mut xm = x.clone();
    xm.axpy(-h, &tx);
    let mut wm = w.clone();
    wm.axpy(-h, &tw);
    let mut bm = b.clone();
    bm.axpy(-h, &tb);
    let (fp, fm) = (f(&xp, &wp, &bp), f(&xm, &wm, &bm));
    for k in 0..ty.as_flat().len() {
        let fd = (fp.as_flat()[k] - fm.as_flat()[k]) / (2.0 * h);
        assert!(
            (fd - ty.as_flat()[k]).abs() < 1e-7,
            "{k}: {fd} {}",
            ty.as_flat()[k]
        );
    }
    // `_grad` is emitted only for scalar outputs; conv2d's output is an image.
}

/// The hand-written pullbacks own their operands, so a differentiated function can call them on
/// its own temporaries (`gemm(&c, &c)` below) and keep the pullback.
#[allow(dead_code)]
#[autodiff_macros::differentiate]
fn gemm_chain(
    a: &conv_kernels::Mat<f64, 2, 3>,
    b: &conv_kernels::Mat<f64, 3, 2>,
) -> conv_kernels::Mat<f64, 2, 2> {
    let c = conv_kernels::gemm::gemm(a, b);
    conv_kernels::gemm::gemm(&c, &c)
}

#[test]
fn differentiated_gemm_chain_passes_the_dot_product_test() {
    use conv_kernels::Mat;
    let (a, b): (Mat<f64, 2, 3>, Mat<f64, 3, 2>) = (fill(11), fill(12));
    let (ta, tb): (Mat<f64, 2, 3>, Mat<f64, 3, 2>) = (fill(13), fill(14));
    let c: Mat<f64, 2, 2> = fill(15);
    let (y, ty) = gemm_chain_jvp(&a, &b, &ta, &tb);
    let (y2, pullback) = gemm_chain_vjp(&a, &b);
    assert_eq!(y, y2);
    let (aa, ab) = pullback(c.clone());
    let (lhs, rhs) = (ty.dot(&c), aa.dot(&ta) + ab.dot(&tb));
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{lhs} {rhs}"
    );
}

/// The batched convolution agrees with the per-image one, and its generated derivatives pass the
/// dot-product test; so does the batched linear layer.
#[test]
fn batched_layers_match_per_image_and_pass_the_dot_product_test() {
    use conv_kernels::layers::{
        conv2d_batch, conv2d_batch_jvp, conv2d_batch_vjp, linear_batch_jvp, linear_batch_vjp,
    };
    use conv_kernels::{Batch, Mat};
    type X = Batch<f64, 3, 2, 6, 5>;
    type Wt = Filters<f64, 3, 2, 3, 3>;
    type B = Vector<f64, 3>;
    type Y = Batch<f64, 3, 3, 3, 3>;
    let (x, w, b): (X, Wt, B) = (fill(21), fill(22), fill(23));
    let y = conv2d_batch::<f64, 3, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&x, &w, &b);
    for n in 0..3 {
        let xn: Image<f64, 2, 6, 5> = Tensor::from_array(x[n]);
        let yn = conv2d::<f64, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&xn, &w, &b);
        for (a, e) in y[n].as_flattened().as_flattened().iter().zip(yn.as_flat()) {
            assert!((a - e).abs() < 1e-12);
        }
    }
    let (tx, tw, tb): (X, Wt, B) = (fill(24), fill(25), fill(26));
    let c: Y = fill(27);
    let (_, ty) =
        conv2d_batch_jvp::<f64, 3, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&x, &w, &b, &tx, &tw, &tb);
    let (_, pullback) = conv2d_batch_vjp::<f64, 3, 2, 6, 5, 3, 3, 3, 2, 1, 3, 3>(&x, &w, &b);
    let (ax, aw, ab) = pullback(c.clone());
    let (lhs, rhs) = (ty.dot(&c), ax.dot(&tx) + aw.dot(&tw) + ab.dot(&tb));
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{lhs} {rhs}"
    );

    let (w, b, x): (Mat<f64, 4, 5>, Vector<f64, 4>, Mat<f64, 3, 5>) =
        (fill(31), fill(32), fill(33));
    let (tw, tb, tx): (Mat<f64, 4, 5>, Vector<f64, 4>, Mat<f64, 3, 5>) =
        (fill(34), fill(35), fill(36));
    let c: Mat<f64, 3, 4> = fill(37);
    let (_, tz) = linear_batch_jvp(&w, &b, &x, &tw, &tb, &tx);
    let (_, pullback) = linear_batch_vjp(&w, &b, &x);
    let (aw, ab, ax) = pullback(c.clone());
    let (lhs, rhs) = (tz.dot(&c), aw.dot(&tw) + ab.dot(&tb) + ax.dot(&tx));
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{lhs} {rhs}"
    );
}

/// A batch of 256 images of 3x32x32 through conv2d, relu and max_pool2d and back, on a thread
/// with a 2 MiB stack: every large tensor lives on the heap.
#[test]
fn a_batch_of_256_images_runs_on_a_2_mib_stack() {
    use conv_kernels::layers::conv2d_batch_vjp;
    use conv_kernels::layers::{max_pool2d_batch_vjp, relu_vjp};
    use conv_kernels::{Batch, Scalar};
    fn run<F: Scalar + autodiff_core::Real>() -> F {
        let x: Box<Batch<F, 256, 3, 32, 32>> = Box::new(Tensor::from_flat_fn(|i| {
            F::from((i % 13) as f64 / 13.0).unwrap()
        }));
        let w: Filters<F, 6, 3, 5, 5> =
            Tensor::from_flat_fn(|i| F::from((i % 7) as f64 / 70.0).unwrap());
        let b: Vector<F, 6> = Tensor::zeros();
        let (h, conv_back) =
            conv2d_batch_vjp::<F, 256, 3, 32, 32, 6, 5, 5, 1, 0, 28, 28>(&x, &w, &b);
        let (a, relu_back) = relu_vjp(&h);
        let (p, pool_back) = max_pool2d_batch_vjp::<F, 256, 6, 28, 28, 2, 2, 14, 14>(&a);
        let ones = Tensor::from_flat_fn(|_| F::one());
        let (dx, dw, _) = conv_back(relu_back(pool_back(ones)));
        p.as_flat()[0] + dx.as_flat()[0] + dw.as_flat()[0]
    }
    let out = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run::<f32>)
        .expect("a thread")
        .join()
        .expect("no stack overflow");
    assert!(out.is_finite());
}

/// The batched convolution at stride 1 without padding (a rectangular kernel) against the
/// per-image convolution and the dot-product test.
#[test]
fn batched_fast_path_matches_and_passes_the_dot_product_test() {
    use conv_kernels::Batch;
    use conv_kernels::layers::{conv2d_batch, conv2d_batch_jvp, conv2d_batch_vjp};
    type X = Batch<f64, 4, 2, 6, 5>;
    type Wt = Filters<f64, 3, 2, 3, 2>;
    type B = Vector<f64, 3>;
    type Y = Batch<f64, 4, 3, 4, 4>;
    let (x, w, b): (X, Wt, B) = (fill(41), fill(42), fill(43));
    let y = conv2d_batch::<f64, 4, 2, 6, 5, 3, 3, 2, 1, 0, 4, 4>(&x, &w, &b);
    for n in 0..4 {
        let xn: Image<f64, 2, 6, 5> = Tensor::from_array(x[n]);
        let yn = conv2d::<f64, 2, 6, 5, 3, 3, 2, 1, 0, 4, 4>(&xn, &w, &b);
        for (a, e) in y[n].as_flattened().as_flattened().iter().zip(yn.as_flat()) {
            assert!((a - e).abs() < 1e-12);
        }
    }
    let (tx, tw, tb): (X, Wt, B) = (fill(44), fill(45), fill(46));
    let c: Y = fill(47);
    let (_, ty) =
        conv2d_batch_jvp::<f64, 4, 2, 6, 5, 3, 3, 2, 1, 0, 4, 4>(&x, &w, &b, &tx, &tw, &tb);
    let (_, pullback) = conv2d_batch_vjp::<f64, 4, 2, 6, 5, 3, 3, 2, 1, 0, 4, 4>(&x, &w, &b);
    let (ax, aw, ab) = pullback(c.clone());
    let (lhs, rhs) = (ty.dot(&c), ax.dot(&tx) + aw.dot(&tw) + ab.dot(&tb));
    assert!(
        (lhs - rhs).abs() <= 1e-12 * lhs.abs().max(1.0),
        "{lhs} {rhs}"
    );
}
