//! The Tucker format `X̂ = G ×₀ U₀ ×₁ U₁ ⋯ ×_{d−1} U_{d−1}` ([`TuckerTensor`]) and the helpers
//! it shares with [`PartialTucker`](crate::format::PartialTucker): applying factors, Gram-weighted
//! norms and the error against a dense tensor without densifying.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use crate::error::{checked_dense, Error, Result};
use crate::format::norm_guard::{
    binary_exponent, dense_rel_error, trusted_norm, unit_exponent, widen_mat_scaled, widen_scaled,
    PowerOfTwo,
};
use crate::format::rel_error::guarded_ratio;
use crate::format::Factorized;
use crate::par::{auto_par, Par};
use crate::scalar::{ldexp, Scalar};
use crate::tenalg;
use crate::tensor::arith::check_finite_slice;
use crate::tensor::Tensor;

/// A tensor in Tucker form: a core `G` of shape `r₀ × ⋯ × r_{d−1}` and one factor matrix
/// `U_k` of shape `I_k × r_k` per mode,
///
/// `X̂ = G ×₀ U₀ ×₁ U₁ ⋯ ×_{d−1} U_{d−1}`, that is
/// `X̂[i₀, …, i_{d−1}] = Σ_{j} G[j₀, …, j_{d−1}] · U₀[i₀, j₀] ⋯ U_{d−1}[i_{d−1}, j_{d−1}]`.
///
/// HOSVD and HOOI return orthonormal factors (`U_kᵀ U_k = I`), so that `‖X̂‖_F = ‖G‖_F`;
/// the type itself accepts any finite factors (also overcomplete ones with `r_k > I_k`).
///
/// ```
/// use faer::Mat;
/// use tensorize::format::TuckerTensor;
/// use tensorize::{Factorized, Tensor};
/// let core = Tensor::from_vec(&[1, 2], vec![3.0_f64, 4.0])?;
/// let u0 = Mat::from_fn(2, 1, |i, _| if i == 0 { 1.0 } else { 0.0 });
/// let u1 = Mat::<f64>::identity(3, 2);
/// let t = TuckerTensor::new(core, vec![u0, u1])?;
/// assert_eq!(t.shape(), vec![2, 3]);
/// assert_eq!(t.to_dense()?.as_slice(), &[3.0, 4.0, 0.0, 0.0, 0.0, 0.0]);
/// assert_eq!(t.norm(), 5.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TuckerTensor<T> {
    core: Tensor<T>,
    factors: Vec<Mat<T>>,
}

impl<T: Scalar> TuckerTensor<T> {
    /// Builds `G ×₀ U₀ ⋯ ×_{d−1} U_{d−1}` from a core and one factor per mode.
    ///
    /// # Errors
    /// - [`Error::ShapeMismatch`] unless `factors.len() == core.ndim()` and
    ///   `factors[k].ncols() == core.shape()[k]` for every `k`;
    /// - [`Error::ZeroDimension`] for a factor with zero rows;
    /// - [`Error::NonFinite`] if the core or a factor holds NaN or infinity.
    pub fn new(core: Tensor<T>, factors: Vec<Mat<T>>) -> Result<Self> {
        check_tucker_parts("TuckerTensor::new", &core, &factors, None)?;
        Ok(Self { core, factors })
    }

    /// Internal constructor for parts already known to agree.
    pub(crate) fn from_parts_unchecked(core: Tensor<T>, factors: Vec<Mat<T>>) -> Self {
        debug_assert_eq!(core.ndim(), factors.len());
        Self { core, factors }
    }

    /// The core `G` (shape `r₀ × ⋯ × r_{d−1}`).
    pub fn core(&self) -> &Tensor<T> {
        &self.core
    }

    /// The factors `U_k` (shape `I_k × r_k`), one per mode.
    pub fn factors(&self) -> &[Mat<T>] {
        &self.factors
    }

    /// The multilinear ranks `(r₀, …, r_{d−1})`: the core's shape.
    pub fn ranks(&self) -> Vec<usize> {
        self.core.shape().to_vec()
    }

    /// The order `d` of the represented tensor.
    pub fn ndim(&self) -> usize {
        self.core.ndim()
    }

