//! AVX2 + FMA kernels of the implicit convolution ([`super::implicit`]): the register tiles of
//! the wide-row products (patch matrix read in place at stride 1), of the pixel-row products
//! (any stride), and those that work on the output pixels densely (`OH OW` of them, not the
//! `OH Wp` of the wide-row layout). They run on the GEMM's raw views and, for the weight
//! gradient, its dot-product tiles.

use core::arch::x86_64::*;

use crate::gemm::avx2::{DOT_KC, dot_tile_f32, dot_tiles};
use crate::gemm::{RawMat, RawMatMut};
/// One `ROWS x 16` tile of [`conv_taps_f32`]: `C <- A B` where row `p` of `B` is the 16
/// floats at `image + taps[p]`, read in place (the patch matrix of a stride-1 convolution over
/// a zero-padded image is never stored: its row `p` is the image shifted by tap `p`'s offset).
///
/// # Safety
/// Rows `i < ROWS` of `A` (`a.ptr + i * a.rs`, contiguous along `p`) hold `k` floats;
/// `taps` holds `k` offsets and `image + taps[p] + 16` stays inside the image; the C rows
/// (`c.ptr + i * c.rs`, contiguous) hold 16 floats; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn taps_tile_f32<const ROWS: usize>(
    k: usize,
    a: RawMat<f32>,
    image: *const f32,
    taps: *const usize,
    c: RawMatMut<f32>,
) {
    let rows: [*const f32; ROWS] = core::array::from_fn(|i| a.ptr.wrapping_add(i * a.rs));
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = image.add(*taps.add(p));
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(&rows) {
                let a_ip = _mm256_set1_ps(*row.add(p));
                acc_i[0] = _mm256_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (i, acc_i) in acc.iter().enumerate() {
        // SAFETY: row i < ROWS of the C tile holds 16 contiguous floats.
        unsafe {
            let row = c.ptr.add(i * c.rs);
            _mm256_storeu_ps(row, acc_i[0]);
            _mm256_storeu_ps(row.add(8), acc_i[1]);
        }
    }
}

/// The forward product of a stride-1 convolution with its patch matrix read in place:
/// `C (m x 16 n_tiles) <- A (m x k) B`, where `B[p][j] = image[taps[p] + j]`. `A` is the filters
/// (`m` rows, contiguous, `a.rs` apart), C is written in full tiles of 16 columns (`c.cs == 1`).
///
/// LOOP 2 runs over the 16-wide slivers of `B`, which stay in L1 while LOOP 1 runs the `6 x 16`
/// register tiles down the rows of `A`.
///
/// # Safety
/// `A` holds `m` rows of `k` floats; `taps` holds `k` offsets and, for every `p < k`,
/// `image + taps[p] + 16 n_tiles` stays inside the image; C holds `m` rows of `16 n_tiles`
/// floats, `c.rs` apart, overlapping neither; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_taps_f32(
    (m, k, n_tiles): (usize, usize, usize),
    a: RawMat<f32>,
    image: *const f32,
    taps: &[usize],
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    assert!(taps.len() >= k, "conv_taps_f32: one offset per tap");
    for jr in 0..n_tiles {
        let b = image.wrapping_add(jr * NR);
        for ir in (0..m).step_by(MR) {
            let a_tile = RawMat {
                ptr: a.ptr.wrapping_add(ir * a.rs),
                ..a
            };
            let c_tile = RawMatMut {
                ptr: c.ptr.wrapping_add(ir * c.rs + jr * NR),
                ..c
            };
            let t = taps.as_ptr();
            // SAFETY: rows ir.. of A and C exist (at most MR of them are used), columns
            // jr * NR .. + NR of C exist, and the image reads stay inside it, by the contract.
            unsafe {
                match m - ir {
                    1 => taps_tile_f32::<1>(k, a_tile, b, t, c_tile),
                    2 => taps_tile_f32::<2>(k, a_tile, b, t, c_tile),
                    3 => taps_tile_f32::<3>(k, a_tile, b, t, c_tile),
                    4 => taps_tile_f32::<4>(k, a_tile, b, t, c_tile),
                    5 => taps_tile_f32::<5>(k, a_tile, b, t, c_tile),
                    _ => taps_tile_f32::<6>(k, a_tile, b, t, c_tile),
                }
            }
        }
    }
}

