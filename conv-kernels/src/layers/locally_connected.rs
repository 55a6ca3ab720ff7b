//! The course's locally connected layer: a convolution whose weights are not shared, one
//! filter bank per output position. Direct loops.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::{Image, Tensor};

/// Weights of a locally connected layer: for each output position `(i, j)` of an `OH x OW`
/// grid, `O` filters of shape `(C, KH, KW)`: `(OH, OW, O, C, KH, KW)`.
pub type LocalWeights<
    F,
    const OH: usize,
    const OW: usize,
    const O: usize,
    const C: usize,
    const KH: usize,
    const KW: usize,
> = Tensor<[[[[[[F; KW]; KH]; C]; O]; OW]; OH]>;

/// Whether a locally connected shape is consistent (evaluated at compile time).
const fn shape_ok(
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: usize,
    oh: usize,
    ow: usize,
) -> bool {
    s > 0
        && kh > 0
        && kw > 0
        && kh <= h
        && kw <= w
        && oh == (h - kh) / s + 1
        && ow == (w - kw) / s + 1
}

macro_rules! shape_check {
    ($h:expr, $w:expr, $kh:expr, $kw:expr, $s:expr, $oh:expr, $ow:expr) => {
        const {
            assert!(
                shape_ok($h, $w, $kh, $kw, $s, $oh, $ow),
                "locally_connected2d: the output size must be OH = (H - KH) / S + 1, \
                 OW = (W - KW) / S + 1, with 0 < KH <= H, 0 < KW <= W and S > 0"
            )
        }
    };
}

/// `y += w ⋆ x`, each output position with its own filters.
#[allow(clippy::type_complexity)]
fn local_add<
    F: Scalar,
    const S: usize,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    w: &[[[[[[F; KW]; KH]; C]; O]; OW]; OH],
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; O],
) {
    for i in 0..OH {
        for j in 0..OW {
            for o in 0..O {
                let mut acc = y[o][i][j];
                for c in 0..C {
                    for p in 0..KH {
                        let xrow = &x[c][i * S + p][j * S..j * S + KW];
                        for (&wv, &xv) in w[i][j][o][c][p].iter().zip(xrow) {
                            acc = acc + wv * xv;
                        }
                    }
                }
                y[o][i][j] = acc;
            }
        }
    }
}

/// Locally connected 2-D layer (unshared weights): for each output position `(i, j)` its own
/// `O` filters `w[i][j]` of shape `(C, KH, KW)`, applied (as a cross-correlation) to the window
/// of `x` at `(i S, j S)`, plus a bias per output unit:
/// `y[o][i][j] = b[o][i][j] + Σ_{c,p,q} w[i][j][o][c][p][q] x[c][i S + p][j S + q]`.
///
/// Shapes: input `(C, H, W)`, weights `(OH, OW, O, C, KH, KW)`, output and bias `(O, OH, OW)`
/// with `OH == (H - KH) / S + 1` and `OW == (W - KW) / S + 1` (checked at compile time); no
/// padding. The arguments and generic parameters come in the order of `conv2d`'s (`x, w, b`
/// and `<F, C, H, W, O, KH, KW, S, OH, OW>`), so
/// `locally_connected2d::<_, _, _, _, _, _, _, S, _, _>(&x, &w, &b)` names only the stride.
///
/// ```
/// use conv_kernels::layers::{LocalWeights, locally_connected2d};
/// use conv_kernels::tensor::Image;
/// // 1x3 input, windows of width 2 at two positions, each with its own weights
/// let w: LocalWeights<f64, 1, 2, 1, 1, 1, 2> = LocalWeights::from_flat(&[1.0, 1.0, 1.0, -1.0]);
/// let b: Image<f64, 1, 1, 2> = Image::zeros();
/// let x: Image<f64, 1, 1, 3> = Image::from_flat(&[1.0, 2.0, 4.0]);
/// let y = locally_connected2d::<_, _, _, _, _, _, _, 1, _, _>(&x, &w, &b);
/// assert_eq!(*y, [[[3.0, -2.0]]]);
/// ```
pub fn locally_connected2d<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &LocalWeights<F, OH, OW, O, C, KH, KW>,
    b: &Image<F, O, OH, OW>,
) -> Image<F, O, OH, OW> {
    shape_check!(H, W, KH, KW, S, OH, OW);
    let mut y = b.clone();
    local_add::<F, S, C, H, W, O, KH, KW, OH, OW>(w, x, &mut y);
    y
}

