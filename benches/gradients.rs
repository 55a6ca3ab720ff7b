//! Generated derivatives against hand-written ones and against num-dual, in one run.
//!
//! `cargo bench --bench gradients` checks first that every generated gradient and tangent agrees
//! with its hand-written counterpart (1e-10 relative), then times, per problem: the primal, the
//! generated `_grad`, the hand-written gradient, the generated `_jvp` (one direction), the
//! hand-written tangent and num-dual's `Dual64` running the same objective, and prints the
//! medians and their ratios. `cargo test --benches` runs the same checks and each benchmark once.
// Tests write what API.md's table lists (`&Vec<F>`, index loops, tuples of adjoints).
#![allow(
    clippy::ptr_arg,
    clippy::type_complexity,
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::excessive_precision,
    clippy::approx_constant,
    clippy::manual_range_contains,
    clippy::needless_return,
    clippy::collapsible_else_if,
    clippy::neg_multiply
)]

mod problems;

use criterion::{Criterion, black_box};
use num_dual::Dual64;
use problems::{Rng, gmm, mlp, ode, rosenbrock as rb};
use std::path::PathBuf;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Inputs

struct Inputs {
    rb_x: Vec<f64>,
    rb_t: Vec<f64>,
    rb_nd: Vec<Dual64>,
    mlp_p: mlp::Mlp,
    mlp_t: mlp::Mlp,
    mlp_x: [f64; mlp::NI],
    mlp_y: [f64; mlp::NO],
    mlp_nd: mlp::MlpNd<Dual64>,
    gmm: gmm::Data,
    gmm_ta: [f64; gmm::K],
    gmm_tm: [[f64; gmm::D]; gmm::K],
    gmm_tq: [[f64; gmm::ICF]; gmm::K],
    gmm_nd: (
        [Dual64; gmm::K],
        [[Dual64; gmm::D]; gmm::K],
        [[Dual64; gmm::ICF]; gmm::K],
    ),
    ode_p: [f64; 4],
    ode_s0: [f64; 2],
    ode_tp: [f64; 4],
    ode_ts0: [f64; 2],
    ode_nd: ([Dual64; 4], [Dual64; 2]),
}

fn inputs() -> Inputs {
    let mut rng = Rng::new(42);
    let n = 10_000;
    let rb_x: Vec<f64> = (0..n).map(|_| rng.range(-1.5, 1.5)).collect();
    let rb_t: Vec<f64> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
    let rb_nd = rb_x
        .iter()
        .zip(&rb_t)
        .map(|(&v, &t)| Dual64::new(v, t))
        .collect();

    let mlp_p = mlp::Mlp::random(&mut rng, 0.3);
    let mlp_t = mlp::Mlp::random(&mut rng, 1.0);
    let mut mlp_x = [0.0; mlp::NI];
    for v in mlp_x.iter_mut() {
        *v = rng.range(-1.0, 1.0);
    }
    let mut mlp_y = [0.0; mlp::NO];
    for v in mlp_y.iter_mut() {
        *v = rng.range(-1.0, 1.0);
    }
    let mlp_nd = mlp::MlpNd::from_tangent(&mlp_p, &mlp_t);

    let g = gmm::Data::random(&mut rng);
    let mut gmm_ta = [0.0; gmm::K];
    let mut gmm_tm = [[0.0; gmm::D]; gmm::K];
    let mut gmm_tq = [[0.0; gmm::ICF]; gmm::K];
    let mut nd_a = [Dual64::new(0.0, 0.0); gmm::K];
    let mut nd_m = [[Dual64::new(0.0, 0.0); gmm::D]; gmm::K];
    let mut nd_q = [[Dual64::new(0.0, 0.0); gmm::ICF]; gmm::K];
    for k in 0..gmm::K {
        gmm_ta[k] = rng.range(-1.0, 1.0);
        nd_a[k] = Dual64::new(g.alphas[k], gmm_ta[k]);
        for j in 0..gmm::D {
            gmm_tm[k][j] = rng.range(-1.0, 1.0);
            nd_m[k][j] = Dual64::new(g.means[k][j], gmm_tm[k][j]);
        }
        for j in 0..gmm::ICF {
            gmm_tq[k][j] = rng.range(-1.0, 1.0);
            nd_q[k][j] = Dual64::new(g.icf[k][j], gmm_tq[k][j]);
        }
    }

    let ode_p = [1.1, 0.4, 0.1, 0.4];
    let ode_s0 = [10.0, 10.0];
    let ode_tp = [0.3, -0.7, 0.2, 0.5];
    let ode_ts0 = [-0.4, 0.9];
    let nd = |v: &[f64], t: &[f64], i: usize| Dual64::new(v[i], t[i]);
    let ode_nd = (
        [0, 1, 2, 3].map(|i| nd(&ode_p, &ode_tp, i)),
        [0, 1].map(|i| nd(&ode_s0, &ode_ts0, i)),
    );
    Inputs {
        rb_x,
        rb_t,
        rb_nd,
        mlp_p,
        mlp_t,
        mlp_x,
        mlp_y,
        mlp_nd,
        gmm: g,
        gmm_ta,
        gmm_tm,
        gmm_tq,
        gmm_nd: (nd_a, nd_m, nd_q),
        ode_p,
        ode_s0,
        ode_tp,
        ode_ts0,
        ode_nd,
    }
}

