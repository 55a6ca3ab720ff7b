//! 2-D pooling over `K x K` windows with stride `S` and no padding: `max_pool2d` and
//! `avg_pool2d`, for one sample `(C, H, W)` and for a batch `(N, C, H, W)` (the batch split
//! across cores with rayon when it is large enough to pay).
//!
//! The output size is the const parameter pair `(OH, OW)`, checked at compile time against
//! `OH == (H - K) / S + 1` and `OW == (W - K) / S + 1`.
//!
//! The generic parameters come in the order of `conv2d`'s: the scalar, the input shape, the
//! window `K` and stride `S`, then the output shape (`<F, C, H, W, K, S, OH, OW>`, with `N`
//! after `F` for a batch), so a call names the window and stride and lets the shapes be
//! inferred: `max_pool2d::<_, _, _, _, 2, 2, _, _>(&x)`.

use autodiff_core::Real;
use rayon::prelude::*;

use crate::Scalar;
use crate::tensor::{Batch, Image, Tensor, Zeros};

/// Below this many scalars, batched layers run on the calling thread: splitting smaller work
/// across rayon's pool costs more than it saves.
const PAR_MIN_LEN: usize = 1 << 15;

/// Whether a batched pooling layer over `n` samples and `len` scalars splits its samples across
/// rayon's pool: only for large enough work, and only when called from outside the pool's
/// threads. A caller that already runs on one of them (a training loop that shares a batch's
/// chunks across the threads) has its parallelism; splitting each layer again under it only
/// adds scheduling (it was a fifth of LeNet-5's time on MNIST).
fn split_across_pool(n: usize, len: usize) -> bool {
    n > 1 && len >= PAR_MIN_LEN && rayon::current_thread_index().is_none()
}

/// Whether a pooling shape is consistent (evaluated at compile time).
#[allow(clippy::too_many_arguments)]
const fn pool_shape_ok(
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    oh: usize,
    ow: usize,
) -> bool {
    n > 0
        && c > 0
        && k > 0
        && s > 0
        && k <= h
        && k <= w
        && oh == (h - k) / s + 1
        && ow == (w - k) / s + 1
        && n * c * h * w <= u32::MAX as usize
}

/// Runs `f(sample, chunk)` on each `chunk_len`-long chunk of `out`, across rayon's pool when
/// `par` is set.
fn for_each_sample<B: Send>(
    out: &mut [B],
    chunk_len: usize,
    par: bool,
    f: impl Fn(usize, &mut [B]) + Sync,
) {
    if par {
        out.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(s, o)| f(s, o));
    } else {
        out.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(s, o)| f(s, o));
    }
}

