//! Between a dense `M × N` matrix and a [`TtMatrix`]: the interleaved reshape both directions use
//! (TT-SVD of it is `decomp::TtSvd::fit_matrix`), reconstruction and the relative error.

use super::TtMatrix;
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Checks that `row_modes` / `col_modes` factor an `rows × cols` matrix (same length ≥ 1, no
/// zero mode, products equal to the sizes).
pub(crate) fn check_modes(
    op: &'static str,
    rows: usize,
    cols: usize,
    row_modes: &[usize],
    col_modes: &[usize],
) -> Result<()> {
    let both: Vec<usize> = row_modes.iter().chain(col_modes).copied().collect();
    let bad = |detail: String| Error::ShapeMismatch {
        op,
        left: vec![rows, cols],
        right: both.clone(),
        detail,
    };
    if row_modes.is_empty() || row_modes.len() != col_modes.len() {
        return Err(bad(format!(
            "row modes {row_modes:?} and column modes {col_modes:?} must have the same length \
             d >= 1 (pad with modes of size 1)"
        )));
    }
    let prod = |m: &[usize]| m.iter().try_fold(1usize, |a, &x| a.checked_mul(x));
    if both.contains(&0) || prod(row_modes) != Some(rows) || prod(col_modes) != Some(cols) {
        return Err(bad(format!(
            "the row modes {row_modes:?} must multiply to M = {rows} and the column modes \
             {col_modes:?} to N = {cols}"
        )));
    }
    Ok(())
}

/// The `M × N` matrix `w` (modes already checked by [`check_modes`]) as the tensor
/// `[m_1 n_1, …, m_d n_d]` whose TT cores are the TT-matrix cores: reshaped to
/// `[m_1, …, m_d, n_1, …, n_d]`, permuted to `[m_1, n_1, …, m_d, n_d]` and reshaped again. Each
/// core `r_{k-1} × (m_k n_k) × r_k` of it reads as `r_{k-1} × m_k × n_k × r_k` (a free reshape,
/// since `i_k` is the slower of the pair).
pub(crate) fn interleaved<T: Scalar>(
    w: &Tensor<T>,
    row_modes: &[usize],
    col_modes: &[usize],
) -> Result<Tensor<T>> {
    let d = row_modes.len();
    let split: Vec<usize> = row_modes.iter().chain(col_modes).copied().collect();
    let perm: Vec<usize> = (0..d).flat_map(|k| [k, d + k]).collect();
    let merged: Vec<usize> = (0..d).map(|k| row_modes[k] * col_modes[k]).collect();
    Tensor::from_parts_unchecked(split, w.as_slice().to_vec())
        .permute_modes(&perm)?
        .reshape(&merged)
}

impl<T: Scalar> TtMatrix<T> {
    /// The dense `M × N` matrix (a 2-way tensor): the TT tensor of shape
    /// `[m_1 n_1, …, m_d n_d]` is reconstructed, split to `[m_1, n_1, …, m_d, n_d]` and permuted
    /// to `[m_1, …, m_d, n_1, …, n_d]`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the dense matrix cannot be allocated.
    pub fn to_dense(&self) -> Result<Tensor<T>> {
        let d = self.ndim();
        let (m, n) = (self.row_modes(), self.col_modes());
        let inter: Vec<usize> = (0..d).flat_map(|k| [m[k], n[k]]).collect();
        let perm: Vec<usize> = (0..d).map(|k| 2 * k).chain((0..d).map(|k| 2 * k + 1)).collect();
        let full = self.to_tt_tensor().to_dense()?.reshape(&inter)?.permute_modes(&perm)?;
        full.reshape(&[self.nrows(), self.ncols()])
    }

    /// `‖dense − self‖_F / ‖dense‖_F` for a dense `M × N` matrix, computed in TT form (see
    /// [`crate::format::TtTensor::rel_error_with`]).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dense` is not `M × N`.
    pub fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        let (rows, cols) = (self.nrows(), self.ncols());
        if dense.shape() != [rows, cols] {
            return Err(Error::ShapeMismatch {
                op: "TtMatrix::rel_error",
                left: vec![rows, cols],
                right: dense.shape().to_vec(),
                detail: "the dense matrix must be M × N".into(),
            });
        }
        let x = interleaved(dense, &self.row_modes(), &self.col_modes())?;
        self.to_tt_tensor().rel_error(&x)
    }
}
