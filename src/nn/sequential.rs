//! A model as a chain of layers, and its evaluation on labelled data.

use super::evaluation::argmax_rows;
use super::layer::{Layer, ParamMut};
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Layers applied in order; itself a [`Layer`].
///
/// ```
/// use tensorize::nn::{Flatten, Layer, Linear, Relu, Sequential};
/// use tensorize::Tensor;
/// let model = Sequential::<f64>::new()
///     .push(Flatten::new())
///     .push(Linear::new(Tensor::random_normal(&[5, 12], 1)?, None)?)
///     .push(Relu::new());
/// assert_eq!(model.output_shape(&[7, 3, 4])?, vec![7, 5]);
/// assert_eq!(model.num_params(), 60);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Default)]
pub struct Sequential<T> {
    layers: Vec<Box<dyn Layer<T>>>,
}

impl<T: Scalar> Sequential<T> {
    /// An empty model (the identity).
    pub fn new() -> Self {
        Self { layers: Vec::new() }
    }

    /// The model with `layer` appended.
    pub fn push(mut self, layer: impl Layer<T> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The model with the boxed `layer` appended.
    pub fn push_boxed(mut self, layer: Box<dyn Layer<T>>) -> Self {
        self.layers.push(layer);
        self
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// Replaces layer `index` by `layer`, returning the old one (to swap in a decomposed layer).
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] for an index past the last layer.
    pub fn replace(&mut self, index: usize, layer: Box<dyn Layer<T>>) -> Result<Box<dyn Layer<T>>> {
        match self.layers.get_mut(index) {
            Some(slot) => Ok(std::mem::replace(slot, layer)),
            None => {
                Err(Error::IndexOutOfBounds { index: vec![index], shape: vec![self.layers.len()] })
            }
        }
    }

    /// The predicted class of every sample of `x`: the argmax of the model's `[batch, classes]`
    /// output (the first on ties).
    ///
    /// # Errors
    /// As [`Layer::forward`]; [`Error::ShapeMismatch`] if the output is not `[batch, classes]`.
    pub fn predict(&self, x: &Tensor<T>) -> Result<Vec<usize>> {
        argmax_rows("Sequential::predict", &self.forward(x)?)
    }
}

impl<T: Scalar> Layer<T> for Sequential<T> {
    fn describe(&self) -> String {
        let parts: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("sequential[{}]", parts.join(", "))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.layers.iter().try_fold(input.to_vec(), |shape, l| l.output_shape(&shape))
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        // Check every shape first: a mismatch deep in the model is reported before any work.
        self.output_shape(x.shape())?;
        let mut layers = self.layers.iter();
        let Some(first) = layers.next() else { return Ok(x.clone()) };
        layers.try_fold(first.forward(x)?, |h, l| l.forward(&h))
    }

    fn num_params(&self) -> usize {
        self.layers.iter().map(|l| l.num_params()).sum()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let mut shape = input.to_vec();
        let mut total = 0.0;
        for l in &self.layers {
            total += l.flops(&shape)?;
            shape = l.output_shape(&shape)?;
        }
        Ok(total)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.output_shape(x.shape())?;
        let mut layers = self.layers.iter_mut();
        let Some(first) = layers.next() else { return Ok(x.clone()) };
        layers.try_fold(first.forward_train(x)?, |h, l| l.forward_train(&h))
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let mut layers = self.layers.iter_mut().rev();
        let Some(last) = layers.next() else { return Ok(dy.clone()) };
        layers.try_fold(last.backward(dy)?, |g, l| l.backward(&g))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for l in &mut self.layers {
            l.visit_params(f);
        }
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(&'static str, &mut [T])) {
        for l in &mut self.layers {
            l.visit_buffers(f);
        }
    }
}
