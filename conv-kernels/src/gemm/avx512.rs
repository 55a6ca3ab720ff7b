//! AVX-512 F microkernels (x86-64): a `12 x 32` tile for `f32` and a `12 x 16` tile for `f64`.
//!
//! The tile is twelve rows of two `zmm` vectors: 24 accumulator registers and two for the row
//! of `B~`, 26 of the 32 `zmm` registers; the element of `A` is broadcast straight from memory
//! into each FMA (`vfmadd231ps zmm, zmm, [mem]{1to16}`), so it takes no register. Each step of
//! `p` issues 24 independent FMAs for 14 loads: enough to cover the FMA latency (4 cycles) on
//! two 512-bit FMA pipes (Intel Xeon) as on Zen 4's one-per-cycle double-pumped pipes, and few
//! enough loads for two load ports.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::kernel::{GemmKernel, RawMat, RawMatMut};

/// The AVX-512 `12 x 32` kernel for `f32`.
#[derive(Debug, Clone, Copy)]
pub struct Avx512F32;

/// The AVX-512 `12 x 16` kernel for `f64`.
#[derive(Debug, Clone, Copy)]
pub struct Avx512F64;

/// Whether the CPU has AVX-512 F (every AVX-512 CPU also has AVX2 and FMA, which the
/// convolution's AVX-512 paths use for their narrow edges).
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines the body of one AVX-512 kernel for one element type.
macro_rules! avx512_kernel {
    (
        $fname:ident, $elem:ty, $lanes:expr,
        $loadu:ident, $storeu:ident, $fmadd:ident, $mul:ident, $set1:ident, $setzero:ident
    ) => {
        /// `C <- alpha A B + beta C` on the first `ROWS` rows of one `12 x (2 * lanes)` tile
        /// (contract of [`GemmKernel::kernel_rows`]; `ROWS = 12` is [`GemmKernel::kernel`]).
        ///
        /// # Safety
        /// The contract of [`GemmKernel::kernel_rows`], and the CPU has AVX-512 F.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx2,fma")]
        #[inline]
        unsafe fn $fname<const ROWS: usize>(
            k: usize,
            alpha: $elem,
            a: RawMat<$elem>,
            b: RawMat<$elem>,
            beta: $elem,
            c: RawMatMut<$elem>,
        ) {
            const L: usize = $lanes;
            // Fetch the C tile early: it is needed only after the k loop.
            for i in 0..ROWS {
                let row = c.ptr.wrapping_add(i * c.rs) as *const i8;
                _mm_prefetch::<_MM_HINT_T0>(row);
                _mm_prefetch::<_MM_HINT_T0>(row.wrapping_add(2 * L * size_of::<$elem>() - 1));
            }
            let mut acc = [[$setzero(); 2]; ROWS];
            // Separate loops per layout of A, so that every address in the loop is a fixed
            // base plus a scaled index (no chain of dependent pointer updates).
            if a.rs == 1 {
                // Packed sliver A~: the elements of step p are contiguous (`a.cs` apart: MR, or
                // less for the short slivers at the bottom of a block).
                super::avx2::steps_by_4(k, |p| {
                    // SAFETY: p < k, i < ROWS, j < 2L: in bounds by the caller's contract.
                    unsafe {
                        let pb = b.ptr.add(p * b.rs);
                        let (b0, b1) = ($loadu(pb), $loadu(pb.add(L)));
                        let pa = a.ptr.add(p * a.cs);
                        for (i, acc_i) in acc.iter_mut().enumerate() {
                            let a_ip = $set1(*pa.add(i));
                            acc_i[0] = $fmadd(a_ip, b0, acc_i[0]);
                            acc_i[1] = $fmadd(a_ip, b1, acc_i[1]);
                        }
                    }
                });
            } else if a.cs == 1 {
                // ROWS rows of A in place, each contiguous along p.
                let rows: [*const $elem; ROWS] =
                    core::array::from_fn(|i| a.ptr.wrapping_add(i * a.rs));
                for p in 0..k {
                    // SAFETY: as above.
                    unsafe {
                        let pb = b.ptr.add(p * b.rs);
                        let (b0, b1) = ($loadu(pb), $loadu(pb.add(L)));
                        for (acc_i, row) in acc.iter_mut().zip(&rows) {
                            let a_ip = $set1(*row.add(p));
                            acc_i[0] = $fmadd(a_ip, b0, acc_i[0]);
                            acc_i[1] = $fmadd(a_ip, b1, acc_i[1]);
                        }
                    }
                }
            } else {
                for p in 0..k {
                    // SAFETY: as above.
                    unsafe {
                        let pb = b.ptr.add(p * b.rs);
                        let (b0, b1) = ($loadu(pb), $loadu(pb.add(L)));
                        for (i, acc_i) in acc.iter_mut().enumerate() {
                            let a_ip = $set1(*a.ptr.add(i * a.rs + p * a.cs));
                            acc_i[0] = $fmadd(a_ip, b0, acc_i[0]);
                            acc_i[1] = $fmadd(a_ip, b1, acc_i[1]);
                        }
                    }
                }
            }
            if alpha != 1.0 {
                let alpha_v = $set1(alpha);
                for acc_i in acc.iter_mut() {
                    acc_i[0] = $mul(alpha_v, acc_i[0]);
                    acc_i[1] = $mul(alpha_v, acc_i[1]);
                }
            }
            if c.cs == 1 {
                for (i, acc_i) in acc.iter().enumerate() {
                    // SAFETY: row i < ROWS of the tile, 2L contiguous elements (c.cs == 1).
                    unsafe {
                        let row = c.ptr.add(i * c.rs);
                        if beta == 0.0 {
                            $storeu(row, acc_i[0]);
                            $storeu(row.add(L), acc_i[1]);
                        } else {
                            let beta_v = $set1(beta);
                            $storeu(row, $fmadd(beta_v, $loadu(row), acc_i[0]));
                            $storeu(row.add(L), $fmadd(beta_v, $loadu(row.add(L)), acc_i[1]));
                        }
                    }
                }
            } else {
                let mut tile = [[0.0 as $elem; 2 * L]; ROWS];
                for (tile_i, acc_i) in tile.iter_mut().zip(&acc) {
                    // SAFETY: each tile row holds exactly 2L elements.
                    unsafe {
                        $storeu(tile_i.as_mut_ptr(), acc_i[0]);
                        $storeu(tile_i.as_mut_ptr().add(L), acc_i[1]);
                    }
                }
                for (i, tile_i) in tile.iter().enumerate() {
                    for (j, &t) in tile_i.iter().enumerate() {
                        // SAFETY: i < ROWS, j < NR: inside the C tile.
                        unsafe {
                            let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                            *c_ij = if beta == 0.0 { t } else { t + beta * *c_ij };
                        }
                    }
                }
            }
        }
    };
}

