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

/// Everything a user of `#[differentiate]` needs in scope.
pub mod prelude {
    pub use autodiff_core::{Differentiable, Dual, Float, Real, stop_gradient};
    pub use autodiff_macros::{Differentiable, differentiate};
}
