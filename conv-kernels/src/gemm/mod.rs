//! General matrix multiplication `C <- alpha op(A) op(B) + beta C`.
//!
//! - Const-shaped entry points on [`Mat`]: [`gemm`] (`A B`), [`gemm_tn`] (`Aᵀ B`),
//!   [`gemm_nt`] (`A Bᵀ`), and the derivative pair [`gemm_jvp`] / [`gemm_vjp`].
//! - Strided entry points for the layers: [`gemm_into`] on [`MatRef`] / [`MatMut`] views
//!   (transpose a view with [`MatRef::t`]), and the BLAS-style [`gemm_slices`] with
//!   [`Transpose`] flags and leading dimensions.
//! - [`gemm_into_par`] splits C across the threads of the current rayon pool.
//!
//! The implementation is the Goto/BLIS blocking of [`blocked`] around one register
//! [`GemmKernel`], picked at run time ([`Kernel`]): an AVX-512 kernel for `f32` (`12 x 32`)
//! and `f64` (`12 x 16`), else an AVX2 + FMA kernel (`6 x 16`, `6 x 8`), and a portable kernel
//! for every other [`Scalar`] (such as `Dual<f64>`) and for CPUs without AVX2. The environment
//! variable `CONV_KERNELS_ISA` (`avx512`, `avx2`, `portable`) caps the pick for the process,
//! [`Kernel::install`] forces one on a thread. `beta == 0` never reads C.
//!
//! ```
//! use conv_kernels::gemm::gemm;
//! use conv_kernels::Mat;
//!
//! let a: Mat<f32, 2, 3> = Mat::from_flat(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
//! let b: Mat<f32, 3, 1> = Mat::from_flat(&[1.0, 0.0, -1.0]);
//! assert_eq!(*gemm(&a, &b), [[-2.0], [-2.0]]);
//! ```

pub mod avx2;
pub mod avx512;
pub mod blocked;
pub mod kernel;
pub mod params;
pub mod portable;

use core::any::{Any, TypeId};

pub use kernel::{GemmKernel, RawMat, RawMatMut};

use crate::{Mat, Scalar};
use blocked::{Problem, gemm_blocked};

/// Whether an operand of [`gemm_slices`] is used as stored or transposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transpose {
    /// `op(X) = X`.
    No,
    /// `op(X) = Xᵀ`.
    Yes,
}

/// Which microkernel runs a product.
///
/// [`Kernel::Auto`] resolves to the widest kernel this CPU runs for the scalar type
/// (AVX-512, then AVX2 + FMA, then portable), detected at run time, unless
///
/// - the environment variable `CONV_KERNELS_ISA` caps it for the whole process: `avx512`,
///   `avx2` or `portable` (also `auto`, the default) name the widest instruction set allowed,
///   so that `CONV_KERNELS_ISA=avx2` runs the AVX2 kernels on an AVX-512 CPU (and the AVX2
///   ones still on an AVX2-only CPU given `avx512`); any other value panics;
/// - [`Kernel::install`] forces one kernel on the calling thread.
///
/// Both apply to the GEMM entry points and to the convolution kernels built on them
/// ([`crate::conv`]).
///
/// ```
/// use conv_kernels::gemm::Kernel;
/// // The portable kernel always exists; `Auto` resolves to the fastest available one.
/// assert!(Kernel::available::<f32>().contains(&Kernel::Portable));
/// assert_ne!(Kernel::Auto.resolve::<f32>(), Kernel::Auto);
/// assert_eq!(Kernel::Portable.install(|| Kernel::Auto.resolve::<f32>()), Kernel::Portable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The fastest kernel available for the scalar type on this CPU.
    Auto,
    /// The portable kernel (any [`Scalar`], any CPU).
    Portable,
    /// The AVX2 + FMA kernel (`f32` and `f64` on x86-64 CPUs with AVX2 and FMA).
    Avx2Fma,
    /// The AVX-512 kernel (`f32` and `f64` on x86-64 CPUs with AVX-512 F).
    Avx512,
}

