//! Batched layers `(N, C, H, W)`: one GEMM for a whole batch instead of one per image.
//!
//! `conv2d_batch` is, like [`conv2d`](crate::conv::conv2d), a `#[differentiate]` function: the
//! patches of all `N` images side by side form one `(C·KH·KW) x (N·OH·OW)` matrix, the filters
//! multiply it in one GEMM (giving the output channel-major, `(O, N, OH, OW)`), and one pass
//! puts the batch index first and adds the bias. Its backward pass is derived.

use autodiff_core::Float;
use autodiff_macros::differentiate;

use crate::conv::{
    add_bias_batch, add_bias_batch_jvp, add_bias_batch_vjp, filters_product,
    filters_product_backward, geometry, im2col_gemm_batch, im2col_gemm_batch_jvp,
    im2col_gemm_batch_vjp, plane_sum,
};
use crate::gemm::{Transpose, gemm_slices};
use crate::im2col::{col2im_slice, im2col_slice};
use crate::{Batch, Filters, Mat, Scalar, Vector};

/// A flat heap buffer whose shape lives in its type: what a batched layer keeps between its
/// GEMM and the rest, when the first dimension is small and an element of a nested array would
/// be too large to build on a stack.
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
    /// The patches of a batch: `(C, KH, KW, N, OH, OW)`, the `(C·KH·KW) x (N·OH·OW)` patch
    /// matrix of the whole batch.
    BatchPatches<C, KH, KW, N, OH, OW> = C * KH * KW * N * OH * OW
}

flat_tensor! {
    /// A batch with the channel first, `(O, N, OH, OW)`: what the batched GEMM produces.
    ChannelMajor<O, N, OH, OW> = O * N * OH * OW
}

flat_tensor! {
    /// The patches of one image, `(C, KH, KW, OH, OW)`: the `(C·KH·KW) x (OH·OW)` patch matrix
    /// of the unfused convolution ([`image_patches`](crate::conv::image_patches)), in one flat
    /// heap buffer.
    ImagePatches<C, KH, KW, OH, OW> = C * KH * KW * OH * OW
}

/// im2col of every image of the batch, side by side.
///
/// ```
/// use conv_kernels::{Batch, Tensor, batch::batch_patches};
/// let x: Batch<f64, 2, 1, 3, 3> = Tensor::from_flat_fn(|i| i as f64);
/// let p = batch_patches::<f64, 2, 1, 3, 3, 2, 2, 1, 0, 2, 2>(&x);
/// // Row 0 (tap (0, 0)): image 0's four windows, then image 1's.
/// assert_eq!(&p.as_flat()[..8], &[0.0, 1.0, 3.0, 4.0, 9.0, 10.0, 12.0, 13.0]);
/// ```
pub fn batch_patches<
    F: Scalar,
    const N: usize,
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
    x: &Batch<F, N, C, H, W>,
) -> BatchPatches<F, C, KH, KW, N, OH, OW> {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    let (k, l) = (C * KH * KW, OH * OW);
    if S == 1 && P == 0 {
        // Stride 1, no padding: every row of a window is a contiguous run of the image, so row
        // `(c, u, v)` of the patch matrix is, image after image, the `OH x OW` window at
        // `(u, v)` of channel `c`, copied run by run (`OW` is a constant: no `memcpy` calls).
        let mut cols = BatchPatches::zeros();
        let mut blocks = cols.as_flat_mut().chunks_exact_mut(l);
        for c in 0..C {
            for u in 0..KH {
                for v in 0..KW {
                    for (image, block) in x.iter().zip(&mut blocks) {
                        let plane = &image[c][u..u + OH];
                        for (dst, row) in block.chunks_exact_mut(OW).zip(plane) {
                            dst.copy_from_slice(&row[v..v + OW]);
                        }
                    }
                }
            }
        }
        return cols;
    }
    let mut cols = BatchPatches::zeros();
    let mut one = vec![F::zero(); k * l];
    let flat = cols.as_flat_mut();
    for (n, image) in x.iter().enumerate() {
        im2col_slice(&shape, image.as_flattened().as_flattened(), &mut one);
        for (row, src) in one.chunks_exact(l).enumerate() {
            flat[row * N * l + n * l..][..l].copy_from_slice(src);
        }
    }
    cols
}