    /// Consumes the decomposition, returning `(core, factors)`.
    pub fn into_parts(self) -> (Tensor<T>, Vec<Mat<T>>) {
        (self.core, self.factors)
    }

    fn factor_refs(&self) -> Vec<Option<MatRef<'_, T>>> {
        self.factors.iter().map(|u| Some(u.as_ref())).collect()
    }
}

impl<T: Scalar> Factorized<T> for TuckerTensor<T> {
    fn shape(&self) -> Vec<usize> {
        self.factors.iter().map(|u| u.nrows()).collect()
    }

    /// `G ×₀ U₀ ⋯ ×_{d−1} U_{d−1}`, applying the modes in the cheapest order.
    fn to_dense(&self) -> Result<Tensor<T>> {
        checked_dense(&self.shape(), std::mem::size_of::<T>())?;
        reconstruct(&self.core, &self.factor_refs(), None)
    }

    /// `numel(G) + Σ_k I_k · r_k`.
    fn num_params(&self) -> usize {
        self.core.numel() + self.factors.iter().map(|u| u.nrows() * u.ncols()).sum::<usize>()
    }

    /// `‖X̂‖_F² = ⟨G, G ×₀ U₀ᵀU₀ ⋯ ×_{d−1} U_{d−1}ᵀU_{d−1}⟩`; the Gram matrices that are the
    /// identity (orthonormal factors) are skipped, so for HOSVD/HOOI output this is `‖G‖_F`.
    /// Never densifies.
    fn norm(&self) -> T {
        tucker_norm(&self.core, &self.factor_refs())
    }

    /// `‖X − X̂‖_F / ‖X‖_F` without densifying `X̂`:
    /// `‖X − X̂‖² = ‖X‖² − 2⟨X ×₀ U₀ᵀ ⋯ ×_{d−1} U_{d−1}ᵀ, G⟩ + ‖X̂‖²`, accumulated in `f64`.
    ///
    /// Cancellation: when the relative error falls below the crate's cancellation floor
    /// `8·sqrt(eps·sqrt(n))` for `n` entries (≈ 3.8e-6 in `f64`, ≈ 0.087 in `f32` for 10⁶
    /// entries) it carries too few correct digits, and the error is recomputed from the
    /// explicit difference `X − X̂` (one reconstruction).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `dense` has another shape; [`Error::NonFinite`] if it
    /// holds NaN or infinity.
    fn rel_error(&self, dense: &Tensor<T>) -> Result<T> {
        tucker_rel_error("TuckerTensor::rel_error", dense, &self.core, &self.factor_refs(), None)
    }
}

/// Checks that `factors` fit `core` (one factor per mode, or per entry of `modes` when given),
/// with the right column counts, non-empty, and finite.
pub(crate) fn check_tucker_parts<T: Scalar>(
    op: &'static str,
    core: &Tensor<T>,
    factors: &[Mat<T>],
    modes: Option<&[usize]>,
) -> Result<()> {
    let modes: Vec<usize> = match modes {
        Some(m) => m.to_vec(),
        None => (0..core.ndim()).collect(),
    };
    let factor_shapes = || factors.iter().flat_map(|u| [u.nrows(), u.ncols()]).collect::<Vec<_>>();
    if factors.len() != modes.len() {
        return Err(Error::ShapeMismatch {
            op,
            left: core.shape().to_vec(),
            right: factor_shapes(),
            detail: format!(
                "expected {} factors (one per decomposed mode), got {}",
                modes.len(),
                factors.len()
            ),
        });
    }
    for (u, &k) in factors.iter().zip(&modes) {
        if u.nrows() == 0 || u.ncols() == 0 {
            return Err(Error::ZeroDimension { shape: vec![u.nrows(), u.ncols()] });
        }
        if u.ncols() != core.shape()[k] {
            return Err(Error::ShapeMismatch {
                op,
                left: core.shape().to_vec(),
                right: vec![u.nrows(), u.ncols()],
                detail: format!(
                    "the factor of mode {k} has {} columns but the core's dimension {k} is {}",
                    u.ncols(),
                    core.shape()[k]
                ),
            });
        }
    }
    core.check_nonempty()?;
    core.check_finite(op)?;
    for u in factors {
        check_finite_mat(op, u.as_ref())?;
    }
    Ok(())
}