/// Whether `v` replaces `best` as a window's maximum: larger, or the first NaN. Both tests
/// are evaluated (`|`, `&`, no short circuit) so that the choice compiles to selects: a
/// branch on `v > best` is mispredicted about once a window.
#[inline(always)]
fn wins<F: Scalar>(v: F, best: F) -> bool {
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// `relu(v)` when `RELU`, else `v`.
#[inline(always)]
fn act<F: Scalar, const RELU: bool>(v: F) -> F {
    match (RELU, v > F::zero()) {
        (true, false) => F::zero(),
        _ => v,
    }
}

/// Max pooling of `N` samples of `(C, H, W)` in `x`: each output's value into `y` and the flat
/// index in `x` of its window's maximum into `arg` (the first one in row-major order on ties;
/// a NaN wins over numbers). With `RELU`, of the windows of `relu(x)` (read through the ReLU
/// in the same pass: a NaN is then 0, as [`relu`](super::relu) makes it).
fn max_forward<
    F: Scalar,
    const RELU: bool,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[F],
    y: &mut [F],
    arg: &mut [u32],
) {
    let (per_in, per_out) = (C * H * W, C * OH * OW);
    let one = |s: usize, y: &mut [F], arg: &mut [u32]| {
        let x = &x[s * per_in..(s + 1) * per_in];
        let base = s * per_in;
        for c in 0..C {
            for i in 0..OH {
                let out = (c * OH + i) * OW;
                let (y, arg) = (&mut y[out..out + OW], &mut arg[out..out + OW]);
                if K == 2 && S == 2 {
                    // LeNet's pooling: two rows, pairs of columns, read in place.
                    let r0 = &x[(c * H + 2 * i) * W..][..2 * OW];
                    let r1 = &x[(c * H + 2 * i + 1) * W..][..2 * OW];
                    let first = (c * H + 2 * i) * W;
                    for j in 0..OW {
                        let (mut best, mut at) = (act::<F, RELU>(r0[2 * j]), 2 * j);
                        for (v, k) in [
                            (r0[2 * j + 1], 2 * j + 1),
                            (r1[2 * j], W + 2 * j),
                            (r1[2 * j + 1], W + 2 * j + 1),
                        ] {
                            let v = act::<F, RELU>(v);
                            let take = wins(v, best);
                            best = if take { v } else { best };
                            at = if take { k } else { at };
                        }
                        y[j] = best;
                        arg[j] = (base + first + at) as u32;
                    }
                    continue;
                }
                for j in 0..OW {
                    let start = (c * H + i * S) * W + j * S;
                    let (mut best, mut at) = (act::<F, RELU>(x[start]), start);
                    for p in 0..K {
                        let row = start + p * W;
                        for (q, &v) in x[row..row + K].iter().enumerate() {
                            let v = act::<F, RELU>(v);
                            let take = wins(v, best);
                            best = if take { v } else { best };
                            at = if take { row + q } else { at };
                        }
                    }
                    y[j] = best;
                    arg[j] = (base + at) as u32;
                }
            }
        }
    };
    if split_across_pool(N, N * per_in) {
        y.par_chunks_mut(per_out)
            .zip(arg.par_chunks_mut(per_out))
            .enumerate()
            .for_each(|(s, (y, arg))| one(s, y, arg));
    } else {
        for (s, (y, arg)) in y
            .chunks_mut(per_out)
            .zip(arg.chunks_mut(per_out))
            .enumerate()
        {
            one(s, y, arg)
        }
    }
}

/// Max pooling (of `relu(x)` with `RELU`): the output tensor and the positions of the maxima.
fn max_pool<
    F: Scalar,
    const RELU: bool,
    T: Zeros<Scalar = F>,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[F],
) -> (Tensor<T>, Vec<u32>) {
    let mut y = Tensor::<T>::zeros();
    let mut arg = vec![0u32; T::LEN];
    max_forward::<F, RELU, N, C, H, W, K, S, OH, OW>(x, y.as_flat_mut(), &mut arg);
    (y, arg)
}

/// `out[o] = v[arg[o]]`.
fn gather<T: Zeros>(v: &[T::Scalar], arg: &[u32]) -> Tensor<T> {
    Tensor::from_flat_fn(|o| v[arg[o] as usize])
}

/// The adjoint of [`gather`]: `dx[arg[o]] += ct[o]`, one sample per task.
fn scatter<F: Scalar, T: Zeros<Scalar = F>>(
    ct: &[F],
    arg: &[u32],
    n: usize,
    per_in: usize,
) -> Tensor<T> {
    let per_out = ct.len() / n;
    let mut dx = Tensor::<T>::zeros();
    let par = split_across_pool(n, n * per_in);
    for_each_sample(dx.as_flat_mut(), per_in, par, |s, dx| {
        let base = s * per_in;
        for o in s * per_out..(s + 1) * per_out {
            let at = arg[o] as usize - base;
            dx[at] = dx[at] + ct[o];
        }
    });
    dx
}

