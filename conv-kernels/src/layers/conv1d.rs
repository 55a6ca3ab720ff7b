//! 1-D convolution (cross-correlation, as in PyTorch's `conv1d`) of one sample `(C, L)` with `O`
//! filters `(C, K)`, stride `S`, zero padding `P` and a bias: direct loops.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::{Mat, Tensor, Vector};

/// `O` one-dimensional filters of `C` channels and width `K`: `(O, C, K)`.
pub type Filters1d<F, const O: usize, const C: usize, const K: usize> = Tensor<[[[F; K]; C]; O]>;

/// Whether a conv1d shape is consistent (evaluated at compile time).
const fn conv1d_shape_ok(l: usize, k: usize, s: usize, p: usize, ol: usize) -> bool {
    s > 0 && k > 0 && k <= l + 2 * p && ol == (l + 2 * p - k) / s + 1
}

macro_rules! shape_check {
    ($l:expr, $k:expr, $s:expr, $p:expr, $ol:expr) => {
        const {
            assert!(
                conv1d_shape_ok($l, $k, $s, $p, $ol),
                "conv1d: the output length must be OL = (L + 2P - K) / S + 1, with 0 < K <= L + 2P \
                 and S > 0"
            )
        }
    };
}

/// The input position read by output `j` and tap `k`, if it is not in the zero padding.
#[inline(always)]
fn tap<const S: usize, const P: usize, const L: usize>(j: usize, k: usize) -> Option<usize> {
    (j * S + k).checked_sub(P).filter(|&i| i < L)
}

/// `y += w ⋆ x` (the bilinear part of the layer).
fn correlate_add<
    F: Scalar,
    const S: usize,
    const P: usize,
    const O: usize,
    const C: usize,
    const K: usize,
    const L: usize,
    const OL: usize,
>(
    w: &[[[F; K]; C]; O],
    x: &[[F; L]; C],
    y: &mut [[F; OL]; O],
) {
    for (wo, yo) in w.iter().zip(y.iter_mut()) {
        for (j, yj) in yo.iter_mut().enumerate() {
            let mut acc = *yj;
            for (woc, xc) in wo.iter().zip(x) {
                for (k, &wk) in woc.iter().enumerate() {
                    if let Some(i) = tap::<S, P, L>(j, k) {
                        acc = acc + wk * xc[i];
                    }
                }
            }
            *yj = acc;
        }
    }
}

/// A bias broadcast along the length: the initial value of the output.
fn broadcast<F: Scalar, const O: usize, const OL: usize>(b: &Vector<F, O>) -> Mat<F, O, OL> {
    Mat::from_fn(|o| [b[o]; OL])
}

/// 1-D convolution layer (cross-correlation, no kernel flip, as PyTorch's `conv1d`):
/// `y[o][j] = b[o] + Σ_c Σ_k w[o][c][k] x[c][j S + k - P]`, reading zeros outside `0..L`.
///
/// Shapes: input `(C, L)`, filters `(O, C, K)`, bias `(O)`, output `(O, OL)` with
/// `OL == (L + 2P - K) / S + 1` (checked at compile time). The arguments and generic parameters
/// come in the order of `conv2d`'s (`x, w, b` and `<F, C, L, O, K, S, P, OL>`): name the stride
/// and padding and let the shapes be inferred: `conv1d::<_, _, _, _, _, S, P, _>(&x, &w, &b)`.
///
/// ```
/// use conv_kernels::layers::{Filters1d, conv1d};
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Filters1d<f64, 1, 1, 2> = Filters1d::from_flat(&[1.0, -1.0]);
/// let b = Vector::from_array([0.5]);
/// let x: Mat<f64, 1, 4> = Mat::from_flat(&[1.0, 2.0, 4.0, 8.0]);
/// let y: Mat<f64, 1, 3> = conv1d::<_, _, _, _, _, 1, 0, _>(&x, &w, &b);
/// assert_eq!(*y, [[-0.5, -1.5, -3.5]]);
/// ```
pub fn conv1d<
    F: Scalar + Real,
    const C: usize,
    const L: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OL: usize,
>(
    x: &Mat<F, C, L>,
    w: &Filters1d<F, O, C, K>,
    b: &Vector<F, O>,
) -> Mat<F, O, OL> {
    shape_check!(L, K, S, P, OL);
    let mut y = broadcast(b);
    correlate_add::<F, S, P, O, C, K, L, OL>(w, x, &mut y);
    y
}

