//! AVX-512 F kernels of the implicit convolution ([`super::implicit`]), the twins of
//! [`super::implicit_avx2`]'s with tiles twice as wide: the wide-row and pixel-row products and
//! the dense-pixel input gradient. They run on the GEMM's raw views, its row dispatch and, for
//! the weight gradient, its dot-product tiles.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use crate::gemm::avx2::dot_tiles;
#[cfg(target_arch = "x86_64")]
use crate::gemm::avx512::{DOT_KC, dot_tile_f32, rows_1_to_12};
#[cfg(target_arch = "x86_64")]
use crate::gemm::{RawMat, RawMatMut};

/// The weight gradient of a stride-1 convolution with its patch matrix read in place (the
/// AVX-512 twin of [`super::implicit_avx2::conv_weight_grad_taps_f32`]):
/// `C (m x n) <- A (m x k) Bᵀ`, where row `p < n` of `Bᵀ` is the `k` floats at
/// `image + taps[p]` (`taps` increasing).
///
/// # Safety
/// `A` holds `m` rows of `k` floats, `a.rs` apart (`a.cs == 1`); `taps` holds `n` increasing
/// offsets and `image + taps[p] + k` stays inside the image; C is valid for the writes of an
/// `m x n` matrix and overlaps neither; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn conv_weight_grad_taps_f32(
    (m, k, n): (usize, usize, usize),
    a: RawMat<f32>,
    image: *const f32,
    taps: &[usize],
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    assert!(
        taps.len() >= n,
        "conv_weight_grad_taps_f32: one offset per tap"
    );
    for pc in (0..k).step_by(DOT_KC) {
        let kc = DOT_KC.min(k - pc);
        let beta = if pc == 0 { 0.0 } else { 1.0 };
        for ir in (0..m).step_by(MR) {
            let rows = MR.min(m - ir);
            let a_tile = a.ptr.wrapping_add(ir * a.rs + pc);
            for jr in (0..n).step_by(2) {
                let cols = 2.min(n - jr);
                let b_tile = image.wrapping_add(taps[jr] + pc);
                let ldb = if cols == 2 {
                    taps[jr + 1] - taps[jr]
                } else {
                    0
                };
                let c_tile = RawMatMut {
                    ptr: c.ptr.wrapping_add(ir * c.rs + jr * c.cs),
                    ..c
                };
                let lda = a.rs;
                macro_rules! tile {
                    ($r:literal, $c:literal) => {
                        dot_tile_f32::<$r, $c>(kc, 1.0, a_tile, lda, b_tile, ldb, beta, c_tile)
                    };
                }
                // SAFETY: rows ir..ir + rows of A and C, taps jr..jr + cols and depths
                // pc..pc + kc exist, by the caller's contract.
                unsafe { dot_tiles!(rows, cols, tile) }
            }
        }
    }
}

/// Calls `$tile::<ROWS>(args)` with `ROWS = $rows` (1 to 6).
macro_rules! rows_1_to_6 {
    ($rows:expr, $tile:ident, $($arg:expr),*) => {
        match $rows {
            1 => $tile::<1>($($arg),*),
            2 => $tile::<2>($($arg),*),
            3 => $tile::<3>($($arg),*),
            4 => $tile::<4>($($arg),*),
            5 => $tile::<5>($($arg),*),
            _ => $tile::<6>($($arg),*),
        }
    };
}

/// Columns of one register tile of the wide-row convolution kernels ([`conv_taps_f32`],
/// [`conv_input_grad_taps_f32`]): two `zmm` vectors of output pixels.
pub(crate) const WIDE_NR: usize = 32;

/// One `ROWS x 32` tile of [`conv_taps_f32`]: `C <- A B` where row `p` of `B` is the 32
/// floats at `image + taps[p]`, read in place.
///
/// # Safety
/// Rows `i < ROWS` of `A` (`a.ptr + i * a.rs`, contiguous along `p`) hold `k` floats;
/// `taps` holds `k` offsets and `image + taps[p] + 32` stays inside the image; the C rows
/// (`c.ptr + i * c.rs`, contiguous) hold 32 floats; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn taps_tile_f32<const ROWS: usize>(
    k: usize,
    a: RawMat<f32>,
    image: *const f32,
    taps: *const usize,
    c: RawMatMut<f32>,
) {
    let rows: [*const f32; ROWS] = core::array::from_fn(|i| a.ptr.wrapping_add(i * a.rs));
    let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = image.add(*taps.add(p));
            let (b0, b1) = (_mm512_loadu_ps(pb), _mm512_loadu_ps(pb.add(16)));
            for (acc_i, row) in acc.iter_mut().zip(&rows) {
                let a_ip = _mm512_set1_ps(*row.add(p));
                acc_i[0] = _mm512_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm512_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        // SAFETY: row i < ROWS of the C tile holds 32 contiguous floats.
        unsafe {
            let row = c.ptr.add(i * c.rs);
            _mm512_storeu_ps(row, acc_i[0]);
            _mm512_storeu_ps(row.add(16), acc_i[1]);
        }
    }
}

