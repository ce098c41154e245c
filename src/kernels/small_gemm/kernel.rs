//! The AVX2/FMA kernel of [`super::gather_gemm`], written once for f32 and f64 over
//! [`Lanes`]: for a block of `MR` rows and a panel of `NV` registers of `C`, every step `q`
//! loads row `q` of the panel, broadcasts the gathered `P[i, q]` of each row and adds the
//! product into `MR × NV` accumulators (at most 12, so the accumulators, the panel row and a
//! broadcast fit in the 16 AVX registers, or `C` is read from L1 by the FMAs).

use std::mem::MaybeUninit;

use super::{RowCursor, MAX_PANEL_VECS};
use crate::kernels::lanes::Lanes;

/// The most rows per register block (for one-register panels).
const MAX_MR: usize = 8;

/// Rows per register block when the widest panel has `nv` registers: about 12 accumulators.
/// Each value must be one of the block sizes `gather_gemm` dispatches on.
const fn rows_for(nv: usize) -> usize {
    match nv {
        1 => 8,
        2 => 6,
        3 => 3,
        _ => 2,
    }
}

/// `dst (rows × cout, row-major) = P · C` for the rows the cursor yields next
/// (`rows = dst.len() / cout`), `P[i, q] = src[start(i) + col_off[q]]` and `C` row-major with
/// `ldc` (a multiple of the register width, zero-padded) columns.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `start + col_off[q]` must be inside `src` for every row
/// the cursor yields and every `q < cin`; `col_off.len() == cin`, `c.len() == cin · ldc` with
/// `cout ≤ ldc < cout + WIDTH`, `cout ≥ 1` and `dst.len()` a multiple of `cout`.
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gather_gemm<V: Lanes>(
    src: &[V::Elem],
    cursor: &mut RowCursor<'_>,
    col_off: &[usize],
    c: &[V::Elem],
    cin: usize,
    cout: usize,
    ldc: usize,
    dst: &mut [V::Elem],
) {
    let rows = dst.len() / cout;
    debug_assert!(col_off.len() == cin && c.len() == cin * ldc && ldc % V::WIDTH == 0);
    // Column panels of at most MAX_PANEL_VECS registers, sizes as equal as possible.
    let nvec = ldc / V::WIDTH;
    let np = nvec.div_ceil(MAX_PANEL_VECS);
    let (base, extra) = (nvec / np, nvec % np);
    let mut panels = [(0usize, 0usize); 16];
    let mut v0 = 0;
    for (p, slot) in panels.iter_mut().enumerate().take(np) {
        let nv = base + usize::from(p < extra);
        *slot = (v0, nv);
        v0 += nv;
    }
    let mr = rows_for(panels[0].1);
    let (s, d, len) = (src.as_ptr(), dst.as_mut_ptr(), dst.len());
    let mut starts = [0usize; MAX_MR];
    let mut i = 0;
    while i < rows {
        let block = if rows - i >= mr { mr } else { 1 };
        for st in starts.iter_mut().take(block) {
            *st = cursor.next_start();
        }
        // Last panel first: the full-register store of a row's last columns may spill into
        // the first columns of the next rows, which must be written after it (see `store_row`).
        for &(v0, nv) in panels[..np].iter().rev() {
            let col = v0 * V::WIDTH;
            let cols = (cout - col).min(nv * V::WIDTH);
            // SAFETY: rows i..i+block < rows and columns col..col+cols ≤ cout are inside dst;
            // the block reads c rows q < cin at columns col..col+nv·WIDTH ≤ ldc and the
            // gathered elements the caller vouched for.
            unsafe {
                let panel = Panel { c: c.as_ptr().add(col), ldc, cols };
                let out = Out { d: d.add(i * cout + col), ldd: cout, room: len - (i * cout + col) };
                match block {
                    1 => panel_rows::<V, 1>(s, &starts, col_off, &panel, &out, nv),
                    8 => panel_rows::<V, 8>(s, &starts, col_off, &panel, &out, nv),
                    6 => panel_rows::<V, 6>(s, &starts, col_off, &panel, &out, nv),
                    3 => panel_rows::<V, 3>(s, &starts, col_off, &panel, &out, nv),
                    _ => panel_rows::<V, 2>(s, &starts, col_off, &panel, &out, nv),
                }
            }
        }
        i += block;
    }
}

