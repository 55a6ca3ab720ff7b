//! # autodiff
//!
//! Compile-time automatic differentiation of ordinary Rust functions, on stable Rust.
//! See README.md for the tour.

// The macro's emitted code names this crate `::autodiff`; inside the crate itself that path
// must resolve too.
extern crate self as autodiff;

pub use autodiff_core::{Differentiable, Dual, Float, Real, num_traits, rules, stop_gradient};
pub use autodiff_macros::{Differentiable, differentiate};

/// The runtime the emitted code calls (not a public API).
#[doc(hidden)]
pub use autodiff_core as __core;

/// The layers: const-generic im2col + GEMM kernels and differentiable layers (`conv-kernels`).
///
/// ```
/// use autodiff::nn::{Filters, Image, Tensor, Vector, conv2d, relu};
/// let x: Image<f32, 1, 8, 8> = Tensor::from_flat_fn(|i| (i % 5) as f32);
/// let w: Filters<f32, 4, 1, 3, 3> = Tensor::from_flat_fn(|_| 0.1);
/// let b: Vector<f32, 4> = Tensor::zeros();
/// let y = relu(&conv2d::<f32, 1, 8, 8, 4, 3, 3, 1, 0, 6, 6>(&x, &w, &b));
/// assert_eq!(y.as_flat().len(), 4 * 6 * 6);
/// ```
pub mod nn {
    pub use conv_kernels::conv::im2col;
    pub use conv_kernels::layers::*;
    pub use conv_kernels::{Batch, Filters, Image, Mat, Scalar, Tensor, Vector, Zeros, gemm};
}

/// Optimisers over any `Differentiable` (SGD, momentum, Adam).
pub use autodiff_core::ops;
pub use autodiff_core::optim;

/// Parameter initialisation (He, Xavier) with a seeded random number generator.
pub use autodiff_core::init;

pub mod idx;

/// Everything a user of `#[differentiate]` needs in scope.
pub mod prelude {
    pub use autodiff_core::{Differentiable, Dual, Float, Real, stop_gradient};
    pub use autodiff_macros::{Differentiable, differentiate};
}
