//! Const-generic im2col + GEMM kernels and the differentiable layers built on them.
//!
//! - [`tensor`]: heap tensors whose shape is their type ([`Mat`], [`Image`], [`Batch`], ...).
//! - [`gemm`]: matrix products at the speed of the CPU, with const-shaped and strided entry
//!   points and their derivatives.
//! - [`im2col`]: the column matrix of a convolution, and its adjoint `col2im`.

pub mod gemm;
pub mod im2col;
pub mod layers;
pub mod tensor;

pub use tensor::{Batch, Filters, Image, Mat, Tensor, Vector, Zeros};

/// The scalars of tensors and kernels: `f32`, `f64` and dual numbers over them.
pub trait Scalar:
    autodiff_core::Float + Zeros<Scalar = Self> + core::fmt::Debug + Send + Sync + 'static
{
}

impl<T> Scalar for T where
    T: autodiff_core::Float + Zeros<Scalar = T> + core::fmt::Debug + Send + Sync + 'static
{
}
