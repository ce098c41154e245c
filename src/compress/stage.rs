//! [`Stage`]: a run of consecutive layers of a model lent as one [`Layer`], so that a stage
//! can be trained (and stepped by an optimizer) on its own while the others stay fixed.

use crate::error::{Error, Result};
use crate::nn::{Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Consecutive layers borrowed from a model ([`crate::nn::Sequential::layers_mut`]).
pub(crate) struct Stage<'a, T> {
    pub(crate) layers: &'a mut [Box<dyn Layer<T>>],
}

impl<T: Scalar> Layer<T> for Stage<'_, T> {
    fn describe(&self) -> String {
        let parts: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("stage[{}]", parts.join(", "))
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.layers.iter().try_fold(input.to_vec(), |s, l| l.output_shape(&s))
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.output_shape(x.shape())?;
        let (first, rest) = self.layers.split_first().ok_or_else(empty)?;
        rest.iter().try_fold(first.forward(x)?, |h, l| l.forward(&h))
    }

    fn num_params(&self) -> usize {
        self.layers.iter().map(|l| l.num_params()).sum()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let mut shape = input.to_vec();
        let mut total = 0.0;
        for l in self.layers.iter() {
            total += l.flops(&shape)?;
            shape = l.output_shape(&shape)?;
        }
        Ok(total)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.output_shape(x.shape())?;
        let (first, rest) = self.layers.split_first_mut().ok_or_else(empty)?;
        let h = first.forward_train(x)?;
        rest.iter_mut().try_fold(h, |h, l| l.forward_train(&h))
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let (last, rest) = self.layers.split_last_mut().ok_or_else(empty)?;
        let g = last.backward(dy)?;
        rest.iter_mut().rev().try_fold(g, |g, l| l.backward(&g))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for l in self.layers.iter_mut() {
            l.visit_params(f);
        }
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(&'static str, &mut [T])) {
        for l in self.layers.iter_mut() {
            l.visit_buffers(f);
        }
    }
}

/// Stages are made from at least one layer; this guards the type anyway.
fn empty() -> Error {
    Error::InvalidParameter {
        name: "stage",
        value: "no layers".into(),
        expected: "at least one layer",
    }
}
