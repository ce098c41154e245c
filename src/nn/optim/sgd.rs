//! Stochastic gradient descent with momentum and weight decay, as PyTorch's `SGD`.

use super::slots::Slots;
use super::{check_unit, Optimizer};
use crate::error::Result;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;

/// Stochastic gradient descent with momentum and (L2) weight decay, as PyTorch's `SGD`:
/// `v ← μ v + (g + λ θ)`, `θ ← θ − η v`.
///
/// ```
/// use tensorize::nn::{Layer, Linear, Optimizer, Sgd};
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
    /// One velocity buffer per parameter.
    velocity: Slots<T>,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] unless `lr` is finite and positive.
    pub fn new(lr: f64) -> Result<Self> {
        crate::error::check_positive("lr", lr)?;
        Ok(Self { lr, momentum: 0.0, weight_decay: 0.0, velocity: Slots::default() })
    }

    /// With momentum `μ ∈ [0, 1)`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] outside `[0, 1)`.
    pub fn momentum(mut self, momentum: f64) -> Result<Self> {
        check_unit("momentum", momentum)?;
        self.momentum = momentum;
        Ok(self)
    }

    /// With weight decay `λ ≥ 0` (added to every gradient as `λ θ`, biases included).
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for a negative or non-finite `λ`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        crate::error::check_non_negative("weight_decay", lambda)?;
        self.weight_decay = lambda;
        Ok(self)
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn step(&mut self, model: &mut dyn Layer<T>) -> Result<()> {
        let (lr, mu, wd) = (T::of(self.lr), T::of(self.momentum), T::of(self.weight_decay));
        self.velocity.walk("Sgd::step", 1, model, |p: ParamMut<'_, T>, state| {
            let v = &mut state[0];
            for ((x, g), vi) in p.value.iter_mut().zip(p.grad.iter_mut()).zip(v.iter_mut()) {
                *vi = mu * *vi + (*g + wd * *x);
                *x -= lr * *vi;
                *g = T::zero();
            }
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) -> Result<()> {
        crate::error::check_non_negative("lr", lr)?;
        self.lr = lr;
        Ok(())
    }
}
