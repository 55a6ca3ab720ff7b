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

pub(super) use dot_tiles;

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
const DOT_KC: usize = 512;

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
unsafe fn dot_tile_f32<const ROWS: usize, const COLS: usize>(
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

/// One `ROWS x 16` tile of [`conv_taps_f32`]: `C <- A B` where row `p` of `B` is the 16
/// floats at `image + taps[p]`, read in place (the patch matrix of a stride-1 convolution over
/// a zero-padded image is never stored: its row `p` is the image shifted by tap `p`'s offset).
///
/// # Safety
/// Rows `i < ROWS` of `A` (`a.ptr + i * a.rs`, contiguous along `p`) hold `k` floats;
/// `taps` holds `k` offsets and `image + taps[p] + 16` stays inside the image; the C rows
/// (`c.ptr + i * c.rs`, contiguous) hold 16 floats; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn taps_tile_f32<const ROWS: usize>(
    k: usize,
    a: RawMat<f32>,
    image: *const f32,
    taps: *const usize,
    c: RawMatMut<f32>,
) {
    let rows: [*const f32; ROWS] = core::array::from_fn(|i| a.ptr.wrapping_add(i * a.rs));
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = image.add(*taps.add(p));
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(&rows) {
                let a_ip = _mm256_set1_ps(*row.add(p));
                acc_i[0] = _mm256_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        // SAFETY: row i < ROWS of the C tile holds 16 contiguous floats.
        unsafe {
            let row = c.ptr.add(i * c.rs);
            _mm256_storeu_ps(row, acc_i[0]);
            _mm256_storeu_ps(row.add(8), acc_i[1]);
        }
    }
}

/// The forward product of a stride-1 convolution with its patch matrix read in place:
/// `C (m x 16 n_tiles) <- A (m x k) B`, where `B[p][j] = image[taps[p] + j]`. `A` is the filters
/// (`m` rows, contiguous, `a.rs` apart), C is written in full tiles of 16 columns (`c.cs == 1`).
///
/// LOOP 2 runs over the 16-wide slivers of `B`, which stay in L1 while LOOP 1 runs the `6 x 16`
/// register tiles down the rows of `A`.
///
/// # Safety
/// `A` holds `m` rows of `k` floats; `taps` holds `k` offsets and, for every `p < k`,
/// `image + taps[p] + 16 n_tiles` stays inside the image; C holds `m` rows of `16 n_tiles`
/// floats, `c.rs` apart, overlapping neither; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_taps_f32(
    (m, k, n_tiles): (usize, usize, usize),
    a: RawMat<f32>,
    image: *const f32,
    taps: &[usize],
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    assert!(taps.len() >= k, "conv_taps_f32: one offset per tap");
    for jr in 0..n_tiles {
        let b = image.wrapping_add(jr * NR);
        for ir in (0..m).step_by(MR) {
            let a_tile = RawMat {
                ptr: a.ptr.wrapping_add(ir * a.rs),
                ..a
            };
            let c_tile = RawMatMut {
                ptr: c.ptr.wrapping_add(ir * c.rs + jr * NR),
                ..c
            };
            let t = taps.as_ptr();
            // SAFETY: rows ir.. of A and C exist (at most MR of them are used), columns
            // jr * NR .. + NR of C exist, and the image reads stay inside it, by the contract.
            unsafe {
                match m - ir {
                    1 => taps_tile_f32::<1>(k, a_tile, b, t, c_tile),
                    2 => taps_tile_f32::<2>(k, a_tile, b, t, c_tile),
                    3 => taps_tile_f32::<3>(k, a_tile, b, t, c_tile),
                    4 => taps_tile_f32::<4>(k, a_tile, b, t, c_tile),
                    5 => taps_tile_f32::<5>(k, a_tile, b, t, c_tile),
                    _ => taps_tile_f32::<6>(k, a_tile, b, t, c_tile),
                }
            }
        }
    }
}

