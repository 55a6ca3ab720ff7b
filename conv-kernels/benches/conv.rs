//! `conv2d` (im2col + GEMM + bias, its backward derived by `#[differentiate]`) on the course's
//! layer (3x32x32, six 5x5x3 filters -> 6x28x28) and LeNet's second layer (6x14x14, sixteen
//! 5x5 filters -> 16x10x10), as fractions of one core's FMA peak `P` (the widest FMA loop, AVX2
//! or AVX-512, run in the same rounds as each layer; both are printed).
//!
//! - forward: one image, im2col included;
//! - backward: the pullback of `conv2d_vjp` (dW = dY colᵀ, dX = col2im(Wᵀ dY), db);
//! - the same two through the unfused pieces (`image_patches`, then
//!   `filters_times_image_patches`: the whole patch matrix stored), the previous `conv2d`,
//!   kept here as a differentiated function so that both are measured in one run;
//! - a batch of 64 images forward and backward on one thread and on two (rayon).
//!
//! Run with `cargo bench -p conv-kernels --bench conv`.
//!
//! Environment (all optional; criterion runs by default):
//! - `CONV_BENCH_QUICK=1`: skip criterion, print only the best-of table;
//! - `CONV_BENCH_LAYER=course` or `lenet2`: only that layer;
//! - `CONV_BENCH_BATCH=0`: skip the batch-64 timings;
//! - `CONV_BENCH_ROUNDS=n`: interleaved best-of rounds (4 by default);
//! - `CONV_BENCH_SPIN=secs`: before the table, run the chosen layers' forward+backward for
//!   `secs` seconds (a steady loop for `perf record`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use autodiff_core::Float;
use autodiff_macros::differentiate;
use conv_kernels::layers::{
    add_bias, add_bias_vjp, conv2d, conv2d_vjp, filters_times_image_patches,
    filters_times_image_patches_vjp, image_patches, image_patches_vjp,
};
use conv_kernels::{Filters, Image, Scalar, Tensor, Vector};
use criterion::Criterion;
use rayon::prelude::*;

mod peak;

fn fill<T: conv_kernels::Zeros<Scalar = f32>>(seed: u32) -> Tensor<T> {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    Tensor::from_flat_fn(|_| {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
    })
}

/// `conv2d` as it was before `im2col_gemm`: the patch matrix stored whole between im2col and
/// the GEMM. Its backward is generated from the unfused rules.
#[differentiate(reverse)]
fn conv2d_unfused<
    F: Float + Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &Filters<F, O, C, KH, KW>,
    b: &Vector<F, O>,
) -> Image<F, O, OH, OW> {
    let cols = image_patches::<F, C, H, W, KH, KW, S, P, OH, OW>(x);
    let y = filters_times_image_patches(w, cols);
    add_bias(y, b)
}

/// `CONV_BENCH_QUICK` set (to anything but `0`): no criterion.
fn quick() -> bool {
    std::env::var("CONV_BENCH_QUICK").is_ok_and(|v| v != "0")
}

/// `CONV_BENCH_BATCH=0`: skip the batch-64 timings.
fn with_batch() -> bool {
    std::env::var("CONV_BENCH_BATCH").map_or(true, |v| v != "0")
}

/// A number from the environment.
fn env_f64(name: &str) -> Option<f64> {
    std::env::var(name).ok()?.parse().ok()
}

/// Whether the layer `id` is to be measured (`CONV_BENCH_LAYER` unset, or equal to `id`).
fn wanted(id: &str) -> bool {
    std::env::var("CONV_BENCH_LAYER").map_or(true, |l| l == id)
}

