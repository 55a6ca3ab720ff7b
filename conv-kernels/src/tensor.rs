//! Heap tensors: a nested array such as `[[F; C]; R]` behind one `Box`, so that large tensors
//! never live on the stack.
//!
//! The shape is the type: [`Mat<F, R, C>`](Mat) is `Tensor<[[F; C]; R]>`, an
//! [`Image<F, C, H, W>`](Image) is one channel-major sample `(C, H, W)`, a
//! [`Batch<F, N, C, H, W>`](Batch) puts the sample index first, and
//! [`Filters<F, O, C, KH, KW>`](Filters) holds `O` filters of shape `(C, KH, KW)`. A tensor
//! derefs to its array, so `m[r][c]` indexes it, and [`Tensor::as_flat`] views its leaves as
//! one row-major slice.
//!
//! ```
//! use conv_kernels::tensor::{Mat, Image};
//!
//! let mut m: Mat<f32, 2, 3> = Mat::from_matrix_fn(|r, c| (10 * r + c) as f32);
//! m[1][2] += 0.5;
//! assert_eq!(m.as_flat(), &[0.0, 1.0, 2.0, 10.0, 11.0, 12.5]);
//!
//! let x: Image<f64, 3, 32, 32> = Image::zeros();
//! assert_eq!(x.as_flat().len(), 3 * 32 * 32);
//! ```

use core::fmt;
use core::ops::{Deref, DerefMut};

use autodiff_core::{Differentiable, Dual, Float};

/// Nested arrays of scalars (`f32`, `f64`, [`Dual`]) that can be built directly on the heap and
/// viewed as one flat, row-major slice of their leaves.
///
/// Implemented for the scalars and for `[T; N]` where `T: Zeros`; the implementation for
/// arrays builds `Box<[T; N]>` from a `Vec<T>`, so at most one element `T` of the outermost
/// array (one row of a matrix, one image of a batch) passes through the stack.
///
/// ```
/// use conv_kernels::tensor::Zeros;
/// type Block = [[f32; 4]; 3];
/// assert_eq!(<Block as Zeros>::LEN, 12);
/// let b: Box<Block> = Block::boxed_from_flat_fn(&mut |i| i as f32);
/// assert_eq!(b[2][1], 9.0);
/// ```
pub trait Zeros: Clone {
    /// The scalar at the leaves.
    type Scalar: Copy;
    /// The number of leaves.
    const LEN: usize;
    /// The all-zero value, by value (only for the inner levels; use
    /// [`boxed_zeros`](Zeros::boxed_zeros) for a whole tensor).
    fn zero_value() -> Self;
    /// The all-zero value, built on the heap.
    fn boxed_zeros() -> Box<Self>;
    /// The value whose leaf number `base + i` (row-major) is `f(base + i)`.
    fn value_from_flat_fn(f: &mut dyn FnMut(usize) -> Self::Scalar, base: usize) -> Self;
    /// The value whose leaf number `i` (row-major) is `f(i)`, built on the heap.
    fn boxed_from_flat_fn(f: &mut dyn FnMut(usize) -> Self::Scalar) -> Box<Self>;
    /// The leaves of a slice of values, in order.
    fn flatten_slice(values: &[Self]) -> &[Self::Scalar];
    /// The leaves of a slice of values, in order, mutably.
    fn flatten_slice_mut(values: &mut [Self]) -> &mut [Self::Scalar];
}

macro_rules! scalar_zeros {
    ($($t:ty => $zero:expr),* $(,)?) => {$(
        impl Zeros for $t {
            type Scalar = $t;
            const LEN: usize = 1;
            #[inline(always)]
            fn zero_value() -> Self {
                $zero
            }
            fn boxed_zeros() -> Box<Self> {
                Box::new($zero)
            }
            #[inline(always)]
            fn value_from_flat_fn(f: &mut dyn FnMut(usize) -> Self, base: usize) -> Self {
                f(base)
            }
            fn boxed_from_flat_fn(f: &mut dyn FnMut(usize) -> Self) -> Box<Self> {
                Box::new(f(0))
            }
            #[inline(always)]
            fn flatten_slice(values: &[Self]) -> &[Self] {
                values
            }
            #[inline(always)]
            fn flatten_slice_mut(values: &mut [Self]) -> &mut [Self] {
                values
            }
        }
    )*};
}
scalar_zeros!(f32 => 0.0, f64 => 0.0);