avx512_kernel!(
    kernel_f32,
    f32,
    16,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_fmadd_ps,
    _mm512_mul_ps,
    _mm512_set1_ps,
    _mm512_setzero_ps
);
avx512_kernel!(
    kernel_f64,
    f64,
    8,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_fmadd_pd,
    _mm512_mul_pd,
    _mm512_set1_pd,
    _mm512_setzero_pd
);

/// Calls `$kernel::<ROWS>(args)` with `ROWS = $rows` (1 to 12).
macro_rules! rows_1_to_12 {
    ($rows:expr, $kernel:ident, $($arg:expr),*) => {
        match $rows {
            1 => $kernel::<1>($($arg),*),
            2 => $kernel::<2>($($arg),*),
            3 => $kernel::<3>($($arg),*),
            4 => $kernel::<4>($($arg),*),
            5 => $kernel::<5>($($arg),*),
            6 => $kernel::<6>($($arg),*),
            7 => $kernel::<7>($($arg),*),
            8 => $kernel::<8>($($arg),*),
            9 => $kernel::<9>($($arg),*),
            10 => $kernel::<10>($($arg),*),
            11 => $kernel::<11>($($arg),*),
            _ => $kernel::<12>($($arg),*),
        }
    };
}

pub(crate) use rows_1_to_12;

/// Defines the [`GemmKernel`] impl of one AVX-512 kernel.
macro_rules! avx512_impl {
    ($ty:ty, $elem:ty, $nr:expr, $fname:ident, $kc:path, $mc:path, $nc:path, $name:literal) => {
        impl GemmKernel for $ty {
            type Elem = $elem;
            const MR: usize = 12;
            const NR: usize = $nr;
            const KC: usize = $kc;
            const MC: usize = $mc;
            const NC: usize = $nc;
            const NAME: &'static str = $name;

            fn is_available() -> bool {
                avx512_available()
            }

            #[inline(always)]
            unsafe fn kernel(
                k: usize,
                alpha: $elem,
                a: RawMat<$elem>,
                b: RawMat<$elem>,
                beta: $elem,
                c: RawMatMut<$elem>,
            ) {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: forwarded contract; the caller checked `is_available`.
                unsafe {
                    $fname::<12>(k, alpha, a, b, beta, c)
                }
                #[cfg(not(target_arch = "x86_64"))]
                unreachable!("the AVX-512 kernel is never selected off x86-64")
            }

            #[inline(always)]
            unsafe fn kernel_rows(
                rows: usize,
                k: usize,
                alpha: $elem,
                a: RawMat<$elem>,
                b: RawMat<$elem>,
                beta: $elem,
                c: RawMatMut<$elem>,
            ) {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: forwarded contract; the caller checked `is_available`.
                unsafe {
                    rows_1_to_12!(rows, $fname, k, alpha, a, b, beta, c)
                }
                #[cfg(not(target_arch = "x86_64"))]
                unreachable!("the AVX-512 kernel is never selected off x86-64")
            }
        }
    };
}