/// Window means: `N` samples of `(C, H, W)` in `x` to `(C, OH, OW)` in `y`.
fn avg_forward<
    F: Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[F],
    y: &mut [F],
) {
    let (per_in, per_out) = (C * H * W, C * OH * OW);
    let scale = F::one() / F::from(K * K).expect("window size as a float");
    let par = split_across_pool(N, N * per_in);
    for_each_sample(y, per_out, par, |s, y| {
        let x = &x[s * per_in..(s + 1) * per_in];
        for c in 0..C {
            for i in 0..OH {
                for j in 0..OW {
                    let start = (c * H + i * S) * W + j * S;
                    let mut sum = F::zero();
                    for p in 0..K {
                        let row = start + p * W;
                        for &v in &x[row..row + K] {
                            sum = sum + v;
                        }
                    }
                    y[(c * OH + i) * OW + j] = sum * scale;
                }
            }
        }
    });
}

/// The adjoint of [`avg_forward`]: each output cotangent spread evenly over its window
/// (overlapping windows add up).
fn avg_backward<
    F: Scalar,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    ct: &[F],
    dx: &mut [F],
) {
    let (per_in, per_out) = (C * H * W, C * OH * OW);
    let scale = F::one() / F::from(K * K).expect("window size as a float");
    let par = split_across_pool(N, N * per_in);
    for_each_sample(dx, per_in, par, |s, dx| {
        let ct = &ct[s * per_out..(s + 1) * per_out];
        for c in 0..C {
            for i in 0..OH {
                for j in 0..OW {
                    let g = ct[(c * OH + i) * OW + j] * scale;
                    let start = (c * H + i * S) * W + j * S;
                    for p in 0..K {
                        let row = start + p * W;
                        for d in &mut dx[row..row + K] {
                            *d = *d + g;
                        }
                    }
                }
            }
        }
    });
}

macro_rules! shape_check {
    ($n:expr, $c:expr, $h:expr, $w:expr, $k:expr, $s:expr, $oh:expr, $ow:expr) => {
        const {
            assert!(
                pool_shape_ok($n, $c, $h, $w, $k, $s, $oh, $ow),
                "pooling: the output size must be OH = (H - K) / S + 1, OW = (W - K) / S + 1, \
                 with 0 < K <= H, W and S > 0"
            )
        }
    };
}

/// Max pooling of one sample `(C, H, W)` over `K x K` windows with stride `S`: output
/// `(C, OH, OW)` with `OH == (H - K) / S + 1` and `OW == (W - K) / S + 1` (checked at compile
/// time).
///
/// Derivative: each output's gradient goes to the position of its window's maximum; on ties,
/// to the first maximum in row-major order within the window (PyTorch picks the same one).
/// A NaN in a window is its maximum.
///
/// ```
/// use conv_kernels::layers::max_pool2d;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 4, 4> = Image::from_flat_fn(|i| i as f64);
/// let y: Image<f64, 1, 2, 2> = max_pool2d::<_, _, _, _, 2, 2, _, _>(&x);
/// assert_eq!(*y, [[[5.0, 7.0], [13.0, 15.0]]]);
/// ```
pub fn max_pool2d<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> Image<F, C, OH, OW> {
    shape_check!(1, C, H, W, K, S, OH, OW);
    max_pool::<F, false, _, 1, C, H, W, K, S, OH, OW>(x.as_flat()).0
}

/// Forward mode of [`max_pool2d`]: the tangent at each window's (first) maximum.
///
/// ```
/// use conv_kernels::layers::max_pool2d_jvp;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 2, 2> = Image::from_flat(&[1.0, 4.0, 4.0, 2.0]);
/// let t: Image<f64, 1, 2, 2> = Image::from_flat(&[10.0, 20.0, 30.0, 40.0]);
/// let (y, dy) = max_pool2d_jvp::<_, _, _, _, 2, 2, 1, 1>(&x, &t);
/// assert_eq!((y[0][0][0], dy[0][0][0]), (4.0, 20.0));
/// ```
pub fn max_pool2d_jvp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    t: &Image<F, C, H, W>,
) -> (Image<F, C, OH, OW>, Image<F, C, OH, OW>) {
    shape_check!(1, C, H, W, K, S, OH, OW);
    let (y, arg) = max_pool::<F, false, _, 1, C, H, W, K, S, OH, OW>(x.as_flat());
    (y, gather(t.as_flat(), &arg))
}