/// The forward product of a stride-1 convolution with its patch matrix read in place (the
/// AVX-512 twin of [`super::implicit_avx2::conv_taps_f32`], with tiles twice as wide):
/// `C (m x 32 n_tiles) <- A (m x k) B`, where `B[p][j] = image[taps[p] + j]`. `A` is the
/// filters (`m` rows, contiguous, `a.rs` apart), C is written in full tiles of 32 columns
/// (`c.cs == 1`).
///
/// LOOP 2 runs over the 32-wide slivers of `B`, which stay in L1 while LOOP 1 runs the
/// `6 x 32` register tiles (12 `zmm` accumulators) down the rows of `A`.
///
/// # Safety
/// `A` holds `m` rows of `k` floats; `taps` holds `k` offsets and, for every `p < k`,
/// `image + taps[p] + 32 n_tiles` stays inside the image; C holds `m` rows of `32 n_tiles`
/// floats, `c.rs` apart, overlapping neither; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn conv_taps_f32(
    (m, k, n_tiles): (usize, usize, usize),
    a: RawMat<f32>,
    image: *const f32,
    taps: &[usize],
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    assert!(taps.len() >= k, "conv_taps_f32: one offset per tap");
    for jr in 0..n_tiles {
        let b = image.wrapping_add(jr * WIDE_NR);
        for ir in (0..m).step_by(MR) {
            let a_tile = RawMat {
                ptr: a.ptr.wrapping_add(ir * a.rs),
                ..a
            };
            let c_tile = RawMatMut {
                ptr: c.ptr.wrapping_add(ir * c.rs + jr * WIDE_NR),
                ..c
            };
            let t = taps.as_ptr();
            // SAFETY: rows ir.. of A and C exist (at most MR of them are used), columns
            // jr * 32 .. + 32 of C exist, and the image reads stay inside it, by the contract.
            unsafe { rows_1_to_6!(m - ir, taps_tile_f32, k, a_tile, b, t, c_tile) }
        }
    }
}

/// One tile of [`conv_input_grad_taps_f32`]: `C_i <- C_i + Σ_p A[i][p] B[p]` for the `ROWS`
/// rows `i`, where `A[i][p] = a_rows[i][p * a_step]` and each C row is 32 floats at its own
/// address `c_rows[i]` (rows may overlap: each is read, added to and written in turn).
///
/// # Safety
/// `a_rows[i] + p * a_step` is readable and `b + p * ldb` holds 32 floats for every `p < k`,
/// `i < ROWS`; `c_rows[i]` holds 32 floats, overlapping neither `A` nor `B`; the CPU has
/// AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn add_tile_f32<const ROWS: usize>(
    k: usize,
    (a_rows, a_step): (&[*const f32; 6], usize),
    b: *const f32,
    ldb: usize,
    c_rows: &[*mut f32; 6],
) {
    let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = b.add(p * ldb);
            let (b0, b1) = (_mm512_loadu_ps(pb), _mm512_loadu_ps(pb.add(16)));
            for (acc_i, row) in acc.iter_mut().zip(a_rows) {
                let a_ip = _mm512_set1_ps(*row.add(p * a_step));
                acc_i[0] = _mm512_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm512_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (acc_i, &row) in acc.iter().zip(c_rows) {
        // SAFETY: each C row holds 32 floats.
        unsafe {
            _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), acc_i[0]));
            _mm512_storeu_ps(
                row.add(16),
                _mm512_add_ps(_mm512_loadu_ps(row.add(16)), acc_i[1]),
            );
        }
    }
}