impl<F: Float> Zeros for Dual<F> {
    type Scalar = Dual<F>;
    const LEN: usize = 1;
    #[inline(always)]
    fn zero_value() -> Self {
        Dual::new(F::zero(), F::zero())
    }
    fn boxed_zeros() -> Box<Self> {
        Box::new(Self::zero_value())
    }
    #[inline(always)]
    fn value_from_flat_fn(f: &mut dyn FnMut(usize) -> Self, base: usize) -> Self {
        f(base)
    }
    fn boxed_from_flat_fn(f: &mut dyn FnMut(usize) -> Self) -> Box<Self> {
        Box::new(f(0))
    }
    #[inline(always)]
    fn flatten_slice(values: &[Self]) -> &[Self] {
        values
    }
    #[inline(always)]
    fn flatten_slice_mut(values: &mut [Self]) -> &mut [Self] {
        values
    }
}

/// A `Vec` of exactly `N` elements as a boxed array.
fn boxed_array<T, const N: usize>(v: Vec<T>) -> Box<[T; N]> {
    match v.into_boxed_slice().try_into() {
        Ok(b) => b,
        Err(_) => unreachable!("a Vec of N elements converts to Box<[T; N]>"),
    }
}

impl<T: Zeros, const N: usize> Zeros for [T; N] {
    type Scalar = T::Scalar;
    const LEN: usize = N * T::LEN;
    fn zero_value() -> Self {
        core::array::from_fn(|_| T::zero_value())
    }
    fn boxed_zeros() -> Box<Self> {
        // `vec![x; n]` asks for a zeroed allocation (calloc) when std can see that `x` is all
        // zero bits, which it checks only for arrays of at most 16 elements at each level;
        // otherwise it writes `n` copies of `x`. Both cost the same for the sizes of a layer
        // (calloc clears recycled memory with the same memset): measured 230-250 ns for a
        // 16 KiB `[[f32; 256]; 16]` either way, so no `unsafe` zeroed allocation here.
        boxed_array(vec![T::zero_value(); N])
    }
    fn value_from_flat_fn(f: &mut dyn FnMut(usize) -> Self::Scalar, base: usize) -> Self {
        core::array::from_fn(|i| T::value_from_flat_fn(f, base + i * T::LEN))
    }
    fn boxed_from_flat_fn(f: &mut dyn FnMut(usize) -> Self::Scalar) -> Box<Self> {
        let mut v = Vec::with_capacity(N);
        for i in 0..N {
            v.push(T::value_from_flat_fn(f, i * T::LEN));
        }
        boxed_array(v)
    }
    #[inline(always)]
    fn flatten_slice(values: &[Self]) -> &[Self::Scalar] {
        T::flatten_slice(values.as_flattened())
    }
    #[inline(always)]
    fn flatten_slice_mut(values: &mut [Self]) -> &mut [Self::Scalar] {
        T::flatten_slice_mut(values.as_flattened_mut())
    }
}

/// A nested array `T` (for example `[[F; C]; R]`) on the heap. Derefs to `T`.
///
/// ```
/// use conv_kernels::tensor::{Tensor, Vector};
/// let v: Vector<f64, 3> = Tensor::from_array([1.0, 2.0, 3.0]);
/// assert_eq!(v[1], 2.0);
/// assert_eq!(v.as_flat().iter().sum::<f64>(), 6.0);
/// ```
#[derive(Clone, PartialEq)]
pub struct Tensor<T>(pub Box<T>);

