//! The input of an SVD sweep (TT-SVD, TR-SVD, HOSVD): checked, and normalized when its norm is
//! so far from 1 that the SVD/Gram kernels could overflow or underflow.

use std::borrow::Cow;

use crate::error::Result;
use crate::format::norm_guard::dense_rel_error;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `x` ready for a sweep: `tensor` is `x` or `x / ‖x‖`, `factor` what to multiply the last core by
/// to undo that (1 when unscaled), `norm` the Frobenius norm of `tensor`.
pub(crate) struct SweepInput<'a, T: Scalar> {
    pub tensor: Cow<'a, Tensor<T>>,
    pub factor: T,
    pub norm: f64,
}

impl<T: Scalar> SweepInput<'_, T> {
    /// The relative error to report for a fit of `tensor` with error `fit_error`, once scaled
    /// back by `factor`: `fit_error` itself, unless `factor` (`‖x‖`) is subnormal. Scaled back
    /// by a subnormal number the result's parts keep few digits or round to 0 (found by the
    /// decompositions fuzz target: HOOI and CP-ALS of `[5e-324, 0, 5e-324, …]` reported 0.3 and
    /// 1.4 for a true 1.0), so the error is recomputed from `returned()`, the dense form of what
    /// is returned, against the original `x`.
    pub(crate) fn reported_error(
        &self,
        x: &Tensor<T>,
        fit_error: f64,
        returned: impl FnOnce() -> Result<Tensor<T>>,
    ) -> Result<f64> {
        if self.factor.is_normal() {
            return Ok(fit_error);
        }
        Ok(dense_rel_error(x.as_slice(), returned()?.as_slice()))
    }
}

/// Checks `x` for NaN/Inf (named after `op`) and normalizes it when `‖x‖` is within a factor
/// 1e3 of the square root of the smallest positive or of the largest finite value.
pub(crate) fn sweep_input<'a, T: Scalar>(
    x: &'a Tensor<T>,
    op: &'static str,
) -> Result<SweepInput<'a, T>> {
    x.check_nonempty()?;
    // One pass for both: the (overflow-safe) norm is finite iff every element is.
    let nx = x.norm();
    if !nx.is_finite() {
        x.check_finite(op)?;
    }
    let safe = nx >= T::min_positive_value().sqrt() * T::of(1e3)
        && nx <= T::max_value().sqrt() * T::of(1e-3);
    if safe || nx == T::zero() {
        return Ok(SweepInput { tensor: Cow::Borrowed(x), factor: T::one(), norm: nx.as_f64() });
    }
    // Divided, not multiplied by 1/‖x‖: for a subnormal norm (5e-324) the reciprocal is ∞
    // (HOOI of [5e-324] reconstructed ∞, found by the decompositions fuzz target).
    let scaled = x.map(|v| v / nx);
    let norm = scaled.norm().as_f64();
    Ok(SweepInput { tensor: Cow::Owned(scaled), factor: nx, norm })
}
