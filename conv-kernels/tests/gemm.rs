//! GEMM against a naive triple loop, for every kernel available on this CPU.
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

use autodiff_core::{Differentiable, Dual};
use conv_kernels::Scalar;
use conv_kernels::gemm::{
    Kernel, MatMut, MatRef, Transpose, gemm, gemm_into, gemm_into_par, gemm_into_with, gemm_jvp,
    gemm_nt, gemm_slices, gemm_tn, gemm_vjp,
};
use conv_kernels::tensor::Mat;

/// A deterministic pseudo-random sequence in [-1, 1).
fn noise(seed: u64, len: usize) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// `alpha op(A) op(B) + beta C` by the definition, in f64, with `op` given by the strides.
#[allow(clippy::too_many_arguments)]
fn naive(
    m: usize,
    k: usize,
    n: usize,
    alpha: f64,
    a: &[f64],
    (ars, acs): (usize, usize),
    b: &[f64],
    (brs, bcs): (usize, usize),
    beta: f64,
    c: &[f64],
    (crs, ccs): (usize, usize),
) -> Vec<f64> {
    let mut out = c.to_vec();
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                s += a[i * ars + p * acs] * b[p * brs + j * bcs];
            }
            let c_ij = if beta == 0.0 {
                0.0
            } else {
                beta * c[i * crs + j * ccs]
            };
            out[i * crs + j * ccs] = alpha * s + c_ij;
        }
    }
    out
}

/// Strides of op(X) for an `rows x cols` op(X) stored row-major as itself or transposed.
fn strides(trans: Transpose, rows: usize, cols: usize) -> (usize, usize) {
    match trans {
        Transpose::No => (cols, 1),
        Transpose::Yes => (1, rows),
    }
}

/// Checks one product with one kernel. C is transposed in memory when `c_col_major`.
#[allow(clippy::too_many_arguments)]
fn check<F: Scalar>(
    kernel: Kernel,
    (m, k, n): (usize, usize, usize),
    ta: Transpose,
    tb: Transpose,
    alpha: f64,
    beta: f64,
    c_col_major: bool,
    eps: f64,
) {
    let a_strides = strides(ta, m, k);
    let b_strides = strides(tb, k, n);
    let a64 = noise(1 + (m * 31 + k) as u64, m * k);
    let b64 = noise(2 + (k * 17 + n) as u64, k * n);
    let c64: Vec<f64> = if beta == 0.0 {
        vec![f64::NAN; m * n]
    } else {
        noise(3 + (m * 7 + n) as u64, m * n)
    };
    let c_strides = if c_col_major { (1, m) } else { (n, 1) };
    let expected = naive(
        m, k, n, alpha, &a64, a_strides, &b64, b_strides, beta, &c64, c_strides,
    );

    let conv = |v: &[f64]| v.iter().map(|&x| F::from(x).unwrap()).collect::<Vec<F>>();
    let (a, b, mut c) = (conv(&a64), conv(&b64), conv(&c64));
    let a_view = MatRef::new(&a, m, k, a_strides.0, a_strides.1);
    let b_view = MatRef::new(&b, k, n, b_strides.0, b_strides.1);
    let c_view = MatMut::new(&mut c, m, n, c_strides.0, c_strides.1);
    gemm_into_with(
        kernel,
        F::from(alpha).unwrap(),
        a_view,
        b_view,
        F::from(beta).unwrap(),
        c_view,
    );

    for (idx, (got, want)) in c.iter().zip(&expected).enumerate() {
        let got = got.to_f64().unwrap();
        let tol = eps * (k as f64 + 1.0) * (alpha.abs() + beta.abs() + 1.0);
        assert!(
            (got - want).abs() <= tol,
            "{} kernel {kernel:?} ({}) m={m} k={k} n={n} {ta:?} {tb:?} alpha={alpha} beta={beta} \
             c_col_major={c_col_major}: C[{idx}] = {got}, expected {want}",
            core::any::type_name::<F>(),
            kernel.name::<F>(),
        );
    }
}

const SIZES: [usize; 7] = [1, 7, 13, 16, 65, 129, 257];

