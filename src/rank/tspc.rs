//! TSPC rank formulas (Su et al. 2018): the rank of a CP, Tucker-2, TT or SVD decomposition of
//! a `[T, S, kh, kw]` kernel that keeps a fraction `ρ` of its `P = kh·kw·S·T` parameters.
//!
//! | method | parameters | rank |
//! |---|---|---|
//! | SVD of the `M × N` matrix | `R(M + N)` | `R = ⌊ρMN / (M + N)⌋`, `≤ min(M, N)` |
//! | CP (1×1, depthwise, 1×1) | `R(k² + S + T)` | `R = ⌈ρP / (k² + S + T)⌉`, `≤ P` |
//! | Tucker-2, ranks `(R, R)` | `k²R² + (S + T)R` | `⌊positive root⌋`, `≤ min(S, T)` |
//! | TT (1×1, k×1, 1×k, 1×1) | `2kR² + (S + T)R` | `⌊positive root⌋`, `≤ min(S, T)` |
//!
//! For a non-square kernel `k² = kh·kw` and `2k = kh + kw`. Every rank is at least 1. These are
//! the *nominal* rules: the realized parameter count of the format (e.g. CP also stores `R`
//! weights, and the CP ceiling can overshoot) is reported by
//! [`crate::tensorization::plan`] next to `ρ` (as [`crate::tensorization::Plan::kept_fraction`]).

use crate::error::{Error, Result};

/// Checks `ρ ∈ (0, 1]` and non-zero sizes; returns `P = kh·kw·s·t` as `f64`.
fn check(op: &'static str, fraction: f64, sizes: &[usize]) -> Result<f64> {
    if !(fraction.is_finite() && fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::InvalidParameter {
            name: "fraction",
            value: fraction.to_string(),
            expected: "a fraction of the parameters in (0, 1]",
        });
    }
    if sizes.contains(&0) {
        return Err(Error::InvalidRank {
            op,
            ranks: vec![],
            shape: sizes.to_vec(),
            detail: "sizes must be non-zero".into(),
        });
    }
    Ok(sizes.iter().map(|&x| x as f64).product())
}

/// `⌊r⌋` clamped to `[1, max]` (a NaN or negative `r` gives 1).
fn clamp(r: f64, max: usize) -> usize {
    let r = if r.is_finite() && r >= 1.0 { r.floor().min(max as f64) as usize } else { 1 };
    r.clamp(1, max.max(1))
}

/// The positive root of `a R² + b R − c = 0` (`a, b, c > 0`), in the cancellation-free form
/// `2c / (b + sqrt(b² + 4ac))`.
fn positive_root(a: f64, b: f64, c: f64) -> f64 {
    2.0 * c / (b + (b * b + 4.0 * a * c).sqrt())
}

/// SVD rank of an `m × n` matrix keeping a fraction `fraction` (`ρ`) of its `mn` parameters:
/// `R = ⌊ρ·m·n / (m + n)⌋`, clamped to `[1, min(m, n)]` (`R(m + n) ≤ ρmn`).
///
/// ```
/// use tensorize::rank::tspc::svd_rank;
/// assert_eq!(svd_rank(0.1, 64, 64)?, 3);      // ⌊409.6 / 128⌋
/// assert_eq!(svd_rank(1.0, 10, 1000)?, 9);    // ⌊10000 / 1010⌋
/// assert_eq!(svd_rank(0.001, 8, 8)?, 1);      // at least 1
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 < fraction ≤ 1`; [`Error::InvalidRank`] for a zero size.
pub fn svd_rank(fraction: f64, m: usize, n: usize) -> Result<usize> {
    let p = check("svd_rank", fraction, &[m, n])?;
    Ok(clamp(fraction * p / (m as f64 + n as f64), m.min(n)))
}

/// TSPC CP rank of a `[t, s, kh, kw]` kernel: `R = ⌈ρP / (kh·kw + s + t)⌉`, clamped to
/// `[1, P]`.
///
/// ```
/// use tensorize::rank::tspc::cp_rank;
/// // P = 9·16·16 = 2304; 0.1·2304 / (9 + 32) = 5.62 → 6.
/// assert_eq!(cp_rank(0.1, 16, 16, 3, 3)?, 6);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`svd_rank`].
pub fn cp_rank(fraction: f64, s: usize, t: usize, kh: usize, kw: usize) -> Result<usize> {
    let p = check("cp_rank", fraction, &[s, t, kh, kw])?;
    let per_rank = (kh * kw) as f64 + s as f64 + t as f64;
    let r = (fraction * p / per_rank).ceil();
    let max = s.saturating_mul(t).saturating_mul(kh).saturating_mul(kw);
    Ok(clamp(r, max))
}

