//! `conv2d`: a convolutional layer written as an ordinary `#[differentiate]` function over
//! im2col, a GEMM and a bias, so that its backward pass (`dW = dY colᵀ`, `dX = col2im(Wᵀ dY)`,
//! `db = Σ dY`) is derived by the macro, not written by hand.
//!
//! The patch matrix of one image is kept in a tensor shaped `(C, KH, KW, OH, OW)`: in memory it
//! is exactly the `(C·KH·KW) x (OH·OW)` matrix of the course's im2col, and the filters
//! `(O, C, KH, KW)` are the `O x (C·KH·KW)` matrix, so the product needs no reshaping copies and
//! stable Rust never has to compute `C·KH·KW` in a type. [`conv2d`] keeps it in the flat
//! [`ImagePatches`] (one heap buffer, built without a zero-filled nested array on the stack);
//! [`patches`] gives the same matrix as a nested-array [`Patches`] tensor.

use autodiff_core::Float;
use autodiff_macros::differentiate;

use crate::batch::ImagePatches;
use crate::gemm::{Transpose, gemm_slices};
use crate::im2col::{Im2colShape, col2im_slice, im2col_slice};
use crate::{Filters, Image, Scalar, Tensor, Vector};

/// The im2col patches of one `(C, H, W)` image for a `KH x KW` kernel: shaped
/// `(C, KH, KW, OH, OW)`, in memory the `(C·KH·KW) x (OH·OW)` patch matrix.
pub type Patches<
    F,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
> = Tensor<[[[[[F; OW]; OH]; KW]; KH]; C]>;

/// The im2col geometry, with the output size checked at compile time.
pub(crate) const fn geometry<
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

/// im2col of one image: every `KH x KW` window (stride `S`, zero padding `P`) as a column.
///
/// ```
/// use conv_kernels::{Image, conv::patches};
/// let x: Image<f64, 1, 3, 3> = Image::from_flat_fn(|i| i as f64);
/// let p = patches::<f64, 1, 3, 3, 2, 2, 1, 0, 2, 2>(&x);
/// assert_eq!(p[0][0][0], [[0.0, 1.0], [3.0, 4.0]]); // tap (0, 0) of the four windows
/// ```
pub fn patches<
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
) -> Patches<F, C, KH, KW, OH, OW> {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    let mut cols = Patches::zeros();
    im2col_slice(&shape, x.as_flat(), cols.as_flat_mut());
    cols
}

/// Forward mode of [`patches`]: it is linear, so the tangent is the patches of the tangent.
pub fn patches_jvp<
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
) -> (Patches<F, C, KH, KW, OH, OW>, Patches<F, C, KH, KW, OH, OW>) {
    (
        patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x),
        patches::<F, C, H, W, KH, KW, S, P, OH, OW>(t),
    )
}

/// Reverse mode of [`patches`]: the pullback is col2im, which sums every window's adjoint
/// back onto the pixels it came from. It keeps nothing but the shape.
#[allow(clippy::type_complexity)]
pub fn patches_vjp<
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
    Patches<F, C, KH, KW, OH, OW>,
    impl FnOnce(Patches<F, C, KH, KW, OH, OW>) -> Image<F, C, H, W>
    + use<F, C, H, W, KH, KW, S, P, OH, OW>,
) {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    (
        patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x),
        move |ct: Patches<F, C, KH, KW, OH, OW>| {
            let mut dx = Image::zeros();
            col2im_slice(&shape, ct.as_flat(), dx.as_flat_mut());
            dx
        },
    )
}

/// The GEMM of a convolution: the filters as an `O x (C·KH·KW)` matrix times the patch matrix,
/// giving the `(O, OH, OW)` output without its bias. Takes the patches by value: the pullback
/// needs them, and keeps them without a copy.
///
/// ```
/// use conv_kernels::{Filters, Tensor, conv::{Patches, filters_times_patches}};
/// let w: Filters<f64, 1, 1, 1, 1> = Tensor::from_flat_fn(|_| 2.0);
/// let p: Patches<f64, 1, 1, 1, 1, 2> = Tensor::from_flat_fn(|i| i as f64);
/// assert_eq!(filters_times_patches(&w, p)[0][0], [0.0, 2.0]);
/// ```
pub fn filters_times_patches<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: Patches<F, C, KH, KW, OH, OW>,
) -> Image<F, O, OH, OW> {
    let mut y = Image::zeros();
    product(w, &cols, &mut y, F::zero());
    y
}