/// Every kernel for `F`, on odd shapes with M != K != N, every transposition, several
/// alpha/beta (beta = 0 with C full of NaN), row- and column-major C.
fn every_kernel<F: Scalar>(eps: f64, blocking_boundaries: bool) {
    let kernels = Kernel::available::<F>();
    assert!(kernels.contains(&Kernel::Portable));
    // Shown with `cargo test -- --nocapture`: which kernels this CPU ran.
    let names: Vec<&str> = kernels.iter().map(|k| k.name::<F>()).collect();
    println!(
        "{}: kernels run: {}",
        core::any::type_name::<F>(),
        names.join(", ")
    );
    let mut shapes = vec![];
    for (i, &m) in SIZES.iter().enumerate() {
        let k = SIZES[(i + 3) % SIZES.len()];
        let n = SIZES[(i + 5) % SIZES.len()];
        shapes.push((m, k, n));
    }
    // Across every blocking boundary: k > KC, m > MC, n > NC.
    if blocking_boundaries {
        shapes.extend([
            (2, 600, 3),
            (300, 20, 33),
            (3, 9, 4200),
            (150, 300, 70),
            (64, 64, 64),
        ]);
        // The convolution's products: the forward `O x L` product reads B in place (few rows
        // of C), and `dW = dY colsᵀ` (A and Bᵀ contiguous along a long k) goes to the
        // dot-product kernel, tails of k included.
        shapes.extend([
            (6, 75, 784),
            (16, 150, 100),
            (6, 784, 75),
            (16, 100, 150),
            (23, 37, 5),
        ]);
    }
    let scalings = [(1.0, 0.0), (2.5, -0.5), (-1.0, 1.0), (0.0, 2.0), (0.5, 0.0)];
    for &kernel in &kernels {
        for &shape in &shapes {
            for ta in [Transpose::No, Transpose::Yes] {
                for tb in [Transpose::No, Transpose::Yes] {
                    // Every scaling on the small shapes, two on the large ones (debug builds
                    // run the naive loop slowly).
                    let small = shape.0 * shape.1 * shape.2 <= 50_000;
                    for &(alpha, beta) in &scalings[..if small { scalings.len() } else { 2 }] {
                        check::<F>(kernel, shape, ta, tb, alpha, beta, false, eps);
                    }
                    check::<F>(kernel, shape, ta, tb, 1.5, 0.0, true, eps);
                    check::<F>(kernel, shape, ta, tb, 1.5, -2.0, true, eps);
                }
            }
        }
    }
}

#[test]
fn every_f32_kernel_matches_the_naive_loop() {
    every_kernel::<f32>(4e-6, true);
}

#[test]
fn every_f64_kernel_matches_the_naive_loop() {
    every_kernel::<f64>(1e-14, true);
}

#[test]
fn dual_numbers_go_through_the_generic_kernel() {
    // The portable kernel's blocking is covered by the f32/f64 runs.
    every_kernel::<Dual<f64>>(1e-14, false);
    // The tangents are multiplied too: d/dt (A(t) B) = A' B.
    let a: Vec<Dual<f64>> = (0..6).map(|i| Dual::new(i as f64, 1.0)).collect();
    let b: Vec<Dual<f64>> = (0..6).map(|i| Dual::new(1.0 + i as f64, 0.0)).collect();
    let mut c = vec![Dual::new(0.0, 0.0); 4];
    let (av, bv) = (MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 3, 2));
    gemm_into(
        Dual::new(1.0, 0.0),
        av,
        bv,
        Dual::new(0.0, 0.0),
        MatMut::row_major(&mut c, 2, 2),
    );
    // Row sums of B: 1+3+5 = 9 and 2+4+6 = 12.
    assert_eq!(c[0].tangent(), 9.0);
    assert_eq!(c[3].tangent(), 12.0);
    assert_eq!(c[3].value(), 3.0 * 2.0 + 4.0 * 4.0 + 5.0 * 6.0);
}

#[test]
fn slices_with_leading_dimensions_and_the_parallel_path() {
    let (m, k, n) = (70, 90, 110);
    let (lda, ldb, ldc) = (k + 3, n + 5, n + 2);
    let a = noise(9, m * lda);
    let b = noise(10, k * ldb);
    let c0 = noise(11, m * ldc);
    let mut c = c0.clone();
    gemm_slices(
        Transpose::No,
        Transpose::No,
        m,
        n,
        k,
        0.5,
        &a,
        lda,
        &b,
        ldb,
        2.0,
        &mut c,
        ldc,
    );
    let want = naive(m, k, n, 0.5, &a, (lda, 1), &b, (ldb, 1), 2.0, &c0, (ldc, 1));
    for i in 0..m {
        for j in 0..n {
            assert!((c[i * ldc + j] - want[i * ldc + j]).abs() < 1e-12);
        }
        // Padding between rows is untouched.
        for j in n..ldc.min(c.len() - i * ldc) {
            assert_eq!(c[i * ldc + j], c0[i * ldc + j]);
        }
    }

    let (m, k, n) = (300, 200, 100);
    let a = noise(12, m * k);
    let b = noise(13, k * n);
    let want = naive(
        m,
        k,
        n,
        1.0,
        &a,
        (k, 1),
        &b,
        (n, 1),
        0.0,
        &vec![0.0; m * n],
        (n, 1),
    );
    for col_major in [false, true] {
        let mut c = vec![f64::NAN; m * n];
        let cv = if col_major {
            MatMut::new(&mut c, m, n, 1, m)
        } else {
            MatMut::row_major(&mut c, m, n)
        };
        gemm_into_par(
            1.0,
            MatRef::row_major(&a, m, k),
            MatRef::row_major(&b, k, n),
            0.0,
            cv,
        );
        for i in 0..m {
            for j in 0..n {
                let got = if col_major {
                    c[i + j * m]
                } else {
                    c[i * n + j]
                };
                assert!((got - want[i * n + j]).abs() < 1e-12);
            }
        }
    }
}

