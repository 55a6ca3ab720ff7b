//! The blocked GEMM driver: the five Goto/BLIS loops around one [`GemmKernel`], packing, and
//! edge tiles.

use core::cell::Cell;
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
const MAX_TILE: usize = 384;

/// Cache-line aligned storage for the packing buffers.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct CacheLine(#[allow(dead_code)] [u8; 64]);

thread_local! {
    /// The packing buffers of this thread, kept between calls so that small products do not
    /// pay for an allocation. Taken out while a product runs (a nested product on the same
    /// thread finds it empty and allocates its own).
    static SCRATCH: Cell<Vec<CacheLine>> = const { Cell::new(Vec::new()) };
}

/// This thread's packing buffer, grown to at least `len` elements of `E` (contents
/// unspecified). Give it back with [`return_scratch`].
fn take_scratch<E>(len: usize) -> Vec<CacheLine> {
    const { assert!(align_of::<E>() <= 64) };
    let lines = (len * size_of::<E>()).div_ceil(64);
    if lines == 0 {
        return Vec::new();
    }
    let mut buf = SCRATCH.with(Cell::take);
    if buf.len() < lines {
        buf.resize(lines, CacheLine([0; 64]));
    }
    buf
}

/// Keeps `buf` for the next product on this thread (the larger of it and what is there).
fn return_scratch(buf: Vec<CacheLine>) {
    if buf.capacity() == 0 {
        return;
    }
    let _ = SCRATCH.try_with(|cell| {
        let other = cell.take();
        cell.set(if other.len() > buf.len() { other } else { buf });
    });
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
    let mut first = 0;
    if stride_len == 1 {
        // The r elements of each step of a full sliver are contiguous in the source: copy the
        // full slivers a few steps at a time across all of them, so that the source is read
        // as a few contiguous row streams (one sliver after the other, each step would be a
        // new line from a new row, strided, which the hardware prefetchers follow poorly).
        const STEPS: usize = 8;
        first = len - len % r;
        for p0 in (0..kc).step_by(STEPS) {
            let p1 = min(kc, p0 + STEPS);
            for s in (0..first).step_by(r) {
                // SAFETY: steps p0..p1 of the full sliver at s are inside the panel, and
                // their writes inside the `s`-th sliver (`r` is a constant here, so each
                // copy compiles to a few vector moves).
                unsafe {
                    let d = dst.add(s * kc);
                    for p in p0..p1 {
                        core::ptr::copy_nonoverlapping(src.add(s + p * stride_k), d.add(p * r), r);
                    }
                }
            }
        }
    }
    for s in (first..len).step_by(r) {
        let width = min(r, len - s);
        // SAFETY: every read is inside the panel and every write inside the `s`-th sliver.
        unsafe {
            let d = dst.add(s * kc);
            let src_s = src.add(s * stride_len);
            if width == r && stride_k == 1 {
                // A full sliver of rows contiguous along k: r loads from r row streams and
                // one contiguous store of r per step.
                for p in 0..kc {
                    let to = d.add(p * r);
                    for t in 0..r {
                        *to.add(t) = *src_s.add(t * stride_len + p);
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

/// A tile on the right edge: the kernel computes `mr` full rows of `NR` columns (from the
/// zero-padded `B~` sliver) into a scratch tile, and the `mr x nr` corner that exists is
/// merged into C.
///
/// # Safety
/// As [`GemmKernel::kernel_rows`] with `rows = mr`, with C valid only for its `mr x nr`
/// corner.
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
    unsafe { K::kernel_rows(mr, kc, alpha, a, b, zero, tile_view) };
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

/// How LOOP 1 cuts a block of rows into register tiles: the first `plain` rows into tiles of
/// `MR`, the rest into tiles of `tail` rows (the last one possibly shorter), each an `A~`
/// sliver of its own height.
///
/// A block of `mc = q MR + rem` rows with a small remainder (`0 < rem <= MR / 2`) ends with
/// two tiles of about `(MR + rem) / 2` rows instead of one of `MR` and one of `rem`: a tile of
/// few rows has too few independent accumulators to hide the FMA latency (with `6 x 16` on
/// Zen 3, a 2-row tile runs at about half the rate of a 4-row one, a 3-row tile at three
/// quarters), so rows `8 = 4 + 4` and `9 = 5 + 4` beat `6 + 2` and `6 + 3`.
#[derive(Clone, Copy)]
struct RowSplit {
    plain: usize,
    tail: usize,
}

impl RowSplit {
    #[inline(always)]
    fn new(mc: usize, mr: usize) -> Self {
        let (full, rem) = (mc / mr, mc % mr);
        if rem > 0 && 2 * rem <= mr && full >= 1 {
            RowSplit {
                plain: (full - 1) * mr,
                tail: (mr + rem).div_ceil(2),
            }
        } else {
            RowSplit {
                plain: full * mr,
                tail: mr,
            }
        }
    }

    /// The tiles of a block of `mc` rows: `(first row, rows, height of its A~ sliver)`.
    #[inline(always)]
    fn tiles(self, mc: usize, mr: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let RowSplit { plain, tail } = self;
        (0..plain).step_by(mr).map(move |ir| (ir, mr, mr)).chain(
            (plain..mc)
                .step_by(tail)
                .map(move |ir| (ir, min(tail, mc - ir), tail)),
        )
    }
}

/// Whether LOOP 1 reads `A` in place instead of packing it into `A~`: when `A`'s rows are
/// contiguous along `k`, the kernel broadcasts from `MR` row streams directly, which saves the
/// transposing copy. Not for rows 4 KiB apart or more: the `MR` streams would then fall in
/// one L1 set (8 ways, shared with the `B~` sliver) and evict each other. Rows 2 KiB apart
/// put six of the AVX-512 tile's twelve streams in each of two sets, which still measured
/// faster than packing (Zen 4, n = 512: 93-94% of P against 87-90%).
#[inline(always)]
fn reads_a_in_place<E>(a: RawMat<E>) -> bool {
    a.cs == 1 && a.rs * size_of::<E>() <= 2048
}

/// Whether LOOP 2 reads `B` in place instead of packing it into `B~`: when `B`'s rows are
/// contiguous along `n` and either the whole `k x NR` sliver, at its row stride, fits in L1
/// without conflicts, or C has so few rows (at most `3 MR`) that each sliver is read by at most
/// three microkernel calls: then packing, a full extra pass over `B`, costs more than the
/// strided reads it saves (the convolution's `O x L` products, `O` = 6 or 16).
#[inline(always)]
fn reads_b_in_place<E>(b: RawMat<E>, m: usize, k: usize, mr: usize, kc: usize) -> bool {
    b.cs == 1 && (k * b.rs * size_of::<E>() <= 32 * 1024 || (m <= 3 * mr && k <= kc))
}

/// `C <- alpha A B + beta C` by the Goto/BLIS blocking around the microkernel `K`.
///
/// # Safety
/// `a`, `b`, `c` are valid for the reads (and writes, for `c`) of `m x k`, `k x n` and `m x n`
/// matrices, C does not overlap A or B, and `K::is_available()`.
#[inline(always)]
pub(crate) unsafe fn gemm_blocked<K: GemmKernel>(problem: Problem<K::Elem>) {
    // The packed buffers are sized for whole slivers.
    const { assert!(K::MC % K::MR == 0 && K::NC % K::NR == 0) };
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
    let a_in_place = reads_a_in_place(a);
    let b_in_place = reads_b_in_place(b, m, k, K::MR, K::KC);
    if a_in_place && k <= K::KC && m <= K::MC && n <= K::NC {
        // One block, A read in place: LOOP 2 and 1 only, in a compact loop nest (the full
        // driver below costs more than the product when the product is small).
        // With B in place, only a partial right sliver is packed (zero-padded to NR columns).
        let full_cols = n - n % nr;
        let b_len = match (b_in_place, n % nr) {
            (false, _) => n.div_ceil(nr) * nr * k,
            (true, 0) => 0,
            (true, _) => nr * k,
        };
        let mut scratch = take_scratch::<K::Elem>(b_len);
        let b_pack = scratch.as_mut_ptr().cast::<K::Elem>();
        if !b_in_place {
            // Pack B -> B~ (all of it: k x n, slivers of NR columns, zero-padded).
            // SAFETY: B is k x n; the scratch holds round_up(n, NR) * k elements.
            unsafe { pack(nr, k, n, b_pack, b.ptr, b.cs, b.rs) };
        } else if b_len != 0 {
            // SAFETY: columns full_cols .. n of B exist; the scratch holds NR * k elements.
            unsafe {
                pack(
                    nr,
                    k,
                    n - full_cols,
                    b_pack,
                    b.ptr.add(full_cols),
                    b.cs,
                    b.rs,
                )
            };
        }
        for jr in (0..n).step_by(nr) {
            let nr_here = min(nr, n - jr);
            let b_sliver = if !b_in_place {
                RawMat {
                    ptr: b_pack.wrapping_add(jr * k),
                    rs: nr,
                    cs: 1,
                }
            } else if jr < full_cols {
                RawMat {
                    ptr: b.ptr.wrapping_add(jr),
                    rs: b.rs,
                    cs: 1,
                }
            } else {
                RawMat {
                    ptr: b_pack,
                    rs: nr,
                    cs: 1,
                }
            };
            for (ir, mr_here, _) in RowSplit::new(m, mr).tiles(m, mr) {
                let a_sliver = RawMat {
                    ptr: a.ptr.wrapping_add(ir * a.rs),
                    rs: a.rs,
                    cs: 1,
                };
                let c_tile = RawMatMut {
                    ptr: c.ptr.wrapping_add(ir * c.rs + jr * c.cs),
                    rs: c.rs,
                    cs: c.cs,
                };
                // SAFETY: rows ir..ir + mr_here of A and C exist; the B sliver holds k x NR
                // (columns of B in place, or packed and zero-padded); the right edge goes
                // through a scratch tile.
                unsafe {
                    if nr_here < nr {
                        edge_tile::<K>(
                            mr_here, nr_here, k, alpha, a_sliver, b_sliver, beta, c_tile,
                        );
                    } else if mr_here == mr {
                        K::kernel(k, alpha, a_sliver, b_sliver, beta, c_tile);
                    } else {
                        K::kernel_rows(mr_here, k, alpha, a_sliver, b_sliver, beta, c_tile);
                    }
                }
            }
        }
        return_scratch(scratch);
        return;
    }
    let kc_max = min(k, K::KC);
    let mc_max = min(m.div_ceil(mr) * mr, K::MC);
    let nc_max = min(n.div_ceil(nr) * nr, K::NC);
    let a_len = if a_in_place { 0 } else { mc_max * kc_max };
    // Keep B~ on a cache-line boundary.
    let a_len = a_len.div_ceil(64) * 64;
    let b_len = match (b_in_place, n % nr) {
        (false, _) => nc_max * kc_max,
        // In place, only a partial right sliver is packed.
        (true, 0) => 0,
        (true, _) => nr * kc_max,
    };

    // Taken out of the thread-local rather than used in a closure, so that the loops below
    // are compiled with the target features of the caller and the kernel inlines.
    let mut scratch = take_scratch::<K::Elem>(a_len + b_len);
    {
        let a_pack = scratch.as_mut_ptr().cast::<K::Elem>();
        let b_pack = a_pack.wrapping_add(a_len);
        // LOOP 5: split n into NC-wide blocks (one block B~ in L3).
        for jc in (0..n).step_by(K::NC) {
            let nc = min(n - jc, K::NC);
            // LOOP 4: split k into KC-deep slices.
            for pc in (0..k).step_by(K::KC) {
                let kc = min(k - pc, K::KC);
                // SAFETY: (pc, jc) is inside B.
                let b_block = unsafe { b.ptr.add(pc * b.rs + jc * b.cs) };
                let full_cols = nc - nc % nr;
                if !b_in_place {
                    // Pack B -> B~ (KC x NC, slivers of NR columns).
                    // SAFETY: the block of B is kc x nc; B~ holds nc_max * kc_max.
                    unsafe { pack(nr, kc, nc, b_pack, b_block, b.cs, b.rs) };
                } else if full_cols != nc {
                    // Pack only the right sliver, zero-padded to NR columns.
                    // SAFETY: columns full_cols .. nc of the block exist; B~ holds
                    // nc_max * kc_max >= nr * kc.
                    unsafe {
                        let last = b_block.add(full_cols * b.cs);
                        pack(nr, kc, nc - full_cols, b_pack, last, b.cs, b.rs);
                    }
                }
                // Later slices accumulate onto what the first one wrote.
                let beta_pc = if pc == 0 { beta } else { K::Elem::one() };
                // LOOP 3: split m into MC-tall blocks (one block of A in L2).
                for ic in (0..m).step_by(K::MC) {
                    let mc = min(m - ic, K::MC);
                    // SAFETY: (ic, pc) is inside A.
                    let a_block = unsafe { a.ptr.add(ic * a.rs + pc * a.cs) };
                    let split = RowSplit::new(mc, mr);
                    if !a_in_place {
                        // Pack A -> A~ (MC x KC, slivers of MR rows, then of `split.tail`).
                        // SAFETY: the block of A is mc x kc; A~ holds mc_max * kc_max >=
                        // (plain + round_up(mc - plain, tail)) * kc: the tail is
                        // `MR + rem <= 2 MR - 1` rows, padded to at most `2 MR`.
                        unsafe {
                            let plain = split.plain;
                            pack(mr, kc, plain, a_pack, a_block, a.rs, a.cs);
                            if plain < mc {
                                let (dst, src) =
                                    (a_pack.add(plain * kc), a_block.add(plain * a.rs));
                                pack(split.tail, kc, mc - plain, dst, src, a.rs, a.cs);
                            }
                        }
                    }
                    // LOOP 2: NR-wide slivers of B~ (one sliver in L1).
                    for jr in (0..nc).step_by(nr) {
                        let nr_here = min(nr, nc - jr);
                        let b_sliver = if !b_in_place {
                            RawMat {
                                ptr: b_pack.wrapping_add(jr * kc),
                                rs: nr,
                                cs: 1,
                            }
                        } else if jr < full_cols {
                            RawMat {
                                ptr: b_block.wrapping_add(jr),
                                rs: b.rs,
                                cs: 1,
                            }
                        } else {
                            RawMat {
                                ptr: b_pack,
                                rs: nr,
                                cs: 1,
                            }
                        };
                        // LOOP 1: MR-tall slivers of A~ (or of A in place).
                        for (ir, mr_here, height) in split.tiles(mc, mr) {
                            let a_sliver = if a_in_place {
                                RawMat {
                                    ptr: a_block.wrapping_add(ir * a.rs),
                                    rs: a.rs,
                                    cs: a.cs,
                                }
                            } else {
                                RawMat {
                                    ptr: a_pack.wrapping_add(ir * kc),
                                    rs: 1,
                                    cs: height,
                                }
                            };
                            let c_tile = RawMatMut {
                                ptr: c.ptr.wrapping_add((ic + ir) * c.rs + (jc + jr) * c.cs),
                                rs: c.rs,
                                cs: c.cs,
                            };
                            // SAFETY: the slivers hold kc steps of mr_here x NR (packed and
                            // zero-padded, or rows of A in place); the C tile is inside C for
                            // its first mr_here rows, and the right edge goes through a
                            // scratch tile.
                            unsafe {
                                if nr_here < nr {
                                    edge_tile::<K>(
                                        mr_here, nr_here, kc, alpha, a_sliver, b_sliver, beta_pc,
                                        c_tile,
                                    );
                                } else if mr_here == mr {
                                    K::kernel(kc, alpha, a_sliver, b_sliver, beta_pc, c_tile);
                                } else {
                                    K::kernel_rows(
                                        mr_here, kc, alpha, a_sliver, b_sliver, beta_pc, c_tile,
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return_scratch(scratch);
}