/// A vector of `N` scalars.
pub type Vector<F, const N: usize> = Tensor<[F; N]>;
/// A row-major `R x C` matrix.
pub type Mat<F, const R: usize, const C: usize> = Tensor<[[F; C]; R]>;
/// One sample, channel-major `(C, H, W)`.
pub type Image<F, const C: usize, const H: usize, const W: usize> = Tensor<[[[F; W]; H]; C]>;
/// A batch of `N` samples `(N, C, H, W)`, sample index first.
pub type Batch<F, const N: usize, const C: usize, const H: usize, const W: usize> =
    Tensor<[[[[F; W]; H]; C]; N]>;
/// `O` filters of shape `(C, KH, KW)`: `(O, C, KH, KW)`.
pub type Filters<F, const O: usize, const C: usize, const KH: usize, const KW: usize> =
    Tensor<[[[[F; KW]; KH]; C]; O]>;

impl<T> Tensor<T> {
    /// Wraps a boxed array.
    pub fn new(data: Box<T>) -> Self {
        Tensor(data)
    }

    /// Moves an array to the heap (the array itself passes through the stack: for small
    /// literals; use [`zeros`](Tensor::zeros) or [`from_flat_fn`](Tensor::from_flat_fn) for
    /// large tensors).
    pub fn from_array(data: T) -> Self {
        Tensor(Box::new(data))
    }

    /// The boxed array.
    pub fn into_inner(self) -> Box<T> {
        self.0
    }
}

impl<T: Zeros> Tensor<T> {
    /// The number of scalar leaves.
    pub const LEN: usize = T::LEN;

    /// All zeros, built directly on the heap.
    ///
    /// ```
    /// use conv_kernels::tensor::Batch;
    /// // 256 images of 3x32x32 (3 MiB): never on the stack.
    /// let x: Batch<f32, 256, 3, 32, 32> = Batch::zeros();
    /// assert!(x.as_flat().iter().all(|&v| v == 0.0));
    /// ```
    pub fn zeros() -> Self {
        Tensor(T::boxed_zeros())
    }

    /// The tensor whose leaf number `i` (row-major order) is `f(i)`.
    ///
    /// ```
    /// use conv_kernels::tensor::Mat;
    /// let m: Mat<f64, 2, 2> = Mat::from_flat_fn(|i| i as f64);
    /// assert_eq!(*m, [[0.0, 1.0], [2.0, 3.0]]);
    /// ```
    pub fn from_flat_fn(mut f: impl FnMut(usize) -> T::Scalar) -> Self {
        // Zeros, then one monomorphic loop over the flat leaves: `f` is inlined, where
        // `Zeros::boxed_from_flat_fn` would call it through a `dyn` pointer leaf by leaf.
        let mut t = Self::zeros();
        for (i, v) in t.as_flat_mut().iter_mut().enumerate() {
            *v = f(i);
        }
        t
    }

    /// A copy of a flat row-major slice of leaves.
    ///
    /// # Panics
    /// If `data.len()` differs from the number of leaves.
    ///
    /// ```
    /// use conv_kernels::tensor::Mat;
    /// let m: Mat<f32, 2, 2> = Mat::from_flat(&[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(m[1][0], 3.0);
    /// ```
    pub fn from_flat(data: &[T::Scalar]) -> Self {
        assert_eq!(
            data.len(),
            T::LEN,
            "Tensor::from_flat: {} values for a tensor of {} leaves",
            data.len(),
            T::LEN
        );
        let mut t = Self::zeros();
        t.as_flat_mut().copy_from_slice(data);
        t
    }

    /// The leaves as one row-major slice.
    #[inline]
    pub fn as_flat(&self) -> &[T::Scalar] {
        T::flatten_slice(core::slice::from_ref(&*self.0))
    }

    /// The leaves as one row-major mutable slice.
    #[inline]
    pub fn as_flat_mut(&mut self) -> &mut [T::Scalar] {
        T::flatten_slice_mut(core::slice::from_mut(&mut *self.0))
    }