/// Reverse mode of [`max_pool2d`]: the pullback owns the positions of the maxima and sends
/// each output cotangent there (first maximum on ties; overlapping windows add up).
///
/// ```
/// use conv_kernels::layers::max_pool2d_vjp;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 2, 2> = Image::from_flat(&[1.0, 4.0, 4.0, 2.0]);
/// let (y, pullback) = max_pool2d_vjp::<_, _, _, _, 2, 2, 1, 1>(&x);
/// assert_eq!(y[0][0][0], 4.0);
/// assert_eq!(pullback(Image::from_flat(&[1.0])).as_flat(), &[0.0, 1.0, 0.0, 0.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn max_pool2d_vjp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> (
    Image<F, C, OH, OW>,
    impl FnOnce(Image<F, C, OH, OW>) -> Image<F, C, H, W> + use<F, C, H, W, K, S, OH, OW>,
) {
    shape_check!(1, C, H, W, K, S, OH, OW);
    let (y, arg) = max_pool::<F, false, _, 1, C, H, W, K, S, OH, OW>(x.as_flat());
    let pullback = move |ct: Image<F, C, OH, OW>| scatter(ct.as_flat(), &arg, 1, C * H * W);
    (y, pullback)
}

/// Average pooling of one sample `(C, H, W)` over `K x K` windows with stride `S` (no padding):
/// output `(C, OH, OW)` with `OH == (H - K) / S + 1`, `OW == (W - K) / S + 1` (checked at
/// compile time). Linear, so differentiable everywhere.
///
/// ```
/// use conv_kernels::layers::avg_pool2d;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 4, 4> = Image::from_flat_fn(|i| i as f64);
/// let y: Image<f64, 1, 2, 2> = avg_pool2d::<_, _, _, _, 2, 2, _, _>(&x);
/// assert_eq!(*y, [[[2.5, 4.5], [10.5, 12.5]]]);
/// ```
pub fn avg_pool2d<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> Image<F, C, OH, OW> {
    shape_check!(1, C, H, W, K, S, OH, OW);
    let mut y = Image::zeros();
    avg_forward::<F, 1, C, H, W, K, S, OH, OW>(x.as_flat(), y.as_flat_mut());
    y
}

/// Forward mode of [`avg_pool2d`]: `(avg_pool2d(x), avg_pool2d(t))`.
///
/// ```
/// use conv_kernels::layers::avg_pool2d_jvp;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 2, 2> = Image::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let t: Image<f64, 1, 2, 2> = Image::from_flat(&[4.0, 0.0, 0.0, 0.0]);
/// let (y, dy) = avg_pool2d_jvp::<_, _, _, _, 2, 2, 1, 1>(&x, &t);
/// assert_eq!((y[0][0][0], dy[0][0][0]), (2.5, 1.0));
/// ```
pub fn avg_pool2d_jvp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    t: &Image<F, C, H, W>,
) -> (Image<F, C, OH, OW>, Image<F, C, OH, OW>) {
    (
        avg_pool2d::<F, C, H, W, K, S, OH, OW>(x),
        avg_pool2d::<F, C, H, W, K, S, OH, OW>(t),
    )
}

/// Reverse mode of [`avg_pool2d`]: the pullback spreads each output cotangent evenly over its
/// window, `ct / (K * K)` to each position (overlapping windows add up). It needs no residual.
///
/// ```
/// use conv_kernels::layers::avg_pool2d_vjp;
/// use conv_kernels::tensor::Image;
/// let x: Image<f64, 1, 2, 2> = Image::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let (y, pullback) = avg_pool2d_vjp::<_, _, _, _, 2, 2, 1, 1>(&x);
/// assert_eq!(pullback(Image::from_flat(&[4.0])).as_flat(), &[1.0; 4]);
/// ```
#[allow(clippy::type_complexity)]
pub fn avg_pool2d_vjp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
) -> (
    Image<F, C, OH, OW>,
    impl FnOnce(Image<F, C, OH, OW>) -> Image<F, C, H, W> + use<F, C, H, W, K, S, OH, OW>,
) {
    let y = avg_pool2d::<F, C, H, W, K, S, OH, OW>(x);
    let pullback = |ct: Image<F, C, OH, OW>| {
        let mut dx = Image::zeros();
        avg_backward::<F, 1, C, H, W, K, S, OH, OW>(ct.as_flat(), dx.as_flat_mut());
        dx
    };
    (y, pullback)
}