std::thread_local! {
    /// The kernel forced on this thread by [`Kernel::install`].
    static INSTALLED: core::cell::Cell<Option<Kernel>> = const { core::cell::Cell::new(None) };
}

/// The cap set by `CONV_KERNELS_ISA`, read once.
fn env_cap() -> Option<Kernel> {
    static CAP: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
    *CAP.get_or_init(|| {
        let value = std::env::var("CONV_KERNELS_ISA").ok()?;
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => None,
            "avx512" | "avx-512" => Some(Kernel::Avx512),
            "avx2" => Some(Kernel::Avx2Fma),
            "portable" => Some(Kernel::Portable),
            other => panic!("CONV_KERNELS_ISA={other}: expected avx512, avx2, portable or auto"),
        }
    })
}

impl Kernel {
    /// The concrete kernels (not [`Kernel::Auto`]) that can run products of `F` on this CPU,
    /// narrowest first.
    pub fn available<F: Scalar>() -> Vec<Kernel> {
        [Kernel::Portable, Kernel::Avx2Fma, Kernel::Avx512]
            .into_iter()
            .filter(|k| k.runs::<F>())
            .collect()
    }

    /// Whether this concrete kernel can run products of `F` on this CPU.
    fn runs<F: Scalar>(self) -> bool {
        match self {
            Kernel::Auto | Kernel::Portable => true,
            Kernel::Avx2Fma => avx2_runs::<F>(),
            Kernel::Avx512 => avx512_runs::<F>(),
        }
    }

    /// The order of the concrete kernels by width.
    fn rank(self) -> u8 {
        match self {
            Kernel::Auto | Kernel::Portable => 0,
            Kernel::Avx2Fma => 1,
            Kernel::Avx512 => 2,
        }
    }

    /// The concrete kernel this choice runs for `F`.
    ///
    /// # Panics
    /// If the kernel cannot run products of `F` on this CPU.
    pub fn resolve<F: Scalar>(self) -> Kernel {
        match self {
            Kernel::Auto => match INSTALLED.with(core::cell::Cell::get) {
                Some(kernel) if kernel.runs::<F>() => kernel,
                // Forced for the scalars it runs (f32, f64); the others stay portable.
                Some(_) => Kernel::Portable,
                None => {
                    // The widest kernel that runs and is allowed (no allocation: this runs
                    // once per product).
                    let cap = env_cap().map_or(u8::MAX, Kernel::rank);
                    [Kernel::Avx512, Kernel::Avx2Fma]
                        .into_iter()
                        .find(|k| k.rank() <= cap && k.runs::<F>())
                        .unwrap_or(Kernel::Portable)
                }
            },
            kernel => {
                assert!(
                    kernel.runs::<F>(),
                    "the {kernel:?} kernel cannot run products of {} on this CPU",
                    core::any::type_name::<F>()
                );
                kernel
            }
        }
    }

    /// Runs `f` with [`Kernel::Auto`] resolving to this kernel on the calling thread (for the
    /// `f32` and `f64` products; other scalars stay portable), then restores the previous
    /// choice. [`gemm_into_par`] hands the choice to its worker threads; other work `f`
    /// spawns onto other threads does not see it.
    ///
    /// # Panics
    /// If this is a concrete kernel that this CPU cannot run for `f32`.
    pub fn install<R>(self, f: impl FnOnce() -> R) -> R {
        let kernel = match self {
            Kernel::Auto => None,
            kernel => Some(kernel.resolve::<f32>()),
        };
        struct Restore(Option<Kernel>);
        impl Drop for Restore {
            fn drop(&mut self) {
                INSTALLED.with(|k| k.set(self.0));
            }
        }
        let _restore = Restore(INSTALLED.with(|k| k.replace(kernel)));
        f()
    }

