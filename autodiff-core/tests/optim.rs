//! The optimizers of `autodiff_core::optim` and the initialisers of `autodiff_core::init`.
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

use autodiff_core::Differentiable;
use autodiff_core::init::{Rng, fill_normal, fill_uniform, he_normal, xavier_uniform};
use autodiff_core::optim::{Adam, Momentum, Optimizer, Sgd};

/// An ill-conditioned quadratic `Σ a_i (p_i - c_i)² / 2`.
const A: [f64; 3] = [1.0, 10.0, 0.1];
const C: [f64; 3] = [0.3, 0.2, -0.4];
const P0: [f64; 3] = [1.0, -2.0, 0.5];

fn grad(p: &[f64; 3]) -> [f64; 3] {
    core::array::from_fn(|i| A[i] * (p[i] - C[i]))
}

fn run(opt: &mut impl Optimizer<[f64; 3]>, steps: usize) -> [f64; 3] {
    let mut p = P0;
    for _ in 0..steps {
        let g = grad(&p);
        opt.step(&mut p, &g);
    }
    p
}

#[track_caller]
fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
    }
}

#[test]
fn every_optimizer_minimises_a_quadratic() {
    // the step must be below 2 / max(a) = 0.2 for SGD to converge
    assert_close(&run(&mut Sgd { lr: 0.15 }, 2000), &C, 1e-8);
    assert_close(&run(&mut Momentum::new(0.02, 0.9), 2000), &C, 1e-8);
    assert_close(&run(&mut Adam::new(0.01), 5000), &C, 1e-3);
}

#[test]
fn sgd_is_one_axpy() {
    let mut p = P0;
    Sgd::new(0.5).step(&mut p, &[1.0, 2.0, 3.0]);
    assert_eq!(p, [0.5, -3.0, -1.0]);
}

// PyTorch 2.x, float64:
//
//     import torch
//     a = torch.tensor([1.0, 10.0, 0.1], dtype=torch.float64)
//     c = torch.tensor([0.3, 0.2, -0.4], dtype=torch.float64)
//     for name, make in [("MOMENTUM", lambda p: torch.optim.SGD([p], lr=0.05, momentum=0.9)),
//                        ("ADAM", lambda p: torch.optim.Adam([p], lr=0.1))]:
//         p = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
//         opt = make(p)
//         for _ in range(5):
//             opt.zero_grad()
//             loss = (a * (p - c) ** 2).sum() / 2
//             loss.backward()
//             opt.step()
//         print(name, "=", [float(v) for v in p.detach()])
const TORCH_MOMENTUM: [f64; 3] = [0.59200915625, 1.3479599999999998, 0.44154630308468745];
const TORCH_ADAM: [f64; 3] = [
    0.5145516461035899,
    -1.5026137322160815,
    0.009439704085622988,
];

#[test]
fn momentum_and_adam_match_pytorch() {
    assert_close(
        &run(&mut Momentum::new(0.05, 0.9), 5),
        &TORCH_MOMENTUM,
        1e-14,
    );
    assert_close(&run(&mut Adam::new(0.1), 5), &TORCH_ADAM, 1e-14);
}

#[test]
fn momentum_keeps_a_velocity() {
    let mut opt = Momentum::new(1.0, 0.5);
    assert!(opt.velocity().is_none());
    let mut p = [0.0_f64];
    opt.step(&mut p, &[1.0]);
    opt.step(&mut p, &[1.0]);
    assert_eq!(opt.velocity(), Some(&[1.5]));
    assert_eq!(p, [-2.5]);
    opt.reset();
    assert!(opt.velocity().is_none());
}

#[test]
fn adams_first_step_is_lr_times_the_sign_of_the_gradient() {
    for scale in [1e-6, 1e-3, 1.0, 1e3, 1e6] {
        let mut p = [0.0_f64; 4];
        let g = [scale, -scale, 3.0 * scale, -0.5 * scale];
        let mut opt = Adam::new(0.01);
        opt.step(&mut p, &g);
        assert_eq!(opt.steps(), 1);
        // eps = 1e-8 perturbs the ratio by eps / |g|
        let tol = 0.01 * 1e-8 / (0.5 * scale) + 1e-15;
        assert_close(&p, &[-0.01, 0.01, -0.01, 0.01], tol);
    }
}

#[test]
fn adam_has_bias_correction() {
    // a constant gradient: the corrected moments are exactly g and g², so every step is lr
    let mut p = [0.0_f64];
    let mut opt = Adam::with(0.1, 0.9, 0.999, 0.0);
    for k in 1..=10 {
        opt.step(&mut p, &[2.0]);
        assert!((p[0] + 0.1 * k as f64).abs() < 1e-12, "step {k}: {}", p[0]);
    }
}

/// A parameter value shaped like a small network: a tuple of a matrix, a vector and a
/// heap-allocated array.
type Net = ([[f32; 3]; 2], Vec<f32>, Box<[f32; 4]>);