/// [`Error::NonFinite`] for the first (row-major) NaN/infinite entry of `m`.
pub(crate) fn check_finite_mat<T: Scalar>(op: &'static str, m: MatRef<'_, T>) -> Result<()> {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            let v = m[(i, j)];
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    op,
                    position: i * m.ncols() + j,
                    value: v.as_f64(),
                });
            }
        }
    }
    Ok(())
}

/// `Σ x_i²`, accumulated in `f64`.
pub(crate) fn sum_sq_f64<T: Scalar>(xs: &[T]) -> f64 {
    dot_f64(xs, xs)
}

/// `Σ a_i b_i`, accumulated in `f64` with four partial sums.
pub(crate) fn dot_f64<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0_f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 =
        ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x.as_f64() * y.as_f64()).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k].as_f64() * y[k].as_f64();
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// A default parallelism for multiplying a tensor of `numel` elements by matrices with about
/// `width` rows each, on `modes` modes.
fn par_for(numel: usize, width: usize, modes: usize) -> Par {
    auto_par(2.0 * numel as f64 * width.max(1) as f64 * modes.max(1) as f64)
}

/// `x ×_k mats[k]` for every `k` with `mats[k] = Some(..)`, modes left alone where `None`.
///
/// All modes present: one [`tenalg::multi_mode_product_with`] (it orders the modes itself);
/// otherwise the present modes are applied one by one, the most shrinking one first.
pub(crate) fn apply_factors<T: Scalar>(
    x: &Tensor<T>,
    mats: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<Tensor<T>> {
    let present: Vec<usize> = (0..mats.len()).filter(|&k| mats[k].is_some()).collect();
    let width = mats.iter().flatten().map(|m| m.nrows()).max().unwrap_or(1);
    let par = par.unwrap_or_else(|| par_for(x.numel(), width, present.len()));
    if present.is_empty() {
        return Ok(x.clone());
    }
    if present.len() == mats.len() {
        let all: Vec<MatRef<'_, T>> = mats.iter().flatten().copied().collect();
        return tenalg::multi_mode_product_with(x, &all, None, par);
    }
    let mut order = present;
    // Shrinking ratio rows/cols ascending: the mode that reduces the tensor most goes first.
    order.sort_by(|&a, &b| {
        let ra = mats[a].map_or(1.0, |m| m.nrows() as f64 / m.ncols() as f64);
        let rb = mats[b].map_or(1.0, |m| m.nrows() as f64 / m.ncols() as f64);
        ra.total_cmp(&rb)
    });
    let mut y: Option<Tensor<T>> = None;
    for k in order {
        if let Some(m) = mats[k] {
            let src = y.as_ref().unwrap_or(x);
            y = Some(tenalg::mode_product_with(src, m, k, par)?);
        }
    }
    Ok(y.unwrap_or_else(|| x.clone()))
}

/// `G ×_k U_k` over the present factors: the reconstruction.
pub(crate) fn reconstruct<T: Scalar>(
    core: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<Tensor<T>> {
    let balance = ColumnBalance::of(core, factors);
    if !balance.moved() && unit_exponent(core.max_abs().as_f64()) == 0 {
        return apply_factors(core, factors, par);
    }
    // Parts near the ends of the range: their products leave it on the way to an ordinary tensor
    // (f32 Tucker parts of 1e±30 gave a dense form 25 % off, found by the formats fuzz target).
    // Expand the balanced parts, their largest core entry at about 1, and scale the result once.
    let top = core
        .as_slice()
        .iter()
        .zip(&balance.core_exponents)
        .zip(&balance.dead)
        .filter(|((v, _), dead)| **v != T::zero() && !**dead)
        .map(|((v, &e), _)| binary_exponent(v.as_f64().abs()) + e)
        .max()
        .unwrap_or(0);
    let balanced_core = Tensor::from_parts_unchecked(
        core.shape().to_vec(),
        balance.core_entries(core, top).into_iter().map(T::of).collect(),
    );
    let in_t: Vec<Option<Mat<T>>> = balance
        .scaled_factors(factors)
        .iter()
        .map(|u| u.as_ref().map(|u| Mat::from_fn(u.nrows(), u.ncols(), |i, j| T::of(u[(i, j)]))))
        .collect();
    let refs: Vec<Option<MatRef<'_, T>>> =
        in_t.iter().map(|u| u.as_ref().map(|u| u.as_ref())).collect();
    let mut dense = apply_factors(&balanced_core, &refs, par)?;
    dense.map_in_place(|v| T::of(ldexp(v.as_f64(), top)));
    Ok(dense)
}

/// `X ×_k U_kᵀ` over the present factors: the projection onto the factor spaces.
pub(crate) fn project<T: Scalar>(
    x: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<Tensor<T>> {
    let transposed: Vec<Option<MatRef<'_, T>>> =
        factors.iter().map(|u| u.map(|u| u.transpose())).collect();
    apply_factors(x, &transposed, par)
}

/// `‖G ×_k U_k‖_F² = ⟨G, G ×_k U_kᵀU_k⟩`, skipping Gram matrices equal to the identity up
/// to rounding; accumulated in `f64`.
pub(crate) fn weighted_norm_sq<T: Scalar>(
    core: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<f64> {
    let mut grams: Vec<Option<Mat<T>>> = Vec::with_capacity(factors.len());
    let mut any = false;
    for u in factors {
        let g = match u {
            Some(u) if !is_orthonormal(*u) => {
                let mut g = Mat::<T>::zeros(u.ncols(), u.ncols());
                matmul(g.as_mut(), Accum::Replace, u.transpose(), *u, T::one(), Par::Seq);
                any = true;
                Some(g)
            }
            _ => None,
        };
        grams.push(g);
    }
    if !any {
        return Ok(sum_sq_f64(core.as_slice()));
    }
    let refs: Vec<Option<MatRef<'_, T>>> =
        grams.iter().map(|g| g.as_ref().map(|g| g.as_ref())).collect();
    let weighted = apply_factors(core, &refs, par)?;
    Ok(dot_f64(core.as_slice(), weighted.as_slice()).max(0.0))
}

/// Whether `UᵀU = I` up to `16·eps·max(I, r)` in every entry.
pub(crate) fn is_orthonormal<T: Scalar>(u: MatRef<'_, T>) -> bool {
    let (m, r) = (u.nrows(), u.ncols());
    if r > m {
        return false;
    }
    let mut g = Mat::<T>::zeros(r, r);
    matmul(g.as_mut(), Accum::Replace, u.transpose(), u, T::one(), Par::Seq);
    let tol = T::of(16.0) * T::epsilon() * T::of_usize(m.max(r));
    (0..r).all(|i| {
        (0..r).all(|j| (g[(i, j)] - if i == j { T::one() } else { T::zero() }).abs() <= tol)
    })
}

/// The shape of `core ×_k U_k`: each factor's row count, the core's size where a mode has none.
fn full_shape<T: Scalar>(core: &Tensor<T>, factors: &[Option<MatRef<'_, T>>]) -> Vec<usize> {
    (0..core.ndim())
        .map(|k| factors.get(k).copied().flatten().map_or(core.shape()[k], |u| u.nrows()))
        .collect()
}

/// `‖dense − G ×_k U_k‖ / ‖dense‖` without densifying unless cancellation requires it.
pub(crate) fn tucker_rel_error<T: Scalar>(
    op: &'static str,
    dense: &Tensor<T>,
    core: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<T> {
    let shape = full_shape(core, factors);
    if dense.shape() != shape.as_slice() {
        return Err(Error::ShapeMismatch {
            op,
            left: shape,
            right: dense.shape().to_vec(),
            detail: "the dense tensor must have the decomposition's shape".into(),
        });
    }
    check_finite_slice(op, dense.as_slice())?;
    // f32 data goes through f64: the projections and Gram matrices of general (not
    // orthonormal) factors grow and cancel by more than f32's digits (a fuzz input reported
    // 1.5e-2 for a Tucker tensor against its own dense form).
    let in_f32 = T::epsilon().as_f64() > f64::EPSILON;
    if in_f32 || factors.iter().flatten().any(|u| unit_exponent(max_abs(*u)) != 0) {
        return Ok(T::of(widened_rel_error(op, dense, core, factors, par)?));
    }
    // The ratio is scale-free: near 1e±300 or below 1e-300 the squares leave the f64 range, so
    // scale the dense tensor and the core by the power of two of their largest magnitude first.
    let e = extreme_exponent(&[dense.as_slice(), core.as_slice()]);
    if e != 0 {
        // Exact: a power of two (the HOOI fit of [5e-324, 0, 0] reported 0 for a true 1.0 when
        // a subnormal largest magnitude left the data unscaled).
        let p = PowerOfTwo::new(-e);
        let scaled = |t: &Tensor<T>| t.map(|v| T::of(p.apply(v.as_f64())));
        return tucker_rel_error(op, &scaled(dense), &scaled(core), factors, par);
    }
    let nx = sum_sq_f64(dense.as_slice());
    let projected = project(dense, factors, par)?;
    let inner = dot_f64(projected.as_slice(), core.as_slice());
    let nh = weighted_norm_sq(core, factors, par)?;
    let diff_sq = nx - 2.0 * inner + nh;
    // General factors: how far the terms outgrow the data before they cancel (a fuzz input's
    // f64 Tucker tensor came out 1.1e-6 from its own dense form, above the plain floor). Against
    // `‖X‖²`, not the model's `‖X̂‖²`: that is summed from the same cancelling terms, and when
    // they cancel completely it is as wrong as the error (terms of 1e33 cancelling to a tensor
    // of norm 228 gave a self error of 9e22 and a growth too small to catch it).
    let growth = if factors.iter().all(|u| u.is_none_or(is_orthonormal)) {
        1.0
    } else {
        let abs: Vec<Option<Mat<T>>> = factors
            .iter()
            .map(|u| u.map(|u| Mat::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)].abs())))
            .collect();
        let refs: Vec<Option<MatRef<'_, T>>> =
            abs.iter().map(|u| u.as_ref().map(|u| u.as_ref())).collect();
        let magnitude_sq = weighted_norm_sq(&core.map(|v| v.abs()), &refs, par)?;
        (magnitude_sq / nx.min(nh.abs()).max(f64::MIN_POSITIVE)).sqrt()
    };
    let ratio = guarded_ratio::<T>(nx, diff_sq, dense.numel(), growth, || {
        let approx = reconstruct(core, factors, par)?;
        Ok(explicit_diff_norm(dense.as_slice(), approx.as_slice()))
    })?;
    Ok(T::of(ratio))
}

/// Every factor column far from 1 (beyond `2^±40`) scaled by a power of two to about 1
/// ([`ColumnBalance::scaled_factors`]), and the exponent each core entry takes over from its
/// columns (the sum over the modes, row-major): `G ×_k U_k` is unchanged when every core entry
/// is multiplied by `2^core_exponents`. `dead` marks the core entries that meet an all-zero
/// factor column: they add nothing, and are left out of the scaling (a huge one set the common
/// exponent, and the entries that matter fell to the subnormal range: a dense form 2 % off,
/// formats fuzz target). Only exponents are computed here; the scaled copies only when asked.
struct ColumnBalance {
    column_exponents: Vec<Vec<i32>>,
    core_exponents: Vec<i32>,
    dead: Vec<bool>,
}

impl ColumnBalance {
    fn of<T: Scalar>(core: &Tensor<T>, factors: &[Option<MatRef<'_, T>>]) -> Self {
        // Per mode and column: the exponent it gives up and whether it is all zero.
        let columns: Vec<Vec<(i32, bool)>> = factors
            .iter()
            .zip(core.shape())
            .map(|(u, &r)| match u {
                Some(u) => (0..u.ncols())
                    .map(|j| {
                        let m = max_abs(u.subcols(j, 1));
                        (unit_exponent(m), m == 0.0)
                    })
                    .collect(),
                None => vec![(0, false); r],
            })
            .collect();
        // Row-major over the core: the sum of the exponents, and whether any column is zero.
        let (core_exponents, dead) = columns
            .iter()
            .fold(vec![(0i32, false)], |acc, mode| {
                acc.iter()
                    .flat_map(|&(e, z)| mode.iter().map(move |&(f, y)| (e + f, z || y)))
                    .collect()
            })
            .into_iter()
            .unzip();
        let column_exponents =
            columns.into_iter().map(|mode| mode.into_iter().map(|(e, _)| e).collect()).collect();
        Self { column_exponents, core_exponents, dead }
    }

    /// The factors in `f64`, each column scaled by `2^-(its exponent)`.
    fn scaled_factors<T: Scalar>(
        &self,
        factors: &[Option<MatRef<'_, T>>],
    ) -> Vec<Option<Mat<f64>>> {
        factors
            .iter()
            .zip(&self.column_exponents)
            .map(|(u, e)| {
                u.map(|u| {
                    Mat::from_fn(u.nrows(), u.ncols(), |i, j| ldexp(u[(i, j)].as_f64(), -e[j]))
                })
            })
            .collect()
    }

    /// The core entries times `2^(core_exponents − shift)`, the dead ones 0.
    fn core_entries<T: Scalar>(&self, core: &Tensor<T>, shift: i32) -> Vec<f64> {
        core.as_slice()
            .iter()
            .zip(&self.core_exponents)
            .zip(&self.dead)
            .map(|((v, &e), &dead)| if dead { 0.0 } else { ldexp(v.as_f64(), e - shift) })
            .collect()
    }

    /// Whether any column was scaled.
    fn moved(&self) -> bool {
        self.core_exponents.iter().any(|&e| e != 0)
    }
}

/// [`tucker_rel_error`] in `f64`, for `f32` data or a factor near the ends of the range (its
/// Gram matrix would over- or underflow): every factor column scaled by a power of two to about
/// 1 and the core slice it meets by the inverse, which leaves the product unchanged, and the
/// dense tensor and the core by the power of two that brings the dense tensor to about 1, which
/// leaves the ratio unchanged.
///
/// Per column, not per factor: a 1e300 core entry that meets only the small entries of a factor
/// holding 1e300 elsewhere overflowed when the whole core took the factor's exponent (self
/// error NaN, found by the formats fuzz target).
fn widened_rel_error<T: Scalar>(
    op: &'static str,
    dense: &Tensor<T>,
    core: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    par: Option<Par>,
) -> Result<f64> {
    let balance = ColumnBalance::of(core, factors);
    let dense_max = dense.as_slice().iter().fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    let dense_exponent = binary_exponent(dense_max);
    let widened_core = balance.core_entries(core, dense_exponent);
    let scaled = balance.scaled_factors(factors);
    if !widened_core.iter().all(|v| v.is_finite()) {
        // The model's terms outgrow its entries by more than the range: compare dense forms.
        let approx = reconstruct(core, factors, par)?;
        return Ok(dense_rel_error(dense.as_slice(), approx.as_slice()));
    }
    let widened_core = Tensor::from_parts_unchecked(core.shape().to_vec(), widened_core);
    let widened_dense = Tensor::from_parts_unchecked(
        dense.shape().to_vec(),
        dense.as_slice().iter().map(|v| ldexp(v.as_f64(), -dense_exponent)).collect(),
    );
    tucker_rel_error(op, &widened_dense, &widened_core, &mat_refs(&scaled), par)
}

/// The largest magnitude in `u`, in `f64`.
fn max_abs<T: Scalar>(u: MatRef<'_, T>) -> f64 {
    let mut m = 0.0f64;
    for j in 0..u.ncols() {
        for i in 0..u.nrows() {
            m = m.max(u[(i, j)].as_f64().abs());
        }
    }
    m
}

/// `‖G ×₀ U₀ ⋯‖_F` by [`weighted_norm_sq`] in `f64`, the core and every factor scaled by a power
/// of two when they lie near the ends of the range. With orthonormal factors (HOSVD, HOOI) that
/// is `‖G‖_F`; with general ones the terms can cancel, and when fewer than about half the digits
/// of `T` are certain the norm comes from the reconstruction (see [`trusted_norm`]).
pub(crate) fn tucker_norm<T: Scalar>(core: &Tensor<T>, factors: &[Option<MatRef<'_, T>>]) -> T {
    if factors.iter().all(|u| u.is_none_or(is_orthonormal)) {
        return core.norm();
    }
    let (g, mut exponent) = widen_scaled(core.as_slice());
    let g = Tensor::from_parts_unchecked(core.shape().to_vec(), g);
    let mut signed: Vec<Option<Mat<f64>>> = Vec::with_capacity(factors.len());
    for u in factors {
        signed.push(u.map(|u| {
            let (v, e) = widen_mat_scaled(u);
            exponent += e;
            v
        }));
    }
    let absolute: Vec<Option<Mat<f64>>> = signed
        .iter()
        .map(|u| u.as_ref().map(|u| Mat::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)].abs())))
        .collect();
    // Only a size overflow could fail here, which the constructors rule out for the core.
    let value = weighted_norm_sq(&g, &mat_refs(&signed), None).unwrap_or(f64::NAN).sqrt();
    let magnitude =
        weighted_norm_sq(&g.map(f64::abs), &mat_refs(&absolute), None).unwrap_or(f64::NAN).sqrt();
    let terms = core.numel() + factors.iter().flatten().map(|u| u.nrows()).sum::<usize>();
    trusted_norm(ldexp(value, exponent), magnitude / value, terms, || {
        checked_dense(&full_shape(core, factors), std::mem::size_of::<T>())?;
        reconstruct(core, factors, None)
    })
}

/// Borrowed views of optional factors.
fn mat_refs(m: &[Option<Mat<f64>>]) -> Vec<Option<MatRef<'_, f64>>> {
    m.iter().map(|u| u.as_ref().map(|u| u.as_ref())).collect()
}

/// The power of two `e` that brings the largest magnitude in `parts` into `[0.5, 1)` when it
/// lies where sums of squares in `T` or `f64` overflow or underflow (outside `[1e-140, 1e140]`,
/// in `f32` outside about `[1e-16, 2e16]`; subnormal included, which a reciprocal could not
/// scale); else 0.
pub(crate) fn extreme_exponent<T: Scalar>(parts: &[&[T]]) -> i32 {
    let m = parts.iter().flat_map(|p| p.iter()).fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    let lo = (T::min_positive_value().as_f64().sqrt() * 1e3).max(1e-140);
    let hi = (T::max_value().as_f64().sqrt() * 1e-3).min(1e140);
    if m > 0.0 && m.is_finite() && !(lo..=hi).contains(&m) {
        binary_exponent(m)
    } else {
        0
    }
}

/// `‖a − b‖`, accumulated in `f64`.
pub(crate) fn explicit_diff_norm<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = x.as_f64() - y.as_f64();
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_reconstruct(core: &Tensor<f64>, factors: &[Mat<f64>]) -> Tensor<f64> {
        let shape: Vec<usize> = factors.iter().map(|u| u.nrows()).collect();
        let mut out = Tensor::zeros(&shape).unwrap();
        let mut it = crate::tensor::MultiIndexIter::new(&shape);
        while let Some(i) = it.next_index() {
            let i = i.to_vec();
            let mut s = 0.0;
            let mut jt = crate::tensor::MultiIndexIter::new(core.shape());
            while let Some(j) = jt.next_index() {
                let mut p = core.get(j).unwrap();
                for k in 0..shape.len() {
                    p *= factors[k][(i[k], j[k])];
                }
                s += p;
            }
            out.set(&i, s).unwrap();
        }
        out
    }

    fn random_mat(m: usize, n: usize, seed: u64) -> Mat<f64> {
        let t = Tensor::<f64>::random_normal(&[m, n], seed).unwrap();
        Mat::from_fn(m, n, |i, j| t.as_slice()[i * n + j])
    }

    #[test]
    fn to_dense_matches_naive_loops() {
        let core = Tensor::<f64>::random_normal(&[2, 3, 2], 1).unwrap();
        let factors = vec![random_mat(4, 2, 2), random_mat(3, 3, 3), random_mat(5, 2, 4)];
        let t = TuckerTensor::new(core.clone(), factors.clone()).unwrap();
        let dense = t.to_dense().unwrap();
        let naive = naive_reconstruct(&core, &factors);
        let tol = 64.0 * f64::EPSILON * naive.norm();
        assert!(dense.sub(&naive).unwrap().norm() <= tol);
        assert_eq!(t.num_params(), 12 + 8 + 9 + 10);
        assert!((t.compression_ratio() - 60.0 / 39.0).abs() < 1e-12);
    }

    #[test]
    fn norm_and_rel_error_for_general_factors() {
        let core = Tensor::<f64>::random_normal(&[2, 2, 3], 5).unwrap();
        let factors = vec![random_mat(3, 2, 6), random_mat(4, 2, 7), random_mat(3, 3, 8)];
        let t = TuckerTensor::new(core, factors).unwrap();
        let dense = t.to_dense().unwrap();
        let tol = 64.0 * f64::EPSILON * (dense.numel() as f64).sqrt();
        assert!((t.norm() - dense.norm()).abs() <= tol * dense.norm());
        let x = Tensor::<f64>::random_normal(&[3, 4, 3], 9).unwrap();
        let explicit = x.sub(&dense).unwrap().norm() / x.norm();
        assert!((t.rel_error(&x).unwrap() - explicit).abs() <= tol * 16.0);
        // Exact representation: the cheap formula cancels, the fallback gives ~eps.
        assert!(t.rel_error(&dense).unwrap() <= tol);
    }

    #[test]
    fn new_rejects_bad_parts() {
        let core = Tensor::<f32>::zeros(&[2, 3]).unwrap();
        let ok = || vec![Mat::<f32>::zeros(4, 2), Mat::<f32>::zeros(5, 3)];
        assert!(TuckerTensor::new(core.clone(), ok()).is_ok());
        let err = TuckerTensor::new(core.clone(), vec![Mat::zeros(4, 2)]).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }));
        let err =
            TuckerTensor::new(core.clone(), vec![Mat::zeros(4, 3), Mat::zeros(5, 3)]).unwrap_err();
        assert!(err.to_string().contains("mode 0"), "{err}");
        let mut bad = ok();
        bad[1][(2, 1)] = f32::NAN;
        let err = TuckerTensor::new(core, bad).unwrap_err();
        assert!(matches!(err, Error::NonFinite { position: 7, .. }), "{err}");
    }

    /// A 1e300 core entry meets only the small entries of a factor that holds 1e300 itself:
    /// the tensor is ordinary (1e300 on the diagonal), but scaling the factor to 1 and the core
    /// by the factor's exponent overflowed the core (self error NaN, a formats fuzz input).
    #[test]
    fn large_core_beside_a_large_factor_entry_keeps_the_error_finite() {
        let core = Tensor::from_vec(&[2, 2], vec![1.0, 0.0, 0.0, 1e300]).unwrap();
        let u0 = Mat::from_fn(2, 2, |i, j| match (i, j) {
            (0, 0) => 1e300,
            (1, 1) => 1.0,
            _ => 0.0,
        });
        let t = TuckerTensor::new(core, vec![u0, Mat::identity(2, 2)]).unwrap();
        let dense = t.to_dense().unwrap();
        assert_eq!(dense.as_slice(), &[1e300, 0.0, 0.0, 1e300]);
        assert_eq!(t.rel_error(&dense).unwrap(), 0.0);
        let half = dense.scale(0.5);
        let e: f64 = t.rel_error(&half).unwrap();
        assert!((e - 1.0).abs() < 1e-12, "{e}");
    }

    #[test]
    fn rel_error_rejects_wrong_shape_and_nan() {
        let t = TuckerTensor::new(
            Tensor::<f64>::ones(&[1, 1]).unwrap(),
            vec![Mat::identity(2, 1), Mat::identity(2, 1)],
        )
        .unwrap();
        let err = t.rel_error(&Tensor::zeros(&[2, 3]).unwrap()).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }));
        let mut x = Tensor::zeros(&[2, 2]).unwrap();
        x.set(&[1, 0], f64::NAN).unwrap();
        assert!(matches!(t.rel_error(&x).unwrap_err(), Error::NonFinite { .. }));
    }
}
