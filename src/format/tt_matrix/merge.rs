//! Merging neighbouring cores of a TT-matrix into one (a coarser TT-matrix of the same matrix).

use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::TtMatrix;
use crate::error::{checked_numel, try_filled_vec, try_vec_with_capacity, Error, Result};
use crate::{Scalar, Tensor};

impl<T: Scalar> TtMatrix<T> {
    /// The same matrix with the cores `cores` (a range of at least one core) contracted into one:
    /// `H[a, (i_k, …, i_l), (j_k, …, j_l), b] = (G_k[:, i_k, j_k, :] ⋯ G_l[:, i_l, j_l, :])[a, b]`,
    /// a core of shape `r_{k-1} × (m_k ⋯ m_l) × (n_k ⋯ n_l) × r_l`. The row-major multi-indices
    /// stay consistent, so the dense matrix is unchanged; only the storage grows.
    ///
    /// ```
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let cores = vec![
    ///     Tensor::<f64>::random_normal(&[1, 2, 3, 2], 1)?,
    ///     Tensor::random_normal(&[2, 2, 2, 3], 2)?,
    ///     Tensor::random_normal(&[3, 3, 2, 1], 3)?,
    /// ];
    /// let w = TtMatrix::new(cores)?;
    /// let coarse = w.merge_cores(1..3)?;
    /// assert_eq!((coarse.row_modes(), coarse.col_modes()), (vec![2, 6], vec![3, 4]));
    /// let (a, b) = (w.to_dense()?, coarse.to_dense()?);
    /// assert!(a.sub(&b)?.norm() < 1e-12 * a.norm());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] if `cores` is empty or reaches past the last core;
    /// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the merged core does not fit.
    pub fn merge_cores(&self, cores: Range<usize>) -> Result<Self> {
        let d = self.ndim();
        if cores.is_empty() || cores.end > d {
            return Err(Error::InvalidModes {
                op: "TtMatrix::merge_cores",
                modes: cores.clone().collect(),
                ndim: d,
                detail: format!(
                    "the range {}..{} must hold at least one of the {d} cores",
                    cores.start, cores.end
                ),
            });
        }
        let mut out = Vec::with_capacity(d - cores.len() + 1);
        out.extend_from_slice(&self.cores[..cores.start]);
        out.push(self.merged_core(cores.clone())?);
        out.extend_from_slice(&self.cores[cores.end..]);
        Ok(Self::from_cores_unchecked(out))
    }

    /// The core [`TtMatrix::merge_cores`] puts in place of `cores` (a valid, non-empty range).
    pub(crate) fn merged_core(&self, cores: Range<usize>) -> Result<Tensor<T>> {
        let mut merged = self.cores[cores.start].clone();
        for next in &self.cores[cores.start + 1..cores.end] {
            merged = merge_pair(&merged, next)?;
        }
        Ok(merged)
    }
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
