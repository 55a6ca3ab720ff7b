//! AVX2 + FMA microkernels (x86-64): a `6 x 16` tile for `f32` and a `6 x 8` tile for `f64`.
//!
//! The tile is six rows of two vectors: 12 accumulator registers, 2 registers for the row of
//! `B~` and one for the broadcast element of `A`, 15 of the 16 `ymm` registers. Each step of
//! `p` issues 12 independent FMAs, enough to cover the FMA latency on both FMA pipes.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

use super::kernel::{GemmKernel, RawMat, RawMatMut};

/// The AVX2 + FMA `6 x 16` kernel for `f32`.
#[derive(Debug, Clone, Copy)]
pub struct Avx2F32;

/// The AVX2 + FMA `6 x 8` kernel for `f64`.
#[derive(Debug, Clone, Copy)]
pub struct Avx2F64;

/// Whether the CPU has AVX2 and FMA.
pub fn avx2_fma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `step(p)` for every `p < k`, four steps per loop iteration (less loop overhead among the
/// FMAs of the microkernels' k loops).
#[inline(always)]
pub(super) fn steps_by_4(k: usize, mut step: impl FnMut(usize)) {
    let k4 = k - k % 4;
    for p in (0..k4).step_by(4) {
        step(p);
        step(p + 1);
        step(p + 2);
        step(p + 3);
    }
    for p in k4..k {
        step(p);
    }
}

/// Calls `$tile!(ROWS, COLS)` with the const shape of a dot-product tile: `rows` (1 to 6)
/// accumulator rows by `cols` columns (2, or 1 for anything else).
macro_rules! dot_tiles {
    ($rows:expr, $cols:expr, $tile:ident) => {
        match ($rows, $cols) {
            (6, 2) => $tile!(6, 2),
            (5, 2) => $tile!(5, 2),
            (4, 2) => $tile!(4, 2),
            (3, 2) => $tile!(3, 2),
            (2, 2) => $tile!(2, 2),
            (1, 2) => $tile!(1, 2),
            (6, _) => $tile!(6, 1),
            (5, _) => $tile!(5, 1),
            (4, _) => $tile!(4, 1),
            (3, _) => $tile!(3, 1),
            (2, _) => $tile!(2, 1),
            _ => $tile!(1, 1),
        }
    };
}

pub(crate) use dot_tiles;

/// Defines the body of one AVX2 kernel for one element type.
macro_rules! avx2_kernel {
    (
        $fname:ident, $elem:ty, $lanes:expr,
        $loadu:ident, $storeu:ident, $fmadd:ident, $mul:ident, $set1:ident, $setzero:ident
    ) => {
        /// `C <- alpha A B + beta C` on the first `ROWS` rows of one `6 x (2 * lanes)` tile
        /// (contract of [`GemmKernel::kernel_rows`]; `ROWS = 6` is [`GemmKernel::kernel`]).
        ///
        /// # Safety
        /// The contract of [`GemmKernel::kernel_rows`], and the CPU has AVX2 and FMA.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
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
                steps_by_4(k, |p| {
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

avx2_kernel!(
    kernel_f32,
    f32,
    8,
    _mm256_loadu_ps,
    _mm256_storeu_ps,
    _mm256_fmadd_ps,
    _mm256_mul_ps,
    _mm256_set1_ps,
    _mm256_setzero_ps
);
avx2_kernel!(
    kernel_f64,
    f64,
    4,
    _mm256_loadu_pd,
    _mm256_storeu_pd,
    _mm256_fmadd_pd,
    _mm256_mul_pd,
    _mm256_set1_pd,
    _mm256_setzero_pd
);

impl GemmKernel for Avx2F32 {
    type Elem = f32;
    const MR: usize = 6;
    const NR: usize = 16;
    const KC: usize = super::params::F32_KC;
    const MC: usize = super::params::F32_MC;
    const NC: usize = super::params::F32_NC;
    const NAME: &'static str = "avx2-fma 6x16";

    fn is_available() -> bool {
        avx2_fma_available()
    }

    #[inline(always)]
    unsafe fn kernel(
        k: usize,
        alpha: f32,
        a: RawMat<f32>,
        b: RawMat<f32>,
        beta: f32,
        c: RawMatMut<f32>,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the caller checked `is_available`.
        unsafe {
            kernel_f32::<6>(k, alpha, a, b, beta, c)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the AVX2 kernel is never selected off x86-64")
    }

    #[inline(always)]
    unsafe fn kernel_rows(
        rows: usize,
        k: usize,
        alpha: f32,
        a: RawMat<f32>,
        b: RawMat<f32>,
        beta: f32,
        c: RawMatMut<f32>,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the caller checked `is_available`.
        unsafe {
            match rows {
                1 => kernel_f32::<1>(k, alpha, a, b, beta, c),
                2 => kernel_f32::<2>(k, alpha, a, b, beta, c),
                3 => kernel_f32::<3>(k, alpha, a, b, beta, c),
                4 => kernel_f32::<4>(k, alpha, a, b, beta, c),
                5 => kernel_f32::<5>(k, alpha, a, b, beta, c),
                _ => kernel_f32::<6>(k, alpha, a, b, beta, c),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the AVX2 kernel is never selected off x86-64")
    }
}

impl GemmKernel for Avx2F64 {
    type Elem = f64;
    const MR: usize = 6;
    const NR: usize = 8;
    const KC: usize = super::params::F64_KC;
    const MC: usize = super::params::F64_MC;
    const NC: usize = super::params::F64_NC;
    const NAME: &'static str = "avx2-fma 6x8";

    fn is_available() -> bool {
        avx2_fma_available()
    }

    #[inline(always)]
    unsafe fn kernel(
        k: usize,
        alpha: f64,
        a: RawMat<f64>,
        b: RawMat<f64>,
        beta: f64,
        c: RawMatMut<f64>,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the caller checked `is_available`.
        unsafe {
            kernel_f64::<6>(k, alpha, a, b, beta, c)
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the AVX2 kernel is never selected off x86-64")
    }

    #[inline(always)]
    unsafe fn kernel_rows(
        rows: usize,
        k: usize,
        alpha: f64,
        a: RawMat<f64>,
        b: RawMat<f64>,
        beta: f64,
        c: RawMatMut<f64>,
    ) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: forwarded contract; the caller checked `is_available`.
        unsafe {
            match rows {
                1 => kernel_f64::<1>(k, alpha, a, b, beta, c),
                2 => kernel_f64::<2>(k, alpha, a, b, beta, c),
                3 => kernel_f64::<3>(k, alpha, a, b, beta, c),
                4 => kernel_f64::<4>(k, alpha, a, b, beta, c),
                5 => kernel_f64::<5>(k, alpha, a, b, beta, c),
                _ => kernel_f64::<6>(k, alpha, a, b, beta, c),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("the AVX2 kernel is never selected off x86-64")
    }
}

/// Depth of one pass of [`dot_nt_f32`]: `MR` rows of `A` of this depth (12 KiB) stay in L1
/// while the rows of `Bᵀ` stream past them.
pub(crate) const DOT_KC: usize = 512;

/// Lanes `t < rem` set: the mask of a partial vector of `rem` elements (`1 <= rem <= 8`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn tail_mask(rem: usize) -> __m256i {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(rem as i32), lanes)
}

/// The sum of the eight lanes of `v`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn sum_lanes(v: __m256) -> f32 {
    let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
    _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps::<1>(pair, pair)))
}

/// One `ROWS x COLS` tile (`ROWS <= 6`, `COLS <= 2`) of [`dot_nt_f32`]: 12 accumulators of
/// eight lanes along `k`, reduced once at the end.
///
/// # Safety
/// As [`dot_nt_f32`], for the rows and columns of this tile; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
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
    let mut acc = [[_mm256_setzero_ps(); COLS]; ROWS];
    let full = k - k % 8;
    for p in (0..full).step_by(8) {
        // SAFETY: p + 8 <= k: inside rows i < ROWS of A and j < COLS of Bᵀ.
        unsafe {
            let b: [__m256; COLS] = core::array::from_fn(|j| _mm256_loadu_ps(bt.add(j * ldb + p)));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let a_i = _mm256_loadu_ps(a.add(i * lda + p));
                for (acc_ij, &b_j) in acc_i.iter_mut().zip(&b) {
                    *acc_ij = _mm256_fmadd_ps(a_i, b_j, *acc_ij);
                }
            }
        }
    }
    if full < k {
        let mask = tail_mask(k - full);
        // SAFETY: the masked lanes p < k are inside the rows; the others are not accessed.
        unsafe {
            let b: [__m256; COLS] =
                core::array::from_fn(|j| _mm256_maskload_ps(bt.add(j * ldb + full), mask));
            for (i, acc_i) in acc.iter_mut().enumerate() {
                let a_i = _mm256_maskload_ps(a.add(i * lda + full), mask);
                for (acc_ij, &b_j) in acc_i.iter_mut().zip(&b) {
                    *acc_ij = _mm256_fmadd_ps(a_i, b_j, *acc_ij);
                }
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        for (j, &acc_ij) in acc_i.iter().enumerate() {
            let dot = alpha * sum_lanes(acc_ij);
            // SAFETY: i < ROWS, j < COLS: inside the C tile.
            unsafe {
                let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                *c_ij = if beta == 0.0 { dot } else { dot + beta * *c_ij };
            }
        }
    }
}

/// `C <- alpha A Bᵀ + beta C` for `A` (`m x k`) and `Bᵀ` (`n x k`) whose rows are both
/// contiguous along `k`, as in the weight gradient of a convolution, `dW = dY colsᵀ`: each
/// entry of C is a dot product of two contiguous rows, so nothing is packed or transposed.
/// Tiles of `6 x 2` entries: per eight steps of `k`, eight loads and twelve FMAs. `beta == 0`
/// never reads C.
///
/// # Safety
/// `a.cs == 1` and `b.rs == 1`; A, B and C are valid for the reads (and writes, for C) of
/// `m x k`, `k x n` and `m x n` matrices (B given as the `k x n` matrix, element `(p, j)` at
/// `b.ptr + p + j * b.cs`); C overlaps neither; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
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
                unsafe { dot_tiles!(rows, cols, tile) }
            }
        }
    }
}
