//! A convolution's GEMM with its patch matrix never stored whole ("implicit im2col").
//!
//! The image is copied once into a zero-padded buffer `(C, Hp, Wp)` (`Hp = H + 2P`,
//! `Wp = W + 2P`, with a little slack at the end), so that every tap of every window reads
//! inside it without a bounds test: entry `(p, l)` of the patch matrix, for the tap
//! `p = (c, u, v)` and the output pixel `l = (oy, ox)`, is `padded[taps[p] + bases[l]]` with
//! `taps[p] = (c Hp + u) Wp + v` and `bases[l] = oy S Wp + ox S`.
//!
//! Three ways to run the products, chosen per shape ([`Strategy`]):
//!
//! - **Wide rows** (stride 1): with the output rows laid out `Wp` wide instead of `OW` (the
//!   last `KW - 1` columns of each row are wasted work, cropped afterwards), `bases[l]` is `l`
//!   itself, so row `p` of the patch matrix is the padded image read from `taps[p]` on. The
//!   `f32` AVX2 kernels read it in place: the forward product
//!   ([`implicit_avx2::conv_taps_f32`], a `6 x 16` tile of output channels by pixels), the
//!   weight gradient (dot products, [`implicit_avx2::conv_weight_grad_taps_f32`]) and the input
//!   gradient, whose tiles of `Wᵀ dY` are added straight into the padded gradient
//!   ([`implicit_avx2::conv_input_grad_taps_f32`]: col2im fused into the product). Best when
//!   the output rows are long.
//! - **Pixel rows** (`f32` with AVX2, any stride): the register tile turned around, six pixels
//!   by sixteen output channels, so that the channels fill the lanes and the patch-matrix
//!   entries are broadcast from the padded image ([`implicit_avx2::conv_gather_f32`]); the
//!   weight gradient is the same kernel with the roles of pixels and taps swapped. Best when
//!   the output rows are short and there are 16 or more channels (LeNet's second layer).
//! - **Gathered blocks** (every other scalar, and the input gradient at strides above 1): the
//!   patch matrix is gathered `K x NB` at a time (at most [`BLOCK_BYTES`]) and each block goes
//!   through the blocked GEMM; in the backward pass a block of `Wᵀ dY` is scattered back
//!   (col2im).
//!
//! The stride-1 input gradient has a fourth way, for short output rows (where the wide rows
//! waste more than a quarter of their lanes): **dense pixels**
//! ([`implicit_avx2::conv_input_grad_pixels_f32`]), a tile of six taps by sixteen output
//! pixels taken `OH OW` densely, `dY` read as it is and the filters packed as for the pixel
//! rows (the forward pass keeps that packing for the backward pass,
//! [`ConvPlan::forward_saving`]); each 8-pixel vector of the tile is added to the gradient by
//! its segments, the parts of it that lie in one output row.
//!
//! A plan (taps, window offsets, tap order and segments) is built once per shape and thread
//! ([`ConvPlan::cached`]).
//!
//! No buffer is larger than the padded image, the output, or one block.

use super::im2col::{Im2colShape, add_run, copy_run};
#[cfg(target_arch = "x86_64")]
use super::implicit_avx2;
use super::implicit_avx512;
use crate::Scalar;
use crate::gemm::{Kernel, MatMut, MatRef, RawMat, RawMatMut, gemm_into, is_f32};

/// The largest block of the patch matrix (or of `Wᵀ dY`) held at once: a quarter of this
/// machine's 512 KiB L2, so that the block, the filters and the image stay in L2 together.
pub(crate) const BLOCK_BYTES: usize = 128 * 1024;

/// Output columns per block of `Wᵀ dY` in the wide-row input gradient without the `f32`
/// kernels: `K x 128` (38 KiB for the course's `K = 75`) are written and then added to the
/// gradient while still in L1 / L2.
const GRAD_BLOCK_COLS: usize = 128;

/// Zeros in front of the wide-row `dY` of the backward pass: the shifted slivers of the
/// AVX-512 input gradient read up to `KW - 1` floats before a row ([`ConvPlan::grad_slivers`]).
const DY_FRONT: usize = 16;

/// A zeroed buffer of `F` whose slice starts on a 64-byte boundary (when `F`'s size divides
/// 64), so that the full-width vector stores of the wide-row kernels into it do not straddle
/// cache lines.
struct AlignedZeros<F> {
    buf: Vec<F>,
    lead: usize,
    len: usize,
}

impl<F: Scalar> AlignedZeros<F> {
    fn new(len: usize) -> Self {
        let size = size_of::<F>().max(1);
        let slack = if 64 % size == 0 { 64 / size } else { 0 };
        let buf = vec![F::zero(); len + slack];
        let misaligned = buf.as_ptr() as usize % 64;
        let lead = if slack > 0 && misaligned.is_multiple_of(size) {
            ((64 - misaligned) % 64) / size
        } else {
            0
        };
        AlignedZeros { buf, lead, len }
    }

    fn slice_mut(&mut self) -> &mut [F] {
        &mut self.buf[self.lead..self.lead + self.len]
    }
}

/// The widest tile of the wide-row kernels (AVX-512's), for the slack past the padded image.
const WIDEST_NR: usize = 32;

/// Zeros in front of the padded image gradient: the dense-pixel input gradient adds whole
/// vectors of eight that may start up to seven floats before a tap's first pixel (sixteen, so
/// that the gradient keeps the allocation's alignment to 64 bytes).
const GRAD_FRONT: usize = 16;

/// How a [`ConvPlan`] runs its products (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    WideRows,
    PixelRows,
    GatheredBlocks,
}

/// The filters as the backward pass reads them: `Plain` (`O x K`, row-major) or `Packed` by
/// blocks of 16 channels ([`pack_rows_by_16`]).
#[derive(Debug, Clone, Copy)]
pub(crate) enum SavedFilters<T> {
    Plain(T),
    Packed(T),
}

