//! The tensor-ring format [`TrTensor`]: construction, accessors, element access, reconstruction,
//! [`Factorized`]; `ops`: norm by transfer matrices, inner product with a dense tensor, rel_error.

mod ops;

use faer::{Accum, MatMut, MatRef};

use crate::error::{checked_dense, checked_numel, Error, Result};
use crate::format::chain::{Chain, Ends};
use crate::format::chain_balance::{chain_trace, extreme_chain_dense, is_extreme_chain};
use crate::format::tt::{core_dims, zeroed, TtTensor};
use crate::format::Factorized;
use crate::kernels::gemm::gemm;
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A tensor in tensor-ring (TR) format (Zhao et al. 2016, "Tensor Ring Decomposition").
///
/// A `d`-way tensor `X` of shape `n_1 × … × n_d` is stored as `d` three-way cores
/// `G_k ∈ R^{r_{k-1} × n_k × r_k}` whose ranks close into a ring, `r_d = r_0`, and
///
/// `X[i_1, …, i_d] = trace( G_1[:, i_1, :] · G_2[:, i_2, :] ⋯ G_d[:, i_d, :] )`,
///
/// the trace of a product of `r_{k-1} × r_k` matrices. With `r_0 = 1` the trace is the single
/// entry of a `1 × 1` product and the format is exactly a tensor train ([`TrTensor::from_tt`]).
/// Storage is `Σ_k r_{k-1} n_k r_k` numbers instead of `∏_k n_k`. The cores are row-major
/// [`Tensor`]s, as for [`TtTensor`].
///
/// ```
/// use tensorize::format::TrTensor;
/// use tensorize::{Factorized, Tensor};
/// // Ring ranks [2, 1, 2]: X[i, j] = Σ_a G1[a, i, 0] · G2[0, j, a].
/// let g1 = Tensor::from_vec(&[2, 2, 1], vec![1.0, 2.0, 3.0, 4.0])?;
/// let g2 = Tensor::from_vec(&[1, 3, 2], vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0])?;
/// let tr = TrTensor::new(vec![g1, g2])?;
/// assert_eq!(tr.shape(), vec![2, 3]);
/// assert_eq!(tr.ranks(), vec![2, 1, 2]);
/// assert_eq!(tr.get(&[1, 2])?, 2.0 + 4.0);
/// assert_eq!(tr.to_dense()?.as_slice(), &[1.0, 3.0, 4.0, 2.0, 4.0, 6.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrTensor<T> {
    cores: Vec<Tensor<T>>,
}

impl<T: Scalar> TrTensor<T> {
    /// A tensor ring from its cores `G_k` of shape `r_{k-1} × n_k × r_k`, `r_d = r_0`.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] for an empty list or a core that is not 3-way;
    /// - [`Error::ShapeMismatch`] if the right rank of core `k` differs from the left rank of core
    ///   `k + 1` (the error names both shapes);
    /// - [`Error::InvalidRank`] if the ring does not close: the last core's right rank `r_d`
    ///   differs from the first core's left rank `r_0` (the error names both);
    /// - [`Error::SizeOverflow`] if the full tensor would have more elements than memory can
    ///   address;
    /// - [`Error::NonFinite`] if a core holds NaN or infinity.
    pub fn new(cores: Vec<Tensor<T>>) -> Result<Self> {
        const OP: &str = "TrTensor::new";
        Chain {
            op: OP,
            format: "a tensor ring",
            core_order: 3,
            layout: "r_{k-1} × n_k × r_k",
            ends: Ends::Closed,
        }
        .check(&cores)?;
        let shape: Vec<usize> = cores.iter().map(|c| c.shape()[1]).collect();
        checked_numel(&shape, std::mem::size_of::<T>())?;
        Ok(Self { cores })
    }

    /// Builds a tensor ring from cores already known to be consistent (internal fast path).
    pub(crate) fn from_cores_unchecked(cores: Vec<Tensor<T>>) -> Self {
        debug_assert!(!cores.is_empty());
        debug_assert!(cores.windows(2).all(|w| w[0].shape()[2] == w[1].shape()[0]));
        debug_assert_eq!(cores[0].shape()[0], cores[cores.len() - 1].shape()[2]);
        Self { cores }
    }

