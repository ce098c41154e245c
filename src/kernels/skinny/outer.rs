//! `Dᵀ += Aᵀ · C` for a row-major `A` (`m × k`) and a narrow row-major panel `C` (`m × R`):
//! rank-one updates along the rows of `A`, each register holding a run of the contiguous `k`
//! and each panel entry broadcast — the classic GEMM microkernel, with both operands already
//! in the layout it wants, so nothing is packed. Accumulates into `Dᵀ` (`R × k`, row-major).

use super::{panel_blocks, MAX_BLOCK};
use crate::kernels::lanes::{prefetch, Lanes};

/// Rows of `A` per block: each pass over a block's accumulators does this many rank-one updates.
const ROW_BLOCK: usize = 16;

/// Columns of `A` per block: with [`ROW_BLOCK`] rows, at most 32 KiB of f64 stays in L1 while
/// each panel block re-reads it.
const COL_BLOCK: usize = 256;

/// How far along a row to prefetch when a row block is not contiguous.
const PREFETCH_BYTES: usize = 1024;

/// `dst_t (r × k, row-major) += aᵀ · c` for the first `k` columns of `a` (`m` rows at stride
/// `lda ≥ k`, row-major) and `c` row-major `m × r` (`m = c.len() / r`).
///
/// `A` is walked in blocks of [`ROW_BLOCK`] × [`COL_BLOCK`], row blocks outermost, so that it
/// streams through memory nearly in order (a whole row block is contiguous when
/// `k = lda ≤ COL_BLOCK`); the next row block is prefetched while the current one is used.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a.len() ≥ (m − 1)·lda + k`, `c.len() == m·r`,
/// `dst_t.len() == r·k` with `r ≥ 1`, `k ≥ 1`, `m ≥ 1`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn at_times_panel<V: Lanes>(
    a: &[V::Elem],
    lda: usize,
    k: usize,
    c: &[V::Elem],
    r: usize,
    dst_t: &mut [V::Elem],
) {
    let m = c.len() / r;
    debug_assert!(lda >= k && a.len() >= (m - 1) * lda + k && dst_t.len() == r * k);
    // What to prefetch, as an offset from the row being read: the next row block when a row
    // block is one contiguous run, else further along the same row (the hardware prefetchers
    // alone left the kernel at about half the read bandwidth on column panels of long rows).
    let ahead =
        if lda <= COL_BLOCK { ROW_BLOCK * lda } else { PREFETCH_BYTES / size_of::<V::Elem>() };
    let blocks = panel_blocks(r);
    let w = V::WIDTH;
    let k_vec = k - k % w;
    let mut i0 = 0;
    while i0 < m {
        let rows = ROW_BLOCK.min(m - i0);
        let mut j0 = 0;
        while j0 < k_vec {
            let j_end = (j0 + COL_BLOCK).min(k_vec);
            let mut j = j0;
            while j < j_end {
                let vecs = if j + 2 * w <= j_end { 2 } else { 1 };
                for &(r0, nr) in &blocks {
                    // SAFETY: rows i0..i0+rows ≤ m (stride lda), columns j..j+vecs·w ≤ k,
                    // panel columns r0..r0+nr ≤ r: in bounds by the length contract above.
                    unsafe {
                        let pa = a.as_ptr().add(i0 * lda + j);
                        let pc = c.as_ptr().add(i0 * r + r0);
                        let pd = dst_t.as_mut_ptr().add(r0 * k + j);
                        if vecs == 2 {
                            outer_cols::<V, 2>(pa, lda, ahead, pc, r, rows, pd, k, nr);
                        } else {
                            outer_cols::<V, 1>(pa, lda, ahead, pc, r, rows, pd, k, nr);
                        }
                    }
                }
                j += vecs * w;
            }
            j0 = j_end;
        }
        // The last k mod WIDTH columns, one at a time.
        for jj in k_vec..k {
            for rr in 0..r {
                let mut s = dst_t[rr * k + jj];
                for i in i0..i0 + rows {
                    s = s + a[i * lda + jj] * c[i * r + rr];
                }
                dst_t[rr * k + jj] = s;
            }
        }
        i0 += rows;
    }
}

/// Dispatches a block of `nr ≤ MAX_BLOCK` panel columns to its monomorphized kernel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_cols<V: Lanes, const MV: usize>(
    a: *const V::Elem,
    lda: usize,
    ahead: usize,
    c: *const V::Elem,
    ldc: usize,
    rows: usize,
    dst: *mut V::Elem,
    ldd: usize,
    nr: usize,
) {
    const _: () = assert!(MAX_BLOCK == 6);
    // SAFETY: forwarded contract of `outer_block`.
    unsafe {
        match nr {
            1 => outer_block::<V, MV, 1>(a, lda, ahead, c, ldc, rows, dst, ldd),
            2 => outer_block::<V, MV, 2>(a, lda, ahead, c, ldc, rows, dst, ldd),
            3 => outer_block::<V, MV, 3>(a, lda, ahead, c, ldc, rows, dst, ldd),
            4 => outer_block::<V, MV, 4>(a, lda, ahead, c, ldc, rows, dst, ldd),
            5 => outer_block::<V, MV, 5>(a, lda, ahead, c, ldc, rows, dst, ldd),
            _ => outer_block::<V, MV, 6>(a, lda, ahead, c, ldc, rows, dst, ldd),
        }
    }
}

/// `dst[j, v·W + l] += Σ_{i < rows} a[i·lda + v·W + l] · c[i·ldc + j]` for `j < NR`, `v < MV`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn outer_block<V: Lanes, const MV: usize, const NR: usize>(
    a: *const V::Elem,
    lda: usize,
    ahead: usize,
    c: *const V::Elem,
    ldc: usize,
    rows: usize,
    dst: *mut V::Elem,
    ldd: usize,
) {
    // SAFETY: the caller guarantees `rows` rows of MV·W readable elements of `a` (stride
    // `lda`), `rows` rows of NR elements of `c` (stride `ldc`) and an NR × MV·W block of `dst`
    // (stride `ldd`).
    unsafe {
        let mut acc = [[V::zero(); MV]; NR];
        for i in 0..rows {
            let mut av = [V::zero(); MV];
            for (v, x) in av.iter_mut().enumerate() {
                *x = V::load(a.add(i * lda + v * V::WIDTH));
            }
            prefetch(a.wrapping_add(i * lda + ahead));
            for (j, row) in acc.iter_mut().enumerate() {
                let cb = V::splat(*c.add(i * ldc + j));
                for (x, s) in av.iter().zip(row.iter_mut()) {
                    *s = x.mul_add(cb, *s);
                }
            }
        }
        for (j, row) in acc.iter().enumerate() {
            for (v, s) in row.iter().enumerate() {
                let p = dst.add(j * ldd + v * V::WIDTH);
                V::load(p).add(*s).store(p);
            }
        }
    }
}
