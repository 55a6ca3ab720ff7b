//! Shared oracles for the integration tests: central finite differences, the dot-product test
//! `<J t, c> == <t, J^T c>`, and a tiny deterministic random generator (no extra dependency).
#![allow(dead_code)]

/// A deterministic xorshift generator of numbers in [-1, 1).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
    pub fn vec(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.next()).collect()
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "dot of vectors of different lengths");
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(x: &[f64], h: f64, t: &[f64]) -> Vec<f64> {
    x.iter().zip(t).map(|(a, b)| a + h * b).collect()
}

/// Central finite difference of `f` at `x` along `t`.
pub fn fd_dir(f: &dyn Fn(&[f64]) -> Vec<f64>, x: &[f64], t: &[f64], h: f64) -> Vec<f64> {
    let p = f(&axpy(x, h, t));
    let m = f(&axpy(x, -h, t));
    p.iter().zip(&m).map(|(a, b)| (a - b) / (2.0 * h)).collect()
}

pub fn close(a: f64, b: f64, rel: f64, abs: f64) -> bool {
    (a - b).abs() <= abs + rel * a.abs().max(b.abs())
}

pub fn assert_close_vec(what: &str, got: &[f64], want: &[f64], rel: f64, abs: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            close(*g, *w, rel, abs),
            "{what}: component {i}: got {g}, want {w}\n got  {got:?}\n want {want:?}"
        );
    }
}

/// The full check of one function `R^n -> R^m` flattened to vectors:
/// - the primal values of `f`, `jvp` and `vjp` agree exactly;
/// - `jvp` along random directions matches central finite differences;
/// - the dot-product test `<J t, c> == <t, J^T c>` to 1e-12 (relative);
/// - the Jacobian built column by column with `jvp` equals the one built row by row with `vjp`.
///
/// `jvp(x, t) -> (y, J t)`, `vjp(x, c) -> (y, J^T c)`.
pub fn check_fn(
    name: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> Vec<f64>,
    jvp: &dyn Fn(&[f64], &[f64]) -> Pair,
    vjp: &dyn Fn(&[f64], &[f64]) -> Pair,
) {
    check_fn_tol(name, x, f, jvp, vjp, 1e-6, 1e-7)
}

pub fn check_fn_tol(
    name: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> Vec<f64>,
    jvp: &dyn Fn(&[f64], &[f64]) -> Pair,
    vjp: &dyn Fn(&[f64], &[f64]) -> Pair,
    fd_rel: f64,
    fd_abs: f64,
) {
    let n = x.len();
    let y = f(x);
    let m = y.len();
    let mut rng = Rng::new(n as u64 * 7919 + m as u64 + name.len() as u64);
    for trial in 0..3 {
        let t = rng.vec(n);
        let c = rng.vec(m);
        let (yj, jt) = jvp(x, &t);
        let (yv, jtc) = vjp(x, &c);
        assert_eq!(
            yj, y,
            "{name}: the value of _jvp differs from the function's"
        );
        assert_eq!(
            yv, y,
            "{name}: the value of _vjp differs from the function's"
        );
        assert_eq!(jt.len(), m, "{name}: tangent has the wrong length");
        assert_eq!(jtc.len(), n, "{name}: adjoint has the wrong length");
        let fd = fd_dir(f, x, &t, 1e-6);
        assert_close_vec(
            &format!("{name}: jvp vs finite differences (trial {trial})"),
            &jt,
            &fd,
            fd_rel,
            fd_abs,
        );
        let lhs = dot(&jt, &c);
        let rhs = dot(&t, &jtc);
        let scale = jt.iter().zip(&c).map(|(a, b)| (a * b).abs()).sum::<f64>()
            + t.iter().zip(&jtc).map(|(a, b)| (a * b).abs()).sum::<f64>();
        assert!(
            (lhs - rhs).abs() <= 1e-12 * scale.max(1e-300),
            "{name}: dot-product test fails (trial {trial}): <J t, c> = {lhs}, <t, J^T c> = {rhs}"
        );
    }
    // Full Jacobians, both ways.
    let mut jac_f = vec![vec![0.0; n]; m];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let (_, col) = jvp(x, &e);
        for i in 0..m {
            jac_f[i][j] = col[i];
        }
    }
    for i in 0..m {
        let mut e = vec![0.0; m];
        e[i] = 1.0;
        let (_, row) = vjp(x, &e);
        assert_close_vec(
            &format!("{name}: row {i} of the Jacobian, vjp vs jvp"),
            &row,
            &jac_f[i],
            1e-12,
            1e-14,
        );
    }
}

/// The same for a scalar function given with its `_grad`: also checks `grad == vjp(1)`.
pub fn check_grad(
    name: &str,
    x: &[f64],
    f: &dyn Fn(&[f64]) -> f64,
    grad: &dyn Fn(&[f64]) -> ValueGrad,
) {
    let y = f(x);
    let (yg, g) = grad(x);
    assert_eq!(
        yg, y,
        "{name}: the value of _grad differs from the function's"
    );
    let mut rng = Rng::new(99 + x.len() as u64);
    for trial in 0..3 {
        let t = rng.vec(x.len());
        let fd = fd_dir(&|x| vec![f(x)], x, &t, 1e-6)[0];
        let gt = dot(&g, &t);
        assert!(
            close(gt, fd, 1e-6, 1e-7),
            "{name}: <grad, t> = {gt} but finite differences give {fd} (trial {trial}); grad = {g:?}"
        );
    }
}

