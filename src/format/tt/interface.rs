//! How far a train's partial products outgrow the tensor it represents: the check TT rounding
//! makes before trusting its orthogonalization.
//!
//! Right-orthogonalizing `G_1 ⋯ G_d` factors, for `k = d … 2`, the core `C_k` (the core `G_k`
//! with the triangular factor of `G_{k+1} ⋯` absorbed; `‖C_k‖ = ‖G_k ⋯ G_d‖`) and rounds it to
//! `eps · ‖C_k‖`. The tensor sees that error through the untouched left part `G_1 ⋯ G_{k−1}`,
//! so it changes by up to about `eps · ‖G_1 ⋯ G_{k−1}‖ · ‖C_k‖`. For ordinary trains the growth
//! `max_k ‖G_1 ⋯ G_{k−1}‖ · ‖G_k ⋯ G_d‖ / ‖X‖` is about `sqrt(r_k)`; for cores whose terms
//! cancel (cores of 1e30 summing to a tensor of norm 5e3) it is astronomical, and the rounding's
//! result and its reported error are noise.

use faer::{Accum, MatMut, MatRef};

use super::core_dims;
use crate::format::norm_guard::{binary_exponent, PowerOfTwo};
use crate::kernels::gemm::gemm;
use crate::par::Par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `log2 ‖v‖₂` without overflow or underflow (`-∞` for a zero vector).
pub(super) fn log2_norm<T: Scalar>(v: &[T]) -> f64 {
    let max = v.iter().fold(0.0f64, |m, x| m.max(x.as_f64().abs()));
    if max == 0.0 || !max.is_finite() {
        return max.log2();
    }
    let e = binary_exponent(max);
    let scale = PowerOfTwo::new(-e);
    let sum: f64 = v.iter().map(|x| scale.apply(x.as_f64()).powi(2)).sum();
    0.5 * sum.log2() + f64::from(e)
}

/// `log2 ‖G_1 ⋯ G_p‖_F` for `p = 1 … d−1` (the left part as an `(n_1⋯n_p) × r_p` matrix) of
/// the train of `cores`, each core first scaled by the power of two that brings its largest
/// entry into `[0.5, 1)`: the Gram recursion `M_p = Σ_i G_p(i)ᵀ M_{p−1} G_p(i)`,
/// `‖G_1 ⋯ G_p‖² = trace M_p`, renormalized by powers of two. In `T`: the growth is compared
/// with `1/sqrt(eps)` on a log scale, so a few digits are plenty.
pub(super) fn left_log2_norms<T: Scalar>(cores: &[Tensor<T>], par: Par) -> Vec<f64> {
    let mut m = vec![T::one()];
    let mut log2_scale = 0i32;
    let mut out = Vec::with_capacity(cores.len().saturating_sub(1));
    for core in &cores[..cores.len().saturating_sub(1)] {
        let [ra, n, rb] = core_dims(core);
        let scale = PowerOfTwo::new(-binary_exponent(core.max_abs().as_f64()));
        let g: Vec<T> = core.as_slice().iter().map(|v| T::of(scale.apply(v.as_f64()))).collect();
        // T = M · G (ra × n·rb), then M' = (G^L)ᵀ · T^L with both viewed as (ra·n) × rb.
        let mut t = vec![T::zero(); ra * n * rb];
        gemm(
            MatMut::from_row_major_slice_mut(&mut t, ra, n * rb),
            MatRef::from_row_major_slice(&m, ra, ra),
            MatRef::from_row_major_slice(&g, ra, n * rb),
            Accum::Replace,
            par,
        );
        let mut next = vec![T::zero(); rb * rb];
        gemm(
            MatMut::from_row_major_slice_mut(&mut next, rb, rb),
            MatRef::from_row_major_slice(&g, ra * n, rb).transpose(),
            MatRef::from_row_major_slice(&t, ra * n, rb),
            Accum::Replace,
            par,
        );
        let e = binary_exponent(next.iter().fold(0.0f64, |acc, v| acc.max(v.as_f64().abs())));
        if e != 0 {
            let unit = PowerOfTwo::new(-e);
            next.iter_mut().for_each(|v| *v = T::of(unit.apply(v.as_f64())));
            log2_scale += e;
        }
        let trace: f64 = (0..rb).map(|b| next[b * rb + b].as_f64()).sum();
        out.push(0.5 * (trace.max(0.0).log2() + f64::from(log2_scale)));
        m = next;
    }
    out
}

/// The growth `log2 max_k ‖L_{k−1}‖ · ‖C_k‖ / ‖X‖` from `left[k−1] = log2 ‖L_{k−1}‖` (the left
/// part of `k` cores), `right[k] = log2 ‖C_k‖` for `k = 1 … d−1`, and `log2 ‖X‖`.
pub(super) fn log2_growth(left: &[f64], right: &[f64], log2_norm_x: f64) -> f64 {
    let worst = (1..right.len()).map(|k| left[k - 1] + right[k]).fold(f64::NEG_INFINITY, f64::max);
    if worst == f64::NEG_INFINITY {
        0.0 // a zero interface: nothing to lose
    } else {
        worst - log2_norm_x // +∞ for a tensor that orthogonalized to zero
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Factorized, TtTensor};
    use crate::scalar::ldexp;

    #[test]
    fn left_norms_match_the_dense_left_parts() {
        let cores = vec![
            Tensor::<f64>::random_normal(&[1, 3, 2], 1).unwrap().scale(1e200),
            Tensor::random_normal(&[2, 4, 3], 2).unwrap(),
            Tensor::random_normal(&[3, 2, 1], 3).unwrap().scale(1e-200),
        ];
        let got = left_log2_norms(&cores, Par::Seq);
        // The same cores scaled to unit size, multiplied out: [n1, r1] and [n1·n2, r2].
        let unit: Vec<Tensor<f64>> =
            cores.iter().map(|c| c.map(|v| ldexp(v, -binary_exponent(c.max_abs())))).collect();
        let l1 = unit[0].norm();
        // A train of the first two cores with its last rank kept: sum over that rank.
        let mut l2 = 0.0f64;
        for b in 0..3 {
            let mut end = Tensor::<f64>::zeros(&[3, 1, 1]).unwrap();
            end.as_mut_slice()[b] = 1.0;
            let cut = TtTensor::new(vec![unit[0].clone(), unit[1].clone(), end]);
            l2 += cut.unwrap().to_dense().unwrap().norm().powi(2);
        }
        assert!((got[0] - l1.log2()).abs() < 1e-12, "{got:?}");
        assert!((got[1] - 0.5 * l2.log2()).abs() < 1e-12, "{got:?}");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn log2_norm_survives_the_ends_of_the_range() {
        assert!((log2_norm(&[3e300f64, 4e300]) - (5e300f64).log2()).abs() < 1e-12);
        assert!((log2_norm(&[3e-310f64, 4e-310]) - (5e-310f64).log2()).abs() < 1e-3);
        assert_eq!(log2_norm::<f32>(&[0.0, 0.0]), f64::NEG_INFINITY);
    }
}
