//! Uniform TT-layer ranks: every inner rank `r` as the paper's code builds the cores, or capped
//! per bond at the largest rank a TT-matrix of those modes can hold; and the parameter counts
//! of both (through `format::params`, the one place for TT rank caps and counts).

use crate::error::{Error, Result};
use crate::format::TtTensor;

/// How a uniform TT rank `r` becomes the inner ranks `r_1 … r_{d−1}` of a TT-matrix with row
/// modes `m_k` and column modes `n_k`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TtRankRule {
    /// Every inner rank equal to `r`, no capping: what Novikov et al.'s reference code builds
    /// (2¹⁰ at rank 8: 2,112 core parameters; 2×2×8×8×2×2 at rank 16: 34,944).
    #[default]
    Uniform,
    /// `r_k = min(r, ∏_{l≤k} m_l n_l, ∏_{l>k} m_l n_l)`: the minimal ranks, what TT-SVD of a
    /// generic matrix returns under the cap `r` (2¹⁰ at rank 8: 1,824; 2×2×8×8×2×2 at rank
    /// 16: 33,312). A larger rank on a bond adds parameters but cannot enlarge the set of
    /// matrices the cores represent.
    Capped,
}

impl TtRankRule {
    /// The inner ranks `r_1 … r_{d−1}` for a uniform rank `rank` on a TT-matrix with `row_modes`
    /// (`m_k`) and `col_modes` (`n_k`).
    ///
    /// ```
    /// use tensorize::nn::TtRankRule;
    /// let m = [2usize; 10];
    /// assert_eq!(TtRankRule::Uniform.ranks(&m, &m, 8)?, vec![8; 9]);
    /// assert_eq!(TtRankRule::Capped.ranks(&m, &m, 8)?, vec![4, 8, 8, 8, 8, 8, 8, 8, 4]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for row and column modes of different lengths;
    /// [`Error::InvalidModes`] for no modes; [`Error::ZeroDimension`] for a mode 0;
    /// [`Error::InvalidRank`] for rank 0; [`Error::SizeOverflow`] if the sizes overflow.
    pub fn ranks(
        self,
        row_modes: &[usize],
        col_modes: &[usize],
        rank: usize,
    ) -> Result<Vec<usize>> {
        let sizes = mode_sizes(row_modes, col_modes)?;
        let caps = vec![rank; sizes.len().saturating_sub(1)];
        if rank == 0 {
            return Err(Error::InvalidRank {
                op: "TtRankRule::ranks",
                ranks: vec![rank],
                shape: sizes,
                detail: "the uniform TT rank must be at least 1".into(),
            });
        }
        match self {
            // The shape is checked by the count below for Uniform.
            Self::Uniform => TtTensor::<f64>::params_for(&sizes, &caps).map(|_| caps),
            Self::Capped => TtTensor::<f64>::svd_ranks_for(&sizes, &caps),
        }
    }

    /// The core parameters `Σ_k r_{k−1} m_k n_k r_k` at the ranks of [`TtRankRule::ranks`]
    /// (no bias).
    ///
    /// ```
    /// use tensorize::nn::TtRankRule;
    /// let (m, n) = ([2, 2, 8, 8, 2, 2], [2, 2, 8, 8, 2, 2]);
    /// assert_eq!(TtRankRule::Uniform.params(&m, &n, 16)?, 34944);
    /// assert_eq!(TtRankRule::Capped.params(&m, &n, 16)?, 33312);
    /// assert_eq!(TtRankRule::Uniform.params(&[2; 10], &[2; 10], 8)?, 2112);
    /// assert_eq!(TtRankRule::Capped.params(&[2; 10], &[2; 10], 8)?, 1824);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TtRankRule::ranks`].
    pub fn params(self, row_modes: &[usize], col_modes: &[usize], rank: usize) -> Result<usize> {
        let ranks = self.ranks(row_modes, col_modes, rank)?;
        TtTensor::<f64>::params_for(&mode_sizes(row_modes, col_modes)?, &ranks)
    }

    /// `"uniform"` or `"capped"`, for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::Uniform => "uniform",
            Self::Capped => "capped",
        }
    }
}

/// `m_k n_k` per core: the TT-matrix as a TT tensor of merged modes.
fn mode_sizes(row_modes: &[usize], col_modes: &[usize]) -> Result<Vec<usize>> {
    if row_modes.len() != col_modes.len() {
        return Err(Error::ShapeMismatch {
            op: "TtRankRule",
            left: row_modes.to_vec(),
            right: col_modes.to_vec(),
            detail: "a TT-matrix needs as many row modes as column modes".into(),
        });
    }
    row_modes
        .iter()
        .zip(col_modes)
        .map(|(&m, &n)| {
            m.checked_mul(n).ok_or_else(|| Error::SizeOverflow {
                shape: row_modes.iter().chain(col_modes).copied().collect(),
            })
        })
        .collect()
}