    /// A tensor of another shape with the same leaves in the same order (a reshape, such as
    /// `Mat<F, O, {OH*OW}>` to `Image<F, O, OH, OW>`).
    ///
    /// The leaf counts must be equal; this is checked at compile time.
    ///
    /// ```
    /// use conv_kernels::tensor::{Image, Mat};
    /// let m: Mat<f32, 2, 4> = Mat::from_flat_fn(|i| i as f32);
    /// let x: Image<f32, 2, 2, 2> = m.reshape();
    /// assert_eq!(x[1][0][1], 5.0);
    /// ```
    pub fn reshape<U: Zeros<Scalar = T::Scalar>>(&self) -> Tensor<U> {
        const { assert!(T::LEN == U::LEN, "reshape: the leaf counts differ") };
        let mut out = Tensor::<U>::zeros();
        out.as_flat_mut().copy_from_slice(self.as_flat());
        out
    }
}

impl<E: Zeros, const N: usize> Tensor<[E; N]> {
    /// The tensor whose outer element `i` is `f(i)` (as `core::array::from_fn`; each element
    /// passes through the stack, the whole tensor does not).
    ///
    /// ```
    /// use conv_kernels::tensor::Mat;
    /// let m: Mat<f64, 3, 2> = Mat::from_fn(|r| [r as f64, -(r as f64)]);
    /// assert_eq!(m[2], [2.0, -2.0]);
    /// ```
    pub fn from_fn(mut f: impl FnMut(usize) -> E) -> Self {
        let mut v = Vec::with_capacity(N);
        for i in 0..N {
            v.push(f(i));
        }
        Tensor(boxed_array(v))
    }
}

impl<F: Copy, const R: usize, const C: usize> Tensor<[[F; C]; R]> {
    /// The `R x C` matrix whose entry `(r, c)` is `f(r, c)`.
    ///
    /// ```
    /// use conv_kernels::tensor::Mat;
    /// let id: Mat<f32, 3, 3> = Mat::from_matrix_fn(|r, c| if r == c { 1.0 } else { 0.0 });
    /// assert_eq!(id[1], [0.0, 1.0, 0.0]);
    /// ```
    pub fn from_matrix_fn(mut f: impl FnMut(usize, usize) -> F) -> Self {
        let mut v = Vec::with_capacity(R);
        for r in 0..R {
            v.push(core::array::from_fn(|c| f(r, c)));
        }
        Tensor(boxed_array(v))
    }
}

impl<T> From<Box<T>> for Tensor<T> {
    fn from(data: Box<T>) -> Self {
        Tensor(data)
    }
}

impl<T> Deref for Tensor<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Tensor<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tensor").field(&*self.0).finish()
    }
}

/// Leaf by leaf, as the nested array; `zero_like` builds on the heap.
///
/// ```
/// use autodiff_core::Differentiable;
/// use conv_kernels::tensor::Mat;
/// let mut a: Mat<f64, 2, 2> = Mat::from_flat(&[1.0, 2.0, 3.0, 4.0]);
/// let b = a.clone();
/// a.axpy(2.0, &b);
/// assert_eq!(a.as_flat(), &[3.0, 6.0, 9.0, 12.0]);
/// assert_eq!(b.dot(&b), 30.0);
/// assert_eq!(b.zero_like().as_flat(), &[0.0; 4]);
/// ```
impl<T: Differentiable> Differentiable for Tensor<T> {
    type Scalar = T::Scalar;
    fn zero_like(&self) -> Self {
        Tensor((*self.0).zero_like_boxed())
    }
    fn accumulate(&mut self, other: &Self) {
        self.0.accumulate(&other.0)
    }
    fn axpy(&mut self, a: Self::Scalar, x: &Self) {
        self.0.axpy(a, &x.0)
    }
    fn dot(&self, other: &Self) -> Self::Scalar {
        self.0.dot(&other.0)
    }
    fn scale(&mut self, a: Self::Scalar) {
        self.0.scale(a)
    }
    fn zip_map(&mut self, other: &Self, f: &mut dyn FnMut(&mut Self::Scalar, Self::Scalar)) {
        self.0.zip_map(&other.0, f)
    }
    fn num_leaves(&self) -> usize {
        self.0.num_leaves()
    }
    fn zero_like_boxed(&self) -> Box<Self> {
        Box::new(self.zero_like())
    }
}