/// The weight gradient of a stride-1 convolution with its patch matrix read in place:
/// `C (m x n) <- A (m x k) Bᵀ`, where row `p < n` of `Bᵀ` is the `k` floats at
/// `image + taps[p]` (`taps` increasing). Each entry is a dot product of two contiguous rows,
/// computed by the `6 x 2` tiles of [`dot_nt_f32`](crate::gemm::avx2::dot_nt_f32); two
/// neighbouring taps are one base pointer and the distance between their offsets.
///
/// # Safety
/// `A` holds `m` rows of `k` floats, `a.rs` apart (`a.cs == 1`); `taps` holds `n` increasing
/// offsets and `image + taps[p] + k` stays inside the image; C is valid for the writes of an
/// `m x n` matrix and overlaps neither; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
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

/// One tile of [`conv_input_grad_taps_f32`]: `C_i <- C_i + Σ_p A[i][p] B[p]` for the `ROWS`
/// rows `i`, where `A[i][p] = a_rows[i][p * a_step]` and each C row is 16 floats at its own
/// address `c_rows[i]` (rows may overlap: each is read, added to and written in turn).
///
/// # Safety
/// `a_rows[i] + p * a_step` is readable and `b + p * ldb` holds 16 floats for every `p < k`,
/// `i < ROWS`; `c_rows[i]` holds 16 floats, overlapping neither `A` nor `B`; the CPU has AVX2
/// and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn add_tile_f32<const ROWS: usize>(
    k: usize,
    (a_rows, a_step): (&[*const f32; 6], usize),
    b: *const f32,
    ldb: usize,
    c_rows: &[*mut f32; 6],
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for p in 0..k {
        // SAFETY: p < k, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let pb = b.add(p * ldb);
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(a_rows) {
                let a_ip = _mm256_set1_ps(*row.add(p * a_step));
                acc_i[0] = _mm256_fmadd_ps(a_ip, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_ip, b1, acc_i[1]);
            }
        }
    }
    for (acc_i, &row) in acc.iter().zip(c_rows) {
        // SAFETY: each C row holds 16 floats.
        unsafe {
            _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc_i[0]));
            _mm256_storeu_ps(
                row.add(8),
                _mm256_add_ps(_mm256_loadu_ps(row.add(8)), acc_i[1]),
            );
        }
    }
}

