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
            const MR: usize = 6;
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
            if a.rs == 1 && a.cs == MR {
                // Packed sliver A~: the MR elements of step p are contiguous.
                for p in 0..k {
                    // SAFETY: p < k, i < ROWS, j < 2L: in bounds by the caller's contract.
                    unsafe {
                        let pb = b.ptr.add(p * b.rs);
                        let (b0, b1) = ($loadu(pb), $loadu(pb.add(L)));
                        let pa = a.ptr.add(p * MR);
                        for (i, acc_i) in acc.iter_mut().enumerate() {
                            let a_ip = $set1(*pa.add(i));
                            acc_i[0] = $fmadd(a_ip, b0, acc_i[0]);
                            acc_i[1] = $fmadd(a_ip, b1, acc_i[1]);
                        }
                    }
                }
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
