//! Skinny GEMMs: a long row-major matrix against a narrow panel of `R ≤ MAX_PANEL` columns,
//! the two products every MTTKRP reduces to.
//!
//! - [`a_times_panel`]: `D = A · B` (`m × k` times `k × R`), e.g. a tensor contracted with
//!   the factor of its last mode;
//! - [`at_times_panel`]: `D = Aᵀ · C` (`(m × k)ᵀ` times `m × R`), e.g. the last mode's MTTKRP.
//!
//! Why not faer's GEMM: for `R = 10` faer runs its 16-row f32 (8-row f64) microkernel with
//! 6 (or 6 of 16) rows of padding and reaches ≈ 12 GFLOP/s per core in f32, so CP-ALS was bound
//! by the microkernel rather than by reading the tensor (see docs/performance.md). The kernels
//! here work straight on the row-major data with AVX2 + FMA, chosen at run time (the crate is
//! compiled for baseline x86-64); elsewhere, for wider panels or without those features, the
//! products go to faer as before.

#[cfg(target_arch = "x86_64")]
mod dot;
#[cfg(target_arch = "x86_64")]
mod outer;

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::gemm::matmul_row_split;
use crate::error::{try_filled_vec, Result};
use crate::par::{thread_count, Par};
use crate::scalar::Scalar;

/// The widest panel the own kernels take; wider ones go to faer, whose microkernels are then
/// mostly full.
pub(crate) const MAX_PANEL: usize = 32;

/// Panel columns per register block (2 × 6 accumulators fill the 16 AVX registers with the
/// operands).
const MAX_BLOCK: usize = 6;

/// Bytes of accumulators the transposed product keeps per column panel (a quarter of L2).
const OUTER_PANEL_BYTES: usize = 256 * 1024;

/// Rows of `A` per thread below which a split is not worth it.
const MIN_ROWS_PER_THREAD: usize = 64;

/// Splits `r` panel columns into the fewest blocks of at most [`MAX_BLOCK`], sizes as equal as
/// possible (10 → 5 + 5 rather than 6 + 4): `(first column, width)` pairs.
fn panel_blocks(r: usize) -> Vec<(usize, usize)> {
    let n = r.div_ceil(MAX_BLOCK).max(1);
    let (base, extra) = (r / n, r % n);
    let mut start = 0;
    (0..n)
        .map(|b| {
            let width = base + usize::from(b < extra);
            let block = (start, width);
            start += width;
            block
        })
        .collect()
}

/// Whether the own kernels run on this CPU for a panel of `r` columns and inner length `k`.
fn use_simd(r: usize, k: usize) -> bool {
    (1..=MAX_PANEL).contains(&r) && k >= 8 && super::simd_available()
}

/// `dst (m × r, row-major) = a (m × k, row-major) · b` for a `k × r` panel `b`.
///
/// # Errors
/// [`crate::Error::OutOfMemory`] if the transposed panel cannot be allocated.
pub fn a_times_panel<T: Scalar>(
    a: &[T],
    k: usize,
    b: MatRef<'_, T>,
    dst: &mut [T],
    par: Par,
) -> Result<()> {
    let r = b.ncols();
    let m = dst.len().checked_div(r).unwrap_or(0);
    debug_assert!(a.len() == m * k && b.nrows() == k && dst.len() == m * r);
    if !use_simd(r, k) || m == 0 {
        let lhs = MatRef::from_row_major_slice(a, m, k);
        let out = MatMut::from_row_major_slice_mut(dst, m, r);
        matmul_row_split(out, Accum::Replace, lhs, b, par);
        return Ok(());
    }
    let mut bt = try_filled_vec(&[r, k], r * k, T::zero())?;
    for (j, row) in bt.chunks_exact_mut(k).enumerate() {
        for (q, v) in row.iter_mut().enumerate() {
            *v = b[(q, j)];
        }
    }
    let threads = thread_count(par).min(m / MIN_ROWS_PER_THREAD).max(1);
    if threads == 1 {
        dot_kernel(a, k, &bt, r, dst);
    } else {
        let rows = m.div_ceil(threads);
        dst.par_chunks_mut(rows * r)
            .zip(a.par_chunks(rows * k))
            .for_each(|(d, a)| dot_kernel(a, k, &bt, r, d));
    }
    Ok(())
}

