//! Leading left singular subspace of a matrix, by SVD or by the Gram matrix `A·Aᵀ` + eigensolver.

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, Mat, MatRef, Par};

use super::check::{check_matrix, safe_scale, shape_of};
use super::eigen::sym_eigen_desc_unchecked;
use super::svd::{thin_svd, Truncation};
use crate::error::Result;
use crate::scalar::Scalar;

/// The leading left singular vectors of `A` (`m × n`) and their singular values:
/// `A ≈ U Uᵀ A` with `‖A − U Uᵀ A‖_F² = discarded_sq = Σ_{i≥r} s_i²`.
///
/// `u` is `m × r` with orthonormal columns, `s` the `r` kept singular values (descending),
/// `full_spectrum` all `min(m, n)` singular values (descending).
#[derive(Clone, Debug)]
pub struct LeftSubspace<T> {
    /// Leading left singular vectors, `m × r`.
    pub u: Mat<T>,
    /// Kept singular values, descending, length `r`.
    pub s: Vec<T>,
    /// `Σ_{i≥r} s_i²`, the squared Frobenius norm of `A − U Uᵀ A`.
    pub discarded_sq: T,
    /// All `min(m, n)` singular values, descending.
    pub full_spectrum: Vec<T>,
}

/// How [`left_subspace`] computes the subspace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubspaceMethod {
    /// [`Gram`](Self::Gram) for short-fat matrices (`4·m ≤ n`), else [`Svd`](Self::Svd); a Gram
    /// result whose smallest kept singular value is below `GRAM_FALLBACK·sqrt(eps)·s_max`
    /// (`GRAM_FALLBACK = 10`) is recomputed by SVD, since the Gram route cannot resolve it (so is
    /// one whose eigensolver fails to converge).
    #[default]
    Auto,
    /// Thin SVD of `A` without right singular vectors: accurate to `O(eps·s_max)` in every
    /// singular value; costs `O(m·n·min(m, n))` with a larger constant.
    Svd,
    /// Eigendecomposition of the `m × m` Gram matrix `G = A·Aᵀ` (one triangular GEMM, `m²n` flops, plus an
    /// `O(m³)` eigensolver): `s_i = sqrt(max(λ_i, 0))`. This squares the condition number:
    /// eigenvalues carry an absolute error `≈ eps·s_max²`, so singular values below about
    /// `sqrt(eps)·s_max` are unreliable (and the corresponding vectors arbitrary). Fine for
    /// choosing a truncation, not for reporting tiny singular values.
    Gram,
}

/// Factor in the Auto rule: Gram results whose smallest kept singular value lies below
/// `GRAM_FALLBACK · sqrt(eps) · s_max` are recomputed by SVD.
const GRAM_FALLBACK: f64 = 10.0;

/// The leading left singular subspace of `a`, truncated as `trunc` says (rank rule of
/// [`Truncation`]), computed as `method` says (see [`SubspaceMethod`]).
///
/// This is what HOSVD/HOOI/TT-SVD need from a mode unfolding `X_(n)` (`I_n × ∏_{k≠n} I_k`): the
/// factor `U` with `‖X_(n) − U Uᵀ X_(n)‖_F² = Σ_{i≥r} s_i²`.
///
/// ```
/// use faer::Mat;
/// use tensorize::linalg::{left_subspace, SubspaceMethod, Truncation};
/// use tensorize::par::Par;
/// // A short-fat rank-2 matrix 4 × 40: Auto uses the Gram route.
/// let a = Mat::<f64>::from_fn(4, 40, |i, j| ((i + 1) * j) as f64 + (j % 3) as f64);
/// let sub = left_subspace(a.as_ref(), &Truncation::rank(2), SubspaceMethod::Auto, Par::Seq)?;
/// assert_eq!((sub.u.nrows(), sub.u.ncols()), (4, 2));
/// assert_eq!(sub.full_spectrum.len(), 4);
/// assert!(sub.discarded_sq.sqrt() <= 1e-6 * sub.s[0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`svd_truncated`](super::svd_truncated): empty matrix, NaN/Inf, invalid truncation,
/// no convergence.
pub fn left_subspace<T: Scalar>(
    a: MatRef<'_, T>,
    trunc: &Truncation,
    method: SubspaceMethod,
    par: Par,
) -> Result<LeftSubspace<T>> {
    const OP: &str = "left_subspace";
    check_matrix(OP, a)?;
    trunc.validate(OP, &shape_of(a))?;
    let (m, n) = a.shape();
    match method {
        SubspaceMethod::Svd => by_svd(OP, a, trunc, par),
        SubspaceMethod::Gram => by_gram(OP, a, trunc, par),
        SubspaceMethod::Auto => {
            if m.saturating_mul(4) > n {
                return by_svd(OP, a, trunc, par);
            }
            let Ok(sub) = by_gram(OP, a, trunc, par) else {
                return by_svd(OP, a, trunc, par);
            };
            let s_max = sub.full_spectrum.first().map_or(0.0, |x| x.as_f64());
            let s_min = sub.s.last().map_or(0.0, |x| x.as_f64());
            let threshold = GRAM_FALLBACK * T::epsilon().as_f64().sqrt() * s_max;
            if s_max > 0.0 && s_min < threshold {
                by_svd(OP, a, trunc, par)
            } else {
                Ok(sub)
            }
        }
    }
}