/// Forward mode of [`locally_connected2d`]: `dy = w ⋆ dx + dw ⋆ x + db` (bilinear in `(x, w)`),
/// along the tangents `(tx, tw, tb)`.
///
/// ```
/// use conv_kernels::layers::{LocalWeights, locally_connected2d_jvp};
/// use conv_kernels::tensor::Image;
/// let w: LocalWeights<f64, 1, 1, 1, 1, 1, 1> = LocalWeights::from_flat(&[2.0]);
/// let b: Image<f64, 1, 1, 1> = Image::from_flat(&[0.0]);
/// let x: Image<f64, 1, 1, 1> = Image::from_flat(&[3.0]);
/// let (y, dy) = locally_connected2d_jvp::<_, _, _, _, _, _, _, 1, _, _>(&x, &w, &b, &x, &w, &b);
/// assert_eq!((y[0][0][0], dy[0][0][0]), (6.0, 12.0));
/// ```
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn locally_connected2d_jvp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &LocalWeights<F, OH, OW, O, C, KH, KW>,
    b: &Image<F, O, OH, OW>,
    tx: &Image<F, C, H, W>,
    tw: &LocalWeights<F, OH, OW, O, C, KH, KW>,
    tb: &Image<F, O, OH, OW>,
) -> (Image<F, O, OH, OW>, Image<F, O, OH, OW>) {
    let y = locally_connected2d::<F, C, H, W, O, KH, KW, S, OH, OW>(x, w, b);
    let mut dy = tb.clone();
    local_add::<F, S, C, H, W, O, KH, KW, OH, OW>(tw, x, &mut dy);
    local_add::<F, S, C, H, W, O, KH, KW, OH, OW>(w, tx, &mut dy);
    (y, dy)
}

/// Reverse mode of [`locally_connected2d`]: the pullback maps `ct` `(O, OH, OW)` to
/// `(dx, dw, db)`: `dx` the sum of `ct[o][i][j] w[i][j][o]` over the windows covering each
/// input, `dw[i][j][o][c][p][q] = ct[o][i][j] x[c][i S + p][j S + q]` and `db = ct`. It owns
/// copies of `x` and `w`.
///
/// ```
/// use conv_kernels::layers::{LocalWeights, locally_connected2d_vjp};
/// use conv_kernels::tensor::Image;
/// let w: LocalWeights<f64, 1, 1, 1, 1, 1, 1> = LocalWeights::from_flat(&[2.0]);
/// let b: Image<f64, 1, 1, 1> = Image::from_flat(&[0.0]);
/// let x: Image<f64, 1, 1, 1> = Image::from_flat(&[3.0]);
/// let (y, pullback) = locally_connected2d_vjp::<_, _, _, _, _, _, _, 1, _, _>(&x, &w, &b);
/// let (dx, dw, db) = pullback(Image::from_flat(&[1.0]));
/// assert_eq!((dx.as_flat(), dw.as_flat(), db.as_flat()), (&[2.0][..], &[3.0][..], &[1.0][..]));
/// ```
#[allow(clippy::type_complexity)]
pub fn locally_connected2d_vjp<
    F: Scalar + Real,
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Image<F, C, H, W>,
    w: &LocalWeights<F, OH, OW, O, C, KH, KW>,
    b: &Image<F, O, OH, OW>,
) -> (
    Image<F, O, OH, OW>,
    impl FnOnce(
        Image<F, O, OH, OW>,
    ) -> (
        Image<F, C, H, W>,
        LocalWeights<F, OH, OW, O, C, KH, KW>,
        Image<F, O, OH, OW>,
    ) + use<F, C, H, W, O, KH, KW, S, OH, OW>,
) {
    let y = locally_connected2d::<F, C, H, W, O, KH, KW, S, OH, OW>(x, w, b);
    let (w, x) = (w.clone(), x.clone());
    let pullback = move |ct: Image<F, O, OH, OW>| {
        let mut dw = LocalWeights::<F, OH, OW, O, C, KH, KW>::zeros();
        let mut dx = Image::<F, C, H, W>::zeros();
        for i in 0..OH {
            for j in 0..OW {
                for o in 0..O {
                    let g = ct[o][i][j];
                    for c in 0..C {
                        for p in 0..KH {
                            let xrow = &x[c][i * S + p][j * S..j * S + KW];
                            let dxrow = &mut dx[c][i * S + p][j * S..j * S + KW];
                            let wrow = &w[i][j][o][c][p];
                            for (q, dwv) in dw[i][j][o][c][p].iter_mut().enumerate() {
                                *dwv = g * xrow[q];
                                dxrow[q] = dxrow[q] + g * wrow[q];
                            }
                        }
                    }
                }
            }
        }
        (dx, dw, ct)
    };
    (y, pullback)
}
