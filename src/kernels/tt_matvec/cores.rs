//! Core arithmetic of the kernel: the permuted cores `C_k` (and back, for gradients), and
//! neighbouring cores contracted into one.

use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::{TtDirection, TtOp};
use crate::error::{checked_numel, try_filled_vec, try_vec_with_capacity, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The core that replaces `cores[range]` (a valid, non-empty range of a chain of 4-way cores
/// `r_{k-1} × m_k × n_k × r_k`) when they are contracted into one:
/// `H[a, (i_k, …, i_l), (j_k, …, j_l), b] = (G_k[:, i_k, j_k, :] ⋯ G_l[:, i_l, j_l, :])[a, b]`,
/// of shape `r_{k-1} × (m_k ⋯ m_l) × (n_k ⋯ n_l) × r_l`.
///
/// # Errors
/// [`Error::SizeOverflow`](crate::error::Error::SizeOverflow) /
/// [`Error::OutOfMemory`](crate::error::Error::OutOfMemory) if the merged core does not fit.
pub(crate) fn merged_core<T: Scalar>(
    cores: &[Tensor<T>],
    range: Range<usize>,
) -> Result<Tensor<T>> {
    let mut merged = cores[range.start].clone();
    for next in &cores[range.start + 1..range.end] {
        merged = merge_pair(&merged, next)?;
    }
    Ok(merged)
}

/// `H[a, (i, i'), (j, j'), b] = Σ_s A[a, i, j, s] · B[s, i', j', b]` for cores `A` and `B`.
fn merge_pair<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
    let (sa, sb) = (a.shape(), b.shape());
    let (r0, m1, n1, r1) = (sa[0], sa[1], sa[2], sa[3]);
    let (m2, n2, r2) = (sb[1], sb[2], sb[3]);
    debug_assert_eq!(sb[0], r1);
    let shape = [r0, m1 * m2, n1 * n2, r2];
    let numel = checked_numel(&[r0, m1, n1, m2, n2, r2], std::mem::size_of::<T>())?;
    // One GEMM gives [a, i, j, i', j', b]; block copies then swap j and i' (each block, the
    // trailing [j', b], is contiguous in both layouts).
    let (rows, cols) = (r0 * m1 * n1, m2 * n2 * r2);
    let mut prod = try_filled_vec(&shape, numel, T::zero())?;
    matmul(
        MatMut::from_row_major_slice_mut(&mut prod, rows, cols),
        Accum::Replace,
        MatRef::from_row_major_slice(a.as_slice(), rows, r1),
        MatRef::from_row_major_slice(b.as_slice(), r1, cols),
        T::one(),
        Par::Seq,
    );
    let block = n2 * r2;
    let mut out = try_vec_with_capacity(&shape, numel)?;
    for ai in prod.chunks_exact(n1 * m2 * block) {
        for i2 in 0..m2 {
            for j in 0..n1 {
                out.extend_from_slice(&ai[(j * m2 + i2) * block..][..block]);
            }
        }
    }
    Ok(Tensor::from_parts_unchecked(shape.to_vec(), out))
}

/// The position of `G[a, i, j, a']` in the row-major `C_k` for `op` and `direction`.
fn core_pos(
    [r0, m, n, r1]: [usize; 4],
    op: TtOp,
    direction: TtDirection,
    (a, i, j, ap): (usize, usize, usize, usize),
) -> usize {
    let ((c, nc), (o, no)) = match op {
        TtOp::Normal => ((j, n), (i, m)),
        TtOp::Transpose => ((i, m), (j, n)),
    };
    let _ = nc;
    let ((ri, nri), (ro, nro)) = match direction {
        TtDirection::LeftToRight => ((a, r0), (ap, r1)),
        TtDirection::RightToLeft => ((ap, r1), (a, r0)),
    };
    let row = c * nri + ri;
    let col = o * nro + ro;
    row * (no * nro) + col
}

pub(super) fn permute_core<T: Scalar>(
    g: &[T],
    shape: [usize; 4],
    op: TtOp,
    dir: TtDirection,
) -> Vec<T> {
    let mut c = vec![T::zero(); g.len()];
    for_core_fibres(shape, op, dir, |src, dst, stride| {
        for (q, &v) in g[src..src + shape[3]].iter().enumerate() {
            c[dst + q * stride] = v;
        }
    });
    c
}

pub(super) fn unpermute_core<T: Scalar>(
    c: &[T],
    shape: [usize; 4],
    op: TtOp,
    dir: TtDirection,
) -> Vec<T> {
    let mut g = vec![T::zero(); c.len()];
    for_core_fibres(shape, op, dir, |src, dst, stride| {
        for (q, v) in g[src..src + shape[3]].iter_mut().enumerate() {
            *v = c[dst + q * stride];
        }
    });
    g
}

/// Calls `f(start in G, start in C, stride in C)` for every fibre `G[a, i, j, :]` of a core,
/// which [`core_pos`] maps to positions `start + a'·stride` of `C_k` (contiguous left to
/// right, strided right to left): the position arithmetic once per fibre, not per element.
fn for_core_fibres(
    shape: [usize; 4],
    op: TtOp,
    dir: TtDirection,
    mut f: impl FnMut(usize, usize, usize),
) {
    let [r0, m, n, r1] = shape;
    let stride = if r1 > 1 {
        core_pos(shape, op, dir, (0, 0, 0, 1)) - core_pos(shape, op, dir, (0, 0, 0, 0))
    } else {
        1
    };
    let mut src = 0;
    for a in 0..r0 {
        for i in 0..m {
            for j in 0..n {
                f(src, core_pos(shape, op, dir, (a, i, j, 0)), stride);
                src += r1;
            }
        }
    }
}