fn by_svd<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
    trunc: &Truncation,
    par: Par,
) -> Result<LeftSubspace<T>> {
    let (s, u, _) = thin_svd(op, a, true, false, par)?;
    let s64: Vec<f64> = s.iter().map(|x| x.as_f64()).collect();
    let (r, discarded) = trunc.choose(&s64);
    let u = u.map(|u| u.subcols(0, r).to_owned()).unwrap_or_else(|| Mat::zeros(a.nrows(), r));
    Ok(LeftSubspace { u, s: s[..r].to_vec(), discarded_sq: T::of(discarded), full_spectrum: s })
}

fn by_gram<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
    trunc: &Truncation,
    par: Par,
) -> Result<LeftSubspace<T>> {
    let (m, n) = a.shape();
    let k = m.min(n);
    // Entries near the overflow/underflow thresholds: work with A / c, then s ← c·s.
    let scaled;
    let (a_used, factor) = match safe_scale(a) {
        None => (a, T::one()),
        Some(c) => {
            // Divided, not multiplied by 1 / c: for c = 2^-1074 the reciprocal is ∞ and
            // 0 · ∞ = NaN (found by the decompositions fuzz target, an SVD of 5e-324 entries).
            scaled = Mat::from_fn(m, n, |i, j| a[(i, j)] / c);
            (scaled.as_ref(), c)
        }
    };
    let mut g = Mat::<T>::zeros(m, m);
    // Only the lower triangle is computed (half the flops) — all the eigensolver reads.
    triangular::matmul(
        g.as_mut(),
        BlockStructure::TriangularLower,
        Accum::Replace,
        a_used,
        BlockStructure::Rectangular,
        a_used.transpose(),
        BlockStructure::Rectangular,
        T::one(),
        par,
    );
    let (lambda, v) = sym_eigen_desc_unchecked(op, g.as_ref(), par)?;
    // s_i = sqrt(max(λ_i, 0)); only the first min(m, n) can be nonzero.
    let s: Vec<T> = lambda[..k].iter().map(|&l| l.max(T::zero()).sqrt() * factor).collect();
    let s64: Vec<f64> = s.iter().map(|x| x.as_f64()).collect();
    let (r, discarded) = trunc.choose(&s64);
    let u = v.subcols(0, r).to_owned();
    Ok(LeftSubspace { u, s: s[..r].to_vec(), discarded_sq: T::of(discarded), full_spectrum: s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::linalg::testutil::{eps, low_rank, orth_err, randn};
    use crate::linalg::{svd_truncated, Truncation};

    /// ‖A − U Uᵀ A‖_F in f64.
    fn proj_err<T: Scalar>(a: &Mat<T>, u: &Mat<T>) -> f64 {
        let (m, n) = a.shape();
        let r = u.ncols();
        let mut acc = 0.0;
        for j in 0..n {
            let c: Vec<f64> = (0..r)
                .map(|k| (0..m).map(|i| u[(i, k)].as_f64() * a[(i, j)].as_f64()).sum())
                .collect();
            for i in 0..m {
                let p: f64 = (0..r).map(|k| u[(i, k)].as_f64() * c[k]).sum();
                acc += (a[(i, j)].as_f64() - p).powi(2);
            }
        }
        acc.sqrt()
    }

    fn routes_agree<T: Scalar>() {
        // Well conditioned: full-rank Gaussian short-fat and tall matrices.
        for &(m, n) in &[(5, 40), (8, 8), (20, 6), (1, 10), (10, 1)] {
            let a = randn::<T>(m, n, (m + 3 * n) as u64);
            let svd = left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Svd, Par::Seq)
                .unwrap();
            let gram =
                left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Gram, Par::Seq)
                    .unwrap();
            let auto =
                left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Auto, Par::Seq)
                    .unwrap();
            let k = m.min(n);
            assert_eq!(svd.full_spectrum.len(), k);
            assert_eq!(gram.full_spectrum.len(), k);
            let smax = svd.full_spectrum[0].as_f64();
            let smin = svd.full_spectrum[k - 1].as_f64();
            // Gram: eigenvalue error ~ eps·s_max², so s_i error ~ eps·s_max²/s_i.
            let tol = 50.0 * eps::<T>() * (m.max(n) as f64) * smax * smax / smin;
            for i in 0..k {
                let (x, y) = (svd.full_spectrum[i].as_f64(), gram.full_spectrum[i].as_f64());
                assert!((x - y).abs() <= tol, "{m}x{n}: s_{i} {x} vs {y}");
                assert!((x - auto.full_spectrum[i].as_f64()).abs() <= tol);
            }
            let otol = 50.0 * eps::<T>() * (m as f64) * (smax / smin).powi(2);
            assert!(orth_err(&svd.u) <= otol && orth_err(&gram.u) <= otol);
            assert!(svd.s.windows(2).all(|w| w[0] >= w[1]));
            assert!(gram.s.windows(2).all(|w| w[0] >= w[1]));
            // Matches svd_truncated
            let full = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
            for i in 0..k {
                assert!(
                    (full.s[i].as_f64() - svd.s[i].as_f64()).abs()
                        <= 20.0 * eps::<T>() * smax * (k as f64)
                );
            }
        }
    }

    fn truncated_projection<T: Scalar>() {
        let a = low_rank::<T>(6, 60, 6, 0.2, 5);
        for method in [SubspaceMethod::Auto, SubspaceMethod::Svd, SubspaceMethod::Gram] {
            let budget = 0.05;
            let sub =
                left_subspace(a.as_ref(), &Truncation::error(budget), method, Par::Seq).unwrap();
            // singular values 1, .2, .04, .008, ... → keep 2: tail sqrt(.04²+.008²+…) ≈ 0.0408
            assert_eq!(sub.u.ncols(), 2, "{method:?}");
            let err = proj_err(&a, &sub.u);
            let tol = 100.0 * eps::<T>().sqrt() * 1.0;
            assert!(err <= budget + tol, "{method:?}: {err}");
            assert!((err * err - sub.discarded_sq.as_f64()).abs() <= tol);
        }
    }

    fn auto_falls_back<T: Scalar>() {
        // Short-fat with singular values down to 1e-3·sqrt(eps): Gram cannot resolve the last
        // ones, so Auto must answer like Svd.
        let tiny = 1e-3 * eps::<T>().sqrt();
        let a = low_rank::<T>(4, 40, 4, tiny.powf(1.0 / 3.0), 11);
        let auto =
            left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Auto, Par::Seq).unwrap();
        let svd =
            left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Svd, Par::Seq).unwrap();
        for i in 0..4 {
            let (x, y) = (auto.s[i].as_f64(), svd.s[i].as_f64());
            assert!((x - y).abs() <= 20.0 * eps::<T>() * svd.s[0].as_f64(), "{i}: {x} {y}");
        }
        assert!(orth_err(&auto.u) <= 50.0 * eps::<T>());
    }

    fn extreme_scale<T: Scalar>() {
        // Entries near sqrt(max) would overflow A·Aᵀ without scaling.
        let big = T::max_value().sqrt().as_f64() * 4.0;
        let a0 = randn::<T>(3, 30, 2);
        let a = Mat::from_fn(3, 30, |i, j| a0[(i, j)] * T::of(big));
        let gram =
            left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Gram, Par::Seq).unwrap();
        let svd =
            left_subspace(a.as_ref(), &Truncation::full(), SubspaceMethod::Svd, Par::Seq).unwrap();
        assert!(gram.s.iter().all(|x| x.is_finite()));
        let rel = (gram.s[0].as_f64() - svd.s[0].as_f64()).abs() / svd.s[0].as_f64();
        assert!(rel <= 100.0 * eps::<T>(), "{rel}");
    }

    fn bad_input<T: Scalar>() {
        let mut a = Mat::<T>::zeros(2, 3);
        a[(0, 2)] = T::neg_infinity();
        for method in [SubspaceMethod::Auto, SubspaceMethod::Svd, SubspaceMethod::Gram] {
            assert!(matches!(
                left_subspace(a.as_ref(), &Truncation::full(), method, Par::Seq),
                Err(Error::NonFinite { position: 2, .. })
            ));
        }
        assert!(matches!(
            left_subspace(
                Mat::<T>::zeros(0, 2).as_ref(),
                &Truncation::full(),
                SubspaceMethod::Gram,
                Par::Seq
            ),
            Err(Error::ZeroDimension { .. })
        ));
    }

    #[test]
    fn f64_suite() {
        routes_agree::<f64>();
        truncated_projection::<f64>();
        auto_falls_back::<f64>();
        extreme_scale::<f64>();
        bad_input::<f64>();
    }

    #[test]
    fn f32_suite() {
        routes_agree::<f32>();
        truncated_projection::<f32>();
        auto_falls_back::<f32>();
        extreme_scale::<f32>();
        bad_input::<f32>();
    }
}
