//! Truncated singular value decomposition by rank and/or by absolute Frobenius error budget.

use faer::diag::Diag;
use faer::dyn_stack::MemStack;
use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
use faer::{Mat, MatRef, Par};

use super::check::{check_matrix, safe_scale, scratch, shape_of};
use super::wide_svd::{wide_svd_u, WIDE_RATIO};
use crate::error::{check_non_negative, Error, Result};
use crate::scalar::Scalar;

/// How far to truncate a decomposition: by rank, by absolute Frobenius error, or both.
///
/// For singular values `s_0 ≥ s_1 ≥ … ≥ s_{k-1}` (`k = min(m, n)`) the kept rank is
///
/// ```text
/// r = min( max_rank, k, min{ r ≥ 1 : sqrt(Σ_{i ≥ r} s_i²) ≤ max_error } )
/// ```
///
/// so that `‖A − A_r‖_F = sqrt(Σ_{i ≥ r} s_i²) ≤ max_error` whenever the rank cap does not bind
/// (Eckart–Young). Neither field set means full rank `k`; the rank is always at least 1.
/// `max_error` is **absolute**: for a relative budget ε pass `ε · ‖A‖_F`.
///
/// ```
/// use tensorize::linalg::Truncation;
/// let t = Truncation::error(1e-3).max_rank(10);
/// assert_eq!(t.max_rank, Some(10));
/// assert_eq!(t.max_error, Some(1e-3));
/// assert_eq!(Truncation::full(), Truncation::default());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Truncation {
    /// The largest rank to keep (must be ≥ 1 when set).
    pub max_rank: Option<usize>,
    /// The absolute Frobenius error `sqrt(Σ_{i≥r} s_i²)` allowed (finite, ≥ 0, when set).
    pub max_error: Option<f64>,
}

impl Truncation {
    /// No truncation: keep all `min(m, n)` singular triplets.
    pub fn full() -> Self {
        Self::default()
    }

    /// Keep at most `r` singular triplets.
    pub fn rank(r: usize) -> Self {
        Self { max_rank: Some(r), max_error: None }
    }

    /// Keep the fewest singular triplets with `‖A − A_r‖_F ≤ abs_err`.
    pub fn error(abs_err: f64) -> Self {
        Self { max_rank: None, max_error: Some(abs_err) }
    }

    /// Builder: additionally cap the rank at `r`.
    pub fn max_rank(mut self, r: usize) -> Self {
        self.max_rank = Some(r);
        self
    }

    /// Builder: additionally allow an absolute Frobenius error of `abs_err`.
    pub fn max_error(mut self, abs_err: f64) -> Self {
        self.max_error = Some(abs_err);
        self
    }

    /// Checks the fields: `max_rank ≥ 1`, `max_error` finite and `≥ 0`.
    pub(crate) fn validate(&self, op: &'static str, shape: &[usize]) -> Result<()> {
        if let Some(0) = self.max_rank {
            return Err(Error::InvalidRank {
                op,
                ranks: vec![0],
                shape: shape.to_vec(),
                detail: "the maximal rank must be at least 1".to_string(),
            });
        }
        if let Some(e) = self.max_error {
            check_non_negative("max_error", e)?;
        }
        Ok(())
    }

    /// The kept rank `r` for the descending spectrum `s`, and the discarded energy
    /// `Σ_{i≥r} s_i²` (computed in `f64`, so it does not overflow for `f32` inputs).
    pub(crate) fn choose(&self, s: &[f64]) -> (usize, f64) {
        let k = s.len();
        // tail[r] = Σ_{i ≥ r} s_i², tail[k] = 0.
        let mut tail = vec![0.0f64; k + 1];
        for i in (0..k).rev() {
            tail[i] = tail[i + 1] + s[i] * s[i];
        }
        let mut r = k;
        if let Some(e) = self.max_error {
            let budget = e * e;
            r = (1..=k).find(|&r| tail[r] <= budget).unwrap_or(k);
        }
        if let Some(cap) = self.max_rank {
            r = r.min(cap);
        }
        let r = r.max(1).min(k);
        (r, tail[r])
    }
}

/// A truncated SVD `A ≈ U diag(s) Vᵀ`.
///
/// `u` is `m × r` and `v` is `n × r`, both with orthonormal columns; `s` holds the `r` kept
/// singular values in descending order; `discarded_sq = Σ_{i≥r} s_i² = ‖A − U diag(s) Vᵀ‖_F²`;
/// `full_spectrum` holds all `min(m, n)` singular values (descending).
#[derive(Clone, Debug)]
pub struct TruncatedSvd<T> {
    /// Left singular vectors, `m × r`.
    pub u: Mat<T>,
    /// Kept singular values, descending, length `r`.
    pub s: Vec<T>,
    /// Right singular vectors, `n × r`.
    pub v: Mat<T>,
    /// `Σ_{i≥r} s_i²`, the squared Frobenius norm of the part that was dropped.
    pub discarded_sq: T,
    /// All `min(m, n)` singular values, descending.
    pub full_spectrum: Vec<T>,
}

