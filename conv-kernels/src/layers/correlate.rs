//! The course's mathematician's view of convolution, single channel: `convolve2d` (true
//! convolution, kernel flipped, associative and commutative in `Full` mode) and `correlate2d`
//! (no flip, what the layers compute), each with the three output modes of MATLAB's
//! `conv2(x, w, shape)`.
//!
//! For an `XH x XW` input and a `KH x KW` kernel, the output is
//!
//! | mode | rows | MATLAB |
//! |---|---|---|
//! | [`Mode::Full`] | `XH + KH - 1` | `conv2(x, w, 'full')` |
//! | [`Mode::Same`] | `XH` (the centre of `Full`, starting at row `KH / 2`) | `conv2(x, w, 'same')` |
//! | [`Mode::Valid`] | `XH - KH + 1` (no padding; `0` if the kernel is larger) | `conv2(x, w, 'valid')` |
//!
//! and likewise for columns. The output size is a const parameter of the output type; since the
//! mode is a run-time value, the compile-time check is that it is one of the three sizes, and
//! the exact size is checked against the mode when the function runs (a mismatch panics).
//!
//! `correlate2d(x, w, mode)` is MATLAB's `filter2(w, x, mode)`, that is
//! `conv2(x, rot90(w, 2), mode)`.

use autodiff_core::Real;

use crate::Scalar;
use crate::tensor::Mat;

/// The output modes of MATLAB's `conv2`: how much of the full convolution to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The full convolution: every position where `x` and the kernel overlap, size `n + m - 1`.
    Full,
    /// The central part of `Full` of the input's size `n` (MATLAB's centring: the part of
    /// `Full` that starts at `m / 2`).
    Same,
    /// Only the positions where the kernel fits inside `x`, size `n - m + 1` (`0` if `m > n`).
    Valid,
}

impl Mode {
    /// The output length along an axis where the input has length `n` and the kernel `m >= 1`.
    ///
    /// ```
    /// use conv_kernels::layers::Mode;
    /// assert_eq!(Mode::Full.output_len(5, 3), 7);
    /// assert_eq!(Mode::Same.output_len(5, 3), 5);
    /// assert_eq!(Mode::Valid.output_len(5, 3), 3);
    /// assert_eq!(Mode::Valid.output_len(2, 3), 0);
    /// ```
    pub const fn output_len(self, n: usize, m: usize) -> usize {
        match self {
            Mode::Full => n + m - 1,
            Mode::Same => n,
            Mode::Valid => (n + 1).saturating_sub(m),
        }
    }

    /// Where the output starts within the `Full` output.
    const fn offset(self, m: usize) -> usize {
        match self {
            Mode::Full => 0,
            Mode::Same => m / 2,
            Mode::Valid => m - 1,
        }
    }
}

/// Whether `o` is the output length of some mode (evaluated at compile time).
const fn some_mode_len(n: usize, m: usize, o: usize) -> bool {
    m > 0 && (o == n + m - 1 || o == n || o == (n + 1).saturating_sub(m))
}

/// The compile-time check (output size of some mode) and the run-time check (of this mode).
fn check_shape<
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    name: &str,
    mode: Mode,
) {
    const {
        assert!(
            some_mode_len(XH, KH, OH) && some_mode_len(XW, KW, OW),
            "correlate2d/convolve2d: the output size must be that of Full (N + m - 1), Same (N) \
             or Valid (N - m + 1)"
        )
    };
    assert!(
        OH == mode.output_len(XH, KH) && OW == mode.output_len(XW, KW),
        "{name}: an output of {OH}x{OW} for an input of {XH}x{XW} and a kernel of {KH}x{KW} in \
         mode {mode:?}; that mode gives {}x{}",
        mode.output_len(XH, KH),
        mode.output_len(XW, KW)
    );
}