/// The geometry of a convolution over the zero-padded image, and the offset of every tap.
#[derive(Debug, Clone)]
pub(crate) struct ConvPlan {
    shape: Im2colShape,
    out_channels: usize,
    out_h: usize,
    out_w: usize,
    padded_h: usize,
    padded_w: usize,
    /// `taps[p] = (c Hp + u) Wp + v` for the tap `p = (c, u, v)`, increasing in `p`.
    taps: Vec<usize>,
    /// `bases[l] = oy S Wp + ox S`, the offset of output pixel `l`'s window.
    bases: Vec<usize>,
    /// The taps ordered by `v`, then `u`, then `c` (see [`ConvPlan::taps_by_column`]).
    order: Vec<usize>,
    /// The segments of the dense output pixels (stride 1), see [`ConvPlan::segments`].
    #[cfg(target_arch = "x86_64")]
    segments: (Vec<(u32, u32)>, Vec<implicit_avx2::Segment>),
    /// The same by 16 pixels, for the AVX-512 kernel ([`implicit_avx512::Segment16`]).
    #[cfg(target_arch = "x86_64")]
    segments16: (Vec<(u32, u32)>, Vec<implicit_avx512::Segment16>),
}

/// Plans kept per thread by [`ConvPlan::cached`].
const PLAN_CACHE: usize = 16;

