//! Optimizers behind one [`Optimizer`] trait ([`Sgd`], [`Adam`]), each walking a model's
//! parameters in [`Layer::visit_params`] order, and learning-rate [`Schedule`]s.

mod adam;
mod schedule;
mod sgd;
mod slots;

pub use adam::Adam;
pub use schedule::Schedule;
pub use sgd::Sgd;

use super::layer::Layer;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Updates a model's parameters from their accumulated gradients.
pub trait Optimizer<T: Scalar> {
    /// One update of every parameter of `model`; its gradients are zero afterwards.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model's parameters changed in number or size since the
    /// first step (the optimizer keeps per-parameter state).
    fn step(&mut self, model: &mut dyn Layer<T>) -> Result<()>;

    /// The learning rate of the next step.
    fn lr(&self) -> f64;

    /// Sets the learning rate (what a [`Schedule`] drives; 0 makes steps that only clear the
    /// gradients and advance the optimizer's state).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `lr` is finite and non-negative.
    fn set_lr(&mut self, lr: f64) -> Result<()>;
}

/// A value in `[0, 1)` (momentum, Adam's betas).
pub(crate) fn check_unit(name: &'static str, v: f64) -> Result<()> {
    if (0.0..1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, value: v.to_string(), expected: "a value in [0, 1)" })
    }
}
