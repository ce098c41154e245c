//! The per-sample layouts of the states between cores (labelled axes), and the copies or
//! fused gathers that move one into the next.

use crate::kernels::small_gemm::{PackedCore, RowMap};
use crate::scalar::Scalar;
use crate::tensor::row_major_strides;
use crate::tensor::strided::{odometer_copy, simplify};

/// At most this many axes remain in a state permutation once unit axes are dropped and
/// neighbours merged (the right-to-left order needs five, plus the batch).
const MAX_AXES: usize = 8;

/// A copy between two per-sample layouts: `out` (row-major, `dims`) reads `in` with `strides`;
/// `inv_*` describe the inverse copy (for the backward pass). Unit axes dropped, neighbours merged.
#[derive(Clone, Debug)]
pub(super) struct Perm {
    pub(super) dims: Vec<usize>,
    pub(super) strides: Vec<usize>,
    pub(super) inv_dims: Vec<usize>,
    pub(super) inv_strides: Vec<usize>,
}

/// `P_k` read straight from the state before the step (no copy) by the small-GEMM kernel:
/// row `i` of one sample starts where `rows` puts it, element `(i, (j_k, a))` at that start
/// plus `col_off[j_k · r + a]`.
#[derive(Clone, Debug)]
pub(super) struct Gather<T> {
    /// The row axes of `P_k` within one sample (the batch axis is added per call).
    pub(super) rows: RowMap,
    /// Offsets of the `cin` columns of `P_k` from a row's start.
    pub(super) col_off: Vec<usize>,
    /// `C_k`, padded for the kernel.
    pub(super) core: PackedCore<T>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ax {
    In(usize),
    Out(usize),
    Rank,
}

/// Sizes of the labelled axes.
pub(super) struct Sizes<'a> {
    pub(super) ins: &'a [usize],
    pub(super) outs: &'a [usize],
}

impl Sizes<'_> {
    pub(super) fn of(&self, a: Ax, rank: usize) -> usize {
        match a {
            Ax::In(k) => self.ins[k],
            Ax::Out(k) => self.outs[k],
            Ax::Rank => rank,
        }
    }
}

pub(super) fn build_perm(from: &[Ax], to: &[Ax], sizes: &Sizes<'_>, rank: usize) -> Option<Perm> {
    let dims_in: Vec<usize> = from.iter().map(|&a| sizes.of(a, rank)).collect();
    let st_in = row_major_strides(&dims_in);
    let p: Vec<usize> = to.iter().filter_map(|a| from.iter().position(|b| b == a)).collect();
    debug_assert_eq!(p.len(), from.len());
    let dims: Vec<usize> = p.iter().map(|&q| dims_in[q]).collect();
    let strides: Vec<usize> = p.iter().map(|&q| st_in[q]).collect();
    let st_out = row_major_strides(&dims);
    // Inverse: axis q of the input sits at position pos[q] of the output.
    let mut inv_strides = vec![0; p.len()];
    for (pos, &q) in p.iter().enumerate() {
        inv_strides[q] = st_out[pos];
    }
    let (dims, strides) = simplify(&dims, &strides);
    if dims.len() <= 1 {
        return None; // identity
    }
    let (inv_dims, inv_strides) = simplify(&dims_in, &inv_strides);
    Some(Perm { dims, strides, inv_dims, inv_strides })
}

/// The gather that reads `P_k` (rows: the axes of `to` but the last two; columns: the last two,
/// `In(k)` then `Rank`) straight from a state laid out as `from`, with the padded core for the
/// kernel; `None` if the rows need more axes than the kernel's odometer has room for (then
/// the step keeps the copy; so does a call whose batch axis does not fit in).
pub(super) fn build_gather<T: Scalar>(
    from: &[Ax],
    to: &[Ax],
    sizes: &Sizes<'_>,
    rank: usize,
    core: &[T],
    cin: usize,
    cout: usize,
) -> Option<Gather<T>> {
    let dims_in: Vec<usize> = from.iter().map(|&a| sizes.of(a, rank)).collect();
    let st_in = row_major_strides(&dims_in);
    let stride = |a: &Ax| from.iter().position(|b| b == a).map(|q| st_in[q]);
    let (row_axes, col_axes) = to.split_at(to.len() - 2);
    let row_dims: Vec<usize> = row_axes.iter().map(|&a| sizes.of(a, rank)).collect();
    let row_strides: Vec<usize> = row_axes.iter().map(&stride).collect::<Option<_>>()?;
    let rows = RowMap::try_new(&row_dims, &row_strides)?;
    let (nj, sj) = (sizes.of(col_axes[0], rank), stride(&col_axes[0])?);
    let (na, sa) = (sizes.of(col_axes[1], rank), stride(&col_axes[1])?);
    debug_assert_eq!(nj * na, cin);
    let col_off = (0..nj).flat_map(|j| (0..na).map(move |a| j * sj + a * sa)).collect();
    Some(Gather { rows, col_off, core: PackedCore::new(core, cin, cout) })
}

/// `out` (row-major `[batch, dims…]`) ← `src` read with per-sample stride `len` and `strides`.
pub(super) fn permute_batch<T: Copy>(
    src: &[T],
    batch: usize,
    len: usize,
    dims: &[usize],
    strides: &[usize],
    out: &mut [T],
) {
    let mut d = [0usize; MAX_AXES];
    let mut s = [0usize; MAX_AXES];
    let mut nd = 0;
    // The batch axis (merged into the first axis when that is contiguous in the source).
    if batch > 1 {
        if strides[0] * dims[0] == len {
            d[0] = batch * dims[0];
            s[0] = strides[0];
            nd = 1;
            for (k, (&n, &st)) in dims.iter().zip(strides).enumerate().skip(1) {
                d[k] = n;
                s[k] = st;
                nd += 1;
            }
        } else {
            d[0] = batch;
            s[0] = len;
            nd = 1;
            for (&n, &st) in dims.iter().zip(strides) {
                d[nd] = n;
                s[nd] = st;
                nd += 1;
            }
        }
    } else {
        for (&n, &st) in dims.iter().zip(strides) {
            d[nd] = n;
            s[nd] = st;
            nd += 1;
        }
    }
    odometer_copy(src, &d[..nd], &s[..nd], out);
}
