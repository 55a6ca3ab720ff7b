//! The fully connected layer `y = W x + b`, and its batched form `Z = X Wᵀ + b`.

use autodiff_core::Real;

use crate::Scalar;
use crate::gemm::{Transpose, gemm_slices};
use crate::tensor::{Mat, Vector};

/// A fully connected layer: `y = W x + b` for a weight matrix `W` of `O` rows (outputs) and `I`
/// columns (inputs), a bias `b` of length `O` and an input `x` of length `I`.
///
/// ```
/// use conv_kernels::layers::linear;
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Mat<f64, 2, 3> = Mat::from_flat(&[1.0, 0.0, 2.0, 0.0, 1.0, 0.0]);
/// let b = Vector::from_array([0.5, -0.5]);
/// let x = Vector::from_array([1.0, 2.0, 3.0]);
/// assert_eq!(*linear(&w, &b, &x), [7.5, 1.5]);
/// ```
pub fn linear<F: Scalar + Real, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Vector<F, I>,
) -> Vector<F, O> {
    Vector::from_fn(|o| {
        w[o].iter()
            .zip(x.iter())
            .fold(b[o], |acc, (&wi, &xi)| acc + wi * xi)
    })
}

/// Forward mode of [`linear`]: `(W x + b, dW x + W dx + db)`.
///
/// ```
/// use conv_kernels::layers::linear_jvp;
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let (b, x) = (Vector::from_array([0.0]), Vector::from_array([3.0, 4.0]));
/// let tw: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 0.0]);
/// let (tb, tx) = (Vector::from_array([1.0]), Vector::from_array([0.0, 1.0]));
/// let (y, dy) = linear_jvp(&w, &b, &x, &tw, &tb, &tx);
/// assert_eq!((y[0], dy[0]), (11.0, 3.0 + 1.0 + 2.0));
/// ```
pub fn linear_jvp<F: Scalar + Real, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Vector<F, I>,
    tw: &Mat<F, O, I>,
    tb: &Vector<F, O>,
    tx: &Vector<F, I>,
) -> (Vector<F, O>, Vector<F, O>) {
    let y = linear(w, b, x);
    let dy =
        Vector::from_fn(|o| (0..I).fold(tb[o], |acc, i| acc + tw[o][i] * x[i] + w[o][i] * tx[i]));
    (y, dy)
}

/// Reverse mode of [`linear`]: the pullback maps `ct` to `(dW, db, dx) = (ct xᵀ, ct, Wᵀ ct)`.
/// It owns copies of `W` and `x`.
///
/// ```
/// use conv_kernels::layers::linear_vjp;
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let (b, x) = (Vector::from_array([0.0]), Vector::from_array([3.0, 4.0]));
/// let (y, pullback) = linear_vjp(&w, &b, &x);
/// let (dw, db, dx) = pullback(Vector::from_array([2.0]));
/// assert_eq!((*dw, *db, *dx), ([[6.0, 8.0]], [2.0], [2.0, 4.0]));
/// ```
#[allow(clippy::type_complexity)]
pub fn linear_vjp<F: Scalar + Real, const O: usize, const I: usize>(
    w: &Mat<F, O, I>,
    b: &Vector<F, O>,
    x: &Vector<F, I>,
) -> (
    Vector<F, O>,
    impl FnOnce(Vector<F, O>) -> (Mat<F, O, I>, Vector<F, O>, Vector<F, I>) + use<F, O, I>,
) {
    let y = linear(w, b, x);
    let (w, x) = (w.clone(), x.clone());
    let pullback = move |ct: Vector<F, O>| {
        let dw = Mat::from_matrix_fn(|o, i| ct[o] * x[i]);
        let mut dx = Vector::<F, I>::zeros();
        for (row, &c) in w.iter().zip(ct.iter()) {
            for (d, &wi) in dx.iter_mut().zip(row) {
                *d = *d + wi * c;
            }
        }
        (dw, ct, dx)
    };
    (y, pullback)
}

/// A linear layer over a batch: `Z = X Wᵀ + b` for `X` of shape `(B, I)` and `W` of `(O, I)`.
///
/// ```
/// use conv_kernels::{Mat, Tensor, Vector, layers::linear_batch};
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
