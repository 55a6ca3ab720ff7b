//! `conv2d`: a convolutional layer written as an ordinary `#[differentiate]` function over
//! im2col fused with its GEMM ([`im2col_gemm`]) and a bias, so that its backward pass
//! (`dW = dY colᵀ`, `dX = col2im(Wᵀ dY)`, `db = Σ dY`) is derived by the macro from the rules
//! of those two pieces, not written by hand.
//!
//! [`im2col_gemm`] never stores the patch matrix: it reads each window from the padded image
//! inside the GEMM, and its pullback folds col2im into `Wᵀ dY`. The unfused pair
//! [`image_patches`] (im2col into the flat [`ImagePatches`], shaped `(C, KH, KW, OH, OW)`: in
//! memory exactly the `(C·KH·KW) x (OH·OW)` matrix of the course's im2col) and
//! [`filters_times_image_patches`] (the filters `(O, C, KH, KW)` as the `O x (C·KH·KW)`
//! matrix times it) computes the same thing step by step, as the course writes it; it is the
//! fused rule's reference in the tests and the benchmark.
//!
//! `conv2d_batch` is, like [`conv2d()`], a `#[differentiate]` function: the fused rule image
//! after image ([`im2col_gemm_batch`]), then the bias ([`add_bias_batch`]); its backward pass is
//! derived.

use autodiff_core::Float;
use autodiff_macros::differentiate;

use std::sync::Arc;

use crate::conv::im2col::{Im2colShape, col2im_slice, im2col_slice};
use crate::conv::implicit::{ConvPlan, plane_sum, plane_sums};
use crate::gemm::{Transpose, gemm_slices};
use crate::{Batch, Filters, Image, Scalar, Vector};

/// A flat heap buffer whose shape lives in its type: for a tensor whose first dimension is
/// small, so that an element of a nested array would be too large to build on a stack.
macro_rules! flat_tensor {
    ($(#[$doc:meta])* $name:ident < $($c:ident),* > = $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name<F, $(const $c: usize),*> {
            data: Vec<F>,
        }

        impl<F: Scalar, $(const $c: usize),*> $name<F, $($c),*> {
            /// The number of scalars.
            pub const LEN: usize = $len;
            /// All zeros.
            pub fn zeros() -> Self {
                Self { data: vec![F::zero(); Self::LEN] }
            }
            /// The scalars, in order.
            pub fn as_flat(&self) -> &[F] {
                &self.data
            }
            /// The scalars, in order, mutably.
            pub fn as_flat_mut(&mut self) -> &mut [F] {
                &mut self.data
            }
        }

        impl<F: Scalar + autodiff_core::Differentiable<Scalar = F>, $(const $c: usize),*> autodiff_core::Differentiable
            for $name<F, $($c),*>
        {
            type Scalar = F;
            fn zero_like(&self) -> Self {
                Self::zeros()
            }
            fn accumulate(&mut self, other: &Self) {
                self.data.accumulate(&other.data)
            }
            fn axpy(&mut self, a: F, x: &Self) {
                self.data.axpy(a, &x.data)
            }
            fn dot(&self, other: &Self) -> F {
                self.data.dot(&other.data)
            }
            fn scale(&mut self, a: F) {
                self.data.scale(a)
            }
            fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut F, F)) {
                self.data.zip_map(&other.data, f)
            }
            fn num_leaves(&self) -> usize {
                self.data.len()
            }
        }
    };
}

flat_tensor! {
    /// The patches of one image, `(C, KH, KW, OH, OW)`: the `(C·KH·KW) x (OH·OW)` patch matrix
    /// of the unfused convolution ([`image_patches`]), in one flat
    /// heap buffer.
    ImagePatches<C, KH, KW, OH, OW> = C * KH * KW * OH * OW
}

/// The im2col geometry, with the output size checked at compile time.
const fn geometry<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>() -> Im2colShape {
    const {
        assert!(S > 0, "the stride must be positive");
        assert!(
            H + 2 * P >= KH && W + 2 * P >= KW,
            "the kernel is larger than the padded image"
        );
        assert!(
            OH == (H + 2 * P - KH) / S + 1,
            "OH must be (H + 2P - KH) / S + 1"
        );
        assert!(
            OW == (W + 2 * P - KW) / S + 1,
            "OW must be (W + 2P - KW) / S + 1"
        );
    };
    Im2colShape {
        channels: C,
        height: H,
        width: W,
        kernel_h: KH,
        kernel_w: KW,
        stride: S,
        padding: P,
    }
}

