//! `P`: one core's f32 FMA throughput, measured by a loop of independent AVX2 FMAs. Shared by
//! the GEMM and the convolution benches, which report their rates as fractions of it.

use std::hint::black_box;
use std::time::Instant;

pub const PEAK_ITERS: usize = 100_000;
/// Independent accumulators of the peak loop: more than FMA latency x FMA ports.
pub const PEAK_ACCS: usize = 12;

/// `PEAK_ITERS * PEAK_ACCS` independent-chain FMAs on 8 lanes.
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

/// The best-of-many rate of the peak loop, in GFLOP/s.
pub fn peak_best(secs: f64) -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        let mut best = f64::INFINITY;
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < secs {
            let t = Instant::now();
            // SAFETY: AVX2 and FMA were detected just above.
            black_box(unsafe { fma_peak_loop(black_box(PEAK_ITERS), 1e-3) });
            best = best.min(t.elapsed().as_secs_f64());
        }
        return Some((PEAK_ITERS * PEAK_ACCS * 16) as f64 / best * 1e-9);
    }
    None
}