std::thread_local! {
    static PLANS: std::cell::RefCell<Vec<std::sync::Arc<ConvPlan>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl ConvPlan {
    /// The plan of a convolution of `out_channels` filters over images of `shape`.
    pub(crate) fn new(shape: &Im2colShape, out_channels: usize) -> Self {
        let (out_h, out_w) = (shape.out_h(), shape.out_w());
        let padded_h = shape.height + 2 * shape.padding;
        let padded_w = shape.width + 2 * shape.padding;
        let mut taps = Vec::with_capacity(shape.rows());
        for c in 0..shape.channels {
            for u in 0..shape.kernel_h {
                for v in 0..shape.kernel_w {
                    taps.push((c * padded_h + u) * padded_w + v);
                }
            }
        }
        let mut plan = ConvPlan {
            shape: *shape,
            out_channels,
            out_h,
            out_w,
            padded_h,
            padded_w,
            taps,
            bases: Vec::new(),
            order: Vec::new(),
            #[cfg(target_arch = "x86_64")]
            segments: (Vec::new(), Vec::new()),
            #[cfg(target_arch = "x86_64")]
            segments16: (Vec::new(), Vec::new()),
        };
        plan.bases = plan.bases();
        plan.order = plan.taps_by_column();
        #[cfg(target_arch = "x86_64")]
        if shape.stride == 1 {
            let (groups, pieces) = plan.segments_by(8);
            let segments = pieces.iter().map(|&(bits, offset)| implicit_avx2::Segment {
                mask: core::array::from_fn(|t| if bits >> t & 1 == 1 { u32::MAX } else { 0 }),
                offset,
            });
            plan.segments = (groups, segments.collect());
            let (groups, pieces) = plan.segments_by(16);
            let segments = pieces
                .iter()
                .map(|&(bits, offset)| implicit_avx512::Segment16 {
                    mask: bits as u16,
                    offset,
                });
            plan.segments16 = (groups, segments.collect());
        }
        plan
    }

    /// The plan of [`ConvPlan::new`], built once per shape and thread and shared afterwards
    /// (a layer runs the same shape image after image).
    pub(crate) fn cached(shape: &Im2colShape, out_channels: usize) -> std::sync::Arc<Self> {
        PLANS.with(|plans| {
            let mut plans = plans.borrow_mut();
            if let Some(plan) = plans
                .iter()
                .find(|p| p.shape == *shape && p.out_channels == out_channels)
            {
                return plan.clone();
            }
            let plan = std::sync::Arc::new(ConvPlan::new(shape, out_channels));
            if plans.len() == PLAN_CACHE {
                plans.remove(0);
            }
            plans.push(plan.clone());
            plan
        })
    }

    /// `K = C KH KW`, the rows of the patch matrix.
    fn k(&self) -> usize {
        self.taps.len()
    }

    /// `L = OH OW`, the output pixels.
    fn l(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Output columns of the wide-row layout, `OH` rows `Wp` wide.
    fn wide_l(&self) -> usize {
        self.out_h * self.padded_w
    }

    /// The length of a padded image buffer: the image and a slack of zeros, so that the
    /// wide-row kernels may read (and add to) whole tiles (16 or 32 wide) past the last output
    /// column.
    fn padded_len(&self) -> usize {
        self.shape.channels * self.padded_h * self.padded_w + self.shape.kernel_w + WIDEST_NR
    }

    /// Whether the `f32` SIMD kernels (AVX2, or AVX-512 with AVX2 for the dense-pixel input
    /// gradient) run the products of `F`: not when the portable kernel is chosen
    /// ([`Kernel::install`], `CONV_KERNELS_ISA`).
    fn avx2_f32<F: Scalar>(&self) -> bool {
        simd_f32::<F>()
    }

    /// Whether the `f32` AVX-512 kernels run the wide-row and pixel-row products of `F`.
    fn avx512_f32<F: Scalar>(&self) -> bool {
        is_f32::<F>() && Kernel::Auto.resolve::<f32>() == Kernel::Avx512
    }

    /// Columns of the wide-row kernels' register tile: 32 with AVX-512, 16 with AVX2.
    fn wide_nr<F: Scalar>(&self) -> usize {
        if self.avx512_f32::<F>() {
            implicit_avx512::WIDE_NR
        } else {
            16
        }
    }

    /// The strategy of the forward product and the weight gradient: the register tile that
    /// wastes fewer lanes and rows (wide rows: `6 x 16` channels by wide-row pixels, `6 x 32`
    /// with AVX-512; pixel rows: `6 x 16` pixels by channels, `12 x 16` with AVX-512).
    fn strategy<F: Scalar>(&self) -> Strategy {
        if !self.avx2_f32::<F>() {
            return Strategy::GatheredBlocks;
        }
        if self.shape.stride != 1 {
            return Strategy::PixelRows;
        }
        let (o, l) = (self.out_channels as f64, self.l() as f64);
        let used = |n: f64, tile: f64| n / (tile * (n / tile).ceil());
        let (nr, pixel_mr) = if self.avx512_f32::<F>() {
            (implicit_avx512::WIDE_NR as f64, 12.0)
        } else {
            (16.0, 6.0)
        };
        let wide_tiles = nr * (self.wide_l() as f64 / nr).ceil();
        let wide = used(o, 6.0) * l / wide_tiles;
        let pixel = used(o, 16.0) * used(l, pixel_mr);
        if pixel > wide {
            Strategy::PixelRows
        } else {
            Strategy::WideRows
        }
    }

    /// The image `x` (`(C, H, W)`) copied into a zero-padded buffer `(C, Hp, Wp)` (with slack).
    pub(crate) fn pad<F: Scalar>(&self, x: &[F]) -> Vec<F> {
        let Im2colShape {
            channels,
            height,
            width,
            padding,
            ..
        } = self.shape;
        assert_eq!(x.len(), channels * height * width, "conv: image length");
        let (hp, wp) = (self.padded_h, self.padded_w);
        let mut padded = vec![F::zero(); self.padded_len()];
        for (plane, src) in padded
            .chunks_exact_mut(hp * wp)
            .zip(x.chunks_exact(height * width))
        {
            for (row, src_row) in plane[padding * wp..]
                .chunks_exact_mut(wp)
                .zip(src.chunks_exact(width))
            {
                copy_run(&mut row[padding..padding + width], src_row);
            }
        }
        padded
    }

    /// The image `(C, H, W)` inside a padded buffer (the adjoint of [`ConvPlan::pad`]: the
    /// padding is dropped).
    fn crop<F: Scalar>(&self, padded: &[F], x: &mut [F]) {
        let Im2colShape {
            height,
            width,
            padding,
            ..
        } = self.shape;
        let (hp, wp) = (self.padded_h, self.padded_w);
        for (plane, dst) in padded
            .chunks_exact(hp * wp)
            .zip(x.chunks_exact_mut(height * width))
        {
            for (row, dst_row) in plane[padding * wp..]
                .chunks_exact(wp)
                .zip(dst.chunks_exact_mut(width))
            {
                copy_run(dst_row, &row[padding..padding + width]);
            }
        }
    }

    /// The taps `p = (c, u, v)` ordered by `v`, then `u`, then `c`: neighbours in this order
    /// are a whole image row or plane apart.
    fn taps_by_column(&self) -> Vec<usize> {
        let Im2colShape {
            channels,
            kernel_h,
            kernel_w,
            ..
        } = self.shape;
        let mut order = Vec::with_capacity(self.k());
        for v in 0..kernel_w {
            for u in 0..kernel_h {
                for c in 0..channels {
                    order.push((c * kernel_h + u) * kernel_w + v);
                }
            }
        }
        order
    }

    /// The offset of every output pixel's window in the padded image, `oy S Wp + ox S`.
    fn bases(&self) -> Vec<usize> {
        let (s, wp) = (self.shape.stride, self.padded_w);
        (0..self.out_h)
            .flat_map(|oy| (0..self.out_w).map(move |ox| oy * s * wp + ox * s))
            .collect()
    }

    /// Columns per block of the gathered patch matrix: as many as fit in [`BLOCK_BYTES`], a
    /// multiple of 16 (the widest microkernel tile), at least 16.
    fn block_cols<F>(&self) -> usize {
        let per_col = self.k() * size_of::<F>();
        let cols = (BLOCK_BYTES / per_col.max(1)) / 16 * 16;
        cols.clamp(16, self.l().max(16))
    }

    /// `y <- W cols` (`y`: `O x L`, overwritten) for the filters `w` (`O x K`) and the image
    /// padded by [`ConvPlan::pad`].
    pub(crate) fn forward<F: Scalar>(&self, w: &[F], padded: &[F], y: &mut [F]) {
        let (o, k, l) = (self.out_channels, self.k(), self.l());
        assert_eq!(w.len(), o * k, "conv: filters length");
        assert_eq!(padded.len(), self.padded_len(), "conv: padded image length");
        assert_eq!(y.len(), o * l, "conv: output length");
        match self.strategy::<F>() {
            Strategy::WideRows => {
                let nr = self.wide_nr::<F>();
                let tiles = self.wide_l().div_ceil(nr);
                let ld = tiles * nr;
                assert!(self.taps[k - 1] + ld <= padded.len());
                let mut y_store = AlignedZeros::<F>::new(o * ld);
                let y_wide = y_store.slice_mut();
                let filters = RawMat {
                    ptr: w.as_ptr().cast::<f32>(),
                    rs: k,
                    cs: 1,
                };
                let out = RawMatMut {
                    ptr: y_wide.as_mut_ptr().cast::<f32>(),
                    rs: ld,
                    cs: 1,
                };
                let image = padded.as_ptr().cast::<f32>();
                // SAFETY: `F` is `f32` and the kernel's instruction set was detected
                // (`strategy`, `wide_nr`: AVX-512 with tiles of 32, else AVX2 with tiles of
                // 16); the filters are `o x k` contiguous; the last tap's read of
                // `ld = nr tiles` floats ends inside the padded image (asserted above);
                // `y_wide` holds `o` rows of `ld`.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    if nr == implicit_avx512::WIDE_NR {
                        implicit_avx512::conv_taps_f32(
                            (o, k, tiles),
                            filters,
                            image,
                            &self.taps,
                            out,
                        );
                    } else {
                        implicit_avx2::conv_taps_f32(
                            (o, k, tiles),
                            filters,
                            image,
                            &self.taps,
                            out,
                        );
                    }
                }
                self.crop_wide(y_wide, ld, y);
            }
            Strategy::PixelRows => {
                // Shapes: y (O x L) = W (O x K) . cols (K x L), computed by tiles of six
                // pixels (columns of y) by sixteen channels: cols broadcast from the image,
                // W packed by blocks of 16 channels.
                let wt = pack_rows_by_16(w, o, k);
                self.pixel_rows((o, k, l), padded, &self.bases, &self.taps, &wt, y);
            }
            Strategy::GatheredBlocks => {
                let bases = &self.bases;
                let nb = self.block_cols::<F>();
                let mut block = vec![F::zero(); k * nb.min(l)];
                let w = MatRef::row_major(w, o, k);
                for l0 in (0..l).step_by(nb) {
                    let n = nb.min(l - l0);
                    let block = &mut block[..k * n];
                    self.gather(padded, &bases[l0..l0 + n], block);
                    // Shapes: y[:, l0..l0 + n] (O x n) = W (O x K) . cols[:, l0..l0 + n] (K x n)
                    gemm_into(
                        F::one(),
                        w,
                        MatRef::row_major(block, k, n),
                        F::zero(),
                        MatMut::new(&mut y[l0..], o, n, l, 1),
                    );
                }
            }
        }
    }

    /// [`implicit_avx2::conv_gather_f32`] (or [`implicit_avx512::conv_gather_f32`]) on slices: `C[r][j] <- Σ_s padded[columns[j] + steps[s]] b[r][s]`
    /// for the `m x n` matrix C, with `b` packed by [`pack_rows_by_16`].
    fn pixel_rows<F: Scalar>(
        &self,
        (m, n_steps, n): (usize, usize, usize),
        padded: &[F],
        columns: &[usize],
        steps: &[usize],
        b_packed: &[F],
        c: &mut [F],
    ) {
        assert!(self.avx2_f32::<F>());
        assert!(columns.len() == n && steps.len() == n_steps && c.len() == m * n);
        assert_eq!(b_packed.len(), m.div_ceil(16) * 16 * n_steps);
        let last =
            columns.iter().max().copied().unwrap_or(0) + steps.iter().max().copied().unwrap_or(0);
        assert!(n == 0 || n_steps == 0 || last < padded.len());
        let image = padded.as_ptr().cast::<f32>();
        let b = b_packed.as_ptr().cast::<f32>();
        let out = RawMatMut {
            ptr: c.as_mut_ptr().cast::<f32>(),
            rs: n,
            cs: 1,
        };
        // SAFETY: `F` is `f32` and the kernel's instruction set was detected (asserted,
        // `avx512_f32`); every read `padded[columns[j] + steps[s]]` is inside the buffer
        // (asserted: the largest of them); `b_packed` holds `16 n_steps ⌈m / 16⌉` floats and
        // `c` is `m x n` (asserted).
        #[cfg(target_arch = "x86_64")]
        unsafe {
            if self.avx512_f32::<F>() {
                implicit_avx512::conv_gather_f32((m, n_steps, n), image, columns, steps, b, out);
            } else {
                implicit_avx2::conv_gather_f32((m, n_steps, n), image, columns, steps, b, out);
            }
        }
    }

    /// The `O x L` output from its stride-1 layout (`O` rows of `ld`, each `OH` rows of `Wp`).
    fn crop_wide<F: Scalar>(&self, wide: &[F], ld: usize, y: &mut [F]) {
        let (l, ow, wp) = (self.l(), self.out_w, self.padded_w);
        for (src, dst) in wide.chunks_exact(ld).zip(y.chunks_exact_mut(l)) {
            for (row, dst_row) in src.chunks(wp).zip(dst.chunks_exact_mut(ow)) {
                copy_run(dst_row, &row[..ow]);
            }
        }
    }

    /// Columns `bases` of the patch matrix (`K x n`, row-major) from the padded image.
    fn gather<F: Scalar>(&self, padded: &[F], bases: &[usize], block: &mut [F]) {
        for (row, &tap) in block.chunks_exact_mut(bases.len()).zip(&self.taps) {
            let src = &padded[tap..];
            for (d, &b) in row.iter_mut().zip(bases) {
                *d = src[b];
            }
        }
    }

    /// The adjoint of [`ConvPlan::gather`]: adds the block back onto the padded gradient.
    fn scatter_add<F: Scalar>(&self, block: &[F], bases: &[usize], padded: &mut [F]) {
        for (row, &tap) in block.chunks_exact(bases.len()).zip(&self.taps) {
            let dst = &mut padded[tap..];
            for (&v, &b) in row.iter().zip(bases) {
                dst[b] = dst[b] + v;
            }
        }
    }

    /// The backward pass of [`ConvPlan::forward`] for the output cotangent `dy` (`O x L`):
    /// `dw <- dY colsᵀ` (`O x K`) and `dx <- col2im(Wᵀ dY)` (`(C, H, W)`), both overwritten.
    pub(crate) fn backward<F: Scalar>(
        &self,
        w: &[F],
        padded: &[F],
        dy: &[F],
        dw: &mut [F],
        dx: &mut [F],
    ) {
        self.backward_with(SavedFilters::Plain(w), padded, dy, dw, dx);
    }

    /// [`ConvPlan::forward`], keeping the filters as [`ConvPlan::backward_saved`] reads them:
    /// packed by blocks of 16 channels when both the forward product and the input gradient
    /// use that packing (pixel rows, dense input gradient), a plain copy otherwise.
    pub(crate) fn forward_saving<F: Scalar>(
        &self,
        w: &[F],
        padded: &[F],
        y: &mut [F],
    ) -> SavedFilters<Vec<F>> {
        let (o, k, l) = (self.out_channels, self.k(), self.l());
        if self.strategy::<F>() == Strategy::PixelRows && self.dense_input_grad::<F>() {
            assert_eq!(w.len(), o * k, "conv: filters length");
            assert_eq!(padded.len(), self.padded_len(), "conv: padded image length");
            assert_eq!(y.len(), o * l, "conv: output length");
            let wt = pack_rows_by_16(w, o, k);
            self.pixel_rows((o, k, l), padded, &self.bases, &self.taps, &wt, y);
            SavedFilters::Packed(wt)
        } else {
            self.forward(w, padded, y);
            SavedFilters::Plain(w.to_vec())
        }
    }

    /// [`ConvPlan::backward`] with the filters kept by [`ConvPlan::forward_saving`].
    pub(crate) fn backward_saved<F: Scalar>(
        &self,
        w: &SavedFilters<Vec<F>>,
        padded: &[F],
        dy: &[F],
        dw: &mut [F],
        dx: &mut [F],
    ) {
        let w = match w {
            SavedFilters::Plain(w) => SavedFilters::Plain(&w[..]),
            SavedFilters::Packed(wt) => SavedFilters::Packed(&wt[..]),
        };
        self.backward_with(w, padded, dy, dw, dx);
    }

    /// [`ConvPlan::backward`] on plain or packed filters (packed only with the dense input
    /// gradient, the one product that reads them).
    fn backward_with<F: Scalar>(
        &self,
        filters: SavedFilters<&[F]>,
        padded: &[F],
        dy: &[F],
        dw: &mut [F],
        dx: &mut [F],
    ) {
        let (o, k, l) = (self.out_channels, self.k(), self.l());
        let w = match filters {
            SavedFilters::Plain(w) => {
                assert_eq!(w.len(), o * k, "conv: filters length");
                w
            }
            SavedFilters::Packed(wt) => {
                assert!(self.dense_input_grad::<F>(), "conv: packed filters");
                assert_eq!(
                    wt.len(),
                    o.div_ceil(16) * 16 * k,
                    "conv: packed filters length"
                );
                &[]
            }
        };
        assert_eq!(padded.len(), self.padded_len(), "conv: padded image length");
        assert_eq!(dy.len(), o * l, "conv: output cotangent length");
        assert_eq!(dw.len(), o * k, "conv: filters adjoint length");
        let strategy = self.strategy::<F>();
        let mut dx_store = AlignedZeros::<F>::new(GRAD_FRONT + self.padded_len());
        let dx_buf = dx_store.slice_mut();
        let dx_padded = &mut dx_buf[GRAD_FRONT..];
        if self.shape.stride == 1 {
            let dense = self.dense_input_grad::<F>();
            // dY in the wide-row layout, zero in the `KW - 1` wasted columns of each row and
            // past the last row up to a whole tile, so that those columns add nothing to
            // either gradient. Not needed when both products read dY as it is.
            let (ow, wp) = (self.out_w, self.padded_w);
            let nr = self.wide_nr::<F>();
            let tiles = self.wide_l().div_ceil(nr);
            let ld = tiles * nr;
            // `DY_FRONT` zeros in front, read by the shifted slivers of the AVX-512 input
            // gradient.
            let dy_store = if strategy == Strategy::PixelRows && dense {
                Vec::new()
            } else {
                let mut dy_store = vec![F::zero(); DY_FRONT + o * ld];
                let dy_wide = &mut dy_store[DY_FRONT..];
                for (src, dst) in dy.chunks_exact(l).zip(dy_wide.chunks_exact_mut(ld)) {
                    for (row, dst_row) in src.chunks_exact(ow).zip(dst.chunks_mut(wp)) {
                        copy_run(&mut dst_row[..ow], row);
                    }
                }
                dy_store
            };
            let dy_wide = dy_store.get(DY_FRONT..).unwrap_or(&[]);
            assert!(self.taps[k - 1] + ld <= padded.len());
            match strategy {
                Strategy::WideRows => {
                    let dy_rows = RawMat {
                        ptr: dy_wide.as_ptr().cast::<f32>(),
                        rs: ld,
                        cs: 1,
                    };
                    let image = padded.as_ptr().cast::<f32>();
                    let out = RawMatMut {
                        ptr: dw.as_mut_ptr().cast::<f32>(),
                        rs: k,
                        cs: 1,
                    };
                    let taps = &self.taps;
                    // SAFETY: `F` is `f32` and the kernel's instruction set was detected
                    // (`strategy`, `wide_nr`); `dy_wide` is `o x ld`; the taps increase and the
                    // last one's read of `ld` floats ends inside the padded image (asserted
                    // above); `dw` is `o x k`.
                    #[cfg(target_arch = "x86_64")]
                    unsafe {
                        if nr == implicit_avx512::WIDE_NR {
                            implicit_avx512::conv_weight_grad_taps_f32(
                                (o, ld, k),
                                dy_rows,
                                image,
                                taps,
                                out,
                            );
                        } else {
                            implicit_avx2::conv_weight_grad_taps_f32(
                                (o, ld, k),
                                dy_rows,
                                image,
                                taps,
                                out,
                            );
                        }
                    }
                }
                Strategy::PixelRows => self.weight_grad_pixel_rows(padded, dy, dw),
                Strategy::GatheredBlocks => self.weight_grad_wide(dy_wide, ld, padded, dw),
            }
            if dense {
                match filters {
                    SavedFilters::Plain(w) => {
                        self.input_grad_pixels(&pack_rows_by_16(w, o, k), dy, dx_buf);
                    }
                    SavedFilters::Packed(wt) => self.input_grad_pixels(wt, dy, dx_buf),
                }
            } else if self.avx2_f32::<F>() {
                // Six taps per register tile, ordered by (v, u, c) so that the six rows of a
                // tile are whole image rows or planes apart in the gradient.
                let order = &self.order;
                let filters = (w.as_ptr().cast::<f32>(), k);
                let (taps, dy) = (&self.taps, dy_wide.as_ptr().cast::<f32>());
                let dx = dx_padded.as_mut_ptr().cast::<f32>();
                let slivers = self.grad_slivers(dx as usize);
                // SAFETY: `F` is `f32` and the kernel's instruction set was detected
                // (`wide_nr`: AVX-512 with tiles of 32, else AVX2 with tiles of 16); `w` is
                // `o x k` and `order` a permutation of `0..k`; `dy_wide` is `o x ld` with
                // `ld = nr tiles` and `DY_FRONT` zeros before it, at least every sliver's
                // shift (`grad_slivers`); every tap plus `ld` ends inside the padded gradient
                // (asserted above, the same length as the padded image) and every tap minus
                // its sliver's shift is at least 0; the gradient is a buffer of its own.
                #[cfg(target_arch = "x86_64")]
                unsafe {
                    if nr == implicit_avx512::WIDE_NR {
                        implicit_avx512::conv_input_grad_taps_f32(
                            (o, tiles),
                            filters,
                            order,
                            &slivers,
                            taps,
                            dy,
                            ld,
                            dx,
                        );
                    } else {
                        implicit_avx2::conv_input_grad_taps_f32(
                            (o, tiles),
                            filters,
                            order,
                            taps,
                            dy,
                            ld,
                            dx,
                        );
                    }
                }
            } else {
                let wt = MatRef::row_major(w, o, k).t();
                let nb = GRAD_BLOCK_COLS;
                let mut block = vec![F::zero(); k * nb.min(ld)];
                for l0 in (0..ld).step_by(nb) {
                    let n = nb.min(ld - l0);
                    let block = &mut block[..k * n];
                    // Shapes: dcols[:, l0..l0 + n] (K x n) = Wᵀ (K x O) . dY[:, l0..l0 + n] (O x n)
                    gemm_into(
                        F::one(),
                        wt,
                        MatRef::new(&dy_wide[l0..], o, n, ld, 1),
                        F::zero(),
                        MatMut::row_major(block, k, n),
                    );
                    // col2im: row p of the block is a run of the padded gradient from
                    // taps[p] + l0.
                    for (row, &tap) in block.chunks_exact(n).zip(&self.taps) {
                        add_run(&mut dx_padded[tap + l0..tap + l0 + n], row);
                    }
                }
            }
        } else {
            let bases = &self.bases;
            let nb = self.block_cols::<F>();
            let mut block = vec![F::zero(); k * nb.min(l)];
            let wt = MatRef::row_major(w, o, k).t();
            if strategy == Strategy::PixelRows {
                self.weight_grad_pixel_rows(padded, dy, dw);
            }
            for l0 in (0..l).step_by(nb) {
                let n = nb.min(l - l0);
                let block = &mut block[..k * n];
                let dy_block = MatRef::new(&dy[l0..], o, n, l, 1);
                if strategy == Strategy::GatheredBlocks {
                    self.gather(padded, &bases[l0..l0 + n], block);
                    // Shapes: dW (O x K) += dY[:, block] (O x n) . cols[:, block]ᵀ (n x K)
                    let beta = if l0 == 0 { F::zero() } else { F::one() };
                    gemm_into(
                        F::one(),
                        dy_block,
                        MatRef::row_major(block, k, n).t(),
                        beta,
                        MatMut::new(dw, o, k, k, 1),
                    );
                }
                // Shapes: dcols[:, block] (K x n) = Wᵀ (K x O) . dY[:, block] (O x n)
                gemm_into(
                    F::one(),
                    wt,
                    dy_block,
                    F::zero(),
                    MatMut::row_major(block, k, n),
                );
                self.scatter_add(block, &bases[l0..l0 + n], dx_padded);
            }
        }
        self.crop(&dx_store.slice_mut()[GRAD_FRONT..], dx);
    }

    /// The slivers `(first, rows, shift)` of [`ConvPlan::order`] for the AVX-512 wide-row
    /// input gradient ([`implicit_avx512::conv_input_grad_taps_f32`]), given the address of the
    /// padded gradient. When it is 64-byte aligned and the padded rows are a multiple of 16 floats,
    /// tap `(c, u, v)` lies `v mod 16` floats past a 64-byte boundary: the taps of one `v` (all
    /// `C KH` of them, consecutive in the order) make slivers of at most six with that shift,
    /// which aligns their stores; `v < KW`, so the shift is at most the `KW - 1` zero columns
    /// that end each row of the wide `dY` (and `DY_FRONT` covers the first). Otherwise,
    /// slivers of six with no shift.
    fn grad_slivers(&self, dx_address: usize) -> Vec<(usize, usize, usize)> {
        const MR: usize = 6;
        let k = self.k();
        let kw = self.shape.kernel_w;
        if !dx_address.is_multiple_of(64) || !self.padded_w.is_multiple_of(16) || kw > DY_FRONT {
            return (0..k)
                .step_by(MR)
                .map(|first| (first, MR.min(k - first), 0))
                .collect();
        }
        let per_v = k / kw;
        let count = per_v.div_ceil(MR);
        let mut slivers = Vec::with_capacity(kw * count);
        for v in 0..kw {
            // `count` slivers of nearly equal height (15 = 5 + 5 + 5, not 6 + 6 + 3: a short
            // tile has too few accumulators to cover the FMA latency).
            let mut first = v * per_v;
            for t in 0..count {
                let rows = per_v * (t + 1) / count - per_v * t / count;
                slivers.push((first, rows, v % 16));
                first += rows;
            }
        }
        debug_assert!(
            slivers
                .iter()
                .all(|&(f, r, s)| { self.order[f..f + r].iter().all(|&p| self.taps[p] % 16 == s) })
        );
        slivers
    }

    /// Whether the stride-1 input gradient runs over the dense output pixels
    /// ([`implicit_avx2::conv_input_grad_pixels_f32`]) rather than the wide rows: when the
    /// wide rows would waste more than a quarter of their lanes on the `KW - 1` columns past
    /// each output row.
    fn dense_input_grad<F: Scalar>(&self) -> bool {
        cfg!(target_arch = "x86_64")
            && self.avx2_f32::<F>()
            && self.shape.stride == 1
            && 4 * (self.padded_w - self.out_w) > self.padded_w
    }

    /// The segments of the dense output pixels, `lanes` (8 or 16) at a time (see
    /// [`implicit_avx2::Segment`], [`implicit_avx512::Segment16`]): `groups[g]` is the range of
    /// segments of the pixels `lanes g .. lanes (g + 1)`, split where an output row ends; each
    /// segment is its lanes (bit `t` for lane `t`) and where lane 0 would go. Stride 1.
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::type_complexity)]
    fn segments_by(&self, lanes: usize) -> (Vec<(u32, u32)>, Vec<(u32, isize)>) {
        let (l, ow, wp) = (self.l(), self.out_w, self.padded_w);
        let mut groups = Vec::with_capacity(l.div_ceil(lanes));
        let mut segments = Vec::new();
        for l0 in (0..l).step_by(lanes) {
            let start = segments.len() as u32;
            let end = (l0 + lanes).min(l);
            let mut t0 = l0;
            while t0 < end {
                let row = t0 / ow;
                let t1 = ((row + 1) * ow).min(end);
                let bits = ((1_u64 << (t1 - l0)) - (1_u64 << (t0 - l0))) as u32;
                let base = (row * wp + t0 % ow) as isize;
                segments.push((bits, base - (t0 - l0) as isize));
                t0 = t1;
            }
            groups.push((start, segments.len() as u32));
        }
        (groups, segments)
    }

    /// `dx_buf[GRAD_FRONT..] += col2im(Wᵀ dY)` over the dense output pixels (stride 1, `f32`
    /// with AVX2): [`implicit_avx2::conv_input_grad_pixels_f32`].
    fn input_grad_pixels<F: Scalar>(&self, wt: &[F], dy: &[F], dx_buf: &mut [F]) {
        assert!(self.dense_input_grad::<F>());
        let (o, k, l) = (self.out_channels, self.k(), self.l());
        assert!(wt.len() == o.div_ceil(16) * 16 * k && dy.len() == o * l);
        assert_eq!(dx_buf.len(), GRAD_FRONT + self.padded_len());
        // The last float any segment touches: seven past the last tap's last pixel.
        assert!(
            self.taps[k - 1] + (self.out_h - 1) * self.padded_w + self.out_w + 7
                <= self.padded_len()
        );
        #[cfg(target_arch = "x86_64")]
        if self.avx512_f32::<F>() {
            let (groups, segments) = &self.segments16;
            // SAFETY: `F` is `f32` and AVX-512 was detected (`avx512_f32`); `wt` is the
            // filters packed by 16 channels; `dy` is `o x l`; `order` is a permutation of the
            // taps; a segment's lanes are pixels of a tap's window, inside the padded
            // gradient (asserted above), and the other lanes are masked off; the gradient is
            // a buffer of its own.
            unsafe {
                implicit_avx512::conv_input_grad_pixels_f32(
                    (o, k, l),
                    wt.as_ptr().cast::<f32>(),
                    dy.as_ptr().cast::<f32>(),
                    &self.order,
                    &self.taps,
                    groups,
                    segments,
                    dx_buf.as_mut_ptr().add(GRAD_FRONT).cast::<f32>(),
                );
            }
        } else {
            let (groups, segments) = &self.segments;
            // SAFETY: `F` is `f32` and AVX2 and FMA were detected (asserted); `wt` is the
            // filters packed by 16 channels; `dy` is `o x l`; `order` is a permutation of the
            // taps; a segment's eight floats start at most seven before a tap's pixel (inside
            // the `GRAD_FRONT` zeros) and end at most seven past the last pixel of the last
            // tap (asserted above); the gradient is a buffer of its own.
            unsafe {
                implicit_avx2::conv_input_grad_pixels_f32(
                    (o, k, l),
                    wt.as_ptr().cast::<f32>(),
                    dy.as_ptr().cast::<f32>(),
                    &self.order,
                    &self.taps,
                    groups,
                    segments,
                    dx_buf.as_mut_ptr().add(GRAD_FRONT).cast::<f32>(),
                );
            }
        }
    }

    /// `dw <- dY colsᵀ` by pixel rows: the tile is six taps by sixteen output channels, the
    /// patch-matrix entries broadcast from the image, `dYᵀ` packed.
    fn weight_grad_pixel_rows<F: Scalar>(&self, padded: &[F], dy: &[F], dw: &mut [F]) {
        let (o, k, l) = (self.out_channels, self.k(), self.l());
        let dyt = pack_rows_by_16(dy, o, l);
        // Shapes: dW (O x K) = dY (O x L) . colsᵀ (L x K): columns of dW are taps, steps pixels.
        self.pixel_rows((o, l, k), padded, &self.taps, &self.bases, &dyt, dw);
    }

    /// `dw <- dY colsᵀ` in the wide-row layout, by the blocked GEMM on blocks of the patch
    /// matrix copied from the padded image (the scalars without the `f32` kernels).
    fn weight_grad_wide<F: Scalar>(&self, dy_wide: &[F], ld: usize, padded: &[F], dw: &mut [F]) {
        let (o, k) = (self.out_channels, self.k());
        let nb = self.block_cols::<F>();
        let mut block = vec![F::zero(); k * nb.min(ld)];
        for l0 in (0..ld).step_by(nb) {
            let n = nb.min(ld - l0);
            let block = &mut block[..k * n];
            for (row, &tap) in block.chunks_exact_mut(n).zip(&self.taps) {
                row.copy_from_slice(&padded[tap + l0..tap + l0 + n]);
            }
            let beta = if l0 == 0 { F::zero() } else { F::one() };
            // Shapes: dW (O x K) += dY[:, block] (O x n) . cols[:, block]ᵀ (n x K)
            gemm_into(
                F::one(),
                MatRef::new(&dy_wide[l0..], o, n, ld, 1),
                MatRef::row_major(block, k, n).t(),
                beta,
                MatMut::new(dw, o, k, k, 1),
            );
        }
    }
}