/// `y <- W cols + beta y` on flat buffers: the filters `W` as an `O x K` matrix, the patches
/// as `K x L`, the output as `O x L`.
fn filters_product<F: Scalar>(
    (o, k, l): (usize, usize, usize),
    w: &[F],
    cols: &[F],
    y: &mut [F],
    beta: F,
) {
    // Shapes: y (O x L) = W (O x K) . cols (K x L)
    gemm_slices(
        Transpose::No,
        Transpose::No,
        o,
        l,
        k,
        F::one(),
        w,
        k,
        cols,
        l,
        beta,
        y,
        l,
    );
}

/// The backward of [`filters_product`] with `beta = 0`: `dW = dY colsᵀ` into `dw`, then
/// `dcols = Wᵀ dY` written over `cols` (the patches are not needed after `dW`).
fn filters_product_backward<F: Scalar>(
    (o, k, l): (usize, usize, usize),
    w: &[F],
    dy: &[F],
    cols: &mut [F],
    dw: &mut [F],
) {
    // Shapes: dW (O x K) = dY (O x L) . colsᵀ (L x K)
    gemm_slices(
        Transpose::No,
        Transpose::Yes,
        o,
        k,
        l,
        F::one(),
        dy,
        l,
        cols,
        l,
        F::zero(),
        dw,
        k,
    );
    // Shapes: dcols (K x L) = Wᵀ (K x O) . dY (O x L)
    gemm_slices(
        Transpose::Yes,
        Transpose::No,
        k,
        l,
        o,
        F::one(),
        w,
        k,
        dy,
        l,
        F::zero(),
        cols,
        l,
    );
}

/// im2col of one image into the flat [`ImagePatches`]: every `KH x KW` window (stride `S`, zero
/// padding `P`) as a column.
///
/// ```
/// use conv_kernels::{Image, layers::image_patches};
/// let x: Image<f64, 1, 3, 3> = Image::from_flat_fn(|i| i as f64);
/// let p = image_patches::<f64, 1, 3, 3, 2, 2, 1, 0, 2, 2>(&x);
/// assert_eq!(&p.as_flat()[..4], &[0.0, 1.0, 3.0, 4.0]); // tap (0, 0) of the four windows
/// ```
pub fn image_patches<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> ImagePatches<F, C, KH, KW, OH, OW> {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    let mut cols = ImagePatches::zeros();
    im2col_slice(&shape, x.as_flat(), cols.as_flat_mut());
    cols
}

/// Forward mode of [`image_patches`] (linear).
#[allow(clippy::type_complexity)]
pub fn image_patches_jvp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    t: &Image<F, C, H, W>,
) -> (
    ImagePatches<F, C, KH, KW, OH, OW>,
    ImagePatches<F, C, KH, KW, OH, OW>,
) {
    (
        image_patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x),
        image_patches::<F, C, H, W, KH, KW, S, P, OH, OW>(t),
    )
}

/// Reverse mode of [`image_patches`]: the pullback is col2im.
#[allow(clippy::type_complexity)]
pub fn image_patches_vjp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> (
    ImagePatches<F, C, KH, KW, OH, OW>,
    impl FnOnce(ImagePatches<F, C, KH, KW, OH, OW>) -> Image<F, C, H, W>
    + use<F, C, H, W, KH, KW, S, P, OH, OW>,
) {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    (
        image_patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x),
        move |ct: ImagePatches<F, C, KH, KW, OH, OW>| {
            let mut dx = Image::zeros();
            col2im_slice(&shape, ct.as_flat(), dx.as_flat_mut());
            dx
        },
    )
}