fn net_grad(p: &Net) -> Net {
    // the gradient of |p|² / 2 is p itself
    (p.0, p.1.clone(), p.2.clone())
}

#[test]
fn optimizers_work_over_any_differentiable_value() {
    let start: Net = (
        [[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]],
        vec![4.0, -4.0],
        Box::new([1.0, 2.0, 3.0, 4.0]),
    );
    let norm = |p: &Net| p.dot(p);
    let mut opts: Vec<Box<dyn Optimizer<Net>>> = vec![
        Box::new(Sgd { lr: 0.1_f32 }),
        Box::new(Momentum::new(0.05, 0.9)),
        Box::new(Adam::new(0.05_f32)),
    ];
    for opt in opts.iter_mut() {
        let mut p = (start.0, start.1.clone(), start.2.clone());
        for _ in 0..300 {
            let g = net_grad(&p);
            opt.step(&mut p, &g);
        }
        assert!(norm(&p) < 1e-3 * norm(&start), "|p|² = {}", norm(&p));
    }
}

#[test]
#[should_panic(expected = "leaves")]
fn adam_rejects_a_gradient_of_another_shape() {
    let mut opt = Adam::new(0.1_f64);
    let mut p = vec![0.0; 3];
    opt.step(&mut p, &vec![1.0; 3]);
    let mut q = vec![0.0; 4];
    opt.step(&mut q, &vec![1.0; 4]);
}

// ---------------------------------------------------------------------------------------------
// init
// ---------------------------------------------------------------------------------------------

#[test]
fn same_seed_same_numbers() {
    let draw = |seed| {
        let mut rng = Rng::seed(seed);
        let mut w = ([[0.0_f64; 5]; 3], vec![0.0_f64; 7]);
        he_normal(&mut w, 15, &mut rng);
        let u: Vec<f64> = (0..5).map(|_| rng.uniform()).collect();
        let mut order: Vec<usize> = (0..20).collect();
        rng.shuffle(&mut order);
        (w, u, order)
    };
    assert_eq!(draw(42), draw(42));
    assert_ne!(draw(42).0, draw(43).0);
    assert_ne!(draw(42).2, draw(43).2);
    // the sequence is fixed across platforms and releases: xoshiro256** seeded by SplitMix64
    let mut rng = Rng::seed(0);
    let first: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
    assert_eq!(first, XOSHIRO_SEED_0);
}

/// The first outputs of xoshiro256** whose state is the first four outputs of SplitMix64 from
/// 0, computed with the reference C code of Blackman and Vigna (`splitmix64.c`,
/// `xoshiro256starstar.c`): `x = 0; for (i = 0; i < 4; i++) s[i] = splitmix_next();` then
/// `printf("0x%016llX\n", next())` three times.
const XOSHIRO_SEED_0: [u64; 3] = [
    0x99EC_5F36_CB75_F2B4,
    0xBF6E_1F78_4956_452A,
    0x1A5F_849D_4933_E6E0,
];

#[test]
fn normal_and_uniform_have_the_right_moments() {
    let mut rng = Rng::seed(123);
    let n = 200_000;
    let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
    for _ in 0..n {
        let z = rng.normal();
        s1 += z;
        s2 += z * z;
        s4 += z * z * z * z;
    }
    let n_f = n as f64;
    assert!((s1 / n_f).abs() < 0.01);
    assert!((s2 / n_f - 1.0).abs() < 0.01);
    assert!((s4 / n_f - 3.0).abs() < 0.06); // kurtosis of a normal
    let mean_u = (0..n).map(|_| rng.uniform()).sum::<f64>() / n_f;
    assert!((mean_u - 0.5).abs() < 0.005);
    let counts = (0..30_000).fold([0usize; 3], |mut c, _| {
        c[rng.below(3)] += 1;
        c
    });
    assert!(
        counts.iter().all(|&c| (9_500..10_500).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn he_and_xavier_scales() {
    let mut rng = Rng::seed(7);
    let mut w = vec![0.0_f64; 100_000];
    he_normal(&mut w, 50, &mut rng);
    let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
    assert!((var / (2.0 / 50.0) - 1.0).abs() < 0.02, "variance {var}");

    xavier_uniform(&mut w, 30, 70, &mut rng);
    let a = (6.0_f64 / 100.0).sqrt();
    assert!(w.iter().all(|x| x.abs() <= a));
    let var = w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64;
    assert!((var / (2.0 / 100.0) - 1.0).abs() < 0.02, "variance {var}");

    let mut p = ([0.0_f32; 3], [[0.0_f32; 2]; 2]);
    fill_uniform(&mut p, 1.0, 2.0, &mut rng);
    assert!(
        p.0.iter()
            .chain(p.1.iter().flatten())
            .all(|&x| (1.0..2.0).contains(&x))
    );
    fill_normal(&mut p, -3.0, 0.0, &mut rng);
    assert_eq!(p, ([-3.0; 3], [[-3.0; 2]; 2]));
}
