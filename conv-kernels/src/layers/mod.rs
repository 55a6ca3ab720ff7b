//! Differentiable layers: each function `NAME` comes with `NAME_jvp` and `NAME_vjp` written by
//! hand after the convention of `#[differentiate]`, so that a `#[differentiate]` function can call
//! it in both modes.
//!
//! For `fn NAME(p1, ..., pn) -> R`:
//!
//! - `NAME_jvp(p1, ..., pn, t1, ..., tk) -> (R, R)`: the value and the directional derivative
//!   along the tangents of the `k` active parameters (a `&Tensor<T>` parameter has the tangent
//!   `&Tensor<T>`);
//! - `NAME_vjp(p1, ..., pn) -> (R, pullback)`: the value and a pullback `FnOnce(R) -> A` that
//!   maps an output cotangent to the adjoints of the active parameters (a single adjoint, or a
//!   tuple in parameter order; the adjoint of a `&Tensor<T>` is a `Tensor<T>`).
//!
//! Passive parameters (class labels, modes) get no tangent and no adjoint. Every pullback owns
//! its residuals (it never borrows the arguments), so it may outlive them: its type is
//! `impl FnOnce(R) -> A + use<..>` over the generic parameters only.
//!
//! Argument order: layers with weights take `(x, w, b)` and generic parameters
//! `<F, input shape, layer shape, stride/padding, output shape>`, as `conv2d`; the one exception
//! is [`linear()`], `(w, b, x)` for `y = W x + b`. Const parameters that the arguments fix can be
//! left to inference with `_`: `max_pool2d::<_, _, _, _, 2, 2, _, _>(&x)` names only the window
//! and the stride.
//!
//! Layout, as in the rest of the crate: a sample is channel-major `(C, H, W)`, a batch puts the
//! sample index first `(N, C, H, W)`, and every size is a const generic. Sizes that stable Rust
//! cannot compute in a type (`(H - K) / S + 1`) are const parameters checked at compile time, so
//! a shape mismatch is a compile error, not a panic.
//!
//! | family | functions |
//! |---|---|
//! | [`activation`] | [`relu`] (any tensor, so batches too) |
//! | [`pool`] | [`max_pool2d`], [`avg_pool2d`], [`max_pool2d_batch`], [`avg_pool2d_batch`], [`relu_max_pool2d_batch`] |
//! | [`conv2d`](mod@conv2d) | [`conv2d()`], [`conv2d_batch`], and their pieces: [`im2col_gemm`], [`im2col_gemm_batch`], [`add_bias`], [`add_bias_batch`], the unfused [`image_patches`] and [`filters_times_image_patches`] |
//! | [`linear`](mod@linear) | [`linear()`], [`linear_batch`] |
//! | [`reshape`] | [`flatten`], [`unflatten`], [`flatten_batch`], [`unflatten_batch`] |
//! | [`loss`] | [`softmax`], [`softmax_cross_entropy`], [`softmax_cross_entropy_batch`], [`mse`] |
//! | [`conv1d`](mod@conv1d) | [`conv1d()`] |
//! | [`locally_connected`] | [`locally_connected2d`] |
//! | [`correlate`] | [`correlate2d`], [`convolve2d`] with [`Mode`] |
//! | [`shapes`] | parameter counts: [`LinearShape`], [`Conv1dShape`], [`Conv2dShape`], [`LocallyConnected2dShape`] |
//!
//! ```
//! use conv_kernels::layers::{flatten, linear, max_pool2d, relu, softmax_cross_entropy};
//! use conv_kernels::tensor::{Image, Mat, Vector};
//!
//! let x: Image<f64, 1, 4, 4> = Image::from_flat_fn(|i| i as f64 - 8.0);
//! let h: Image<f64, 1, 2, 2> = max_pool2d::<_, _, _, _, 2, 2, _, _>(&relu(&x));
//! let v: Vector<f64, 4> = flatten(&h);
//! let w: Mat<f64, 3, 4> = Mat::from_flat_fn(|i| 0.1 * i as f64);
//! let b: Vector<f64, 3> = Vector::zeros();
//! let loss = softmax_cross_entropy(&linear(&w, &b, &v), 2);
//! assert!(loss > 0.0);
//! ```

pub mod activation;
pub mod conv1d;
pub mod conv2d;
pub mod correlate;
pub mod linear;
pub mod locally_connected;
pub mod loss;
pub mod pool;
pub mod reshape;
pub mod shapes;

pub use activation::{relu, relu_jvp, relu_vjp};
pub use conv1d::{Filters1d, conv1d, conv1d_jvp, conv1d_vjp};
pub use conv2d::{
    ImagePatches, add_bias, add_bias_batch, add_bias_batch_jvp, add_bias_batch_vjp, add_bias_jvp,
    add_bias_vjp, conv2d, conv2d_batch, conv2d_batch_jvp, conv2d_batch_vjp, conv2d_jvp, conv2d_vjp,
    filters_times_image_patches, filters_times_image_patches_jvp, filters_times_image_patches_vjp,
    im2col_gemm, im2col_gemm_batch, im2col_gemm_batch_jvp, im2col_gemm_batch_vjp, im2col_gemm_jvp,
    im2col_gemm_vjp, image_patches, image_patches_jvp, image_patches_vjp,
};
pub use correlate::{
    Mode, convolve2d, convolve2d_jvp, convolve2d_vjp, correlate2d, correlate2d_jvp, correlate2d_vjp,
};
pub use linear::{
    linear, linear_batch, linear_batch_jvp, linear_batch_vjp, linear_jvp, linear_vjp,
};
pub use locally_connected::{
    LocalWeights, locally_connected2d, locally_connected2d_jvp, locally_connected2d_vjp,
};
pub use loss::{
    mse, mse_jvp, mse_vjp, softmax, softmax_cross_entropy, softmax_cross_entropy_batch,
    softmax_cross_entropy_batch_jvp, softmax_cross_entropy_batch_vjp, softmax_cross_entropy_jvp,
    softmax_cross_entropy_vjp, softmax_jvp, softmax_vjp,
};
pub use pool::{
    avg_pool2d, avg_pool2d_batch, avg_pool2d_batch_jvp, avg_pool2d_batch_vjp, avg_pool2d_jvp,
    avg_pool2d_vjp, max_pool2d, max_pool2d_batch, max_pool2d_batch_jvp, max_pool2d_batch_vjp,
    max_pool2d_jvp, max_pool2d_vjp, relu_max_pool2d_batch, relu_max_pool2d_batch_jvp,
    relu_max_pool2d_batch_vjp,
};
pub use reshape::{
    flatten, flatten_batch, flatten_batch_jvp, flatten_batch_vjp, flatten_jvp, flatten_vjp,
    unflatten, unflatten_batch, unflatten_batch_jvp, unflatten_batch_vjp, unflatten_jvp,
    unflatten_vjp,
};
pub use shapes::{
    Conv1dShape, Conv2dShape, LinearShape, LocallyConnected2dShape, conv_output_size,
};
