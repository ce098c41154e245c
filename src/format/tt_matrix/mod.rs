//! The TT-matrix format [`TtMatrix`]: validating construction and accessors here; `dense`: to a
//! dense matrix and back to the interleaved tensor; `ops`: transpose, sum, rounding, TT×TT
//! product; `merge`: neighbouring cores contracted into one; `matvec`: batched products through
//! the plans of `kernels::tt_matvec`.

mod dense;
mod matvec;
mod merge;
mod ops;

pub(crate) use dense::{check_modes, interleaved};

use crate::error::{checked_numel, Error, Result};
use crate::format::chain::{Chain, Ends};
use crate::format::chain_balance::chain_trace;
use crate::format::TtTensor;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A matrix `W ∈ R^{M×N}` in TT-matrix (matrix-product-operator) format.
///
/// With `M = m_1 ⋯ m_d` and `N = n_1 ⋯ n_d`, rows and columns are split into row-major
/// multi-indices `i = (i_1, …, i_d)`, `j = (j_1, …, j_d)` (`i_1` slowest), and
///
/// `W[i, j] = G_1[:, i_1, j_1, :] · G_2[:, i_2, j_2, :] ⋯ G_d[:, i_d, j_d, :]`,
///
/// with four-way cores `G_k ∈ R^{r_{k-1} × m_k × n_k × r_k}` and `r_0 = r_d = 1` (Novikov et
/// al. 2015). Storage is `Σ_k r_{k-1} m_k n_k r_k` numbers instead of `M·N`. A mode may be 1
/// (e.g. to pad `m` and `n` to the same length `d`).
///
/// ```
/// use tensorize::format::TtMatrix;
/// use tensorize::Tensor;
/// // W = A ⊗ B (Kronecker product) is a TT-matrix of rank 1.
/// let a = Tensor::from_vec(&[1, 2, 2, 1], vec![1.0, 2.0, 3.0, 4.0])?;
/// let b = Tensor::from_vec(&[1, 1, 2, 1], vec![1.0, -1.0])?;
/// let w = TtMatrix::new(vec![a, b])?;
/// assert_eq!((w.nrows(), w.ncols()), (2, 4));
/// assert_eq!(w.to_dense()?.as_slice(), &[1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 4.0, -4.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TtMatrix<T> {
    cores: Vec<Tensor<T>>,
}

impl<T: Scalar> TtMatrix<T> {
    /// A TT-matrix from its cores `G_k` of shape `r_{k-1} × m_k × n_k × r_k`.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] for an empty list or a core that is not 4-way;
    /// - [`Error::InvalidRank`] if `r_0 ≠ 1` or `r_d ≠ 1`;
    /// - [`Error::ShapeMismatch`] if the right rank of core `k` differs from the left rank of
    ///   core `k + 1`;
    /// - [`Error::SizeOverflow`] if `M`, `N` or `M·N` overflow;
    /// - [`Error::NonFinite`] if a core holds NaN or infinity.
    pub fn new(cores: Vec<Tensor<T>>) -> Result<Self> {
        const OP: &str = "TtMatrix::new";
        Chain {
            op: OP,
            format: "a TT-matrix",
            core_order: 4,
            layout: "r_{k-1} × m_k × n_k × r_k",
            ends: Ends::Open,
        }
        .check(&cores)?;
        let w = Self { cores };
        let (m, n) = (w.row_modes(), w.col_modes());
        let (rows, cols) = (
            checked_numel(&m, std::mem::size_of::<T>())?,
            checked_numel(&n, std::mem::size_of::<T>())?,
        );
        checked_numel(&[rows, cols], std::mem::size_of::<T>())?;
        Ok(w)
    }

    /// Builds a TT-matrix from cores already known to be consistent (internal fast path).
    pub(crate) fn from_cores_unchecked(cores: Vec<Tensor<T>>) -> Self {
        debug_assert!(!cores.is_empty());
        debug_assert!(cores.iter().all(|c| c.ndim() == 4));
        debug_assert!(cores.windows(2).all(|w| w[0].shape()[3] == w[1].shape()[0]));
        Self { cores }
    }

    /// The cores `G_k`, each of shape `r_{k-1} × m_k × n_k × r_k`.
    pub fn cores(&self) -> &[Tensor<T>] {
        &self.cores
    }

    /// The values of every core, for an optimizer to update in place (shapes cannot change,
    /// so the chain stays valid).
    pub(crate) fn core_values_mut(&mut self) -> impl Iterator<Item = &mut [T]> {
        self.cores.iter_mut().map(Tensor::as_mut_slice)
    }

    /// Consumes the TT-matrix, returning its cores.
    pub fn into_cores(self) -> Vec<Tensor<T>> {
        self.cores
    }

    /// The number of cores `d`.
    pub fn ndim(&self) -> usize {
        self.cores.len()
    }

