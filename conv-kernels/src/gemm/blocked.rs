//! The blocked GEMM driver: the five Goto/BLIS loops around one [`GemmKernel`], packing, and
//! edge tiles.

use core::cell::RefCell;
use core::cmp::min;

use super::kernel::{GemmKernel, RawMat, RawMatMut};
use crate::Scalar;
use autodiff_core::num_traits::{One, Zero};

/// One product `C <- alpha A B + beta C` with `A: m x k`, `B: k x n`, `C: m x n`, given by raw
/// strided views.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Problem<E> {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: E,
    pub a: RawMat<E>,
    pub b: RawMat<E>,
    pub beta: E,
    pub c: RawMatMut<E>,
}

/// The largest `MR * NR` of any kernel: the size of the scratch tile of edge tiles.
const MAX_TILE: usize = 128;

/// Cache-line aligned storage for the packing buffers.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct CacheLine(#[allow(dead_code)] [u8; 64]);

thread_local! {
    /// The packing buffers of this thread, kept between calls so that small products do not
    /// pay for an allocation.
    static SCRATCH: RefCell<Vec<CacheLine>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on a 64-byte aligned buffer of at least `len` elements of `E` (contents
/// unspecified: `f` writes before it reads).
fn with_scratch<E, R>(len: usize, f: impl FnOnce(*mut E) -> R) -> R {
    const { assert!(align_of::<E>() <= 64) };
    let lines = (len * size_of::<E>()).div_ceil(64);
    let mut f = Some(f);
    let reused = SCRATCH.with(|cell| {
        cell.try_borrow_mut().ok().map(|mut buf| {
            if buf.len() < lines {
                buf.resize(lines, CacheLine([0; 64]));
            }
            let run = f.take().expect("called once");
            run(buf.as_mut_ptr().cast::<E>())
        })
    });
    match reused {
        Some(r) => r,
        // Re-entered on this thread (or during thread teardown): use a fresh buffer.
        None => {
            let mut buf = vec![CacheLine([0; 64]); lines];
            let run = f.take().expect("called once");
            run(buf.as_mut_ptr().cast::<E>())
        }
    }
}

/// Packs a `len x kc` panel (element `(t, p)` at `src + t * stride_len + p * stride_k`) into
/// slivers of `r` rows: sliver `s` holds, for each `p`, the `r` elements `(s * r + t, p)`
/// contiguously, zero-padded past `len`. This is the layout of both `A~` (`len = mc`,
/// `r = MR`) and `B~` (`len = nc`, `r = NR`).
///
/// # Safety
/// `src` is valid for the reads of the panel and `dst` for `round_up(len, r) * kc` writes.
#[inline(always)]
unsafe fn pack<E: Scalar>(
    r: usize,
    kc: usize,
    len: usize,
    dst: *mut E,
    src: *const E,
    stride_len: usize,
    stride_k: usize,
) {
    let zero = E::zero();
    for s in (0..len).step_by(r) {
        let width = min(r, len - s);
        // SAFETY: every read is inside the panel and every write inside the `s`-th sliver.
        unsafe {
            let d = dst.add(s * kc);
            let src_s = src.add(s * stride_len);
            if width == r && stride_len == 1 {
                // The r elements of each step are contiguous: a straight copy (`r` is a
                // constant here, so this loop compiles to a few vector moves).
                for p in 0..kc {
                    let (from, to) = (src_s.add(p * stride_k), d.add(p * r));
                    for t in 0..r {
                        *to.add(t) = *from.add(t);
                    }
                }
            } else if stride_k == 1 {
                // Each of the `width` rows is contiguous along k.
                for p in 0..kc {
                    let to = d.add(p * r);
                    for t in 0..r {
                        *to.add(t) = if t < width {
                            *src_s.add(t * stride_len + p)
                        } else {
                            zero
                        };
                    }
                }
            } else {
                for p in 0..kc {
                    let to = d.add(p * r);
                    for t in 0..r {
                        *to.add(t) = if t < width {
                            *src_s.add(t * stride_len + p * stride_k)
                        } else {
                            zero
                        };
                    }
                }
            }
        }
    }
}

/// Copies `rows <= r` rows of `kc` contiguous elements (row `t` at `src + t * stride`) into an
/// `r x kc` row-major buffer, zero-padding the missing rows: the bottom edge of an `A` read in
/// place, without the transposing copy of [`pack`].
///
/// # Safety
/// `src` is valid for the reads of the rows and `dst` for `r * kc` writes.
#[inline(always)]
unsafe fn copy_rows<E: Scalar>(
    r: usize,
    kc: usize,
    rows: usize,
    dst: *mut E,
    src: *const E,
    stride: usize,
) {
    for t in 0..r {
        // SAFETY: row t < rows of the source has kc elements; dst has r rows of kc.
        unsafe {
            let to = dst.add(t * kc);
            if t < rows {
                core::ptr::copy_nonoverlapping(src.add(t * stride), to, kc);
            } else {
                for p in 0..kc {
                    *to.add(p) = E::zero();
                }
            }
        }
    }
}

/// `C <- beta C` on the whole of C (`C <- 0` when `beta == 0`, without reading C).
///
/// # Safety
/// C is valid for the reads and writes of an `m x n` matrix.
unsafe fn scale_c<E: Scalar>(m: usize, n: usize, beta: E, c: RawMatMut<E>) {
    for i in 0..m {
        for j in 0..n {
            // SAFETY: (i, j) is inside C.
            unsafe {
                let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                *c_ij = if beta == E::zero() {
                    E::zero()
                } else {
                    beta * *c_ij
                };
            }
        }
    }
}

/// An edge tile: the kernel computes the full `MR x NR` tile into a scratch tile, and the
/// `mr x nr` corner that exists is merged into C.
///
/// # Safety
/// As [`GemmKernel::kernel`], with C valid only for its `mr x nr` corner.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn edge_tile<K: GemmKernel>(
    mr: usize,
    nr: usize,
    kc: usize,
    alpha: K::Elem,
    a: RawMat<K::Elem>,
    b: RawMat<K::Elem>,
    beta: K::Elem,
    c: RawMatMut<K::Elem>,
) {
    const { assert!(K::MR * K::NR <= MAX_TILE) };
    let zero = K::Elem::zero();
    let mut tile = [zero; MAX_TILE];
    let tile_view = RawMatMut {
        ptr: tile.as_mut_ptr(),
        rs: K::NR,
        cs: 1,
    };
    // SAFETY: the scratch tile holds MR x NR elements; A and B as the caller guarantees.
    unsafe { K::kernel(kc, alpha, a, b, zero, tile_view) };
    for i in 0..mr {
        for j in 0..nr {
            // SAFETY: i < mr, j < nr: inside the existing corner of C.
            unsafe {
                let c_ij = c.ptr.add(i * c.rs + j * c.cs);
                let t = tile[i * K::NR + j];
                *c_ij = if beta == zero { t } else { t + beta * *c_ij };
            }
        }
    }
}

/// Whether LOOP 1 reads `A` in place instead of packing it into `A~`: when `A`'s rows are
/// contiguous along `k`, the kernel broadcasts from `MR` row streams directly, which saves the
/// transposing copy (only partial slivers at the bottom edge are packed, to zero-pad them).
#[inline(always)]
fn reads_a_in_place<E>(a: RawMat<E>) -> bool {
    a.cs == 1
}

/// `C <- alpha A B + beta C` by the Goto/BLIS blocking around the microkernel `K`.
///
/// # Safety
/// `a`, `b`, `c` are valid for the reads (and writes, for `c`) of `m x k`, `k x n` and `m x n`
/// matrices, C does not overlap A or B, and `K::is_available()`.
#[inline(always)]
pub(crate) unsafe fn gemm_blocked<K: GemmKernel>(problem: Problem<K::Elem>) {
    let Problem {
        m,
        k,
        n,
        alpha,
        a,
        b,
        beta,
        c,
    } = problem;
    let zero = K::Elem::zero();
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == zero {
        // SAFETY: C is m x n.
        unsafe { scale_c(m, n, beta, c) };
        return;
    }
    let (mr, nr) = (K::MR, K::NR);
    let kc_max = min(k, K::KC);
    let mc_max = min(m.div_ceil(mr) * mr, K::MC);
    let nc_max = min(n.div_ceil(nr) * nr, K::NC);
    let a_in_place = reads_a_in_place(a);
    let a_len = if a_in_place {
        mr * kc_max
    } else {
        mc_max * kc_max
    };
    // Keep B~ on a cache-line boundary.
    let a_len = a_len.div_ceil(64) * 64;
    let b_len = nc_max * kc_max;

    with_scratch::<K::Elem, _>(a_len + b_len, |scratch| {
        let a_pack = scratch;
        let b_pack = scratch.wrapping_add(a_len);
        // LOOP 5: split n into NC-wide blocks (one block B~ in L3).
        for jc in (0..n).step_by(K::NC) {
            let nc = min(n - jc, K::NC);
            // LOOP 4: split k into KC-deep slices.
            for pc in (0..k).step_by(K::KC) {
                let kc = min(k - pc, K::KC);
                // Pack B -> B~ (KC x NC, slivers of NR columns).
                // SAFETY: the block (pc.., jc..) of B is kc x nc; B~ holds nc_max * kc_max.
                unsafe {
                    pack(
                        nr,
                        kc,
                        nc,
                        b_pack,
                        b.ptr.add(pc * b.rs + jc * b.cs),
                        b.cs,
                        b.rs,
                    );
                }
                // Later slices accumulate onto what the first one wrote.
                let beta_pc = if pc == 0 { beta } else { K::Elem::one() };
                // LOOP 3: split m into MC-tall blocks (one block of A in L2).
                for ic in (0..m).step_by(K::MC) {
                    let mc = min(m - ic, K::MC);
                    // SAFETY: (ic, pc) is inside A.
                    let a_block = unsafe { a.ptr.add(ic * a.rs + pc * a.cs) };
                    let partial_rows = mc % mr;
                    if !a_in_place {
                        // Pack A -> A~ (MC x KC, slivers of MR rows).
                        // SAFETY: the block of A is mc x kc; A~ holds mc_max * kc_max.
                        unsafe { pack(mr, kc, mc, a_pack, a_block, a.rs, a.cs) };
                    } else if partial_rows != 0 {
                        // Copy only the bottom sliver, zero-padded to MR rows.
                        // SAFETY: rows mc - partial_rows .. mc of the block exist; the
                        // sliver buffer holds mr * kc_max.
                        unsafe {
                            let last = a_block.add((mc - partial_rows) * a.rs);
                            copy_rows(mr, kc, partial_rows, a_pack, last, a.rs);
                        }
                    }
                    // LOOP 2: NR-wide slivers of B~ (one sliver in L1).
                    for jr in (0..nc).step_by(nr) {
                        let nr_here = min(nr, nc - jr);
                        let b_sliver = RawMat {
                            ptr: b_pack.wrapping_add(jr * kc),
                            rs: nr,
                            cs: 1,
                        };
                        // LOOP 1: MR-tall slivers of A~ (or of A in place).
                        for ir in (0..mc).step_by(mr) {
                            let mr_here = min(mr, mc - ir);
                            let a_sliver = if !a_in_place {
                                RawMat {
                                    ptr: a_pack.wrapping_add(ir * kc),
                                    rs: 1,
                                    cs: mr,
                                }
                            } else if mr_here == mr {
                                RawMat {
                                    ptr: a_block.wrapping_add(ir * a.rs),
                                    rs: a.rs,
                                    cs: a.cs,
                                }
                            } else {
                                RawMat {
                                    ptr: a_pack,
                                    rs: kc,
                                    cs: 1,
                                }
                            };
                            let c_tile = RawMatMut {
                                ptr: c.ptr.wrapping_add((ic + ir) * c.rs + (jc + jr) * c.cs),
                                rs: c.rs,
                                cs: c.cs,
                            };
                            // SAFETY: the slivers hold kc steps of MR x NR (packed and
                            // zero-padded, or full rows of A in place); the C tile is inside C
                            // (full tiles) or only its mr_here x nr_here corner is touched.
                            unsafe {
                                if mr_here == mr && nr_here == nr {
                                    K::kernel(kc, alpha, a_sliver, b_sliver, beta_pc, c_tile);
                                } else {
                                    edge_tile::<K>(
                                        mr_here, nr_here, kc, alpha, a_sliver, b_sliver, beta_pc,
                                        c_tile,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}
