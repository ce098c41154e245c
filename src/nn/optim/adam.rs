//! Adam (Kingma & Ba 2015) with bias correction and L2 weight decay, as PyTorch's `Adam`.

use super::slots::Slots;
use super::{check_unit, Optimizer};
use crate::error::Result;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;

/// Adam: with `g ← g + λ θ`, `m ← β₁ m + (1 − β₁) g`, `v ← β₂ v + (1 − β₂) g²` and step count
/// `t`, `θ ← θ − η (m / (1 − β₁ᵗ)) / (sqrt(v / (1 − β₂ᵗ)) + ε)`. Defaults as PyTorch:
/// `β = (0.9, 0.999)`, `ε = 1e-8`, no weight decay. The moments are stored in `T` (in `f64`
/// they would double an `f32` model's optimizer memory); each update is computed in `f64`.
///
/// ```
/// use tensorize::nn::{Adam, Layer, Linear, Optimizer};
/// use tensorize::Tensor;
/// let mut fc = Linear::new(Tensor::from_vec(&[1, 1], vec![1.0_f64])?, None)?;
/// fc.forward_train(&Tensor::from_vec(&[1, 1], vec![2.0])?)?;
/// fc.backward(&Tensor::from_vec(&[1, 1], vec![1.0])?)?;
/// Adam::new(0.1)?.step(&mut fc)?;
/// // The first step moves every parameter by about η against its gradient's sign.
/// assert!((fc.weight().as_slice()[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T> {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    /// Steps taken (for the bias correction).
    t: u64,
    /// `m` and `v` per parameter.
    moments: Slots<T>,
}

impl<T: Scalar> Adam<T> {
    /// Adam with learning rate `lr` and PyTorch's defaults otherwise.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] unless `lr` is finite and positive.
    pub fn new(lr: f64) -> Result<Self> {
        crate::error::check_positive("lr", lr)?;
        Ok(Self {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            t: 0,
            moments: Slots::default(),
        })
    }

    /// With the moments' decay rates `(β₁, β₂)`, each in `[0, 1)`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] outside `[0, 1)`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        check_unit("beta1", beta1)?;
        check_unit("beta2", beta2)?;
        self.betas = (beta1, beta2);
        Ok(self)
    }

    /// With `ε > 0` in the denominator.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] unless `ε` is finite and positive.
    pub fn eps(mut self, eps: f64) -> Result<Self> {
        crate::error::check_positive("eps", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// With L2 weight decay `λ ≥ 0` added to every gradient as `λ θ`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidParameter`] for a negative or non-finite `λ`.
    pub fn weight_decay(mut self, lambda: f64) -> Result<Self> {
        crate::error::check_non_negative("weight_decay", lambda)?;
        self.weight_decay = lambda;
        Ok(self)
    }
}

impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn step(&mut self, model: &mut dyn Layer<T>) -> Result<()> {
        self.t += 1;
        let (b1, b2) = self.betas;
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let (lr, eps, wd) = (self.lr, self.eps, self.weight_decay);
        self.moments.walk("Adam::step", 2, model, |p: ParamMut<'_, T>, state| {
            let (m, rest) = state.split_at_mut(1);
            let (m, v) = (&mut m[0], &mut rest[0]);
            let params = p.value.iter_mut().zip(p.grad.iter_mut());
            for ((x, g), (mi, vi)) in params.zip(m.iter_mut().zip(v.iter_mut())) {
                let gd = g.as_f64() + wd * x.as_f64();
                let m_new = b1 * mi.as_f64() + (1.0 - b1) * gd;
                let v_new = b2 * vi.as_f64() + (1.0 - b2) * gd * gd;
                *mi = T::of(m_new);
                *vi = T::of(v_new);
                *x = T::of(x.as_f64() - lr * (m_new / c1) / ((v_new / c2).sqrt() + eps));
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
