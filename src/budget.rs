//! [`Budget`]: how much a compression may keep, the one budget type of the crate (rank
//! selection, whole-model allocation, weight tensorization, the RsTD comparison).

use std::fmt;

use crate::error::{Error, Result};

/// How much a compressed object may cost, said in the unit the caller thinks in.
///
/// The words follow one glossary (docs/conventions.md): the **kept fraction** is
/// `compressed / original` (in `(0, 1]` for a real compression), the **compression ratio**
/// (or factor) is its inverse `original / compressed` (`≥ 1`), as
/// [`Factorized::compression_ratio`](crate::format::Factorized::compression_ratio) reports it.
///
/// ```
/// use tensorize::Budget;
/// // The same cap on a 1000-parameter tensor, said three ways.
/// assert_eq!(Budget::KeepFraction(0.1).max_params(1000)?, 100);
/// assert_eq!(Budget::CompressBy(10.0).max_params(1000)?, 100);
/// assert_eq!(Budget::Params(100).max_params(1000)?, 100);
/// // A factor below 1 would allow more than the original: an error, not a silent no-op.
/// assert!(Budget::CompressBy(0.1).max_params(1000).is_err());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Budget {
    /// Keep at most this fraction `ρ ∈ (0, 1]` of the original parameters.
    KeepFraction(f64),
    /// Compress by at least this factor `c ≥ 1` (original / compressed): at most
    /// `original / c` parameters.
    CompressBy(f64),
    /// At most this many parameters.
    Params(usize),
    /// At most this many FLOPs (only where the FLOPs of the result are known, e.g.
    /// [`crate::rank::allocate`] with `flops_per_rank` on every layer).
    Flops(usize),
}

impl Budget {
    /// Checks the value of a fraction or factor: finite, `0 < ρ ≤ 1` for
    /// [`Budget::KeepFraction`], `c ≥ 1` for [`Budget::CompressBy`]. Counts are always valid.
    ///
    /// ```
    /// use tensorize::Budget;
    /// assert!(Budget::KeepFraction(1.0).validate().is_ok());
    /// assert!(Budget::KeepFraction(1.5).validate().is_err());
    /// assert!(Budget::CompressBy(f64::NAN).validate().is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] named `"budget"`, with the value, for NaN/infinite values,
    /// a fraction `≤ 0` or `> 1`, or a factor `< 1`.
    pub fn validate(self) -> Result<Self> {
        let (ok, expected) = match self {
            Budget::KeepFraction(f) => {
                (f.is_finite() && f > 0.0 && f <= 1.0, "a kept fraction in (0, 1]")
            }
            Budget::CompressBy(c) => (
                c.is_finite() && c >= 1.0,
                "a finite compression factor (original / compressed) >= 1",
            ),
            Budget::Params(_) | Budget::Flops(_) => (true, ""),
        };
        if ok {
            Ok(self)
        } else {
            Err(self.invalid(expected))
        }
    }

    /// The largest parameter count this budget allows for an object of `original` parameters:
    /// `⌊ρ · original⌋`, `⌊original / c⌋` or the count itself.
    ///
    /// # Errors
    /// As [`Budget::validate`]; [`Error::InvalidParameter`] for [`Budget::Flops`], which says
    /// nothing about parameters.
    pub fn max_params(self, original: usize) -> Result<usize> {
        Ok(match self.validate()? {
            Budget::KeepFraction(f) => (f * original as f64).floor() as usize,
            Budget::CompressBy(c) => (original as f64 / c).floor() as usize,
            Budget::Params(n) => n,
            Budget::Flops(_) => {
                return Err(self.invalid("a parameter budget: FLOPs are not known here"))
            }
        })
    }

