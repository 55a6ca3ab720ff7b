//! Losses: softmax cross-entropy (with a `softmax` helper) and mean squared error.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::{Mat, Tensor, Vector, Zeros};

/// The softmax of a row, computed stably (shifted by its maximum `m`), written into `out`;
/// returns `(m, ln Σ_j exp(z_j - m))`, whose sum is the row's log-sum-exp.
fn softmax_row<F: Scalar>(z: &[F], out: &mut [F]) -> (F, F) {
    let m = z.iter().copied().fold(F::neg_infinity(), F::max);
    let mut sum = F::zero();
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - m).exp();
        sum = sum + *o;
    }
    for o in out.iter_mut() {
        *o = *o / sum;
    }
    (m, sum.ln())
}

/// `log Σ_j exp(z_j) - z[label]` from the parts returned by [`softmax_row`], summed so that
/// nothing cancels when the logits are large: `(m - z[label]) + ln Σ_j exp(z_j - m)`.
fn nll<F: Scalar>((m, ln_sum): (F, F), z_label: F) -> F {
    (m - z_label) + ln_sum
}

/// The label, checked against the number of classes.
fn check_label(label: usize, n: usize) -> usize {
    assert!(
        label < n,
        "softmax_cross_entropy: label {label} out of range for {n} classes"
    );
    label
}

/// `exp(z_i) / Σ_j exp(z_j)`, computed stably (shifted by the maximum logit, so large logits do
/// not overflow).
///
/// ```
/// use conv_kernels::layers::softmax;
/// use conv_kernels::tensor::Vector;
/// let p = softmax(&Vector::from_array([1000.0, 1000.0]));
/// assert_eq!(*p, [0.5, 0.5]);
/// ```
pub fn softmax<F: Scalar + Real, const N: usize>(z: &Vector<F, N>) -> Vector<F, N> {
    let mut p = Vector::zeros();
    softmax_row(z.as_slice(), p.as_mut_slice());
    p
}

/// Forward mode of [`softmax`]: `dp = p ⊙ (t - <p, t>)`.
///
/// ```
/// use conv_kernels::layers::softmax_jvp;
/// use conv_kernels::tensor::Vector;
/// let z = Vector::from_array([0.0, 0.0]);
/// let (p, dp) = softmax_jvp(&z, &Vector::from_array([1.0, 1.0]));
/// assert_eq!(*dp, [0.0, 0.0]); // shifting every logit changes nothing
/// ```
pub fn softmax_jvp<F: Scalar + Real, const N: usize>(
    z: &Vector<F, N>,
    t: &Vector<F, N>,
) -> (Vector<F, N>, Vector<F, N>) {
    let p = softmax(z);
    let pt = p
        .iter()
        .zip(t.iter())
        .fold(F::zero(), |a, (&p, &t)| a + p * t);
    let dp = Vector::from_fn(|i| p[i] * (t[i] - pt));
    (p, dp)
}

/// Reverse mode of [`softmax`]: the pullback maps `ct` to `p ⊙ (ct - <p, ct>)` (the Jacobian
/// is symmetric). It owns `p`.
///
/// ```
/// use conv_kernels::layers::softmax_vjp;
/// use conv_kernels::tensor::Vector;
/// let (p, pullback) = softmax_vjp(&Vector::from_array([0.0, 0.0]));
/// assert_eq!(*pullback(Vector::from_array([1.0, 0.0])), [0.25, -0.25]);
/// ```
#[allow(clippy::type_complexity)]
pub fn softmax_vjp<F: Scalar + Real, const N: usize>(
    z: &Vector<F, N>,
) -> (
    Vector<F, N>,
    impl FnOnce(Vector<F, N>) -> Vector<F, N> + use<F, N>,
) {
    let p = softmax(z);
    let residual = p.clone();
    let pullback = move |ct: Vector<F, N>| {
        let pc = residual
            .iter()
            .zip(ct.iter())
            .fold(F::zero(), |a, (&p, &c)| a + p * c);
        Vector::from_fn(|i| residual[i] * (ct[i] - pc))
    };
    (p, pullback)
}

/// The cross-entropy of `softmax(logits)` against the class `label`:
/// `log Σ_j exp(z_j) - z_label`, with a numerically stable log-sum-exp. `label` is passive.
///
/// # Panics
/// If `label >= N`.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy;
/// use conv_kernels::tensor::Vector;
/// let loss = softmax_cross_entropy(&Vector::from_array([0.0_f64, 0.0, 0.0, 0.0]), 1);
/// assert!((loss - 4.0_f64.ln()).abs() < 1e-15);
/// // no overflow for large logits
/// assert_eq!(softmax_cross_entropy(&Vector::from_array([1e4_f64, 0.0]), 0), 0.0);
/// ```
pub fn softmax_cross_entropy<F: Scalar + Real, const N: usize>(
    logits: &Vector<F, N>,
    label: usize,
) -> F {
    let label = check_label(label, N);
    let mut p = [F::zero(); N];
    nll(softmax_row(logits.as_slice(), &mut p), logits[label])
}