/// Two vectors (a value and a tangent, or a value and adjoints).
pub type Pair = (Vec<f64>, Vec<f64>);
/// A value and its gradient.
pub type ValueGrad = (f64, Vec<f64>);

/// Dual numbers over f64, for forward-over-reverse Hessian-vector products.
pub type D = autodiff::Dual<f64>;

/// Checks `H v` (tangent of the dual gradient) against finite differences of the gradient,
/// and the symmetry of H.
pub fn check_hvp(
    name: &str,
    x: &[f64],
    grad: &dyn Fn(&[f64]) -> Vec<f64>,
    hvp: &dyn Fn(&[f64], &[f64]) -> Pair,
) {
    let n = x.len();
    let mut rng = Rng::new(17 + n as u64);
    let g0 = grad(x);
    let vs: Vec<Vec<f64>> = (0..3).map(|_| rng.vec(n)).collect();
    let mut hvs = Vec::new();
    for v in &vs {
        let (g, hv) = hvp(x, v);
        // The value part of the dual gradient is the gradient.
        assert_close_vec(
            &format!("{name}: value of the dual gradient"),
            &g,
            &g0,
            1e-14,
            1e-14,
        );
        let h = 1e-5;
        let xp: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
        let xm: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
        let fd: Vec<f64> = grad(&xp)
            .iter()
            .zip(grad(&xm))
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        assert_close_vec(
            &format!("{name}: H v vs finite differences of the gradient"),
            &hv,
            &fd,
            1e-5,
            1e-6,
        );
        hvs.push(hv);
    }
    for i in 0..vs.len() {
        for j in 0..i {
            let a = dot(&vs[i], &hvs[j]);
            let b = dot(&vs[j], &hvs[i]);
            assert!(
                (a - b).abs() <= 1e-10 * (a.abs() + b.abs() + 1.0),
                "{name}: H is not symmetric: {a} vs {b}"
            );
        }
    }
}

pub fn duals(x: &[f64], v: &[f64]) -> Vec<D> {
    x.iter().zip(v).map(|(&a, &b)| D::new(a, b)).collect()
}

pub fn split(g: &[D]) -> (Vec<f64>, Vec<f64>) {
    (
        g.iter().map(|d| d.value()).collect(),
        g.iter().map(|d| d.tangent()).collect(),
    )
}

#[allow(unused_macros)]
/// Checks a function of two f64s to a scalar, with its `_jvp`, `_vjp` and `_grad`.
macro_rules! check2 {
    ($f:ident, $jvp:path, $vjp:path, $grad:path, $x:expr, $y:expr) => {{
        let x = [$x, $y];
        check_fn(
            stringify!($f),
            &x,
            &|p| vec![$f(p[0], p[1])],
            &|p, t| {
                let (y, d) = $jvp(p[0], p[1], t[0], t[1]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p[0], p[1]);
                let (a, b) = pb(c[0]);
                (vec![y], vec![a, b])
            },
        );
        check_grad(stringify!($f), &x, &|p| $f(p[0], p[1]), &|p| {
            let (y, (a, b)) = $grad(p[0], p[1]);
            (y, vec![a, b])
        });
    }};
}

#[allow(unused_macros)]
/// The same for one f64 to a scalar.
macro_rules! check1 {
    ($f:expr, $jvp:expr, $vjp:expr, $grad:expr, $x:expr) => {{
        let x = [$x];
        check_fn(
            stringify!($f),
            &x,
            &|p| vec![$f(p[0])],
            &|p, t| {
                let (y, d) = $jvp(p[0], t[0]);
                (vec![y], vec![d])
            },
            &|p, c| {
                let (y, pb) = $vjp(p[0]);
                (vec![y], vec![pb(c[0])])
            },
        );
        check_grad(stringify!($f), &x, &|p| $f(p[0]), &|p| {
            let (y, a) = $grad(p[0]);
            (y, vec![a])
        });
    }};
}

/// Central finite differences of a scalar function, one coordinate at a time (step 1e-6).
pub fn fd_grad(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let h = 1e-6;
    (0..x.len())
        .map(|i| {
            let mut p = x.to_vec();
            let mut m = x.to_vec();
            p[i] += h;
            m[i] -= h;
            (f(&p) - f(&m)) / (2.0 * h)
        })
        .collect()
}

/// A function returning its value and its gradient.
pub type WithGrad<'a> = &'a dyn Fn(&[f64]) -> (f64, Vec<f64>);

/// A scalar function's `_grad` against its `_vjp(..)(1.0)` (1e-12), both against central
/// finite differences, and both values against the function's.
pub fn check_grad_vjp(
    name: &str,
    f: &dyn Fn(&[f64]) -> f64,
    grad: WithGrad,
    vjp: WithGrad,
    x: &[f64],
) {
    let (yg, g) = grad(x);
    let (yv, v) = vjp(x);
    let y = f(x);
    assert!(
        close(yg, y, 1e-14, 1e-14),
        "{name}: _grad value {yg} != {y}"
    );
    assert!(close(yv, y, 1e-14, 1e-14), "{name}: _vjp value {yv} != {y}");
    assert_close_vec(&format!("{name}: _grad vs _vjp"), &g, &v, 1e-12, 1e-12);
    assert_close_vec(
        &format!("{name}: _grad vs FD"),
        &g,
        &fd_grad(f, x),
        1e-6,
        1e-7,
    );
}
