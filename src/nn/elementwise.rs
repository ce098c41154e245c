//! Parameter-free layers that keep or merely reinterpret the shape: ReLU and Flatten.

use super::layer::{bad_input, Layer};
use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `max(x, 0)`, elementwise, any shape.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Relu;

impl<T: Scalar> Layer<T> for Relu {
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
        Ok(input.iter().skip(1).product::<usize>() as f64)
    }
}

/// `[batch, d_1, …, d_k] → [batch, d_1 ⋯ d_k]`, row-major (PyTorch's `flatten(1)`: for NCHW
/// images the order is channel, row, column). Free: no copy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<T: Scalar> Layer<T> for Flatten {
    fn describe(&self) -> String {
        "flatten".into()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input.split_first() {
            Some((&b, rest)) => Ok(vec![b, rest.iter().product()]),
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
}
