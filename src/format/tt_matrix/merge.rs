//! Merging neighbouring cores of a TT-matrix into one (a coarser TT-matrix of the same matrix).

use std::ops::Range;

use super::TtMatrix;
use crate::error::{Error, Result};
use crate::kernels::tt_matvec::merged_core;
use crate::scalar::Scalar;

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
        out.push(merged_core(&self.cores, cores.clone())?);
        out.extend_from_slice(&self.cores[cores.end..]);
        Ok(Self::from_cores_unchecked(out))
    }
}
