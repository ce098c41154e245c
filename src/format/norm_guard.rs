//! Norms of factorized formats computed from their parts (Gram or transfer matrices), with a
//! guarantee: such a formula sums products of parts, so it can lose every digit — to cancellation
//! between terms, or to parts whose squares leave the floating range — while the tensor it
//! describes is ordinary. Each format evaluates its formula in `f64` on parts scaled by powers of
//! two (exact), once on the parts and once on their absolute values (how large the terms can
//! be), and asks [`trusted_norm`] whether the result keeps its digits; if not, the norm comes
//! from the dense form.

use crate::error::Result;
use crate::scalar::{ldexp, Scalar};
use crate::tensor::Tensor;

/// A part whose largest magnitude lies in `[2^-LIMIT, 2^LIMIT]` is used as it is; beyond, it is
/// scaled into that range first. Products of a dozen such parts stay inside `f64`.
const EXPONENT_LIMIT: i32 = 40;

/// The power of two `e` that brings a part with largest magnitude `max_abs` to about 1
/// (`max_abs · 2^-e ∈ [0.5, 1)`), or 0 when it is moderate already (or zero, or not finite).
pub(crate) fn unit_exponent(max_abs: f64) -> i32 {
    let e = binary_exponent(max_abs);
    if e.abs() <= EXPONENT_LIMIT {
        0
    } else {
        e
    }
}

/// The power of two `e` with `max_abs · 2^-e ∈ [0.5, 1)`; 0 for zero or a non-finite value.
pub(crate) fn binary_exponent(max_abs: f64) -> i32 {
    if !max_abs.is_finite() || max_abs == 0.0 {
        return 0;
    }
    let e = max_abs.log2().floor() as i32 + 1;
    // log2 can round across an integer for values just below a power of two.
    if ldexp(max_abs, -e) >= 1.0 {
        e + 1
    } else if ldexp(max_abs, -e) < 0.5 {
        e - 1
    } else {
        e
    }
}

/// Multiplication by `2^e`, exact for every `e` that maps a finite value into the normal range:
/// two factors, each a finite `f64` (`2^1073` alone is not), the larger applied first so that a
/// subnormal value is normal before the second.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PowerOfTwo(f64, f64);

impl PowerOfTwo {
    /// The scaling by `2^e`.
    pub(crate) fn new(e: i32) -> Self {
        let first = e.clamp(-1000, 1000);
        Self(ldexp(1.0, first), ldexp(1.0, e - first))
    }

    /// `v · 2^e`.
    pub(crate) fn apply(self, v: f64) -> f64 {
        v * self.0 * self.1
    }
}

/// `‖x − y‖ / ‖x‖` (`‖y‖` when `x = 0`) of two slices of the same length, in `f64` with both
/// scaled exactly by the power of two that brings their largest magnitude to `[0.5, 1)`: data
/// with a subnormal or near-overflow norm keeps every digit.
pub(crate) fn dense_rel_error<T: Scalar>(x: &[T], y: &[T]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let max_abs = x.iter().chain(y).fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    let e = binary_exponent(max_abs);
    scaled_ratio(scaled_sums(x, y, PowerOfTwo::new(-e)), e)
}

/// `(Σ (a − b)², Σ a²)` over the pairs of `x` and `y`, each value scaled by `p` first.
pub(crate) fn scaled_sums<T: Scalar>(x: &[T], y: &[T], p: PowerOfTwo) -> (f64, f64) {
    x.iter().zip(y).fold((0.0, 0.0), |(diff, norm), (&a, &b)| {
        let (a, b) = (p.apply(a.as_f64()), p.apply(b.as_f64()));
        (diff + (a - b) * (a - b), norm + a * a)
    })
}

/// `sqrt(diff_sq / norm_sq)` from sums scaled by `2^-e`; for `norm_sq = 0` (X = 0) the absolute
/// `sqrt(diff_sq)`, unscaled.
pub(crate) fn scaled_ratio((diff_sq, norm_sq): (f64, f64), e: i32) -> f64 {
    if norm_sq > 0.0 {
        (diff_sq / norm_sq).sqrt()
    } else {
        ldexp(diff_sq.sqrt(), e)
    }
}

/// `part` in `f64`, multiplied by `2^-e` for its [`unit_exponent`] `e`, and `e`.
pub(crate) fn widen_scaled<T: Scalar>(part: &[T]) -> (Vec<f64>, i32) {
    let max_abs = part.iter().fold(0.0f64, |m, v| m.max(v.as_f64().abs()));
    let e = unit_exponent(max_abs);
    (part.iter().map(|v| ldexp(v.as_f64(), -e)).collect(), e)
}

