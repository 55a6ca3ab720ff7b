//! Heap tensors: large shapes never pass through the stack.
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
use conv_kernels::{Batch, Filters, Image, Mat, Tensor, Vector, Zeros};

/// Runs `f` on a thread with a 2 MiB stack (the size of a spawned thread's default stack).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the closure ran without overflowing the stack");
}

#[test]
fn a_batch_of_256_images_lives_on_the_heap() {
    on_small_stack(|| {
        // 256 x 3 x 32 x 32 f64 = 6 MiB: three times the stack.
        let x: Batch<f64, 256, 3, 32, 32> = Batch::from_flat_fn(|i| i as f64);
        assert_eq!(x[255][2][31][31], (256 * 3 * 32 * 32 - 1) as f64);
        let mut g = x.zero_like();
        assert!(g.as_flat().iter().all(|&v| v == 0.0));
        g.axpy(2.0, &x);
        assert_eq!(g.dot(&x), 2.0 * x.dot(&x));
        assert_eq!(g.num_leaves(), 256 * 3 * 32 * 32);
        let z: Batch<f64, 256, 3, 32, 32> = Batch::zeros();
        assert_eq!(
            z.as_flat().len(),
            <[[[[f64; 32]; 32]; 3]; 256] as Zeros>::LEN
        );
        let copy = x.clone();
        assert_eq!(copy, x);
        let flat: Mat<f64, 256, 3072> = x.reshape();
        assert_eq!(flat[1][0], 3072.0);
    });
}

#[test]
fn flat_views_are_row_major() {
    let mut f: Filters<f32, 2, 3, 2, 2> = Filters::from_flat_fn(|i| i as f32);
    assert_eq!(f[1][2][1][0], (((3 + 2) * 2 + 1) * 2) as f32); // ((o C + c) KH + i) KW + j
    f.as_flat_mut()[5] = -1.0;
    assert_eq!(f[0][1][0][1], -1.0);
    let v: Vector<f64, 3> = Tensor::from_fn(|i| i as f64 * 0.5);
    assert_eq!(v.as_flat(), &[0.0, 0.5, 1.0]);
    let img: Image<f64, 1, 2, 2> = Image::from_flat(&[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(format!("{img:?}"), "Tensor([[[1.0, 2.0], [3.0, 4.0]]])");
}