/// Forward mode of [`softmax_cross_entropy`]: `<softmax(z) - onehot(label), t>`.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy_jvp;
/// use conv_kernels::tensor::Vector;
/// let z = Vector::from_array([0.0_f64, 0.0]);
/// let (_, d) = softmax_cross_entropy_jvp(&z, 0, &Vector::from_array([1.0, 0.0]));
/// assert_eq!(d, -0.5);
/// ```
pub fn softmax_cross_entropy_jvp<F: Scalar + Real, const N: usize>(
    logits: &Vector<F, N>,
    label: usize,
    t: &Vector<F, N>,
) -> (F, F) {
    let label = check_label(label, N);
    let mut p = [F::zero(); N];
    let loss = nll(softmax_row(logits.as_slice(), &mut p), logits[label]);
    let d = p
        .iter()
        .zip(t.iter())
        .fold(F::zero(), |a, (&p, &t)| a + p * t)
        - t[label];
    (loss, d)
}

/// Reverse mode of [`softmax_cross_entropy`]: the pullback maps the scalar cotangent `ct` to
/// `(softmax(z) - onehot(label)) * ct`. It owns the softmax.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy_vjp;
/// use conv_kernels::tensor::Vector;
/// let (loss, pullback) = softmax_cross_entropy_vjp(&Vector::from_array([0.0_f64, 0.0]), 1);
/// assert_eq!(*pullback(2.0), [1.0, -1.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn softmax_cross_entropy_vjp<F: Scalar + Real, const N: usize>(
    logits: &Vector<F, N>,
    label: usize,
) -> (F, impl FnOnce(F) -> Vector<F, N> + use<F, N>) {
    let label = check_label(label, N);
    let mut p = Vector::<F, N>::zeros();
    let loss = nll(
        softmax_row(logits.as_slice(), p.as_mut_slice()),
        logits[label],
    );
    let pullback = move |ct: F| {
        p[label] = p[label] - F::one();
        for v in p.iter_mut() {
            *v = *v * ct;
        }
        p
    };
    (loss, pullback)
}

/// The mean over a batch of [`softmax_cross_entropy`]: row `b` of `logits` holds the logits of
/// sample `b`, whose class is `labels[b]` (passive).
///
/// # Panics
/// If a label is `>= N`.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy_batch;
/// use conv_kernels::tensor::Mat;
/// let z: Mat<f64, 2, 2> = Mat::from_flat(&[0.0, 0.0, 1e4, 0.0]);
/// let loss = softmax_cross_entropy_batch(&z, &[0, 0]);
/// assert!((loss - 0.5 * 2.0_f64.ln()).abs() < 1e-15);
/// ```
pub fn softmax_cross_entropy_batch<F: Scalar + Real, const B: usize, const N: usize>(
    logits: &Mat<F, B, N>,
    labels: &[usize; B],
) -> F {
    let mut p = [F::zero(); N];
    let total = logits.iter().zip(labels).fold(F::zero(), |acc, (z, &l)| {
        let l = check_label(l, N);
        acc + nll(softmax_row(z, &mut p), z[l])
    });
    total / F::from(B).expect("batch size as a float")
}

/// Forward mode of [`softmax_cross_entropy_batch`]: `Σ_b <softmax(z_b) - onehot(l_b), t_b> / B`.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy_batch_jvp;
/// use conv_kernels::tensor::Mat;
/// let z: Mat<f64, 1, 2> = Mat::from_flat(&[0.0, 0.0]);
/// let t: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 0.0]);
/// assert_eq!(softmax_cross_entropy_batch_jvp(&z, &[0], &t).1, -0.5);
/// ```
pub fn softmax_cross_entropy_batch_jvp<F: Scalar + Real, const B: usize, const N: usize>(
    logits: &Mat<F, B, N>,
    labels: &[usize; B],
    t: &Mat<F, B, N>,
) -> (F, F) {
    let mut p = [F::zero(); N];
    let (mut loss, mut d) = (F::zero(), F::zero());
    for ((z, t), &l) in logits.iter().zip(t.iter()).zip(labels) {
        let l = check_label(l, N);
        loss = loss + nll(softmax_row(z, &mut p), z[l]);
        d = d + p.iter().zip(t).fold(F::zero(), |a, (&p, &t)| a + p * t) - t[l];
    }
    let n = F::from(B).expect("batch size as a float");
    (loss / n, d / n)
}

