//! The one interface every network layer implements, so that a [`super::Sequential`] model, an
//! evaluation loop and the compression tables see dense and decomposed layers the same way.

use super::conv2d::Conv2d;
use super::decomposed::{CpConv, SvdConv, SvdLinear, TtConv, Tucker2Conv};
use super::linear::Linear;
use crate::error::{checked_len, Error, Result};
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

    /// [`Layer::forward`] that also keeps what [`Layer::backward`] needs (the input, the
    /// positions of the maxima, …) until the next call.
    ///
    /// # Errors
    /// As [`Layer::forward`].
    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>>;

    /// From `dy = ∂L/∂y` for the output of the last [`Layer::forward_train`], adds `∂L/∂θ` to
    /// the gradient of every parameter `θ` (so gradients of several batches accumulate until
    /// an optimizer step clears them) and returns `∂L/∂x`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the layer if no training forward pass came first;
    /// [`Error::ShapeMismatch`] if `dy` does not have that pass's output shape;
    /// [`Error::NonFinite`] for NaN or infinity in `dy`.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>>;

    /// Calls `f` with every trainable parameter and its gradient, always in the same order
    /// (what an optimizer and a checkpoint writer walk). Layers without parameters call nothing.
    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        let _ = f;
    }

    /// Calls `f` with every non-trainable state buffer and its name (a batch normalization's
    /// `"running_mean"` and `"running_var"`), always in the same order: what a checkpoint holds
    /// besides the parameters. Layers without such state call nothing.
    fn visit_buffers(&mut self, f: &mut dyn FnMut(&'static str, &mut [T])) {
        let _ = f;
    }

    /// The layer as a dense [`Linear`] or [`Conv2d`], if it is one: what a compression
    /// pipeline decomposes.
    fn as_dense(&self) -> Option<DenseLayer<'_, T>> {
        None
    }

    /// The layer as one of the layers run from a decomposition's factors ([`DecomposedLayer`]),
    /// if it is one: what a pipeline that decomposes again (MUSCO) reads the factors of.
    fn as_decomposed(&self) -> Option<DecomposedLayer<'_, T>> {
        None
    }
}

/// A layer run from the factors of a decomposed dense layer ([`Layer::as_decomposed`]).
#[derive(Clone, Copy, Debug)]
pub enum DecomposedLayer<'a, T> {
    /// [`SvdLinear`].
    SvdLinear(&'a SvdLinear<T>),
    /// [`SvdConv`].
    SvdConv(&'a SvdConv<T>),
    /// [`Tucker2Conv`].
    Tucker2(&'a Tucker2Conv<T>),
    /// [`CpConv`].
    Cp(&'a CpConv<T>),
    /// [`TtConv`].
    Tt(&'a TtConv<T>),
}

/// A dense layer with a weight to decompose ([`Layer::as_dense`]).
#[derive(Clone, Copy, Debug)]
pub enum DenseLayer<'a, T> {
    /// A fully connected layer.
    Linear(&'a Linear<T>),
    /// A convolution.
    Conv2d(&'a Conv2d<T>),
}

/// A trainable parameter and its gradient, lent by a layer to an optimizer.
#[derive(Debug)]
pub struct ParamMut<'a, T> {
    /// What the parameter is to its layer (`"weight"`, `"bias"`).
    pub name: &'static str,
    /// The values, row-major in the parameter's own layout.
    pub value: &'a mut [T],
    /// `∂L/∂value` accumulated since the last optimizer step, same length.
    pub grad: &'a mut [T],
}

/// The error of a backward pass without a training forward pass before it.
pub(crate) fn no_forward(layer: &str) -> Error {
    Error::InvalidParameter {
        name: "backward",
        value: layer.to_string(),
        expected: "a forward_train call on the same layer first",
    }
}

/// Checks `dy` against the output shape `expected` of the cached forward pass.
pub(crate) fn check_grad<T: Scalar>(
    op: &'static str,
    layer: &str,
    dy: &Tensor<T>,
    expected: &[usize],
) -> Result<()> {
    if dy.shape() != expected {
        return Err(Error::ShapeMismatch {
            op,
            left: expected.to_vec(),
            right: dy.shape().to_vec(),
            detail: format!("{layer}: the output gradient must have the forward output's shape"),
        });
    }
    dy.check_finite(op)
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

/// `[batch, channels, height, width]` of a 4-way input, or the layer's error; a shape with more
/// elements than memory can address is [`Error::SizeOverflow`] (no tensor can have it, and the
/// layers' size and FLOP arithmetic stays within `usize`).
pub(crate) fn nchw(op: &'static str, layer: &str, input: &[usize]) -> Result<[usize; 4]> {
    match *input {
        [b, c, h, w] => {
            checked_len(input, 1)?;
            Ok([b, c, h, w])
        }
        _ => Err(bad_input(op, layer, input, "a 4-way [batch, channels, height, width] input")),
    }
}

/// The product of `dims` in `f64`: a FLOP count that cannot overflow.
pub(crate) fn count(dims: &[usize]) -> f64 {
    dims.iter().map(|&d| d as f64).product()
}

/// Checks a dense layer's parameters: a non-empty, finite weight of order `ndim` (laid out as
/// `layout`, for the error) and, if given, a finite bias with one entry per output (`weight`'s
/// first dimension).
pub(crate) fn check_dense_params<T: Scalar>(
    op: &'static str,
    weight: &Tensor<T>,
    bias: Option<&[T]>,
    ndim: usize,
    layout: &str,
) -> Result<()> {
    weight.check_nonempty()?;
    if weight.ndim() != ndim {
        return Err(Error::InvalidModes {
            op,
            modes: (0..weight.ndim()).collect(),
            ndim: weight.ndim(),
            detail: format!("the weight is {layout}, got shape {:?}", weight.shape()),
        });
    }
    weight.check_finite(op)?;
    if let Some(b) = bias {
        if b.len() != weight.shape()[0] {
            return Err(Error::ShapeMismatch {
                op,
                left: weight.shape().to_vec(),
                right: vec![b.len()],
                detail: "the bias needs one entry per output".into(),
            });
        }
        crate::tensor::arith::check_finite_slice(op, b)?;
    }
    Ok(())
}
