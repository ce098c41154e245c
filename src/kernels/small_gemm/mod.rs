//! Small GEMMs `S (rows × cout) = P (rows × cin) · C (cin × cout)` with many rows and a tiny
//! `C` (the per-core products of the TT-matvec: `cin = n_k r_{k-1}`, `cout = m_k r_k`), where
//! `P` is read through a gather ([`RowMap`] + column offsets) so that a permuted copy of the
//! state before the GEMM is not needed.
//!
//! Why not faer: with `cin = 16–32` and `cout ≤ 64` faer's f32 microkernels (24 / 16 rows) and
//! their packing are mostly padding, and the copy that makes `P` contiguous for faer took as long
//! as the GEMM (docs/performance.md, TT-matrix section). The kernel here broadcasts `P[i, q]` and
//! multiplies it with row `q` of `C` held in AVX registers, a few rows at a time, with AVX2 + FMA
//! chosen at run time (the crate is compiled for baseline x86-64). Without those features, or
//! for shapes outside [`covers`], callers keep the copy + faer path.

#[cfg(target_arch = "x86_64")]
mod kernel;

use rayon::prelude::*;

use crate::par::{thread_count, Par};
use crate::scalar::Scalar;

/// At most this many row axes in a [`RowMap`] (the batch axis included).
pub(crate) const MAX_ROW_AXES: usize = 8;

/// The widest `C` (columns) the kernel takes: `C` rows then fit in at most 8 (f32) or 16 (f64)
/// AVX registers, processed in panels of at most [`MAX_PANEL_VECS`] registers.
pub(crate) const MAX_COUT: usize = 64;

/// The longest inner length the kernel takes: `C` (≤ 64 × 64) then stays in L1.
pub(crate) const MAX_CIN: usize = 64;

/// Registers of `C` per column panel (with the row-block accumulators this fills the 16 AVX
/// registers).
const MAX_PANEL_VECS: usize = 2;

/// Rows per thread below which a split over threads is not worth it.
const MIN_ROWS_PER_THREAD: usize = 256;

/// The rows of a gathered `P`: row `i`, as the row-major multi-index `(i_0, …, i_{n-1})` over
/// `dims`, starts at `Σ_t i_t · strides[t]` in the source; element `(i, q)` is at that start plus
/// `col_off[q]` (kept by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RowMap {
    dims: [usize; MAX_ROW_AXES],
    strides: [usize; MAX_ROW_AXES],
    nd: usize,
}

impl RowMap {
    /// Rows over `dims` (outermost first) with source `strides`; unit axes are dropped and
    /// neighbours contiguous in the source merged (fewer carries in the row odometer).
    ///
    /// # Panics
    /// If more than [`MAX_ROW_AXES`] axes remain after merging (see [`RowMap::try_new`]), or
    /// the lengths differ.
    #[cfg(test)]
    pub(crate) fn new(dims: &[usize], strides: &[usize]) -> Self {
        match Self::try_new(dims, strides) {
            Some(map) => map,
            None => panic!("RowMap: more than {MAX_ROW_AXES} row axes"),
        }
    }

    /// [`RowMap::new`], or `None` if more than [`MAX_ROW_AXES`] axes remain after merging.
    ///
    /// # Panics
    /// If the lengths differ.
    pub(crate) fn try_new(dims: &[usize], strides: &[usize]) -> Option<Self> {
        assert_eq!(dims.len(), strides.len(), "RowMap: dims and strides differ in length");
        let mut map = Self { dims: [0; MAX_ROW_AXES], strides: [0; MAX_ROW_AXES], nd: 0 };
        for (&n, &s) in dims.iter().zip(strides) {
            if n == 1 {
                continue;
            }
            if map.nd > 0 && map.strides[map.nd - 1] == s * n {
                map.dims[map.nd - 1] *= n;
                map.strides[map.nd - 1] = s;
                continue;
            }
            if map.nd == MAX_ROW_AXES {
                return None;
            }
            map.dims[map.nd] = n;
            map.strides[map.nd] = s;
            map.nd += 1;
        }
        Some(map)
    }