/// Reverse mode of [`softmax_cross_entropy_batch`]: the pullback maps `ct` to the matrix whose
/// row `b` is `(softmax(z_b) - onehot(l_b)) * ct / B`. It owns the softmax of every row.
///
/// ```
/// use conv_kernels::layers::softmax_cross_entropy_batch_vjp;
/// use conv_kernels::tensor::Mat;
/// let z: Mat<f64, 2, 2> = Mat::from_flat(&[0.0, 0.0, 0.0, 0.0]);
/// let (_, pullback) = softmax_cross_entropy_batch_vjp(&z, &[0, 1]);
/// assert_eq!(*pullback(1.0), [[-0.25, 0.25], [0.25, -0.25]]);
/// ```
#[allow(clippy::type_complexity)]
pub fn softmax_cross_entropy_batch_vjp<F: Scalar + Real, const B: usize, const N: usize>(
    logits: &Mat<F, B, N>,
    labels: &[usize; B],
) -> (F, impl FnOnce(F) -> Mat<F, B, N> + use<F, B, N>) {
    let mut p = Mat::<F, B, N>::zeros();
    let mut loss = F::zero();
    for ((z, p), &l) in logits.iter().zip(p.iter_mut()).zip(labels) {
        let l = check_label(l, N);
        loss = loss + nll(softmax_row(z, p), z[l]);
        p[l] = p[l] - F::one();
    }
    let n = F::from(B).expect("batch size as a float");
    let pullback = move |ct: F| {
        let s = ct / n;
        for v in p.as_flat_mut() {
            *v = *v * s;
        }
        p
    };
    (loss / n, pullback)
}

/// The mean squared error `Σ_i (pred_i - target_i)² / n` over the `n` leaves of two tensors of
/// any shape. Both parameters are active.
///
/// ```
/// use conv_kernels::layers::mse;
/// use conv_kernels::tensor::Vector;
/// assert_eq!(mse(&Vector::from_array([1.0, 2.0]), &Vector::from_array([0.0, 4.0])), 2.5);
/// ```
pub fn mse<F: Scalar + Real, T: Zeros<Scalar = F>>(pred: &Tensor<T>, target: &Tensor<T>) -> F {
    let sum = pred
        .as_flat()
        .iter()
        .zip(target.as_flat())
        .fold(F::zero(), |a, (&p, &t)| a + (p - t) * (p - t));
    sum / leaves::<F, T>()
}

/// The number of leaves of `T`, as a float.
fn leaves<F: Scalar, T: Zeros>() -> F {
    F::from(T::LEN).expect("leaf count as a float")
}

/// Forward mode of [`mse`]: `2 <pred - target, t_pred - t_target> / n`.
///
/// ```
/// use conv_kernels::layers::mse_jvp;
/// use conv_kernels::tensor::Vector;
/// let (p, q) = (Vector::from_array([1.0]), Vector::from_array([0.0]));
/// let (l, d) = mse_jvp(&p, &q, &Vector::from_array([1.0]), &Vector::from_array([0.5]));
/// assert_eq!((l, d), (1.0, 1.0));
/// ```
pub fn mse_jvp<F: Scalar + Real, T: Zeros<Scalar = F>>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    t_pred: &Tensor<T>,
    t_target: &Tensor<T>,
) -> (F, F) {
    let n = leaves::<F, T>();
    let (p, q, tp, tq) = (
        pred.as_flat(),
        target.as_flat(),
        t_pred.as_flat(),
        t_target.as_flat(),
    );
    let (mut loss, mut d) = (F::zero(), F::zero());
    for i in 0..p.len() {
        let r = p[i] - q[i];
        loss = loss + r * r;
        d = d + r * (tp[i] - tq[i]);
    }
    (loss / n, (d + d) / n)
}

/// Reverse mode of [`mse`]: the pullback maps `ct` to
/// `(2 ct (pred - target) / n, -2 ct (pred - target) / n)`. It owns the residual
/// `pred - target`.
///
/// ```
/// use conv_kernels::layers::mse_vjp;
/// use conv_kernels::tensor::Vector;
/// let (l, pullback) = mse_vjp(&Vector::from_array([1.0, 2.0]), &Vector::from_array([0.0, 4.0]));
/// let (dp, dq) = pullback(1.0);
/// assert_eq!((*dp, *dq), ([1.0, -2.0], [-1.0, 2.0]));
/// ```
#[allow(clippy::type_complexity)]
pub fn mse_vjp<F: Scalar + Real, T: Zeros<Scalar = F>>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
) -> (F, impl FnOnce(F) -> (Tensor<T>, Tensor<T>) + use<F, T>) {
    let (p, q) = (pred.as_flat(), target.as_flat());
    let mut r = Tensor::<T>::from_flat_fn(|i| p[i] - q[i]);
    let loss = r.as_flat().iter().fold(F::zero(), |a, &v| a + v * v) / leaves::<F, T>();
    let pullback = move |ct: F| {
        let s = (ct + ct) / leaves::<F, T>();
        for v in r.as_flat_mut() {
            *v = *v * s;
        }
        let rs = r.as_flat();
        let neg = Tensor::<T>::from_flat_fn(|i| -rs[i]);
        (r, neg)
    };
    (loss, pullback)
}
