//! `im2col` and its adjoint `col2im`: a convolution as one matrix product.
//!
//! For one image `(C, H, W)` and a `KH x KW` window moved with stride `S` over the image
//! zero-padded by `P` on every side, `im2col` builds the `K x L` matrix with
//! `K = C * KH * KW` rows (one per filter tap `(c, i, j)`, in the order of [`Filters`]) and
//! `L = OH * OW` columns (one per output pixel `(oy, ox)`, row-major):
//!
//! ```text
//! col[(c * KH + i) * KW + j][oy * OW + ox] = x[c][oy * S + i - P][ox * S + j - P]   (0 outside)
//! ```
//!
//! so that a cross-correlation with `O` filters is `W (O x K) · col (K x L)`, an `O x L`
//! matrix that is the output image `(O, OH, OW)`. [`col2im`] is the adjoint (transpose):
//! it scatters each column entry back to its pixel and sums the overlaps.
//!
//! Stable Rust cannot write `C * KH * KW` in a type, so the output sizes `OH`, `OW` and the
//! matrix sizes `K`, `L` are const parameters, checked at compile time.
//!
//! [`Filters`]: crate::Filters

use crate::{Image, Mat, Scalar};

/// The geometry of an `im2col` at run time: an image `(channels, height, width)` and a
/// `kernel_h x kernel_w` window with the given stride and zero padding.
///
/// ```
/// use conv_kernels::conv::im2col::Im2colShape;
/// let s = Im2colShape { channels: 3, height: 32, width: 32, kernel_h: 5, kernel_w: 5, stride: 1, padding: 0 };
/// assert_eq!((s.out_h(), s.out_w(), s.rows(), s.cols()), (28, 28, 75, 784));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Im2colShape {
    /// Channels `C` of the image.
    pub channels: usize,
    /// Height `H` of the image.
    pub height: usize,
    /// Width `W` of the image.
    pub width: usize,
    /// Height `KH` of the window.
    pub kernel_h: usize,
    /// Width `KW` of the window.
    pub kernel_w: usize,
    /// Stride `S` (the same along both axes), at least 1.
    pub stride: usize,
    /// Zero padding `P` on each of the four sides.
    pub padding: usize,
}

/// `(size + 2 * padding - kernel) / stride + 1`, the number of window positions along one axis.
const fn out_size(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (size + 2 * padding - kernel) / stride + 1
}

/// The positions `o` in `lo..hi` whose input index `o * stride + tap - padding` falls inside
/// `0..size`: the rest read the zero padding.
fn valid_range(
    out: usize,
    size: usize,
    tap: usize,
    stride: usize,
    padding: usize,
) -> (usize, usize) {
    let lo = if padding > tap {
        (padding - tap).div_ceil(stride)
    } else {
        0
    };
    let hi = if size + padding > tap {
        (size + padding - tap - 1) / stride + 1
    } else {
        0
    };
    let lo = lo.min(out);
    (lo, hi.clamp(lo, out))
}

impl Im2colShape {
    /// The output height `OH = (H + 2P - KH) / S + 1`.
    pub fn out_h(&self) -> usize {
        self.check();
        out_size(self.height, self.kernel_h, self.stride, self.padding)
    }

    /// The output width `OW = (W + 2P - KW) / S + 1`.
    pub fn out_w(&self) -> usize {
        self.check();
        out_size(self.width, self.kernel_w, self.stride, self.padding)
    }

    /// The rows `K = C * KH * KW` of the column matrix.
    pub fn rows(&self) -> usize {
        self.channels * self.kernel_h * self.kernel_w
    }

    /// The columns `L = OH * OW` of the column matrix.
    pub fn cols(&self) -> usize {
        self.out_h() * self.out_w()
    }

    fn check(&self) {
        assert!(self.stride >= 1, "im2col: stride 0");
        assert!(
            self.height + 2 * self.padding >= self.kernel_h
                && self.width + 2 * self.padding >= self.kernel_w,
            "im2col: the {}x{} window is larger than the padded {}x{} image",
            self.kernel_h,
            self.kernel_w,
            self.height + 2 * self.padding,
            self.width + 2 * self.padding
        );
    }
}