    /// The tensor train `tt` as a tensor ring with `r_0 = r_d = 1` (the cores are moved, not
    /// copied; the represented tensor is the same).
    ///
    /// ```
    /// use tensorize::decomp::tt_svd;
    /// use tensorize::format::TrTensor;
    /// use tensorize::{Factorized, Tensor};
    /// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 5)?;
    /// let (tt, _) = tt_svd(&x, 0.0)?;
    /// let tr = TrTensor::from_tt(tt.clone());
    /// assert_eq!(tr.ranks(), tt.ranks());
    /// assert!(tr.rel_error(&x)? < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn from_tt(tt: TtTensor<T>) -> Self {
        Self { cores: tt.into_cores() }
    }

    /// The cores `G_k`, each of shape `r_{k-1} × n_k × r_k`.
    pub fn cores(&self) -> &[Tensor<T>] {
        &self.cores
    }

    /// Consumes the tensor ring, returning its cores.
    pub fn into_cores(self) -> Vec<Tensor<T>> {
        self.cores
    }

    /// The order `d` (number of cores and of modes).
    pub fn ndim(&self) -> usize {
        self.cores.len()
    }

    /// The TR ranks `[r_0, r_1, …, r_d]` (`d + 1` numbers, closing with `r_d = r_0`, so the
    /// list has the same layout as [`TtTensor::ranks`]).
    pub fn ranks(&self) -> Vec<usize> {
        let mut r: Vec<usize> = self.cores.iter().map(|c| c.shape()[0]).collect();
        r.push(r[0]);
        r
    }

    /// The largest TR rank `max_k r_k`.
    pub fn max_rank(&self) -> usize {
        self.cores.iter().map(|c| c.shape()[0]).max().unwrap_or(1)
    }

    /// The element `X[i_1, …, i_d] = trace(G_1[:, i_1, :] ⋯ G_d[:, i_d, :])`, computed in
    /// `O(r_0 Σ_k r_{k-1} r_k)` operations without densifying.
    ///
    /// ```
    /// use tensorize::decomp::tr_svd;
    /// use tensorize::Tensor;
    /// let x = Tensor::<f64>::random_normal(&[4, 3, 5], 1)?;
    /// let (tr, _) = tr_svd(&x, 0.0)?;
    /// assert!((tr.get(&[2, 1, 3])? - x.get(&[2, 1, 3])?).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `index` has the wrong length or an entry is too large.
    pub fn get(&self, index: &[usize]) -> Result<T> {
        let shape = Factorized::shape(self);
        if index.len() != shape.len() || index.iter().zip(&shape).any(|(&i, &n)| i >= n) {
            return Err(Error::IndexOutOfBounds { index: index.to_vec(), shape });
        }
        let slices = self.cores.iter().zip(index).map(|(core, &i)| {
            let [r1, n, r2] = core_dims(core);
            let data = core.as_slice();
            (
                r2,
                (0..r1)
                    .flat_map(|b| data[(b * n + i) * r2..(b * n + i + 1) * r2].iter().copied())
                    .collect(),
            )
        });
        Ok(chain_trace(self.cores[0].shape()[0], slices))
    }

    /// [`Factorized::to_dense`] with explicit parallelism `par`.
    ///
    /// For each value `a` of the ring index, the open chain `G_1[a, :, :] · G_2 ⋯ G_d[:, :, a]`
    /// is a tensor train; it is built by the same sequential GEMMs as [`TtTensor::to_dense_with`]
    /// (`W_k = W_{k-1} · G_k^{(r_{k-1} × n_k r_k)}`, `W_k` of shape `(n_1⋯n_k) × r_k`) and added
    /// into the output: `r_0` times the work of a tensor train of the same ranks, and memory
    /// for one `(n_1⋯n_{d-1}) × r_{d-1}` intermediate besides the output.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the full tensor (or an intermediate)
    /// cannot be allocated.
    pub fn to_dense_with(&self, par: Par) -> Result<Tensor<T>> {
        checked_dense(&Factorized::shape(self), std::mem::size_of::<T>())?;
        if is_extreme_chain(&self.cores) {
            // Products of the cores may leave the range on the way: carry every exponent.
            return extreme_chain_dense(Factorized::shape(self), &self.cores, |balanced| {
                TrTensor::<f64>::from_cores_unchecked(balanced).dense_unscaled(par)
            });
        }
        self.dense_unscaled(par)
    }

    /// [`TrTensor::to_dense_with`] by the products of the cores as they are.
    fn dense_unscaled(&self, par: Par) -> Result<Tensor<T>> {
        let shape = Factorized::shape(self);
        let numel = checked_dense(&shape, std::mem::size_of::<T>())?;
        let d = self.cores.len();
        let mut out: Vec<T> = zeroed(&shape, numel, 1)?;
        let [r0, n1, r1] = core_dims(&self.cores[0]);
        if d == 1 {
            let data = self.cores[0].as_slice();
            for (i, o) in out.iter_mut().enumerate() {
                *o = (0..r0).map(|a| data[(a * n1 + i) * r0 + a]).sum();
            }
            return Ok(Tensor::from_parts_unchecked(shape, out));
        }
        let last = &self.cores[d - 1];
        let [rl, nl, _] = core_dims(last);
        let mut slice = vec![T::zero(); rl * nl];
        for a in 0..r0 {
            let mut w: Vec<T> = self.cores[0].as_slice()[a * n1 * r1..(a + 1) * n1 * r1].to_vec();
            let mut rows = n1;
            for core in &self.cores[1..d - 1] {
                let [ra, n, rb] = core_dims(core);
                let cols = n * rb;
                let mut next = zeroed(&[rows, n, rb], rows, cols)?;
                gemm(
                    MatMut::from_row_major_slice_mut(&mut next, rows, cols),
                    MatRef::from_row_major_slice(&w, rows, ra),
                    MatRef::from_row_major_slice(core.as_slice(), ra, cols),
                    Accum::Replace,
                    par,
                );
                w = next;
                rows *= n;
            }
            // The closing slice G_d[:, :, a], r_{d-1} × n_d.
            for (j, s) in slice.iter_mut().enumerate() {
                *s = last.as_slice()[j * r0 + a];
            }
            gemm(
                MatMut::from_row_major_slice_mut(&mut out, rows, nl),
                MatRef::from_row_major_slice(&w, rows, rl),
                MatRef::from_row_major_slice(&slice, rl, nl),
                Accum::Add,
                par,
            );
        }
        Ok(Tensor::from_parts_unchecked(shape, out))
    }

    /// Rough flop count of a reconstruction, for [`auto_par`].
    fn dense_flops(&self) -> f64 {
        let numel: f64 = self.cores.iter().map(|c| c.shape()[1] as f64).product();
        2.0 * numel * self.max_rank() as f64 * self.cores[0].shape()[0] as f64
    }
}

impl<T: Scalar> From<TtTensor<T>> for TrTensor<T> {
    fn from(tt: TtTensor<T>) -> Self {
        Self::from_tt(tt)
    }
}

impl<T: Scalar> Factorized<T> for TrTensor<T> {
    fn shape(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.shape()[1]).collect()
    }

    fn to_dense(&self) -> Result<Tensor<T>> {
        self.to_dense_with(auto_par(self.dense_flops()))
    }

    fn num_params(&self) -> usize {
        self.cores.iter().map(|c| c.numel()).sum()
    }

    /// `‖X‖_F` from the transfer matrices, without densifying; see [`TrTensor::norm_with`].
    fn norm(&self) -> T {
        self.norm_with(auto_par(self.transfer_flops()))
    }

    /// See [`TrTensor::rel_error_with`].
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        let flops = 2.0 * dense.numel() as f64 * self.max_rank() as f64;
        self.rel_error_with(dense, auto_par(flops * self.cores[0].shape()[0] as f64))
    }
}

#[cfg(test)]
mod tests;
