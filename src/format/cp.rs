//! The CP (CANDECOMP/PARAFAC) format: a weighted sum of `R` rank-one tensors.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef};

use super::norm_guard::{
    binary_exponent, dense_rel_error, scaled_ratio, scaled_sums, trusted_norm, unit_exponent,
    PowerOfTwo,
};
use super::rel_error::rel_error_guarded;
use super::Factorized;
use crate::error::{checked_dense, checked_numel, try_filled_vec, Error, Result};
use crate::kernels::gemm::matmul_row_split;
use crate::kernels::mttkrp::{check_finite_mat, mttkrp_flops, mttkrp_unchecked};
use crate::par::{auto_par, thread_count, Par};
use crate::scalar::{ldexp, Scalar};
use crate::tenalg;
use crate::tensor::Tensor;
use rayon::prelude::*;

/// A tensor in CP format, `X̂ = Σ_{r<R} w_r · U_0[:, r] ∘ U_1[:, r] ∘ ⋯ ∘ U_{N-1}[:, r]`,
/// i.e. `X̂[i_0, …, i_{N-1}] = Σ_r w_r ∏_k U_k[i_k, r]`, written `[[w; U_0, …, U_{N-1}]]`.
///
/// Each factor `U_k` is `I_k × R`; the weights `w` have length `R` (the CP rank). In
/// TensorLy's unfolding convention, `unfold(X̂, n) = U_n · diag(w) · khatri_rao(U_k, k ≠ n)ᵀ`.
///
/// ```
/// use faer::mat;
/// use tensorize::{format::CpTensor, Factorized};
/// // 2·(a ∘ b): a = [1, 2], b = [1, 0, 1].
/// let cp = CpTensor::new(vec![2.0_f64], vec![mat![[1.0], [2.0]], mat![[1.0], [0.0], [1.0]]])?;
/// assert_eq!(cp.shape(), vec![2, 3]);
/// let x = cp.to_dense()?;
/// assert_eq!(x.as_slice(), &[2.0, 0.0, 2.0, 4.0, 0.0, 4.0]);
/// assert!((cp.norm() - x.norm()).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CpTensor<T> {
    weights: Vec<T>,
    factors: Vec<Mat<T>>,
}

