//! `P`: one core's f32 FMA throughput, measured by loops of independent FMAs, one per vector
//! width (AVX2 + FMA on 8 lanes, AVX-512 on 16). Shared by the GEMM and the convolution
//! benches, which report their rates as fractions of the widest one this CPU runs
//! ([`peak_best`]) and print both ([`peaks`]).
//!
//! The two can be equal: AMD Zen 4 executes a 512-bit FMA as two 256-bit halves, so its
//! AVX-512 peak per cycle is its AVX2 peak; Intel Xeons with two 512-bit FMA units double it.

#![allow(dead_code)] // each bench uses part of it

use std::hint::black_box;
use std::time::Instant;

pub const PEAK_ITERS: usize = 100_000;
/// Independent accumulators of the AVX2 loop: more than FMA latency x FMA ports (4 x 2).
pub const PEAK_ACCS: usize = 12;
/// Independent accumulators of the AVX-512 loop: 24 of the 32 `zmm` registers, more than
/// latency x ports on every AVX-512 CPU (4 x 2).
pub const PEAK_ACCS_512: usize = 24;

/// A vector width of the peak loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fma {
    /// `vfmadd` on `ymm` (8 `f32` lanes).
    Avx2,
    /// `vfmadd` on `zmm` (16 `f32` lanes).
    Avx512,
}

impl Fma {
    /// Whether this CPU runs the loop.
    pub fn available(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Fma::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
                Fma::Avx512 => is_x86_feature_detected!("avx512f"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Fma::Avx2 => "AVX2 (ymm FMA)",
            Fma::Avx512 => "AVX-512 (zmm FMA)",
        }
    }

    /// FLOPs of one [`Fma::run`] of [`PEAK_ITERS`] iterations.
    pub fn flops(self) -> f64 {
        match self {
            Fma::Avx2 => (PEAK_ITERS * PEAK_ACCS * 16) as f64,
            Fma::Avx512 => (PEAK_ITERS * PEAK_ACCS_512 * 32) as f64,
        }
    }

    /// One run of the loop, [`PEAK_ITERS`] iterations.
    ///
    /// # Panics
    /// If the CPU does not run it.
    pub fn run(self) -> f32 {
        assert!(self.available(), "{} not available", self.name());
        #[cfg(target_arch = "x86_64")]
        {
            // SAFETY: the instruction set was detected just above.
            unsafe {
                match self {
                    Fma::Avx2 => fma_peak_loop(black_box(PEAK_ITERS), 1e-3),
                    Fma::Avx512 => fma512_peak_loop(black_box(PEAK_ITERS), 1e-3),
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!()
    }
}

/// `iters * PEAK_ACCS` independent-chain FMAs on 8 lanes.
///
/// # Safety
/// The CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn fma_peak_loop(iters: usize, x: f32) -> f32 {
    use std::arch::x86_64::*;
    let mul = _mm256_set1_ps(0.999_999);
    let add = _mm256_set1_ps(x);
    let mut acc = [_mm256_setzero_ps(); PEAK_ACCS];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = _mm256_set1_ps(i as f32);
    }
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm256_fmadd_ps(*a, mul, add);
        }
    }
    let mut sum = _mm256_setzero_ps();
    for a in acc {
        sum = _mm256_add_ps(sum, a);
    }
    let mut out = [0.0_f32; 8];
    // SAFETY: `out` holds 8 floats.
    unsafe { _mm256_storeu_ps(out.as_mut_ptr(), sum) };
    out.iter().sum()
}

/// `iters * PEAK_ACCS_512` independent-chain FMAs on 16 lanes.
///
/// # Safety
/// The CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn fma512_peak_loop(iters: usize, x: f32) -> f32 {
    use std::arch::x86_64::*;
    let mul = _mm512_set1_ps(0.999_999);
    let add = _mm512_set1_ps(x);
    let mut acc = [_mm512_setzero_ps(); PEAK_ACCS_512];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = _mm512_set1_ps(i as f32);
    }
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = _mm512_fmadd_ps(*a, mul, add);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for a in acc {
        sum = _mm512_add_ps(sum, a);
    }
    _mm512_reduce_add_ps(sum)
}

/// The best-of rate of the loop `fma` over `secs` seconds (one run at least), in GFLOP/s,
/// timed by `now` (seconds).
pub fn peak_best_by(fma: Fma, secs: f64, mut now: impl FnMut() -> f64) -> Option<f64> {
    if !fma.available() {
        return None;
    }
    let mut best = f64::INFINITY;
    let start = Instant::now();
    // At least one run (`secs = 0`: exactly one).
    loop {
        let t = now();
        black_box(fma.run());
        best = best.min(now() - t);
        if start.elapsed().as_secs_f64() >= secs {
            break;
        }
    }
    Some(fma.flops() / best * 1e-9)
}

/// The widest FMA this CPU runs.
pub fn widest() -> Option<Fma> {
    [Fma::Avx512, Fma::Avx2].into_iter().find(|f| f.available())
}

/// `P` by wall time: the best-of rate of the widest FMA loop, in GFLOP/s.
pub fn peak_best(secs: f64) -> Option<f64> {
    let origin = Instant::now();
    peak_best_by(widest()?, secs, || origin.elapsed().as_secs_f64())
}

/// Both peaks (AVX2, AVX-512) by wall time, `None` where the CPU lacks the instructions;
/// the two loops alternate so that the load from other processes hits both alike.
pub fn peaks(secs: f64) -> [(Fma, Option<f64>); 2] {
    let origin = Instant::now();
    let now = || origin.elapsed().as_secs_f64();
    let mut out = [(Fma::Avx2, None::<f64>), (Fma::Avx512, None)];
    for _ in 0..4 {
        for (fma, best) in out.iter_mut() {
            if let Some(r) = peak_best_by(*fma, secs / 8.0, now) {
                *best = Some(best.map_or(r, |b: f64| b.max(r)));
            }
        }
    }
    out
}