    /// The fraction of `original` parameters this budget keeps, in `(0, 1]`: `ρ`, `1 / c`, or
    /// `min(n / original, 1)` for a count `n` (a count at or above the original keeps all).
    ///
    /// ```
    /// use tensorize::Budget;
    /// assert_eq!(Budget::CompressBy(4.0).kept_fraction(100)?, 0.25);
    /// assert_eq!(Budget::Params(30).kept_fraction(100)?, 0.3);
    /// assert_eq!(Budget::Params(300).kept_fraction(100)?, 1.0);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Budget::max_params`], and for `Params(0)` (no positive fraction keeps nothing).
    pub fn kept_fraction(self, original: usize) -> Result<f64> {
        Ok(match self.validate()? {
            Budget::KeepFraction(f) => f,
            Budget::CompressBy(c) => 1.0 / c,
            Budget::Params(0) => return Err(self.invalid("at least 1 parameter")),
            Budget::Params(n) => (n as f64 / original.max(1) as f64).min(1.0),
            Budget::Flops(_) => {
                return Err(self.invalid("a parameter budget: FLOPs are not known here"))
            }
        })
    }

    fn invalid(self, expected: &'static str) -> Error {
        Error::InvalidParameter { name: "budget", value: format!("{self:?}"), expected }
    }
}

impl fmt::Display for Budget {
    /// `keep ≤ 5%`, `compress ≥ 20×`, `≤ 1000 parameters`, `≤ 5000 FLOPs`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::KeepFraction(r) => write!(f, "keep ≤ {}%", 100.0 * r),
            Budget::CompressBy(c) => write!(f, "compress ≥ {c}×"),
            Budget::Params(n) => write!(f, "≤ {n} parameters"),
            Budget::Flops(n) => write!(f, "≤ {n} FLOPs"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_floor_and_agree_across_variants() {
        assert_eq!(Budget::KeepFraction(0.05).max_params(36864), Ok(1843)); // 1843.2
        assert_eq!(Budget::CompressBy(3.0).max_params(100), Ok(33));
        assert_eq!(Budget::CompressBy(1.0).max_params(100), Ok(100));
        assert_eq!(Budget::KeepFraction(1.0).max_params(100), Ok(100));
        assert_eq!(Budget::Params(0).max_params(100), Ok(0));
        assert_eq!(Budget::Params(500).max_params(100), Ok(500));
        assert_eq!(Budget::KeepFraction(0.2).kept_fraction(7), Ok(0.2));
        assert_eq!(Budget::Params(7).kept_fraction(7), Ok(1.0));
    }

    #[test]
    fn bad_values_name_the_budget() {
        let bad = [
            Budget::KeepFraction(0.0),
            Budget::KeepFraction(-0.5),
            Budget::KeepFraction(1.0 + 1e-12),
            Budget::KeepFraction(f64::NAN),
            Budget::CompressBy(0.999),
            Budget::CompressBy(0.0),
            Budget::CompressBy(f64::INFINITY),
            Budget::CompressBy(f64::NAN),
        ];
        for b in bad {
            for e in [b.validate().unwrap_err(), b.max_params(10).unwrap_err()] {
                let Error::InvalidParameter { name, value, .. } = &e else { panic!("{b:?}: {e}") };
                assert_eq!((*name, value.as_str()), ("budget", format!("{b:?}").as_str()));
            }
            assert!(b.kept_fraction(10).is_err());
        }
        for e in [
            Budget::Flops(10).max_params(10).unwrap_err(),
            Budget::Flops(10).kept_fraction(10).unwrap_err(),
            Budget::Params(0).kept_fraction(10).unwrap_err(),
        ] {
            assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
        }
        assert!(Budget::Flops(10).validate().is_ok());
    }

    #[test]
    fn display_says_what_it_means() {
        assert_eq!(Budget::KeepFraction(0.05).to_string(), "keep ≤ 5%");
        assert_eq!(Budget::CompressBy(20.0).to_string(), "compress ≥ 20×");
        assert_eq!(Budget::Params(1000).to_string(), "≤ 1000 parameters");
        assert_eq!(Budget::Flops(5).to_string(), "≤ 5 FLOPs");
    }
}