/// Whether the `f32` SIMD kernels run for `F`: `F` is `f32` and the kernel [`Kernel::Auto`]
/// resolves to is AVX2 or AVX-512 (both CPUs run the AVX2 kernels).
fn simd_f32<F: Scalar>() -> bool {
    is_f32::<F>()
        && matches!(
            Kernel::Auto.resolve::<f32>(),
            Kernel::Avx2Fma | Kernel::Avx512
        )
}

/// The `m x n` row-major matrix `a` transposed into blocks of 16 of its rows: block `b` holds,
/// for each column `s < n`, the 16 entries `a[16 b + j][s]` (zero past `m`). The `B` operand
/// of [`implicit_avx2::conv_gather_f32`].
fn pack_rows_by_16<F: Scalar>(a: &[F], m: usize, n: usize) -> Vec<F> {
    assert_eq!(a.len(), m * n);
    let mut packed = vec![F::zero(); m.div_ceil(16) * 16 * n];
    if simd_f32::<F>() {
        // SAFETY: `F` is `f32` and AVX2 and FMA were detected; `a` holds `m n` floats
        // (asserted) and `packed` `16 n ⌈m / 16⌉`.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            implicit_avx2::pack_rows_by_16_f32(
                a.as_ptr().cast::<f32>(),
                m,
                n,
                packed.as_mut_ptr().cast::<f32>(),
            );
        }
        return packed;
    }
    for (r, row) in a.chunks_exact(n).enumerate() {
        let block = &mut packed[(r / 16) * 16 * n..];
        for (s, &v) in row.iter().enumerate() {
            block[s * 16 + r % 16] = v;
        }
    }
    packed
}