    /// The same rows repeated `n` times with the starts shifted by `stride` (an outer batch
    /// axis); `None` if that makes more than [`MAX_ROW_AXES`] axes.
    pub(crate) fn with_outer(&self, n: usize, stride: usize) -> Option<Self> {
        if n == 1 {
            return Some(*self);
        }
        let mut map = Self { dims: [0; MAX_ROW_AXES], strides: [0; MAX_ROW_AXES], nd: 0 };
        if self.nd > 0 && stride == self.strides[0] * self.dims[0] {
            map = *self;
            map.dims[0] *= n;
            return Some(map);
        }
        if self.nd >= MAX_ROW_AXES {
            return None;
        }
        map.dims[0] = n;
        map.strides[0] = stride;
        map.dims[1..=self.nd].copy_from_slice(&self.dims[..self.nd]);
        map.strides[1..=self.nd].copy_from_slice(&self.strides[..self.nd]);
        map.nd = self.nd + 1;
        Some(map)
    }

    /// Contiguous rows of length `stride`: row `i` starts at `i · stride`.
    #[cfg(test)]
    pub(crate) fn contiguous(rows: usize, stride: usize) -> Self {
        Self::new(&[rows], &[stride])
    }

    /// The number of rows (`Π dims`; 1 if every axis was a unit axis, 0 if one is empty).
    pub(crate) fn rows(&self) -> usize {
        self.dims[..self.nd].iter().product()
    }

    /// The largest row start (0 without rows).
    fn max_start(&self) -> usize {
        self.dims[..self.nd].iter().zip(&self.strides).map(|(&n, &s)| (n.max(1) - 1) * s).sum()
    }

    /// Splits `row` into its multi-index (`idx`) and returns its start.
    fn locate(&self, mut row: usize, idx: &mut [usize; MAX_ROW_AXES]) -> usize {
        let mut start = 0;
        for t in (0..self.nd).rev() {
            idx[t] = row % self.dims[t];
            row /= self.dims[t];
            start += idx[t] * self.strides[t];
        }
        start
    }
}

/// The starts of consecutive rows of a [`RowMap`], from a given row on (an odometer).
struct RowCursor<'a> {
    map: &'a RowMap,
    idx: [usize; MAX_ROW_AXES],
    start: usize,
}

impl<'a> RowCursor<'a> {
    /// The cursor at row `row`.
    fn at(map: &'a RowMap, row: usize) -> Self {
        let mut idx = [0; MAX_ROW_AXES];
        let start = map.locate(row, &mut idx);
        Self { map, idx, start }
    }

    /// The start of the current row; moves to the next one.
    #[inline(always)]
    fn next_start(&mut self) -> usize {
        let s = self.start;
        let map = self.map;
        let Some(inner) = map.nd.checked_sub(1) else {
            return s; // a single row
        };
        // Most steps stay on the innermost axis: one add, one compare.
        self.idx[inner] += 1;
        self.start += map.strides[inner];
        if self.idx[inner] < map.dims[inner] {
            return s;
        }
        self.carry(inner);
        s
    }

    /// Wraps axis `t` (just run past its end) to 0 and carries into the axes outside it.
    #[cold]
    fn carry(&mut self, mut t: usize) {
        let map = self.map;
        loop {
            self.start -= map.strides[t] * map.dims[t];
            self.idx[t] = 0;
            if t == 0 {
                return;
            }
            t -= 1;
            self.idx[t] += 1;
            self.start += map.strides[t];
            if self.idx[t] < map.dims[t] {
                return;
            }
        }
    }
}

/// `C` (`cin × cout`, row-major) with each row padded with zeros to a whole number of SIMD
/// registers (`ldc` columns), so that the kernel loads only full registers.
#[derive(Clone, Debug)]
pub(crate) struct PackedCore<T> {
    data: Vec<T>,
    cin: usize,
    cout: usize,
    ldc: usize,
}

