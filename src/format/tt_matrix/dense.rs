//! Between a dense `M × N` matrix and a [`TtMatrix`]: TT-SVD of the interleaved reshape, and back.

use super::TtMatrix;
use crate::decomp::{FitReport, TtSvd};
use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::{Scalar, Tensor};

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

impl<T: Scalar> TtMatrix<T> {
    /// Compresses a dense `M × N` matrix `w` (a 2-way tensor) into a TT-matrix with row modes
    /// `m` (`∏ m_k = M`) and column modes `n` (`∏ n_k = N`), truncating with `params`.
    ///
    /// `w` is reshaped to `[m_1, …, m_d, n_1, …, n_d]`, permuted to `[m_1, n_1, …, m_d, n_d]`,
    /// reshaped to `[m_1 n_1, …, m_d n_d]` and decomposed by [`TtSvd`]; each core
    /// `r_{k-1} × (m_k n_k) × r_k` is then read as `r_{k-1} × m_k × n_k × r_k` (a free reshape,
    /// since `i_k` is the slower of the pair). The TT-SVD guarantee carries over:
    /// `‖W − Ŵ‖_F ≤ ε ‖W‖_F` unless a rank cap binds; the report holds the achieved error.
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[12, 6], 1)?;
    /// let (tt, report) = TtMatrix::from_dense(&w, &[3, 4], &[2, 3], &TtSvd::new())?;
    /// assert_eq!(tt.ranks(), vec![1, 6, 1]);              // exact: min(3·2, 4·3)
    /// assert!(report.rel_error < 1e-12);
    /// assert!(tt.to_dense()?.sub(&w)?.norm() < 1e-12 * w.norm());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] if `w` is not 2-way;
    /// - [`Error::ShapeMismatch`] if the modes have different lengths, contain 0 or do not
    ///   multiply to `M` and `N`;
    /// - the errors of [`TtSvd::fit`] (bad `eps` / rank caps, [`Error::NonFinite`], …).
    pub fn from_dense(
        w: &Tensor<T>,
        row_modes: &[usize],
        col_modes: &[usize],
        params: &TtSvd,
    ) -> Result<(Self, FitReport)> {
        const OP: &str = "TtMatrix::from_dense";
        if w.ndim() != 2 {
            return Err(Error::InvalidModes {
                op: OP,
                modes: (0..w.ndim()).collect(),
                ndim: w.ndim(),
                detail: format!(
                    "the dense matrix must be 2-way (M × N), got shape {:?}",
                    w.shape()
                ),
            });
        }
        let (rows, cols) = (w.shape()[0], w.shape()[1]);
        check_modes(OP, rows, cols, row_modes, col_modes)?;
        let d = row_modes.len();
        let split: Vec<usize> = row_modes.iter().chain(col_modes).copied().collect();
        let perm: Vec<usize> = (0..d).flat_map(|k| [k, d + k]).collect();
        let merged: Vec<usize> = (0..d).map(|k| row_modes[k] * col_modes[k]).collect();
        let x = Tensor::from_parts_unchecked(split, w.as_slice().to_vec())
            .permute_modes(&perm)?
            .reshape(&merged)?;
        let (tt, report) = params.fit(&x)?;
        Ok((Self::from_tt_tensor(tt, row_modes, col_modes)?, report))
    }

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
        let d = self.ndim();
        let (m, n) = (self.row_modes(), self.col_modes());
        let split: Vec<usize> = m.iter().chain(&n).copied().collect();
        let perm: Vec<usize> = (0..d).flat_map(|k| [k, d + k]).collect();
        let merged: Vec<usize> = (0..d).map(|k| m[k] * n[k]).collect();
        let x = Tensor::from_parts_unchecked(split, dense.as_slice().to_vec())
            .permute_modes(&perm)?
            .reshape(&merged)?;
        self.to_tt_tensor().rel_error(&x)
    }
}
