//! One-thread `f32` GEMM against this core's FMA peak `P`, `matrixmultiply` and the `gemm`
//! crate.
//!
//! `P` is measured in the same run by loops of independent FMAs, AVX2 and AVX-512 (where the CPU
//! has it); `P` is the widest one's rate. The best-of table runs them in the same rounds as
//! each size and prints both, and has a column for our AVX2 kernel beside the one `Kernel::Auto`
//! picks (`CONV_KERNELS_ISA=avx2|avx512|portable` caps that pick). After the criterion
//! runs, a summary table prints GFLOP/s and % of `P` from the criterion medians, and the
//! ratios of our rate to the other crates'; a second table repeats the comparison with
//! best-of-many times taken round-robin, which other processes on the machine disturb less.
//!
//! Run with `cargo bench -p conv-kernels --bench gemm`. With `GEMM_BEST_ONLY=1` in the
//! environment only the interleaved best-of table runs (criterion is skipped); `GEMM_SECS`
//! sets the seconds per size of that table (default 1.5) and `GEMM_SIZES` (comma-separated)
//! its sizes, and `GEMM_CPU_TIME=1` times it (and `P`) by this thread's CPU time (Linux
//! `CLOCK_THREAD_CPUTIME_ID`) instead of wall time, so that time spent preempted by
//! other processes is not counted: on a loaded machine, a 50 ms product rarely runs a whole
//! time slice undisturbed.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use conv_kernels::gemm::{Kernel, MatMut, MatRef, gemm_into};
use criterion::{BenchmarkId, Criterion, Throughput};

mod peak;
use peak::{Fma, peak_best_by, widest};

const SIZES: [usize; 6] = [16, 64, 128, 256, 512, 1024];

fn noise(seed: u32, len: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// One product with our kernel: `out <- a b`, all `n x n` row-major.
fn ours(n: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    gemm_into(
        1.0,
        MatRef::row_major(a, n, n),
        MatRef::row_major(b, n, n),
        0.0,
        MatMut::row_major(out, n, n),
    )
}

/// One product with `matrixmultiply::sgemm`.
fn with_matrixmultiply(n: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(a.len() >= n * n && b.len() >= n * n && out.len() >= n * n);
    // SAFETY: a, b and out hold n x n row-major matrices (checked just above).
    unsafe {
        matrixmultiply::sgemm(
            n,
            n,
            n,
            1.0,
            a.as_ptr(),
            n as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        )
    }
}

/// One product with the `gemm` crate, on one thread.
fn with_gemm_crate(n: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(a.len() >= n * n && b.len() >= n * n && out.len() >= n * n);
    // SAFETY: a, b and out hold n x n row-major matrices (column stride 1, row stride n),
    // checked just above. With read_dst = false, dst <- 1.0 * lhs rhs.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            out.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            n as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// One product with our AVX2 kernel (the widest otherwise), for the AVX-512 vs AVX2 column.
fn ours_avx2(n: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    let kernel = if Kernel::available::<f32>().contains(&Kernel::Avx2Fma) {
        Kernel::Avx2Fma
    } else {
        Kernel::Auto
    };
    kernel.install(|| ours(n, a, b, out))
}

/// One `n x n` product `out <- a b`.
type Product = fn(usize, &[f32], &[f32], &mut [f32]);

/// The implementations, in table order (`ours` runs the kernel `Kernel::Auto` picks).
const IMPLS: [(&str, Product); 4] = [
    ("ours", ours),
    ("ours-avx2", ours_avx2),
    ("matrixmultiply", with_matrixmultiply),
    ("gemm", with_gemm_crate),
];

fn bench(c: &mut Criterion) {
    let mut peak = c.benchmark_group("peak");
    if let Some(fma) = widest() {
        peak.throughput(Throughput::Elements(fma.flops() as u64));
        peak.bench_function("fma_f32", |bencher| bencher.iter(|| fma.run()));
    }
    peak.finish();

    let mut group = c.benchmark_group("gemm_f32");
    for n in SIZES {
        let a = noise(1, n * n);
        let b = noise(2, n * n);
        let mut out = vec![0.0_f32; n * n];
        group.throughput(Throughput::Elements((2 * n * n * n) as u64));
        group.sample_size(if n >= 512 { 10 } else { 30 });
        for (name, run) in IMPLS {
            group.bench_with_input(BenchmarkId::new(name, n), &n, |bencher, &n| {
                bencher.iter(|| run(n, black_box(&a), black_box(&b), &mut out))
            });
        }
    }
    group.finish();
}

/// The median time in seconds of one benchmark, from criterion's `estimates.json`.
fn median_seconds(root: &Path, group: &str, id: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(root.join(group).join(id).join("new/estimates.json")).ok()?;
    let median = &text[text.find("\"median\"")?..];
    let point = &median[median.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = point.find([',', '}'])?;
    point[..end].trim().parse::<f64>().ok().map(|ns| ns * 1e-9)
}

fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

fn summary(root: &Path) {
    let Some(fma) = widest() else {
        println!("no FMA loop on this CPU: summary skipped");
        return;
    };
    let peak_flops = fma.flops();
    let Some(peak_time) = median_seconds(root, "peak", "fma_f32") else {
        println!("no peak measurement: summary skipped");
        return;
    };
    let p = peak_flops / peak_time * 1e-9;
    println!(
        "\nP = one core's f32 FMA peak = {p:.1} GFLOP/s (median of the {} loop)\n",
        fma.name()
    );
    println!(
        "| n | ours GFLOP/s | ours %P | matrixmultiply GFLOP/s | %P | gemm GFLOP/s | %P | ours / matrixmultiply | ours / gemm |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in SIZES {
        let flops = 2.0 * (n * n * n) as f64;
        let rate = |id: &str| {
            median_seconds(root, "gemm_f32", &format!("{id}/{n}")).map(|t| flops / t * 1e-9)
        };
        let (ours, mm, gm) = (rate("ours"), rate("matrixmultiply"), rate("gemm"));
        let cell = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.1}"));
        let pct = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.0}%", 100.0 * r / p));
        let ratio = |o: Option<f64>, t: Option<f64>| match (o, t) {
            (Some(o), Some(t)) => format!("{:.2}x", o / t),
            _ => "-".to_string(),
        };
        println!(
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(ours),
            pct(ours),
            cell(mm),
            pct(mm),
            cell(gm),
            pct(gm),
            ratio(ours, mm),
            ratio(ours, gm)
        );
    }
}

/// A clock in seconds: wall time, or this thread's CPU time with `GEMM_CPU_TIME` set.
#[derive(Clone, Copy)]
struct Clock {
    cpu: bool,
    origin: Instant,
}

impl Clock {
    fn from_env() -> Self {
        let cpu = std::env::var("GEMM_CPU_TIME").is_ok_and(|v| v == "1")
            && Self::thread_cpu_ns().is_some();
        Clock {
            cpu,
            origin: Instant::now(),
        }
    }

    /// Nanoseconds this thread has run on a CPU.
    #[cfg(target_os = "linux")]
    fn thread_cpu_ns() -> Option<u64> {
        #[repr(C)]
        struct Timespec {
            sec: i64,
            nsec: i64,
        }
        unsafe extern "C" {
            fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
        }
        const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
        let mut ts = Timespec { sec: 0, nsec: 0 };
        // SAFETY: `clock_gettime` of the C library (x86-64 Linux `timespec` layout) writes
        // one `timespec` to the valid pointer it is given.
        let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (rc == 0).then(|| ts.sec as u64 * 1_000_000_000 + ts.nsec as u64)
    }

    #[cfg(not(target_os = "linux"))]
    fn thread_cpu_ns() -> Option<u64> {
        None
    }

    fn now(&self) -> f64 {
        match self.cpu {
            true => Self::thread_cpu_ns().map_or(0.0, |ns| ns as f64 * 1e-9),
            false => self.origin.elapsed().as_secs_f64(),
        }
    }
}

/// The shortest time of one call of each implementation, measured round-robin for `secs`
/// seconds so that all of them see the same machine load, and the best rates of the peak
/// loops (AVX2, AVX-512) run in the same rounds: the clock of a shared core moves with the
/// load on the others, so `P` is measured beside each size.
fn interleaved_best(
    clock: Clock,
    n: usize,
    secs: f64,
) -> ([f64; IMPLS.len()], [(Fma, Option<f64>); 2]) {
    let a = noise(1, n * n);
    let b = noise(2, n * n);
    let mut out = vec![0.0_f32; n * n];
    let reps = (2e6 / (2 * n * n * n) as f64).ceil() as usize;
    let mut best = [f64::INFINITY; IMPLS.len()];
    let mut peaks = [(Fma::Avx2, None::<f64>), (Fma::Avx512, None)];
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        for (slot, (_, run)) in best.iter_mut().zip(IMPLS) {
            let t = clock.now();
            for _ in 0..reps {
                run(n, black_box(&a), black_box(&b), &mut out);
            }
            *slot = slot.min((clock.now() - t) / reps as f64);
        }
        for (fma, peak) in peaks.iter_mut() {
            if let Some(r) = peak_best_by(*fma, 0.0, || clock.now()) {
                *peak = Some(peak.map_or(r, |b: f64| b.max(r)));
            }
        }
    }
    (best, peaks)
}

