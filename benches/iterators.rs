//! Iterator-style objectives against the index-style code a hand rewrite gives, in one run.
//!
//! `cargo bench --bench iterators` checks first that both styles of each objective (Rosenbrock,
//! a small MLP, a Gaussian mixture; `benches/styles/`) give the same value and gradient, then
//! times the primal and `_grad` of both styles with criterion (medians), then again alternately:
//! `ROUNDS` rounds, each timing a batch of calls (about 0.5 ms) of every function of a problem
//! in turn, the two styles of a pair next to each other and the order reversed every other
//! round, and prints per pair the median over the rounds of the round's iterator / index ratio
//! (and the ratio of the median times). The machine is shared: a burst of load mostly lands on
//! both styles of a round alike.
//! `cargo test --benches` (or `-- --test`) runs the checks and each benchmark once.
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern
)]

#[allow(dead_code)]
mod problems;
mod styles;

use criterion::{Criterion, black_box};
use problems::Rng;
use problems::gmm::Data;
use problems::mlp::{Mlp, NI, NO};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use styles::{gmm, mlp, rosenbrock as rb};

/// Rounds of the alternating pass (`ROUNDS=n` overrides), and the length of each timed batch.
const ROUNDS: usize = 400;
const BATCH_NS: f64 = 5e5;

struct Inputs {
    rb_x: Vec<f64>,
    mlp_p: Mlp,
    mlp_x: [f64; NI],
    mlp_y: [f64; NO],
    gmm: Data,
}

fn inputs() -> Inputs {
    let mut rng = Rng::new(7);
    let rb_x = (0..10_000).map(|_| rng.range(-1.5, 1.5)).collect();
    let mlp_p = Mlp::random(&mut rng, 0.3);
    let mut mlp_x = [0.0; NI];
    for v in mlp_x.iter_mut() {
        *v = rng.range(-1.0, 1.0);
    }
    let mut mlp_y = [0.0; NO];
    for v in mlp_y.iter_mut() {
        *v = rng.range(-1.0, 1.0);
    }
    let gmm = Data::random(&mut rng);
    Inputs {
        rb_x,
        mlp_p,
        mlp_x,
        mlp_y,
        gmm,
    }
}

// ---------------------------------------------------------------------------------------------
// Checks: both styles agree (values to 1e-13, gradients to 1e-12 relative: the two run the same
// arithmetic, but `_grad` may run a loop in one pass in one style and in two in the other).

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            (x - y).abs()
                / x.abs()
                    .max(y.abs())
                    .max(1e-6 * scale)
                    .max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max)
}

fn flat2<const N: usize>(a: &[[f64; N]]) -> Vec<f64> {
    a.iter().flatten().copied().collect()
}

struct Checks {
    failed: usize,
}

impl Checks {
    fn check(&mut self, what: &str, err: f64, tol: f64) {
        let ok = err <= tol;
        println!(
            "check {what:<44} rel err {err:.2e} {}",
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            self.failed += 1;
        }
    }
}