impl<T: Scalar> CpTensor<T> {
    /// The CP tensor `[[weights; factors]]`.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for no factors; [`Error::InvalidRank`] for zero weights (rank 0);
    /// [`Error::ShapeMismatch`] if a factor does not have `weights.len()` columns;
    /// [`Error::ZeroDimension`] for a factor without rows; [`Error::NonFinite`] for NaN/Inf in
    /// the weights or factors.
    pub fn new(weights: Vec<T>, factors: Vec<Mat<T>>) -> Result<Self> {
        const OP: &str = "CpTensor::new";
        if factors.is_empty() {
            return Err(Error::InvalidModes {
                op: OP,
                modes: vec![],
                ndim: 0,
                detail: "a CP tensor needs at least one factor matrix".into(),
            });
        }
        let shape: Vec<usize> = factors.iter().map(|f| f.nrows()).collect();
        let rank = weights.len();
        if rank == 0 {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: vec![0],
                shape,
                detail: "the CP rank (number of weights) must be at least 1".into(),
            });
        }
        for (k, f) in factors.iter().enumerate() {
            if f.ncols() != rank {
                return Err(Error::ShapeMismatch {
                    op: OP,
                    left: vec![rank],
                    right: vec![f.nrows(), f.ncols()],
                    detail: format!(
                        "factor {k} has {} columns but there are {rank} weights",
                        f.ncols()
                    ),
                });
            }
        }
        if shape.contains(&0) {
            return Err(Error::ZeroDimension { shape });
        }
        if let Some(position) = weights.iter().position(|w| !w.is_finite()) {
            return Err(Error::NonFinite { op: OP, position, value: weights[position].as_f64() });
        }
        for f in &factors {
            check_finite_mat(OP, f.as_ref())?;
        }
        Ok(Self { weights, factors })
    }

    /// The CP tensor `[[1; factors]]` with all weights 1.
    ///
    /// ```
    /// use faer::Mat;
    /// use tensorize::format::CpTensor;
    /// let cp = CpTensor::from_factors(vec![Mat::<f64>::identity(3, 2), Mat::identity(4, 2)])?;
    /// assert_eq!((cp.rank(), cp.weights()), (2, &[1.0, 1.0][..]));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`CpTensor::new`]; rank 0 if the factors have no columns.
    pub fn from_factors(factors: Vec<Mat<T>>) -> Result<Self> {
        let rank = factors.first().map_or(0, |f| f.ncols());
        Self::new(vec![T::one(); rank], factors)
    }

    /// Builds from parts the caller has already validated (internal fast path).
    pub(crate) fn from_parts_unchecked(weights: Vec<T>, factors: Vec<Mat<T>>) -> Self {
        debug_assert!(factors.iter().all(|f| f.ncols() == weights.len()));
        Self { weights, factors }
    }

    /// The CP rank `R` (number of rank-one terms).
    pub fn rank(&self) -> usize {
        self.weights.len()
    }

    /// The order `N` (number of modes, one factor each).
    pub fn ndim(&self) -> usize {
        self.factors.len()
    }

    /// The weights `w` (length `R`).
    pub fn weights(&self) -> &[T] {
        &self.weights
    }

    /// The factor matrices `U_k` (`I_k × R`), one per mode.
    pub fn factors(&self) -> &[Mat<T>] {
        &self.factors
    }

    /// Borrowed views of the factor matrices, in mode order.
    pub fn factor_views(&self) -> Vec<MatRef<'_, T>> {
        self.factors.iter().map(|f| f.as_ref()).collect()
    }

    /// Consumes the tensor, returning `(weights, factors)`.
    pub fn into_parts(self) -> (Vec<T>, Vec<Mat<T>>) {
        (self.weights, self.factors)
    }

    /// Rescales every factor column to unit Euclidean norm and moves the norms into the
    /// weights: `w_r ← w_r ∏_k ‖U_k[:, r]‖`, `U_k[:, r] ← U_k[:, r] / ‖U_k[:, r]‖`. The
    /// represented tensor does not change. A zero column stays zero (and its weight becomes 0).
    ///
    /// ```
    /// use faer::mat;
    /// use tensorize::format::CpTensor;
    /// let mut cp = CpTensor::from_factors(vec![mat![[3.0], [4.0]], mat![[0.0], [2.0]]])?;
    /// cp.normalize();
    /// assert_eq!(cp.weights(), &[10.0]);
    /// assert_eq!(cp.factors()[0][(1, 0)], 0.8);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn normalize(&mut self) {
        for f in &mut self.factors {
            let norms = normalize_columns(f.as_mut());
            for (w, n) in self.weights.iter_mut().zip(norms) {
                *w *= n;
            }
        }
    }

    /// [`Factorized::norm`] and the growth of its terms: the Gram formula on absolute values
    /// over the formula (∞ or NaN where it underflowed).
    pub(crate) fn norm_and_growth(&self) -> (T, f64) {
        let (w, exponent, scaled) = self.balanced();
        let (mut signed, mut absolute) = (Vec::new(), Vec::new());
        for u in &scaled {
            absolute
                .push(gram(Mat::from_fn(u.nrows(), u.ncols(), |i, r| u[(i, r)].abs()).as_ref()));
            signed.push(gram(u.as_ref()));
        }
        let w_abs: Vec<f64> = w.iter().map(|x| x.abs()).collect();
        let value = norm_sq_from_grams(&signed, &w).sqrt();
        let magnitude = norm_sq_from_grams(&absolute, &w_abs).sqrt();
        let r = self.rank();
        let terms = self.factors.iter().map(|f| f.nrows()).sum::<usize>() + r * r;
        let growth = magnitude / value;
        (trusted_norm(ldexp(value, exponent), growth, terms, || self.to_dense()), growth)
    }

    /// Whether a weight or a factor column lies far from 1 (beyond `2^±40`), where products of
    /// the parts can leave the range on the way to an ordinary result.
    fn has_extreme_parts(&self) -> bool {
        let extreme = |v: f64| unit_exponent(v) != 0;
        extreme(self.weights.iter().fold(0.0, |m, w| m.max(w.as_f64().abs())))
            || self
                .factors
                .iter()
                .any(|f| (0..f.ncols()).any(|c| extreme(column_max_abs(f.as_ref(), c))))
    }

    /// The weights and factors in `f64`, balanced by powers of two (exact): every factor column
    /// far from 1 scaled to about 1 and its weight by the inverse, then the weights by the power
    /// of two `e` that brings the largest to about 1; the tensor is `2^e` times theirs.
    ///
    /// Per column, not per factor: a weight of 1e300 whose columns hold 5e-324 (an ordinary
    /// component) beside weights of 1 lost its column to the square in the Gram matrix when only
    /// whole factors were scaled (self error 7.5e-2, found by the formats fuzz target). A
    /// component with an all-zero column adds nothing: its weight becomes 0 rather than set the
    /// common exponent (as a Tucker core entry meeting a zero column did, pushing the entries
    /// that matter to the subnormal range).
    fn balanced(&self) -> (Vec<f64>, i32, Vec<Mat<f64>>) {
        let r = self.rank();
        let column_max: Vec<Vec<f64>> = self
            .factors
            .iter()
            .map(|f| (0..r).map(|c| column_max_abs(f.as_ref(), c)).collect())
            .collect();
        let column_exponents: Vec<Vec<i32>> =
            column_max.iter().map(|m| m.iter().map(|&v| unit_exponent(v)).collect()).collect();
        // The exponent each weight takes over from its columns, and whether it is dead.
        let moved: Vec<i32> =
            (0..r).map(|c| column_exponents.iter().map(|e| e[c]).sum::<i32>()).collect();
        let dead: Vec<bool> = (0..r).map(|c| column_max.iter().any(|m| m[c] == 0.0)).collect();
        let top = self
            .weights
            .iter()
            .zip(&moved)
            .zip(&dead)
            .filter(|((w, _), dead)| **w != T::zero() && !**dead)
            .map(|((w, &m), _)| binary_exponent(w.as_f64().abs()) + m)
            .max()
            .unwrap_or(0);
        let weights = self
            .weights
            .iter()
            .zip(&moved)
            .zip(&dead)
            .map(|((w, &m), &dead)| if dead { 0.0 } else { ldexp(w.as_f64(), m - top) })
            .collect();
        let factors = self
            .factors
            .iter()
            .zip(&column_exponents)
            .map(|(f, e)| Mat::from_fn(f.nrows(), r, |i, c| ldexp(f[(i, c)].as_f64(), -e[c])))
            .collect();
        (weights, top, factors)
    }

    /// `⟨X, X̂⟩ = Σ_r w_r Σ_i M[i, r] · U_0[i, r]` with `M` the mode-0 MTTKRP of `dense` (one
    /// pass over `dense`, no reconstruction). Shapes must already agree.
    fn inner_unchecked(&self, dense: &Tensor<T>, par: Par) -> Result<T> {
        let m = mttkrp_unchecked(dense, &self.factor_views(), 0, par)?;
        Ok(weighted_column_dots(m.as_ref(), self.factors[0].as_ref(), &self.weights))
    }

    /// The Frobenius inner product `⟨X, X̂⟩ = Σ_r w_r Σ_i MTTKRP(X)[i, r] · U_0[i, r]`, computed
    /// with one MTTKRP and without reconstructing `X̂`.
    ///
    /// ```
    /// use faer::mat;
    /// use tensorize::{format::CpTensor, Factorized, Tensor};
    /// let cp = CpTensor::from_factors(vec![mat![[1.0_f64, 0.5], [2.0, 1.0]], mat![[1.0, 2.0], [3.0, 0.0]]])?;
    /// let x = Tensor::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0])?;
    /// assert!((cp.inner(&x)? - x.inner(&cp.to_dense()?)?).abs() < 1e-12);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dense` has another shape; [`Error::NonFinite`] for NaN/Inf in it.
    pub fn inner(&self, dense: &Tensor<T>) -> Result<T> {
        self.check_dense(dense, "CpTensor::inner")?;
        self.inner_unchecked(dense, auto_par(mttkrp_flops(dense.numel(), self.rank())))
    }

    fn check_dense(&self, dense: &Tensor<T>, op: &'static str) -> Result<()> {
        let shape = self.shape();
        if dense.shape() != shape.as_slice() {
            return Err(Error::ShapeMismatch {
                op,
                left: dense.shape().to_vec(),
                right: shape,
                detail: "the dense tensor must have the CP tensor's shape".into(),
            });
        }
        dense.check_finite(op)
    }

    /// The dense tensor, with parallelism `par` for its GEMM (see [`Factorized::to_dense`]).
    ///
    /// # Errors
    /// As [`Factorized::to_dense`].
    pub fn to_dense_with(&self, par: Par) -> Result<Tensor<T>> {
        if self.has_extreme_parts() {
            self.dense_balanced(par)
        } else {
            self.dense_unscaled(par)
        }
    }

    /// [`CpTensor::to_dense_with`] for parts near the ends of the range, whose products leave it
    /// on the way (a weight of 1e300 times a column of 5e-324 times 7.9 rounded to the subnormal
    /// grid first: 0.8% off, found by the formats fuzz target): the balanced parts expanded and
    /// the result scaled once.
    fn dense_balanced(&self, par: Par) -> Result<Tensor<T>> {
        let (weights, top, factors) = self.balanced();
        let balanced = CpTensor::new(
            weights.into_iter().map(T::of).collect(),
            factors
                .iter()
                .map(|f| Mat::from_fn(f.nrows(), f.ncols(), |i, c| T::of(f[(i, c)])))
                .collect(),
        )?;
        let mut dense = balanced.dense_unscaled(par)?;
        dense.map_in_place(|v| T::of(ldexp(v.as_f64(), top)));
        Ok(dense)
    }

    /// [`CpTensor::to_dense_with`] by the products of the parts as they are.
    fn dense_unscaled(&self, par: Par) -> Result<Tensor<T>> {
        let shape = self.shape();
        let numel = checked_dense(&shape, std::mem::size_of::<T>())?;
        let (left, right) = self.split_products()?;
        let mut data = try_filled_vec(&shape, numel, T::zero())?;
        let dst = MatMut::from_row_major_slice_mut(&mut data, left.nrows(), right.nrows());
        matmul_row_split(dst, Accum::Replace, left.as_ref(), right.as_ref().transpose(), par);
        Ok(Tensor::from_parts_unchecked(shape, data))
    }

    /// The two factors of the row-major matricization `X̂[(lead), (trail)] = L · Rᵀ`, with
    /// `L = khatri_rao(lead factors) · diag(w)` and `R = khatri_rao(trail factors)`, split where
    /// `∏ lead + ∏ trail` is smallest (for order 1, `R` is a `1 × R` row of ones).
    fn split_products(&self) -> Result<(Mat<T>, Mat<T>)> {
        let shape = self.shape();
        let numel = checked_numel(&shape, std::mem::size_of::<T>())?;
        let views = self.factor_views();
        let split = (1..shape.len())
            .min_by_key(|&m| {
                let l: usize = shape[..m].iter().product();
                l.saturating_add(numel / l.max(1))
            })
            .unwrap_or(1);
        let mut left = side_product(&views[..split])?;
        for (r, &w) in self.weights.iter().enumerate() {
            left.col_mut(r).iter_mut().for_each(|v| *v *= w);
        }
        let right = if split == shape.len() {
            Mat::from_fn(1, self.rank(), |_, _| T::one())
        } else {
            side_product(&views[split..])?
        };
        Ok((left, right))
    }

    /// `‖X − X̂‖ / ‖X‖` by an explicit difference, reconstructing `X̂` block of rows by block of
    /// rows (never the whole tensor at once) and summing the squares in f64.
    /// `norm_x` (an estimate of `‖X‖`) only picks the power of two that both `X` and `X̂` are
    /// scaled by, exactly, so data near 1e±300 neither overflows nor underflows. `‖X‖²` is summed
    /// in the same pass: an estimate of a subnormal norm keeps few digits (the fuzz target found
    /// `‖[5e-324, 5e-324]‖` rounded to 5e-324, reporting error √2 for a true 1).
    pub(crate) fn explicit_rel_error(&self, x: &Tensor<T>, norm_x: T, par: Par) -> Result<T> {
        let (left, right) = self.split_products()?;
        let (rows, cols) = (left.nrows(), right.nrows());
        let block_rows = (EXPLICIT_BLOCK_ELEMS / cols).clamp(1, rows);
        let blocks = rows.div_ceil(block_rows);
        let data = x.as_slice();
        let e = binary_exponent(norm_x.as_f64());
        let p = PowerOfTwo::new(-e);
        let block_sums = |blk: usize| -> (f64, f64) {
            let r0 = blk * block_rows;
            let nr = block_rows.min(rows - r0);
            let mut buf = vec![T::zero(); nr * cols];
            let dst = MatMut::from_row_major_slice_mut(&mut buf, nr, cols);
            let lhs = left.as_ref().subrows(r0, nr);
            matmul(dst, Accum::Replace, lhs, right.as_ref().transpose(), T::one(), Par::Seq);
            scaled_sums(&data[r0 * cols..(r0 + nr) * cols], &buf, p)
        };
        let add = |(d1, n1): (f64, f64), (d2, n2): (f64, f64)| (d1 + d2, n1 + n2);
        let sums = if thread_count(par) > 1 && blocks > 1 {
            (0..blocks).into_par_iter().map(block_sums).reduce(|| (0.0, 0.0), add)
        } else {
            (0..blocks).map(block_sums).fold((0.0, 0.0), add)
        };
        Ok(T::of(scaled_ratio(sums, e)))
    }
}

