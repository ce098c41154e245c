//! Parameter-free layers that keep or merely reinterpret the shape: ReLU and Flatten.

use super::layer::{bad_input, check_grad, count, no_forward, Layer};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `max(x, 0)`, elementwise, any shape.
#[derive(Clone, Debug)]
pub struct Relu<T> {
    /// Of the last training forward pass: its shape and which entries were positive (they pass
    /// gradients). The mask's buffer is reused from step to step.
    shape: Option<Vec<usize>>,
    positive: Vec<bool>,
    _scalar: std::marker::PhantomData<T>,
}

impl<T> Relu<T> {
    /// A ReLU.
    pub fn new() -> Self {
        Self { shape: None, positive: Vec::new(), _scalar: std::marker::PhantomData }
    }
}

impl<T> Default for Relu<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> Layer<T> for Relu<T> {
    fn describe(&self) -> String {
        "relu".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        // NaN stays NaN (a later layer's finiteness check reports it).
        Ok(x.map(|v| if v < T::zero() { T::zero() } else { v }))
    }

    fn num_params(&self) -> usize {
        0
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        Ok(count(input.get(1..).unwrap_or(&[])))
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let y = self.forward(x)?;
        self.positive.clear();
        self.positive.extend(y.as_slice().iter().map(|&v| v > T::zero()));
        self.shape = Some(y.shape().to_vec());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let shape = self.shape.as_ref().ok_or_else(|| no_forward("relu"))?;
        check_grad("Relu", "relu", dy, shape)?;
        let mut dx = dy.clone();
        // The derivative at 0 is taken as 0, as in PyTorch (NaN is not positive either).
        dx.as_mut_slice()
            .iter_mut()
            .zip(&self.positive)
            .for_each(|(d, &pass)| *d = if pass { *d } else { T::zero() });
        Ok(dx)
    }
}

/// `[batch, d_1, …, d_k] → [batch, d_1 ⋯ d_k]`, row-major (PyTorch's `flatten(1)`: for NCHW
/// images the order is channel, row, column). A reshape: no copy of the layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flatten {
    /// The input shape of the last training forward pass.
    input_shape: Option<Vec<usize>>,
}

impl Flatten {
    /// A flatten layer.
    pub fn new() -> Self {
        Self { input_shape: None }
    }
}

impl<T: Scalar> Layer<T> for Flatten {
    fn describe(&self) -> String {
        "flatten".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input.split_first() {
            Some((&b, rest)) => {
                // Addressable (the product of the non-zero dimensions fits), so this cannot
                // overflow; a zero anywhere makes it 0.
                crate::error::checked_len(input, 1)?;
                let n = if rest.contains(&0) { 0 } else { rest.iter().product() };
                Ok(vec![b, n])
            }
            None => Err(bad_input("Flatten", "flatten", input, "a batch of samples (order ≥ 1)")),
        }
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let shape = Layer::<T>::output_shape(self, x.shape())?;
        x.clone().reshape(&shape)
    }

    fn num_params(&self) -> usize {
        0
    }

    fn flops(&self, _input: &[usize]) -> Result<f64> {
        Ok(0.0)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let y = Layer::<T>::forward(self, x)?;
        self.input_shape = Some(x.shape().to_vec());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let shape = self.input_shape.as_ref().ok_or_else(|| no_forward("flatten"))?;
        let out = Layer::<T>::output_shape(self, shape)?;
        check_grad("Flatten", "flatten", dy, &out)?;
        dy.clone().reshape(shape)
    }
}
