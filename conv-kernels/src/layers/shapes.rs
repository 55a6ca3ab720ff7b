//! Parameter counts of the layer types, as constants.
//!
//! The course compares three ways of connecting a 200x200 image to 40 000 hidden units:
//!
//! ```
//! use conv_kernels::layers::{Conv2dShape, LinearShape, LocallyConnected2dShape};
//! // fully connected: every unit sees every pixel
//! assert_eq!(LinearShape::<{ 200 * 200 }, 40_000>::WEIGHTS, 1_600_000_000);
//! // locally connected: each of the 200x200 units sees its own 10x10 field
//! assert_eq!(LocallyConnected2dShape::<1, 1, 10, 10, 200, 200>::WEIGHTS, 4_000_000);
//! // convolutional: 100 shared 10x10 filters
//! assert_eq!(Conv2dShape::<1, 100, 10, 10>::WEIGHTS, 10_000);
//! // the course's layer: six 5x5x3 filters, plus their biases
//! assert_eq!(Conv2dShape::<3, 6, 5, 5>::PARAMS, 6 * 75 + 6);
//! ```

use core::marker::PhantomData;

/// The output length of a convolution or pooling along one axis: `(n + 2 p - k) / s + 1` for an
/// input of length `n`, a window `k`, stride `s` and padding `p` (a `const fn`, usable in
/// const contexts such as `const { assert!(..) }`).
///
/// ```
/// use conv_kernels::layers::conv_output_size;
/// assert_eq!(conv_output_size(32, 5, 1, 0), 28);
/// assert_eq!(conv_output_size(28, 2, 2, 0), 14);
/// assert_eq!(conv_output_size(7, 3, 2, 1), 4);
/// ```
pub const fn conv_output_size(n: usize, k: usize, s: usize, p: usize) -> usize {
    (n + 2 * p - k) / s + 1
}

/// A fully connected layer from `I` inputs to `O` outputs ([`linear`](super::linear())):
/// an `O x I` weight matrix and `O` biases.
pub struct LinearShape<const I: usize, const O: usize>(PhantomData<()>);

impl<const I: usize, const O: usize> LinearShape<I, O> {
    /// The number of weights, `O * I`.
    pub const WEIGHTS: usize = O * I;
    /// The number of biases, `O`.
    pub const BIASES: usize = O;
    /// All trainable parameters, `O * I + O`.
    pub const PARAMS: usize = Self::WEIGHTS + Self::BIASES;
}

/// A 1-D convolution with `O` filters of `C` channels and width `K`, plus a bias per filter
/// ([`conv1d`](super::conv1d())).
pub struct Conv1dShape<const C: usize, const O: usize, const K: usize>(PhantomData<()>);

impl<const C: usize, const O: usize, const K: usize> Conv1dShape<C, O, K> {
    /// The number of weights, `O * C * K`.
    pub const WEIGHTS: usize = O * C * K;
    /// The number of biases, `O`.
    pub const BIASES: usize = O;
    /// All trainable parameters, `O * C * K + O`.
    pub const PARAMS: usize = Self::WEIGHTS + Self::BIASES;
}

/// A 2-D convolution with `O` shared filters of shape `(C, KH, KW)` and a bias per filter: the
/// count does not depend on the image size.
pub struct Conv2dShape<const C: usize, const O: usize, const KH: usize, const KW: usize>(
    PhantomData<()>,
);

impl<const C: usize, const O: usize, const KH: usize, const KW: usize> Conv2dShape<C, O, KH, KW> {
    /// The number of weights, `O * C * KH * KW`.
    pub const WEIGHTS: usize = O * C * KH * KW;
    /// The number of biases, `O`.
    pub const BIASES: usize = O;
    /// All trainable parameters, `O * C * KH * KW + O`.
    pub const PARAMS: usize = Self::WEIGHTS + Self::BIASES;
}

/// A locally connected layer ([`locally_connected2d`](super::locally_connected2d)): for each of
/// the `OH x OW` output positions, its own `O` filters of shape `(C, KH, KW)`, and a bias per
/// output unit.
pub struct LocallyConnected2dShape<
    const C: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(PhantomData<()>);

impl<
    const C: usize,
    const O: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
> LocallyConnected2dShape<C, O, KH, KW, OH, OW>
{
    /// The number of weights, `OH * OW * O * C * KH * KW`.
    pub const WEIGHTS: usize = OH * OW * O * C * KH * KW;
    /// The number of biases, one per output unit: `O * OH * OW`.
    pub const BIASES: usize = O * OH * OW;
    /// All trainable parameters.
    pub const PARAMS: usize = Self::WEIGHTS + Self::BIASES;
}
