//! im2col / col2im against a direct implementation, and the adjoint (dot-product) test.
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
use conv_kernels::conv::im2col::{
    Im2colShape, col2im, col2im_slice, col2im_vjp, im2col, im2col_jvp, im2col_slice, im2col_vjp,
};
use conv_kernels::{Image, Mat};

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

/// The definition, with signed indices and a bounds test per element.
fn im2col_direct(s: &Im2colShape, x: &[f64]) -> Vec<f64> {
    let (oh, ow) = (s.out_h(), s.out_w());
    let mut col = vec![f64::NAN; s.rows() * oh * ow];
    for c in 0..s.channels {
        for i in 0..s.kernel_h {
            for j in 0..s.kernel_w {
                let row = (c * s.kernel_h + i) * s.kernel_w + j;
                for oy in 0..oh {
                    for ox in 0..ow {
                        let iy = (oy * s.stride + i) as isize - s.padding as isize;
                        let ix = (ox * s.stride + j) as isize - s.padding as isize;
                        let inside = (0..s.height as isize).contains(&iy)
                            && (0..s.width as isize).contains(&ix);
                        col[row * oh * ow + oy * ow + ox] = if inside {
                            x[(c * s.height + iy as usize) * s.width + ix as usize]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
    col
}

/// The transpose of `im2col_direct`, built from it column by column: col2im(y)[q] is
/// <im2col(e_q), y>.
fn col2im_direct(s: &Im2colShape, col: &[f64]) -> Vec<f64> {
    let len = s.channels * s.height * s.width;
    (0..len)
        .map(|q| {
            let mut e = vec![0.0; len];
            e[q] = 1.0;
            im2col_direct(s, &e)
                .iter()
                .zip(col)
                .map(|(a, b)| a * b)
                .sum()
        })
        .collect()
}

fn shapes() -> Vec<Im2colShape> {
    let mut v = vec![];
    for (channels, height, width) in [(1, 1, 1), (1, 5, 7), (2, 6, 6), (3, 9, 4)] {
        for (kernel_h, kernel_w) in [(1, 1), (2, 3), (3, 3), (5, 2)] {
            for stride in [1, 2, 3] {
                for padding in [0, 1, 2] {
                    let s = Im2colShape {
                        channels,
                        height,
                        width,
                        kernel_h,
                        kernel_w,
                        stride,
                        padding,
                    };
                    if height + 2 * padding >= kernel_h && width + 2 * padding >= kernel_w {
                        v.push(s);
                    }
                }
            }
        }
    }
    v
}

#[test]
fn im2col_and_col2im_match_the_direct_definition() {
    for (n, s) in shapes().into_iter().enumerate() {
        let x = noise(n as u64, s.channels * s.height * s.width);
        let mut col = vec![f64::NAN; s.rows() * s.cols()];
        im2col_slice(&s, &x, &mut col);
        assert_eq!(col, im2col_direct(&s, &x), "im2col {s:?}");

        let y = noise(1000 + n as u64, s.rows() * s.cols());
        let base = noise(2000 + n as u64, x.len());
        let mut back = base.clone();
        col2im_slice(&s, &y, &mut back);
        for ((got, b), want) in back.iter().zip(&base).zip(col2im_direct(&s, &y)) {
            assert!(
                (got - b - want).abs() < 1e-12,
                "col2im {s:?}: {got} - {b} vs {want}"
            );
        }
    }
}

#[test]
fn col2im_is_the_adjoint_of_im2col() {
    for (n, s) in shapes().into_iter().enumerate() {
        let x = noise(3000 + n as u64, s.channels * s.height * s.width);
        let y = noise(4000 + n as u64, s.rows() * s.cols());
        let mut col = vec![0.0; y.len()];
        im2col_slice(&s, &x, &mut col);
        let mut back = vec![0.0; x.len()];
        col2im_slice(&s, &y, &mut back);
        let lhs: f64 = col.iter().zip(&y).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
        assert!(
            (lhs - rhs).abs() < 1e-12,
            "{s:?}: <im2col x, y> = {lhs}, <x, col2im y> = {rhs}"
        );
    }
}

/// The const-generic wrappers on the course's layer (3x32x32, 5x5 window -> 28x28) and on a
/// strided, padded shape.
#[test]
fn const_generic_forms_and_their_derivatives() {
    let x: Image<f64, 3, 32, 32> = Image::from_flat(&noise(1, 3 * 32 * 32));
    let col: Mat<f64, 75, 784> = im2col::<f64, 3, 32, 32, 5, 5, 1, 0, 28, 28, 75, 784>(&x);
    let shape = Im2colShape {
        channels: 3,
        height: 32,
        width: 32,
        kernel_h: 5,
        kernel_w: 5,
        stride: 1,
        padding: 0,
    };
    assert_eq!(col.as_flat(), &im2col_direct(&shape, x.as_flat())[..]);

    // 2 x 7 x 6, 3x3 window, stride 2, padding 1: OH = (7 + 2 - 3) / 2 + 1 = 4, OW = 3.
    type X = Image<f64, 2, 7, 6>;
    type Col = Mat<f64, 18, 12>;
    let x: X = Image::from_flat(&noise(2, 2 * 7 * 6));
    let t: X = Image::from_flat(&noise(3, 2 * 7 * 6));
    let y: Col = Mat::from_flat(&noise(4, 18 * 12));
    let shape = Im2colShape {
        channels: 2,
        height: 7,
        width: 6,
        kernel_h: 3,
        kernel_w: 3,
        stride: 2,
        padding: 1,
    };
    let (col, dcol) = im2col_jvp::<f64, 2, 7, 6, 3, 3, 2, 1, 4, 3, 18, 12>(&x, &t);
    assert_eq!(col.as_flat(), &im2col_direct(&shape, x.as_flat())[..]);
    assert_eq!(dcol.as_flat(), &im2col_direct(&shape, t.as_flat())[..]);

    let (col2, pullback) = im2col_vjp::<f64, 2, 7, 6, 3, 3, 2, 1, 4, 3, 18, 12>(&x);
    assert_eq!(col2, col);
    let dx = pullback(y.clone());
    assert_eq!(dx, col2im::<f64, 2, 7, 6, 3, 3, 2, 1, 4, 3, 18, 12>(&y));
    // Dot-product test of the pair: <J t, y> == <t, J* y>.
    assert!((dcol.dot(&y) - t.dot(&dx)).abs() < 1e-12);

    let (img, pullback) = col2im_vjp::<f64, 2, 7, 6, 3, 3, 2, 1, 4, 3, 18, 12>(&y);
    assert_eq!(img, dx);
    let back = pullback(t.clone());
    assert_eq!(back, dcol);
}