/// A second table, robust to other processes on the machine: best-of-many times, the
/// implementations and the peak loops interleaved.
fn interleaved_summary() {
    let clock = Clock::from_env();
    let secs = std::env::var("GEMM_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.5);
    let what = if clock.cpu {
        "thread CPU time"
    } else {
        "wall time"
    };
    println!("\nInterleaved best-of timings ({what}; robust to load from other processes):");
    println!(
        "P = the widest FMA loop's best rate in the same rounds; kernel: {}\n",
        Kernel::Auto.name::<f32>()
    );
    println!(
        "| n | P AVX2 | P AVX-512 | ours GFLOP/s | ours %P | ours AVX2 GFLOP/s | ours AVX2 %P | matrixmultiply GFLOP/s | gemm GFLOP/s | ours / matrixmultiply | ours / gemm | ours / ours AVX2 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    let sizes: Vec<usize> = std::env::var("GEMM_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| SIZES.to_vec());
    for n in sizes {
        let flops = 2.0 * (n * n * n) as f64;
        let (times, peaks) = interleaved_best(clock, n, secs);
        let [ours, avx2, mm, gm] = times.map(|t| flops / t * 1e-9);
        let cell = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.1}"));
        // P is the widest FMA's peak (the last one this CPU has).
        let p = peaks.iter().rev().find_map(|&(_, p)| p).unwrap_or(f64::NAN);
        println!(
            "| {n} | {} | {} | {ours:.1} | {:.0}% | {avx2:.1} | {:.0}% | {mm:.1} | {gm:.1} | {:.2}x | {:.2}x | {:.2}x |",
            cell(peaks[0].1),
            cell(peaks[1].1),
            100.0 * ours / p,
            100.0 * avx2 / p,
            ours / mm,
            ours / gm,
            ours / avx2
        );
    }
}

fn main() {
    if std::env::var_os("GEMM_BEST_ONLY").is_some() {
        interleaved_summary();
        return;
    }
    let root = criterion_dir();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .output_directory(&root)
        .configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    summary(&root);
    interleaved_summary();
}