/// TSPC Tucker-2 rank `R` (ranks `(R, R)` on the out and in modes) of a `[t, s, kh, kw]`
/// kernel: the floor of the positive root of `kh·kw·R² + (s + t)R − ρP = 0`, clamped to
/// `[1, min(s, t)]`.
///
/// ```
/// use tensorize::rank::tspc::tucker2_rank;
/// // 9R² + 32R − 230.4 = 0 → R = 3.65 → 3.
/// assert_eq!(tucker2_rank(0.1, 16, 16, 3, 3)?, 3);
/// assert_eq!(tucker2_rank(1.0, 16, 16, 3, 3)?, 14);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`svd_rank`].
pub fn tucker2_rank(fraction: f64, s: usize, t: usize, kh: usize, kw: usize) -> Result<usize> {
    let p = check("tucker2_rank", fraction, &[s, t, kh, kw])?;
    let r = positive_root((kh * kw) as f64, s as f64 + t as f64, fraction * p);
    Ok(clamp(r, s.min(t)))
}

/// TSPC TT rank `R` (all three bonds of the `[s, kh, kw, t]` train) of a `[t, s, kh, kw]`
/// kernel: the floor of the positive root of `(kh + kw)R² + (s + t)R − ρP = 0` (`2kR²` for a
/// square kernel), clamped to `[1, min(s, t)]`.
///
/// ```
/// use tensorize::rank::tspc::tt_rank;
/// // 6R² + 32R − 230.4 = 0 → R = 4.12 → 4.
/// assert_eq!(tt_rank(0.1, 16, 16, 3, 3)?, 4);
/// assert_eq!(tt_rank(1.0, 16, 16, 3, 3)?, 16);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`svd_rank`].
pub fn tt_rank(fraction: f64, s: usize, t: usize, kh: usize, kw: usize) -> Result<usize> {
    let p = check("tt_rank", fraction, &[s, t, kh, kw])?;
    let r = positive_root((kh + kw) as f64, s as f64 + t as f64, fraction * p);
    Ok(clamp(r, s.min(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_checked_values() {
        // ResNet-32 stage 3: 64 → 64, 3×3, P = 36864.
        // CP: 0.05·36864 / (9 + 128) = 13.45 → 14.
        assert_eq!(cp_rank(0.05, 64, 64, 3, 3).unwrap(), 14);
        // Tucker-2: 9R² + 128R − 1843.2 = 0 → R = 8.87 → 8.
        assert_eq!(tucker2_rank(0.05, 64, 64, 3, 3).unwrap(), 8);
        // TT: 6R² + 128R − 1843.2 = 0 → R = 9.82 → 9.
        assert_eq!(tt_rank(0.05, 64, 64, 3, 3).unwrap(), 9);
        // SVD of a 64 × 32 1×1 projection at 20%: ⌊0.2·2048/96⌋ = 4.
        assert_eq!(svd_rank(0.2, 64, 32).unwrap(), 4);
    }

    #[test]
    fn ranks_respect_the_budget_and_the_bounds() {
        for &(s, t, k) in
            &[(16, 16, 3), (16, 32, 3), (32, 64, 3), (64, 64, 3), (3, 16, 3), (64, 32, 1)]
        {
            let p = (k * k * s * t) as f64;
            for &rho in &[0.01, 0.05, 0.1, 0.2, 0.5, 1.0] {
                let r = tucker2_rank(rho, s, t, k, k).unwrap();
                assert!(r >= 1 && r <= s.min(t));
                let params = |r: usize| (k * k * r * r + (s + t) * r) as f64;
                assert!(r == 1 || params(r) <= rho * p);
                assert!(r == s.min(t) || params(r + 1) > rho * p);
                let r = tt_rank(rho, s, t, k, k).unwrap();
                let params = |r: usize| (2 * k * r * r + (s + t) * r) as f64;
                assert!(r >= 1 && r <= s.min(t));
                assert!(r == 1 || params(r) <= rho * p);
                assert!(r == s.min(t) || params(r + 1) > rho * p);
                let r = cp_rank(rho, s, t, k, k).unwrap();
                let per = (k * k + s + t) as f64;
                assert!(r as f64 * per >= rho * p && (r as f64 - 1.0) * per < rho * p);
            }
        }
    }

    #[test]
    fn bad_ratio_or_size_is_an_error() {
        for rho in [0.0, -0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(matches!(cp_rank(rho, 4, 4, 3, 3), Err(Error::InvalidParameter { .. })));
            assert!(svd_rank(rho, 4, 4).is_err());
        }
        assert!(matches!(tt_rank(0.5, 0, 4, 3, 3), Err(Error::InvalidRank { .. })));
        assert!(tucker2_rank(0.5, 4, 4, 0, 3).is_err());
    }
}
