//! HOSVD and ST-HOSVD (sequentially truncated HOSVD): Tucker decompositions in one pass, by
//! multilinear ranks or by a relative error bound ε.

use faer::{Mat, MatRef};

use crate::decomp::subspace::{leading_basis, RankRule};
use crate::decomp::sweep_input::sweep_input;
use crate::error::{check_non_negative, Error, Result};
use crate::format::rel_error::guarded_ratio;
use crate::format::tucker::{explicit_diff_norm, project, reconstruct, sum_sq_f64};
use crate::format::{Factorized, TuckerTensor};
use crate::linalg::SubspaceMethod;
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// What the truncation aims at.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Ranks(Vec<usize>),
    Error { eps: f64, max_ranks: Option<Vec<usize>> },
}

/// Parameters of the (sequentially truncated) higher-order SVD.
///
/// **HOSVD** (De Lathauwer et al. 2000): for every mode `n`, `U_n` holds the `r_n` leading
/// left singular vectors of the unfolding `X_(n)`, and the core is the projection
/// `G = X ×₀ U₀ᵀ ⋯ ×_{d−1} U_{d−1}ᵀ`.
///
/// **ST-HOSVD** (Vannieuwenhoven et al. 2012, [`sequential(true)`](Self::sequential)): the
/// modes are processed in order `0, 1, …`, and after choosing `U_n` the working tensor is
/// shrunk, `Y ← Y ×_n U_nᵀ`, so later modes work on smaller tensors; the last `Y` is the core.
/// Faster, and usually slightly more accurate.
///
/// Both give orthonormal factors, so `‖X̂‖ = ‖G‖` and `‖X − X̂‖² = ‖X‖² − ‖G‖²`.
///
/// **Error target** ([`with_error(ε)`](Self::with_error)): guarantees
/// `‖X − X̂‖_F ≤ ε ‖X‖_F` by giving each of the `d` modes an equal share of the squared budget:
/// mode `n` keeps the fewest vectors whose discarded energy `Σ_{i≥r_n} σ_i(Y_(n))²` is at most
/// `ε²‖X‖²/d`. For HOSVD `‖X − X̂‖² ≤ Σ_n Σ_{i≥r_n} σ_i(X_(n))²`; for ST-HOSVD
/// `‖X − X̂‖² = Σ_n` (energy discarded at step `n`, measured on the shrunk tensor), so in both
/// cases the total is at most `ε²‖X‖²`. (The share is reduced by the rounding error of the
/// spectrum, so the bound also holds in floating point.) Capping the ranks with
/// [`max_ranks`](Self::max_ranks) voids the guarantee; the report still gives the achieved error.
///
/// The leading subspaces come from the Gram matrix `X_(n) X_(n)ᵀ` (computed without copying the
/// unfolding) and a symmetric eigensolver, with an SVD where that is not accurate (see
/// [`SubspaceMethod`]). The reported error is `sqrt(‖X‖² − ‖G‖²)/‖X‖`, recomputed from the
/// explicit difference when it is below `eps^{1/4}` of the type (cancellation).
///
/// ```
/// use tensorize::decomp::Hosvd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[6, 5, 4], 0)?;
/// let (t, report) = Hosvd::new(&[3, 3, 2]).sequential(true).fit(&x)?;
/// assert_eq!(t.ranks(), vec![3, 3, 2]);
/// assert!((report.rel_error - t.rel_error(&x)?).abs() < 1e-10);
///
/// let (t, report) = Hosvd::with_error(0.5).fit(&x)?;
/// assert!(report.rel_error <= 0.5);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hosvd {
    target: Target,
    sequential: bool,
    method: SubspaceMethod,
    par: Option<Par>,
}

impl Hosvd {
    /// HOSVD with multilinear ranks `ranks` (one per mode, `1 ≤ r_n ≤ I_n`).
    pub fn new(ranks: &[usize]) -> Self {
        Self::from_target(Target::Ranks(ranks.to_vec()))
    }

    /// HOSVD with the ranks chosen so that `‖X − X̂‖_F ≤ eps · ‖X‖_F` (`eps ≥ 0`; `0` keeps
    /// every direction with non-zero energy).
    pub fn with_error(eps: f64) -> Self {
        Self::from_target(Target::Error { eps, max_ranks: None })
    }

