//! Learning-rate schedules over optimizer steps: constant, step decay, cosine annealing.

use crate::error::{Error, Result};

/// The learning rate as a function of the optimizer step `s = 0, 1, …` and the base rate `η₀`.
///
/// ```
/// use tensorize::nn::Schedule;
/// let step = Schedule::step(100, 0.5)?;
/// assert_eq!((step.lr(0.1, 99), step.lr(0.1, 100), step.lr(0.1, 250)), (0.1, 0.05, 0.025));
/// let cosine = Schedule::cosine(1000, 0.0)?;
/// assert!((cosine.lr(0.1, 500) - 0.05).abs() < 1e-12);
/// assert_eq!(cosine.lr(0.1, 1000), 0.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `η₀` throughout.
    Constant,
    /// `η₀ · γ^⌊s / every⌋` (PyTorch's `StepLR`, counted in steps).
    Step {
        /// Steps between two decays.
        every: usize,
        /// The factor of each decay, in `(0, 1]`.
        gamma: f64,
    },
    /// `η_min + (η₀ − η_min)(1 + cos(π s / total)) / 2` for `s ≤ total`, then `η_min`
    /// (PyTorch's `CosineAnnealingLR` without restarts).
    Cosine {
        /// Steps from `η₀` down to `η_min`.
        total: usize,
        /// The final rate, `≥ 0`.
        min_lr: f64,
    },
}

impl Schedule {
    /// [`Schedule::Step`], checked.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `every = 0` or `γ ∉ (0, 1]`.
    pub fn step(every: usize, gamma: f64) -> Result<Self> {
        if every == 0 {
            return Err(Error::InvalidParameter {
                name: "every",
                value: "0".into(),
                expected: "at least 1 step between decays",
            });
        }
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "gamma",
                value: gamma.to_string(),
                expected: "a factor in (0, 1]",
            });
        }
        Ok(Schedule::Step { every, gamma })
    }

    /// [`Schedule::Cosine`], checked.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `total = 0` or a negative or non-finite `min_lr`.
    pub fn cosine(total: usize, min_lr: f64) -> Result<Self> {
        if total == 0 {
            return Err(Error::InvalidParameter {
                name: "total",
                value: "0".into(),
                expected: "at least 1 step",
            });
        }
        crate::error::check_non_negative("min_lr", min_lr)?;
        Ok(Schedule::Cosine { total, min_lr })
    }

    /// The rate at step `step` for base rate `base` (never negative for `base ≥ 0`).
    pub fn lr(&self, base: f64, step: usize) -> f64 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => {
                base * gamma.powi(i32::try_from(step / every.max(1)).unwrap_or(i32::MAX))
            }
            Schedule::Cosine { total, min_lr } => {
                let s = step.min(total) as f64 / total.max(1) as f64;
                min_lr + (base - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * s).cos())
            }
        }
    }
}