#[test]
fn const_shaped_products_and_transposes() {
    let a: Mat<f64, 5, 3> = Mat::from_flat(&noise(20, 15));
    let b: Mat<f64, 3, 4> = Mat::from_flat(&noise(21, 12));
    let c = gemm(&a, &b);
    let at: Mat<f64, 3, 5> = Mat::from_matrix_fn(|r, col| a[col][r]);
    let bt: Mat<f64, 4, 3> = Mat::from_matrix_fn(|r, col| b[col][r]);
    let c_tn = gemm_tn(&at, &b);
    let c_nt = gemm_nt(&a, &bt);
    for i in 0..5 {
        for j in 0..4 {
            let want: f64 = (0..3).map(|p| a[i][p] * b[p][j]).sum();
            assert!((c[i][j] - want).abs() < 1e-14);
            assert!((c_tn[i][j] - want).abs() < 1e-14);
            assert!((c_nt[i][j] - want).abs() < 1e-14);
        }
    }
}

/// Sizes for the derivative tests: odd, and past the 6-row tile.
const M: usize = 7;
const K: usize = 9;
const N: usize = 5;

fn random_mat<const R: usize, const C: usize>(seed: u64) -> Mat<f64, R, C> {
    Mat::from_flat(&noise(seed, R * C))
}

#[test]
fn gemm_jvp_matches_finite_differences() {
    let (a, b): (Mat<f64, M, K>, Mat<f64, K, N>) = (random_mat(30), random_mat(31));
    let (ta, tb): (Mat<f64, M, K>, Mat<f64, K, N>) = (random_mat(32), random_mat(33));
    let (c, dc) = gemm_jvp(&a, &b, &ta, &tb);
    assert_eq!(c, gemm(&a, &b));
    // Central differences are exact up to rounding for a bilinear map: the second-order
    // term is h² ta tb, and cancels between +h and -h.
    let h = 1e-3;
    let shift = |x: &Mat<f64, M, K>, t: &Mat<f64, M, K>, s: f64| {
        let mut y = x.clone();
        y.axpy(s, t);
        y
    };
    let shift_b = |x: &Mat<f64, K, N>, t: &Mat<f64, K, N>, s: f64| {
        let mut y = x.clone();
        y.axpy(s, t);
        y
    };
    let plus = gemm(&shift(&a, &ta, h), &shift_b(&b, &tb, h));
    let minus = gemm(&shift(&a, &ta, -h), &shift_b(&b, &tb, -h));
    for i in 0..M {
        for j in 0..N {
            let fd = (plus[i][j] - minus[i][j]) / (2.0 * h);
            assert!(
                (fd - dc[i][j]).abs() < 1e-10,
                "({i}, {j}): {fd} vs {}",
                dc[i][j]
            );
        }
    }
}

#[test]
fn gemm_vjp_passes_the_dot_product_test() {
    let (a, b): (Mat<f64, M, K>, Mat<f64, K, N>) = (random_mat(40), random_mat(41));
    let (ta, tb): (Mat<f64, M, K>, Mat<f64, K, N>) = (random_mat(42), random_mat(43));
    let ct: Mat<f64, M, N> = random_mat(44);
    let (c, pullback) = gemm_vjp(&a, &b);
    assert_eq!(c, gemm(&a, &b));
    let (da, db) = pullback(ct.clone());
    // <ct, J (ta, tb)> == <(da, db), (ta, tb)>
    let (_, dc) = gemm_jvp(&a, &b, &ta, &tb);
    let lhs = ct.dot(&dc);
    let rhs = da.dot(&ta) + db.dot(&tb);
    assert!(
        (lhs - rhs).abs() < 1e-12 * lhs.abs().max(1.0),
        "{lhs} vs {rhs}"
    );
    // And the pullback against finite differences of the scalar <ct, A B>.
    let h = 1e-4;
    for (i, p) in [(0, 0), (3, 4), (6, 8)] {
        let mut ap = a.clone();
        ap[i][p] += h;
        let mut am = a.clone();
        am[i][p] -= h;
        let fd = (ct.dot(&gemm(&ap, &b)) - ct.dot(&gemm(&am, &b))) / (2.0 * h);
        assert!((fd - da[i][p]).abs() < 1e-9);
    }
    for (p, j) in [(0, 0), (4, 2), (8, 4)] {
        let mut bp = b.clone();
        bp[p][j] += h;
        let mut bm = b.clone();
        bm[p][j] -= h;
        let fd = (ct.dot(&gemm(&a, &bp)) - ct.dot(&gemm(&a, &bm))) / (2.0 * h);
        assert!((fd - db[p][j]).abs() < 1e-9);
    }
}