/// The input gradient of a stride-1 convolution with col2im fused into the product: for
/// every tap `p = order[r]` and every 16-wide column tile `j` of `dY`, the tile row
/// `(Wᵀ dY)[p][16 j ..]` is added to the padded image gradient at `dx + taps[p] + 16 j`.
/// `W` is the `k x ldw` filter matrix (row `o`, column `p`), read in place; `dY` is
/// `k x 16 n_tiles` (`ldb` apart). Six taps make one register tile: taps next to each other
/// in `order` should be at least 16 floats apart, so that a tile's six read-modify-writes do
/// not wait on each other.
///
/// # Safety
/// `w` holds `k` rows of `ldw` floats and every `order[r] < ldw`; `dy` holds `k` rows of
/// `16 n_tiles` floats, `ldb` apart; `taps` is indexed by every `order[r]` and
/// `dx + taps[order[r]] + 16 n_tiles` stays inside the gradient; the gradient overlaps
/// neither input; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_input_grad_taps_f32(
    (k, n_tiles): (usize, usize),
    (w, ldw): (*const f32, usize),
    order: &[usize],
    taps: &[usize],
    dy: *const f32,
    ldb: usize,
    dx: *mut f32,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    let m = order.len();
    // Slivers outside, column tiles inside: the taps of one sliver overlap those of the
    // slivers next to it (the same `(c, u)`, `v` one apart), and a read-modify-write that
    // overlaps a store still in flight waits for it. Along the column tiles the six rows move
    // to fresh memory, so the overlapping slivers are a whole pass apart.
    for ir in (0..m).step_by(MR) {
        let rows = MR.min(m - ir);
        let pick = |i: usize| order[ir + i.min(rows - 1)];
        let a_rows: [*const f32; MR] = core::array::from_fn(|i| w.wrapping_add(pick(i)));
        let row_base: [*mut f32; MR] = core::array::from_fn(|i| dx.wrapping_add(taps[pick(i)]));
        for jr in 0..n_tiles {
            let b = dy.wrapping_add(jr * NR);
            let c_rows: [*mut f32; MR] =
                core::array::from_fn(|i| row_base[i].wrapping_add(jr * NR));
            let a = (&a_rows, ldw);
            // SAFETY: the first `rows` taps of the sliver, the 16 columns jr * NR .. of dY
            // and their C rows exist, by the caller's contract.
            unsafe {
                match rows {
                    1 => add_tile_f32::<1>(k, a, b, ldb, &c_rows),
                    2 => add_tile_f32::<2>(k, a, b, ldb, &c_rows),
                    3 => add_tile_f32::<3>(k, a, b, ldb, &c_rows),
                    4 => add_tile_f32::<4>(k, a, b, ldb, &c_rows),
                    5 => add_tile_f32::<5>(k, a, b, ldb, &c_rows),
                    _ => add_tile_f32::<6>(k, a, b, ldb, &c_rows),
                }
            }
        }
    }
}

/// One tile of [`conv_gather_f32`]: `tile[i][j] <- Σ_s rows[i][idx[s]] B[s][j]` for `i < ROWS`,
/// `j < 16`, with `B` packed 16 floats per step.
///
/// # Safety
/// `rows[i] + idx[s]` is readable for `i < ROWS`, `s < steps`; `b` holds `16 steps` floats;
/// the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn gather_tile_f32<const ROWS: usize>(
    steps: usize,
    rows: &[*const f32; 6],
    idx: *const usize,
    b: *const f32,
    tile: &mut [[f32; 16]; 6],
) {
    let mut acc = [[_mm256_setzero_ps(); 2]; ROWS];
    for s in 0..steps {
        // SAFETY: s < steps, i < ROWS: in bounds by the caller's contract.
        unsafe {
            let at = *idx.add(s);
            let pb = b.add(s * 16);
            let (b0, b1) = (_mm256_loadu_ps(pb), _mm256_loadu_ps(pb.add(8)));
            for (acc_i, row) in acc.iter_mut().zip(rows) {
                let a_is = _mm256_set1_ps(*row.add(at));
                acc_i[0] = _mm256_fmadd_ps(a_is, b0, acc_i[0]);
                acc_i[1] = _mm256_fmadd_ps(a_is, b1, acc_i[1]);
            }
        }
    }
    for (acc_i, tile_i) in acc.iter().zip(tile.iter_mut()) {
        // SAFETY: each tile row holds 16 floats.
        unsafe {
            _mm256_storeu_ps(tile_i.as_mut_ptr(), acc_i[0]);
            _mm256_storeu_ps(tile_i.as_mut_ptr().add(8), acc_i[1]);
        }
    }
}