    fn from_target(target: Target) -> Self {
        Self { target, sequential: false, method: SubspaceMethod::Auto, par: None }
    }

    /// With an error target: never keep more than `ranks[n]` vectors on mode `n` (this can
    /// break the error guarantee). Ignored with fixed ranks.
    pub fn max_ranks(mut self, ranks: &[usize]) -> Self {
        if let Target::Error { max_ranks, .. } = &mut self.target {
            *max_ranks = Some(ranks.to_vec());
        }
        self
    }

    /// Sequentially truncated HOSVD (`true`) or plain HOSVD (`false`, the default).
    pub fn sequential(mut self, yes: bool) -> Self {
        self.sequential = yes;
        self
    }

    /// How the leading subspaces are computed (default [`SubspaceMethod::Auto`]).
    pub fn method(mut self, method: SubspaceMethod) -> Self {
        self.method = method;
        self
    }

    /// Explicit parallelism (default: chosen from the problem size with [`auto_par`]).
    pub fn par(mut self, par: Par) -> Self {
        self.par = Some(par);
        self
    }

    /// Decomposes `x`; returns the Tucker tensor (orthonormal factors) and the achieved error.
    ///
    /// # Errors
    /// - [`Error::NonFinite`] if `x` holds NaN or infinity;
    /// - [`Error::InvalidRank`] unless there is one rank per mode with `1 ≤ r_n ≤ I_n`;
    /// - [`Error::InvalidParameter`] for a negative or non-finite `eps`.
    pub fn fit<T: Scalar>(&self, x: &Tensor<T>) -> Result<(TuckerTensor<T>, FitReport)> {
        let op = if self.sequential { "st_hosvd" } else { "hosvd" };
        x.check_nonempty()?;
        match &self.target {
            Target::Ranks(r) => check_ranks(op, r, x.shape())?,
            Target::Error { eps, max_ranks } => {
                check_non_negative("eps", *eps)?;
                if let Some(r) = max_ranks {
                    check_ranks(op, r, x.shape())?;
                }
            }
        }
        x.check_finite(op)?;
        // Near overflow (1e300) or underflow (1e-300) the Gram matrices of the unfoldings leave
        // the floating-point range: fit x / ‖x‖ and scale the core back.
        let input = sweep_input(x, op)?;
        let original = x;
        let x = input.tensor.as_ref();
        let d = x.ndim();
        let norm_x_sq = sum_sq_f64(x.as_slice());
        let rule = |k: usize| match &self.target {
            Target::Ranks(r) => RankRule::Rank(r[k]),
            Target::Error { eps, max_ranks } => RankRule::Energy {
                budget_sq: eps * eps * norm_x_sq / d as f64,
                max_rank: max_ranks.as_ref().map(|m| m[k]),
            },
        };
        let par = self.par.unwrap_or_else(|| {
            auto_par(2.0 * x.numel() as f64 * x.shape().iter().sum::<usize>() as f64)
        });

        let mut factors: Vec<Mat<T>> = Vec::with_capacity(d);
        let core = if self.sequential {
            let mut y: Option<Tensor<T>> = None;
            for k in 0..d {
                let cur = y.as_ref().unwrap_or(x);
                let basis = leading_basis(cur, k, rule(k), self.method, par)?;
                y = Some(tenalg::mode_product_with(cur, basis.u.transpose(), k, par)?);
                factors.push(basis.u);
            }
            y.unwrap_or_else(|| x.clone())
        } else {
            for k in 0..d {
                factors.push(leading_basis(x, k, rule(k), self.method, par)?.u);
            }
            let refs: Vec<Option<MatRef<'_, T>>> =
                factors.iter().map(|u| Some(u.as_ref())).collect();
            project(x, &refs, Some(par))?
        };

        let rel_error = orthonormal_rel_error(x, &core, &factors, norm_x_sq, par)?;
        let core = if input.factor == T::one() { core } else { core.scale(input.factor) };
        let tucker = TuckerTensor::from_parts_unchecked(core, factors);
        let rel_error = input.reported_error(original, rel_error, || tucker.to_dense())?;
        Ok((tucker, FitReport::one_pass(rel_error)))
    }
}