/// `im2col` at run time: writes the `rows() x cols()` row-major column matrix of the image `x`
/// (`(C, H, W)` row-major) into `col`, overwriting it.
///
/// # Panics
/// If a slice length disagrees with the shape.
///
/// ```
/// use conv_kernels::conv::im2col::{im2col_slice, Im2colShape};
/// // One 3x3 channel, a 2x2 window, stride 1, no padding: four windows of four taps.
/// let shape = Im2colShape { channels: 1, height: 3, width: 3, kernel_h: 2, kernel_w: 2, stride: 1, padding: 0 };
/// let x: Vec<f64> = (1..=9).map(f64::from).collect();
/// let mut col = vec![0.0; 16];
/// im2col_slice(&shape, &x, &mut col);
/// assert_eq!(&col[..4], &[1.0, 2.0, 4.0, 5.0]); // tap (0, 0) of the four windows
/// ```
pub fn im2col_slice<F: Scalar>(shape: &Im2colShape, x: &[F], col: &mut [F]) {
    let (h, w) = (shape.height, shape.width);
    let (oh, ow, l) = (shape.out_h(), shape.out_w(), shape.cols());
    assert_eq!(x.len(), shape.channels * h * w, "im2col: image length");
    assert_eq!(col.len(), shape.rows() * l, "im2col: column matrix length");
    let (s, p) = (shape.stride, shape.padding);
    let zero = F::zero();
    // Every entry is written once: the runs read from the image, and zeros where the window
    // overhangs the padding (no fill of the whole matrix beforehand).
    let mut rows = col.chunks_exact_mut(l);
    for x_c in x.chunks_exact(h * w) {
        for i in 0..shape.kernel_h {
            let (oy_lo, oy_hi) = valid_range(oh, h, i, s, p);
            for j in 0..shape.kernel_w {
                let (ox_lo, ox_hi) = valid_range(ow, w, j, s, p);
                let row = rows.next().expect("im2col: C KH KW rows");
                if ox_lo == ox_hi {
                    row.fill(zero);
                    continue;
                }
                let ix_lo = ox_lo * s + j - p;
                let n = ox_hi - ox_lo;
                row[..oy_lo * ow].fill(zero);
                row[oy_hi * ow..].fill(zero);
                for (oy, out) in row.chunks_exact_mut(ow).enumerate().take(oy_hi).skip(oy_lo) {
                    let iy = oy * s + i - p;
                    let src = &x_c[iy * w + ix_lo..];
                    out[..ox_lo].fill(zero);
                    out[ox_hi..].fill(zero);
                    let out = &mut out[ox_lo..ox_hi];
                    if s == 1 {
                        copy_run(out, &src[..n]);
                    } else {
                        for (o, &v) in out.iter_mut().zip(src.iter().step_by(s)) {
                            *o = v;
                        }
                    }
                }
            }
        }
    }
}

/// `dst <- src` for a short run (one row of one window position or of an image, a few dozen
/// elements): an inline loop of fixed 8-element blocks, cheaper than a call to `memcpy` at
/// these lengths. Also used by the fused convolution (`conv::implicit`).
#[inline(always)]
pub(crate) fn copy_run<F: Copy>(dst: &mut [F], src: &[F]) {
    let src = &src[..dst.len()];
    let mut d8 = dst.chunks_exact_mut(8);
    let mut s8 = src.chunks_exact(8);
    for (d, s) in (&mut d8).zip(&mut s8) {
        let block: [F; 8] = core::array::from_fn(|t| s[t]);
        d.copy_from_slice(&block);
    }
    for (d, &s) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
        *d = s;
    }
}

/// `dst <- dst + src` for a short run, in fixed blocks of eight so that it vectorises (see
/// [`copy_run`]).
#[inline(always)]
pub(crate) fn add_run<F: Scalar>(dst: &mut [F], src: &[F]) {
    let src = &src[..dst.len()];
    let mut d8 = dst.chunks_exact_mut(8);
    let mut s8 = src.chunks_exact(8);
    for (d, s) in (&mut d8).zip(&mut s8) {
        let block: [F; 8] = core::array::from_fn(|t| d[t] + s[t]);
        d.copy_from_slice(&block);
    }
    for (d, &s) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
        *d = *d + s;
    }
}