/// A convolution product in the transposed orientation, for any stride: the register tile
/// is six **columns** of C (output pixels, or taps) by sixteen **rows** of C (output
/// channels), so that the channels fill the vector lanes and the patch-matrix entries are
/// broadcast straight from the padded image, never packed:
///
/// `C[r][n] <- Σ_s image[row_offsets[n] + idx[s]] B_r[s]` for `n < n_cols`, `r < m`,
///
/// with `B` packed by blocks of 16 rows of C: block `r / 16` holds `steps` steps of 16 floats
/// (zero past `m`). The forward product is `row_offsets` = the pixels' window offsets, `idx` =
/// the taps' offsets, `B = Wᵀ`; the weight gradient swaps the two tables and takes `B = dYᵀ`.
///
/// # Safety
/// `image + row_offsets[n] + idx[s]` is readable for every `n < n_cols`, `s < steps`;
/// `b_packed` holds `16 steps ⌈m / 16⌉` floats; C is valid for the writes of an `m x n_cols`
/// matrix and overlaps neither input; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn conv_gather_f32(
    (m, steps, n_cols): (usize, usize, usize),
    image: *const f32,
    row_offsets: &[usize],
    idx: &[usize],
    b_packed: *const f32,
    c: RawMatMut<f32>,
) {
    const MR: usize = 6;
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
            unsafe {
                match cols {
                    1 => gather_tile_f32::<1>(steps, &rows, t, b, &mut tile),
                    2 => gather_tile_f32::<2>(steps, &rows, t, b, &mut tile),
                    3 => gather_tile_f32::<3>(steps, &rows, t, b, &mut tile),
                    4 => gather_tile_f32::<4>(steps, &rows, t, b, &mut tile),
                    5 => gather_tile_f32::<5>(steps, &rows, t, b, &mut tile),
                    _ => gather_tile_f32::<6>(steps, &rows, t, b, &mut tile),
                }
            }
            for j in 0..lanes {
                for (i, tile_i) in tile.iter().enumerate().take(cols) {
                    // SAFETY: row rb + j < m and column ir + i < n_cols are inside C.
                    unsafe { *c.ptr.add((rb + j) * c.rs + (ir + i) * c.cs) = tile_i[j] };
                }
            }
        }
    }
}

/// The `8 x 8` transpose of the rows `r[0..8]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
fn transpose_8x8(r: [__m256; 8]) -> [__m256; 8] {
    let t0 = _mm256_unpacklo_ps(r[0], r[1]);
    let t1 = _mm256_unpackhi_ps(r[0], r[1]);
    let t2 = _mm256_unpacklo_ps(r[2], r[3]);
    let t3 = _mm256_unpackhi_ps(r[2], r[3]);
    let t4 = _mm256_unpacklo_ps(r[4], r[5]);
    let t5 = _mm256_unpackhi_ps(r[4], r[5]);
    let t6 = _mm256_unpacklo_ps(r[6], r[7]);
    let t7 = _mm256_unpackhi_ps(r[6], r[7]);
    let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
    let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
    let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
    let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
    let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
    let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
    let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
    let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Packs the `m x n` row-major matrix `a` for [`conv_gather_f32`]: block `b` of `packed` holds,
/// for each column `s < n`, the 16 entries `a[16 b + j][s]`, by `8 x 8` register transposes.
/// Entries past row `m` are left as they are (the caller zeroes them).
///
/// # Safety
/// `a` holds `m n` floats and `packed` `16 n ⌈m / 16⌉`, not overlapping; the CPU has AVX2 and
/// FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn pack_rows_by_16_f32(a: *const f32, m: usize, n: usize, packed: *mut f32) {
    for r0 in (0..m).step_by(8) {
        let dst = packed.wrapping_add((r0 / 16) * 16 * n + r0 % 16);
        let full_cols = if m - r0 >= 8 { n - n % 8 } else { 0 };
        for s in (0..full_cols).step_by(8) {
            // SAFETY: rows r0..r0 + 8 and columns s..s + 8 exist; the 8 destinations of
            // 8 floats are inside block r0 / 16.
            unsafe {
                let rows: [__m256; 8] =
                    core::array::from_fn(|i| _mm256_loadu_ps(a.add((r0 + i) * n + s)));
                for (t, col) in transpose_8x8(rows).into_iter().enumerate() {
                    _mm256_storeu_ps(dst.add((s + t) * 16), col);
                }
            }
        }
        for i in 0..8.min(m - r0) {
            for s in full_cols..n {
                // SAFETY: row r0 + i < m, column s < n.
                unsafe { *dst.add(s * 16 + i) = *a.add((r0 + i) * n + s) };
            }
        }
    }
}