/// The range of kernel rows `u` for which input row `base + u` lies in `0..n`.
#[inline]
fn overlap(base: isize, m: usize, n: usize) -> core::ops::Range<usize> {
    let lo = (-base).clamp(0, m as isize) as usize;
    let hi = (n as isize - base).clamp(lo as isize, m as isize) as usize;
    lo..hi
}

/// `y[i][j] += Σ_{u,v} w[u][v] x[i + u + sh][j + v + sw]` (zeros outside `x`), where
/// `(sh, sw)` is the mode's offset minus `(KH - 1, KW - 1)`.
fn correlate_add<
    F: Scalar,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[[F; XW]; XH],
    w: &[[F; KW]; KH],
    mode: Mode,
    y: &mut [[F; OW]; OH],
) {
    let sh = mode.offset(KH) as isize - (KH as isize - 1);
    let sw = mode.offset(KW) as isize - (KW as isize - 1);
    for (i, yrow) in y.iter_mut().enumerate() {
        let bh = i as isize + sh;
        for (j, yv) in yrow.iter_mut().enumerate() {
            let bw = j as isize + sw;
            let mut acc = *yv;
            for u in overlap(bh, KH, XH) {
                let xrow = &x[(bh + u as isize) as usize];
                for v in overlap(bw, KW, XW) {
                    acc = acc + w[u][v] * xrow[(bw + v as isize) as usize];
                }
            }
            *yv = acc;
        }
    }
}

/// The adjoint of [`correlate_add`] in both arguments: `dx += ∂/∂x <ct, x ⋆ w>`,
/// `dw += ∂/∂w <ct, x ⋆ w>`.
#[allow(clippy::too_many_arguments)]
fn correlate_backward<
    F: Scalar,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[[F; XW]; XH],
    w: &[[F; KW]; KH],
    mode: Mode,
    ct: &[[F; OW]; OH],
    dx: &mut [[F; XW]; XH],
    dw: &mut [[F; KW]; KH],
) {
    let sh = mode.offset(KH) as isize - (KH as isize - 1);
    let sw = mode.offset(KW) as isize - (KW as isize - 1);
    for (i, crow) in ct.iter().enumerate() {
        let bh = i as isize + sh;
        for (j, &g) in crow.iter().enumerate() {
            let bw = j as isize + sw;
            for u in overlap(bh, KH, XH) {
                let r = (bh + u as isize) as usize;
                for v in overlap(bw, KW, XW) {
                    let c = (bw + v as isize) as usize;
                    dx[r][c] = dx[r][c] + g * w[u][v];
                    dw[u][v] = dw[u][v] + g * x[r][c];
                }
            }
        }
    }
}

/// The kernel rotated by 180 degrees (`rot90(w, 2)`).
fn flip<F: Scalar, const KH: usize, const KW: usize>(w: &Mat<F, KH, KW>) -> Mat<F, KH, KW> {
    Mat::from_matrix_fn(|u, v| w[KH - 1 - u][KW - 1 - v])
}

/// Single-channel 2-D cross-correlation (no kernel flip), as MATLAB's `filter2(w, x, mode)`:
/// `y[i][j] = Σ_{u,v} w[u][v] x[i + u - (KH - 1) + o_h][j + v - (KW - 1) + o_w]`, zeros outside
/// `x`, where `(o_h, o_w)` is where the mode's output starts within the full output (`0` for
/// `Full`, `KH / 2` for `Same`, `KH - 1` for `Valid`). In `Valid` mode this is exactly what the
/// convolution layers compute.
///
/// # Panics
/// If `(OH, OW)` is not the output size of `mode` (whether it is the output size of some mode
/// is checked at compile time).
///
/// ```
/// use conv_kernels::layers::{Mode, correlate2d};
/// use conv_kernels::tensor::Mat;
/// let x: Mat<f64, 3, 3> = Mat::from_flat_fn(|i| i as f64);
/// let w: Mat<f64, 2, 2> = Mat::from_flat(&[1.0, 0.0, 0.0, -1.0]);
/// let y: Mat<f64, 2, 2> = correlate2d(&x, &w, Mode::Valid); // N - m + 1 = 2
/// assert_eq!(*y, [[-4.0, -4.0], [-4.0, -4.0]]);
/// ```
pub fn correlate2d<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
) -> Mat<F, OH, OW> {
    check_shape::<XH, XW, KH, KW, OH, OW>("correlate2d", mode);
    let mut y = Mat::zeros();
    correlate_add(x, w, mode, &mut y);
    y
}

