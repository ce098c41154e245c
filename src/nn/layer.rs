//! The one interface every network layer implements, so that a [`super::Sequential`] model, an
//! evaluation loop and the compression tables see dense and decomposed layers the same way.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A layer on batched inputs: the first dimension is the batch (`[batch, channels, height,
/// width]` images, `[batch, features]` vectors), and an empty batch is allowed.
pub trait Layer<T: Scalar>: Send + Sync {
    /// What the layer is, for errors and tables (`"conv2d 32→64 3×3 s1 p1"`).
    fn describe(&self) -> String;

    /// The output shape for an input of shape `input` (batch first).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] naming the layer when it cannot take that input.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// The layer applied to every sample of the batch `x`.
    ///
    /// # Errors
    /// As [`Layer::output_shape`] for the shape of `x`; [`Error::NonFinite`] where a layer
    /// checks its input.
    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>>;

    /// The number of trainable parameters (weights and biases).
    fn num_params(&self) -> usize;

    /// Floating-point operations (a multiply-add counts 2) for one sample of shape
    /// `input[1..]`, as the layer computes it (a decomposed layer counts its factors).
    ///
    /// # Errors
    /// As [`Layer::output_shape`].
    fn flops(&self, input: &[usize]) -> Result<f64>;
}

/// The [`Error::ShapeMismatch`] of a layer that cannot take input shape `input`.
pub(crate) fn bad_input(op: &'static str, layer: &str, input: &[usize], wants: &str) -> Error {
    Error::ShapeMismatch {
        op,
        left: input.to_vec(),
        right: vec![],
        detail: format!("{layer} takes {wants}, got an input of shape {input:?}"),
    }
}

/// `[batch, channels, height, width]` of a 4-way input, or the layer's error.
pub(crate) fn nchw(op: &'static str, layer: &str, input: &[usize]) -> Result<[usize; 4]> {
    match *input {
        [b, c, h, w] => Ok([b, c, h, w]),
        _ => Err(bad_input(op, layer, input, "a 4-way [batch, channels, height, width] input")),
    }
}
