//! Ranks by a relative error target ε: for SVD (matrix) layers from the spectrum, and for CP by
//! searching over CP-ALS fits (Tucker and TT take ε directly: `Hosvd::with_error`, `TtSvd::eps`).

use faer::MatRef;

use crate::decomp::CpAls;
use crate::error::{check_non_negative, Error, Result};
use crate::format::CpTensor;
use crate::linalg::{svd_truncated, Truncation};
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The smallest rank `r ≥ 1` whose truncated SVD meets the relative error `ε`:
/// `sqrt(Σ_{i≥r} s_i²) ≤ ε · sqrt(Σ_i s_i²)` (Eckart–Young: this is the exact error of the best
/// rank-`r` approximation). `s` must be the full spectrum, descending; sums are in `f64`.
///
/// ```
/// use tensorize::rank::svd_rank_for_error;
/// let s = [4.0, 2.0, 1.0, 0.5];          // energy 21.25
/// assert_eq!(svd_rank_for_error(&s, 0.25)?, 2); // tail 1.25 ≤ 0.0625·21.25 = 1.328
/// assert_eq!(svd_rank_for_error(&s, 0.0)?, 4);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative/non-finite `eps`, an empty spectrum, or negative or
/// non-descending values; [`Error::NonFinite`] for NaN/Inf values.
pub fn svd_rank_for_error<T: Scalar>(s: &[T], eps: f64) -> Result<usize> {
    const OP: &str = "svd_rank_for_error";
    check_non_negative("eps", eps)?;
    crate::tensor::arith::check_finite_slice(OP, s)?;
    let v: Vec<f64> = s.iter().map(|x| x.as_f64()).collect();
    let bad = (0..v.len()).find(|&i| v[i] < 0.0 || (i > 0 && v[i] > v[i - 1]));
    if v.is_empty() || bad.is_some() {
        return Err(Error::InvalidParameter {
            name: "singular_values",
            value: bad.map_or("[]".to_string(), |i| format!("s[{i}] = {}", v[i])),
            expected: "a non-empty, non-negative, descending spectrum",
        });
    }
    // tail[r] = ‖s[r..]‖, summed from the small end by `hypot`: no square is formed, so
    // spectra near 1e±300 neither overflow (every tail ∞, so rank 1 met any ε) nor underflow
    // (every tail 0), and no running difference can round below the truth.
    let mut tail = vec![0.0f64; v.len() + 1];
    for r in (0..v.len()).rev() {
        tail[r] = tail[r + 1].hypot(v[r]);
    }
    let budget = eps * tail[0];
    Ok((1..v.len()).find(|&r| tail[r] <= budget).unwrap_or(v.len()))
}

/// [`svd_rank_for_error`] of the matrix `a` (its spectrum by SVD).
///
/// ```
/// use faer::Mat;
/// use tensorize::rank::matrix_rank_for_error;
/// let a = Mat::<f64>::from_fn(6, 5, |i, j| (i + j) as f64 + (i * j) as f64); // rank 2
/// assert_eq!(matrix_rank_for_error(a.as_ref(), 1e-10)?, 2);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`crate::linalg::svd_truncated`] and [`svd_rank_for_error`].
pub fn matrix_rank_for_error<T: Scalar>(a: MatRef<'_, T>, eps: f64) -> Result<usize> {
    let (m, n) = a.shape();
    matrix_rank_for_error_with(a, eps, auto_par(4.0 * (m as f64) * (n as f64) * (m.min(n) as f64)))
}

/// [`matrix_rank_for_error`] with explicit parallelism `par` for the SVD.
///
/// # Errors
/// As [`matrix_rank_for_error`].
pub fn matrix_rank_for_error_with<T: Scalar>(
    a: MatRef<'_, T>,
    eps: f64,
    par: Par,
) -> Result<usize> {
    check_non_negative("eps", eps)?;
    let t = svd_truncated(a, &Truncation::rank(1), par)?;
    svd_rank_for_error(&t.full_spectrum, eps)
}