/// Forward mode of [`correlate2d`] (bilinear): `dy = dx ⋆ w + x ⋆ dw`. `mode` is passive.
///
/// ```
/// use conv_kernels::layers::{Mode, correlate2d_jvp};
/// use conv_kernels::tensor::Mat;
/// let x: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let w: Mat<f64, 1, 1> = Mat::from_flat(&[3.0]);
/// let (y, dy) = correlate2d_jvp::<_, 1, 2, 1, 1, 1, 2>(&x, &w, Mode::Same, &x, &w);
/// assert_eq!((*y, *dy), ([[3.0, 6.0]], [[6.0, 12.0]]));
/// ```
pub fn correlate2d_jvp<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
    tx: &Mat<F, XH, XW>,
    tw: &Mat<F, KH, KW>,
) -> (Mat<F, OH, OW>, Mat<F, OH, OW>) {
    let y = correlate2d(x, w, mode);
    let mut dy = Mat::zeros();
    correlate_add(tx, w, mode, &mut dy);
    correlate_add(x, tw, mode, &mut dy);
    (y, dy)
}

/// Reverse mode of [`correlate2d`]: the pullback maps `ct` to `(dx, dw)`, the adjoints of the
/// input and the kernel (`mode` is passive). It owns copies of `x` and `w`.
///
/// ```
/// use conv_kernels::layers::{Mode, correlate2d_vjp};
/// use conv_kernels::tensor::Mat;
/// let x: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[3.0, 4.0]);
/// let (y, pullback) = correlate2d_vjp::<_, 1, 2, 1, 2, 1, 1>(&x, &w, Mode::Valid);
/// assert_eq!(y[0][0], 11.0);
/// let (dx, dw) = pullback(Mat::from_flat(&[1.0]));
/// assert_eq!((*dx, *dw), ([[3.0, 4.0]], [[1.0, 2.0]]));
/// ```
#[allow(clippy::type_complexity)]
pub fn correlate2d_vjp<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
) -> (
    Mat<F, OH, OW>,
    impl FnOnce(Mat<F, OH, OW>) -> (Mat<F, XH, XW>, Mat<F, KH, KW>) + use<F, XH, XW, KH, KW, OH, OW>,
) {
    let y = correlate2d(x, w, mode);
    let (x, w) = (x.clone(), w.clone());
    let pullback = move |ct: Mat<F, OH, OW>| {
        let (mut dx, mut dw) = (Mat::zeros(), Mat::zeros());
        correlate_backward(&x, &w, mode, &ct, &mut dx, &mut dw);
        (dx, dw)
    };
    (y, pullback)
}

/// Single-channel 2-D convolution, kernel flipped, as MATLAB's `conv2(x, w, mode)`:
/// `full[i][j] = Σ_{p,q} x[p][q] w[i - p][j - q]`, of which `mode` keeps a part (see [`Mode`]).
/// True convolution is commutative and associative in `Full` mode:
/// `(a * b) * c == a * (b * c)`.
///
/// # Panics
/// If `(OH, OW)` is not the output size of `mode` (whether it is the output size of some mode
/// is checked at compile time).
///
/// ```
/// use conv_kernels::layers::{Mode, convolve2d};
/// use conv_kernels::tensor::Mat;
/// // MATLAB: conv([1 2 3], [1 1]) = [1 3 5 3]; conv(.., 'same') = [3 5 3]
/// let x: Mat<f64, 1, 3> = Mat::from_flat(&[1.0, 2.0, 3.0]);
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 1.0]);
/// let full: Mat<f64, 1, 4> = convolve2d(&x, &w, Mode::Full);
/// let same: Mat<f64, 1, 3> = convolve2d(&x, &w, Mode::Same);
/// assert_eq!((*full, *same), ([[1.0, 3.0, 5.0, 3.0]], [[3.0, 5.0, 3.0]]));
/// ```
pub fn convolve2d<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
) -> Mat<F, OH, OW> {
    check_shape::<XH, XW, KH, KW, OH, OW>("convolve2d", mode);
    let mut y = Mat::zeros();
    correlate_add(x, &flip(w), mode, &mut y);
    y
}