/// Forward mode of [`conv1d`]: `dy = w ⋆ dx + dw ⋆ x + db` (bilinear in `(x, w)`), along the
/// tangents `(tx, tw, tb)`.
///
/// ```
/// use conv_kernels::layers::{Filters1d, conv1d_jvp};
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Filters1d<f64, 1, 1, 1> = Filters1d::from_flat(&[2.0]);
/// let x: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 3.0]);
/// let (b, tb) = (Vector::from_array([0.0]), Vector::from_array([1.0]));
/// let tw: Filters1d<f64, 1, 1, 1> = Filters1d::from_flat(&[1.0]);
/// let tx: Mat<f64, 1, 2> = Mat::from_flat(&[0.0, 1.0]);
/// let (y, dy) = conv1d_jvp::<_, _, _, _, _, 1, 0, 2>(&x, &w, &b, &tx, &tw, &tb);
/// assert_eq!(*dy, [[1.0 + 1.0, 3.0 + 2.0 + 1.0]]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn conv1d_jvp<
    F: Scalar + Real,
    const C: usize,
    const L: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OL: usize,
>(
    x: &Mat<F, C, L>,
    w: &Filters1d<F, O, C, K>,
    b: &Vector<F, O>,
    tx: &Mat<F, C, L>,
    tw: &Filters1d<F, O, C, K>,
    tb: &Vector<F, O>,
) -> (Mat<F, O, OL>, Mat<F, O, OL>) {
    let y = conv1d::<F, C, L, O, K, S, P, OL>(x, w, b);
    let mut dy = broadcast(tb);
    correlate_add::<F, S, P, O, C, K, L, OL>(tw, x, &mut dy);
    correlate_add::<F, S, P, O, C, K, L, OL>(w, tx, &mut dy);
    (y, dy)
}

/// Reverse mode of [`conv1d`]: the pullback maps `ct` `(O, OL)` to `(dx, dw, db)`:
/// `dx[c][i] = Σ ct[o][j] w[o][c][k]` over the `(o, j, k)` that read `x[c][i]`,
/// `dw[o][c][k] = Σ_j ct[o][j] x[c][j S + k - P]` and `db[o] = Σ_j ct[o][j]`. It owns copies
/// of `x` and `w`.
///
/// ```
/// use conv_kernels::layers::{Filters1d, conv1d_vjp};
/// use conv_kernels::tensor::{Mat, Vector};
/// let w: Filters1d<f64, 1, 1, 1> = Filters1d::from_flat(&[2.0]);
/// let x: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 3.0]);
/// let (y, pullback) = conv1d_vjp::<_, _, _, _, _, 1, 0, 2>(&x, &w, &Vector::from_array([0.0]));
/// let (dx, dw, db) = pullback(Mat::from_flat(&[1.0, 1.0]));
/// assert_eq!((*dx, *dw, *db), ([[2.0, 2.0]], [[[4.0]]], [2.0]));
/// ```
#[allow(clippy::type_complexity)]
pub fn conv1d_vjp<
    F: Scalar + Real,
    const C: usize,
    const L: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OL: usize,
>(
    x: &Mat<F, C, L>,
    w: &Filters1d<F, O, C, K>,
    b: &Vector<F, O>,
) -> (
    Mat<F, O, OL>,
    impl FnOnce(Mat<F, O, OL>) -> (Mat<F, C, L>, Filters1d<F, O, C, K>, Vector<F, O>)
    + use<F, C, L, O, K, S, P, OL>,
) {
    let y = conv1d::<F, C, L, O, K, S, P, OL>(x, w, b);
    let (w, x) = (w.clone(), x.clone());
    let pullback = move |ct: Mat<F, O, OL>| {
        let mut dw = Filters1d::<F, O, C, K>::zeros();
        let mut dx = Mat::<F, C, L>::zeros();
        let db = Vector::from_fn(|o| ct[o].iter().fold(F::zero(), |a, &v| a + v));
        for o in 0..O {
            for (j, &g) in ct[o].iter().enumerate() {
                for c in 0..C {
                    for k in 0..K {
                        if let Some(i) = tap::<S, P, L>(j, k) {
                            dw[o][c][k] = dw[o][c][k] + g * x[c][i];
                            dx[c][i] = dx[c][i] + g * w[o][c][k];
                        }
                    }
                }
            }
        }
        (dx, dw, db)
    };
    (y, pullback)
}
