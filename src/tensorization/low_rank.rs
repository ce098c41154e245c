//! A low-rank matrix `W ≈ L·Rᵀ` from a truncated SVD with the singular values split evenly
//! (`L = U√Σ`, `R = V√Σ`): the two-layer form of an SVD-compressed linear layer or 1×1 conv.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat};

use crate::error::{Error, Result};
use crate::format::Factorized;
use crate::linalg::{svd_truncated, Truncation};
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `Ŵ = L·Rᵀ` with `L = U_r √Σ_r` (`M × r`) and `R = V_r √Σ_r` (`N × r`), the rank-`r`
/// truncated SVD `U_r Σ_r V_rᵀ` of an `M × N` matrix (Eckart–Young optimal). `r(M + N)`
/// parameters: the singular values are folded into the factors (MUSCO's `√S` split).
///
/// ```
/// use tensorize::tensorization::LowRank;
/// use tensorize::{Factorized, Tensor};
/// let w = Tensor::<f64>::random_normal(&[6, 4], 0)?;
/// let lr = LowRank::from_matrix(&w, 4)?;       // full rank: exact
/// assert_eq!(lr.num_params(), 4 * (6 + 4));
/// assert!(lr.rel_error(&w)? < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct LowRank<T> {
    left: Mat<T>,
    right: Mat<T>,
}

impl<T: Scalar> LowRank<T> {
    /// The rank-`min(rank, M, N)` truncated SVD of the 2-way tensor `w`, split as `U√Σ`, `V√Σ`.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless `w` is 2-way; [`Error::InvalidRank`] for rank 0;
    /// [`Error::NonFinite`]; [`Error::NoConvergence`].
    pub fn from_matrix(w: &Tensor<T>, rank: usize) -> Result<Self> {
        let flops = 4.0 * w.numel() as f64 * (w.shape().iter().min().copied().unwrap_or(1)) as f64;
        Self::from_matrix_with(w, rank, auto_par(flops))
    }

    /// As [`LowRank::from_matrix`] with explicit parallelism.
    ///
    /// # Errors
    /// As [`LowRank::from_matrix`].
    pub fn from_matrix_with(w: &Tensor<T>, rank: usize, par: Par) -> Result<Self> {
        Self::from_truncation(w, &Truncation::rank(rank), par)
    }

    /// The truncated SVD of the 2-way tensor `w` as `truncation` sizes it (rank and/or
    /// absolute error), split as `U√Σ`, `V√Σ`: one SVD, also when the rank follows from an
    /// error budget.
    ///
    /// # Errors
    /// As [`LowRank::from_matrix`]; [`Error::InvalidParameter`] for an invalid truncation.
    pub(crate) fn from_truncation(
        w: &Tensor<T>,
        truncation: &Truncation,
        par: Par,
    ) -> Result<Self> {
        let a = w.as_mat()?;
        let svd = svd_truncated(a, truncation, par)?;
        let r = svd.s.len();
        let root: Vec<T> = svd.s.iter().map(|s| s.sqrt()).collect();
        let left = Mat::from_fn(a.nrows(), r, |i, j| svd.u[(i, j)] * root[j]);
        let right = Mat::from_fn(a.ncols(), r, |i, j| svd.v[(i, j)] * root[j]);
        Ok(Self { left, right })
    }

    /// `L = U√Σ`, `M × r`.
    pub fn left(&self) -> &Mat<T> {
        &self.left
    }

    /// `R = V√Σ`, `N × r`.
    pub fn right(&self) -> &Mat<T> {
        &self.right
    }

    /// The rank `r`.
    pub fn rank(&self) -> usize {
        self.left.ncols()
    }
}

impl<T> LowRank<T> {
    /// The parameters of a rank-`r` factorization of an `m × n` matrix: `r(m + n)`.
    ///
    /// ```
    /// use tensorize::tensorization::LowRank;
    /// assert_eq!(LowRank::<f32>::params_for(128, 3136, 10)?, 32640);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for a zero size, [`Error::InvalidRank`] for rank 0,
    /// [`Error::SizeOverflow`].
    pub fn params_for(m: usize, n: usize, r: usize) -> Result<usize> {
        if m == 0 || n == 0 {
            return Err(Error::ZeroDimension { shape: vec![m, n] });
        }
        if r == 0 {
            return Err(Error::InvalidRank {
                op: "LowRank::params_for",
                ranks: vec![0],
                shape: vec![m, n],
                detail: "the rank must be at least 1".into(),
            });
        }
        m.checked_add(n)
            .and_then(|s| s.checked_mul(r))
            .ok_or(Error::SizeOverflow { shape: vec![m, n] })
    }
}

impl<T: Scalar> Factorized<T> for LowRank<T> {
    fn shape(&self) -> Vec<usize> {
        vec![self.left.nrows(), self.right.nrows()]
    }

    /// `L·Rᵀ`, one GEMM.
    fn to_dense(&self) -> Result<Tensor<T>> {
        let (m, n) = (self.left.nrows(), self.right.nrows());
        let mut out = Tensor::zeros(&[m, n])?;
        let par = auto_par(2.0 * (m * n * self.rank()) as f64);
        matmul(
            out.as_mat_mut()?,
            Accum::Replace,
            self.left.as_ref(),
            self.right.transpose(),
            T::one(),
            par,
        );
        Ok(out)
    }

    /// `r(M + N)`.
    fn num_params(&self) -> usize {
        self.rank() * (self.left.nrows() + self.right.nrows())
    }

    /// `‖L·Rᵀ‖_F = sqrt(tr(LᵀL · RᵀR))`, from the `r × r` Gram matrices.
    fn norm(&self) -> T {
        let r = self.rank();
        let gram = |a: &Mat<T>| {
            let mut g = Mat::<T>::zeros(r, r);
            matmul(g.as_mut(), Accum::Replace, a.transpose(), a.as_ref(), T::one(), Par::Seq);
            g
        };
        let (gl, gr) = (gram(&self.left), gram(&self.right));
        let mut s = T::zero();
        for i in 0..r {
            for j in 0..r {
                s += gl[(i, j)] * gr[(j, i)];
            }
        }
        s.max(T::zero()).sqrt()
    }

    /// `‖W − L·Rᵀ‖_F / ‖W‖_F` from an explicit difference (the matrix is formed).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dense` has another shape.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        if dense.shape() != self.shape().as_slice() {
            return Err(Error::ShapeMismatch {
                op: "LowRank::rel_error",
                left: self.shape(),
                right: dense.shape().to_vec(),
                detail: "the dense matrix must have the factorization's shape".into(),
            });
        }
        let diff = self.to_dense()?.sub(dense)?;
        let nx = dense.norm();
        Ok(if nx > T::zero() { diff.norm() / nx } else { diff.norm() })
    }
}