/// The weight gradient of a stride-1 convolution with its patch matrix read in place:
/// `C (m x n) <- A (m x k) Bᵀ`, where row `p < n` of `Bᵀ` is the `k` floats at
/// `image + taps[p]` (`taps` increasing). Each entry is a dot product of two contiguous rows,
/// computed by the `6 x 2` tiles of [`dot_nt_f32`]; two neighbouring taps are one base pointer
/// and the distance between their offsets.
///
/// # Safety
/// `A` holds `m` rows of `k` floats, `a.rs` apart (`a.cs == 1`); `taps` holds `n` increasing
/// offsets and `image + taps[p] + k` stays inside the image; C is valid for the writes of an
/// `m x n` matrix and overlaps neither; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_weight_grad_taps_f32(
    (m, k, n): (usize, usize, usize),
    a: RawMat<f32>,
    image: *const f32,
    taps: &[usize],
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    assert!(
        taps.len() >= n,
        "conv_weight_grad_taps_f32: one offset per tap"
    );
    for pc in (0..k).step_by(DOT_KC) {
        let kc = DOT_KC.min(k - pc);
        let beta = if pc == 0 { 0.0 } else { 1.0 };
        for ir in (0..m).step_by(MR) {
            let rows = MR.min(m - ir);
            let a_tile = a.ptr.wrapping_add(ir * a.rs + pc);
            for jr in (0..n).step_by(2) {
                let cols = 2.min(n - jr);
                let b_tile = image.wrapping_add(taps[jr] + pc);
                let ldb = if cols == 2 {
                    taps[jr + 1] - taps[jr]
                } else {
                    0
                };
                let c_tile = RawMatMut {
                    ptr: c.ptr.wrapping_add(ir * c.rs + jr * c.cs),
                    ..c
                };
                let lda = a.rs;
                macro_rules! tile {
                    ($r:literal, $c:literal) => {
                        dot_tile_f32::<$r, $c>(kc, 1.0, a_tile, lda, b_tile, ldb, beta, c_tile)
                    };
                }
                // SAFETY: rows ir..ir + rows of A and C, taps jr..jr + cols and depths
                // pc..pc + kc exist, by the caller's contract.
                unsafe { dot_tiles!(rows, cols, tile) }
            }
        }
    }
}

/// One tile of [`conv_input_grad_taps_f32`]: `C_i <- C_i + Σ_p A[i][p] B[p]` for the `ROWS`
/// rows `i`, where `A[i][p] = a_rows[i][p * a_step]` and each C row is 16 floats at its own
/// address `c_rows[i]` (rows may overlap: each is read, added to and written in turn).
///
/// # Safety
/// `a_rows[i] + p * a_step` is readable and `b + p * ldb` holds 16 floats for every `p < k`,
/// `i < ROWS`; `c_rows[i]` holds 16 floats, overlapping neither `A` nor `B`; the CPU has AVX2
/// and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn add_tile_f32<const ROWS: usize>(
    k: usize,
    (a_rows, a_step): (&[*const f32; 6], usize),
    b: *const f32,
    ldb: usize,
    c_rows: &[*mut f32; 6],
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = b.add(p * ldb);
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(a_rows) {
                let a_ip = _mm256_set1_ps(*row.add(p * a_step));
                acc_i[0] = _mm256_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (acc_i, &row) in acc.iter().zip(c_rows) {
        // SAFETY: each C row holds 16 floats.
        unsafe {
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc_i[0]));
            _mm256_storeu_ps(
                row.add(8),
                _mm256_add_ps(_mm256_loadu_ps(row.add(8)), acc_i[1]),
            );
        }
    }
}