/// HOSVD of `x` with multilinear ranks `ranks`: `Hosvd::new(ranks).fit(x)`.
///
/// ```
/// use tensorize::decomp::hosvd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f32>::random_normal(&[4, 3, 5], 1)?;
/// let (t, report) = hosvd(&x, &[4, 3, 5])?; // full rank: exact
/// assert!(report.rel_error < 1e-5);
/// assert!(t.rel_error(&x)? < 1e-5);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`Hosvd::fit`].
pub fn hosvd<T: Scalar>(x: &Tensor<T>, ranks: &[usize]) -> Result<(TuckerTensor<T>, FitReport)> {
    Hosvd::new(ranks).fit(x)
}

/// Sequentially truncated HOSVD of `x` with multilinear ranks `ranks`:
/// `Hosvd::new(ranks).sequential(true).fit(x)`.
///
/// ```
/// use tensorize::decomp::st_hosvd;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[8, 6, 4], 2)?;
/// let (t, report) = st_hosvd(&x, &[2, 2, 2])?;
/// assert_eq!(t.core().shape(), &[2, 2, 2]);
/// assert!(report.rel_error < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`Hosvd::fit`].
pub fn st_hosvd<T: Scalar>(x: &Tensor<T>, ranks: &[usize]) -> Result<(TuckerTensor<T>, FitReport)> {
    Hosvd::new(ranks).sequential(true).fit(x)
}

/// [`Error::InvalidRank`] unless `ranks` has one entry per dimension of `shape` with
/// `1 ≤ ranks[k] ≤ shape[k]`.
pub(crate) fn check_ranks(op: &'static str, ranks: &[usize], shape: &[usize]) -> Result<()> {
    let fail = |detail: String| Error::InvalidRank {
        op,
        ranks: ranks.to_vec(),
        shape: shape.to_vec(),
        detail,
    };
    if ranks.len() != shape.len() {
        return Err(fail(format!(
            "expected {} ranks (one per mode), got {}",
            shape.len(),
            ranks.len()
        )));
    }
    for (k, (&r, &n)) in ranks.iter().zip(shape).enumerate() {
        if r == 0 || r > n {
            return Err(fail(format!("rank {r} of mode {k} must lie in 1..={n}")));
        }
    }
    Ok(())
}

/// `‖X − X̂‖/‖X‖` for orthonormal factors: `sqrt(‖X‖² − ‖G‖²)/‖X‖`, from the explicit
/// difference when cancellation dominates.
pub(crate) fn orthonormal_rel_error<T: Scalar>(
    x: &Tensor<T>,
    core: &Tensor<T>,
    factors: &[Mat<T>],
    norm_x_sq: f64,
    par: Par,
) -> Result<f64> {
    let refs: Vec<Option<MatRef<'_, T>>> = factors.iter().map(|u| Some(u.as_ref())).collect();
    orthonormal_rel_error_partial(x, core, &refs, norm_x_sq, par)
}