// ---------------------------------------------------------------------------------------------
// Checks: generated == hand-written (1e-10 relative), and the tangents == gradient . direction.

const TOL: f64 = 1e-10;

/// Largest relative difference, each entry relative to max(|a|, |b|, 1e-6 * max|a|).
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

fn rel(a: f64, b: f64) -> f64 {
    rel_err(&[a], &[b])
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn flat2<const N: usize>(a: &[[f64; N]]) -> Vec<f64> {
    a.iter().flatten().copied().collect()
}

fn gmm_flat(g: &gmm::Grad) -> Vec<f64> {
    let mut v = g.0.to_vec();
    v.extend(flat2(&g.1));
    v.extend(flat2(&g.2));
    v
}

struct Checks {
    passed: usize,
    failed: usize,
}

impl Checks {
    fn check(&mut self, what: &str, err: f64, tol: f64) {
        let ok = err <= tol;
        println!(
            "check {:<48} rel err {:.2e} {}",
            what,
            err,
            if ok { "ok" } else { "FAILED" }
        );
        if ok {
            self.passed += 1
        } else {
            self.failed += 1
        }
    }
}

fn verify(inp: &Inputs) -> Checks {
    let mut c = Checks {
        passed: 0,
        failed: 0,
    };

    // Rosenbrock
    let x = &inp.rb_x;
    let t = &inp.rb_t;
    let y = rb::rosenbrock(x);
    let (yg, g) = rb::rosenbrock_grad(x);
    let (yh, gh) = rb::rosenbrock_grad_hand(x);
    c.check("rosenbrock: value of _grad", rel(yg, y), TOL);
    c.check("rosenbrock: value of hand gradient", rel(yh, y), TOL);
    c.check("rosenbrock: _grad vs hand gradient", rel_err(&g, &gh), TOL);
    let (yj, dj) = rb::rosenbrock_jvp(x, t);
    let (_, dh) = rb::rosenbrock_tangent_hand(x, t);
    let nd = rb::rosenbrock_nd(&inp.rb_nd);
    c.check("rosenbrock: value of _jvp", rel(yj, y), TOL);
    c.check("rosenbrock: _jvp vs hand tangent", rel(dj, dh), TOL);
    c.check("rosenbrock: num-dual vs hand tangent", rel(nd.eps, dh), TOL);
    c.check(
        "rosenbrock: hand tangent vs hand grad . t",
        rel(dh, dot(&gh, t)),
        TOL,
    );

    // MLP
    let (p, tp, xx, yy) = (&inp.mlp_p, &inp.mlp_t, &inp.mlp_x, &inp.mlp_y);
    let y = mlp::mlp_loss(p, xx, yy);
    let (yg, g) = mlp::mlp_loss_grad(p, xx, yy);
    let (yh, gh) = mlp::mlp_loss_grad_hand(p, xx, yy);
    c.check("mlp: value of _grad", rel(yg, y), TOL);
    c.check("mlp: value of hand gradient", rel(yh, y), TOL);
    c.check(
        "mlp: _grad vs hand gradient",
        rel_err(&g.flat(), &gh.flat()),
        TOL,
    );
    let (yj, dj) = mlp::mlp_loss_jvp(p, xx, yy, tp);
    let (_, dh) = mlp::mlp_loss_tangent_hand(p, xx, yy, tp);
    let nd = mlp::mlp_loss_nd(&inp.mlp_nd, xx, yy);
    c.check("mlp: value of _jvp", rel(yj, y), TOL);
    c.check("mlp: _jvp vs hand tangent", rel(dj, dh), TOL);
    c.check("mlp: num-dual vs hand tangent", rel(nd.eps, dh), TOL);
    c.check(
        "mlp: hand tangent vs hand grad . t",
        rel(dh, dot(&gh.flat(), &tp.flat())),
        TOL,
    );

    // GMM
    let d = &inp.gmm;
    let y = gmm::gmm_objective(&d.alphas, &d.means, &d.icf, &d.x, d.gamma, d.m);
    let (yg, g) = gmm::gmm_objective_grad(&d.alphas, &d.means, &d.icf, &d.x, d.gamma, d.m);
    let (yh, gh) = gmm::gmm_grad_hand(&d.alphas, &d.means, &d.icf, &d.x, d.gamma, d.m);
    c.check("gmm: value of _grad", rel(yg, y), TOL);
    c.check("gmm: value of hand gradient", rel(yh, y), TOL);
    c.check(
        "gmm: _grad vs hand gradient",
        rel_err(&gmm_flat(&g), &gmm_flat(&gh)),
        TOL,
    );
    let (yj, dj) = gmm::gmm_objective_jvp(
        &d.alphas,
        &d.means,
        &d.icf,
        &d.x,
        d.gamma,
        d.m,
        &inp.gmm_ta,
        &inp.gmm_tm,
        &inp.gmm_tq,
    );
    let (_, dh) = gmm::gmm_tangent_hand(
        &d.alphas,
        &d.means,
        &d.icf,
        &d.x,
        d.gamma,
        d.m,
        &inp.gmm_ta,
        &inp.gmm_tm,
        &inp.gmm_tq,
    );
    let (na, nm, nq) = &inp.gmm_nd;
    let nd = gmm::gmm_objective_nd(na, nm, nq, &d.x, d.gamma, d.m);
    c.check("gmm: value of _jvp", rel(yj, y), TOL);
    c.check("gmm: _jvp vs hand tangent", rel(dj, dh), TOL);
    c.check("gmm: num-dual vs hand tangent", rel(nd.eps, dh), TOL);
    let tflat = gmm_flat(&(inp.gmm_ta, inp.gmm_tm, inp.gmm_tq));
    c.check(
        "gmm: hand tangent vs hand grad . t",
        rel(dh, dot(&gmm_flat(&gh), &tflat)),
        TOL,
    );
    // central differences on the hand gradient (catches a mistake shared by both)
    {
        let h = 1e-6;
        let mut worst: f64 = 0.0;
        for &(k, j) in &[(0usize, 0usize), (3, 4), (24, 9)] {
            let mut m2 = d.means;
            m2[k][j] += h;
            let fp = gmm::gmm_objective(&d.alphas, &m2, &d.icf, &d.x, d.gamma, d.m);
            m2[k][j] -= 2.0 * h;
            let fm = gmm::gmm_objective(&d.alphas, &m2, &d.icf, &d.x, d.gamma, d.m);
            worst = worst.max(rel((fp - fm) / (2.0 * h), gh.1[k][j]));
        }
        c.check("gmm: hand gradient vs central differences", worst, 1e-5);
    }

    // ODE
    let (pp, s0, tpp, ts0) = (&inp.ode_p, &inp.ode_s0, &inp.ode_tp, &inp.ode_ts0);
    let y = ode::lv_loss(pp, s0, ode::DT);
    let (yg, g) = ode::lv_loss_grad(pp, s0, ode::DT);
    let (yh, gh) = ode::lv_loss_grad_hand(pp, s0, ode::DT);
    let gflat = |g: &([f64; 4], [f64; 2])| [&g.0[..], &g.1[..]].concat();
    c.check("ode: value of _grad", rel(yg, y), TOL);
    c.check("ode: value of hand gradient", rel(yh, y), TOL);
    c.check(
        "ode: _grad vs hand gradient",
        rel_err(&gflat(&g), &gflat(&gh)),
        TOL,
    );
    let (yj, dj) = ode::lv_loss_jvp(pp, s0, ode::DT, tpp, ts0);
    let (_, dh) = ode::lv_loss_tangent_hand(pp, s0, ode::DT, tpp, ts0);
    let nd = ode::lv_loss_nd(&inp.ode_nd.0, &inp.ode_nd.1, ode::DT);
    c.check("ode: value of _jvp", rel(yj, y), TOL);
    c.check("ode: _jvp vs hand tangent", rel(dj, dh), TOL);
    c.check("ode: num-dual vs hand tangent", rel(nd.eps, dh), TOL);
    c.check(
        "ode: hand tangent vs hand grad . t",
        rel(dh, dot(&gflat(&gh), &gflat(&(*tpp, *ts0)))),
        TOL,
    );
    c
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

const ROWS: [&str; 6] = [
    "primal",
    "grad_generated",
    "grad_hand",
    "jvp_generated",
    "tangent_hand",
    "jvp_num_dual",
];

/// One timed function: its row name and a call with black-boxed inputs.
type Timed<'a> = (&'static str, Box<dyn Fn() + 'a>);

/// The four problems' six functions each, in `ROWS` order, shared by criterion and the
/// interleaved pass.
fn problems(inp: &Inputs) -> Vec<(&'static str, Vec<Timed<'_>>)> {
    let (x, t, nd) = (&inp.rb_x[..], &inp.rb_t[..], &inp.rb_nd[..]);
    let rosenbrock: Vec<Timed> = vec![
        (
            "primal",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock(black_box(x)));
            }),
        ),
        (
            "grad_generated",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock_grad(black_box(x)));
            }),
        ),
        (
            "grad_hand",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock_grad_hand(black_box(x)));
            }),
        ),
        (
            "jvp_generated",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock_jvp(black_box(x), black_box(t)).1);
            }),
        ),
        (
            "tangent_hand",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock_tangent_hand(black_box(x), black_box(t)).1);
            }),
        ),
        (
            "jvp_num_dual",
            Box::new(move || {
                let _ = black_box(rb::rosenbrock_nd(black_box(nd)).eps);
            }),
        ),
    ];
    let (p, mt, mx, my, mnd) = (&inp.mlp_p, &inp.mlp_t, &inp.mlp_x, &inp.mlp_y, &inp.mlp_nd);
    let mlp: Vec<Timed> = vec![
        (
            "primal",
            Box::new(move || {
                let _ = black_box(mlp::mlp_loss(black_box(p), black_box(mx), black_box(my)));
            }),
        ),
        (
            "grad_generated",
            Box::new(move || {
                let _ = black_box(mlp::mlp_loss_grad(
                    black_box(p),
                    black_box(mx),
                    black_box(my),
                ));
            }),
        ),
        (
            "grad_hand",
            Box::new(move || {
                let _ = black_box(mlp::mlp_loss_grad_hand(
                    black_box(p),
                    black_box(mx),
                    black_box(my),
                ));
            }),
        ),
        (
            "jvp_generated",
            Box::new(move || {
                let _ = black_box(
                    mlp::mlp_loss_jvp(black_box(p), black_box(mx), black_box(my), black_box(mt)).1,
                );
            }),
        ),
        (
            "tangent_hand",
            Box::new(move || {
                let _ = black_box(
                    mlp::mlp_loss_tangent_hand(
                        black_box(p),
                        black_box(mx),
                        black_box(my),
                        black_box(mt),
                    )
                    .1,
                );
            }),
        ),
        (
            "jvp_num_dual",
            Box::new(move || {
                let _ =
                    black_box(mlp::mlp_loss_nd(black_box(mnd), black_box(mx), black_box(my)).eps);
            }),
        ),
    ];
    let d = &inp.gmm;
    let (a, m, q, gx) = (&d.alphas, &d.means, &d.icf, &d.x[..]);
    let (ga, gm) = (d.gamma, d.m);
    let (ta, tm, tq) = (&inp.gmm_ta, &inp.gmm_tm, &inp.gmm_tq);
    let (na, nm, nq) = &inp.gmm_nd;
    let gmm: Vec<Timed> = vec![
        (
            "primal",
            Box::new(move || {
                let _ = black_box(gmm::gmm_objective(
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
            "grad_generated",
            Box::new(move || {
                let _ = black_box(gmm::gmm_objective_grad(
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
            "grad_hand",
            Box::new(move || {
                let _ = black_box(gmm::gmm_grad_hand(
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
            "jvp_generated",
            Box::new(move || {
                let _ = black_box(
                    gmm::gmm_objective_jvp(
                        black_box(a),
                        black_box(m),
                        black_box(q),
                        black_box(gx),
                        ga,
                        gm,
                        black_box(ta),
                        black_box(tm),
                        black_box(tq),
                    )
                    .1,
                );
            }),
        ),
        (
            "tangent_hand",
            Box::new(move || {
                let _ = black_box(
                    gmm::gmm_tangent_hand(
                        black_box(a),
                        black_box(m),
                        black_box(q),
                        black_box(gx),
                        ga,
                        gm,
                        black_box(ta),
                        black_box(tm),
                        black_box(tq),
                    )
                    .1,
                );
            }),
        ),
        (
            "jvp_num_dual",
            Box::new(move || {
                let _ = black_box(
                    gmm::gmm_objective_nd(
                        black_box(na),
                        black_box(nm),
                        black_box(nq),
                        black_box(gx),
                        ga,
                        gm,
                    )
                    .eps,
                );
            }),
        ),
    ];
    let (op, s0, tp, ts0) = (&inp.ode_p, &inp.ode_s0, &inp.ode_tp, &inp.ode_ts0);
    let (np, ns) = &inp.ode_nd;
    let dt = ode::DT;
    let ode: Vec<Timed> = vec![
        (
            "primal",
            Box::new(move || {
                let _ = black_box(ode::lv_loss(black_box(op), black_box(s0), dt));
            }),
        ),
        (
            "grad_generated",
            Box::new(move || {
                let _ = black_box(ode::lv_loss_grad(black_box(op), black_box(s0), dt));
            }),
        ),
        (
            "grad_hand",
            Box::new(move || {
                let _ = black_box(ode::lv_loss_grad_hand(black_box(op), black_box(s0), dt));
            }),
        ),
        (
            "jvp_generated",
            Box::new(move || {
                let _ = black_box(
                    ode::lv_loss_jvp(
                        black_box(op),
                        black_box(s0),
                        dt,
                        black_box(tp),
                        black_box(ts0),
                    )
                    .1,
                );
            }),
        ),
        (
            "tangent_hand",
            Box::new(move || {
                let _ = black_box(
                    ode::lv_loss_tangent_hand(
                        black_box(op),
                        black_box(s0),
                        dt,
                        black_box(tp),
                        black_box(ts0),
                    )
                    .1,
                );
            }),
        ),
        (
            "jvp_num_dual",
            Box::new(move || {
                let _ = black_box(ode::lv_loss_nd(black_box(np), black_box(ns), dt).eps);
            }),
        ),
    ];
    vec![
        ("rosenbrock", rosenbrock),
        ("mlp", mlp),
        ("gmm", gmm),
        ("ode", ode),
    ]
}

fn bench_all(c: &mut Criterion, inp: &Inputs) {
    for (group, fns) in problems(inp) {
        let mut g = c.benchmark_group(group);
        for (name, f) in &fns {
            g.bench_function(*name, |b| b.iter(f));
        }
        g.finish();
    }
}

/// Best-of timings with the six functions of a problem interleaved round by round, so that
/// load from other processes falls on all of them alike (the machine is shared): per function
/// the fastest of `rounds` rounds, each round a batch of calls of about a millisecond.
fn interleaved(inp: &Inputs, rounds: usize) {
    println!("\n## interleaved best-of ({rounds} rounds)\n");
    println!(
        "| problem | grad gen / hand | grad gen / primal | grad hand / primal | jvp gen / hand tangent | jvp gen / num-dual | primal | grad gen | grad hand |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (group, fns) in problems(inp) {
        // Calls per batch, from one timed call each.
        let reps: Vec<u32> = fns
            .iter()
            .map(|(_, f)| {
                let t = std::time::Instant::now();
                f();
                let ns = t.elapsed().as_nanos().max(1) as f64;
                (1e6 / ns).clamp(1.0, 10_000.0) as u32
            })
            .collect();
        let mut best = vec![f64::INFINITY; fns.len()];
        for _ in 0..rounds {
            for (k, (_, f)) in fns.iter().enumerate() {
                let t = std::time::Instant::now();
                for _ in 0..reps[k] {
                    f();
                }
                let ns = t.elapsed().as_nanos() as f64 / reps[k] as f64;
                best[k] = best[k].min(ns);
            }
        }
        let r = |a: usize, b: usize| format!("{:.2}", best[a] / best[b]);
        println!(
            "| {group} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r(1, 2),
            r(1, 0),
            r(2, 0),
            r(3, 4),
            r(3, 5),
            fmt_ns(best[0]),
            fmt_ns(best[1]),
            fmt_ns(best[2]),
        );
    }
}

/// The median of one benchmark, read back from criterion's estimates.json (in ns).
fn median_ns(dir: &PathBuf, group: &str, id: &str) -> Option<f64> {
    let s = std::fs::read_to_string(dir.join(group).join(id).join("new/estimates.json")).ok()?;
    let at = s.find("\"median\"")?;
    let rest = &s[at..];
    let pe = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let rest = &rest[pe..];
    let end = rest.find([',', '}'])?;
    rest[..end].trim().parse().ok()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.1} ns", ns)
    }
}

fn summary(dir: &PathBuf) {
    println!("\n## medians (ns)\n");
    println!("| problem | {} |", ROWS.join(" | "));
    println!("|---|{}", "---|".repeat(ROWS.len()));
    let mut ratios = Vec::new();
    for group in ["rosenbrock", "mlp", "gmm", "ode"] {
        let m: Vec<Option<f64>> = ROWS.iter().map(|r| median_ns(dir, group, r)).collect();
        let cells: Vec<String> = m
            .iter()
            .map(|v| v.map_or("-".to_string(), fmt_ns))
            .collect();
        println!("| {group} | {} |", cells.join(" | "));
        ratios.push((group, m));
    }
    println!("\n## ratios of medians\n");
    println!(
        "| problem | grad gen / hand (<= 1.10) | grad gen / primal (<= 3) | grad hand / primal | jvp gen / hand tangent (<= 1.05) | jvp gen / num-dual (< 1) | jvp gen / primal |"
    );
    println!("|---|---|---|---|---|---|---|");
    let r = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", a / b),
        _ => "-".into(),
    };
    for (group, m) in ratios {
        println!(
            "| {group} | {} | {} | {} | {} | {} | {} |",
            r(m[1], m[2]),
            r(m[1], m[0]),
            r(m[2], m[0]),
            r(m[3], m[4]),
            r(m[3], m[5]),
            r(m[3], m[0]),
        );
    }
}

fn main() {
    let inp = inputs();
    let checks = verify(&inp);
    println!("checks: {} passed, {} failed", checks.passed, checks.failed);
    if checks.failed > 0 {
        std::process::exit(1);
    }
    let dir = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| PathBuf::from("target/criterion"));
    let mut c = Criterion::default()
        .output_directory(&dir)
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .without_plots()
        .configure_from_args();
    bench_all(&mut c, &inp);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") && !std::env::args().any(|a| a == "--test") {
        summary(&dir);
        interleaved(&inp, 200);
    }
}