/// [`max_pool2d`] on each sample of a batch `(N, C, H, W)`, the samples split across rayon's
/// pool when the batch is large. Same conventions (first maximum on ties).
///
/// ```
/// use conv_kernels::layers::max_pool2d_batch;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f32, 2, 1, 2, 2> = Batch::from_flat(&[1.0, 2.0, 3.0, 4.0, 8.0, 7.0, 6.0, 5.0]);
/// let y: Batch<f32, 2, 1, 1, 1> = max_pool2d_batch::<_, _, _, _, _, 2, 2, _, _>(&x);
/// assert_eq!(y.as_flat(), &[4.0, 8.0]);
/// ```
pub fn max_pool2d_batch<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> Batch<F, N, C, OH, OW> {
    shape_check!(N, C, H, W, K, S, OH, OW);
    max_pool::<F, false, _, N, C, H, W, K, S, OH, OW>(x.as_flat()).0
}

/// Forward mode of [`max_pool2d_batch`].
///
/// ```
/// use conv_kernels::layers::max_pool2d_batch_jvp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 1, 1, 1, 2> = Batch::from_flat(&[1.0, 3.0]);
/// let t: Batch<f64, 1, 1, 1, 2> = Batch::from_flat(&[10.0, 30.0]);
/// let (y, dy) = max_pool2d_batch_jvp::<_, _, _, _, _, 1, 1, 1, 2>(&x, &t);
/// assert_eq!((y.as_flat(), dy.as_flat()), (&[1.0, 3.0][..], &[10.0, 30.0][..]));
/// ```
pub fn max_pool2d_batch_jvp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    t: &Batch<F, N, C, H, W>,
) -> (Batch<F, N, C, OH, OW>, Batch<F, N, C, OH, OW>) {
    shape_check!(N, C, H, W, K, S, OH, OW);
    let (y, arg) = max_pool::<F, false, _, N, C, H, W, K, S, OH, OW>(x.as_flat());
    (y, gather(t.as_flat(), &arg))
}

/// Reverse mode of [`max_pool2d_batch`]: the pullback owns the positions of the maxima.
///
/// ```
/// use conv_kernels::layers::max_pool2d_batch_vjp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 2, 1, 1, 2> = Batch::from_flat(&[1.0, 3.0, 5.0, 4.0]);
/// let (y, pullback) = max_pool2d_batch_vjp::<_, _, _, _, 2, 1, 2, 1, 1>(&x);
/// assert_eq!(y.as_flat(), &[1.0, 5.0]);
/// assert_eq!(pullback(Batch::from_flat(&[1.0, 2.0])).as_flat(), &[1.0, 0.0, 2.0, 0.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn max_pool2d_batch_vjp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> (
    Batch<F, N, C, OH, OW>,
    impl FnOnce(Batch<F, N, C, OH, OW>) -> Batch<F, N, C, H, W> + use<F, N, C, H, W, K, S, OH, OW>,
) {
    shape_check!(N, C, H, W, K, S, OH, OW);
    let (y, arg) = max_pool::<F, false, _, N, C, H, W, K, S, OH, OW>(x.as_flat());
    let pullback = move |ct: Batch<F, N, C, OH, OW>| scatter(ct.as_flat(), &arg, N, C * H * W);
    (y, pullback)
}