    /// The row modes `[m_1, …, m_d]` (`∏ m_k = M`).
    pub fn row_modes(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.shape()[1]).collect()
    }

    /// The column modes `[n_1, …, n_d]` (`∏ n_k = N`).
    pub fn col_modes(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.shape()[2]).collect()
    }

    /// The number of rows `M = ∏ m_k`.
    pub fn nrows(&self) -> usize {
        self.cores.iter().map(|c| c.shape()[1]).product()
    }

    /// The number of columns `N = ∏ n_k`.
    pub fn ncols(&self) -> usize {
        self.cores.iter().map(|c| c.shape()[2]).product()
    }

    /// The TT ranks `[r_0, r_1, …, r_d]` (`r_0 = r_d = 1`).
    pub fn ranks(&self) -> Vec<usize> {
        let mut r: Vec<usize> = self.cores.iter().map(|c| c.shape()[0]).collect();
        r.push(1);
        r
    }

    /// The largest TT rank.
    pub fn max_rank(&self) -> usize {
        self.cores.iter().map(|c| c.shape()[3]).max().unwrap_or(1)
    }

    /// The number of stored numbers `Σ_k r_{k-1} m_k n_k r_k`.
    pub fn num_params(&self) -> usize {
        self.cores.iter().map(|c| c.numel()).sum()
    }

    /// `M·N / num_params()`: how many times smaller than the dense matrix.
    pub fn compression_ratio(&self) -> f64 {
        self.nrows() as f64 * self.ncols() as f64 / self.num_params() as f64
    }

    /// The element `W[i, j]` for flat row `i < M` and column `j < N`, in
    /// `O(Σ_k r_{k-1} r_k)` operations without densifying.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `i ≥ M` or `j ≥ N`.
    pub fn get(&self, i: usize, j: usize) -> Result<T> {
        let (rows, cols) = (self.nrows(), self.ncols());
        if i >= rows || j >= cols {
            return Err(Error::IndexOutOfBounds { index: vec![i, j], shape: vec![rows, cols] });
        }
        let (mut ri, mut rj) = (rows, cols);
        let mut slices = Vec::with_capacity(self.cores.len());
        for core in &self.cores {
            let s = core.shape();
            let (r0, m, n, r1) = (s[0], s[1], s[2], s[3]);
            ri /= m;
            rj /= n;
            let (ik, jk) = ((i / ri) % m, (j / rj) % n);
            let data = core.as_slice();
            let slice = (0..r0).flat_map(|a| {
                let off = ((a * m + ik) * n + jk) * r1;
                data[off..off + r1].iter().copied()
            });
            slices.push((r1, slice.collect()));
        }
        Ok(chain_trace(1, slices))
    }

    /// The same cores viewed as a TT tensor with modes `m_k · n_k` (a free reshape of each core
    /// to `r_{k-1} × (m_k n_k) × r_k`).
    pub fn to_tt_tensor(&self) -> TtTensor<T> {
        TtTensor::from_cores_unchecked(self.cores.iter().map(core_as_tt).collect())
    }

    /// The TT-matrix with row modes `row_modes` and column modes `col_modes` whose cores, viewed
    /// as `r_{k-1} × (m_k n_k) × r_k`, are those of `tt`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the lengths differ from `tt.ndim()` or `m_k n_k` differs from
    /// the `k`-th mode of `tt`.
    pub fn from_tt_tensor(
        tt: TtTensor<T>,
        row_modes: &[usize],
        col_modes: &[usize],
    ) -> Result<Self> {
        let d = tt.ndim();
        let shape: Vec<usize> = tt.cores().iter().map(|c| c.shape()[1]).collect();
        let fits = row_modes.len() == d
            && col_modes.len() == d
            && (0..d).all(|k| row_modes[k].checked_mul(col_modes[k]) == Some(shape[k]));
        if !fits {
            return Err(Error::ShapeMismatch {
                op: "TtMatrix::from_tt_tensor",
                left: shape,
                right: row_modes.iter().chain(col_modes).copied().collect(),
                detail: format!(
                    "mode k of the TT tensor must be m_k·n_k for row modes {row_modes:?} and \
                     column modes {col_modes:?}"
                ),
            });
        }
        let cores = tt
            .into_cores()
            .into_iter()
            .zip(row_modes.iter().zip(col_modes))
            .map(|(c, (&m, &n))| {
                let s = c.shape().to_vec();
                Tensor::from_parts_unchecked(vec![s[0], m, n, s[2]], c.into_vec())
            })
            .collect();
        Ok(Self::from_cores_unchecked(cores))
    }
}

fn core_as_tt<T: Scalar>(c: &Tensor<T>) -> Tensor<T> {
    let s = c.shape();
    Tensor::from_parts_unchecked(vec![s[0], s[1] * s[2], s[3]], c.as_slice().to_vec())
}

#[cfg(test)]
mod tests;