/// Elements per block of the explicit residual (a small, cache-friendly scratch).
const EXPLICIT_BLOCK_ELEMS: usize = 1 << 15;

/// The Khatri–Rao product of `mats` as an owned matrix (a copy for a single matrix).
fn side_product<T: Scalar>(mats: &[MatRef<'_, T>]) -> Result<Mat<T>> {
    match mats {
        [single] => Ok(single.to_owned()),
        _ => tenalg::khatri_rao(mats),
    }
}

/// `UᵀU` (`R × R`).
pub(crate) fn gram<T: Scalar>(u: MatRef<'_, T>) -> Mat<T> {
    let r = u.ncols();
    let mut g = Mat::zeros(r, r);
    matmul(g.as_mut(), Accum::Replace, u.transpose(), u, T::one(), Par::Seq);
    g
}

/// The Hadamard product of the matrices `grams[k]` for `k ∉ skip` (all-ones for none), plus
/// `ridge · I`.
pub(crate) fn hadamard_of_grams<T: Scalar>(
    grams: &[Mat<T>],
    rank: usize,
    skip: Option<usize>,
    ridge: T,
) -> Mat<T> {
    let mut h = Mat::from_fn(rank, rank, |_, _| T::one());
    for (k, g) in grams.iter().enumerate() {
        if Some(k) != skip {
            h = Mat::from_fn(rank, rank, |i, j| h[(i, j)] * g[(i, j)]);
        }
    }
    for i in 0..rank {
        h[(i, i)] += ridge;
    }
    h
}

/// `‖[[w; U]]‖² = wᵀ (⊛_k U_kᵀU_k) w`, clamped at 0 against rounding.
pub(crate) fn norm_sq_from_grams<T: Scalar>(grams: &[Mat<T>], weights: &[T]) -> T {
    let h = hadamard_of_grams(grams, weights.len(), None, T::zero());
    let mut s = T::zero();
    for (i, &wi) in weights.iter().enumerate() {
        for (j, &wj) in weights.iter().enumerate() {
            s += wi * h[(i, j)] * wj;
        }
    }
    s.max(T::zero())
}

/// `Σ_r w_r Σ_i M[i, r] · U[i, r]`.
pub(crate) fn weighted_column_dots<T: Scalar>(m: MatRef<'_, T>, u: MatRef<'_, T>, w: &[T]) -> T {
    let mut s = T::zero();
    for (r, &wr) in w.iter().enumerate() {
        let col: T = (0..m.nrows()).map(|i| m[(i, r)] * u[(i, r)]).sum();
        s += wr * col;
    }
    s
}

/// Divides every column of `u` by its Euclidean norm (zero columns are left alone) and returns
/// the norms.
pub(crate) fn normalize_columns<T: Scalar>(mut u: MatMut<'_, T>) -> Vec<T> {
    (0..u.ncols())
        .map(|r| {
            let col = u.as_mut().col_mut(r);
            let n = col.as_ref().iter().map(|&v| v * v).sum::<T>().sqrt();
            if n > T::zero() {
                col.iter_mut().for_each(|v| *v /= n);
            }
            n
        })
        .collect()
}

impl<T: Scalar> Factorized<T> for CpTensor<T> {
    /// `[I_0, …, I_{N-1}]`, the factors' row counts.
    fn shape(&self) -> Vec<usize> {
        self.factors.iter().map(|f| f.nrows()).collect()
    }

    /// One GEMM straight into the row-major buffer: for a split of the modes into a leading
    /// and a trailing group, `X[(lead), (trail)] = khatri_rao(lead) · diag(w) · khatri_rao(trail)ᵀ`
    /// (the split minimizes the Khatri–Rao sizes; split 1 is `unfold(X, 0) = U_0 · diag(w) · KRᵀ`).
    fn to_dense(&self) -> Result<Tensor<T>> {
        let numel = checked_numel(&self.shape(), std::mem::size_of::<T>())?;
        self.to_dense_with(auto_par(mttkrp_flops(numel, self.rank())))
    }

    /// `Σ_k I_k · R + R` (factors plus weights).
    fn num_params(&self) -> usize {
        self.factors.iter().map(|f| f.nrows() * f.ncols()).sum::<usize>() + self.rank()
    }

    /// `‖X̂‖ = sqrt(wᵀ (U_0ᵀU_0 ⊛ ⋯ ⊛ U_{N-1}ᵀU_{N-1}) w)` from the `R × R` Gram matrices,
    /// without reconstructing: in `f64`, every factor and the weights scaled by a power of two
    /// when they lie near the ends of the range. When the terms cancel (or the scaled sum still
    /// leaves the range) so far that fewer than about half the digits of `T` are certain, the
    /// norm is taken from the reconstruction instead, if it fits the memory limit.
    fn norm(&self) -> T {
        self.norm_and_growth().0
    }

    /// `‖X − X̂‖ / ‖X‖` from `‖X − X̂‖² = ‖X‖² − 2⟨X, X̂⟩ + ‖X̂‖²`, where `⟨X, X̂⟩` takes one
    /// MTTKRP (see [`CpTensor::inner`]) and `‖X̂‖²` the Gram matrices, so `X̂` is not formed.
    ///
    /// When that value is below the cancellation floor `8·sqrt(eps·sqrt(n))` for `n` entries
    /// (≈ 3.8e-6 in f64, ≈ 0.087 in f32 for 10⁶ entries) the formula has lost its digits to
    /// cancellation, and the error is recomputed from an explicit
    /// difference, reconstructing `X̂` in small blocks of rows (no full-size copy).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dense` has another shape; [`Error::NonFinite`] for NaN/Inf
    /// in `dense`.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        self.check_dense(dense, "CpTensor::rel_error")?;
        let par = auto_par(mttkrp_flops(dense.numel(), self.rank()));
        if self.has_extreme_parts() {
            // The MTTKRP and the blocked difference multiply the parts as they are: compare
            // with the balanced reconstruction instead (one dense copy, only for such parts).
            let approx = self.dense_balanced(par)?;
            return Ok(T::of(dense_rel_error(dense.as_slice(), approx.as_slice())));
        }
        let nx = dense.norm();
        let (ny, growth) = self.norm_and_growth();
        // The formula sums about numel · R² products (the model's norm over R² Gram entries).
        let r = self.rank();
        rel_error_guarded(
            nx,
            ny,
            dense.numel().saturating_mul(r.saturating_mul(r)),
            growth,
            || self.inner_unchecked(dense, par),
            || self.explicit_rel_error(dense, nx, par),
        )
    }
}