/// The part of an 8-lane group of dense output pixels that lies in one output row: lane `t`
/// of the group (set in `mask`) goes to `offset + t` of the (padded) image gradient, relative
/// to a tap's offset. `offset` may be negative (down to `-7`).
#[derive(Debug, Clone, Copy)]
#[repr(C, align(32))]
pub(crate) struct Segment {
    /// All ones in the lanes of this segment, zero elsewhere.
    pub mask: [u32; 8],
    /// Where lane 0 would go.
    pub offset: isize,
}

/// One `ROWS x 8 COLS` tile of [`conv_input_grad_pixels_f32`]: six taps by `8 COLS` dense
/// pixels, `Σ_o Wᵀ[s][o] dY[o][l]` accumulated over the output channels, then added to the
/// gradient segment by segment.
///
/// # Safety
/// As [`conv_input_grad_pixels_f32`], for the taps `s_rows` and the pixels `l0 .. l0 + 8 COLS`
/// (`n_valid` of them inside `dY`'s rows; the loads are masked past them when `MASKED`).
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn pixels_tile_f32<const ROWS: usize, const COLS: usize, const MASKED: bool>(
    (o, k, l): (usize, usize, usize),
    wt: *const f32,
    s_rows: &[usize; 6],
    dy: *const f32,
    l0: usize,
    n_valid: usize,
    (groups, segments): (&[(u32, u32)], &[Segment]),
    dst: &[*mut f32; 6],
) {
    let mut acc = [[_mm256_setzero_ps(); COLS]; ROWS];
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let masks: [__m256i; COLS] = core::array::from_fn(|v| {
        let left = n_valid.saturating_sub(8 * v).min(8) as i32;
        _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lanes)
    });
    for ob in 0..o.div_ceil(16) {
        let block = wt.wrapping_add(ob * 16 * k);
        let a_rows: [*const f32; ROWS] =
            core::array::from_fn(|i| block.wrapping_add(s_rows[i] * 16));
        let b_rows = dy.wrapping_add(ob * 16 * l + l0);
        for j in 0..16.min(o - 16 * ob) {
            // SAFETY: channel 16 ob + j < o: its row of dY holds the pixels loaded (masked
            // past `n_valid` when MASKED, all of them inside otherwise), and the packed filters
            // hold tap s_rows[i] of it, by the caller's contract.
            unsafe {
                let pb = b_rows.add(j * l);
                let b: [__m256; COLS] = core::array::from_fn(|v| {
                    if MASKED {
                        _mm256_maskload_ps(pb.add(8 * v), masks[v])
                    } else {
                        _mm256_loadu_ps(pb.add(8 * v))
                    }
                });
                for (acc_i, a_row) in acc.iter_mut().zip(&a_rows) {
                    let a = _mm256_broadcast_ss(&*a_row.add(j));
                    for (acc_iv, &b_v) in acc_i.iter_mut().zip(&b) {
                        *acc_iv = _mm256_fmadd_ps(a, b_v, *acc_iv);
                    }
                }
            }
        }
    }
    // The first segment of every vector, then the others: the later segments of a vector
    // overlap its first one in memory, so they are kept apart in the stream of stores.
    let g0 = l0 / 8;
    for v in 0..COLS {
        let (start, _) = groups[g0 + v];
        let seg = &segments[start as usize];
        // SAFETY: the segment's mask is 32 aligned bytes; the eight floats at
        // `dst[i] + offset` are inside the gradient (the caller's contract).
        unsafe {
            let mask = _mm256_load_ps(seg.mask.as_ptr().cast::<f32>());
            for (acc_i, &d) in acc.iter().zip(dst) {
                let p = d.offset(seg.offset);
                let add = _mm256_and_ps(acc_i[v], mask);
                _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), add));
            }
        }
    }
    for v in 0..COLS {
        let (start, end) = groups[g0 + v];
        for seg in &segments[start as usize + 1..end as usize] {
            // SAFETY: as above.
            unsafe {
                let mask = _mm256_load_ps(seg.mask.as_ptr().cast::<f32>());
                for (acc_i, &d) in acc.iter().zip(dst) {
                    let p = d.offset(seg.offset);
                    let add = _mm256_and_ps(acc_i[v], mask);
                    _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), add));
                }
            }
        }
    }
}

