//! The tensor-train format [`TtTensor`]: construction, accessors, element access, reconstruction,
//! [`Factorized`]; `ops`: dot, add, Hadamard, scale; `ortho`: QR sweeps, norm and rounding.

mod interface;
mod ops;
mod ortho;

pub use ops::{add, dot, dot_with, hadamard};

use faer::{Accum, MatMut, MatRef};

use crate::error::{checked_dense, checked_numel, try_filled_vec, Error, Result};
use crate::format::chain::{Chain, Ends};
use crate::format::chain_balance::{chain_trace, extreme_chain_dense, is_extreme_chain};
use crate::format::chain_norm::chain_norm_and_growth;
use crate::format::norm_guard::dense_rel_error;
use crate::format::rel_error::rel_error_guarded;
use crate::format::Factorized;
use crate::kernels::gemm::gemm;
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A tensor in tensor-train (TT, matrix-product-state) format.
///
/// A `d`-way tensor `X` of shape `n_1 × … × n_d` is stored as `d` three-way cores
/// `G_k ∈ R^{r_{k-1} × n_k × r_k}` with boundary ranks `r_0 = r_d = 1`, and
///
/// `X[i_1, …, i_d] = G_1[:, i_1, :] · G_2[:, i_2, :] ⋯ G_d[:, i_d, :]`,
///
/// a product of `r_{k-1} × r_k` matrices (Oseledets 2011). The cores are row-major [`Tensor`]s,
/// so `G_k` reshaped to `(r_{k-1} n_k) × r_k` is its left unfolding and to `r_{k-1} × (n_k r_k)`
/// its right unfolding, both free views. Storage is `Σ_k r_{k-1} n_k r_k` numbers instead of
/// `∏_k n_k`.
///
/// ```
/// use tensorize::format::TtTensor;
/// use tensorize::{Factorized, Tensor};
/// // The rank-1 tensor X[i, j] = (i + 1) · (j + 1) as two cores 1×2×1 and 1×3×1.
/// let g1 = Tensor::from_vec(&[1, 2, 1], vec![1.0, 2.0])?;
/// let g2 = Tensor::from_vec(&[1, 3, 1], vec![1.0, 2.0, 3.0])?;
/// let tt = TtTensor::new(vec![g1, g2])?;
/// assert_eq!(tt.shape(), vec![2, 3]);
/// assert_eq!(tt.ranks(), vec![1, 1, 1]);
/// assert_eq!(tt.get(&[1, 2])?, 6.0);
/// assert_eq!(tt.to_dense()?.as_slice(), &[1.0, 2.0, 3.0, 2.0, 4.0, 6.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TtTensor<T> {
    cores: Vec<Tensor<T>>,
}

impl<T: Scalar> TtTensor<T> {
    /// A TT tensor from its cores `G_k` of shape `r_{k-1} × n_k × r_k`.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] for an empty list or a core that is not 3-way;
    /// - [`Error::InvalidRank`] if the first core's left rank or the last core's right rank is
    ///   not 1;
    /// - [`Error::ShapeMismatch`] if the right rank of core `k` differs from the left rank of core
    ///   `k + 1` (the error names both shapes);
    /// - [`Error::SizeOverflow`] if the full tensor would have more elements than memory can
    ///   address;
    /// - [`Error::NonFinite`] if a core holds NaN or infinity.
    pub fn new(cores: Vec<Tensor<T>>) -> Result<Self> {
        Chain {
            op: "TtTensor::new",
            format: "a tensor train",
            core_order: 3,
            layout: "r_{k-1} × n_k × r_k",
            ends: Ends::Open,
        }
        .check(&cores)?;
        let shape: Vec<usize> = cores.iter().map(|c| c.shape()[1]).collect();
        checked_numel(&shape, std::mem::size_of::<T>())?;
        Ok(Self { cores })
    }

    /// Builds a TT tensor from cores already known to be consistent (internal fast path).
    pub(crate) fn from_cores_unchecked(cores: Vec<Tensor<T>>) -> Self {
        debug_assert!(!cores.is_empty());
        debug_assert!(cores.windows(2).all(|w| w[0].shape()[2] == w[1].shape()[0]));
        Self { cores }
    }

    /// The cores `G_k`, each of shape `r_{k-1} × n_k × r_k`.
    pub fn cores(&self) -> &[Tensor<T>] {
        &self.cores
    }

    /// Consumes the tensor train, returning its cores.
    pub fn into_cores(self) -> Vec<Tensor<T>> {
        self.cores
    }