/// The matrix `u` in `f64`, multiplied by `2^-e` for its [`unit_exponent`] `e`, and `e`.
pub(crate) fn widen_mat_scaled<T: Scalar>(u: faer::MatRef<'_, T>) -> (faer::Mat<f64>, i32) {
    let mut max_abs = 0.0f64;
    for j in 0..u.ncols() {
        for i in 0..u.nrows() {
            max_abs = max_abs.max(u[(i, j)].as_f64().abs());
        }
    }
    let e = unit_exponent(max_abs);
    (faer::Mat::from_fn(u.nrows(), u.ncols(), |i, j| ldexp(u[(i, j)].as_f64(), -e)), e)
}

/// `value`, the norm of a format computed in `f64` by a formula that sums `terms` products
/// per result, when its rounding error bound `terms · eps_f64 · growth²` (relative, with
/// `growth = magnitude / value` for `magnitude` the same formula on the absolute values of the
/// parts) is below `1e-2 · sqrt(eps_T)`; otherwise the norm of `dense()` (the explicit form),
/// or `value` when the dense form does not fit the memory limit.
///
/// `growth` is NaN or ∞ when the scaled formula under- or overflowed (both norms 0, or only the
/// value): those are recomputed densely too.
pub(crate) fn trusted_norm<T: Scalar>(
    value: f64,
    growth: f64,
    terms: usize,
    dense: impl FnOnce() -> Result<Tensor<T>>,
) -> T {
    let bound = terms.max(1) as f64 * f64::EPSILON * growth * growth;
    if value.is_finite() && bound <= 1e-2 * T::epsilon().as_f64().sqrt() {
        return T::of(value);
    }
    match dense() {
        Ok(x) => x.norm(),
        Err(_) => T::of(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn power_of_two_scales_subnormals_and_huge_values_exactly() {
        let up = PowerOfTwo::new(1074);
        assert_eq!(up.apply(5e-324), 1.0);
        assert_eq!(up.apply(3.0 * 5e-324), 3.0);
        assert_eq!(PowerOfTwo::new(-1023).apply(f64::MAX), f64::MAX / 2f64.powi(1023));
        assert_eq!(PowerOfTwo::new(0).apply(-0.75), -0.75);
    }

    #[test]
    fn dense_rel_error_keeps_its_digits_for_subnormal_data() {
        // ‖[5e-324, 5e-324]‖ itself rounds to 5e-324; the ratio must not.
        let x = [5e-324, 5e-324, 0.0];
        assert_eq!(dense_rel_error(&x, &[0.0; 3]), 1.0);
        assert_eq!(dense_rel_error(&x, &[5e-324, 0.0, 0.0]), 0.5f64.sqrt());
        assert_eq!(dense_rel_error(&[1e300f64, -1e300], &[1e300, 1e300]), 2f64.sqrt());
        assert_eq!(dense_rel_error(&[0.0f32; 2], &[3e-45, 0.0]), 3e-45f32 as f64);
        assert_eq!(dense_rel_error::<f64>(&[], &[]), 0.0);
    }

    #[test]
    fn unit_exponent_leaves_moderate_parts_alone() {
        assert_eq!(unit_exponent(3.0), 0);
        assert_eq!(unit_exponent(0.0), 0);
        let e = unit_exponent(1e300);
        assert!((0.5..1.0).contains(&ldexp(1e300, -e)), "{e}");
        let e = unit_exponent(5e-324);
        assert_eq!(ldexp(5e-324, -e), 0.5);
    }

    #[test]
    fn untrusted_norms_come_from_the_dense_form() {
        let x = Tensor::from_vec(&[2], vec![3.0f64, 4.0]).unwrap();
        let fallback = || Ok(x.clone());
        assert_eq!(trusted_norm::<f64>(5.0, 1.0, 10, fallback), 5.0);
        // Terms cancelled down to 1e-6 of their size: half the digits are gone.
        assert_eq!(trusted_norm::<f64>(7.0, 1e6, 10, fallback), 5.0);
        assert_eq!(trusted_norm::<f64>(0.0, f64::NAN, 10, fallback), 5.0);
        assert_eq!(trusted_norm::<f64>(f64::INFINITY, 1.0, 10, fallback), 5.0);
        let refused = || Err(Error::SizeOverflow { shape: vec![usize::MAX] });
        assert_eq!(trusted_norm::<f64>(7.0, 1e6, 10, refused), 7.0);
    }
}