/// The sum of a slice, with eight partial sums so that the adds do not wait on each other.
pub(crate) fn plane_sum<F: Scalar>(plane: &[F]) -> F {
    let mut partial = [F::zero(); 8];
    let mut blocks = plane.chunks_exact(8);
    for block in &mut blocks {
        for (p, &v) in partial.iter_mut().zip(block) {
            *p = *p + v;
        }
    }
    let tail = blocks.remainder().iter().fold(F::zero(), |acc, &v| acc + v);
    partial.iter().fold(tail, |acc, &p| acc + p)
}

/// `sums[p] <- Σ_i y[p n + i]` for the planes of `n` elements of `y` (`sums.len()` of them):
/// the bias gradient of a convolution, by AVX2 for `f32`.
pub(crate) fn plane_sums<F: Scalar>(y: &[F], n: usize, sums: &mut [F]) {
    assert_eq!(y.len(), n * sums.len(), "plane sums: lengths");
    #[cfg(target_arch = "x86_64")]
    if simd_f32::<F>() {
        // SAFETY: `F` is `f32` and AVX2 and FMA were detected; `y` holds `n` floats per sum
        // (asserted).
        unsafe {
            implicit_avx2::plane_sums_f32(
                y.as_ptr().cast::<f32>(),
                n,
                sums.len(),
                sums.as_mut_ptr().cast::<f32>(),
            );
        }
        return;
    }
    for (p, s) in sums.iter_mut().enumerate() {
        *s = plane_sum(&y[p * n..(p + 1) * n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `f32` products of a stride-1 plan (dense-pixel input gradient where chosen, filters
    /// kept by `forward_saving`) against the `f64` gathered blocks of the same plan, with the
    /// kernel installed by the caller.
    fn check(c: usize, (h, w): (usize, usize), o: usize, (kh, kw): (usize, usize), p: usize) {
        let shape = Im2colShape {
            channels: c,
            height: h,
            width: w,
            kernel_h: kh,
            kernel_w: kw,
            stride: 1,
            padding: p,
        };
        let plan = ConvPlan::new(&shape, o);
        let (k, l) = (plan.k(), plan.l());
        let val = |i: usize, s: usize| ((i * 7 + s * 13) % 17) as f64 / 17.0 - 0.5;
        let x: Vec<f64> = (0..c * h * w).map(|i| val(i, 1)).collect();
        let wt: Vec<f64> = (0..o * k).map(|i| val(i, 2)).collect();
        let dy: Vec<f64> = (0..o * l).map(|i| val(i, 3)).collect();
        let f32s = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let padded = plan.pad(&x);
        let mut y = vec![0.0; o * l];
        plan.forward(&wt, &padded, &mut y);
        let (mut dw, mut dx) = (vec![0.0; o * k], vec![0.0; c * h * w]);
        plan.backward(&wt, &padded, &dy, &mut dw, &mut dx);
        let padded32 = plan.pad(&f32s(&x));
        let mut y32 = vec![0.0_f32; o * l];
        let saved = plan.forward_saving(&f32s(&wt), &padded32, &mut y32);
        let (mut dw32, mut dx32) = (vec![1.0_f32; o * k], vec![1.0_f32; c * h * w]);
        plan.backward_saved(&saved, &padded32, &f32s(&dy), &mut dw32, &mut dx32);
        for (what, a, e) in [("y", &y32, &y), ("dw", &dw32, &dw), ("dx", &dx32, &dx)] {
            for (i, (&a, &e)) in a.iter().zip(e.iter()).enumerate() {
                assert!(
                    (f64::from(a) - e).abs() <= 1e-4 * (1.0 + e.abs()),
                    "{what}[{i}]: {a} vs {e} ({c}x{h}x{w}, {o} filters {kh}x{kw}, pad {p})"
                );
            }
        }
    }

    #[test]
    fn dense_input_gradient_matches_the_gathered_blocks() {
        for kernel in Kernel::available::<f32>() {
            println!("kernel run: {}", kernel.name::<f32>());
            kernel.install(every_shape);
        }
    }

    fn every_shape() {
        // Output rows shorter than a vector (several segments per group), more than 16
        // filters (several blocks of packed channels), a single output column.
        check(2, (5, 5), 33, (3, 3), 1);
        check(3, (9, 9), 20, (5, 5), 1);
        check(1, (6, 6), 4, (5, 5), 0);
        check(2, (3, 4), 3, (5, 6), 1);
        check(6, (14, 14), 16, (5, 5), 0);
        check(4, (7, 12), 17, (4, 7), 2);
        // Long rows: the wide-row kernels.
        check(3, (32, 32), 6, (5, 5), 0);
    }
}
