//! Optimizers: they walk a model's parameters in [`Layer::visit_params`] order, update each
//! from its gradient, and clear the gradient for the next batch.

use super::layer::{Layer, ParamMut};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Stochastic gradient descent with momentum and (L2) weight decay, as PyTorch's `SGD`:
/// `v ← μ v + (g + λ θ)`, `θ ← θ − η v`.
///
/// ```
/// use tensorize::nn::{Layer, Linear, Sgd};
/// use tensorize::Tensor;
/// let mut fc = Linear::new(Tensor::from_vec(&[1, 1], vec![1.0_f64])?, None)?;
/// let x = Tensor::from_vec(&[1, 1], vec![2.0])?;
/// fc.forward_train(&x)?;
/// fc.backward(&Tensor::from_vec(&[1, 1], vec![1.0])?)?; // ∂L/∂w = 2
/// Sgd::new(0.1)?.step(&mut fc)?;
/// assert!((fc.weight().as_slice()[0] - 0.8).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    velocity: Vec<Vec<T>>,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `lr` is finite and positive.
    pub fn new(lr: f64) -> Result<Self> {
        check_rate("lr", lr)?;
        Ok(Self { lr, momentum: 0.0, weight_decay: 0.0, velocity: Vec::new() })
    }

    /// With momentum `μ ∈ [0, 1)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&momentum) {
            return Err(Error::InvalidParameter {
                name: "momentum",
                value: momentum.to_string(),
                expected: "a value in [0, 1)",
            });
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// With weight decay `λ ≥ 0` (added to every gradient as `λ θ`, biases included).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite `λ`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        crate::error::check_non_negative("weight_decay", lambda)?;
        self.weight_decay = lambda;
        Ok(self)
    }

    /// Sets the learning rate (for a schedule).
    ///
    /// # Errors
    /// As [`Sgd::new`].
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check_rate("lr", lr)?;
        self.lr = lr;
        Ok(())
    }

    /// One update of every parameter of `model`; its gradients are zero afterwards.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the model's parameters changed in number or size since the
    /// first step.
    pub fn step(&mut self, model: &mut dyn Layer<T>) -> Result<()> {
        let (lr, mu, wd) = (T::of(self.lr), T::of(self.momentum), T::of(self.weight_decay));
        let velocity = &mut self.velocity;
        let mut k = 0;
        let mut mismatch = None;
        model.visit_params(&mut |p: ParamMut<'_, T>| {
            if velocity.len() == k {
                velocity.push(vec![T::zero(); p.value.len()]);
            }
            let v = &mut velocity[k];
            if v.len() != p.value.len() {
                mismatch.get_or_insert((k, v.len(), p.value.len()));
            } else {
                for ((x, g), vi) in p.value.iter_mut().zip(p.grad.iter_mut()).zip(v.iter_mut()) {
                    *vi = mu * *vi + (*g + wd * *x);
                    *x -= lr * *vi;
                    *g = T::zero();
                }
            }
            k += 1;
        });
        match mismatch {
            None => Ok(()),
            Some((k, had, has)) => Err(Error::ShapeMismatch {
                op: "Sgd::step",
                left: vec![had],
                right: vec![has],
                detail: format!("parameter {k} changed size since the first step"),
            }),
        }
    }
}

fn check_rate(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, value: v.to_string(), expected: "a finite value > 0" })
    }
}