/// Forward mode of [`batch_patches`] (linear).
#[allow(clippy::type_complexity)]
pub fn batch_patches_jvp<
    F: Scalar,
    const N: usize,
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
    x: &Batch<F, N, C, H, W>,
    t: &Batch<F, N, C, H, W>,
) -> (
    BatchPatches<F, C, KH, KW, N, OH, OW>,
    BatchPatches<F, C, KH, KW, N, OH, OW>,
) {
    (
        batch_patches::<F, N, C, H, W, KH, KW, S, P, OH, OW>(x),
        batch_patches::<F, N, C, H, W, KH, KW, S, P, OH, OW>(t),
    )
}

/// Reverse mode of [`batch_patches`]: col2im of every image's columns.
#[allow(clippy::type_complexity)]
pub fn batch_patches_vjp<
    F: Scalar,
    const N: usize,
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
    x: &Batch<F, N, C, H, W>,
) -> (
    BatchPatches<F, C, KH, KW, N, OH, OW>,
    impl FnOnce(BatchPatches<F, C, KH, KW, N, OH, OW>) -> Batch<F, N, C, H, W>
    + use<F, N, C, H, W, KH, KW, S, P, OH, OW>,
) {
    let shape = geometry::<C, H, W, KH, KW, S, P, OH, OW>();
    (
        batch_patches::<F, N, C, H, W, KH, KW, S, P, OH, OW>(x),
        move |ct: BatchPatches<F, C, KH, KW, N, OH, OW>| {
            let (k, l) = (C * KH * KW, OH * OW);
            let mut dx: Batch<F, N, C, H, W> = Batch::zeros();
            if S == 1 && P == 0 {
                // The adjoint of the copies above: row `y` of channel `c` of image `n` gathers
                // the runs `ct[(c, u, v), n, y - u, ..]`, each shifted right by `v`. They are
                // summed in a one-row buffer and stored once: adding the runs in place, one
                // after the other, would re-read each element just after an overlapping store.
                let ct = ct.as_flat();
                let tap = |c: usize, u: usize, v: usize| ((c * KH + u) * KW + v) * N * l;
                for (n, image) in dx.iter_mut().enumerate() {
                    for (c, plane) in image.iter_mut().enumerate() {
                        for (y, out) in plane.iter_mut().enumerate() {
                            let mut row = [F::zero(); W];
                            for u in y.saturating_sub(OH - 1)..=y.min(KH - 1) {
                                let i = y - u;
                                for v in 0..KW {
                                    let run = &ct[tap(c, u, v) + n * l + i * OW..][..OW];
                                    for (d, &r) in row[v..v + OW].iter_mut().zip(run) {
                                        *d = *d + r;
                                    }
                                }
                            }
                            *out = row;
                        }
                    }
                }
                return dx;
            }
            let mut one = vec![F::zero(); k * l];
            let flat = ct.as_flat();
            for (n, image) in dx.iter_mut().enumerate() {
                for (row, dst) in one.chunks_exact_mut(l).enumerate() {
                    dst.copy_from_slice(&flat[row * N * l + n * l..][..l]);
                }
                col2im_slice(&shape, &one, image.as_flattened_mut().as_flattened_mut());
            }
            dx
        },
    )
}

/// `y <- W cols + beta y` for a batch: `(O x K) . (K x N·L)`.
fn product<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: &BatchPatches<F, C, KH, KW, N, OH, OW>,
    y: &mut ChannelMajor<F, O, N, OH, OW>,
    beta: F,
) {
    filters_product(
        (O, C * KH * KW, N * OH * OW),
        w.as_flat(),
        cols.as_flat(),
        y.as_flat_mut(),
        beta,
    );
}

/// The GEMM of a batched convolution; takes the patches by value so that the pullback keeps
/// them without a copy.
pub fn filters_times_batch_patches<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: BatchPatches<F, C, KH, KW, N, OH, OW>,
) -> ChannelMajor<F, O, N, OH, OW> {
    let mut y = ChannelMajor::zeros();
    product(w, &cols, &mut y, F::zero());
    y
}

/// Forward mode of [`filters_times_batch_patches`]: `dW cols + W dcols`.
#[allow(clippy::type_complexity)]
pub fn filters_times_batch_patches_jvp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: BatchPatches<F, C, KH, KW, N, OH, OW>,
    tw: &Filters<F, O, C, KH, KW>,
    tcols: &BatchPatches<F, C, KH, KW, N, OH, OW>,
) -> (ChannelMajor<F, O, N, OH, OW>, ChannelMajor<F, O, N, OH, OW>) {
    let mut t = ChannelMajor::zeros();
    product(tw, &cols, &mut t, F::zero());
    product(w, tcols, &mut t, F::one());
    (filters_times_batch_patches(w, cols), t)
}