/// The GEMM of the unfused convolution: the filters as an `O x (C·KH·KW)` matrix times the
/// patch matrix, giving the `(O, OH, OW)` output without its bias. Takes the patches by value:
/// the pullback needs them, and keeps them without a copy. ([`conv2d`] uses the fused
/// [`im2col_gemm`]; this pair is its reference in the tests and the benchmark.)
///
/// ```
/// use conv_kernels::{Filters, Image, Tensor, layers::{filters_times_image_patches, image_patches}};
/// let x: Image<f64, 1, 1, 2> = Tensor::from_flat(&[0.0, 1.0]);
/// let w: Filters<f64, 1, 1, 1, 1> = Tensor::from_flat_fn(|_| 2.0);
/// let p = image_patches::<f64, 1, 1, 2, 1, 1, 1, 0, 1, 2>(&x);
/// assert_eq!(filters_times_image_patches(&w, p)[0][0], [0.0, 2.0]);
/// ```
pub fn filters_times_image_patches<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: ImagePatches<F, C, KH, KW, OH, OW>,
) -> Image<F, O, OH, OW> {
    let mut y = Image::zeros();
    filters_product(
        (O, C * KH * KW, OH * OW),
        w.as_flat(),
        cols.as_flat(),
        y.as_flat_mut(),
        F::zero(),
    );
    y
}

/// Forward mode of [`filters_times_image_patches`]: `dW cols + W dcols`.
#[allow(clippy::type_complexity)]
pub fn filters_times_image_patches_jvp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: ImagePatches<F, C, KH, KW, OH, OW>,
    tw: &Filters<F, O, C, KH, KW>,
    tcols: &ImagePatches<F, C, KH, KW, OH, OW>,
) -> (Image<F, O, OH, OW>, Image<F, O, OH, OW>) {
    let shape = (O, C * KH * KW, OH * OW);
    let mut t = Image::zeros();
    filters_product(
        shape,
        tw.as_flat(),
        cols.as_flat(),
        t.as_flat_mut(),
        F::zero(),
    );
    filters_product(
        shape,
        w.as_flat(),
        tcols.as_flat(),
        t.as_flat_mut(),
        F::one(),
    );
    (filters_times_image_patches(w, cols), t)
}

/// Reverse mode of [`filters_times_image_patches`]: `dW = dY colsᵀ` and `dcols = Wᵀ dY`,
/// the latter written over the patches, which the pullback owns.
#[allow(clippy::type_complexity)]
pub fn filters_times_image_patches_vjp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: ImagePatches<F, C, KH, KW, OH, OW>,
) -> (
    Image<F, O, OH, OW>,
    impl FnOnce(Image<F, O, OH, OW>) -> (Filters<F, O, C, KH, KW>, ImagePatches<F, C, KH, KW, OH, OW>)
    + use<F, O, C, KH, KW, OH, OW>,
) {
    let shape = (O, C * KH * KW, OH * OW);
    let mut y = Image::zeros();
    filters_product(
        shape,
        w.as_flat(),
        cols.as_flat(),
        y.as_flat_mut(),
        F::zero(),
    );
    let w = w.clone();
    (y, move |dy: Image<F, O, OH, OW>| {
        let mut dw = Filters::zeros();
        let mut dcols = cols;
        filters_product_backward(
            shape,
            w.as_flat(),
            dy.as_flat(),
            dcols.as_flat_mut(),
            dw.as_flat_mut(),
        );
        (dw, dcols)
    })
}

/// The plan and padded image of an [`im2col_gemm`].
fn plan_and_pad<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> (Arc<ConvPlan>, Vec<F>) {
    let plan = ConvPlan::cached(&geometry::<C, H, W, KH, KW, S, P, OH, OW>(), O);
    let padded = plan.pad(x.as_flat());
    (plan, padded)
}

/// The filters times the patches of the image, `W (O x C·KH·KW) . im2col(x)`, without the
/// patch matrix ever being stored whole: the convolution without its bias, as one fused
/// differentiable rule. For stride 1 (`f32` with AVX2) the GEMM kernel reads the zero-padded
/// image in place; otherwise the patch matrix is gathered one L2-sized block at a time.
/// The result equals `filters_times_image_patches(w, image_patches(x))`.
///
/// ```
/// use conv_kernels::{Filters, Image, Tensor, layers::im2col_gemm};
/// let x: Image<f64, 1, 2, 3> = Tensor::from_flat(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let w: Filters<f64, 1, 1, 2, 2> = Tensor::from_flat(&[1.0, 0.0, 0.0, 1.0]);
/// // Each output is x[i][j] + x[i + 1][j + 1].
/// let y = im2col_gemm::<f64, 1, 2, 3, 1, 2, 2, 1, 0, 1, 2>(&x, &w);
/// assert_eq!(y[0][0], [6.0, 8.0]);
/// ```
pub fn im2col_gemm<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
) -> Image<F, O, OH, OW> {
    let (plan, padded) = plan_and_pad::<F, C, H, W, O, KH, KW, S, P, OH, OW>(x);
    let mut y = Image::zeros();
    plan.forward(w.as_flat(), &padded, y.as_flat_mut());
    y
}