impl<T: Scalar> PackedCore<T> {
    /// Packs the row-major `cin × cout` matrix `c`.
    pub(crate) fn new(c: &[T], cin: usize, cout: usize) -> Self {
        debug_assert_eq!(c.len(), cin * cout);
        let ldc = cout.div_ceil(lanes_of::<T>()) * lanes_of::<T>();
        let mut data = vec![T::zero(); cin * ldc];
        if cout > 0 {
            for (dst, src) in data.chunks_exact_mut(ldc).zip(c.chunks_exact(cout)) {
                dst[..cout].copy_from_slice(src);
            }
        }
        Self { data, cin, cout, ldc }
    }
}

/// SIMD lanes of one AVX register of `T` (8 for f32, 4 for f64).
fn lanes_of<T>() -> usize {
    32 / std::mem::size_of::<T>()
}

/// Whether the kernel runs on this CPU for a `cin × cout` `C` of `T`.
pub(crate) fn covers(cin: usize, cout: usize) -> bool {
    (1..=MAX_CIN).contains(&cin) && (1..=MAX_COUT).contains(&cout) && super::simd_available()
}

/// `dst (rows × cout, row-major) = P · C` with `P[i, q] = src[start(i) + col_off[q]]`, the
/// starts from `rows`; the rows are split over `thread_count(par)` threads when long enough.
///
/// # Panics
/// If [`covers`] is false for the shape of `c`, if `col_off.len() != c.cin()`,
/// `dst.len() != rows.rows() · c.cout()`, or a gathered element lies outside `src`.
pub(crate) fn gather_gemm<T: Scalar>(
    src: &[T],
    rows: &RowMap,
    col_off: &[usize],
    c: &PackedCore<T>,
    dst: &mut [T],
    par: Par,
) {
    let n = rows.rows();
    assert!(covers(c.cin, c.cout), "gather_gemm: shape not covered by the kernel");
    assert_eq!(col_off.len(), c.cin, "gather_gemm: one column offset per row of C");
    assert_eq!(dst.len(), n * c.cout, "gather_gemm: dst must be rows × cout");
    if n == 0 {
        return;
    }
    // The kernel reads unchecked: every gathered element must lie inside `src`.
    let reach = rows.max_start() + col_off.iter().copied().max().unwrap_or(0);
    assert!(reach < src.len(), "gather_gemm: gather reaches {reach} in a source of {}", src.len());
    let threads = thread_count(par).min(n / MIN_ROWS_PER_THREAD).max(1);
    if threads == 1 {
        run_kernel(src, rows, 0, col_off, c, dst);
    } else {
        let per = n.div_ceil(threads);
        dst.par_chunks_mut(per * c.cout)
            .enumerate()
            .for_each(|(t, d)| run_kernel(src, rows, t * per, col_off, c, d));
    }
}

/// Rows `first..first + dst.len() / cout` of the product, in the precision of `T` (only after
/// [`gather_gemm`] checked [`covers`] and the gather's reach).
fn run_kernel<T: Scalar>(
    src: &[T],
    rows: &RowMap,
    first: usize,
    col_off: &[usize],
    c: &PackedCore<T>,
    dst: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m256, __m256d};

        use crate::scalar::{precision, Precision};
        let mut cursor = RowCursor::at(rows, first);
        let (cin, cout, ldc) = (c.cin, c.cout, c.ldc);
        // SAFETY: `covers` checked AVX2 and FMA; `gather_gemm` checked that every gathered
        // element is inside `src`, that `col_off` has `cin` entries and that `dst` holds whole
        // rows of `cout`; `c.data` is `cin × ldc` by construction. The match is exhaustive over
        // the sealed `Scalar` types: every one has a kernel.
        unsafe {
            match precision::<T>() {
                Precision::F64(is) => kernel::gather_gemm::<__m256d>(
                    is.slice(src),
                    &mut cursor,
                    col_off,
                    is.slice(&c.data),
                    cin,
                    cout,
                    ldc,
                    is.slice_mut(dst),
                ),
                Precision::F32(is) => kernel::gather_gemm::<__m256>(
                    is.slice(src),
                    &mut cursor,
                    col_off,
                    is.slice(&c.data),
                    cin,
                    cout,
                    ldc,
                    is.slice_mut(dst),
                ),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (src, rows, first, col_off, c, dst);
}

#[cfg(test)]
mod tests;