/// The outcome of [`cp_rank_for_error`]: the rank chosen, its fit, and every fit tried.
#[derive(Clone, Debug)]
pub struct CpRankSearch<T> {
    /// The smallest rank tried whose fit reached `rel_error ≤ ε` (or `max_rank` if none did).
    pub rank: usize,
    /// The CP fit at `rank`.
    pub cp: CpTensor<T>,
    /// Its report; `report.rel_error` is the **achieved** error.
    pub report: FitReport,
    /// Whether `report.rel_error ≤ ε`.
    pub reached: bool,
    /// `(rank, achieved rel_error)` of every fit, in the order they were run.
    pub tried: Vec<(usize, f64)>,
}

/// The smallest CP rank (up to `max_rank`) whose CP-ALS fit (default [`CpAls`] settings)
/// reaches `‖X − X̂‖_F ≤ ε ‖X‖_F`; see [`cp_rank_for_error_with`].
///
/// ```
/// use faer::Mat;
/// use tensorize::format::CpTensor;
/// use tensorize::rank::cp_rank_for_error;
/// use tensorize::Factorized;
/// let f = |d: usize, s: f64| Mat::from_fn(d, 3, |i, r| ((i + 1) as f64 * s + r as f64).sin());
/// let x = CpTensor::from_factors(vec![f(5, 1.0), f(6, 2.0), f(7, 3.0)])?.to_dense()?;
/// let found = cp_rank_for_error(&x, 1e-4, 8)?;
/// assert!(found.reached && found.rank <= 3);
/// assert!(found.cp.rel_error(&x)? <= 1e-4);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`cp_rank_for_error_with`].
pub fn cp_rank_for_error<T: Scalar>(
    x: &Tensor<T>,
    eps: f64,
    max_rank: usize,
) -> Result<CpRankSearch<T>> {
    cp_rank_for_error_with(x, eps, max_rank, |r| CpAls::new(r))
}

/// The smallest CP rank in `1..=max_rank` whose fit `make(rank).fit(x)` reaches
/// `rel_error ≤ ε`, by doubling (`1, 2, 4, …, max_rank`) and then bisection between the last
/// rank that missed and the first that reached ε.
///
/// **No ε guarantee.** CP-ALS is a local method: a fit may miss ε at a rank where a better
/// fit exists, and the achieved error need not decrease with the rank, so the bisection
/// assumes a monotone error and the rank found is the smallest *among those tried*. The
/// returned `report.rel_error` is the achieved error; `reached` says whether it meets ε; if
/// no tried rank reaches ε the `max_rank` fit is returned with `reached = false`. Every fit
/// is listed in `tried`. Use `make` to set iterations, tolerance, init or seed.
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative/non-finite `eps`; [`Error::InvalidRank`] for
/// `max_rank = 0`; anything [`CpAls::fit`] returns.
pub fn cp_rank_for_error_with<T: Scalar>(
    x: &Tensor<T>,
    eps: f64,
    max_rank: usize,
    make: impl Fn(usize) -> CpAls<T>,
) -> Result<CpRankSearch<T>> {
    check_non_negative("eps", eps)?;
    if max_rank == 0 {
        return Err(Error::InvalidRank {
            op: "cp_rank_for_error",
            ranks: vec![0],
            shape: x.shape().to_vec(),
            detail: "the maximal rank must be at least 1".to_string(),
        });
    }
    let mut tried = Vec::new();
    let fit = |r: usize, tried: &mut Vec<(usize, f64)>| -> Result<(CpTensor<T>, FitReport)> {
        let (cp, report) = make(r).fit(x)?;
        tried.push((r, report.rel_error));
        Ok((cp, report))
    };
    // Doubling: find the first power of two (or max_rank) that reaches ε.
    let mut lo = 0usize; // largest rank known to miss ε (0: none)
    let mut r = 1usize;
    let mut best;
    loop {
        let (cp, report) = fit(r, &mut tried)?;
        let ok = report.rel_error <= eps;
        best = (r, cp, report);
        if ok {
            break;
        }
        lo = r;
        if r == max_rank {
            let (rank, cp, report) = best;
            return Ok(CpRankSearch { rank, cp, report, reached: false, tried });
        }
        r = r.saturating_mul(2).min(max_rank);
    }
    // Bisection on (lo, hi]: hi reaches ε, lo misses it.
    let mut hi = best.0;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        let (cp, report) = fit(mid, &mut tried)?;
        if report.rel_error <= eps {
            hi = mid;
            best = (mid, cp, report);
        } else {
            lo = mid;
        }
    }
    let (rank, cp, report) = best;
    Ok(CpRankSearch { rank, cp, report, reached: true, tried })
}