/// The input gradient of a stride-1 convolution over dense output pixels, col2im fused:
/// for every tap `s` and output pixel `l`, `(Wᵀ dY)[s][l]` is added to the padded image
/// gradient at `dx + taps[s] + bases[l]`. The register tile is six taps (`order` taken six
/// at a time) by 16 pixels, the filters broadcast from `wt`, `dY`'s rows loaded as they are;
/// the tile's rows are then added to the gradient by the segments of each 8-pixel group
/// (`groups[g]` is the range of `segments` of pixels `8 g .. 8 g + 8`, the first one never
/// empty), so that no lane is spent on the wasted columns of a wide-row layout.
///
/// # Safety
/// `wt` holds `16 k ⌈o / 16⌉` floats, the filters packed by blocks of 16 channels (block
/// `b`, tap `s`, lane `j` at `16 b k + 16 s + j`); `dy` holds `o` rows of `l` floats; `order`
/// holds indices `< k` into `taps`; `groups` holds `⌈l / 8⌉` ranges into `segments`; for every
/// tap and segment, the eight floats at `dx + taps[s] + offset` are inside the gradient,
/// which overlaps no input; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn conv_input_grad_pixels_f32(
    (o, k, l): (usize, usize, usize),
    wt: *const f32,
    dy: *const f32,
    order: &[usize],
    taps: &[usize],
    groups: &[(u32, u32)],
    segments: &[Segment],
    dx: *mut f32,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    assert!(
        groups.len() >= l.div_ceil(8),
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
            let args = ((o, k, l), wt, &s_rows, dy, l0, n, segs, &dst);
            // One instance per tile shape (rows x 8 cols pixels, masked loads or not).
            macro_rules! tile {
                ($cols:literal, $masked:literal) => {{
                    let (olk, wt, s_rows, dy, l0, n, segs, dst) = args;
                    match rows {
                        1 => pixels_tile_f32::<1, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                        2 => pixels_tile_f32::<2, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                        3 => pixels_tile_f32::<3, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                        4 => pixels_tile_f32::<4, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                        5 => pixels_tile_f32::<5, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                        _ => pixels_tile_f32::<6, $cols, $masked>(
                            olk, wt, s_rows, dy, l0, n, segs, dst,
                        ),
                    }
                }};
            }
            // SAFETY: the first `rows` taps of the sliver and pixels l0 .. l0 + n exist; the
            // loads past `n` are masked, by the caller's contract.
            unsafe {
                match n {
                    16 => tile!(2, false),
                    9..=15 => tile!(2, true),
                    8 => tile!(1, false),
                    _ => tile!(1, true),
                }
            }
        }
    }
}

/// `sums[p] <- Σ_i y[p n + i]` for the `planes` consecutive planes of `n` floats each (a
/// convolution's bias gradient): four vectors of partial sums per plane.
///
/// # Safety
/// `y` holds `planes n` floats and `sums` `planes`; the CPU has AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn plane_sums_f32(y: *const f32, n: usize, planes: usize, sums: *mut f32) {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let full = n - n % 8;
    let tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((n % 8) as i32), lanes);
    for p in 0..planes {
        let row = y.wrapping_add(p * n);
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= full {
            for (t, a) in acc.iter_mut().enumerate() {
                // SAFETY: i + 8 t + 8 <= full <= n: inside the plane.
                *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(row.add(i + 8 * t)) });
            }
            i += 32;
        }
        while i < full {
            // SAFETY: i + 8 <= full <= n: inside the plane.
            acc[0] = _mm256_add_ps(acc[0], unsafe { _mm256_loadu_ps(row.add(i)) });
            i += 8;
        }
        if full < n {
            // SAFETY: the lanes below n % 8 are inside the plane; the others are not read.
            acc[1] = _mm256_add_ps(acc[1], unsafe { _mm256_maskload_ps(row.add(full), tail) });
        }
        let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        let sum = _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps::<1>(pair, pair)));
        // SAFETY: p < planes.
        unsafe { *sums.add(p) = sum };
    }
}