/// Forward mode of [`convolve2d`] (bilinear): `dy = dx * w + x * dw`. `mode` is passive.
///
/// ```
/// use conv_kernels::layers::{Mode, convolve2d_jvp};
/// use conv_kernels::tensor::Mat;
/// let x: Mat<f64, 1, 1> = Mat::from_flat(&[2.0]);
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[3.0, 4.0]);
/// let (y, dy) = convolve2d_jvp::<_, 1, 1, 1, 2, 1, 2>(&x, &w, Mode::Full, &x, &w);
/// assert_eq!((*y, *dy), ([[6.0, 8.0]], [[12.0, 16.0]]));
/// ```
pub fn convolve2d_jvp<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
    tx: &Mat<F, XH, XW>,
    tw: &Mat<F, KH, KW>,
) -> (Mat<F, OH, OW>, Mat<F, OH, OW>) {
    check_shape::<XH, XW, KH, KW, OH, OW>("convolve2d", mode);
    let (wf, twf) = (flip(w), flip(tw));
    let mut y = Mat::zeros();
    correlate_add(x, &wf, mode, &mut y);
    let mut dy = Mat::zeros();
    correlate_add(tx, &wf, mode, &mut dy);
    correlate_add(x, &twf, mode, &mut dy);
    (y, dy)
}

/// Reverse mode of [`convolve2d`]: the pullback maps `ct` to `(dx, dw)` (`mode` is passive).
/// It owns copies of `x` and the flipped kernel.
///
/// ```
/// use conv_kernels::layers::{Mode, convolve2d_vjp};
/// use conv_kernels::tensor::Mat;
/// let x: Mat<f64, 1, 1> = Mat::from_flat(&[2.0]);
/// let w: Mat<f64, 1, 2> = Mat::from_flat(&[3.0, 4.0]);
/// let (y, pullback) = convolve2d_vjp::<_, 1, 1, 1, 2, 1, 2>(&x, &w, Mode::Full);
/// let (dx, dw) = pullback(Mat::from_flat(&[1.0, 10.0]));
/// assert_eq!((*dx, *dw), ([[43.0]], [[2.0, 20.0]]));
/// ```
#[allow(clippy::type_complexity)]
pub fn convolve2d_vjp<
    F: Scalar + Real,
    const XH: usize,
    const XW: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &Mat<F, XH, XW>,
    w: &Mat<F, KH, KW>,
    mode: Mode,
) -> (
    Mat<F, OH, OW>,
    impl FnOnce(Mat<F, OH, OW>) -> (Mat<F, XH, XW>, Mat<F, KH, KW>) + use<F, XH, XW, KH, KW, OH, OW>,
) {
    check_shape::<XH, XW, KH, KW, OH, OW>("convolve2d", mode);
    let wf = flip(w);
    let mut y = Mat::zeros();
    correlate_add(x, &wf, mode, &mut y);
    let x = x.clone();
    let pullback = move |ct: Mat<F, OH, OW>| {
        let (mut dx, mut dwf) = (Mat::zeros(), Mat::zeros());
        correlate_backward(&x, &wf, mode, &ct, &mut dx, &mut dwf);
        (dx, flip(&dwf))
    };
    (y, pullback)
}
