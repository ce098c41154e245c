//! Analytic empirical variational Bayesian matrix factorization (EVBMF, Nakajima et al. 2013) and
//! MUSCO's "weakened" rank rule built on it.

use faer::MatRef;

use super::minimize::brent_bounded;
use crate::error::{Error, Result};
use crate::linalg::{left_subspace, SubspaceMethod, Truncation};
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;

/// The result of [`evbmf`]: the estimated rank, noise variance and shrunk singular values.
///
/// With `L = min(rows, cols)`, `M = max(rows, cols)`, `α = L/M`, the global EVB solution keeps
/// the singular components whose singular value exceeds
/// `threshold = sqrt(σ² · M · (1 + τ̄)(1 + α/τ̄))` and shrinks each kept value to
///
/// ```text
/// γ̂_h = γ_h/2 · (1 − (L+M)σ²/γ_h² + sqrt((1 − (L+M)σ²/γ_h²)² − 4LMσ⁴/γ_h⁴))
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Evbmf<T> {
    /// The number of kept components (singular values above `threshold`).
    pub rank: usize,
    /// The noise variance σ² (estimated, or the one given). It scales with the square of the
    /// data, so for data beyond the square root of `T`'s range (about 1e±154 in `f64`, 1e±19 in
    /// `f32`) it rounds to ∞ or 0; `rank`, `threshold` and `shrunk` are computed on the
    /// spectrum scaled by its largest value and stay exact there.
    pub sigma2: T,
    /// The singular-value threshold `sqrt(σ² M (1 + τ̄)(1 + α/τ̄))`.
    pub threshold: T,
    /// The EVB estimates `γ̂_h` of the `rank` kept singular values (descending).
    pub shrunk: Vec<T>,
    /// All `L` singular values `γ_h` of the input (descending).
    pub spectrum: Vec<T>,
}

