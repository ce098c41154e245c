//! Batch normalization of NCHW images per channel (Ioffe & Szegedy 2015), as PyTorch's
//! `BatchNorm2d`: batch statistics in training, running statistics in inference.

use super::layer::{bad_input, check_grad, count, nchw, no_forward, Layer, ParamMut};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::arith::check_finite_slice;
use crate::tensor::Tensor;

/// `y = γ (x − μ) / sqrt(σ² + ε) + β` per channel. [`Layer::forward_train`] normalizes by the
/// mini-batch's mean and (biased) variance over batch, rows and columns, and moves the running
/// statistics towards them (`r ← (1 − m) r + m · stat`, the variance unbiased, as PyTorch);
/// [`Layer::forward`] (inference) normalizes by the running statistics.
///
/// ```
/// use tensorize::nn::{BatchNorm2d, Layer};
/// use tensorize::Tensor;
/// let mut bn = BatchNorm2d::<f64>::new(2)?;
/// let x = Tensor::from_fn(&[3, 2, 2, 2], |i| (i[0] * 4 + i[2] * 2 + i[3]) as f64 * (1 + i[1]) as f64)?;
/// let y = bn.forward_train(&x)?;
/// // Each channel of the output has mean 0 and variance 1 over the batch.
/// let channel0: Vec<f64> = (0..3).flat_map(|b| y.as_slice()[b * 8..b * 8 + 4].to_vec()).collect();
/// assert!(channel0.iter().sum::<f64>().abs() < 1e-12);
/// assert!((channel0.iter().map(|v| v * v).sum::<f64>() / 12.0 - 1.0).abs() < 1e-4);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BatchNorm2d<T> {
    gamma: Vec<T>,
    beta: Vec<T>,
    running_mean: Vec<T>,
    running_var: Vec<T>,
    eps: f64,
    momentum: f64,
    grad_gamma: Vec<T>,
    grad_beta: Vec<T>,
    /// Of the last training forward pass: the normalized input `x̂` and `1 / sqrt(σ² + ε)`
    /// per channel.
    cache: Option<(Tensor<T>, Vec<f64>)>,
}

const OP: &str = "BatchNorm2d";

impl<T: Scalar> BatchNorm2d<T> {
    /// Normalization of `channels` channels: `γ = 1`, `β = 0`, running mean 0 and variance 1,
    /// `ε = 1e-5`, momentum 0.1 (PyTorch's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 channels.
    pub fn new(channels: usize) -> Result<Self> {
        if channels == 0 {
            return Err(Error::InvalidParameter {
                name: "channels",
                value: "0".into(),
                expected: "at least 1",
            });
        }
        let ones = vec![T::one(); channels];
        let zeros = vec![T::zero(); channels];
        Ok(Self {
            gamma: ones.clone(),
            beta: zeros.clone(),
            running_mean: zeros.clone(),
            running_var: ones,
            eps: 1e-5,
            momentum: 0.1,
            grad_gamma: zeros.clone(),
            grad_beta: zeros,
            cache: None,
        })
    }

    /// A trained normalization from its parameters and running statistics (a checkpoint's
    /// `weight`, `bias`, `running_mean`, `running_var`).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless all four have the same non-zero length;
    /// [`Error::NonFinite`]; [`Error::InvalidParameter`] for a negative running variance.
    pub fn from_parts(
        gamma: Vec<T>,
        beta: Vec<T>,
        running_mean: Vec<T>,
        running_var: Vec<T>,
    ) -> Result<Self> {
        let c = gamma.len();
        if c == 0 || [beta.len(), running_mean.len(), running_var.len()] != [c; 3] {
            return Err(Error::ShapeMismatch {
                op: OP,
                left: vec![c],
                right: vec![beta.len(), running_mean.len(), running_var.len()],
                detail: "γ, β, the running mean and the running variance need one entry per \
                         channel"
                    .into(),
            });
        }
        for part in [&gamma, &beta, &running_mean, &running_var] {
            check_finite_slice(OP, part)?;
        }
        if let Some(v) = running_var.iter().find(|v| **v < T::zero()) {
            return Err(Error::InvalidParameter {
                name: "running_var",
                value: v.as_f64().to_string(),
                expected: "variances ≥ 0",
            });
        }
        let mut bn = Self::new(c)?;
        (bn.gamma, bn.beta, bn.running_mean, bn.running_var) =
            (gamma, beta, running_mean, running_var);
        Ok(bn)
    }

