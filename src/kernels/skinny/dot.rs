//! `D = A · B` for a row-major `A` (`m × k`) and a narrow panel `B` (`k × R`) given as its
//! row-major transpose `Bᵀ` (`R × k`): every output element is a dot product along the
//! contiguous `k`, computed for two rows of `A` against up to six rows of `Bᵀ` at a time
//! (twelve accumulators, the most that stay in the sixteen AVX registers with the operands).

use super::{panel_blocks, MAX_BLOCK};
use crate::kernels::lanes::{prefetch, Lanes};

/// How many rows ahead of the current ones `A` is prefetched: the hardware prefetchers alone
/// left the kernel stalled on memory at a third of the machine's read bandwidth.
const PREFETCH_ROWS: usize = 4;

/// Bytes of `Bᵀ` kept hot in L2 while the rows of `A` pass: `k` is cut into blocks of this size.
const PANEL_BYTES: usize = 192 * 1024;

/// `dst (m × r, row-major) = a (m × k, row-major) · btᵀ` with `bt` the row-major `r × k`
/// transpose of the panel.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `a.len() == m·k`, `bt.len() == r·k`, `dst.len() == m·r`
/// with `r ≥ 1`, `k ≥ 1`.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn a_times_panel<V: Lanes>(
    a: &[V::Elem],
    k: usize,
    bt: &[V::Elem],
    r: usize,
    dst: &mut [V::Elem],
) {
    let m = dst.len() / r;
    debug_assert!(a.len() == m * k && bt.len() == r * k);
    let kc = (PANEL_BYTES / (r * size_of::<V::Elem>())).max(V::WIDTH) / V::WIDTH * V::WIDTH;
    let blocks = panel_blocks(r);
    let mut k0 = 0;
    while k0 < k {
        let kl = kc.min(k - k0);
        let accumulate = k0 > 0;
        let mut i = 0;
        while i < m {
            let rows = (m - i).min(2);
            for &(r0, nr) in &blocks {
                // SAFETY: rows i..i+rows < m, columns k0..k0+kl ≤ k and r0..r0+nr ≤ r are in
                // bounds of a, bt and dst by the length contract above.
                unsafe {
                    let pa = a.as_ptr().add(i * k + k0);
                    let pb = bt.as_ptr().add(r0 * k + k0);
                    let pd = dst.as_mut_ptr().add(i * r + r0);
                    if rows == 2 {
                        dot_rows::<V, 2>(pa, pb, k, kl, pd, r, nr, accumulate);
                    } else {
                        dot_rows::<V, 1>(pa, pb, k, kl, pd, r, nr, accumulate);
                    }
                }
            }
            i += rows;
        }
        k0 += kl;
    }
}

/// Dispatches a block of `nr ≤ MAX_BLOCK` panel columns to its monomorphized kernel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn dot_rows<V: Lanes, const ROWS: usize>(
    a: *const V::Elem,
    bt: *const V::Elem,
    ld: usize,
    kl: usize,
    dst: *mut V::Elem,
    ldd: usize,
    nr: usize,
    accumulate: bool,
) {
    const _: () = assert!(MAX_BLOCK == 6);
    // SAFETY: forwarded contract of `dot_block`.
    unsafe {
        match nr {
            1 => dot_block::<V, ROWS, 1>(a, bt, ld, kl, dst, ldd, accumulate),
            2 => dot_block::<V, ROWS, 2>(a, bt, ld, kl, dst, ldd, accumulate),
            3 => dot_block::<V, ROWS, 3>(a, bt, ld, kl, dst, ldd, accumulate),
            4 => dot_block::<V, ROWS, 4>(a, bt, ld, kl, dst, ldd, accumulate),
            5 => dot_block::<V, ROWS, 5>(a, bt, ld, kl, dst, ldd, accumulate),
            _ => dot_block::<V, ROWS, 6>(a, bt, ld, kl, dst, ldd, accumulate),
        }
    }
}

/// `dst[i, j] (+)= Σ_{q < kl} a[i·ld + q] · bt[j·ld + q]` for `i < ROWS`, `j < NR`.
#[inline(always)]
// `j` walks the columns of the ROWS × NR accumulator grid, one loaded panel row at a time.
#[allow(clippy::needless_range_loop)]
unsafe fn dot_block<V: Lanes, const ROWS: usize, const NR: usize>(
    a: *const V::Elem,
    bt: *const V::Elem,
    ld: usize,
    kl: usize,
    dst: *mut V::Elem,
    ldd: usize,
    accumulate: bool,
) {
    // SAFETY: the caller guarantees ROWS rows of `a` and NR rows of `bt` with `kl` readable
    // elements each at stride `ld`, and a ROWS × NR block of `dst` at stride `ldd`.
    unsafe {
        let mut acc = [[V::zero(); NR]; ROWS];
        let kv = kl - kl % V::WIDTH;
        let mut p = 0;
        while p < kv {
            let mut av = [V::zero(); ROWS];
            for (i, v) in av.iter_mut().enumerate() {
                *v = V::load(a.add(i * ld + p));
                // The same column PREFETCH_ROWS rows on: the rows the next blocks will read.
                prefetch(a.wrapping_add((i + PREFETCH_ROWS) * ld + p));
            }
            for j in 0..NR {
                let b = V::load(bt.add(j * ld + p));
                for i in 0..ROWS {
                    acc[i][j] = av[i].mul_add(b, acc[i][j]);
                }
            }
            p += V::WIDTH;
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let mut s = v.sum();
                for q in kv..kl {
                    s = s + *a.add(i * ld + q) * *bt.add(j * ld + q);
                }
                let d = dst.add(i * ldd + j);
                *d = if accumulate { *d + s } else { s };
            }
        }
    }
}