/// [`avg_pool2d`] on each sample of a batch `(N, C, H, W)`, split across rayon's pool when the
/// batch is large.
///
/// ```
/// use conv_kernels::layers::avg_pool2d_batch;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f32, 2, 1, 2, 2> = Batch::from_flat(&[1.0, 2.0, 3.0, 4.0, 8.0, 8.0, 6.0, 6.0]);
/// let y: Batch<f32, 2, 1, 1, 1> = avg_pool2d_batch::<_, _, _, _, _, 2, 2, _, _>(&x);
/// assert_eq!(y.as_flat(), &[2.5, 7.0]);
/// ```
pub fn avg_pool2d_batch<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> Batch<F, N, C, OH, OW> {
    shape_check!(N, C, H, W, K, S, OH, OW);
    let mut y = Batch::zeros();
    avg_forward::<F, N, C, H, W, K, S, OH, OW>(x.as_flat(), y.as_flat_mut());
    y
}

/// Forward mode of [`avg_pool2d_batch`].
///
/// ```
/// use conv_kernels::layers::avg_pool2d_batch_jvp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 1, 1, 1, 2> = Batch::from_flat(&[1.0, 3.0]);
/// let (y, dy) = avg_pool2d_batch_jvp::<_, _, _, _, _, 1, 1, 1, 2>(&x, &x);
/// assert_eq!(dy.as_flat(), &[1.0, 3.0]);
/// ```
pub fn avg_pool2d_batch_jvp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    t: &Batch<F, N, C, H, W>,
) -> (Batch<F, N, C, OH, OW>, Batch<F, N, C, OH, OW>) {
    (
        avg_pool2d_batch::<F, N, C, H, W, K, S, OH, OW>(x),
        avg_pool2d_batch::<F, N, C, H, W, K, S, OH, OW>(t),
    )
}

/// Reverse mode of [`avg_pool2d_batch`].
///
/// ```
/// use conv_kernels::layers::avg_pool2d_batch_vjp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 2, 1, 1, 2> = Batch::from_flat(&[1.0, 3.0, 5.0, 7.0]);
/// let (y, pullback) = avg_pool2d_batch_vjp::<_, _, _, _, _, 1, 2, 1, 1>(&x);
/// assert_eq!(y.as_flat(), &[1.0, 5.0]);
/// assert_eq!(pullback(Batch::from_flat(&[1.0, 2.0])).as_flat(), &[1.0, 0.0, 2.0, 0.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn avg_pool2d_batch_vjp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> (
    Batch<F, N, C, OH, OW>,
    impl FnOnce(Batch<F, N, C, OH, OW>) -> Batch<F, N, C, H, W> + use<F, N, C, H, W, K, S, OH, OW>,
) {
    let y = avg_pool2d_batch::<F, N, C, H, W, K, S, OH, OW>(x);
    let pullback = |ct: Batch<F, N, C, OH, OW>| {
        let mut dx = Batch::zeros();
        avg_backward::<F, N, C, H, W, K, S, OH, OW>(ct.as_flat(), dx.as_flat_mut());
        dx
    };
    (y, pullback)
}

/// [`relu`](super::relu) then [`max_pool2d_batch`] in one pass (LeNet's "ReLU, max-pool"):
/// `y = max over each window of relu(x)`, without the ReLU's full-size output and mask. It
/// equals the composition exactly, values and derivatives: each output's gradient goes to the
/// first maximum of its window of `relu(x)`, times the ReLU's derivative there (`1` where
/// `x > 0`, else `0`, a NaN counting as `0`).
///
/// ```
/// use conv_kernels::layers::{max_pool2d_batch, relu, relu_max_pool2d_batch};
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f32, 2, 1, 2, 2> = Batch::from_flat(&[-1.0, -2.0, 3.0, 0.5, -8.0, -7.0, -6.0, -5.0]);
/// let y: Batch<f32, 2, 1, 1, 1> = relu_max_pool2d_batch::<_, _, _, _, _, 2, 2, _, _>(&x);
/// assert_eq!(y.as_flat(), &[3.0, 0.0]);
/// assert_eq!(y, max_pool2d_batch::<_, _, _, _, _, 2, 2, _, _>(&relu(&x)));
/// ```
pub fn relu_max_pool2d_batch<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> Batch<F, N, C, OH, OW> {
    shape_check!(N, C, H, W, K, S, OH, OW);
    max_pool::<F, true, _, N, C, H, W, K, S, OH, OW>(x.as_flat()).0
}