/// `y <- W cols + beta y` on flat buffers: the filters `W` as an `O x K` matrix, the patches
/// as `K x L`, the output as `O x L`. Shared by the single-image and the batched convolution.
pub(crate) fn filters_product<F: Scalar>(
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
pub(crate) fn filters_product_backward<F: Scalar>(
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

/// `y <- W cols + beta y`, with the shapes of a convolution.
fn product<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: &Patches<F, C, KH, KW, OH, OW>,
    y: &mut Image<F, O, OH, OW>,
    beta: F,
) {
    filters_product(
        (O, C * KH * KW, OH * OW),
        w.as_flat(),
        cols.as_flat(),
        y.as_flat_mut(),
        beta,
    );
}

/// Forward mode of [`filters_times_patches`]: `dW cols + W dcols`.
#[allow(clippy::type_complexity)]
pub fn filters_times_patches_jvp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: Patches<F, C, KH, KW, OH, OW>,
    tw: &Filters<F, O, C, KH, KW>,
    tcols: &Patches<F, C, KH, KW, OH, OW>,
) -> (Image<F, O, OH, OW>, Image<F, O, OH, OW>) {
    let mut t = Image::zeros();
    product(tw, &cols, &mut t, F::zero());
    product(w, tcols, &mut t, F::one());
    (filters_times_patches(w, cols), t)
}

/// Reverse mode of [`filters_times_patches`]: `dW = dY colsᵀ` and `dcols = Wᵀ dY`. The
/// pullback owns the patches (moved in) and a copy of the filters.
#[allow(clippy::type_complexity)]
pub fn filters_times_patches_vjp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: Patches<F, C, KH, KW, OH, OW>,
) -> (
    Image<F, O, OH, OW>,
    impl FnOnce(Image<F, O, OH, OW>) -> (Filters<F, O, C, KH, KW>, Patches<F, C, KH, KW, OH, OW>)
    + use<F, O, C, KH, KW, OH, OW>,
) {
    let mut y = Image::zeros();
    product(w, &cols, &mut y, F::zero());
    let w = w.clone();
    (y, move |dy: Image<F, O, OH, OW>| {
        let mut dw = Filters::zeros();
        let mut dcols = cols;
        filters_product_backward(
            (O, C * KH * KW, OH * OW),
            w.as_flat(),
            dy.as_flat(),
            dcols.as_flat_mut(),
            dw.as_flat_mut(),
        );
        (dw, dcols)
    })
}

/// [`patches`] into the flat [`ImagePatches`]: the im2col that [`conv2d`] differentiates.
///
/// ```
/// use conv_kernels::{Image, conv::image_patches};
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

/// [`filters_times_patches`] on the flat [`ImagePatches`]: the GEMM that [`conv2d`]
/// differentiates.
///
/// ```
/// use conv_kernels::{Filters, Image, Tensor, conv::{filters_times_image_patches, image_patches}};
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

/// `y[o][i][j] + b[o]`: the bias of a convolution, added in place to the image it takes.
///
/// ```
/// use conv_kernels::{Image, Tensor, Vector, conv::add_bias};
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
        for (d, plane) in db
            .as_flat_mut()
            .iter_mut()
            .zip(ct.as_flat().chunks_exact(OH * OW))
        {
            // Eight partial sums, so that the adds do not wait on each other.
            let mut partial = [F::zero(); 8];
            let mut blocks = plane.chunks_exact(8);
            for block in &mut blocks {
                for (p, &v) in partial.iter_mut().zip(block) {
                    *p = *p + v;
                }
            }
            let tail = blocks.remainder().iter().fold(F::zero(), |acc, &v| acc + v);
            *d = partial.iter().fold(tail, |acc, &p| acc + p);
        }
        (ct, db)
    })
}

/// A 2-D convolutional layer (cross-correlation, as PyTorch's `conv2d`): input `(C, H, W)`,
/// filters `(O, C, KH, KW)`, bias `(O)`, stride `S`, zero padding `P`, output `(O, OH, OW)` with
/// `OH = (H + 2P - KH) / S + 1` (checked at compile time).
///
/// Written with `#[differentiate]` over [`image_patches`] (im2col),
/// [`filters_times_image_patches`] (the GEMM) and [`add_bias`], each with its own derivative
/// rule: `conv2d_jvp`, `conv2d_vjp` and `conv2d_grad`'s backward pass are generated by the
/// macro, which chains those rules.
///
/// ```
/// use conv_kernels::{Filters, Image, Vector, Tensor, conv::conv2d};
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
    let cols = image_patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x);
    let y = filters_times_image_patches(w, cols);
    add_bias(y, b)
}