/// `col2im` at run time, the adjoint of [`im2col_slice`]: **adds** every entry of the
/// `rows() x cols()` column matrix `col` to the pixel of `x` it was read from (entries that
/// came from the zero padding are dropped).
///
/// # Panics
/// If a slice length disagrees with the shape.
///
/// ```
/// use conv_kernels::conv::im2col::{col2im_slice, Im2colShape};
/// // Every 2x2 window of a 3x3 image adds 1 to each of its pixels: the centre is in all four.
/// let shape = Im2colShape { channels: 1, height: 3, width: 3, kernel_h: 2, kernel_w: 2, stride: 1, padding: 0 };
/// let mut x = vec![0.0; 9];
/// col2im_slice(&shape, &vec![1.0; 16], &mut x);
/// assert_eq!(x, [1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
/// ```
pub fn col2im_slice<F: Scalar>(shape: &Im2colShape, col: &[F], x: &mut [F]) {
    let (h, w) = (shape.height, shape.width);
    let (oh, ow, l) = (shape.out_h(), shape.out_w(), shape.cols());
    assert_eq!(x.len(), shape.channels * h * w, "col2im: image length");
    assert_eq!(col.len(), shape.rows() * l, "col2im: column matrix length");
    let (s, p) = (shape.stride, shape.padding);
    let mut rows = col.chunks_exact(l);
    for x_c in x.chunks_exact_mut(h * w) {
        for i in 0..shape.kernel_h {
            let (oy_lo, oy_hi) = valid_range(oh, h, i, s, p);
            for j in 0..shape.kernel_w {
                let (ox_lo, ox_hi) = valid_range(ow, w, j, s, p);
                let row = rows.next().expect("col2im: C KH KW rows");
                if ox_lo == ox_hi {
                    continue;
                }
                let ix_lo = ox_lo * s + j - p;
                let n = ox_hi - ox_lo;
                for (oy, from) in row.chunks_exact(ow).enumerate().take(oy_hi).skip(oy_lo) {
                    let iy = oy * s + i - p;
                    let dst = &mut x_c[iy * w + ix_lo..];
                    let from = &from[ox_lo..ox_hi];
                    if s == 1 {
                        add_run(&mut dst[..n], from);
                    } else {
                        for (xi, &v) in dst.iter_mut().step_by(s).zip(from) {
                            *xi = *xi + v;
                        }
                    }
                }
            }
        }
    }
}

/// Compile-time checks of an `im2col` geometry.
struct Geometry<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>;

impl<
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
> Geometry<C, H, W, KH, KW, S, P, OH, OW, K, L>
{
    /// The run-time shape, after the compile-time checks.
    const SHAPE: Im2colShape = {
        assert!(S >= 1, "im2col: the stride S must be at least 1");
        assert!(
            H + 2 * P >= KH && W + 2 * P >= KW,
            "im2col: the window is larger than the padded image"
        );
        assert!(
            OH == out_size(H, KH, S, P),
            "im2col: OH must be (H + 2P - KH) / S + 1"
        );
        assert!(
            OW == out_size(W, KW, S, P),
            "im2col: OW must be (W + 2P - KW) / S + 1"
        );
        assert!(K == C * KH * KW, "im2col: K must be C * KH * KW");
        assert!(L == OH * OW, "im2col: L must be OH * OW");
        Im2colShape {
            channels: C,
            height: H,
            width: W,
            kernel_h: KH,
            kernel_w: KW,
            stride: S,
            padding: P,
        }
    };
}

/// The `K x L` column matrix of the image `x` for a `KH x KW` window with stride `S` and zero
/// padding `P` (see the [module documentation](self)). Every size is checked at compile
/// time: `OH = (H + 2P - KH) / S + 1`, `OW = (W + 2P - KW) / S + 1`, `K = C KH KW`,
/// `L = OH OW`.
///
/// ```
/// use conv_kernels::conv::im2col::im2col;
/// use conv_kernels::{Image, Mat};
/// let x: Image<f32, 1, 3, 3> = Image::from_flat_fn(|i| i as f32);
/// // 2x2 window, stride 1, padding 1: 4x4 output positions.
/// let col: Mat<f32, 4, 16> = im2col::<f32, 1, 3, 3, 2, 2, 1, 1, 4, 4, 4, 16>(&x);
/// assert_eq!(col[3][..4], [0.0, 1.0, 2.0, 0.0]); // tap (1, 1): x[0][oy][ox - 0]
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use conv_kernels::conv::im2col::im2col;
/// use conv_kernels::{Image, Mat};
/// let x: Image<f32, 1, 3, 3> = Image::zeros();
/// let col: Mat<f32, 4, 9> = im2col::<f32, 1, 3, 3, 2, 2, 1, 0, 3, 3, 4, 9>(&x);
/// ```
pub fn im2col<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    x: &Image<F, C, H, W>,
) -> Mat<F, K, L> {
    let shape = const { Geometry::<C, H, W, KH, KW, S, P, OH, OW, K, L>::SHAPE };
    let mut col = Mat::zeros();
    im2col_slice(&shape, x.as_flat(), col.as_flat_mut());
    col
}

/// The adjoint of [`im2col`]: the image whose pixels are the sums of the column-matrix entries
/// read from them. Same const parameters and checks as [`im2col`].
///
/// ```
/// use conv_kernels::conv::im2col::col2im;
/// use conv_kernels::{Image, Mat};
/// let ones: Mat<f64, 4, 4> = Mat::from_flat_fn(|_| 1.0);
/// let x: Image<f64, 1, 3, 3> = col2im::<f64, 1, 3, 3, 2, 2, 1, 0, 2, 2, 4, 4>(&ones);
/// assert_eq!(x[0][1], [2.0, 4.0, 2.0]); // how many windows cover each pixel
/// ```
pub fn col2im<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    col: &Mat<F, K, L>,
) -> Image<F, C, H, W> {
    let shape = const { Geometry::<C, H, W, KH, KW, S, P, OH, OW, K, L>::SHAPE };
    let mut x = Image::zeros();
    col2im_slice(&shape, col.as_flat(), x.as_flat_mut());
    x
}

