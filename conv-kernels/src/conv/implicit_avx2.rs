//! AVX2 + FMA kernels of the implicit convolution ([`super::implicit`]) that work on the
//! output pixels densely (`OH OW` of them, not the `OH Wp` of the wide-row layout).

use core::arch::x86_64::*;

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