/// Reverse mode of [`filters_times_batch_patches`]: `dW = dY colsᵀ`, `dcols = Wᵀ dY`.
#[allow(clippy::type_complexity)]
pub fn filters_times_batch_patches_vjp<
    F: Scalar,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &Filters<F, O, C, KH, KW>,
    cols: BatchPatches<F, C, KH, KW, N, OH, OW>,
) -> (
    ChannelMajor<F, O, N, OH, OW>,
    impl FnOnce(
        ChannelMajor<F, O, N, OH, OW>,
    ) -> (
        Filters<F, O, C, KH, KW>,
        BatchPatches<F, C, KH, KW, N, OH, OW>,
    ) + use<F, O, C, KH, KW, N, OH, OW>,
) {
    let mut y = ChannelMajor::zeros();
    product(w, &cols, &mut y, F::zero());
    let w = w.clone();
    (y, move |dy: ChannelMajor<F, O, N, OH, OW>| {
        let mut dw = Filters::zeros();
        let mut dcols = cols;
        filters_product_backward(
            (O, C * KH * KW, N * OH * OW),
            w.as_flat(),
            dy.as_flat(),
            dcols.as_flat_mut(),
            dw.as_flat_mut(),
        );
        (dw, dcols)
    })
}

/// `(O, N, OH, OW)` to `(N, O, OH, OW)`.
pub fn batch_major<F: Scalar, const O: usize, const N: usize, const OH: usize, const OW: usize>(
    y: &ChannelMajor<F, O, N, OH, OW>,
) -> Batch<F, N, O, OH, OW> {
    let l = OH * OW;
    let mut out: Batch<F, N, O, OH, OW> = Batch::zeros();
    let flat = out.as_flat_mut();
    for (o, per_image) in y.as_flat().chunks_exact(N * l).enumerate() {
        for (n, plane) in per_image.chunks_exact(l).enumerate() {
            flat[(n * O + o) * l..][..l].copy_from_slice(plane);
        }
    }
    out
}

/// Forward mode of [`batch_major`] (a permutation, linear).
#[allow(clippy::type_complexity)]
pub fn batch_major_jvp<
    F: Scalar,
    const O: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    y: &ChannelMajor<F, O, N, OH, OW>,
    t: &ChannelMajor<F, O, N, OH, OW>,
) -> (Batch<F, N, O, OH, OW>, Batch<F, N, O, OH, OW>) {
    (batch_major(y), batch_major(t))
}

/// Reverse mode of [`batch_major`]: the inverse permutation.
#[allow(clippy::type_complexity)]
pub fn batch_major_vjp<
    F: Scalar,
    const O: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    y: &ChannelMajor<F, O, N, OH, OW>,
) -> (
    Batch<F, N, O, OH, OW>,
    impl FnOnce(Batch<F, N, O, OH, OW>) -> ChannelMajor<F, O, N, OH, OW> + use<F, O, N, OH, OW>,
) {
    (batch_major(y), |ct: Batch<F, N, O, OH, OW>| {
        let l = OH * OW;
        let mut out = ChannelMajor::zeros();
        let flat = out.as_flat_mut();
        for (n, image) in ct.as_flat().chunks_exact(O * l).enumerate() {
            for (o, plane) in image.chunks_exact(l).enumerate() {
                flat[(o * N + n) * l..][..l].copy_from_slice(plane);
            }
        }
        out
    })
}