avx512_impl!(
    Avx512F32,
    f32,
    32,
    kernel_f32,
    super::params::AVX512_F32_KC,
    super::params::AVX512_F32_MC,
    super::params::AVX512_F32_NC,
    "avx512 12x32"
);
avx512_impl!(
    Avx512F64,
    f64,
    16,
    kernel_f64,
    super::params::AVX512_F64_KC,
    super::params::AVX512_F64_MC,
    super::params::AVX512_F64_NC,
    "avx512 12x16"
);

/// Depth of one pass of [`dot_nt_f32`]: `MR` rows of `A` of this depth (12 KiB) stay in L1
/// while the rows of `Bᵀ` stream past them.
pub(crate) const DOT_KC: usize = 512;

/// One `ROWS x COLS` tile (`ROWS <= 6`, `COLS <= 2`) of [`dot_nt_f32`]: 12 accumulators of
/// sixteen lanes along `k`, reduced once at the end; the last partial vector is a masked load.
///
/// # Safety
/// As [`dot_nt_f32`], for the rows and columns of this tile; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn dot_tile_f32<const ROWS: usize, const COLS: usize>(
    k: usize,
    alpha: f32,
    a: *const f32,
    lda: usize,
    bt: *const f32,
    ldb: usize,
    beta: f32,
    c: RawMatMut<f32>,
) {
    let mut acc = [[_mm512_setzero_ps(); COLS]; ROWS];
    let full = k - k % 16;
    for p in (0..full).step_by(16) {
        // SAFETY: p + 16 <= k: inside rows i < ROWS of A and j < COLS of Bᵀ.
        unsafe {
            let b: [__m512; COLS] = core::array::from_fn(|j| _mm512_loadu_ps(bt.add(j * ldb + p)));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let a_i = _mm512_loadu_ps(a.add(i * lda + p));
                for (acc_ij, &b_j) in acc_i.iter_mut().zip(&b) {
                    *acc_ij = _mm512_fmadd_ps(a_i, b_j, *acc_ij);
                }
            }
        }
    }
    if full < k {
        let mask: __mmask16 = (1 << (k - full)) - 1;
        // SAFETY: the masked lanes p < k are inside the rows; the others are not accessed
        // (masked-off lanes of a masked load do not fault).
        unsafe {
            let b: [__m512; COLS] =
                core::array::from_fn(|j| _mm512_maskz_loadu_ps(mask, bt.add(j * ldb + full)));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let a_i = _mm512_maskz_loadu_ps(mask, a.add(i * lda + full));
                for (acc_ij, &b_j) in acc_i.iter_mut().zip(&b) {
                    *acc_ij = _mm512_fmadd_ps(a_i, b_j, *acc_ij);
                }
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (j, &acc_ij) in acc_i.iter().enumerate() {
            let dot = alpha * _mm512_reduce_add_ps(acc_ij);
            // SAFETY: i < ROWS, j < COLS: inside the C tile.
            unsafe {
                let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                *c_ij = if beta == 0.0 { dot } else { dot + beta * *c_ij };
            }
        }
    }
}

/// `C <- alpha A Bᵀ + beta C` for `A` (`m x k`) and `Bᵀ` (`n x k`) whose rows are both
/// contiguous along `k` (the AVX-512 twin of [`super::avx2::dot_nt_f32`]): tiles of `6 x 2`
/// dot products, sixteen steps of `k` per vector. `beta == 0` never reads C.
///
/// # Safety
/// `a.cs == 1` and `b.rs == 1`; A, B and C are valid for the reads (and writes, for C) of
/// `m x k`, `k x n` and `m x n` matrices (B given as the `k x n` matrix, element `(p, j)` at
/// `b.ptr + p + j * b.cs`); C overlaps neither; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn dot_nt_f32(
    (m, k, n): (usize, usize, usize),
    alpha: f32,
    a: RawMat<f32>,
    b: RawMat<f32>,
    beta: f32,
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    const NR: usize = 2;
    for pc in (0..k).step_by(DOT_KC) {
        let kc = DOT_KC.min(k - pc);
        // Later passes over k accumulate onto the first.
        let beta_pc = if pc == 0 { beta } else { 1.0 };
        for ir in (0..m).step_by(MR) {
            let rows = MR.min(m - ir);
            let a_tile = a.ptr.wrapping_add(ir * a.rs + pc);
            for jr in (0..n).step_by(NR) {
                let cols = NR.min(n - jr);
                let b_tile = b.ptr.wrapping_add(jr * b.cs + pc);
                let c_tile = RawMatMut {
                    ptr: c.ptr.wrapping_add(ir * c.rs + jr * c.cs),
                    ..c
                };
                let (lda, ldb) = (a.rs, b.cs);
                macro_rules! tile {
                    ($r:literal, $c:literal) => {
                        dot_tile_f32::<$r, $c>(kc, alpha, a_tile, lda, b_tile, ldb, beta_pc, c_tile)
                    };
                }
                // SAFETY: rows ir..ir + rows of A and C, columns jr..jr + cols of B and C and
                // depths pc..pc + kc exist, by the caller's contract.
                unsafe { super::avx2::dot_tiles!(rows, cols, tile) }
            }
        }
    }
}