/// The input gradient of a stride-1 convolution with col2im fused into the product (the
/// AVX-512 twin of [`super::implicit_avx2::conv_input_grad_taps_f32`], tiles of up to six
/// taps by 32 columns): for every sliver `(first, rows, shift)` of `slivers`, every tap
/// `p = order[first + i]` (`i < rows`) and every 32-wide column tile `j` of `dY`, the tile row
/// `(Wᵀ dY)[p][32 j - shift ..]` is added to the padded image gradient at
/// `dx + taps[p] - shift + 32 j`.
///
/// The shift exists to align the stores: a 64-byte store that straddles two cache lines costs
/// about twice one that does not, and the read-modify-writes of the gradient are most of this
/// kernel's time (its reduction, over the output channels, is short). When every tap of a
/// sliver lies `shift` floats past a 64-byte boundary, the sliver's tiles start `shift`
/// columns early, so that all their stores are aligned; the loads of `dY` move instead.
///
/// # Safety
/// `w` holds `k` rows of `ldw` floats and every `order[r] < ldw`; `dy - shift` holds `k` rows
/// of `32 n_tiles` floats, `ldb` apart, for every shift; `taps` is indexed by every
/// `order[r]` and `dx + taps[order[r]] - shift .. + 32 n_tiles` stays inside the gradient;
/// every sliver has `1 <= rows <= 6` and lies inside `order`; the gradient overlaps neither
/// input; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_input_grad_taps_f32(
    (k, n_tiles): (usize, usize),
    (w, ldw): (*const f32, usize),
    order: &[usize],
    slivers: &[(usize, usize, usize)],
    taps: &[usize],
    dy: *const f32,
    ldb: usize,
    dx: *mut f32,
) {
    const MR: usize = 6;
    // Slivers outside, column tiles inside, as in the AVX2 kernel: overlapping taps are a
    // whole pass apart.
    for &(first, rows, shift) in slivers {
        assert!((1..=MR).contains(&rows) && first + rows <= order.len());
        let pick = |i: usize| order[first + i.min(rows - 1)];
        let a_rows: [*const f32; MR] = core::array::from_fn(|i| w.wrapping_add(pick(i)));
        let row_base: [*mut f32; MR] =
            core::array::from_fn(|i| dx.wrapping_add(taps[pick(i)]).wrapping_sub(shift));
        let dy_sliver = dy.wrapping_sub(shift);
        for jr in 0..n_tiles {
            let b = dy_sliver.wrapping_add(jr * WIDE_NR);
            let c_rows: [*mut f32; MR] =
                core::array::from_fn(|i| row_base[i].wrapping_add(jr * WIDE_NR));
            let a = (&a_rows, ldw);
            // SAFETY: the first `rows` taps of the sliver, the 32 columns jr * 32 - shift ..
            // of dY and their C rows exist, by the caller's contract.
            unsafe { rows_1_to_6!(rows, add_tile_f32, k, a, b, ldb, &c_rows) }
        }
    }
}

/// Output pixels (columns of C) per register tile of [`conv_gather_f32`].
const GATHER_MR: usize = 12;

/// One tile of [`conv_gather_f32`]: `tile[i][j] <- Σ_s rows[i][idx[s]] B[s][j]` for `i < ROWS`,
/// `j < 16`, with `B` packed 16 floats per step: one `zmm` of sixteen channels per pixel.
///
/// # Safety
/// `rows[i] + idx[s]` is readable for `i < ROWS`, `s < steps`; `b` holds `16 steps` floats;
/// the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
unsafe fn gather_tile_f32<const ROWS: usize>(
    steps: usize,
    rows: &[*const f32; GATHER_MR],
    idx: *const usize,
    b: *const f32,
    tile: &mut [[f32; 16]; GATHER_MR],
) {
    let mut acc = [_mm512_setzero_ps(); ROWS];
    for s in 0..steps {
        // SAFETY: s < steps, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let at = *idx.add(s);
            let b_s = _mm512_loadu_ps(b.add(s * 16));
            for (acc_i, row) in acc.iter_mut().zip(rows) {
                *acc_i = _mm512_fmadd_ps(_mm512_set1_ps(*row.add(at)), b_s, *acc_i);
            }
        }
    }
    for (acc_i, tile_i) in acc.iter().zip(tile.iter_mut()) {
        // SAFETY: each tile row holds 16 floats.
        unsafe { _mm512_storeu_ps(tile_i.as_mut_ptr(), *acc_i) };
    }
}