/// Whether each output of a pooled ReLU is positive: where its gradient passes.
fn positive<F: Scalar>(y: &[F]) -> Vec<bool> {
    y.iter().map(|&v| v > F::zero()).collect()
}

/// Forward mode of [`relu_max_pool2d_batch`]: the tangent at each window's first maximum of
/// `relu(x)`, where that maximum is positive; `0` elsewhere.
///
/// ```
/// use conv_kernels::layers::relu_max_pool2d_batch_jvp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 2, 1, 2, 2> = Batch::from_flat(&[1.0, 3.0, 0.0, 2.0, -5.0, -4.0, -1.0, -2.0]);
/// let t: Batch<f64, 2, 1, 2, 2> = Batch::from_flat(&[10.0, 30.0, 0.0, 20.0, 50.0, 40.0, 10.0, 20.0]);
/// let (y, dy) = relu_max_pool2d_batch_jvp::<_, _, _, _, _, 2, 2, 1, 1>(&x, &t);
/// assert_eq!((y.as_flat(), dy.as_flat()), (&[3.0, 0.0][..], &[30.0, 0.0][..]));
/// ```
pub fn relu_max_pool2d_batch_jvp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
    t: &Batch<F, N, C, H, W>,
) -> (Batch<F, N, C, OH, OW>, Batch<F, N, C, OH, OW>) {
    shape_check!(N, C, H, W, K, S, OH, OW);
    let (y, arg): (Batch<F, N, C, OH, OW>, _) =
        max_pool::<F, true, _, N, C, H, W, K, S, OH, OW>(x.as_flat());
    let (ys, ts) = (y.as_flat(), t.as_flat());
    let dy = Tensor::from_flat_fn(|o| {
        if ys[o] > F::zero() {
            ts[arg[o] as usize]
        } else {
            F::zero()
        }
    });
    (y, dy)
}

/// Reverse mode of [`relu_max_pool2d_batch`]: the pullback owns the positions of the maxima
/// and which outputs are positive, and sends each positive output's cotangent to its position.
///
/// ```
/// use conv_kernels::layers::relu_max_pool2d_batch_vjp;
/// use conv_kernels::tensor::Batch;
/// let x: Batch<f64, 2, 1, 2, 2> = Batch::from_flat(&[1.0, 3.0, 0.0, 2.0, -5.0, -4.0, -1.0, -2.0]);
/// let (y, pullback) = relu_max_pool2d_batch_vjp::<_, _, _, _, _, 2, 2, 1, 1>(&x);
/// assert_eq!(y.as_flat(), &[3.0, 0.0]);
/// // The first sample's cotangent goes to its maximum; the second's window is all negative.
/// assert_eq!(pullback(Batch::from_flat(&[1.0, 2.0])).as_flat(), &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
/// ```
#[allow(clippy::type_complexity)]
pub fn relu_max_pool2d_batch_vjp<
    F: Scalar + Real,
    const N: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const K: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Batch<F, N, C, H, W>,
) -> (
    Batch<F, N, C, OH, OW>,
    impl FnOnce(Batch<F, N, C, OH, OW>) -> Batch<F, N, C, H, W> + use<F, N, C, H, W, K, S, OH, OW>,
) {
    shape_check!(N, C, H, W, K, S, OH, OW);
    let (y, arg): (Batch<F, N, C, OH, OW>, _) =
        max_pool::<F, true, _, N, C, H, W, K, S, OH, OW>(x.as_flat());
    let live = positive(y.as_flat());
    let pullback = move |mut ct: Batch<F, N, C, OH, OW>| {
        for (c, &l) in ct.as_flat_mut().iter_mut().zip(&live) {
            *c = if l { *c } else { F::zero() };
        }
        scatter(ct.as_flat(), &arg, N, C * H * W)
    };
    (y, pullback)
}