/// Forward mode of [`im2col_gemm`], bilinear in `(x, w)`: the tangent is
/// `im2col_gemm(tx, w) + im2col_gemm(x, tw)`.
#[allow(clippy::type_complexity)]
pub fn im2col_gemm_jvp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
    tx: &Image<F, C, H, W>,
    tw: &Filters<F, O, C, KH, KW>,
) -> (Image<F, O, OH, OW>, Image<F, O, OH, OW>) {
    let (plan, padded) = plan_and_pad::<F, C, H, W, O, KH, KW, S, P, OH, OW>(x);
    let mut y = Image::zeros();
    plan.forward(w.as_flat(), &padded, y.as_flat_mut());
    let mut t = Image::zeros();
    plan.forward(tw.as_flat(), &padded, t.as_flat_mut());
    let mut t_x: Image<F, O, OH, OW> = Image::zeros();
    plan.forward(w.as_flat(), &plan.pad(tx.as_flat()), t_x.as_flat_mut());
    for (t, &d) in t.as_flat_mut().iter_mut().zip(t_x.as_flat()) {
        *t = *t + d;
    }
    (y, t)
}

/// Reverse mode of [`im2col_gemm`]: the pullback maps `dY` to `(dx, dW)` with
/// `dW = dY colsᵀ` (the patches regenerated from the padded image, never stored whole) and
/// `dx = col2im(Wᵀ dY)` (accumulated block by block into the padded gradient). The pullback
/// owns the padded image and a copy of the filters.
#[allow(clippy::type_complexity)]
pub fn im2col_gemm_vjp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
) -> (
    Image<F, O, OH, OW>,
    impl FnOnce(Image<F, O, OH, OW>) -> (Image<F, C, H, W>, Filters<F, O, C, KH, KW>)
    + use<F, C, H, W, O, KH, KW, S, P, OH, OW>,
) {
    let (plan, padded) = plan_and_pad::<F, C, H, W, O, KH, KW, S, P, OH, OW>(x);
    let mut y = Image::zeros();
    let w = plan.forward_saving(w.as_flat(), &padded, y.as_flat_mut());
    (y, move |dy: Image<F, O, OH, OW>| {
        let mut dx = Image::zeros();
        let mut dw = Filters::zeros();
        plan.backward_saved(
            &w,
            &padded,
            dy.as_flat(),
            dw.as_flat_mut(),
            dx.as_flat_mut(),
        );
        (dx, dw)
    })
}

/// [`im2col_gemm`] over a batch `(N, C, H, W)` -> `(N, O, OH, OW)`: the same fused kernels
/// image after image, so that no buffer grows with the batch beyond the input and output
/// themselves (the batch's patch matrix is never formed). With [`add_bias_batch`] it makes the
/// batched convolution.
///
/// ```
/// use conv_kernels::{Batch, Filters, Image, Tensor, layers::{im2col_gemm, im2col_gemm_batch}};
/// let x: Batch<f64, 2, 1, 3, 3> = Tensor::from_flat_fn(|i| i as f64);
/// let w: Filters<f64, 2, 1, 2, 2> = Tensor::from_flat_fn(|i| i as f64 - 1.0);
/// let y = im2col_gemm_batch::<f64, 2, 1, 3, 3, 2, 2, 2, 1, 0, 2, 2>(&x, &w);
/// let x1: Image<f64, 1, 3, 3> = Tensor::from_array(x[1]);
/// assert_eq!(y[1], *im2col_gemm::<f64, 1, 3, 3, 2, 2, 2, 1, 0, 2, 2>(&x1, &w));
/// ```
pub fn im2col_gemm_batch<
    F: Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
) -> Batch<F, N, O, OH, OW> {
    let plan = ConvPlan::cached(&geometry::<C, H, W, KH, KW, S, P, OH, OW>(), O);
    let mut y = Batch::zeros();
    for (x_n, y_n) in x
        .as_flat()
        .chunks_exact(C * H * W)
        .zip(y.as_flat_mut().chunks_exact_mut(O * OH * OW))
    {
        plan.forward(w.as_flat(), &plan.pad(x_n), y_n);
    }
    y
}

