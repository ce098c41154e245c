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
    /// One per layer: the name given to [`Sequential::push_named`], or the layer's index.
    names: Vec<String>,
}

impl<T: Scalar> Sequential<T> {
    /// An empty model (the identity).
    pub fn new() -> Self {
        Self { layers: Vec::new(), names: Vec::new() }
    }

    /// The model with `layer` appended (named by its index, `"0"`, `"1"`, …).
    pub fn push(self, layer: impl Layer<T> + 'static) -> Self {
        self.push_boxed(Box::new(layer))
    }

    /// The model with the boxed `layer` appended (named by its index).
    pub fn push_boxed(mut self, layer: Box<dyn Layer<T>>) -> Self {
        self.names.push(self.layers.len().to_string());
        self.layers.push(layer);
        self
    }

    /// The model with `layer` appended under `name` (what compression pipelines and reports
    /// call it, e.g. `"conv2"`).
    ///
    /// ```
    /// use tensorize::nn::{Linear, Relu, Sequential};
    /// use tensorize::Tensor;
    /// let model = Sequential::<f32>::new()
    ///     .push_named("fc", Linear::new(Tensor::random_normal(&[2, 3], 1)?, None)?)
    ///     .push(Relu::new());
    /// assert_eq!(model.names(), &["fc", "1"]);
    /// assert_eq!(model.index_of("fc")?, 0);
    /// assert!(model.index_of("conv").is_err());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn push_named(mut self, name: impl Into<String>, layer: impl Layer<T> + 'static) -> Self {
        self.names.push(name.into());
        self.layers.push(Box::new(layer));
        self
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The layers, in order, to train or change a part of the model in place (a pipeline that
    /// trains one stage at a time).
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// The layers' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The index of the layer named `name`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the layer and listing the model's names.
    pub fn index_of(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| Error::InvalidParameter {
            name: "layer",
            value: format!("{name:?} (the model has {:?})", self.names),
            expected: "the name of a layer of the model",
        })
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