/// [`batch_major`] and the bias of a convolution in one pass:
/// `out[n][o][i][j] = y[o][n][i][j] + b[o]`.
///
/// ```
/// use conv_kernels::{Tensor, Vector, batch::{ChannelMajor, batch_major_add_bias}};
/// let mut y: ChannelMajor<f64, 2, 2, 1, 1> = ChannelMajor::zeros();
/// y.as_flat_mut().copy_from_slice(&[1.0, 2.0, 3.0, 4.0]); // (o, n) = (0, 0), (0, 1), (1, 0), (1, 1)
/// let b: Vector<f64, 2> = Tensor::from_flat(&[10.0, 20.0]);
/// assert_eq!(batch_major_add_bias(&y, &b).as_flat(), &[11.0, 23.0, 12.0, 24.0]);
/// ```
pub fn batch_major_add_bias<
    F: Scalar,
    const O: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    y: &ChannelMajor<F, O, N, OH, OW>,
    b: &Vector<F, O>,
) -> Batch<F, N, O, OH, OW> {
    let l = OH * OW;
    let mut out: Batch<F, N, O, OH, OW> = Batch::zeros();
    let flat = out.as_flat_mut();
    for ((o, per_image), &b_o) in y.as_flat().chunks_exact(N * l).enumerate().zip(b.iter()) {
        for (n, plane) in per_image.chunks_exact(l).enumerate() {
            for (d, &v) in flat[(n * O + o) * l..][..l].iter_mut().zip(plane) {
                *d = v + b_o;
            }
        }
    }
    out
}

/// Forward mode of [`batch_major_add_bias`] (affine: the tangent is the same permutation of
/// `ty` plus `tb`).
#[allow(clippy::type_complexity)]
pub fn batch_major_add_bias_jvp<
    F: Scalar,
    const O: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    y: &ChannelMajor<F, O, N, OH, OW>,
    b: &Vector<F, O>,
    ty: &ChannelMajor<F, O, N, OH, OW>,
    tb: &Vector<F, O>,
) -> (Batch<F, N, O, OH, OW>, Batch<F, N, O, OH, OW>) {
    (batch_major_add_bias(y, b), batch_major_add_bias(ty, tb))
}

/// Reverse mode of [`batch_major_add_bias`]: `y`'s adjoint is the inverse permutation of the
/// cotangent, `b`'s the sum of each output channel over the batch and the plane.
#[allow(clippy::type_complexity)]
pub fn batch_major_add_bias_vjp<
    F: Scalar,
    const O: usize,
    const N: usize,
    const OH: usize,
    const OW: usize,
>(
    y: &ChannelMajor<F, O, N, OH, OW>,
    b: &Vector<F, O>,
) -> (
    Batch<F, N, O, OH, OW>,
    impl FnOnce(Batch<F, N, O, OH, OW>) -> (ChannelMajor<F, O, N, OH, OW>, Vector<F, O>)
    + use<F, O, N, OH, OW>,
) {
    (batch_major_add_bias(y, b), |ct: Batch<F, N, O, OH, OW>| {
        let l = OH * OW;
        let mut dy = ChannelMajor::zeros();
        let mut db: Vector<F, O> = Vector::zeros();
        let flat = dy.as_flat_mut();
        for (n, image) in ct.as_flat().chunks_exact(O * l).enumerate() {
            for ((o, plane), d) in image.chunks_exact(l).enumerate().zip(db.iter_mut()) {
                flat[(o * N + n) * l..][..l].copy_from_slice(plane);
                *d = *d + plane_sum(plane);
            }
        }
        (dy, db)
    })
}

/// [`conv2d`](crate::conv::conv2d) over a batch `(N, C, H, W)` -> `(N, O, OH, OW)`, with one
/// GEMM for the whole batch. Written with `#[differentiate]`; its derivatives are generated.
///
/// ```
/// use conv_kernels::{Batch, Filters, Tensor, Vector, batch::conv2d_batch, conv::conv2d};
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
    let cols = batch_patches::<F, N, C, H, W, KH, KW, S, P, OH, OW>(x);
    let channel_major = filters_times_batch_patches(w, cols);
    batch_major_add_bias(&channel_major, b)
}

/// [`conv2d`](crate::conv::conv2d) over a batch `(N, C, H, W)` -> `(N, O, OH, OW)` through
/// the fused kernels image after image ([`im2col_gemm_batch`]: the patch matrix is never
/// stored) and [`add_bias_batch`]. It computes what [`conv2d_batch`] computes; that one forms
/// the batch's whole patch matrix for one GEMM, which pays for small images (8x8 digits) and
/// costs memory traffic for larger ones (28x28: LeNet-5's first layer's patch matrix for 16
/// images is 0.9 MB). Written with `#[differentiate]`; its derivatives are generated.
///
/// ```
/// use conv_kernels::{Batch, Filters, Tensor, Vector, batch::{conv2d_batch, conv2d_batch_fused}};
/// let x: Batch<f64, 3, 2, 6, 6> = Tensor::from_flat_fn(|i| (i % 7) as f64);
/// let w: Filters<f64, 4, 2, 3, 3> = Tensor::from_flat_fn(|i| (i % 5) as f64 - 2.0);
/// let b: Vector<f64, 4> = Tensor::from_flat_fn(|o| o as f64);
/// let fused = conv2d_batch_fused::<f64, 3, 2, 6, 6, 4, 3, 3, 1, 0, 4, 4>(&x, &w, &b);
/// let one_gemm = conv2d_batch::<f64, 3, 2, 6, 6, 4, 3, 3, 1, 0, 4, 4>(&x, &w, &b);
/// assert_eq!(fused, one_gemm);
/// ```
#[differentiate]
pub fn conv2d_batch_fused<
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