/// As [`orthonormal_rel_error`], with `None` for modes left alone.
pub(crate) fn orthonormal_rel_error_partial<T: Scalar>(
    x: &Tensor<T>,
    core: &Tensor<T>,
    factors: &[Option<MatRef<'_, T>>],
    norm_x_sq: f64,
    par: Par,
) -> Result<f64> {
    let diff_sq = norm_x_sq - sum_sq_f64(core.as_slice());
    guarded_ratio::<T>(norm_x_sq, diff_sq, x.numel(), 1.0, || {
        let approx = reconstruct(core, factors, Some(par))?;
        Ok(explicit_diff_norm(x.as_slice(), approx.as_slice()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Factorized;

    fn orthonormality_defect(u: &Mat<f64>) -> f64 {
        let g = u.transpose() * u;
        let mut worst = 0.0_f64;
        for i in 0..g.nrows() {
            for j in 0..g.ncols() {
                let e = if i == j { 1.0 } else { 0.0 };
                worst = worst.max((g[(i, j)] - e).abs());
            }
        }
        worst
    }

    /// X = G ×ₖ Uₖ with a known multilinear rank.
    fn low_rank(shape: &[usize], ranks: &[usize], seed: u64) -> Tensor<f64> {
        let core = Tensor::random_normal(ranks, seed).unwrap();
        let factors = shape
            .iter()
            .zip(ranks)
            .enumerate()
            .map(|(k, (&n, &r))| {
                let t = Tensor::<f64>::random_normal(&[n, r], seed + 1 + k as u64).unwrap();
                Mat::from_fn(n, r, |i, j| t.as_slice()[i * r + j])
            })
            .collect();
        TuckerTensor::new(core, factors).unwrap().to_dense().unwrap()
    }

    #[test]
    fn recovers_exact_low_rank_tensor() {
        let x = low_rank(&[7, 6, 5], &[3, 2, 2], 3);
        for seq in [false, true] {
            for method in [SubspaceMethod::Auto, SubspaceMethod::Svd, SubspaceMethod::Gram] {
                let (t, rep) =
                    Hosvd::new(&[3, 2, 2]).sequential(seq).method(method).fit(&x).unwrap();
                let tol = 1e3 * f64::EPSILON;
                assert!(rep.rel_error <= tol, "{seq} {method:?} {}", rep.rel_error);
                assert!(t.rel_error(&x).unwrap() <= tol);
                for u in t.factors() {
                    assert!(orthonormality_defect(u) <= 64.0 * f64::EPSILON);
                }
            }
        }
    }

    #[test]
    fn hosvd_factors_span_leading_singular_vectors_of_unfoldings() {
        // On a matrix, HOSVD is the truncated SVD: error = tail of singular values.
        let x = Tensor::<f64>::random_normal(&[6, 9], 4).unwrap();
        let (_, rep) = hosvd(&x, &[2, 2]).unwrap();
        let sub = crate::linalg::svd_truncated(
            x.as_mat().unwrap(),
            &crate::linalg::Truncation { max_rank: None, max_error: None },
            Par::Seq,
        )
        .unwrap();
        let s: Vec<f64> = sub.s.clone();
        let tail: f64 = s[2..].iter().map(|v| v * v).sum();
        let total: f64 = s.iter().map(|v| v * v).sum();
        assert!((rep.rel_error - (tail / total).sqrt()).abs() <= 1e3 * f64::EPSILON);
    }

    #[test]
    fn error_target_is_met_and_ranks_are_minimal_for_exact_rank() {
        let x = low_rank(&[8, 7, 6], &[2, 3, 2], 5);
        for seq in [false, true] {
            let (t, rep) = Hosvd::with_error(1e-6).sequential(seq).fit(&x).unwrap();
            assert_eq!(t.ranks(), vec![2, 3, 2]);
            assert!(rep.rel_error <= 1e-6);
            let (_, rep) = Hosvd::with_error(0.3).sequential(seq).fit(&x).unwrap();
            assert!(rep.rel_error <= 0.3);
            let (t, _) = Hosvd::with_error(0.3).max_ranks(&[1, 1, 1]).fit(&x).unwrap();
            assert_eq!(t.ranks(), vec![1, 1, 1]);
        }
    }

    #[test]
    fn rejects_bad_input() {
        let x = Tensor::<f32>::random_normal(&[3, 4], 0).unwrap();
        assert!(matches!(hosvd(&x, &[3]).unwrap_err(), Error::InvalidRank { .. }));
        assert!(matches!(hosvd(&x, &[0, 2]).unwrap_err(), Error::InvalidRank { .. }));
        assert!(matches!(st_hosvd(&x, &[3, 5]).unwrap_err(), Error::InvalidRank { .. }));
        for eps in [-0.1, f64::NAN, f64::INFINITY] {
            let err = Hosvd::with_error(eps).fit(&x).unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { name: "eps", .. }));
        }
        let mut y = x.clone();
        y.set(&[1, 1], f32::INFINITY).unwrap();
        assert!(matches!(hosvd(&y, &[1, 1]).unwrap_err(), Error::NonFinite { .. }));
    }
}