    /// With `ε > 0` added to the variance.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `ε` is finite and positive.
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        crate::error::check_positive("eps", eps)?;
        self.eps = eps;
        Ok(self)
    }

    /// With running-statistics momentum `m ∈ [0, 1]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside `[0, 1]`.
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::InvalidParameter {
                name: "momentum",
                value: momentum.to_string(),
                expected: "a value in [0, 1]",
            });
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// The number of channels.
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// The scale `γ`, per channel (a checkpoint's `weight`).
    pub fn gamma(&self) -> &[T] {
        &self.gamma
    }

    /// The shift `β`, per channel (a checkpoint's `bias`).
    pub fn beta(&self) -> &[T] {
        &self.beta
    }

    /// `ε`, added to the variance.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The running-statistics momentum.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// The running mean, per channel.
    pub fn running_mean(&self) -> &[T] {
        &self.running_mean
    }

    /// The running (unbiased) variance, per channel.
    pub fn running_var(&self) -> &[T] {
        &self.running_var
    }

    fn check_input(&self, input: &[usize]) -> Result<[usize; 4]> {
        let dims = nchw(OP, &self.label(), input)?;
        if dims[1] != self.channels() {
            let wants = format!("{} channels", self.channels());
            return Err(bad_input(OP, &self.label(), input, &wants));
        }
        Ok(dims)
    }

    fn label(&self) -> String {
        format!("batchnorm2d {}", self.channels())
    }

    /// `y = γ_c · (x − shift_c) · scale_c + β_c` for every channel `c` of every image.
    fn apply(&self, x: &Tensor<T>, shift: &[f64], scale: &[f64]) -> Result<Tensor<T>> {
        let [_, c, h, w] = self.check_input(x.shape())?;
        let mut y = x.clone();
        if y.is_empty() {
            return Ok(y);
        }
        for (k, plane) in y.as_mut_slice().chunks_exact_mut(h * w).enumerate() {
            let ch = k % c;
            let (g, b) = (self.gamma[ch].as_f64(), self.beta[ch].as_f64());
            let (m, s) = (shift[ch], scale[ch]);
            plane.iter_mut().for_each(|v| *v = T::of(g * (v.as_f64() - m) * s + b));
        }
        Ok(y)
    }

    /// Per channel: the sums over batch, rows and columns of `f(value)`, accumulated in `f64`.
    fn channel_sums(&self, x: &Tensor<T>, f: impl Fn(f64, usize) -> f64) -> Vec<f64> {
        let c = self.channels();
        let plane = x.shape()[2] * x.shape()[3];
        let mut sums = vec![0.0; c];
        for (k, p) in x.as_slice().chunks_exact(plane.max(1)).enumerate() {
            sums[k % c] += p.iter().map(|v| f(v.as_f64(), k % c)).sum::<f64>();
        }
        sums
    }
}

impl<T: Scalar> Layer<T> for BatchNorm2d<T> {
    fn describe(&self) -> String {
        self.label()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check_input(input)?;
        Ok(input.to_vec())
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        x.check_finite(OP)?;
        let mean: Vec<f64> = self.running_mean.iter().map(|m| m.as_f64()).collect();
        let scale: Vec<f64> =
            self.running_var.iter().map(|v| 1.0 / (v.as_f64() + self.eps).sqrt()).collect();
        self.apply(x, &mean, &scale)
    }

