//! Const-generic im2col + GEMM kernels and the differentiable layers built on them.
//!
//! The modules in dependency order: each imports only from the ones above it.
//!
//! - [`tensor`] and [`Scalar`]: heap tensors whose shape is their type ([`Mat`], [`Image`],
//!   [`Batch`], ...). Input: a shape and scalars. Output: tensors.
//! - [`gemm`]: matrix products at the speed of the CPU (blocked driver, micro-kernels picked at
//!   run time), const-shaped and strided entry points and their derivatives. Input: matrices or
//!   strided views. Output: `C <- alpha op(A) op(B) + beta C`.
//! - [`conv`]: the convolution kernels: [`im2col`](conv::im2col) / `col2im`, and the implicit
//!   GEMM that multiplies the filters by the patch matrix without storing it, with its
//!   AVX2 / AVX-512 tiles. Input: an image (flat) and its geometry, the filters. Output: the
//!   convolution without its bias, and its gradients.
//! - [`layers`]: the differentiable layers, each with `_jvp` and `_vjp` (`conv2d`,
//!   `conv2d_batch`, `linear`, pooling, losses, ...). Input: tensors. Output: tensors and
//!   pullbacks.

pub mod conv;
pub mod gemm;
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