fn verify(inp: &Inputs) -> Checks {
    let mut c = Checks { failed: 0 };
    let x = &inp.rb_x[..];
    let (yi, yx) = (rb::rosenbrock_iter(x), rb::rosenbrock_index(x));
    let ((gyi, gi), (gyx, gx)) = (rb::rosenbrock_iter_grad(x), rb::rosenbrock_index_grad(x));
    c.check("rosenbrock: values", rel_err(&[yi, gyi], &[yx, gyx]), 1e-13);
    c.check("rosenbrock: gradients", rel_err(&gi, &gx), 1e-12);

    let (p, mx, my) = (&inp.mlp_p, &inp.mlp_x, &inp.mlp_y);
    let (yi, yx) = (mlp::mlp_iter(p, mx, my), mlp::mlp_index(p, mx, my));
    let ((gyi, gi), (gyx, gx)) = (
        mlp::mlp_iter_grad(p, mx, my),
        mlp::mlp_index_grad(p, mx, my),
    );
    c.check("mlp: values", rel_err(&[yi, gyi], &[yx, gyx]), 1e-13);
    c.check("mlp: gradients", rel_err(&gi.flat(), &gx.flat()), 1e-12);

    let d = &inp.gmm;
    let args = (&d.alphas, &d.means, &d.icf, &d.x[..], d.gamma, d.m);
    let yi = gmm::gmm_iter(args.0, args.1, args.2, args.3, args.4, args.5);
    let yx = gmm::gmm_index(args.0, args.1, args.2, args.3, args.4, args.5);
    let (gyi, gi) = gmm::gmm_iter_grad(args.0, args.1, args.2, args.3, args.4, args.5);
    let (gyx, gx) = gmm::gmm_index_grad(args.0, args.1, args.2, args.3, args.4, args.5);
    let flat = |g: &([f64; 25], [[f64; 10]; 25], [[f64; 55]; 25])| {
        let mut v = g.0.to_vec();
        v.extend(flat2(&g.1));
        v.extend(flat2(&g.2));
        v
    };
    c.check("gmm: values", rel_err(&[yi, gyi], &[yx, gyx]), 1e-13);
    c.check("gmm: gradients", rel_err(&flat(&gi), &flat(&gx)), 1e-12);
    c
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

/// One timed function: its name and a call with black-boxed inputs.
type Timed<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// Per problem: primal iter, primal index, grad iter, grad index.
fn problems(inp: &Inputs) -> Vec<(&'static str, Vec<Timed<'_>>)> {
    let x = &inp.rb_x[..];
    let rosenbrock: Vec<Timed> = vec![
        (
            "primal_iter",
            Box::new(move || {
                black_box(rb::rosenbrock_iter(black_box(x)));
            }),
        ),
        (
            "primal_index",
            Box::new(move || {
                black_box(rb::rosenbrock_index(black_box(x)));
            }),
        ),
        (
            "grad_iter",
            Box::new(move || {
                black_box(rb::rosenbrock_iter_grad(black_box(x)));
            }),
        ),
        (
            "grad_index",
            Box::new(move || {
                black_box(rb::rosenbrock_index_grad(black_box(x)));
            }),
        ),
    ];
    let (p, mx, my) = (&inp.mlp_p, &inp.mlp_x, &inp.mlp_y);
    let mlp: Vec<Timed> = vec![
        (
            "primal_iter",
            Box::new(move || {
                black_box(mlp::mlp_iter(black_box(p), black_box(mx), black_box(my)));
            }),
        ),
        (
            "primal_index",
            Box::new(move || {
                black_box(mlp::mlp_index(black_box(p), black_box(mx), black_box(my)));
            }),
        ),
        (
            "grad_iter",
            Box::new(move || {
                black_box(mlp::mlp_iter_grad(
                    black_box(p),
                    black_box(mx),
                    black_box(my),
                ));
            }),
        ),
        (
            "grad_index",
            Box::new(move || {
                black_box(mlp::mlp_index_grad(
                    black_box(p),
                    black_box(mx),
                    black_box(my),
                ));
            }),
        ),
    ];
    let d = &inp.gmm;
    let (a, m, q, gx, ga, gm) = (&d.alphas, &d.means, &d.icf, &d.x[..], d.gamma, d.m);
    let gmm: Vec<Timed> = vec![
        (
            "primal_iter",
            Box::new(move || {
                black_box(gmm::gmm_iter(
                    black_box(a),
                    black_box(m),
                    black_box(q),
                    black_box(gx),
                    ga,
                    gm,
                ));
            }),
        ),
        (
            "primal_index",
            Box::new(move || {
                black_box(gmm::gmm_index(
                    black_box(a),
                    black_box(m),
                    black_box(q),
                    black_box(gx),
                    ga,
                    gm,
                ));
            }),
        ),
        (
            "grad_iter",
            Box::new(move || {
                black_box(gmm::gmm_iter_grad(
                    black_box(a),
                    black_box(m),
                    black_box(q),
                    black_box(gx),
                    ga,
                    gm,
                ));
            }),
        ),
        (
            "grad_index",
            Box::new(move || {
                black_box(gmm::gmm_index_grad(
                    black_box(a),
                    black_box(m),
                    black_box(q),
                    black_box(gx),
                    ga,
                    gm,
                ));
            }),
        ),
    ];
    vec![("rosenbrock", rosenbrock), ("mlp", mlp), ("gmm", gmm)]
}

fn bench_all(c: &mut Criterion, inp: &Inputs) {
    for (group, fns) in problems(inp) {
        let mut g = c.benchmark_group(format!("iter_vs_index/{group}"));
        for (name, f) in &fns {
            g.bench_function(*name, |b| b.iter(f));
        }
        g.finish();
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Rounds of batches, every function of a problem once per round (the order reversed every
/// other round); per pair the median over rounds of the round's ratio, and the median times.
fn alternating(inp: &Inputs, rounds: usize) {
    println!("\n## alternating, {rounds} rounds: medians\n");
    println!(
        "| problem | primal iter / index | grad iter / index | primal iter | primal index | grad iter | grad index |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (group, fns) in problems(inp) {
        let reps: Vec<u32> = fns
            .iter()
            .map(|(_, f)| {
                f();
                let t = Instant::now();
                f();
                let ns = t.elapsed().as_nanos().max(1) as f64;
                (BATCH_NS / ns).clamp(1.0, 20_000.0) as u32
            })
            .collect();
        let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); fns.len()];
        for r in 0..rounds {
            let order: Vec<usize> = if r % 2 == 0 {
                (0..fns.len()).collect()
            } else {
                (0..fns.len()).rev().collect()
            };
            for k in order {
                let t = Instant::now();
                for _ in 0..reps[k] {
                    (fns[k].1)();
                }
                times[k].push(t.elapsed().as_nanos() as f64 / reps[k] as f64);
            }
        }
        let ratio = |a: usize, b: usize| {
            let mut r: Vec<f64> = times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect();
            median(&mut r)
        };
        let (rp, rg) = (ratio(0, 1), ratio(2, 3));
        let med: Vec<f64> = times.iter().map(|t| median(&mut t.clone())).collect();
        println!(
            "| {group} | {rp:.3} ({:.3}) | {rg:.3} ({:.3}) | {} | {} | {} | {} |",
            med[0] / med[1],
            med[2] / med[3],
            fmt_ns(med[0]),
            fmt_ns(med[1]),
            fmt_ns(med[2]),
            fmt_ns(med[3]),
        );
    }
}

fn main() {
    let inp = inputs();
    let checks = verify(&inp);
    if checks.failed > 0 {
        println!("checks: {} FAILED", checks.failed);
        std::process::exit(1);
    }
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let args: Vec<String> = std::env::args().collect();
    let bench = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    // `ALTERNATING_ONLY=1`: skip criterion's pass (the alternating one is what BENCHMARKS.md
    // reports).
    if std::env::var_os("ALTERNATING_ONLY").is_none() {
        let mut c = Criterion::default()
            .output_directory(&dir)
            .sample_size(20)
            .measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500))
            .without_plots()
            .configure_from_args();
        bench_all(&mut c, &inp);
        c.final_summary();
    }
    if bench {
        let rounds = std::env::var("ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(ROUNDS);
        alternating(&inp, rounds);
    }
}
