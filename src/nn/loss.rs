//! Losses of a batch and their gradients with respect to the model's output: softmax
//! cross-entropy for classifiers, mean squared error for regression. Both average over the batch.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `L = −(1/B) Σ_b log softmax(z_b)[y_b]` of `[B, classes]` logits `z` and labels `y`, with
/// `∂L/∂z = (softmax(z) − onehot(y)) / B`; computed stably (logits shifted by their maximum),
/// accumulated in `f64`.
///
/// ```
/// use tensorize::nn::softmax_cross_entropy;
/// use tensorize::Tensor;
/// let z = Tensor::from_vec(&[1, 2], vec![0.0_f64, 0.0])?;
/// let (loss, dz) = softmax_cross_entropy(&z, &[1])?;
/// assert!((loss - std::f64::consts::LN_2).abs() < 1e-12);
/// assert_eq!(dz.as_slice(), &[0.5, -0.5]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `logits` is `[labels.len(), classes]` with `classes ≥ 1`;
/// [`Error::IndexOutOfBounds`] for a label `≥ classes`; [`Error::NonFinite`] for NaN/Inf logits.
pub fn softmax_cross_entropy<T: Scalar>(
    logits: &Tensor<T>,
    labels: &[usize],
) -> Result<(f64, Tensor<T>)> {
    let classes = match *logits.shape() {
        [b, k] if b == labels.len() && k > 0 => k,
        _ => {
            return Err(Error::ShapeMismatch {
                op: "softmax_cross_entropy",
                left: logits.shape().to_vec(),
                right: vec![labels.len()],
                detail: "the logits must be [batch, classes] with one label per row".into(),
            })
        }
    };
    logits.check_finite("softmax_cross_entropy")?;
    if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
        return Err(Error::IndexOutOfBounds {
            index: vec![row, label],
            shape: logits.shape().to_vec(),
        });
    }
    let batch = labels.len();
    let mut grad = Tensor::zeros(logits.shape())?;
    let mut total = 0.0;
    let scale = 1.0 / batch.max(1) as f64;
    for ((z, g), &label) in logits
        .as_slice()
        .chunks_exact(classes)
        .zip(grad.as_mut_slice().chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v.as_f64()));
        let sum: f64 = z.iter().map(|&v| (v.as_f64() - max).exp()).sum();
        let log_sum = sum.ln();
        total += log_sum - (z[label].as_f64() - max);
        for (k, (gk, &zk)) in g.iter_mut().zip(z).enumerate() {
            let p = (zk.as_f64() - max - log_sum).exp();
            *gk = T::of((p - f64::from(u8::from(k == label))) * scale);
        }
    }
    Ok((total * scale, grad))
}

/// `L = (1/B) Σ_b ‖p_b − t_b‖²` of a batch of predictions and targets of the same shape
/// (batch first), with `∂L/∂p = 2 (p − t) / B`.
///
/// # Errors
/// [`Error::ShapeMismatch`] for different shapes; [`Error::NonFinite`].
pub fn mse<T: Scalar>(prediction: &Tensor<T>, target: &Tensor<T>) -> Result<(f64, Tensor<T>)> {
    if prediction.shape() != target.shape() || prediction.ndim() == 0 {
        return Err(Error::ShapeMismatch {
            op: "mse",
            left: prediction.shape().to_vec(),
            right: target.shape().to_vec(),
            detail: "prediction and target need the same shape, batch first".into(),
        });
    }
    prediction.check_finite("mse")?;
    target.check_finite("mse")?;
    let scale = 1.0 / prediction.shape()[0].max(1) as f64;
    let diff = prediction.sub(target)?;
    let loss = diff.as_slice().iter().map(|&d| d.as_f64() * d.as_f64()).sum::<f64>() * scale;
    Ok((loss, diff.scale(T::of(2.0 * scale))))
}
