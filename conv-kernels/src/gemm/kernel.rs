//! The microkernel contract, and the raw strided views that cross it.

use crate::Scalar;

/// A read-only strided matrix behind a raw pointer: element `(i, j)` is at
/// `ptr.add(i * rs + j * cs)`.
#[derive(Debug)]
pub struct RawMat<E> {
    /// The element `(0, 0)`.
    pub ptr: *const E,
    /// The distance, in elements, between two consecutive rows.
    pub rs: usize,
    /// The distance, in elements, between two consecutive columns.
    pub cs: usize,
}

impl<E> Clone for RawMat<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for RawMat<E> {}

/// A writable strided matrix behind a raw pointer: element `(i, j)` is at
/// `ptr.add(i * rs + j * cs)`.
#[derive(Debug)]
pub struct RawMatMut<E> {
    /// The element `(0, 0)`.
    pub ptr: *mut E,
    /// The distance, in elements, between two consecutive rows.
    pub rs: usize,
    /// The distance, in elements, between two consecutive columns.
    pub cs: usize,
}

impl<E> Clone for RawMatMut<E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E> Copy for RawMatMut<E> {}

/// One register-blocked microkernel: the innermost step (LOOP 0) of the blocked GEMM in
/// [`super::blocked`].
///
/// # Contract
///
/// [`kernel`](GemmKernel::kernel)`(k, alpha, a, b, beta, c)` computes, for every `i < MR` and
/// `j < NR`,
///
/// ```text
/// C[i, j] <- alpha * sum_{p < k} A[i, p] * B[p, j] + beta * C[i, j]
/// ```
///
/// where `A[i, p] = *a.ptr.add(i * a.rs + p * a.cs)` (any strides: the driver passes a packed
/// sliver `A~` with `rs = 1, cs = MR` (or `cs` = the height of a shorter sliver at the bottom
/// of a block, with `kernel_rows`), or an unpacked row-major sliver of `A` with
/// `rs = lda, cs = 1`), `B[p, j] = *b.ptr.add(p * b.rs + j)` (columns contiguous: `b.cs` must
/// be 1; the driver passes a packed sliver `B~` with `rs = NR`), and
/// `C[i, j] = *c.ptr.add(i * c.rs + j * c.cs)`.
///
/// - `beta == 0` means C is **never read**: it may hold uninitialised-looking garbage or NaN
///   and the result is still `alpha * A B`.
/// - `k == 0` is allowed: then `C <- beta * C` (and `C <- 0` when `beta == 0`).
/// - `kernel` computes the full `MR x NR` tile; `kernel_rows` the first `rows` rows of it.
///   The driver handles the bottom edge of C with `kernel_rows`, and the right edge by
///   zero-padding the packed `B~` sliver and running the kernel on a scratch tile.
///
/// # Safety (of calling `kernel`)
///
/// All addresses above must be valid for reads (A, B) or reads and writes (C) for every
/// `i < MR`, `j < NR`, `p < k`, the C tile must not overlap A or B, and the CPU must support
/// the kernel's instruction set ([`is_available`](GemmKernel::is_available) returned true).
pub trait GemmKernel {
    /// The scalar type.
    type Elem: Scalar;
    /// Rows of the register tile (the height of an `A~` sliver).
    const MR: usize;
    /// Columns of the register tile (the width of a `B~` sliver).
    const NR: usize;
    /// Depth of one packed slice of `A` and `B`: LOOP 4 splits `k` into `KC`-deep slices so
    /// that one `KC x NR` sliver of `B~` stays in L1 while LOOP 1 runs over it.
    const KC: usize;
    /// Height of one packed block `A~` (a multiple of `MR`): LOOP 3 splits `m` into
    /// `MC`-tall blocks so that one `MC x KC` block of `A` stays in L2.
    const MC: usize;
    /// Width of one packed block `B~` (a multiple of `NR`): LOOP 5 splits `n` into `NC`-wide
    /// blocks so that one `KC x NC` block `B~` stays in L3.
    const NC: usize;
    /// A short name for reports and tests.
    const NAME: &'static str;

    /// Whether this CPU can run the kernel.
    fn is_available() -> bool;

    /// `C <- alpha * A B + beta * C` on one `MR x NR` tile; see the trait documentation for
    /// the exact contract.
    ///
    /// # Safety
    /// See the trait documentation.
    unsafe fn kernel(
        k: usize,
        alpha: Self::Elem,
        a: RawMat<Self::Elem>,
        b: RawMat<Self::Elem>,
        beta: Self::Elem,
        c: RawMatMut<Self::Elem>,
    );

    /// [`kernel`](GemmKernel::kernel) restricted to the first `rows` rows of the tile
    /// (`1 <= rows <= MR`): rows `i >= rows` of A are never read and rows `i >= rows` of C
    /// are neither read nor written. Used for the bottom edge of C, where A has fewer than
    /// `MR` rows left.
    ///
    /// # Safety
    /// See the trait documentation, with `MR` replaced by `rows`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_rows(
        rows: usize,
        k: usize,
        alpha: Self::Elem,
        a: RawMat<Self::Elem>,
        b: RawMat<Self::Elem>,
        beta: Self::Elem,
        c: RawMatMut<Self::Elem>,
    );
}
