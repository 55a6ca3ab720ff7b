//! `conv2d` (im2col + GEMM + bias, its backward derived by `#[differentiate]`) on the course's
//! layer (3x32x32, six 5x5x3 filters -> 6x28x28) and LeNet's second layer (6x14x14, sixteen
//! 5x5 filters -> 16x10x10), as fractions of one core's FMA peak `P` measured in the same run.
//!
//! - forward: one image, im2col included;
//! - backward: the pullback of `conv2d_vjp` (dW = dY colᵀ, dcols = Wᵀ dY and col2im);
//! - a batch of 64 images forward and backward on one thread and on two (rayon).
//!
//! Run with `cargo bench -p conv-kernels --bench conv`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use conv_kernels::conv::{conv2d, conv2d_vjp};
use conv_kernels::{Filters, Image, Tensor, Vector};
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

/// One row: the layer's name, GEMM FLOPs per image, forward and forward+backward times of one
/// image, and the times of a batch of 64 on one and two threads.
type Row = (String, f64, f64, f64, f64, f64);

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
        $criterion.bench_function(concat!("conv2d/", $id, "/forward"), |bch| bch.iter(fwd));
        $criterion.bench_function(concat!("conv2d/", $id, "/forward+backward"), |bch| {
            bch.iter(fwd_bwd)
        });
        let batch: Vec<X> = (0..64).map(|i| fill(10 + i)).collect();
        let batch_time = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a pool");
            best(2.0, || {
                pool.install(|| {
                    batch.par_iter().for_each(|x| {
                        let (_, pullback) =
                            conv2d_vjp::<f32, $c, $h, $w, $o, $k, $k, 1, 0, $oh, $oh>(x, &w, &b);
                        black_box(pullback(dy.clone()));
                    })
                })
            })
        };
        // FLOPs of the GEMM: forward 2 O K L; the backward makes two GEMMs of the same size.
        let flops = 2.0 * ($o * $c * $k * $k * $oh * $oh) as f64;
        let row: Row = (
            String::from($name),
            flops,
            best(1.0, fwd),
            best(1.0, fwd_bwd),
            batch_time(1),
            batch_time(2),
        );
        row
    }};
}

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let p = peak::peak_best(1.0);
    let rows = [
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
        ),
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
        ),
    ];
    criterion.final_summary();
    let p = p.unwrap_or(f64::NAN);
    println!(
        "\nBest-of timings, one image unless noted; P = {p:.1} GFLOP/s (the FMA loop, same run)\n"
    );
    println!(
        "| layer | forward GFLOP/s | forward %P | backward GFLOP/s | backward %P | batch 64 fwd+bwd, 2 threads / 1 thread |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, flops, fwd, fwd_bwd, one, two) in rows {
        let f = flops / fwd * 1e-9;
        let back = fwd_bwd - fwd;
        let bk = 2.0 * flops / back * 1e-9;
        println!(
            "| {name} | {f:.1} | {:.0}% | {bk:.1} | {:.0}% | {:.2}x ({:.1} / {:.1} GFLOP/s) |",
            100.0 * f / p,
            100.0 * bk / p,
            one / two,
            64.0 * 3.0 * flops / two * 1e-9,
            64.0 * 3.0 * flops / one * 1e-9,
        );
    }
}