/// The largest magnitude in column `c` of `u`, in `f64`.
fn column_max_abs<T: Scalar>(u: MatRef<'_, T>, c: usize) -> f64 {
    (0..u.nrows()).fold(0.0f64, |m, i| m.max(u[(i, c)].as_f64().abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_cp<T: Scalar>(shape: &[usize], rank: usize, seed: u64) -> CpTensor<T> {
        let factors = shape
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                let t = Tensor::<T>::random_normal(&[d, rank], seed + k as u64).unwrap();
                Mat::from_fn(d, rank, |i, r| t.as_slice()[i * rank + r])
            })
            .collect();
        let w = (0..rank).map(|r| T::of(1.0 + r as f64)).collect();
        CpTensor::new(w, factors).unwrap()
    }

    /// `X̂` element by element from the definition.
    fn naive_dense<T: Scalar>(cp: &CpTensor<T>) -> Tensor<T> {
        Tensor::from_fn(&cp.shape(), |idx| {
            (0..cp.rank())
                .map(|r| {
                    let mut p = cp.weights()[r];
                    for (k, &i) in idx.iter().enumerate() {
                        p *= cp.factors()[k][(i, r)];
                    }
                    p
                })
                .sum()
        })
        .unwrap()
    }

    fn check<T: Scalar>() {
        for shape in [&[5][..], &[3, 4], &[3, 4, 5], &[2, 3, 2, 4], &[6, 1, 3]] {
            for rank in [1, 3, 8] {
                let cp = random_cp::<T>(shape, rank, 5);
                let naive = naive_dense(&cp);
                let dense = cp.to_dense().unwrap();
                let scale = naive.norm();
                let tol = T::of(20.0) * T::epsilon() * T::of_usize(naive.numel() * rank).sqrt();
                assert!(dense.sub(&naive).unwrap().norm() <= tol * scale, "{shape:?} r{rank}");
                assert!((cp.norm() - scale).abs() <= tol * scale, "{shape:?} r{rank}");
                let x = Tensor::<T>::random_normal(shape, 9).unwrap().add(&naive).unwrap();
                let explicit = cp.explicit_rel_error(&x, x.norm(), Par::Seq).unwrap();
                let direct = x.sub(&naive).unwrap().norm() / x.norm();
                assert!((explicit - direct).abs() <= tol, "{shape:?} r{rank}");
                let fast = cp.rel_error(&x).unwrap();
                assert!((fast - explicit).abs() <= tol * T::of(10.0), "{shape:?} r{rank}");
                assert!(cp.rel_error(&naive).unwrap() <= tol);
                assert_eq!(cp.num_params(), shape.iter().sum::<usize>() * rank + rank);
            }
        }
    }

    /// A weight of 2^996 on a column of 5e-324: an ordinary component (2^-78 · …), but the
    /// product of the columns first rounds 5e-324 · 7.9375 to the subnormal grid (0.8% off), and
    /// the Gram matrix of the column squares it to 0 (formats fuzz inputs).
    #[test]
    fn extreme_parts_of_an_ordinary_tensor_expand_exactly() {
        let tiny = f64::from_bits(1);
        let cp = CpTensor::new(
            vec![2f64.powi(996)],
            vec![
                Mat::from_fn(1, 1, |_, _| tiny),
                Mat::from_fn(2, 1, |i, _| [7.9375, 1.0][i]),
                Mat::from_fn(2, 1, |i, _| [1.0, 3.0][i]),
            ],
        )
        .unwrap();
        let unit = 2f64.powi(-78);
        let want = [7.9375 * unit, 3.0 * 7.9375 * unit, unit, 3.0 * unit];
        let dense = cp.to_dense().unwrap();
        assert_eq!(dense.as_slice(), &want);
        let norm = want.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((cp.norm() - norm).abs() <= 1e-15 * norm, "{} vs {norm}", cp.norm());
        assert_eq!(cp.rel_error(&dense).unwrap(), 0.0);
        let half = dense.scale(0.5);
        assert!((cp.rel_error(&half).unwrap() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn dense_norm_and_error_match_definitions() {
        check::<f64>();
        check::<f32>();
    }

    #[test]
    fn norm_and_rel_error_hold_at_the_ends_of_the_range() {
        // Squares of these weights leave f32 (and, at 1e±300, f64): the Gram formula used to
        // give ∞ or 0 (found by the `formats` and `decompositions` fuzz targets).
        for scale in [1e30f32, 1e-30] {
            let mut cp = random_cp::<f32>(&[3, 4, 2], 2, 5);
            cp.weights.iter_mut().for_each(|w| *w *= scale);
            let x = cp.to_dense().unwrap();
            let want = x.norm();
            assert!((cp.norm() - want).abs() <= 1e-5 * want, "{} vs {want}", cp.norm());
            assert!(cp.rel_error(&x).unwrap() <= 1e-3);
        }
        for scale in [1e300f64, 1e-300] {
            let mut cp = random_cp::<f64>(&[3, 4, 2], 2, 5);
            cp.weights.iter_mut().for_each(|w| *w *= scale);
            let x = cp.to_dense().unwrap();
            let want = x.norm();
            assert!((cp.norm() - want).abs() <= 1e-12 * want, "{} vs {want}", cp.norm());
            assert!(cp.rel_error(&x).unwrap() <= 1e-6);
        }
    }

    #[test]
    fn normalize_keeps_the_tensor() {
        let mut cp = random_cp::<f64>(&[3, 4, 5], 3, 1);
        let before = cp.to_dense().unwrap();
        cp.normalize();
        for f in cp.factors() {
            for r in 0..3 {
                let n: f64 = f.col(r).iter().map(|v| v * v).sum::<f64>().sqrt();
                assert!((n - 1.0).abs() < 1e-14);
            }
        }
        assert!(cp.to_dense().unwrap().sub(&before).unwrap().norm() < 1e-12 * before.norm());
    }

    #[test]
    fn new_validates() {
        let ok = || vec![Mat::<f64>::zeros(2, 2), Mat::zeros(3, 2)];
        assert!(matches!(CpTensor::new(vec![1.0], ok()), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(CpTensor::new(vec![], ok()), Err(Error::InvalidRank { .. })));
        assert!(matches!(CpTensor::<f64>::new(vec![1.0], vec![]), Err(Error::InvalidModes { .. })));
        let empty = vec![Mat::<f64>::zeros(0, 2), Mat::zeros(3, 2)];
        assert!(matches!(CpTensor::new(vec![1.0; 2], empty), Err(Error::ZeroDimension { .. })));
        let mut nan = ok();
        nan[1][(2, 1)] = f64::NAN;
        assert!(matches!(CpTensor::new(vec![1.0; 2], nan), Err(Error::NonFinite { .. })));
        assert!(matches!(
            CpTensor::new(vec![f64::INFINITY, 1.0], ok()),
            Err(Error::NonFinite { .. })
        ));
        let cp = CpTensor::new(vec![1.0; 2], ok()).unwrap();
        let x = Tensor::<f64>::zeros(&[3, 2]).unwrap();
        assert!(matches!(cp.rel_error(&x), Err(Error::ShapeMismatch { .. })));
    }
}
