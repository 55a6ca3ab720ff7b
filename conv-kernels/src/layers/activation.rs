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
    let xs = x.as_flat();
    Tensor::from_flat_fn(|i| if xs[i] > F::zero() { xs[i] } else { F::zero() })
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
    let (xs, ts) = (x.as_flat(), t.as_flat());
    let y = relu(x);
    let dy = Tensor::from_flat_fn(|i| if xs[i] > F::zero() { ts[i] } else { F::zero() });
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
    let mask: Vec<bool> = x.as_flat().iter().map(|&v| v > F::zero()).collect();
    let pullback = move |mut ct: Tensor<T>| {
        for (c, &m) in ct.as_flat_mut().iter_mut().zip(&mask) {
            if !m {
                *c = F::zero();
            }
        }
        ct
    };
    (y, pullback)
}
