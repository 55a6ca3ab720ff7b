//! Runtime of `autodiff`: dual numbers for forward mode, the [`Differentiable`] trait for
//! parameter structs and adjoints, the table of derivative [`rules`], and the small helpers
//! the code emitted by `#[differentiate]` calls.
//!
//! Users normally reach all of this through the facade crate `autodiff`.

pub mod differentiable;
pub mod dual;
pub mod init;
pub mod ops;
pub mod optim;
#[doc(hidden)]
pub mod rt;
pub mod rules;

pub use differentiable::{Differentiable, Real};
pub use dual::Dual;
pub use num_traits::{self, Float};

/// The value of `x`, with zero derivative: inside a `#[differentiate]` function, gradients do
/// not flow through `stop_gradient(..)`, as JAX's `lax.stop_gradient`.
///
/// ```
/// use autodiff_core::stop_gradient;
/// assert_eq!(stop_gradient(2.5), 2.5);
/// ```
#[inline(always)]
pub fn stop_gradient<T>(x: T) -> T {
    x
}
