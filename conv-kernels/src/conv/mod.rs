//! The convolution kernels, built on [`crate::gemm`] and used by the layers
//! ([`crate::layers::conv2d`](mod@crate::layers::conv2d)); nothing here knows of the layers.
//!
//! - [`im2col`]: the patch matrix of a convolution and its adjoint `col2im`, const-shaped and on
//!   slices, with the run-time geometry [`Im2colShape`](im2col::Im2colShape).
//! - `implicit` (crate-private): a convolution's product without its patch matrix ever stored
//!   whole (`ConvPlan`): the image is read in place (stride 1, `f32` with AVX2 or AVX-512) or
//!   gathered one L2-sized block of the patch matrix at a time into the blocked GEMM; and the
//!   plane sums of a bias gradient.
//! - `implicit_avx2` (crate-private, x86-64): its AVX2 kernels over dense output pixels, and
//!   the plane sums. (The other convolution tiles are still in `gemm/avx2.rs` and
//!   `gemm/avx512.rs`.)

pub mod im2col;
pub(crate) mod implicit;
#[cfg(target_arch = "x86_64")]
mod implicit_avx2;