/// A convolution product in the transposed orientation, for any stride (the AVX-512 twin of
/// [`super::implicit_avx2::conv_gather_f32`], with the same packed `B`): the register tile is
/// twelve **columns** of C (output pixels, or taps) by sixteen **rows** of C (output channels, one
/// `zmm`), 12 accumulators:
///
/// `C[r][n] <- Σ_s image[row_offsets[n] + idx[s]] B_r[s]` for `n < n_cols`, `r < m`,
///
/// with `B` packed by blocks of 16 rows of C: block `r / 16` holds `steps` steps of 16 floats
/// (zero past `m`).
///
/// # Safety
/// `image + row_offsets[n] + idx[s]` is readable for every `n < n_cols`, `s < steps`;
/// `b_packed` holds `16 steps ⌈m / 16⌉` floats; C is valid for the writes of an `m x n_cols`
/// matrix and overlaps neither input; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
pub(crate) unsafe fn conv_gather_f32(
    (m, steps, n_cols): (usize, usize, usize),
    image: *const f32,
    row_offsets: &[usize],
    idx: &[usize],
    b_packed: *const f32,
    c: RawMatMut<f32>,
) {
    const MR: usize = GATHER_MR;
    const NR: usize = 16;
    assert!(row_offsets.len() >= n_cols && idx.len() >= steps);
    let mut tile = [[0.0_f32; NR]; MR];
    for rb in (0..m).step_by(NR) {
        let lanes = NR.min(m - rb);
        let b = b_packed.wrapping_add(rb * steps);
        for ir in (0..n_cols).step_by(MR) {
            let cols = MR.min(n_cols - ir);
            let rows: [*const f32; MR] =
                core::array::from_fn(|i| image.wrapping_add(row_offsets[ir + i.min(cols - 1)]));
            let t = idx.as_ptr();
            // SAFETY: the first `cols` rows and every step are readable, by the contract.
            unsafe { rows_1_to_12!(cols, gather_tile_f32, steps, &rows, t, b, &mut tile) }
            for j in 0..lanes {
                for (i, tile_i) in tile.iter().enumerate().take(cols) {
                    // SAFETY: row rb + j < m and column ir + i < n_cols are inside C.
                    unsafe { *c.ptr.add((rb + j) * c.rs + (ir + i) * c.cs) = tile_i[j] };
                }
            }
        }
    }
}

/// The part of a 16-lane group of dense output pixels that lies in one output row (the
/// AVX-512 form of the AVX2 kernel's 8-lane segments): lane `t` of the group (bit `t` of
/// `mask`) goes to `offset + t` of the padded image gradient, relative to a tap's offset.
/// `offset` may be negative; the lanes outside the mask are never touched.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segment16 {
    /// Bit `t` set for the lanes of this segment.
    pub mask: u16,
    /// Where lane 0 would go.
    pub offset: isize,
}

/// One `ROWS x 16 COLS` tile of [`conv_input_grad_pixels_f32`]: six taps by `16 COLS` dense
/// pixels, `Σ_o Wᵀ[s][o] dY[o][l]` accumulated over the output channels, then added to the
/// gradient segment by segment with masked read-modify-writes.
///
/// # Safety
/// As [`conv_input_grad_pixels_f32`], for the taps `s_rows` and the pixels
/// `l0 .. l0 + 16 COLS` (`n_valid` of them inside `dY`'s rows; the loads are masked past
/// them).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn pixels_tile_f32<const ROWS: usize, const COLS: usize>(
    (o, k, l): (usize, usize, usize),
    wt: *const f32,
    s_rows: &[usize; 6],
    dy: *const f32,
    (l0, n_valid): (usize, usize),
    (groups, segments): (&[(u32, u32)], &[Segment16]),
    dst: &[*mut f32; 6],
) {
    let mut acc = [[_mm512_setzero_ps(); COLS]; ROWS];
    let masks: [__mmask16; COLS] = core::array::from_fn(|v| {
        let left = n_valid.saturating_sub(16 * v).min(16);
        ((1_u32 << left) - 1) as __mmask16
    });
    for ob in 0..o.div_ceil(16) {
        let block = wt.wrapping_add(ob * 16 * k);
        let a_rows: [*const f32; ROWS] =
            core::array::from_fn(|i| block.wrapping_add(s_rows[i] * 16));
        let b_rows = dy.wrapping_add(ob * 16 * l + l0);
        for j in 0..16.min(o - 16 * ob) {
            // SAFETY: channel 16 ob + j < o: its row of dY holds the pixels loaded (masked
            // past `n_valid`), and the packed filters hold tap s_rows[i] of it, by the
            // caller's contract.
            unsafe {
                let pb = b_rows.add(j * l);
                let b: [__m512; COLS] =
                    core::array::from_fn(|v| _mm512_maskz_loadu_ps(masks[v], pb.add(16 * v)));
                for (acc_i, a_row) in acc.iter_mut().zip(&a_rows) {
                    let a = _mm512_set1_ps(*a_row.add(j));
                    for (acc_iv, &b_v) in acc_i.iter_mut().zip(&b) {
                        *acc_iv = _mm512_fmadd_ps(a, b_v, *acc_iv);
                    }
                }
            }
        }
    }
    // The first segment of every vector, then the others: the later segments of a vector
    // overlap its first one in memory, so they are kept apart in the stream of stores.
    let g0 = l0 / 16;
    for pass in 0..2 {
        for v in 0..COLS {
            let (start, end) = groups[g0 + v];
            let range = if pass == 0 {
                start as usize..start as usize + 1
            } else {
                start as usize + 1..end as usize
            };
            for seg in &segments[range] {
                for (acc_i, &d) in acc.iter().zip(dst) {
                    let p = d.wrapping_offset(seg.offset);
                    // SAFETY: the lanes of the segment's mask at `dst[i] + offset` are inside
                    // the gradient (the caller's contract); the others are not accessed.
                    unsafe {
                        let old = _mm512_maskz_loadu_ps(seg.mask, p);
                        _mm512_mask_storeu_ps(p, seg.mask, _mm512_add_ps(old, acc_i[v]));
                    }
                }
            }
        }
    }
}