/// The SVD of `a`, truncated as `trunc` says (see [`Truncation`] for the rank rule).
///
/// Computes `A = U Σ Vᵀ` with faer's low-level thin SVD on `par` threads and keeps the leading
/// `r` triplets, so that `‖A − U_r Σ_r V_rᵀ‖_F² = Σ_{i≥r} s_i²` (Eckart–Young optimal).
///
/// ```
/// use faer::Mat;
/// use tensorize::linalg::{svd_truncated, Truncation};
/// use tensorize::par::Par;
/// // A rank-2 matrix plus nothing: an error budget of 1e-8 keeps exactly 2 triplets.
/// let a = Mat::<f64>::from_fn(6, 5, |i, j| (i + j) as f64 + (i * j) as f64);
/// let t = svd_truncated(a.as_ref(), &Truncation::error(1e-8), Par::Seq)?;
/// assert_eq!(t.s.len(), 2);
/// assert_eq!((t.u.nrows(), t.u.ncols(), t.v.nrows()), (6, 2, 5));
/// assert_eq!(t.full_spectrum.len(), 5);
/// assert!(t.discarded_sq.sqrt() <= 1e-8);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`] for an empty matrix, [`Error::NonFinite`] for NaN/Inf entries,
/// [`Error::InvalidRank`] for `max_rank = Some(0)`, [`Error::InvalidParameter`] for a negative or
/// non-finite `max_error`, [`Error::NoConvergence`] if faer's SVD does not converge.
pub fn svd_truncated<T: Scalar>(
    a: MatRef<'_, T>,
    trunc: &Truncation,
    par: Par,
) -> Result<TruncatedSvd<T>> {
    const OP: &str = "svd_truncated";
    check_matrix(OP, a)?;
    trunc.validate(OP, &shape_of(a))?;
    let (s, u, v) = thin_svd(OP, a, true, true, par)?;
    let s64: Vec<f64> = s.iter().map(|x| x.as_f64()).collect();
    let (r, discarded) = trunc.choose(&s64);
    let u = u.map(|u| u.subcols(0, r).to_owned()).unwrap_or_else(|| Mat::zeros(a.nrows(), r));
    let v = v.map(|v| v.subcols(0, r).to_owned()).unwrap_or_else(|| Mat::zeros(a.ncols(), r));
    Ok(TruncatedSvd { u, s: s[..r].to_vec(), v, discarded_sq: T::of(discarded), full_spectrum: s })
}

/// Thin SVD through faer's low-level kernel: the `min(m, n)` singular values (descending,
/// non-negative) and, on request, thin `U` (`m × k`) and `V` (`n × k`). A wide matrix whose
/// `V` is not wanted goes through a QR of its transpose first (see `wide_svd`).
pub(crate) type SvdParts<T> = (Vec<T>, Option<Mat<T>>, Option<Mat<T>>);

/// See [`SvdParts`]. `a` must be non-empty and finite.
pub(crate) fn thin_svd<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
    want_u: bool,
    want_v: bool,
    par: Par,
) -> Result<SvdParts<T>> {
    let (m, n) = a.shape();
    let k = m.min(n);
    // Entries near the overflow/underflow thresholds: decompose a / c, then s ← c·s.
    let scaled;
    let (a, factor) = match safe_scale(a) {
        None => (a, T::one()),
        Some(c) => {
            // Divided, not multiplied by 1 / c: for c = 2^-1074 the reciprocal is ∞ and
            // 0 · ∞ = NaN (found by the decompositions fuzz target, an SVD of 5e-324 entries).
            scaled = Mat::from_fn(m, n, |i, j| a[(i, j)] / c);
            (scaled.as_ref(), c)
        }
    };
    if k == 1 {
        return Ok(single_vector_svd(a, factor, want_u, want_v));
    }
    let (s, u, v) = if want_u && !want_v && m > 1 && n >= WIDE_RATIO * m {
        let (s, u) = wide_svd_u(op, a, par)?;
        (s, Some(u), None)
    } else {
        let flag = |w: bool| if w { ComputeSvdVectors::Thin } else { ComputeSvdVectors::No };
        let mut s = Diag::<T>::zeros(k);
        let mut u = if want_u { Some(Mat::<T>::zeros(m, k)) } else { None };
        let mut v = if want_v { Some(Mat::<T>::zeros(n, k)) } else { None };
        let req = svd_scratch::<T>(m, n, flag(want_u), flag(want_v), par, Default::default());
        let mut mem = scratch(req, &[m, n])?;
        svd(
            a,
            s.as_mut(),
            u.as_mut().map(|u| u.as_mut()),
            v.as_mut().map(|v| v.as_mut()),
            par,
            MemStack::new(&mut mem),
            Default::default(),
        )
        .map_err(|_| Error::NoConvergence { op, shape: vec![m, n] })?;
        (s, u, v)
    };
    let col = s.column_vector();
    let values: Vec<T> = (0..k).map(|i| col[i].abs() * factor).collect();
    if values.iter().any(|x| !x.is_finite()) {
        return Err(Error::NoConvergence { op, shape: vec![m, n] });
    }
    Ok((values, u, v))
}