    /// The order `d` (number of cores and of modes).
    pub fn ndim(&self) -> usize {
        self.cores.len()
    }

    /// The TT ranks `[r_0, r_1, …, r_d]` (`d + 1` numbers, `r_0 = r_d = 1`).
    pub fn ranks(&self) -> Vec<usize> {
        let mut r: Vec<usize> = self.cores.iter().map(|c| c.shape()[0]).collect();
        r.push(1);
        r
    }

    /// The largest TT rank `max_k r_k`.
    pub fn max_rank(&self) -> usize {
        self.cores.iter().map(|c| c.shape()[2]).max().unwrap_or(1)
    }

    /// The element `X[i_1, …, i_d] = G_1[:, i_1, :] ⋯ G_d[:, i_d, :]`, computed in
    /// `O(Σ_k r_{k-1} r_k)` operations without densifying.
    ///
    /// ```
    /// use tensorize::decomp::tt_svd;
    /// use tensorize::Tensor;
    /// let x = Tensor::<f64>::random_normal(&[3, 4, 5], 1)?;
    /// let (tt, _) = tt_svd(&x, 0.0)?;
    /// assert!((tt.get(&[2, 1, 3])? - x.get(&[2, 1, 3])?).abs() < 1e-12);
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
            let [r0, n, r1] = core_dims(core);
            let data = core.as_slice();
            (
                r1,
                (0..r0)
                    .flat_map(|a| data[(a * n + i) * r1..(a * n + i + 1) * r1].iter().copied())
                    .collect(),
            )
        });
        Ok(chain_trace(1, slices))
    }

    /// [`Factorized::to_dense`] with explicit parallelism `par`: sequential GEMMs
    /// `W_k = W_{k-1} · G_k^{(r_{k-1} × n_k r_k)}` with `W_k` of shape `(n_1⋯n_k) × r_k`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the full tensor (or an intermediate
    /// `(n_1⋯n_k) × r_k` product) cannot be allocated.
    pub fn to_dense_with(&self, par: Par) -> Result<Tensor<T>> {
        checked_dense(&Factorized::shape(self), std::mem::size_of::<T>())?;
        if is_extreme_chain(&self.cores) {
            // Products of the cores may leave the range on the way: carry every exponent.
            return extreme_chain_dense(Factorized::shape(self), &self.cores, |balanced| {
                TtTensor::<f64>::from_cores_unchecked(balanced).dense_unscaled(par)
            });
        }
        self.dense_unscaled(par)
    }

    /// [`TtTensor::to_dense_with`] by the products of the cores as they are.
    fn dense_unscaled(&self, par: Par) -> Result<Tensor<T>> {
        let shape = Factorized::shape(self);
        let mut w: Vec<T> = self.cores[0].as_slice().to_vec();
        let mut rows = shape[0];
        for core in &self.cores[1..] {
            let [r0, n, r1] = core_dims(core);
            let cols = n * r1;
            let mut out = zeroed(&[rows, n, r1], rows, cols)?;
            gemm(
                MatMut::from_row_major_slice_mut(&mut out, rows, cols),
                MatRef::from_row_major_slice(&w, rows, r0),
                MatRef::from_row_major_slice(core.as_slice(), r0, cols),
                Accum::Replace,
                par,
            );
            w = out;
            rows *= n;
        }
        Ok(Tensor::from_parts_unchecked(shape, w))
    }

    /// `⟨X, self⟩` for a dense `X` of the same shape, without densifying `self`: the cores are
    /// contracted into `X` one at a time from the left, `W_k = (G_k^{L})ᵀ · W_{k-1}` with
    /// `W_{k-1}` viewed as `(r_{k-1} n_k) × (n_{k+1}⋯n_d)`, one GEMM per core
    /// (`O(r · numel(X))` operations in total).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn inner_dense(&self, x: &Tensor<T>) -> Result<T> {
        self.inner_dense_with(x, auto_par(2.0 * x.numel() as f64 * self.max_rank() as f64))
    }

    /// [`TtTensor::inner_dense`] with explicit parallelism `par`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn inner_dense_with(&self, x: &Tensor<T>, par: Par) -> Result<T> {
        let shape = Factorized::shape(self);
        if x.shape() != shape.as_slice() {
            return Err(Error::ShapeMismatch {
                op: "TtTensor::inner_dense",
                left: shape,
                right: x.shape().to_vec(),
                detail: "the dense tensor must have the TT tensor's shape".into(),
            });
        }
        let mut rest = x.numel();
        let mut w: Vec<T> = Vec::new();
        for (k, core) in self.cores.iter().enumerate() {
            let [r0, n, r1] = core_dims(core);
            rest /= n;
            let src: &[T] = if k == 0 { x.as_slice() } else { &w };
            let mut out = zeroed(&[r1, rest], r1, rest)?;
            gemm(
                MatMut::from_row_major_slice_mut(&mut out, r1, rest),
                MatRef::from_row_major_slice(core.as_slice(), r0 * n, r1).transpose(),
                MatRef::from_row_major_slice(src, r0 * n, rest),
                Accum::Replace,
                par,
            );
            w = out;
        }
        Ok(w[0])
    }

    /// `‖X − self‖_F / ‖X‖_F` computed without densifying where that is accurate.
    ///
    /// Uses `‖X − Y‖² = ‖X‖² + ‖Y‖² − 2⟨X, Y⟩` with `⟨X, Y⟩` from [`TtTensor::inner_dense_with`]
    /// and `‖Y‖` from [`Factorized::norm`]. When the result is below the cancellation floor `8·sqrt(eps·sqrt(n))` the
    /// three terms cancel and the formula has no correct digits left, so the error is then
    /// recomputed from the explicit difference `X − to_dense(self)` (which allocates one tensor
    /// of `X`'s size). The same fallback runs when `‖X‖` or `‖self‖` lies so far from 1 that
    /// the products could overflow or underflow.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn rel_error_with(&self, x: &Tensor<T>, par: Par) -> Result<T> {
        let shape = Factorized::shape(self);
        if x.shape() != shape.as_slice() {
            return Err(Error::ShapeMismatch {
                op: "TtTensor::rel_error",
                left: shape,
                right: x.shape().to_vec(),
                detail: "the dense tensor must have the TT tensor's shape".into(),
            });
        }
        // The explicit difference is scaled exactly: in T the norms of subnormal data keep a
        // digit or two.
        let explicit = || -> Result<T> {
            Ok(T::of(dense_rel_error(x.as_slice(), self.to_dense_with(par)?.as_slice())))
        };
        if is_extreme_chain(&self.cores) {
            // Products of the cores leave the range on the way: compare dense forms.
            return explicit();
        }
        let nx = x.norm();
        let (ny, growth) = chain_norm_and_growth(&self.cores, par, || self.to_dense_with(par));
        // The norms and the inner product sum about numel · r² products through the transfer
        // matrices (a TR fuzz input in f32 with ranks 4 came out 3e-3 from an exact match).
        let r = self.max_rank();
        let terms = x.numel().saturating_mul(r.saturating_mul(r));
        rel_error_guarded(nx, ny, terms, growth, || self.inner_dense_with(x, par), explicit)
    }
}