/// Best-of time of `f` over `secs` seconds.
fn best(secs: f64, mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// One row of the report.
struct Row {
    name: String,
    /// GEMM FLOPs per image, forward.
    flops: f64,
    /// Best-of forward and forward+backward times of one image, fused (`conv2d`).
    fwd: f64,
    fwd_bwd: f64,
    /// The same through the unfused pieces.
    fwd_unfused: f64,
    fwd_bwd_unfused: f64,
    /// A batch of 64 images forward+backward, one and two threads.
    batch_one: f64,
    batch_two: f64,
    /// The best rates of the AVX2 and AVX-512 FMA loops in the same rounds as the layer.
    peaks: [(peak::Fma, Option<f64>); 2],
}

macro_rules! layer {
    ($criterion:expr, $id:literal, $name:literal, $c:literal, $h:literal, $w:literal, $o:literal, $k:literal, $oh:literal) => {{
        type X = Image<f32, $c, $h, $w>;
        type Wt = Filters<f32, $o, $c, $k, $k>;
        type B = Vector<f32, $o>;
        type Y = Image<f32, $o, $oh, $oh>;
        let (x, w, b): (X, Wt, B) = (fill(1), fill(2), fill(3));
        let dy: Y = fill(4);
        let fwd = || {
            black_box(conv2d::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(
                black_box(&x),
                &w,
                &b,
            ));
        };
        let fwd_bwd = || {
            let (y, pullback) =
                conv2d_vjp::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(black_box(&x), &w, &b);
            black_box(y);
            black_box(pullback(dy.clone()));
        };
        let fwd_unfused = || {
            black_box(
                conv2d_unfused::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(
                    black_box(&x),
                    &w,
                    &b,
                ),
            );
        };
        let fwd_bwd_unfused = || {
            let (y, pullback) = conv2d_unfused_vjp::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(
                black_box(&x),
                &w,
                &b,
            );
            black_box(y);
            black_box(pullback(dy.clone()));
        };
        if let Some(secs) = env_f64("CONV_BENCH_SPIN") {
            best(secs, fwd_bwd);
        }
        if !quick() {
            $criterion.bench_function(concat!("conv2d/", $id, "/forward"), |bch| bch.iter(fwd));
            $criterion.bench_function(concat!("conv2d/", $id, "/forward+backward"), |bch| {
                bch.iter(fwd_bwd)
            });
        }
        let batch: Vec<X> = (0..64).map(|i| fill(10 + i)).collect();
        let pools: Vec<rayon::ThreadPool> = [1, 2]
            .map(|threads| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .expect("a pool")
            })
            .into();
        let batch_time = |pool: &rayon::ThreadPool, secs: f64| {
            best(secs, || {
                pool.install(|| {
                    batch.par_iter().for_each(|x| {
                        let (_, pullback) =
                            conv2d_vjp::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(x, &w, &b);
                        black_box(pullback(dy.clone()));
                    })
                })
            })
        };
        // One and two threads interleaved (four rounds of half a second each), so that a
        // burst of load from other processes hits both alike.
        let mut t_batch = [f64::NAN; 2];
        if with_batch() {
            t_batch = [f64::INFINITY; 2];
            for _ in 0..4 {
                for (t, pool) in t_batch.iter_mut().zip(&pools) {
                    *t = t.min(batch_time(pool, 0.5));
                }
            }
        }
        // FLOPs of the GEMM: forward 2 O K L; the backward makes two GEMMs of the same size.
        let flops = 2.0 * ($o * $c * $k * $k * $oh * $oh) as f64;
        // Interleaved, so that a burst of load from other processes hits both alike.
        let (mut t, mut t_u) = ([f64::INFINITY; 2], [f64::INFINITY; 2]);
        // The FMA loops run in the same rounds: a shared core's clock moves with the load.
        let mut peaks = [(peak::Fma::Avx2, None::<f64>), (peak::Fma::Avx512, None)];
        for _ in 0..env_f64("CONV_BENCH_ROUNDS").map_or(4, |r| r as usize) {
            t[0] = t[0].min(best(0.25, fwd));
            t_u[0] = t_u[0].min(best(0.25, fwd_unfused));
            t[1] = t[1].min(best(0.25, fwd_bwd));
            t_u[1] = t_u[1].min(best(0.25, fwd_bwd_unfused));
            for (fma, rate) in peaks.iter_mut() {
                let origin = Instant::now();
                if let Some(r) = peak::peak_best_by(*fma, 0.1, || origin.elapsed().as_secs_f64()) {
                    *rate = Some(rate.map_or(r, |b: f64| b.max(r)));
                }
            }
        }
        Row {
            name: String::from($name),
            flops,
            fwd: t[0],
            fwd_bwd: t[1],
            fwd_unfused: t_u[0],
            fwd_bwd_unfused: t_u[1],
            batch_one: t_batch[0],
            batch_two: t_batch[1],
            peaks,
        }
    }};
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let rows = [
        wanted("course").then(|| {
            layer!(
                criterion,
                "course",
                "course 3x32x32 -> 6x28x28 (5x5)",
                3,
                32,
                32,
                6,
                5,
                28
            )
        }),
        wanted("lenet2").then(|| {
            layer!(
                criterion,
                "lenet2",
                "LeNet-2 6x14x14 -> 16x10x10 (5x5)",
                6,
                14,
                14,
                16,
                5,
                10
            )
        }),
    ];
    criterion.final_summary();
    println!(
        "\nBest-of timings, one image unless noted; P = the widest FMA loop's best rate in the \
         layer's rounds; kernel: {}\n",
        conv_kernels::gemm::Kernel::Auto.name::<f32>()
    );
    println!(
        "| layer | P AVX2 / AVX-512 | forward GFLOP/s | forward %P | backward GFLOP/s | backward %P | unfused forward %P | unfused backward %P | batch 64 fwd+bwd, 2 threads / 1 thread |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows.into_iter().flatten() {
        let p = row
            .peaks
            .iter()
            .rev()
            .find_map(|&(_, p)| p)
            .unwrap_or(f64::NAN);
        let cell = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{r:.1}"));
        let peaks = format!("{} / {}", cell(row.peaks[0].1), cell(row.peaks[1].1));
        let rate = |flops: f64, secs: f64| flops / secs * 1e-9;
        let f = rate(row.flops, row.fwd);
        let bk = rate(2.0 * row.flops, row.fwd_bwd - row.fwd);
        let f_u = rate(row.flops, row.fwd_unfused);
        let bk_u = rate(2.0 * row.flops, row.fwd_bwd_unfused - row.fwd_unfused);
        let batch_flops = 64.0 * 3.0 * row.flops;
        println!(
            "| {} | {peaks} | {f:.1} | {:.0}% | {bk:.1} | {:.0}% | {:.0}% | {:.0}% | {:.2}x ({:.1} / {:.1} GFLOP/s) |",
            row.name,
            100.0 * f / p,
            100.0 * bk / p,
            100.0 * f_u / p,
            100.0 * bk_u / p,
            row.batch_one / row.batch_two,
            rate(batch_flops, row.batch_two),
            rate(batch_flops, row.batch_one),
        );
        println!(
            "|   times (us) | | fwd {:.2} | fwd+bwd {:.2} | unfused fwd {:.2} | unfused fwd+bwd {:.2} | | | |",
            row.fwd * 1e6,
            row.fwd_bwd * 1e6,
            row.fwd_unfused * 1e6,
            row.fwd_bwd_unfused * 1e6
        );
    }
}
