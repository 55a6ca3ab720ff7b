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

// The AVX-512 kernels (`12 x 32` f32, `12 x 16` f64), for AMD Zen 4 (32 KiB 8-way L1d, 1 MiB
// 8-way L2 per core, 32 MiB L3) and the Intel Xeons with AVX-512 (48 KiB L1d, 1.25-2 MiB L2).
// Both tiles are 128 bytes wide, so one step of a `B~` sliver is two cache lines. Measured on
// Zen 4 against KC = 128 / 192 with MC = 96 to 576: KC = 256, MC = 192 was best at 512 and
// 1024 (the differences are a few percent, inside the noise of a shared machine).

/// `f32` AVX-512 LOOP 4 (depth `k`): one `KC x 32` sliver of `B~` is `KC * 128` bytes,
/// 32 KiB at 256: it fills Zen 4's L1 and is partly read from L2, 5 bytes per cycle at one
/// 512-bit FMA per cycle, well within L2's bandwidth; a shallower slice (128: 16 KiB) writes
/// the C tiles twice as often and measured slower at 512 and 1024.
pub const AVX512_F32_KC: usize = 256;
/// `f32` AVX-512 LOOP 3 (rows `m`), a multiple of 12: one `MC x KC` block of `A~` is 192 KiB
/// at `MC = 192`, a fifth of Zen 4's L2 next to the `B~` block.
pub const AVX512_F32_MC: usize = 192;
/// `f32` AVX-512 LOOP 5 (columns `n`), a multiple of 32: one `KC x NC` block `B~` is 4 MiB at
/// `NC = 4096`, a share of L3.
pub const AVX512_F32_NC: usize = 4096;

/// `f64` AVX-512 LOOP 4: one `KC x 16` sliver of `B~` is `KC * 128` bytes, 32 KiB at 256, as
/// for `f32`.
pub const AVX512_F64_KC: usize = 256;
/// `f64` AVX-512 LOOP 3, a multiple of 12: one `MC x KC` block of `A~` is 192 KiB at 96.
pub const AVX512_F64_MC: usize = 96;
/// `f64` AVX-512 LOOP 5, a multiple of 16: one `KC x NC` block `B~` is 4 MiB at 2048.
pub const AVX512_F64_NC: usize = 2048;
