//! The convolution kernels, built on [`crate::gemm`] and used by the layers
//! ([`crate::layers::conv2d`](mod@crate::layers::conv2d)); nothing here knows of the layers.
//!
//! - [`im2col`]: the patch matrix of a convolution and its adjoint `col2im`, const-shaped and on
//!   slices, with the run-time geometry [`Im2colShape`](im2col::Im2colShape).
//! - `implicit` (crate-private): a convolution's product without its patch matrix ever stored
//!   whole (`ConvPlan`): the image is read in place (stride 1, `f32` with AVX2 or AVX-512) or
//!   gathered one L2-sized block of the patch matrix at a time into the blocked GEMM; and the
//!   plane sums of a bias gradient.
//! - `implicit_avx2`, `implicit_avx512` (crate-private, x86-64): the register tiles of those
//!   products (and the AVX2 plane sums), over the GEMM's microkernel plumbing: its raw views,
//!   dot-product tiles and row dispatch.

pub mod im2col;
pub(crate) mod implicit;
#[cfg(target_arch = "x86_64")]
mod implicit_avx2;
mod implicit_avx512;