/// The input gradient of a stride-1 convolution with col2im fused into the product: for
/// every tap `p = order[r]` and every 16-wide column tile `j` of `dY`, the tile row
/// `(Wᵀ dY)[p][16 j ..]` is added to the padded image gradient at `dx + taps[p] + 16 j`.
/// `W` is the `k x ldw` filter matrix (row `o`, column `p`), read in place; `dY` is
/// `k x 16 n_tiles` (`ldb` apart). Six taps make one register tile: taps next to each other
/// in `order` should be at least 16 floats apart, so that a tile's six read-modify-writes do
/// not wait on each other.
///
/// # Safety
/// `w` holds `k` rows of `ldw` floats and every `order[r] < ldw`; `dy` holds `k` rows of
/// `16 n_tiles` floats, `ldb` apart; `taps` is indexed by every `order[r]` and
/// `dx + taps[order[r]] + 16 n_tiles` stays inside the gradient; the gradient overlaps
/// neither input; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_input_grad_taps_f32(
    (k, n_tiles): (usize, usize),
    (w, ldw): (*const f32, usize),
    order: &[usize],
    taps: &[usize],
    dy: *const f32,
    ldb: usize,
    dx: *mut f32,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    let m = order.len();
    // Slivers outside, column tiles inside: the taps of one sliver overlap those of the
    // slivers next to it (the same `(c, u)`, `v` one apart), and a read-modify-write that
    // overlaps a store still in flight waits for it. Along the column tiles the six rows move
    // to fresh memory, so the overlapping slivers are a whole pass apart.
    for ir in (0..m).step_by(MR) {
        let rows = MR.min(m - ir);
        let pick = |i: usize| order[ir + i.min(rows - 1)];
        let a_rows: [*const f32; MR] = core::array::from_fn(|i| w.wrapping_add(pick(i)));
        let row_base: [*mut f32; MR] = core::array::from_fn(|i| dx.wrapping_add(taps[pick(i)]));
        for jr in 0..n_tiles {
            let b = dy.wrapping_add(jr * NR);
            let c_rows: [*mut f32; MR] =
                core::array::from_fn(|i| row_base[i].wrapping_add(jr * NR));
            let a = (&a_rows, ldw);
            // SAFETY: the first `rows` taps of the sliver, the 16 columns jr * NR .. of dY
            // and their C rows exist, by the caller's contract.
            unsafe {
                match rows {
                    1 => add_tile_f32::<1>(k, a, b, ldb, &c_rows),
                    2 => add_tile_f32::<2>(k, a, b, ldb, &c_rows),
                    3 => add_tile_f32::<3>(k, a, b, ldb, &c_rows),
                    4 => add_tile_f32::<4>(k, a, b, ldb, &c_rows),
                    5 => add_tile_f32::<5>(k, a, b, ldb, &c_rows),
                    _ => add_tile_f32::<6>(k, a, b, ldb, &c_rows),
                }
            }
        }
    }
}

/// One tile of [`conv_gather_f32`]: `tile[i][j] <- Σ_s rows[i][idx[s]] B[s][j]` for `i < ROWS`,
/// `j < 16`, with `B` packed 16 floats per step.
///
/// # Safety
/// `rows[i] + idx[s]` is readable for `i < ROWS`, `s < steps`; `b` holds `16 steps` floats;
/// the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn gather_tile_f32<const ROWS: usize>(
    steps: usize,
    rows: &[*const f32; 6],
    idx: *const usize,
    b: *const f32,
    tile: &mut [[f32; 16]; 6],
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for s in 0..steps {
        // SAFETY: s < steps, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let at = *idx.add(s);
            let pb = b.add(s * 16);
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(rows) {
                let a_is = _mm256_set1_ps(*row.add(at));
                acc_i[0] = _mm256_fmadd_ps(a_is, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_is, b1, acc_i[1]);
            }
        }
    }
    for (acc_i, tile_i) in acc.iter().zip(tile.iter_mut()) {
        // SAFETY: each tile row holds 16 floats.
        unsafe {
            _mm256_storeu_ps(tile_i.as_mut_ptr(), acc_i[0]);
            _mm256_storeu_ps(tile_i.as_mut_ptr().add(8), acc_i[1]);
        }
    }
}