/// The input gradient of a stride-1 convolution over dense output pixels, col2im fused (the
/// AVX-512 twin of the AVX2 `conv_input_grad_pixels_f32` of `implicit_avx2.rs`): for every tap
/// `s` and output pixel `l`, `(Wᵀ dY)[s][l]` is added to the padded image gradient at
/// `dx + taps[s] + bases[l]`. The register tile is six taps (`order` taken six at a time) by 32
/// pixels (two `zmm`), the filters broadcast from `wt`, `dY`'s rows loaded as they are (masked
/// past the last pixel); the tile's rows are then added to the gradient by the segments of each
/// 16-pixel group (`groups[g]` is the range of `segments` of pixels `16 g .. 16 g + 16`, the
/// first one never empty).
///
/// # Safety
/// `wt` holds `16 k ⌈o / 16⌉` floats, the filters packed by blocks of 16 channels (block
/// `b`, tap `s`, lane `j` at `16 b k + 16 s + j`); `dy` holds `o` rows of `l` floats; `order`
/// holds indices `< k` into `taps`; `groups` holds `⌈l / 16⌉` ranges into `segments`; for every
/// tap and segment, the lanes of its mask at `dx + taps[s] + offset` are inside the gradient,
/// which overlaps no input; the CPU has AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_input_grad_pixels_f32(
    (o, k, l): (usize, usize, usize),
    wt: *const f32,
    dy: *const f32,
    order: &[usize],
    taps: &[usize],
    groups: &[(u32, u32)],
    segments: &[Segment16],
    dx: *mut f32,
) {
    const MR: usize = 6;
    const NR: usize = 32;
    assert!(
        groups.len() >= l.div_ceil(16),
        "one range of segments per group"
    );
    let m = order.len();
    for ir in (0..m).step_by(MR) {
        let rows = MR.min(m - ir);
        let s_rows: [usize; MR] = core::array::from_fn(|i| order[ir + i.min(rows - 1)]);
        let dst: [*mut f32; MR] = core::array::from_fn(|i| dx.wrapping_add(taps[s_rows[i]]));
        let segs = (groups, segments);
        for l0 in (0..l).step_by(NR) {
            let n = NR.min(l - l0);
            let args = ((o, k, l), wt, &s_rows, dy, (l0, n), segs, &dst);
            // One instance per tile shape (rows taps x 16 cols pixels).
            macro_rules! tile {
                ($cols:literal) => {{
                    let (olk, wt, s_rows, dy, pixels, segs, dst) = args;
                    match rows {
                        1 => pixels_tile_f32::<1, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                        2 => pixels_tile_f32::<2, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                        3 => pixels_tile_f32::<3, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                        4 => pixels_tile_f32::<4, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                        5 => pixels_tile_f32::<5, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                        _ => pixels_tile_f32::<6, $cols>(olk, wt, s_rows, dy, pixels, segs, dst),
                    }
                }};
            }
            // SAFETY: the first `rows` taps of the sliver and pixels l0 .. l0 + n exist; the
            // loads past `n` are masked, by the caller's contract.
            unsafe { if n > 16 { tile!(2) } else { tile!(1) } }
        }
    }
}