/// EVBMF of the matrix `y` with the noise variance estimated (see [`evbmf_from_spectrum`]).
///
/// The spectrum is computed by [`crate::linalg::left_subspace`] on the short side (all
/// singular values; parallelism from [`auto_par`]).
///
/// ```
/// use faer::Mat;
/// use tensorize::rank::evbmf;
/// use tensorize::Tensor;
/// // A rank-2 signal plus Gaussian noise of standard deviation 0.5.
/// let noise = Tensor::<f64>::random_normal(&[30, 40], 3)?;
/// let y = Mat::<f64>::from_fn(30, 40, |i, j| {
///     10.0 * ((i as f64) * 0.3).sin() * ((j as f64) * 0.2).cos()
///         + 5.0 * ((i as f64) * 0.7).cos() * ((j as f64) * 0.5).sin()
///         + 0.5 * noise.as_slice()[i * 40 + j]
/// });
/// let e = evbmf(y.as_ref())?;
/// assert_eq!(e.rank, 2);
/// assert!(e.shrunk[0] < e.spectrum[0]);
/// assert!((e.sigma2 - 0.25).abs() < 0.1); // the noise variance, estimated
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`] for an empty matrix, [`Error::NonFinite`] for NaN/Inf entries,
/// [`Error::NoConvergence`] if the SVD fails.
pub fn evbmf<T: Scalar>(y: MatRef<'_, T>) -> Result<Evbmf<T>> {
    let (m, n) = y.shape();
    let flops = 4.0 * (m as f64) * (n as f64) * (m.min(n) as f64);
    evbmf_with(y, None, auto_par(flops))
}

/// EVBMF of `y` with an optional known noise variance `sigma2` and explicit parallelism.
///
/// # Errors
/// As [`evbmf`], plus [`Error::InvalidParameter`] for a `sigma2` that is not finite and `> 0`.
pub fn evbmf_with<T: Scalar>(y: MatRef<'_, T>, sigma2: Option<f64>, par: Par) -> Result<Evbmf<T>> {
    let (m, n) = y.shape();
    let a = if m <= n { y } else { y.transpose() };
    let sub = left_subspace(a, &Truncation::rank(1), SubspaceMethod::Svd, par)?;
    evbmf_impl(&sub.full_spectrum, m, n, sigma2)
}

/// EVBMF from the singular values `s` (all `min(rows, cols)` of them, descending) of a
/// `rows × cols` matrix, with the noise variance σ² estimated.
///
/// σ² minimizes the analytic negative free energy of the global EVB solution (Nakajima,
/// Sugiyama, Babacan, Tomioka, JMLR 2013), up to constants:
///
/// ```text
/// F(σ²) = Σ_h [ x_h − log x_h + 1{x_h > x̄} (log(τ_h + 1) + α log(τ_h/α + 1) − τ_h) ],
///   x_h = γ_h² / (M σ²),   τ_h = ½ (x_h − 1 − α + sqrt((x_h − 1 − α)² − 4α)),
///   x̄ = (1 + τ̄)(1 + α/τ̄),
/// ```
///
/// where `τ̄` is the positive root of `log(τ + 1) + α log(τ/α + 1) − τ = 0` (≈ 2.5129·sqrt(α)),
/// over the bracket `[max(γ²_{H̄+1}/(M x̄), Σ_{h>H̄} γ_h²/(M(L − H̄))), Σ_h γ_h²/(LM)]`,
/// `H̄ = ⌈L/(1+α)⌉ − 1`, by Brent's bounded method with a tolerance relative to the bracket
/// (the reference code's absolute 1e-5 fails for small-variance data). The constant
/// `−log γ_h²` is dropped from `log x_h`, so exactly zero singular values are harmless.
/// Everything is computed in `f64`.
///
/// ```
/// use tensorize::rank::evbmf_from_spectrum;
/// let s = [50.0, 30.0, 2.1, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4];
/// let e = evbmf_from_spectrum(&s, 10, 40)?;
/// assert_eq!(e.rank, 2);
/// assert!(e.sigma2 > 0.0 && e.threshold < 30.0 && e.threshold > 2.1);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`] if `rows` or `cols` is 0; [`Error::InvalidRank`] unless `s` has
/// exactly `min(rows, cols)` entries; [`Error::NonFinite`] for NaN/Inf values;
/// [`Error::InvalidParameter`] for negative or non-descending values.
pub fn evbmf_from_spectrum<T: Scalar>(s: &[T], rows: usize, cols: usize) -> Result<Evbmf<T>> {
    evbmf_impl(s, rows, cols, None)
}

/// [`evbmf_from_spectrum`] with the noise variance σ² known (not estimated).
///
/// ```
/// use tensorize::rank::evbmf_from_spectrum_known_noise;
/// let s = [50.0, 30.0, 2.1, 2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4];
/// // A huge noise variance hides everything.
/// assert_eq!(evbmf_from_spectrum_known_noise(&s, 10, 40, 1e3)?.rank, 0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`evbmf_from_spectrum`], plus [`Error::InvalidParameter`] unless `sigma2` is finite and `> 0`.
pub fn evbmf_from_spectrum_known_noise<T: Scalar>(
    s: &[T],
    rows: usize,
    cols: usize,
    sigma2: f64,
) -> Result<Evbmf<T>> {
    evbmf_impl(s, rows, cols, Some(sigma2))
}

/// The positive root `τ̄` of `Ψ(τ) = log(τ + 1) + α log(τ/α + 1) − τ` for `0 < α ≤ 1`
/// (the EVB threshold constant; `τ̄(1) ≈ 2.5129`, and `τ̄ ≈ 2.5129·sqrt(α)` in general).
///
/// `Ψ` is concave, positive just right of 0 and tends to −∞, so bisection on an expanding
/// bracket finds its only positive root (to about 1e-15 relative).
///
/// ```
/// use tensorize::rank::evbmf_tau_bar;
/// assert!((evbmf_tau_bar(1.0)? - 2.5129).abs() < 1e-4);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 < α ≤ 1`.
pub fn evbmf_tau_bar(alpha: f64) -> Result<f64> {
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(Error::InvalidParameter {
            name: "alpha",
            value: alpha.to_string(),
            expected: "an aspect ratio min(rows, cols) / max(rows, cols) in (0, 1]",
        });
    }
    Ok(tau_bar(alpha))
}