/// A convolution product in the transposed orientation, for any stride: the register tile
/// is six **columns** of C (output pixels, or taps) by sixteen **rows** of C (output
/// channels), so that the channels fill the vector lanes and the patch-matrix entries are
/// broadcast straight from the padded image, never packed:
///
/// `C[r][n] <- Σ_s image[row_offsets[n] + idx[s]] B_r[s]` for `n < n_cols`, `r < m`,
///
/// with `B` packed by blocks of 16 rows of C: block `r / 16` holds `steps` steps of 16 floats
/// (zero past `m`). The forward product is `row_offsets` = the pixels' window offsets, `idx` =
/// the taps' offsets, `B = Wᵀ`; the weight gradient swaps the two tables and takes `B = dYᵀ`.
///
/// # Safety
/// `image + row_offsets[n] + idx[s]` is readable for every `n < n_cols`, `s < steps`;
/// `b_packed` holds `16 steps ⌈m / 16⌉` floats; C is valid for the writes of an `m x n_cols`
/// matrix and overlaps neither input; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_gather_f32(
    (m, steps, n_cols): (usize, usize, usize),
    image: *const f32,
    row_offsets: &[usize],
    idx: &[usize],
    b_packed: *const f32,
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    assert!(row_offsets.len() >= n_cols && idx.len() >= steps);
    let mut tile = [[0.0_f32; NR]; MR];
    for rb in (0..m).step_by(NR) {
        let lanes = NR.min(m - rb);
        let b = b_packed.wrapping_add(rb * steps);
        for ir in (0..n_cols).step_by(MR) {
            let cols = MR.min(n_cols - ir);
            let rows: [*const f32; MR] =
                core::array::from_fn(|i| image.wrapping_add(row_offsets[ir + i.min(cols - 1)]));
            let t = idx.as_ptr();
            // SAFETY: the first `cols` rows and every step are readable, by the contract.
            unsafe {
                match cols {
                    1 => gather_tile_f32::<1>(steps, &rows, t, b, &mut tile),
                    2 => gather_tile_f32::<2>(steps, &rows, t, b, &mut tile),
                    3 => gather_tile_f32::<3>(steps, &rows, t, b, &mut tile),
                    4 => gather_tile_f32::<4>(steps, &rows, t, b, &mut tile),
                    5 => gather_tile_f32::<5>(steps, &rows, t, b, &mut tile),
                    _ => gather_tile_f32::<6>(steps, &rows, t, b, &mut tile),
                }
            }
            for j in 0..lanes {
                for (i, tile_i) in tile.iter().enumerate().take(cols) {
                    // SAFETY: row rb + j < m and column ir + i < n_cols are inside C.
                    unsafe { *c.ptr.add((rb + j) * c.rs + (ir + i) * c.cs) = tile_i[j] };
                }
            }
        }
    }
}

/// The `8 x 8` transpose of the rows `r[0..8]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose_8x8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Packs the `m x n` row-major matrix `a` for [`conv_gather_f32`]: block `b` of `packed` holds,
/// for each column `s < n`, the 16 entries `a[16 b + j][s]`, by `8 x 8` register transposes.
/// Entries past row `m` are left as they are (the caller zeroes them).
///
/// # Safety
/// `a` holds `m n` floats and `packed` `16 n ⌈m / 16⌉`, not overlapping; the CPU has AVX2 and
/// FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn pack_rows_by_16_f32(a: *const f32, m: usize, n: usize, packed: *mut f32) {
    for r0 in (0..m).step_by(8) {
        let dst = packed.wrapping_add((r0 / 16) * 16 * n + r0 % 16);
        let full_cols = if m - r0 >= 8 { n - n % 8 } else { 0 };
        for s in (0..full_cols).step_by(8) {
            // SAFETY: rows r0..r0 + 8 and columns s..s + 8 exist; the 8 destinations of
            // 8 floats are inside block r0 / 16.
            unsafe {
                let rows: [__m256; 8] =
                    core::array::from_fn(|i| _mm256_loadu_ps(a.add((r0 + i) * n + s)));
                for (t, col) in transpose_8x8(rows).into_iter().enumerate() {
                    _mm256_storeu_ps(dst.add((s + t) * 16), col);
                }
            }
        }
        for i in 0..8.min(m - r0) {
            for s in full_cols..n {
                // SAFETY: row r0 + i < m, column s < n.
                unsafe { *dst.add(s * 16 + i) = *a.add((r0 + i) * n + s) };
            }
        }
    }
}