    /// The name of the kernel this choice runs for `F` (tile shape included).
    pub fn name<F: Scalar>(self) -> &'static str {
        match (self.resolve::<F>(), is_f32::<F>()) {
            (Kernel::Avx2Fma, true) => <avx2::Avx2F32 as GemmKernel>::NAME,
            (Kernel::Avx2Fma, false) => <avx2::Avx2F64 as GemmKernel>::NAME,
            (Kernel::Avx512, true) => <avx512::Avx512F32 as GemmKernel>::NAME,
            (Kernel::Avx512, false) => <avx512::Avx512F64 as GemmKernel>::NAME,
            _ => "portable",
        }
    }
}

pub(crate) fn is_f32<F: 'static>() -> bool {
    TypeId::of::<F>() == TypeId::of::<f32>()
}

fn is_f64<F: 'static>() -> bool {
    TypeId::of::<F>() == TypeId::of::<f64>()
}

/// Whether the AVX2 kernels can run products of `F` here.
fn avx2_runs<F: 'static>() -> bool {
    (is_f32::<F>() || is_f64::<F>()) && avx2::avx2_fma_available()
}

/// Whether the AVX-512 kernels can run products of `F` here.
fn avx512_runs<F: 'static>() -> bool {
    (is_f32::<F>() || is_f64::<F>()) && avx512::avx512_available()
}

/// `x` as a `T`, when `F` is `T`.
fn cast_scalar<F: 'static + Copy, T: 'static + Copy>(x: F) -> T {
    *(&x as &dyn Any)
        .downcast_ref::<T>()
        .expect("cast_scalar: the types are checked equal by the caller")
}

/// Checks that the strided matrix `rows x cols` fits in `len` elements.
fn check_bounds(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) {
    if rows == 0 || cols == 0 {
        return;
    }
    let last = (rows - 1)
        .checked_mul(rs)
        .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)))
        .expect("matrix view: strides overflow");
    assert!(
        last < len,
        "matrix view {rows} x {cols} with strides ({rs}, {cs}) needs {} elements, the slice has {len}",
        last + 1
    );
}

