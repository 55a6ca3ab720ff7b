//! The fully connected layer `y = W x + b`.

use autodiff_core::Real;

use crate::Scalar;
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