/// The SVD of a single column or row `a` (scaled by `1 / factor`), written out: `σ = ‖a‖`, the
/// one singular vector `a / σ` and `[1]`. faer's f32 SVD of a 10⁶ × 1 column returned a `U`
/// orthogonal to it (tests/decomp_edge_cases.rs), and this is exact and cheaper anyway.
fn single_vector_svd<T: Scalar>(
    a: MatRef<'_, T>,
    factor: T,
    want_u: bool,
    want_v: bool,
) -> SvdParts<T> {
    let (m, n) = a.shape();
    let norm =
        (0..m).flat_map(|i| (0..n).map(move |j| a[(i, j)].as_f64().powi(2))).sum::<f64>().sqrt();
    // A zero vector has any unit vector as its singular vector: the first basis vector.
    let unit = |len: usize| -> Mat<T> {
        Mat::from_fn(len, 1, |i, _| {
            let v = if m == 1 { a[(0, i)] } else { a[(i, 0)] };
            match (norm > 0.0, i) {
                (true, _) => T::of(v.as_f64() / norm),
                (false, 0) => T::one(),
                (false, _) => T::zero(),
            }
        })
    };
    let one = || Mat::from_fn(1, 1, |_, _| T::one());
    let (u, v) = if n == 1 { (unit(m), one()) } else { (one(), unit(n)) };
    (vec![T::of(norm) * factor], want_u.then_some(u), want_v.then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil::{eps, fro, low_rank, orth_err, randn, recon_err};

    fn full_reconstruction<T: Scalar>() {
        for &(m, n) in &[(1, 1), (7, 4), (4, 7), (12, 12), (1, 9), (9, 1)] {
            let a = randn::<T>(m, n, (m * 31 + n) as u64);
            let t = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
            let k = m.min(n);
            assert_eq!(t.s.len(), k);
            assert_eq!(t.full_spectrum.len(), k);
            let tol = 20.0 * eps::<T>() * ((m * n) as f64).sqrt();
            assert!(recon_err(&a, &t.u, &t.s, &t.v) <= tol * fro(&a), "{m}x{n}");
            assert!(orth_err(&t.u) <= tol, "U {m}x{n}");
            assert!(orth_err(&t.v) <= tol, "V {m}x{n}");
            assert!(t.s.windows(2).all(|w| w[0] >= w[1]));
            assert!(t.discarded_sq.as_f64() == 0.0);
        }
    }

    fn truncation_by_error<T: Scalar>() {
        let a = low_rank::<T>(20, 15, 8, 0.3, 3);
        let t = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
        let spec: Vec<f64> = t.full_spectrum.iter().map(|x| x.as_f64()).collect();
        for &budget in &[0.5, 0.1, 1e-2, 1e-3] {
            let tr = svd_truncated(a.as_ref(), &Truncation::error(budget), Par::Seq).unwrap();
            let r = tr.s.len();
            let tail: f64 = spec[r..].iter().map(|s| s * s).sum();
            assert!(tail.sqrt() <= budget);
            // smallest such r
            let tail_prev: f64 = spec[r - 1..].iter().map(|s| s * s).sum();
            assert!(r == 1 || tail_prev.sqrt() > budget);
            let err = recon_err(&a, &tr.u, &tr.s, &tr.v);
            let tol = 50.0 * eps::<T>() * 300f64.sqrt() * fro(&a);
            assert!(err <= budget + tol, "err {err} budget {budget}");
            assert!(
                (err * err - tr.discarded_sq.as_f64()).abs() <= 2.0 * tol * fro(&a) + tol * tol
            );
        }
        let capped = Truncation::error(1e-3).max_rank(2);
        assert_eq!(svd_truncated(a.as_ref(), &capped, Par::Seq).unwrap().s.len(), 2);
        assert_eq!(
            svd_truncated(a.as_ref(), &Truncation::rank(100), Par::Seq).unwrap().s.len(),
            15
        );
        // A huge budget still keeps one triplet.
        assert_eq!(
            svd_truncated(a.as_ref(), &Truncation::error(1e9), Par::Seq).unwrap().s.len(),
            1
        );
    }

    fn zero_matrix<T: Scalar>() {
        let a = Mat::<T>::zeros(5, 3);
        let t = svd_truncated(a.as_ref(), &Truncation::error(0.0), Par::Seq).unwrap();
        assert_eq!(t.s.len(), 1);
        assert_eq!(t.s[0], T::zero());
        assert!(orth_err(&t.u) <= 10.0 * eps::<T>());
    }

    fn bad_input<T: Scalar>() {
        let a = Mat::<T>::zeros(0, 3);
        assert!(matches!(
            svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq),
            Err(Error::ZeroDimension { .. })
        ));
        let mut a = Mat::<T>::zeros(2, 3);
        a[(1, 2)] = T::nan();
        assert!(matches!(
            svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq),
            Err(Error::NonFinite { position: 5, .. })
        ));
        let a = Mat::<T>::ones(2, 3);
        assert!(matches!(
            svd_truncated(a.as_ref(), &Truncation::rank(0), Par::Seq),
            Err(Error::InvalidRank { .. })
        ));
        assert!(matches!(
            svd_truncated(a.as_ref(), &Truncation::error(-1.0), Par::Seq),
            Err(Error::InvalidParameter { name: "max_error", .. })
        ));
        assert!(matches!(
            svd_truncated(a.as_ref(), &Truncation::error(f64::NAN), Par::Seq),
            Err(Error::InvalidParameter { .. })
        ));
    }

    fn parallel_matches_sequential<T: Scalar>() {
        let a = randn::<T>(40, 30, 9);
        let s1 = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
        let s2 = svd_truncated(a.as_ref(), &Truncation::full(), Par::rayon(2)).unwrap();
        let tol = 50.0 * eps::<T>() * s1.s[0].as_f64();
        for (x, y) in s1.s.iter().zip(&s2.s) {
            assert!((x.as_f64() - y.as_f64()).abs() <= tol);
        }
    }

    #[test]
    fn choose_rule() {
        let s = [4.0, 3.0, 0.0];
        assert_eq!(Truncation::full().choose(&s), (3, 0.0));
        assert_eq!(Truncation::error(0.0).choose(&s), (2, 0.0));
        assert_eq!(Truncation::error(3.0).choose(&s), (1, 9.0));
        assert_eq!(Truncation::error(5.0).choose(&s), (1, 9.0));
        assert_eq!(Truncation::error(2.9).choose(&s), (2, 0.0));
        assert_eq!(Truncation::rank(1).choose(&s), (1, 9.0));
        assert_eq!(Truncation::rank(7).choose(&s), (3, 0.0));
    }

    /// The smallest and the largest magnitudes: `[[t, 0], [0, t/2]]` (and a single row) has
    /// the singular values `t` and `t/2` with unit vectors, for `t` the smallest subnormal (its
    /// scaling once produced `0 · ∞ = NaN`) and the largest finite value.
    fn range_extremes<T: Scalar>() {
        let tiny = T::min_positive_value() * T::epsilon() * T::of(2.0);
        for t in [tiny, T::max_value()] {
            let half = t / T::of(2.0);
            let a = Mat::from_fn(2, 2, |i, j| {
                if i != j {
                    T::zero()
                } else if i == 0 {
                    t
                } else {
                    half
                }
            });
            let got = svd_truncated(a.as_ref(), &Truncation::full(), Par::Seq).unwrap();
            assert_eq!(got.s, vec![t, half], "{:e}", t.as_f64());
            assert!(orth_err(&got.u) <= 4.0 * eps::<T>() && orth_err(&got.v) <= 4.0 * eps::<T>());
            let row = Mat::from_fn(1, 3, |_, j| if j == 1 { t } else { T::zero() });
            let got = svd_truncated(row.as_ref(), &Truncation::full(), Par::Seq).unwrap();
            assert_eq!(got.s, vec![t], "{:e}", t.as_f64());
            assert_eq!(got.v[(1, 0)].abs(), T::one());
        }
    }

    #[test]
    fn f64_suite() {
        full_reconstruction::<f64>();
        truncation_by_error::<f64>();
        zero_matrix::<f64>();
        bad_input::<f64>();
        parallel_matches_sequential::<f64>();
        range_extremes::<f64>();
    }

    #[test]
    fn f32_suite() {
        full_reconstruction::<f32>();
        truncation_by_error::<f32>();
        zero_matrix::<f32>();
        bad_input::<f32>();
        parallel_matches_sequential::<f32>();
        range_extremes::<f32>();
    }
}