impl<T: Scalar> Factorized<T> for TtTensor<T> {
    fn shape(&self) -> Vec<usize> {
        self.cores.iter().map(|c| c.shape()[1]).collect()
    }

    fn to_dense(&self) -> Result<Tensor<T>> {
        let numel = checked_numel(&self.shape(), std::mem::size_of::<T>())?;
        self.to_dense_with(auto_par(2.0 * numel as f64 * self.max_rank() as f64))
    }

    fn num_params(&self) -> usize {
        self.cores.iter().map(|c| c.numel()).sum()
    }

    /// `‖X‖_F` from the transfer matrices in `f64`, without densifying unless the cores' terms
    /// cancel too far to trust; see [`TtTensor::norm_with`].
    fn norm(&self) -> T {
        self.norm_with(auto_par(self.sweep_flops()))
    }

    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        let r = self.max_rank() as f64;
        self.rel_error_with(dense, auto_par(2.0 * dense.numel() as f64 * r))
    }
}

/// A zeroed buffer of `a · b` elements for an intermediate of shape `shape`:
/// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] instead of an abort when it is too large.
pub(crate) fn zeroed<T: Scalar>(shape: &[usize], a: usize, b: usize) -> Result<Vec<T>> {
    let n = a
        .checked_mul(b)
        .filter(|&n| {
            n.checked_mul(std::mem::size_of::<T>()).is_some_and(|x| x <= isize::MAX as usize)
        })
        .ok_or_else(|| Error::SizeOverflow { shape: shape.to_vec() })?;
    try_filled_vec(shape, n, T::zero())
}

/// `[r_{k-1}, n_k, r_k]` of a (validated) core.
pub(crate) fn core_dims<T: Scalar>(core: &Tensor<T>) -> [usize; 3] {
    let s = core.shape();
    [s[0], s[1], s[2]]
}

#[cfg(test)]
mod tests;
