//! Blocking constants of the tuned kernels, from this machine's caches (AMD Zen 3: 32 KiB
//! 8-way L1d, 512 KiB 8-way L2 per core, 32 MiB shared L3).
//!
//! Each constant splits one loop of [`super::blocked`]; see [`super::GemmKernel`].

/// `f32` LOOP 4 (depth `k`): one `KC x 16` sliver of `B~` is `KC * 64` bytes, 16 KiB at 256,
/// half of L1 so that the `6 x KC` sliver of `A` streaming past it does not evict it.
pub const F32_KC: usize = 256;
/// `f32` LOOP 3 (rows `m`), a multiple of 6: one `MC x KC` block of `A` is 144 KiB at
/// `MC = 144`, well inside L2 next to the `B~` slivers that pass through it.
pub const F32_MC: usize = 144;
/// `f32` LOOP 5 (columns `n`), a multiple of 16: one `KC x NC` block `B~` is 4 MiB at
/// `NC = 4096`, a share of L3.
pub const F32_NC: usize = 4096;

/// `f64` LOOP 4: one `KC x 8` sliver of `B~` is 16 KiB at 256, as for `f32`.
pub const F64_KC: usize = 256;
/// `f64` LOOP 3, a multiple of 6: one `MC x KC` block of `A` is 144 KiB at 72.
pub const F64_MC: usize = 72;
/// `f64` LOOP 5, a multiple of 8: one `KC x NC` block `B~` is 4 MiB at 2048.
pub const F64_NC: usize = 2048;