/// Forward mode of [`im2col_gemm_batch`]: `im2col_gemm_batch(tx, w) + im2col_gemm_batch(x, tw)`.
#[allow(clippy::type_complexity)]
pub fn im2col_gemm_batch_jvp<
    F: Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
    tx: &Batch<F, N, C, H, W>,
    tw: &Filters<F, O, C, KH, KW>,
) -> (Batch<F, N, O, OH, OW>, Batch<F, N, O, OH, OW>) {
    let plan = ConvPlan::cached(&geometry::<C, H, W, KH, KW, S, P, OH, OW>(), O);
    let (mut y, mut t): (Batch<F, N, O, OH, OW>, Batch<F, N, O, OH, OW>) =
        (Batch::zeros(), Batch::zeros());
    let mut t_x = vec![F::zero(); O * OH * OW];
    let images = x.as_flat().chunks_exact(C * H * W);
    let tangents = tx.as_flat().chunks_exact(C * H * W);
    let outputs = y.as_flat_mut().chunks_exact_mut(O * OH * OW);
    let out_tangents = t.as_flat_mut().chunks_exact_mut(O * OH * OW);
    for (((x_n, tx_n), y_n), t_n) in images.zip(tangents).zip(outputs).zip(out_tangents) {
        let padded = plan.pad(x_n);
        plan.forward(w.as_flat(), &padded, y_n);
        plan.forward(tw.as_flat(), &padded, t_n);
        plan.forward(w.as_flat(), &plan.pad(tx_n), &mut t_x);
        for (t, &d) in t_n.iter_mut().zip(&t_x) {
            *t = *t + d;
        }
    }
    (y, t)
}

/// Reverse mode of [`im2col_gemm_batch`]: per image, `dW_n = dY_n colsᵀ` and
/// `dx_n = col2im(Wᵀ dY_n)` as in [`im2col_gemm_vjp`]; `dW` is their sum. The pullback owns
/// the padded images and a copy of the filters.
#[allow(clippy::type_complexity)]
pub fn im2col_gemm_batch_vjp<
    F: Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
) -> (
    Batch<F, N, O, OH, OW>,
    impl FnOnce(Batch<F, N, O, OH, OW>) -> (Batch<F, N, C, H, W>, Filters<F, O, C, KH, KW>)
    + use<F, N, C, H, W, O, KH, KW, S, P, OH, OW>,
) {
    let plan = ConvPlan::cached(&geometry::<C, H, W, KH, KW, S, P, OH, OW>(), O);
    let padded: Vec<Vec<F>> = x
        .as_flat()
        .chunks_exact(C * H * W)
        .map(|x_n| plan.pad(x_n))
        .collect();
    let mut y: Batch<F, N, O, OH, OW> = Batch::zeros();
    for (p_n, y_n) in padded
        .iter()
        .zip(y.as_flat_mut().chunks_exact_mut(O * OH * OW))
    {
        plan.forward(w.as_flat(), p_n, y_n);
    }
    let w = w.clone();
    (y, move |dy: Batch<F, N, O, OH, OW>| {
        let mut dx: Batch<F, N, C, H, W> = Batch::zeros();
        let mut dw: Filters<F, O, C, KH, KW> = Filters::zeros();
        let mut dw_n = vec![F::zero(); O * C * KH * KW];
        let cotangents = dy.as_flat().chunks_exact(O * OH * OW);
        let adjoints = dx.as_flat_mut().chunks_exact_mut(C * H * W);
        for ((p_n, dy_n), dx_n) in padded.iter().zip(cotangents).zip(adjoints) {
            plan.backward(w.as_flat(), p_n, dy_n, &mut dw_n, dx_n);
            for (d, &v) in dw.as_flat_mut().iter_mut().zip(&dw_n) {
                *d = *d + v;
            }
        }
        (dx, dw)
    })
}