/// Forward mode of [`im2col`], a linear map: the value and the tangent `im2col(t)`.
///
/// ```
/// use conv_kernels::conv::im2col::{im2col, im2col_jvp};
/// use conv_kernels::Image;
/// let x: Image<f64, 1, 2, 2> = Image::from_flat_fn(|i| i as f64);
/// let t: Image<f64, 1, 2, 2> = Image::from_flat_fn(|_| 1.0);
/// let (col, dcol) = im2col_jvp::<f64, 1, 2, 2, 1, 1, 1, 0, 2, 2, 1, 4>(&x, &t);
/// assert_eq!(col, im2col::<f64, 1, 2, 2, 1, 1, 1, 0, 2, 2, 1, 4>(&x));
/// assert_eq!(*dcol, [[1.0; 4]]);
/// ```
pub fn im2col_jvp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    x: &Image<F, C, H, W>,
    t: &Image<F, C, H, W>,
) -> (Mat<F, K, L>, Mat<F, K, L>) {
    (
        im2col::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(x),
        im2col::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(t),
    )
}

/// Reverse mode of [`im2col`]: the value and the pullback [`col2im`].
///
/// ```
/// use conv_kernels::conv::im2col::im2col_vjp;
/// use conv_kernels::{Image, Mat};
/// let x: Image<f64, 1, 3, 3> = Image::zeros();
/// let (_col, pullback) = im2col_vjp::<f64, 1, 3, 3, 2, 2, 1, 0, 2, 2, 4, 4>(&x);
/// let dx = pullback(Mat::from_flat_fn(|_| 1.0));
/// assert_eq!(dx[0][1][1], 4.0);
/// ```
pub fn im2col_vjp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    x: &Image<F, C, H, W>,
) -> (
    Mat<F, K, L>,
    impl FnOnce(Mat<F, K, L>) -> Image<F, C, H, W> + use<F, C, H, W, KH, KW, S, P, OH, OW, K, L>,
) {
    let col = im2col::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(x);
    (col, |dcol: Mat<F, K, L>| {
        col2im::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(&dcol)
    })
}

/// Forward mode of [`col2im`], a linear map: the value and the tangent `col2im(t)`.
///
/// ```
/// use conv_kernels::conv::im2col::col2im_jvp;
/// use conv_kernels::Mat;
/// let c: Mat<f64, 1, 4> = Mat::from_flat_fn(|i| i as f64);
/// let (x, dx) = col2im_jvp::<f64, 1, 2, 2, 1, 1, 1, 0, 2, 2, 1, 4>(&c, &c);
/// assert_eq!(x, dx);
/// ```
pub fn col2im_jvp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    col: &Mat<F, K, L>,
    t: &Mat<F, K, L>,
) -> (Image<F, C, H, W>, Image<F, C, H, W>) {
    (
        col2im::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(col),
        col2im::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(t),
    )
}

/// Reverse mode of [`col2im`]: the value and the pullback [`im2col`].
///
/// ```
/// use conv_kernels::conv::im2col::col2im_vjp;
/// use conv_kernels::{Image, Mat};
/// let c: Mat<f64, 4, 4> = Mat::zeros();
/// let (_x, pullback) = col2im_vjp::<f64, 1, 3, 3, 2, 2, 1, 0, 2, 2, 4, 4>(&c);
/// let dcol = pullback(Image::from_flat_fn(|i| i as f64));
/// assert_eq!(dcol[0], [0.0, 1.0, 3.0, 4.0]);
/// ```
pub fn col2im_vjp<
    F: Scalar,
    const C: usize,
    const H: usize,
    const W: usize,
    const KH: usize,
    const KW: usize,
    const S: usize,
    const P: usize,
    const OH: usize,
    const OW: usize,
    const K: usize,
    const L: usize,
>(
    col: &Mat<F, K, L>,
) -> (
    Image<F, C, H, W>,
    impl FnOnce(Image<F, C, H, W>) -> Mat<F, K, L> + use<F, C, H, W, KH, KW, S, P, OH, OW, K, L>,
) {
    let x = col2im::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(col);
    (x, |dx: Image<F, C, H, W>| {
        im2col::<F, C, H, W, KH, KW, S, P, OH, OW, K, L>(&dx)
    })
}
