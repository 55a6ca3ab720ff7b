//! Reshapes between images and vectors: `flatten` and its inverse `unflatten`, for one sample
//! and for a batch. Leaves keep their row-major order (channel, then row, then column), as
//! PyTorch's `flatten(start_dim=1)`.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::{Batch, Image, Mat, Vector};

/// One sample `(C, H, W)` as a vector of `N == C * H * W` leaves (checked at compile time).
///
/// ```
/// use conv_kernels::layers::flatten;
/// use conv_kernels::tensor::{Image, Vector};
/// let x: Image<f64, 2, 1, 2> = Image::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let v: Vector<f64, 4> = flatten(&x);
/// assert_eq!(*v, [1.0, 2.0, 3.0, 4.0]);
/// ```
pub fn flatten<F: Scalar + Real, const C: usize, const H: usize, const W: usize, const N: usize>(
    x: &Image<F, C, H, W>,
) -> Vector<F, N> {
    const { assert!(N == C * H * W, "flatten: N must be C * H * W") };
    x.reshape()
}

/// Forward mode of [`flatten`]: `(flatten(x), flatten(t))`.
///
/// ```
/// use conv_kernels::layers::flatten_jvp;
/// use conv_kernels::tensor::{Image, Vector};
/// let x: Image<f64, 1, 1, 2> = Image::from_flat(&[1.0, 2.0]);
/// let (v, dv): (Vector<f64, 2>, _) = flatten_jvp(&x, &x);
/// assert_eq!(*dv, [1.0, 2.0]);
/// ```
pub fn flatten_jvp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    x: &Image<F, C, H, W>,
    t: &Image<F, C, H, W>,
) -> (Vector<F, N>, Vector<F, N>) {
    (flatten(x), flatten(t))
}

/// Reverse mode of [`flatten`]: the pullback is [`unflatten`].
///
/// ```
/// use conv_kernels::layers::flatten_vjp;
/// use conv_kernels::tensor::{Image, Vector};
/// let x: Image<f64, 1, 1, 2> = Image::from_flat(&[1.0, 2.0]);
/// let (v, pullback) = flatten_vjp::<_, 1, 1, 2, 2>(&x);
/// assert_eq!(*pullback(Vector::from_array([5.0, 6.0])), [[[5.0, 6.0]]]);
/// ```
#[allow(clippy::type_complexity)]
pub fn flatten_vjp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    x: &Image<F, C, H, W>,
) -> (
    Vector<F, N>,
    impl FnOnce(Vector<F, N>) -> Image<F, C, H, W> + use<F, C, H, W, N>,
) {
    (flatten(x), |ct: Vector<F, N>| unflatten(&ct))
}

/// A vector of `N == C * H * W` leaves as one sample `(C, H, W)`: the inverse of [`flatten`].
///
/// ```
/// use conv_kernels::layers::unflatten;
/// use conv_kernels::tensor::{Image, Vector};
/// let x: Image<f64, 2, 1, 1> = unflatten(&Vector::from_array([1.0, 2.0]));
/// assert_eq!(*x, [[[1.0]], [[2.0]]]);
/// ```
pub fn unflatten<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    v: &Vector<F, N>,
) -> Image<F, C, H, W> {
    const { assert!(N == C * H * W, "unflatten: N must be C * H * W") };
    v.reshape()
}

/// Forward mode of [`unflatten`].
///
/// ```
/// use conv_kernels::layers::unflatten_jvp;
/// use conv_kernels::tensor::{Image, Vector};
/// let v = Vector::from_array([1.0, 2.0]);
/// let (x, dx): (Image<f64, 1, 1, 2>, _) = unflatten_jvp(&v, &v);
/// assert_eq!(*dx, [[[1.0, 2.0]]]);
/// ```
pub fn unflatten_jvp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    v: &Vector<F, N>,
    t: &Vector<F, N>,
) -> (Image<F, C, H, W>, Image<F, C, H, W>) {
    (unflatten(v), unflatten(t))
}

/// Reverse mode of [`unflatten`]: the pullback is [`flatten`].
///
/// ```
/// use conv_kernels::layers::unflatten_vjp;
/// use conv_kernels::tensor::{Image, Vector};
/// let (x, pullback) = unflatten_vjp::<f64, 1, 1, 2, 2>(&Vector::from_array([1.0, 2.0]));
/// assert_eq!(*pullback(Image::from_flat(&[3.0, 4.0])), [3.0, 4.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn unflatten_vjp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    v: &Vector<F, N>,
) -> (
    Image<F, C, H, W>,
    impl FnOnce(Image<F, C, H, W>) -> Vector<F, N> + use<F, C, H, W, N>,
) {
    (unflatten(v), |ct: Image<F, C, H, W>| flatten(&ct))
}

