//! Elementwise activations.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::{Tensor, Zeros};

/// `max(x, 0)`, leaf by leaf, over a tensor of any shape (a vector, an image, a batch).
///
/// The derivative is `1` where `x > 0` and `0` elsewhere: at `x == 0` exactly, the derivative is
/// taken to be `0` (as in PyTorch and JAX), and a NaN input gives a zero derivative.
///
/// ```
/// use conv_kernels::layers::relu;
/// use conv_kernels::tensor::Vector;
/// let y = relu(&Vector::from_array([-1.0, 0.0, 2.5]));
/// assert_eq!(*y, [0.0, 0.0, 2.5]);
/// ```
pub fn relu<F: Scalar + Real, T: Zeros<Scalar = F>>(x: &Tensor<T>) -> Tensor<T> {
    // A copy, then a branch-free select over the flat leaves (vectorised).
    let mut y = x.clone();
    for v in y.as_flat_mut() {
        *v = if *v > F::zero() { *v } else { F::zero() };
    }
    y
}

/// Forward mode of [`relu`]: `(relu(x), t * [x > 0])` (derivative `0` at `0`).
///
/// ```
/// use conv_kernels::layers::relu_jvp;
/// use conv_kernels::tensor::Vector;
/// let (y, dy) = relu_jvp(&Vector::from_array([-1.0, 2.0]), &Vector::from_array([5.0, 7.0]));
/// assert_eq!((*y, *dy), ([0.0, 2.0], [0.0, 7.0]));
/// ```
pub fn relu_jvp<F: Scalar + Real, T: Zeros<Scalar = F>>(
    x: &Tensor<T>,
    t: &Tensor<T>,
) -> (Tensor<T>, Tensor<T>) {
    let y = relu(x);
    let mut dy = t.clone();
    for (d, &v) in dy.as_flat_mut().iter_mut().zip(x.as_flat()) {
        *d = if v > F::zero() { *d } else { F::zero() };
    }
    (y, dy)
}

/// Reverse mode of [`relu`]: the value and the pullback `ct -> ct * [x > 0]` (derivative `0`
/// at `0`). The pullback owns a mask of the positive inputs.
///
/// ```
/// use conv_kernels::layers::relu_vjp;
/// use conv_kernels::tensor::Vector;
/// let (y, pullback) = relu_vjp(&Vector::from_array([-1.0, 2.0]));
/// assert_eq!(*y, [0.0, 2.0]);
/// assert_eq!(*pullback(Vector::from_array([5.0, 7.0])), [0.0, 7.0]);
/// ```
pub fn relu_vjp<F: Scalar + Real, T: Zeros<Scalar = F>>(
    x: &Tensor<T>,
) -> (Tensor<T>, impl FnOnce(Tensor<T>) -> Tensor<T> + use<F, T>) {
    let y = relu(x);
    // Both loops are branch-free (vectorised): a compare into a byte mask, then a select.
    let mask: Vec<bool> = x.as_flat().iter().map(|&v| v > F::zero()).collect();
    let pullback = move |mut ct: Tensor<T>| {
        for (c, &m) in ct.as_flat_mut().iter_mut().zip(&mask) {
            *c = if m { *c } else { F::zero() };
        }
        ct
    };
    (y, pullback)
}