/// `dst (k × r, row-major) = aᵀ · c` for `a` row-major `m × k` and `c` row-major `m × r`.
///
/// The kernel accumulates into a transposed `r × k` block that must stay in L2 while the rows
/// of `a` pass: a long `k` (e.g. `40000` when a 200³ tensor is contracted over its first mode)
/// is cut into column panels of at most [`OUTER_PANEL_BYTES`] of accumulators, spread over the
/// threads; a short one splits the rows instead, one accumulator per thread, summed at the end.
///
/// # Errors
/// [`crate::Error::OutOfMemory`] if the accumulators cannot be allocated.
pub fn at_times_panel<T: Scalar>(
    a: &[T],
    k: usize,
    c: &[T],
    r: usize,
    dst: &mut [T],
    par: Par,
) -> Result<()> {
    let m = a.len().checked_div(k).unwrap_or(0);
    debug_assert!(a.len() == m * k && c.len() == m * r && dst.len() == k * r);
    if !use_simd(r, k) || m == 0 {
        let lhs = MatRef::from_row_major_slice(a, m, k).transpose();
        let rhs = MatRef::from_row_major_slice(c, m, r);
        let out = MatMut::from_row_major_slice_mut(dst, k, r);
        matmul_row_split(out, Accum::Replace, lhs, rhs, par);
        return Ok(());
    }
    // Columns per panel: a multiple of two SIMD registers of either precision, so only the
    // last panel has a tail.
    let kc = (OUTER_PANEL_BYTES / (r * size_of::<T>())).max(16) / 16 * 16;
    let threads = thread_count(par);
    if k > kc {
        let panel = |(p, out): (usize, &mut [T])| -> Result<()> {
            let (j0, width) = (p * kc, out.len() / r);
            let mut acc = try_filled_vec(&[r, width], r * width, T::zero())?;
            outer_kernel(&a[j0..], k, width, c, r, &mut acc);
            transpose_into(&acc, width, r, out, false);
            Ok(())
        };
        if threads == 1 {
            return dst.chunks_mut(kc * r).enumerate().try_for_each(panel);
        }
        return dst.par_chunks_mut(kc * r).enumerate().with_max_len(1).try_for_each(panel);
    }
    let threads = threads.min(m / MIN_ROWS_PER_THREAD).max(1);
    if threads == 1 {
        // The common case (one slab of a larger contraction per call): no partial sums.
        let mut acc = try_filled_vec(&[r, k], r * k, T::zero())?;
        outer_kernel(a, k, k, c, r, &mut acc);
        transpose_into(&acc, k, r, dst, false);
        return Ok(());
    }
    let rows = m.div_ceil(threads);
    // One transposed accumulator (r × k) per thread, summed at the end.
    let partials: Vec<Vec<T>> = a
        .par_chunks(rows * k)
        .zip(c.par_chunks(rows * r))
        .with_max_len(1)
        .map(|(a, c)| {
            let mut acc = try_filled_vec(&[r, k], r * k, T::zero())?;
            outer_kernel(a, k, k, c, r, &mut acc);
            Ok(acc)
        })
        .collect::<Result<_>>()?;
    for (p, acc) in partials.iter().enumerate() {
        transpose_into(acc, k, r, dst, p > 0);
    }
    Ok(())
}

/// `dst (k × r, row-major) (+)= accᵀ` for `acc` row-major `r × k`, a panel row at a time.
fn transpose_into<T: Scalar>(acc: &[T], k: usize, r: usize, dst: &mut [T], add: bool) {
    for (rr, row) in acc.chunks_exact(k).enumerate() {
        let column = dst[rr..].iter_mut().step_by(r);
        if add {
            column.zip(row).for_each(|(d, &v)| *d += v);
        } else {
            column.zip(row).for_each(|(d, &v)| *d = v);
        }
    }
}

/// Runs [`dot::a_times_panel`] in the precision of `T` (only after [`use_simd`] said yes).
fn dot_kernel<T: Scalar>(a: &[T], k: usize, bt: &[T], r: usize, dst: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m256, __m256d};

        use crate::scalar::{precision, Precision};
        // SAFETY: `use_simd` checked AVX2 and FMA; the caller keeps the length contract.
        // The match is exhaustive over the sealed `Scalar` types: every one has a kernel.
        unsafe {
            match precision::<T>() {
                Precision::F64(is) => dot::a_times_panel::<__m256d>(
                    is.slice(a),
                    k,
                    is.slice(bt),
                    r,
                    is.slice_mut(dst),
                ),
                Precision::F32(is) => {
                    dot::a_times_panel::<__m256>(is.slice(a), k, is.slice(bt), r, is.slice_mut(dst))
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (a, k, bt, r, dst);
}

/// Runs [`outer::at_times_panel`] in the precision of `T` (only after [`use_simd`] said yes).
fn outer_kernel<T: Scalar>(a: &[T], lda: usize, k: usize, c: &[T], r: usize, dst_t: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m256, __m256d};

        use crate::scalar::{precision, Precision};
        // SAFETY: `use_simd` checked AVX2 and FMA; the caller keeps the length contract.
        // The match is exhaustive over the sealed `Scalar` types: every one has a kernel.
        unsafe {
            match precision::<T>() {
                Precision::F64(is) => outer::at_times_panel::<__m256d>(
                    is.slice(a),
                    lda,
                    k,
                    is.slice(c),
                    r,
                    is.slice_mut(dst_t),
                ),
                Precision::F32(is) => outer::at_times_panel::<__m256>(
                    is.slice(a),
                    lda,
                    k,
                    is.slice(c),
                    r,
                    is.slice_mut(dst_t),
                ),
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (a, lda, k, c, r, dst_t);
}

#[cfg(test)]
mod tests;