    fn num_params(&self) -> usize {
        2 * self.channels()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let [_, c, h, w] = self.check_input(input)?;
        Ok(2.0 * count(&[c, h, w]))
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let [b, _, h, w] = self.check_input(x.shape())?;
        x.check_finite(OP)?;
        let n = b * h * w;
        if n == 0 {
            self.cache = Some((x.clone(), vec![0.0; self.channels()]));
            return Ok(x.clone());
        }
        let mean: Vec<f64> = self.channel_sums(x, |v, _| v).iter().map(|s| s / n as f64).collect();
        let var: Vec<f64> = self
            .channel_sums(x, |v, c| (v - mean[c]) * (v - mean[c]))
            .iter()
            .map(|s| s / n as f64)
            .collect();
        let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + self.eps).sqrt()).collect();
        // x̂ is what the backward pass needs; y = γ x̂ + β is computed from it.
        let mut x_hat = x.clone();
        let c = self.channels();
        for (k, plane) in x_hat.as_mut_slice().chunks_exact_mut(h * w).enumerate() {
            let (m, s) = (mean[k % c], inv_std[k % c]);
            plane.iter_mut().for_each(|v| *v = T::of((v.as_f64() - m) * s));
        }
        let unbias = if n > 1 { n as f64 / (n - 1) as f64 } else { 1.0 };
        let mo = self.momentum;
        for ch in 0..c {
            let rm = self.running_mean[ch].as_f64();
            let rv = self.running_var[ch].as_f64();
            self.running_mean[ch] = T::of((1.0 - mo) * rm + mo * mean[ch]);
            self.running_var[ch] = T::of((1.0 - mo) * rv + mo * var[ch] * unbias);
        }
        let y = self.apply(&x_hat, &vec![0.0; c], &vec![1.0; c])?;
        self.cache = Some((x_hat, inv_std));
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.label();
        let (x_hat, inv_std) = self.cache.as_ref().ok_or_else(|| no_forward(&layer))?;
        check_grad(OP, &layer, dy, x_hat.shape())?;
        let [b, c, h, w] = self.check_input(x_hat.shape())?;
        let n = (b * h * w) as f64;
        let mut dx = dy.clone();
        if dx.is_empty() {
            return Ok(dx);
        }
        // Σ dy and Σ dy·x̂ per channel: ∂β and ∂γ, and the two projections of ∂x.
        let plane = h * w;
        let (mut sum_dy, mut sum_dy_xhat) = (vec![0.0; c], vec![0.0; c]);
        for (k, (d, xh)) in
            dy.as_slice().chunks_exact(plane).zip(x_hat.as_slice().chunks_exact(plane)).enumerate()
        {
            sum_dy[k % c] += d.iter().map(|v| v.as_f64()).sum::<f64>();
            sum_dy_xhat[k % c] +=
                d.iter().zip(xh).map(|(a, b)| a.as_f64() * b.as_f64()).sum::<f64>();
        }
        for ch in 0..c {
            self.grad_beta[ch] += T::of(sum_dy[ch]);
            self.grad_gamma[ch] += T::of(sum_dy_xhat[ch]);
        }
        // ∂x = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂)).
        for (k, (d, xh)) in dx
            .as_mut_slice()
            .chunks_exact_mut(plane)
            .zip(x_hat.as_slice().chunks_exact(plane))
            .enumerate()
        {
            let ch = k % c;
            let g = self.gamma[ch].as_f64() * inv_std[ch];
            let (m1, m2) = (sum_dy[ch] / n, sum_dy_xhat[ch] / n);
            for (v, &xv) in d.iter_mut().zip(xh) {
                *v = T::of(g * (v.as_f64() - m1 - xv.as_f64() * m2));
            }
        }
        Ok(dx)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut { name: "weight", value: &mut self.gamma, grad: &mut self.grad_gamma });
        f(ParamMut { name: "bias", value: &mut self.beta, grad: &mut self.grad_beta });
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(&'static str, &mut [T])) {
        f("running_mean", &mut self.running_mean);
        f("running_var", &mut self.running_var);
    }
}