/// One column panel of `C`: its first element, the row stride and how many of its columns are
/// real (the rest, up to a whole register, is zero padding).
struct Panel<E> {
    c: *const E,
    ldc: usize,
    cols: usize,
}

/// Where a block of rows goes: the first element, the row stride (`cout`) and how many elements
/// of `dst` follow it (a full-register store must end within them).
struct Out<E> {
    d: *mut E,
    ldd: usize,
    room: usize,
}

/// Dispatches a panel of `nv` registers to its monomorphized block kernel.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_rows<V: Lanes, const MR: usize>(
    src: *const V::Elem,
    starts: &[usize; MAX_MR],
    col_off: &[usize],
    panel: &Panel<V::Elem>,
    out: &Out<V::Elem>,
    nv: usize,
) {
    const _: () = assert!(MAX_PANEL_VECS <= 4);
    // SAFETY: forwarded contract of `block`.
    unsafe {
        match nv {
            1 => block::<V, MR, 1>(src, starts, col_off, panel, out),
            2 => block::<V, MR, 2>(src, starts, col_off, panel, out),
            3 => block::<V, MR, 3>(src, starts, col_off, panel, out),
            _ => block::<V, MR, 4>(src, starts, col_off, panel, out),
        }
    }
}

/// `out[i, :cols] = Σ_q src[starts[i] + col_off[q]] · panel[q, :]` for `i < MR`.
#[inline(always)]
unsafe fn block<V: Lanes, const MR: usize, const NV: usize>(
    src: *const V::Elem,
    starts: &[usize; MAX_MR],
    col_off: &[usize],
    panel: &Panel<V::Elem>,
    out: &Out<V::Elem>,
) {
    // SAFETY: the caller guarantees the gathered elements, `col_off.len()` rows of NV registers of the
    // panel at stride `ldc`, and MR rows of `panel.cols` elements of `out`.
    unsafe {
        // Row pointers hoisted out of the loop: each broadcast is then one load with a
        // base + scaled-index address.
        let mut rp = [src; MR];
        for (p, &st) in rp.iter_mut().zip(starts) {
            *p = src.add(st);
        }
        let mut acc = [[V::zero(); NV]; MR];
        for (q, &off) in col_off.iter().enumerate() {
            let cq = panel.c.add(q * panel.ldc);
            let mut cv = [V::zero(); NV];
            for (v, r) in cv.iter_mut().enumerate() {
                *r = V::load(cq.add(v * V::WIDTH));
            }
            for (p, row) in rp.iter().zip(acc.iter_mut()) {
                let a = V::splat(*p.add(off));
                for (v, r) in row.iter_mut().enumerate() {
                    *r = a.mul_add(cv[v], *r);
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            store_row::<V>(row, out, i * out.ldd, panel.cols);
        }
    }
}

/// Writes the first `cols` lanes of the registers `row` at element `at` of `out`.
///
/// A register that would reach past `cols` is still stored whole when the store ends within
/// `out` (`room`): the extra lanes land on the first columns of the following rows, which the
/// callers write later (panels last to first, rows in order), so they are overwritten with
/// their true values. Only at the end of `dst` the tail goes through a stack buffer.
#[inline(always)]
unsafe fn store_row<V: Lanes>(row: &[V], out: &Out<V::Elem>, at: usize, cols: usize) {
    // SAFETY: the caller guarantees `cols` elements at `out.d + at` and `out.room` elements
    // from `out.d`; every store below stays within one of the two.
    unsafe {
        for (v, r) in row.iter().enumerate() {
            let col = v * V::WIDTH;
            if col >= cols {
                break;
            }
            let p = out.d.add(at + col);
            if col + V::WIDTH <= cols || at + col + V::WIDTH <= out.room {
                r.store(p);
            } else {
                let mut tmp = MaybeUninit::<[V::Elem; 8]>::uninit();
                let t = tmp.as_mut_ptr().cast::<V::Elem>();
                r.store(t);
                std::ptr::copy_nonoverlapping(t, p, cols - col);
            }
        }
    }
}