/// [`add_bias`] over a batch: `y[n][o][i][j] + b[o]`, in place on the batch it takes.
///
/// ```
/// use conv_kernels::{Batch, Tensor, Vector, layers::add_bias_batch};
/// let y: Batch<f64, 2, 2, 1, 1> = Tensor::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let b: Vector<f64, 2> = Tensor::from_flat(&[10.0, 20.0]);
/// assert_eq!(add_bias_batch(y, &b).as_flat(), &[11.0, 22.0, 13.0, 24.0]);
/// ```
pub fn add_bias_batch<
    F: Scalar,
    const N: usize,
    const O: usize,
    const OH: usize,
    const OW: usize,
>(
    mut y: Batch<F, N, O, OH, OW>,
    b: &Vector<F, O>,
) -> Batch<F, N, O, OH, OW> {
    for image in y.as_flat_mut().chunks_exact_mut(O * OH * OW) {
        for (plane, &b_o) in image.chunks_exact_mut(OH * OW).zip(b.as_flat()) {
            for v in plane {
                *v = *v + b_o;
            }
        }
    }
    y
}

/// Forward mode of [`add_bias_batch`]: the tangent is `ty + tb` broadcast the same way.
pub fn add_bias_batch_jvp<
    F: Scalar,
    const N: usize,
    const O: usize,
    const OH: usize,
    const OW: usize,
>(
    y: Batch<F, N, O, OH, OW>,
    b: &Vector<F, O>,
    ty: &Batch<F, N, O, OH, OW>,
    tb: &Vector<F, O>,
) -> (Batch<F, N, O, OH, OW>, Batch<F, N, O, OH, OW>) {
    (add_bias_batch(y, b), add_bias_batch(ty.clone(), tb))
}

/// Reverse mode of [`add_bias_batch`]: the cotangent passes through to `y` (moved), and `b`'s
/// adjoint is the sum of each output channel over the batch and the plane.
#[allow(clippy::type_complexity)]
pub fn add_bias_batch_vjp<
    F: Scalar,
    const N: usize,
    const O: usize,
    const OH: usize,
    const OW: usize,
>(
    y: Batch<F, N, O, OH, OW>,
    b: &Vector<F, O>,
) -> (
    Batch<F, N, O, OH, OW>,
    impl FnOnce(Batch<F, N, O, OH, OW>) -> (Batch<F, N, O, OH, OW>, Vector<F, O>) + use<F, N, O, OH, OW>,
) {
    (add_bias_batch(y, b), |ct: Batch<F, N, O, OH, OW>| {
        let mut db = Vector::zeros();
        for image in ct.as_flat().chunks_exact(O * OH * OW) {
            for (d, plane) in db.as_flat_mut().iter_mut().zip(image.chunks_exact(OH * OW)) {
                *d = *d + plane_sum(plane);
            }
        }
        (ct, db)
    })
}

/// `y[o][i][j] + b[o]`: the bias of a convolution, added in place to the image it takes.
///
/// ```
/// use conv_kernels::{Image, Tensor, Vector, layers::add_bias};
/// let y: Image<f64, 2, 1, 2> = Tensor::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let b: Vector<f64, 2> = Tensor::from_flat(&[10.0, 20.0]);
/// assert_eq!(add_bias(y, &b).as_flat(), &[11.0, 12.0, 23.0, 24.0]);
/// ```
pub fn add_bias<F: Scalar, const O: usize, const OH: usize, const OW: usize>(
    mut y: Image<F, O, OH, OW>,
    b: &Vector<F, O>,
) -> Image<F, O, OH, OW> {
    for (plane, &b_o) in y.as_flat_mut().chunks_exact_mut(OH * OW).zip(b.as_flat()) {
        for v in plane {
            *v = *v + b_o;
        }
    }
    y
}

/// Forward mode of [`add_bias`]: the tangent is `ty + tb` broadcast the same way.
pub fn add_bias_jvp<F: Scalar, const O: usize, const OH: usize, const OW: usize>(
    y: Image<F, O, OH, OW>,
    b: &Vector<F, O>,
    ty: &Image<F, O, OH, OW>,
    tb: &Vector<F, O>,
) -> (Image<F, O, OH, OW>, Image<F, O, OH, OW>) {
    (add_bias(y, b), add_bias(ty.clone(), tb))
}