/// A linear layer over a batch: `Z = X Wᵀ + b` for `X` of shape `(B, I)` and `W` of `(O, I)`.
///
/// ```
/// use conv_kernels::{Mat, Tensor, Vector, batch::linear_batch};
/// let w: Mat<f64, 2, 3> = Mat::from_flat(&[1.0, 0.0, 0.0, 0.0, 1.0, 1.0]);
/// let b: Vector<f64, 2> = Tensor::from_flat(&[0.5, -0.5]);
/// let x: Mat<f64, 1, 3> = Mat::from_flat(&[1.0, 2.0, 3.0]);
/// assert_eq!(linear_batch(&w, &b, &x)[0], [1.5, 4.5]);
/// ```
pub fn linear_batch<F: Scalar, const B: usize, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Mat<F, B, I>,
) -> Mat<F, B, O> {
    let mut z = Mat::zeros();
    for row in z.iter_mut() {
        *row = **b;
    }
    // Shapes: Z (B x O) += X (B x I) . Wᵀ (I x O)
    gemm_slices(
        Transpose::No,
        Transpose::Yes,
        B,
        O,
        I,
        F::one(),
        x.as_flat(),
        I,
        w.as_flat(),
        I,
        F::one(),
        z.as_flat_mut(),
        O,
    );
    z
}

/// Forward mode of [`linear_batch`]: `X dWᵀ + dX Wᵀ + db`.
#[allow(clippy::type_complexity)]
pub fn linear_batch_jvp<F: Scalar, const B: usize, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Mat<F, B, I>,
    tw: &Mat<F, O, I>,
    tb: &Vector<F, O>,
    tx: &Mat<F, B, I>,
) -> (Mat<F, B, O>, Mat<F, B, O>) {
    let mut t = linear_batch(tw, tb, x);
    gemm_slices(
        Transpose::No,
        Transpose::Yes,
        B,
        O,
        I,
        F::one(),
        tx.as_flat(),
        I,
        w.as_flat(),
        I,
        F::one(),
        t.as_flat_mut(),
        O,
    );
    (linear_batch(w, b, x), t)
}

/// Reverse mode of [`linear_batch`]: `dW = dZᵀ X`, `db = Σ rows of dZ`, `dX = dZ W`. The
/// pullback owns copies of `W` and `X`.
#[allow(clippy::type_complexity)]
pub fn linear_batch_vjp<F: Scalar, const B: usize, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Mat<F, B, I>,
) -> (
    Mat<F, B, O>,
    impl FnOnce(Mat<F, B, O>) -> (Mat<F, O, I>, Vector<F, O>, Mat<F, B, I>) + use<F, B, O, I>,
) {
    let z = linear_batch(w, b, x);
    let (w, x) = (w.clone(), x.clone());
    (z, move |dz: Mat<F, B, O>| {
        let mut dw = Mat::zeros();
        // Shapes: dW (O x I) = dZᵀ (O x B) . X (B x I)
        gemm_slices(
            Transpose::Yes,
            Transpose::No,
            O,
            I,
            B,
            F::one(),
            dz.as_flat(),
            O,
            x.as_flat(),
            I,
            F::zero(),
            dw.as_flat_mut(),
            I,
        );
        let mut db = Vector::zeros();
        for row in dz.iter() {
            for (d, &v) in db.iter_mut().zip(row) {
                *d = *d + v;
            }
        }
        let mut dx = Mat::zeros();
        // Shapes: dX (B x I) = dZ (B x O) . W (O x I)
        gemm_slices(
            Transpose::No,
            Transpose::No,
            B,
            I,
            O,
            F::one(),
            dz.as_flat(),
            O,
            w.as_flat(),
            I,
            F::zero(),
            dx.as_flat_mut(),
            I,
        );
        (dw, db, dx)
    })
}