/// A batch `(B, C, H, W)` as a `B x N` matrix, one flattened sample per row, `N == C * H * W`
/// (checked at compile time).
///
/// ```
/// use conv_kernels::layers::flatten_batch;
/// use conv_kernels::tensor::{Batch, Mat};
/// let x: Batch<f64, 2, 1, 1, 2> = Batch::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let m: Mat<f64, 2, 2> = flatten_batch(&x);
/// assert_eq!(*m, [[1.0, 2.0], [3.0, 4.0]]);
/// ```
pub fn flatten_batch<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    x: &Batch<F, B, C, H, W>,
) -> Mat<F, B, N> {
    const { assert!(N == C * H * W, "flatten_batch: N must be C * H * W") };
    x.reshape()
}

/// Forward mode of [`flatten_batch`].
///
/// ```
/// use conv_kernels::layers::flatten_batch_jvp;
/// use conv_kernels::tensor::{Batch, Mat};
/// let x: Batch<f64, 1, 1, 1, 2> = Batch::from_flat(&[1.0, 2.0]);
/// let (m, dm): (Mat<f64, 1, 2>, _) = flatten_batch_jvp(&x, &x);
/// assert_eq!(*dm, [[1.0, 2.0]]);
/// ```
pub fn flatten_batch_jvp<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    x: &Batch<F, B, C, H, W>,
    t: &Batch<F, B, C, H, W>,
) -> (Mat<F, B, N>, Mat<F, B, N>) {
    (flatten_batch(x), flatten_batch(t))
}

/// Reverse mode of [`flatten_batch`]: the pullback is [`unflatten_batch`].
///
/// ```
/// use conv_kernels::layers::flatten_batch_vjp;
/// use conv_kernels::tensor::{Batch, Mat};
/// let x: Batch<f64, 1, 1, 1, 2> = Batch::from_flat(&[1.0, 2.0]);
/// let (m, pullback) = flatten_batch_vjp::<_, 1, 1, 1, 2, 2>(&x);
/// assert_eq!(*pullback(Mat::from_flat(&[5.0, 6.0])), [[[[5.0, 6.0]]]]);
/// ```
#[allow(clippy::type_complexity)]
pub fn flatten_batch_vjp<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    x: &Batch<F, B, C, H, W>,
) -> (
    Mat<F, B, N>,
    impl FnOnce(Mat<F, B, N>) -> Batch<F, B, C, H, W> + use<F, B, C, H, W, N>,
) {
    (flatten_batch(x), |ct: Mat<F, B, N>| unflatten_batch(&ct))
}

/// A `B x N` matrix as a batch `(B, C, H, W)`: the inverse of [`flatten_batch`].
///
/// ```
/// use conv_kernels::layers::unflatten_batch;
/// use conv_kernels::tensor::{Batch, Mat};
/// let m: Mat<f64, 2, 1> = Mat::from_flat(&[1.0, 2.0]);
/// let x: Batch<f64, 2, 1, 1, 1> = unflatten_batch(&m);
/// assert_eq!(*x, [[[[1.0]]], [[[2.0]]]]);
/// ```
pub fn unflatten_batch<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    m: &Mat<F, B, N>,
) -> Batch<F, B, C, H, W> {
    const { assert!(N == C * H * W, "unflatten_batch: N must be C * H * W") };
    m.reshape()
}

/// Forward mode of [`unflatten_batch`].
///
/// ```
/// use conv_kernels::layers::unflatten_batch_jvp;
/// use conv_kernels::tensor::{Batch, Mat};
/// let m: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let (x, dx): (Batch<f64, 1, 1, 1, 2>, _) = unflatten_batch_jvp(&m, &m);
/// assert_eq!(*dx, [[[[1.0, 2.0]]]]);
/// ```
pub fn unflatten_batch_jvp<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    m: &Mat<F, B, N>,
    t: &Mat<F, B, N>,
) -> (Batch<F, B, C, H, W>, Batch<F, B, C, H, W>) {
    (unflatten_batch(m), unflatten_batch(t))
}

/// Reverse mode of [`unflatten_batch`]: the pullback is [`flatten_batch`].
///
/// ```
/// use conv_kernels::layers::unflatten_batch_vjp;
/// use conv_kernels::tensor::{Batch, Mat};
/// let m: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let (x, pullback) = unflatten_batch_vjp::<_, 1, 1, 1, 2, 2>(&m);
/// assert_eq!(*pullback(Batch::from_flat(&[3.0, 4.0])), [[3.0, 4.0]]);
/// ```
#[allow(clippy::type_complexity)]
pub fn unflatten_batch_vjp<
    F: Scalar + Real,
    const B: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const N: usize,
>(
    m: &Mat<F, B, N>,
) -> (
    Batch<F, B, C, H, W>,
    impl FnOnce(Batch<F, B, C, H, W>) -> Mat<F, B, N> + use<F, B, C, H, W, N>,
) {
    (unflatten_batch(m), |ct: Batch<F, B, C, H, W>| {
        flatten_batch(&ct)
    })
}