/// Reverse mode of [`add_bias`]: the output's cotangent passes through to `y` unchanged
/// (moved, not copied), and `b`'s adjoint is the sum of each output plane.
#[allow(clippy::type_complexity)]
pub fn add_bias_vjp<F: Scalar, const O: usize, const OH: usize, const OW: usize>(
    y: Image<F, O, OH, OW>,
    b: &Vector<F, O>,
) -> (
    Image<F, O, OH, OW>,
    impl FnOnce(Image<F, O, OH, OW>) -> (Image<F, O, OH, OW>, Vector<F, O>) + use<F, O, OH, OW>,
) {
    (add_bias(y, b), |ct: Image<F, O, OH, OW>| {
        let mut db = Vector::zeros();
        plane_sums(ct.as_flat(), OH * OW, db.as_flat_mut());
        (ct, db)
    })
}

/// A 2-D convolutional layer (cross-correlation, as PyTorch's `conv2d`): input `(C, H, W)`,
/// filters `(O, C, KH, KW)`, bias `(O)`, stride `S`, zero padding `P`, output `(O, OH, OW)` with
/// `OH = (H + 2P - KH) / S + 1` (checked at compile time).
///
/// Written with `#[differentiate]` over [`im2col_gemm`] (im2col fused into the GEMM: the
/// patch matrix is never stored whole) and [`add_bias`], each with its own derivative rule:
/// `conv2d_jvp` and `conv2d_vjp`'s backward pass are generated by the macro, which chains
/// those rules. The unfused pieces, [`image_patches`] and [`filters_times_image_patches`],
/// compute the same product through the full patch matrix.
///
/// ```
/// use conv_kernels::{Filters, Image, Vector, Tensor, layers::conv2d};
/// // The course's layer: 3x32x32 through six 5x5x3 filters -> 6x28x28.
/// let x: Image<f32, 3, 32, 32> = Tensor::from_flat_fn(|i| (i % 7) as f32);
/// let w: Filters<f32, 6, 3, 5, 5> = Tensor::from_flat_fn(|_| 0.01);
/// let b: Vector<f32, 6> = Tensor::from_flat_fn(|o| o as f32);
/// let y = conv2d::<f32, 3, 32, 32, 6, 5, 5, 1, 0, 28, 28>(&x, &w, &b);
/// assert_eq!(y.as_flat().len(), 6 * 28 * 28);
/// ```
#[differentiate]
pub fn conv2d<
    F: Float + Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
    b: &Vector<F, O>,
) -> Image<F, O, OH, OW> {
    let y = im2col_gemm::<F, C, H, W, O, KH, KW, S, P, OH, OW>(x, w);
    add_bias(y, b)
}

/// [`conv2d()`] over a batch `(N, C, H, W)` -> `(N, O, OH, OW)` through
/// the fused kernels image after image ([`im2col_gemm_batch`]: the patch matrix is never
/// stored, and no buffer grows with the batch beyond the input and the output) and
/// [`add_bias_batch`]. Written with `#[differentiate]`; its derivatives are generated.
///
/// ```
/// use conv_kernels::{Batch, Filters, Tensor, Vector, layers::{conv2d, conv2d_batch}};
/// let x: Batch<f64, 3, 2, 5, 5> = Tensor::from_flat_fn(|i| (i % 7) as f64);
/// let w: Filters<f64, 4, 2, 3, 3> = Tensor::from_flat_fn(|i| (i % 5) as f64 - 2.0);
/// let b: Vector<f64, 4> = Tensor::from_flat_fn(|o| o as f64);
/// let y = conv2d_batch::<f64, 3, 2, 5, 5, 4, 3, 3, 1, 0, 3, 3>(&x, &w, &b);
/// let x1 = Tensor::from_array(x[1]);
/// assert_eq!(y[1], *conv2d::<f64, 2, 5, 5, 4, 3, 3, 1, 0, 3, 3>(&x1, &w, &b));
/// ```
#[differentiate]
pub fn conv2d_batch<
    F: Float + Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
    b: &Vector<F, O>,
) -> Batch<F, N, O, OH, OW> {
    let y = im2col_gemm_batch::<F, N, C, H, W, O, KH, KW, S, P, OH, OW>(x, w);
    add_bias_batch(y, b)
}