/// See [`evbmf_tau_bar`]; `alpha` must lie in `(0, 1]`.
fn tau_bar(alpha: f64) -> f64 {
    let psi = |t: f64| (t + 1.0).ln() + alpha * (t / alpha + 1.0).ln() - t;
    let mut lo = alpha.sqrt() * 1e-3;
    let mut hi = 8.0;
    while psi(hi) > 0.0 {
        hi *= 2.0;
    }
    while psi(lo) < 0.0 && lo > 1e-300 {
        lo *= 0.5;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if psi(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

fn check_spectrum<T: Scalar>(op: &'static str, s: &[T], rows: usize, cols: usize) -> Result<()> {
    if rows == 0 || cols == 0 {
        return Err(Error::ZeroDimension { shape: vec![rows, cols] });
    }
    let l = rows.min(cols);
    if s.len() != l {
        return Err(Error::InvalidRank {
            op,
            ranks: vec![s.len()],
            shape: vec![rows, cols],
            detail: format!("expected all min(rows, cols) = {l} singular values"),
        });
    }
    crate::tensor::arith::check_finite_slice(op, s)?;
    for (i, w) in s.windows(2).enumerate() {
        if w[1] > w[0] {
            return Err(Error::InvalidParameter {
                name: "singular_values",
                value: format!("s[{i}] = {} < s[{}] = {}", w[0], i + 1, w[1]),
                expected: "non-negative values in descending order",
            });
        }
    }
    if let Some(last) = s.last() {
        if *last < T::zero() {
            return Err(Error::InvalidParameter {
                name: "singular_values",
                value: last.to_string(),
                expected: "non-negative values in descending order",
            });
        }
    }
    Ok(())
}

fn evbmf_impl<T: Scalar>(
    s: &[T],
    rows: usize,
    cols: usize,
    sigma2: Option<f64>,
) -> Result<Evbmf<T>> {
    const OP: &str = "evbmf";
    check_spectrum(OP, s, rows, cols)?;
    if let Some(v) = sigma2 {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidParameter {
                name: "sigma2",
                value: v.to_string(),
                expected: "a finite noise variance > 0",
            });
        }
    }
    let (l, m) = (rows.min(cols) as f64, rows.max(cols) as f64);
    let alpha = l / m;
    let tau_bar = tau_bar(alpha);
    let x_bar = (1.0 + tau_bar) * (1.0 + alpha / tau_bar);
    // Work with γ / γ_1 so that squares and fourth powers neither overflow nor underflow;
    // σ² scales with γ_1², the threshold and the shrunk values with γ_1.
    let scale = s.first().map_or(1.0, |x| x.as_f64());
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let g: Vec<f64> = s.iter().map(|x| x.as_f64() / scale).collect();
    let g2: Vec<f64> = g.iter().map(|x| x * x).collect();
    let energy: f64 = g2.iter().sum();
    let spectrum = s.to_vec();
    if energy == 0.0 && sigma2.is_none() {
        // The zero matrix: no signal, no noise.
        return Ok(Evbmf {
            rank: 0,
            sigma2: T::zero(),
            threshold: T::zero(),
            shrunk: Vec::new(),
            spectrum,
        });
    }
    let sigma2 = match sigma2 {
        Some(v) => v / (scale * scale),
        None => {
            let ll = g.len();
            let h_bar = ((l / (1.0 + alpha)).ceil() as usize).saturating_sub(1).min(ll - 1);
            let upper = energy / (l * m);
            let tail = &g2[h_bar..];
            let tail_mean = tail.iter().sum::<f64>() / tail.len() as f64;
            let lower = (g2[h_bar] / (m * x_bar)).max(tail_mean / m).min(upper);
            let objective = |s2: f64| {
                let mut f = 0.0;
                for &gh2 in &g2 {
                    let x = gh2 / (m * s2);
                    // x − log x with the constant −log γ² dropped: x + log(M σ²).
                    f += x + (m * s2).ln();
                    if x > x_bar {
                        let t = tau(x, alpha);
                        f += (t + 1.0).ln() + alpha * (t / alpha + 1.0).ln() - t;
                    }
                }
                f
            };
            if upper > lower {
                brent_bounded(objective, lower, upper, 1e-10)
            } else {
                upper
            }
        }
    };
    let threshold = (sigma2 * m * x_bar).sqrt();
    let rank = g.iter().take_while(|&&x| x > threshold).count();
    let shrunk = g[..rank]
        .iter()
        .map(|&gh| {
            let a = 1.0 - (l + m) * sigma2 / (gh * gh);
            let disc = (a * a - 4.0 * l * m * sigma2 * sigma2 / gh.powi(4)).max(0.0);
            T::of(0.5 * gh * (a + disc.sqrt()) * scale)
        })
        .collect();
    Ok(Evbmf {
        rank,
        sigma2: T::of(sigma2 * scale * scale),
        threshold: T::of(threshold * scale),
        shrunk,
        spectrum,
    })
}

/// `τ(x) = ½ (x − (1 + α) + sqrt((x − (1 + α))² − 4α))` for `x ≥ (1 + sqrt α)²`.
fn tau(x: f64, alpha: f64) -> f64 {
    let b = x - (1.0 + alpha);
    0.5 * (b + (b * b - 4.0 * alpha).max(0.0).sqrt())
}

/// MUSCO's "weakened" VBMF rank (Gusak et al. 2019): moves from the full rank `R` towards the
/// EVBMF rank `r` by the fraction `factor`, never below `min_rank`:
///
/// ```text
/// r' = max(⌊R − f·(R − r)⌋, min_rank),   but r' = R if R ≤ min_rank or r = 0.
/// ```
///
/// (The floor is taken after adding `1e-9` so that exact products such as `0.8·5 = 4` are not
/// lost to rounding.)
///
/// ```
/// use tensorize::rank::weakened_rank;
/// assert_eq!(weakened_rank(20, 3, 0.8, 8)?, 8);   // ⌊20 − 13.6⌋ = 6 → 8
/// assert_eq!(weakened_rank(64, 5, 0.8, 8)?, 16);  // ⌊64 − 47.2⌋ = 16
/// assert_eq!(weakened_rank(64, 0, 0.8, 8)?, 64);  // EVBMF found nothing: keep all
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 ≤ factor ≤ 1`; [`Error::InvalidRank`] if `full` is 0
/// or `vbmf_rank > full`.
pub fn weakened_rank(full: usize, vbmf_rank: usize, factor: f64, min_rank: usize) -> Result<usize> {
    if !(0.0..=1.0).contains(&factor) {
        return Err(Error::InvalidParameter {
            name: "factor",
            value: factor.to_string(),
            expected: "a weakening factor in [0, 1]",
        });
    }
    if full == 0 || vbmf_rank > full {
        return Err(Error::InvalidRank {
            op: "weakened_rank",
            ranks: vec![vbmf_rank],
            shape: vec![full],
            detail: "the VBMF rank must not exceed the full rank, which must be at least 1"
                .to_string(),
        });
    }
    if full <= min_rank || vbmf_rank == 0 {
        return Ok(full);
    }
    let (r_full, r) = (full as f64, vbmf_rank as f64);
    let w = (r_full - factor * (r_full - r) + 1e-9).floor() as usize;
    Ok(w.max(min_rank).min(full))
}
