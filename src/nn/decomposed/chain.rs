//! [`Chain`]: dense layers over a decomposition's factors, run one after another, and the
//! macro that makes a decomposed layer a [`Layer`] by running its chain.

use crate::error::{Error, Result};
use crate::nn::conv2d::Conv2d;
use crate::nn::layer::{Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Layers applied in order; what every decomposed layer is made of.
#[derive(Clone, Debug)]
pub(crate) struct Chain<L> {
    pub(crate) parts: Vec<L>,
}

impl<T: Scalar, L: Layer<T>> Layer<T> for Chain<L> {
    fn describe(&self) -> String {
        let parts: Vec<String> = self.parts.iter().map(|l| l.describe()).collect();
        parts.join(" → ")
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.parts.iter().try_fold(input.to_vec(), |s, l| l.output_shape(&s))
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let (first, rest) = self.parts.split_first().ok_or_else(empty_chain)?;
        rest.iter().try_fold(first.forward(x)?, |h, l| l.forward(&h))
    }

    fn num_params(&self) -> usize {
        self.parts.iter().map(|l| l.num_params()).sum()
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        let mut shape = input.to_vec();
        let mut total = 0.0;
        for l in &self.parts {
            total += l.flops(&shape)?;
            shape = l.output_shape(&shape)?;
        }
        Ok(total)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let (first, rest) = self.parts.split_first_mut().ok_or_else(empty_chain)?;
        let h = first.forward_train(x)?;
        rest.iter_mut().try_fold(h, |h, l| l.forward_train(&h))
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let (last, rest) = self.parts.split_last_mut().ok_or_else(empty_chain)?;
        let g = last.backward(dy)?;
        rest.iter_mut().rev().try_fold(g, |g, l| l.backward(&g))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        for l in &mut self.parts {
            l.visit_params(f);
        }
    }
}

/// Every decomposed layer builds a chain of at least two parts; this guards the type anyway.
fn empty_chain() -> Error {
    Error::InvalidParameter {
        name: "chain",
        value: "no layers".into(),
        expected: "a decomposed layer with at least one part",
    }
}

/// The [`Layer`] impl of a decomposed layer `$name<T>` whose field `chain` runs it and whose
/// method `label()` describes it; it lends itself as [`crate::nn::DecomposedLayer`]`::$variant`.
macro_rules! chain_layer {
    ($name:ident, $variant:ident) => {
        impl<T: Scalar> Layer<T> for $name<T> {
            fn describe(&self) -> String {
                self.label()
            }

            fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
                self.chain.output_shape(input)
            }

            fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
                self.chain.forward(x)
            }

            fn num_params(&self) -> usize {
                self.chain.num_params()
            }

            fn flops(&self, input: &[usize]) -> Result<f64> {
                self.chain.flops(input)
            }

            fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
                self.chain.forward_train(x)
            }

            fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
                self.chain.backward(dy)
            }

            fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
                self.chain.visit_params(f)
            }

            fn as_decomposed(&self) -> Option<crate::nn::layer::DecomposedLayer<'_, T>> {
                Some(crate::nn::layer::DecomposedLayer::$variant(self))
            }
        }
    };
}

pub(crate) use chain_layer;

/// The error of a factor layer `layer` (its `role` in the decomposed layer `op`) that is not
/// what the decomposed layer needs (`wants`).
pub(super) fn bad_part(op: &'static str, role: &str, layer: &str, wants: &'static str) -> Error {
    Error::InvalidParameter {
        name: "parts",
        value: format!("{op}: {role} is {layer}"),
        expected: wants,
    }
}

/// Checks that `conv` is a plain 1×1 convolution (stride 1, no padding, one group), and
/// without a bias unless `bias_allowed`.
pub(super) fn check_pointwise<T: Scalar>(
    op: &'static str,
    role: &str,
    conv: &Conv2d<T>,
    bias_allowed: bool,
) -> Result<()> {
    let k = conv.weight().shape();
    let plain = k[2] == 1
        && k[3] == 1
        && conv.stride() == [1, 1]
        && conv.padding() == [0, 0]
        && conv.groups() == 1;
    if !plain || (!bias_allowed && conv.bias().is_some()) {
        let wants = if bias_allowed {
            "a 1×1 convolution, stride 1, no padding, one group"
        } else {
            "a 1×1 convolution, stride 1, no padding, one group, no bias"
        };
        return Err(bad_part(op, role, &conv.describe(), wants));
    }
    Ok(())
}

/// Checks that a factor layer with `outputs` outputs feeds one with `inputs` inputs.
pub(super) fn check_link(op: &'static str, outputs: usize, inputs: usize) -> Result<()> {
    if outputs == inputs {
        return Ok(());
    }
    Err(Error::ShapeMismatch {
        op,
        left: vec![outputs],
        right: vec![inputs],
        detail: "each factor layer's outputs must be the next one's inputs".into(),
    })
}
