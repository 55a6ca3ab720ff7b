//! Batched layers `(N, C, H, W)`.
//!
//! `conv2d_batch` is, like [`conv2d`](crate::conv::conv2d), a `#[differentiate]` function: the
//! fused im2col + GEMM kernels image after image ([`im2col_gemm_batch`]), then the bias
//! ([`add_bias_batch`]). Its backward pass is derived. `linear_batch` is one GEMM for the
//! whole batch.

use autodiff_core::Float;
use autodiff_macros::differentiate;

use crate::conv::{
    add_bias_batch, add_bias_batch_jvp, add_bias_batch_vjp, im2col_gemm_batch,
    im2col_gemm_batch_jvp, im2col_gemm_batch_vjp,
};
use crate::gemm::{Transpose, gemm_slices};
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
    /// The patches of one image, `(C, KH, KW, OH, OW)`: the `(C·KH·KW) x (OH·OW)` patch matrix
    /// of the unfused convolution ([`image_patches`](crate::conv::image_patches)), in one flat
    /// heap buffer.
    ImagePatches<C, KH, KW, OH, OW> = C * KH * KW * OH * OW
}

/// [`conv2d`](crate::conv::conv2d) over a batch `(N, C, H, W)` -> `(N, O, OH, OW)` through
/// the fused kernels image after image ([`im2col_gemm_batch`]: the patch matrix is never
/// stored, and no buffer grows with the batch beyond the input and the output) and
/// [`add_bias_batch`]. Written with `#[differentiate]`; its derivatives are generated.
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