/// A borrowed strided matrix: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
///
/// ```
/// use conv_kernels::gemm::MatRef;
/// let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let a = MatRef::row_major(&data, 2, 3);
/// assert_eq!(a.get(1, 2), 6.0);
/// assert_eq!(a.t().get(2, 1), 6.0);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct MatRef<'a, F> {
    data: &'a [F],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, F: Copy> MatRef<'a, F> {
    /// A `rows x cols` view with the given strides.
    ///
    /// # Panics
    /// If an element falls outside `data`.
    pub fn new(
        data: &'a [F],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        check_bounds(data.len(), rows, cols, row_stride, col_stride);
        MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// A dense row-major `rows x cols` view of the start of `data`.
    pub fn row_major(data: &'a [F], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A view of a const-shaped matrix.
    pub fn from_mat<const R: usize, const C: usize>(m: &'a Mat<F, R, C>) -> Self {
        Self::row_major(m.as_flattened(), R, C)
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the matrix.
    pub fn get(&self, i: usize, j: usize) -> F {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {} x {}",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }

    fn raw(&self) -> RawMat<F> {
        RawMat {
            ptr: self.data.as_ptr(),
            rs: self.row_stride,
            cs: self.col_stride,
        }
    }
}

/// A mutably borrowed strided matrix: element `(i, j)` is
/// `data[i * row_stride + j * col_stride]`.
///
/// ```
/// use conv_kernels::gemm::MatMut;
/// let mut data = [0.0_f64; 6];
/// let mut c = MatMut::row_major(&mut data, 2, 3);
/// c.set(1, 0, 7.0);
/// assert_eq!(data[3], 7.0);
/// ```
#[derive(Debug)]
pub struct MatMut<'a, F> {
    data: &'a mut [F],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, F: Copy> MatMut<'a, F> {
    /// A `rows x cols` view with the given strides.
    ///
    /// # Panics
    /// If an element falls outside `data`.
    pub fn new(
        data: &'a mut [F],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Self {
        check_bounds(data.len(), rows, cols, row_stride, col_stride);
        MatMut {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    /// A dense row-major `rows x cols` view of the start of `data`.
    pub fn row_major(data: &'a mut [F], rows: usize, cols: usize) -> Self {
        Self::new(data, rows, cols, cols, 1)
    }

    /// A view of a const-shaped matrix.
    pub fn from_mat<const R: usize, const C: usize>(m: &'a mut Mat<F, R, C>) -> Self {
        Self::row_major(m.as_flattened_mut(), R, C)
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        MatMut {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            data: self.data,
        }
    }

    /// A shorter-lived view of the same matrix.
    pub fn rb_mut(&mut self) -> MatMut<'_, F> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
            col_stride: self.col_stride,
        }
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the matrix.
    pub fn get(&self, i: usize, j: usize) -> F {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {} x {}",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride]
    }

    /// Sets the element `(i, j)`.
    ///
    /// # Panics
    /// If `(i, j)` is outside the matrix.
    pub fn set(&mut self, i: usize, j: usize, value: F) {
        assert!(
            i < self.rows && j < self.cols,
            "({i}, {j}) outside {} x {}",
            self.rows,
            self.cols
        );
        self.data[i * self.row_stride + j * self.col_stride] = value;
    }

    fn raw(&mut self) -> RawMatMut<F> {
        RawMatMut {
            ptr: self.data.as_mut_ptr(),
            rs: self.row_stride,
            cs: self.col_stride,
        }
    }
}

/// `C <- alpha A B + beta C` with the AVX2 `f32` kernel, every loop compiled for AVX2 + FMA.
///
/// # Safety
/// As [`gemm_blocked`], and the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blocked_avx2_f32(problem: Problem<f32>) {
    // SAFETY: forwarded.
    unsafe { gemm_blocked::<avx2::Avx2F32>(problem) }
}

/// As [`blocked_avx2_f32`] for `f64`.
///
/// # Safety
/// As [`gemm_blocked`], and the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn blocked_avx2_f64(problem: Problem<f64>) {
    // SAFETY: forwarded.
    unsafe { gemm_blocked::<avx2::Avx2F64>(problem) }
}

/// `C <- alpha A B + beta C` with the AVX-512 `f32` kernel, every loop compiled for AVX-512.
///
/// # Safety
/// As [`gemm_blocked`], and the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn blocked_avx512_f32(problem: Problem<f32>) {
    // SAFETY: forwarded.
    unsafe { gemm_blocked::<avx512::Avx512F32>(problem) }
}

/// As [`blocked_avx512_f32`] for `f64`.
///
/// # Safety
/// As [`gemm_blocked`], and the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn blocked_avx512_f64(problem: Problem<f64>) {
    // SAFETY: forwarded.
    unsafe { gemm_blocked::<avx512::Avx512F64>(problem) }
}

/// Whether a product goes to the dot-product kernel [`avx2::dot_nt_f32`] instead of the
/// blocked driver: `A` and `Bᵀ` both contiguous along a long `k` and few rows of C, as in a
/// convolution's weight gradient `dW = dY colsᵀ`. The blocked driver would have to transpose
/// one operand while packing it, a pass as long as the product.
#[cfg(target_arch = "x86_64")]
fn dot_shaped<F: Scalar>(p: &Problem<F>) -> bool {
    p.a.cs == 1 && p.b.rs == 1 && p.k >= 32 && p.m <= 24 && p.n > 0 && p.alpha != F::zero()
}

/// Whether the AVX-512 kernel hands a product to the AVX2 one: C at most `half_nr` (half the
/// AVX-512 tile's width) columns wide, where the AVX2 tile is as wide as C and the AVX-512
/// tile would compute (and pad) twice the columns. Every AVX-512 CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
fn narrow<F>(p: &Problem<F>, half_nr: usize) -> bool {
    p.n <= half_nr
}

/// Reinterprets a problem over `F` as one over `T`, when `F` is `T`.
fn cast_problem<F: Scalar, T: Scalar>(p: Problem<F>) -> Problem<T> {
    Problem {
        m: p.m,
        k: p.k,
        n: p.n,
        alpha: cast_scalar(p.alpha),
        a: RawMat {
            ptr: p.a.ptr.cast::<T>(),
            rs: p.a.rs,
            cs: p.a.cs,
        },
        b: RawMat {
            ptr: p.b.ptr.cast::<T>(),
            rs: p.b.rs,
            cs: p.b.cs,
        },
        beta: cast_scalar(p.beta),
        c: RawMatMut {
            ptr: p.c.ptr.cast::<T>(),
            rs: p.c.rs,
            cs: p.c.cs,
        },
    }
}

/// `C <- alpha A B + beta C`, running the chosen kernel.
///
/// # Panics
/// If the shapes disagree, or the kernel cannot run products of `F` on this CPU.
///
/// ```
/// use conv_kernels::gemm::{gemm_into_with, Kernel, MatMut, MatRef};
/// let a = [1.0_f32, 2.0, 3.0, 4.0];
/// let mut c = [1.0_f32; 4];
/// let a_view = MatRef::row_major(&a, 2, 2);
/// // C <- 2 Aᵀ A - C, with the portable kernel.
/// gemm_into_with(Kernel::Portable, 2.0, a_view.t(), a_view, -1.0, MatMut::row_major(&mut c, 2, 2));
/// assert_eq!(c, [19.0, 27.0, 27.0, 39.0]);
/// ```
pub fn gemm_into_with<F: Scalar>(
    kernel: Kernel,
    alpha: F,
    a: MatRef<'_, F>,
    b: MatRef<'_, F>,
    beta: F,
    mut c: MatMut<'_, F>,
) {
    assert_eq!(
        a.cols, b.rows,
        "gemm: A is {} x {} but B is {} x {}",
        a.rows, a.cols, b.rows, b.cols
    );
    assert!(
        c.rows == a.rows && c.cols == b.cols,
        "gemm: A B is {} x {} but C is {} x {}",
        a.rows,
        b.cols,
        c.rows,
        c.cols
    );
    let problem = Problem {
        m: a.rows,
        k: a.cols,
        n: b.cols,
        alpha,
        a: a.raw(),
        b: b.raw(),
        beta,
        c: c.raw(),
    };
    // SAFETY (all arms): the views were bounds-checked when they were built, so A, B and C
    // are valid m x k, k x n and m x n matrices; C is borrowed mutably, so it overlaps
    // neither A nor B; `resolve` checked that the kernel runs on this CPU; and the casts
    // between `F` and `f32`/`f64` happen only when `F` is that type (same `TypeId`); the
    // dot-product kernel gets only the strides it needs (`dot_shaped`: A's and Bᵀ's rows
    // contiguous); every AVX-512 CPU also runs the AVX2 kernels (`avx512_available` checks
    // AVX2 and FMA too).
    match kernel.resolve::<F>() {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f32::<F>() && dot_shaped(&problem) => unsafe {
            let p = cast_problem::<F, f32>(problem);
            avx2::dot_nt_f32((p.m, p.k, p.n), p.alpha, p.a, p.b, p.beta, p.c)
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f32::<F>() && dot_shaped(&problem) => unsafe {
            let p = cast_problem::<F, f32>(problem);
            avx512::dot_nt_f32((p.m, p.k, p.n), p.alpha, p.a, p.b, p.beta, p.c)
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f32::<F>() && narrow(&problem, 16) => unsafe {
            blocked_avx2_f32(cast_problem(problem))
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f32::<F>() => unsafe { blocked_avx512_f32(cast_problem(problem)) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f64::<F>() && narrow(&problem, 8) => unsafe {
            blocked_avx2_f64(cast_problem(problem))
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 if is_f64::<F>() => unsafe { blocked_avx512_f64(cast_problem(problem)) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f32::<F>() => unsafe { blocked_avx2_f32(cast_problem(problem)) },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2Fma if is_f64::<F>() => unsafe { blocked_avx2_f64(cast_problem(problem)) },
        _ if is_f32::<F>() => unsafe {
            gemm_blocked::<portable::PortableF32>(cast_problem(problem))
        },
        _ if is_f64::<F>() => unsafe {
            gemm_blocked::<portable::PortableF64>(cast_problem(problem))
        },
        _ => unsafe { gemm_blocked::<portable::PortableGeneric<F>>(problem) },
    }
}

/// `C <- alpha A B + beta C` with the fastest kernel for `F` (transpose operands with
/// [`MatRef::t`]). `beta == 0` never reads C.
///
/// # Panics
/// If the shapes disagree.
///
/// ```
/// use conv_kernels::gemm::{gemm_into, MatMut, MatRef};
/// let a = [1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 x 3
/// let mut c = [f64::NAN; 4];
/// gemm_into(1.0, MatRef::row_major(&a, 2, 3), MatRef::row_major(&a, 2, 3).t(), 0.0,
///           MatMut::row_major(&mut c, 2, 2));
/// assert_eq!(c, [14.0, 32.0, 32.0, 77.0]);
/// ```
pub fn gemm_into<F: Scalar>(
    alpha: F,
    a: MatRef<'_, F>,
    b: MatRef<'_, F>,
    beta: F,
    c: MatMut<'_, F>,
) {
    gemm_into_with(Kernel::Auto, alpha, a, b, beta, c)
}

/// Products smaller than this many multiply-adds run on one thread in [`gemm_into_par`].
const PAR_MIN_FMAS: usize = 1 << 18;

/// [`gemm_into`] with C split into row (or column) blocks across the threads of the current
/// rayon pool. Falls back to one thread for small products or when C's rows and columns are
/// interleaved in memory.
///
/// ```
/// use conv_kernels::gemm::{gemm_into, gemm_into_par, MatMut, MatRef};
/// let a: Vec<f32> = (0..300 * 200).map(|i| (i % 7) as f32).collect();
/// let b: Vec<f32> = (0..200 * 100).map(|i| (i % 5) as f32).collect();
/// let (mut c1, mut c2) = (vec![0.0; 300 * 100], vec![0.0; 300 * 100]);
/// let (a, b) = (MatRef::row_major(&a, 300, 200), MatRef::row_major(&b, 200, 100));
/// gemm_into(1.0, a, b, 0.0, MatMut::row_major(&mut c1, 300, 100));
/// gemm_into_par(1.0, a, b, 0.0, MatMut::row_major(&mut c2, 300, 100));
/// assert_eq!(c1, c2);
/// ```
pub fn gemm_into_par<F: Scalar>(
    alpha: F,
    a: MatRef<'_, F>,
    b: MatRef<'_, F>,
    beta: F,
    c: MatMut<'_, F>,
) {
    let threads = rayon::current_num_threads();
    let (m, n) = (c.rows, c.cols);
    if threads < 2 || m * n * a.cols < PAR_MIN_FMAS {
        return gemm_into(alpha, a, b, beta, c);
    }
    if c.col_stride >= 1 && c.row_stride >= n * c.col_stride && m >= 2 {
        // Rows are disjoint runs of memory: split C (and A) by rows.
        let rows_per = m.div_ceil(threads).div_ceil(24) * 24;
        // The worker threads run the kernel chosen here (`Kernel::install` is per thread).
        let kernel = Kernel::Auto.resolve::<F>();
        let (rs, cs) = (c.row_stride, c.col_stride);
        let data = c.data;
        rayon::scope(|s| {
            for (t, chunk) in data.chunks_mut(rows_per * rs).enumerate() {
                let r0 = t * rows_per;
                if r0 >= m {
                    break;
                }
                let rows = rows_per.min(m - r0);
                let a_rows = MatRef {
                    data: &a.data[r0 * a.row_stride..],
                    rows,
                    ..a
                };
                let c_rows = MatMut::new(chunk, rows, n, rs, cs);
                s.spawn(move |_| gemm_into_with(kernel, alpha, a_rows, b, beta, c_rows));
            }
        });
    } else if c.row_stride >= 1 && c.col_stride >= m * c.row_stride && n >= 2 {
        // Columns are disjoint runs of memory: Cᵀ = Bᵀ Aᵀ splits by rows.
        gemm_into_par(alpha, b.t(), a.t(), beta, c.t());
    } else {
        gemm_into(alpha, a, b, beta, c);
    }
}

/// BLAS-style `C <- alpha op(A) op(B) + beta C` on row-major slices: `op(A)` is `m x k`,
/// `op(B)` is `k x n`, C is `m x n`; `lda`, `ldb`, `ldc` are the row strides of the stored
/// matrices (`A` is stored `m x k` when `trans_a == No`, `k x m` when `Yes`).
///
/// # Panics
/// If a matrix does not fit in its slice.
///
/// ```
/// use conv_kernels::gemm::{gemm_slices, Transpose};
/// let a = [1.0_f32, 2.0, 3.0, 4.0]; // 2 x 2
/// let b = [1.0_f32, 1.0];           // 2 x 1
/// let mut c = [0.5_f32, 0.5];
/// // C <- Aᵀ b + C
/// gemm_slices(Transpose::Yes, Transpose::No, 2, 1, 2, 1.0, &a, 2, &b, 1, 1.0, &mut c, 1);
/// assert_eq!(c, [4.5, 6.5]);
/// ```
#[allow(clippy::too_many_arguments)] // the BLAS signature, kept as is
pub fn gemm_slices<F: Scalar>(
    trans_a: Transpose,
    trans_b: Transpose,
    m: usize,
    n: usize,
    k: usize,
    alpha: F,
    a: &[F],
    lda: usize,
    b: &[F],
    ldb: usize,
    beta: F,
    c: &mut [F],
    ldc: usize,
) {
    let a = match trans_a {
        Transpose::No => MatRef::new(a, m, k, lda, 1),
        Transpose::Yes => MatRef::new(a, k, m, lda, 1).t(),
    };
    let b = match trans_b {
        Transpose::No => MatRef::new(b, k, n, ldb, 1),
        Transpose::Yes => MatRef::new(b, n, k, ldb, 1).t(),
    };
    gemm_into(alpha, a, b, beta, MatMut::new(c, m, n, ldc, 1));
}

/// `A B` for an `M x K` matrix `A` and a `K x N` matrix `B`.
///
/// ```
/// use conv_kernels::gemm::gemm;
/// use conv_kernels::Mat;
/// let a: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let b: Mat<f64, 2, 2> = Mat::from_flat(&[3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(*gemm(&a, &b), [[13.0, 16.0]]);
/// ```
pub fn gemm<F: Scalar, const M: usize, const K: usize, const N: usize>(
    a: &Mat<F, M, K>,
    b: &Mat<F, K, N>,
) -> Mat<F, M, N> {
    let mut c = Mat::zeros();
    gemm_into(
        F::one(),
        MatRef::from_mat(a),
        MatRef::from_mat(b),
        F::zero(),
        MatMut::from_mat(&mut c),
    );
    c
}

/// `Aᵀ B` for a `K x M` matrix `A` and a `K x N` matrix `B` (no transposed copy).
///
/// ```
/// use conv_kernels::gemm::gemm_tn;
/// use conv_kernels::Mat;
/// let a: Mat<f64, 2, 1> = Mat::from_flat(&[1.0, 2.0]);
/// let b: Mat<f64, 2, 2> = Mat::from_flat(&[3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(*gemm_tn(&a, &b), [[13.0, 16.0]]);
/// ```
pub fn gemm_tn<F: Scalar, const M: usize, const K: usize, const N: usize>(
    a: &Mat<F, K, M>,
    b: &Mat<F, K, N>,
) -> Mat<F, M, N> {
    let mut c = Mat::zeros();
    gemm_into(
        F::one(),
        MatRef::from_mat(a).t(),
        MatRef::from_mat(b),
        F::zero(),
        MatMut::from_mat(&mut c),
    );
    c
}

/// `A Bᵀ` for an `M x K` matrix `A` and an `N x K` matrix `B` (no transposed copy).
///
/// ```
/// use conv_kernels::gemm::gemm_nt;
/// use conv_kernels::Mat;
/// let a: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let b: Mat<f64, 2, 2> = Mat::from_flat(&[3.0, 4.0, 5.0, 6.0]);
/// assert_eq!(*gemm_nt(&a, &b), [[11.0, 17.0]]);
/// ```
pub fn gemm_nt<F: Scalar, const M: usize, const K: usize, const N: usize>(
    a: &Mat<F, M, K>,
    b: &Mat<F, N, K>,
) -> Mat<F, M, N> {
    let mut c = Mat::zeros();
    gemm_into(
        F::one(),
        MatRef::from_mat(a),
        MatRef::from_mat(b).t(),
        F::zero(),
        MatMut::from_mat(&mut c),
    );
    c
}

/// Forward mode of [`gemm`]: the product and its tangent `dC = dA B + A dB` along the
/// tangents `ta` of `a` and `tb` of `b`.
///
/// ```
/// use conv_kernels::gemm::gemm_jvp;
/// use conv_kernels::Mat;
/// let a: Mat<f64, 1, 1> = Mat::from_flat(&[2.0]);
/// let b: Mat<f64, 1, 1> = Mat::from_flat(&[3.0]);
/// let (c, dc) = gemm_jvp(&a, &b, &Mat::from_flat(&[1.0]), &Mat::from_flat(&[10.0]));
/// assert_eq!((c[0][0], dc[0][0]), (6.0, 3.0 + 20.0));
/// ```
pub fn gemm_jvp<F: Scalar, const M: usize, const K: usize, const N: usize>(
    a: &Mat<F, M, K>,
    b: &Mat<F, K, N>,
    ta: &Mat<F, M, K>,
    tb: &Mat<F, K, N>,
) -> (Mat<F, M, N>, Mat<F, M, N>) {
    let c = gemm(a, b);
    let mut dc = gemm(ta, b);
    gemm_into(
        F::one(),
        MatRef::from_mat(a),
        MatRef::from_mat(tb),
        F::one(),
        MatMut::from_mat(&mut dc),
    );
    (c, dc)
}

/// Reverse mode of [`gemm`]: the product and its pullback, which maps the cotangent `dC` to
/// `(dA, dB) = (dC Bᵀ, Aᵀ dC)`. The pullback borrows `a` and `b`; the transposes are strided
/// views, never copies.
///
/// ```
/// use conv_kernels::gemm::gemm_vjp;
/// use conv_kernels::Mat;
/// let a: Mat<f64, 1, 2> = Mat::from_flat(&[1.0, 2.0]);
/// let b: Mat<f64, 2, 1> = Mat::from_flat(&[3.0, 4.0]);
/// let (c, pullback) = gemm_vjp(&a, &b);
/// assert_eq!(c[0][0], 11.0);
/// let (da, db) = pullback(Mat::from_flat(&[1.0]));
/// assert_eq!((*da, *db), ([[3.0, 4.0]], [[1.0], [2.0]]));
/// ```
#[allow(clippy::type_complexity)] // the `_vjp` signature of API.md, spelled out
pub fn gemm_vjp<F: Scalar, const M: usize, const K: usize, const N: usize>(
    a: &Mat<F, M, K>,
    b: &Mat<F, K, N>,
) -> (
    Mat<F, M, N>,
    impl FnOnce(Mat<F, M, N>) -> (Mat<F, M, K>, Mat<F, K, N>) + use<F, M, K, N>,
) {
    let c = gemm(a, b);
    // The pullback owns copies of its operands, so that differentiated code can call `gemm` on
    // its own temporaries and keep the pullback (see docs/SUBSET.md).
    let (a, b) = (a.clone(), b.clone());
    let pullback = move |dc: Mat<F, M, N>| (gemm_nt(&dc, &b), gemm_tn(&a, &dc));
    (c, pullback)
}
