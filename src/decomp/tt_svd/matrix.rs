//! TT-SVD of a dense matrix into a [`TtMatrix`]: TT-SVD of its interleaved reshape.

use super::TtSvd;
use crate::error::{Error, Result};
use crate::format::tt_matrix::{check_modes, interleaved, TtMatrix};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

impl TtSvd {
    /// Compresses a dense `M × N` matrix `w` (a 2-way tensor) into a TT-matrix with row modes
    /// `row_modes` (`∏ m_k = M`) and column modes `col_modes` (`∏ n_k = N`), truncating as
    /// these parameters say.
    ///
    /// `w` is reshaped to `[m_1, …, m_d, n_1, …, n_d]`, permuted to `[m_1, n_1, …, m_d, n_d]`,
    /// reshaped to `[m_1 n_1, …, m_d n_d]` and decomposed by [`TtSvd::fit`]; each core
    /// `r_{k-1} × (m_k n_k) × r_k` is then read as `r_{k-1} × m_k × n_k × r_k` (a free reshape,
    /// since `i_k` is the slower of the pair). The TT-SVD guarantee carries over:
    /// `‖W − Ŵ‖_F ≤ ε ‖W‖_F` unless a rank cap binds; the report holds the achieved error.
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f64>::random_normal(&[12, 6], 1)?;
    /// let (tt, report) = TtSvd::new().fit_matrix(&w, &[3, 4], &[2, 3])?;
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
    pub fn fit_matrix<T: Scalar>(
        &self,
        w: &Tensor<T>,
        row_modes: &[usize],
        col_modes: &[usize],
    ) -> Result<(TtMatrix<T>, FitReport)> {
        const OP: &str = "TtSvd::fit_matrix";
        w.check_nonempty()?;
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
        check_modes(OP, w.shape()[0], w.shape()[1], row_modes, col_modes)?;
        let (tt, report) = self.fit(&interleaved(w, row_modes, col_modes)?)?;
        Ok((TtMatrix::from_tt_tensor(tt, row_modes, col_modes)?, report))
    }
}
