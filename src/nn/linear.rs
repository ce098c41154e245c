//! A dense fully connected layer `y = W x + b` on `[batch, in]` inputs (PyTorch's `[out, in]`
//! weight layout), one faer GEMM per batch.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use super::layer::{
    bad_input, check_dense_params, check_grad, no_forward, DenseLayer, Layer, ParamMut,
};
use crate::error::Result;
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// `Y = X Wᵀ + 1 bᵀ` for a `[batch, in]` input `X`.
///
/// ```
/// use tensorize::nn::{Layer, Linear};
/// use tensorize::Tensor;
/// let w = Tensor::from_vec(&[2, 3], vec![1.0_f64, 0.0, 0.0, 0.0, 1.0, 1.0])?;
/// let fc = Linear::new(w, Some(vec![0.5, -0.5]))?;
/// let y = fc.forward(&Tensor::from_vec(&[1, 3], vec![1.0, 2.0, 3.0])?)?;
/// assert_eq!(y.as_slice(), &[1.5, 4.5]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Linear<T> {
    weight: Tensor<T>,
    bias: Option<Vec<T>>,
    grad_weight: Vec<T>,
    grad_bias: Vec<T>,
    /// The input of the last training forward pass.
    input: Option<Tensor<T>>,
}

const OP: &str = "Linear";

impl<T: Scalar> Linear<T> {
    /// A layer with weight `[out, in]` and an optional bias of length `out`.
    ///
    /// # Errors
    /// [`InvalidModes`](crate::error::Error::InvalidModes) unless the weight is 2-way;
    /// [`ZeroDimension`](crate::error::Error::ZeroDimension) for an empty weight;
    /// [`ShapeMismatch`](crate::error::Error::ShapeMismatch) for a bias of another length;
    /// [`NonFinite`](crate::error::Error::NonFinite).
    pub fn new(weight: Tensor<T>, bias: Option<Vec<T>>) -> Result<Self> {
        check_dense_params(OP, &weight, bias.as_deref(), 2, "[out, in]")?;
        let grad_weight = vec![T::zero(); weight.numel()];
        let grad_bias = vec![T::zero(); bias.as_ref().map_or(0, Vec::len)];
        Ok(Self { weight, bias, grad_weight, grad_bias, input: None })
    }

    /// The weight, `[out, in]`.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight
    }

    /// The bias, if any.
    pub fn bias(&self) -> Option<&[T]> {
        self.bias.as_deref()
    }

    /// Input features.
    pub fn in_features(&self) -> usize {
        self.weight.shape()[1]
    }

    /// Output features.
    pub fn out_features(&self) -> usize {
        self.weight.shape()[0]
    }

    fn batch_of(&self, input: &[usize]) -> Result<usize> {
        match *input {
            [b, n] if n == self.in_features() => Ok(b),
            _ => Err(bad_input(
                OP,
                &self.describe(),
                input,
                &format!("a [batch, {}] input", self.in_features()),
            )),
        }
    }
}

impl<T: Scalar> Layer<T> for Linear<T> {
    fn describe(&self) -> String {
        format!("linear {}→{}", self.in_features(), self.out_features())
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![self.batch_of(input)?, self.out_features()])
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let b = self.batch_of(x.shape())?;
        x.check_finite(OP)?;
        let (n, m) = (self.in_features(), self.out_features());
        let mut y = Tensor::zeros(&[b, m])?;
        if b == 0 {
            return Ok(y);
        }
        let xm = MatRef::from_row_major_slice(x.as_slice(), b, n);
        let wm = MatRef::from_row_major_slice(self.weight.as_slice(), m, n);
        let par = auto_par(2.0 * (b * n * m) as f64);
        matmul(
            MatMut::from_row_major_slice_mut(y.as_mut_slice(), b, m),
            Accum::Replace,
            xm,
            wm.transpose(),
            T::one(),
            par,
        );
        if let Some(bias) = &self.bias {
            for row in y.as_mut_slice().chunks_exact_mut(m) {
                row.iter_mut().zip(bias).for_each(|(v, &c)| *v += c);
            }
        }
        Ok(y)
    }

    fn num_params(&self) -> usize {
        self.weight.numel() + self.bias.as_ref().map_or(0, Vec::len)
    }

    fn flops(&self, input: &[usize]) -> Result<f64> {
        self.batch_of(input)?;
        Ok(2.0 * self.weight.numel() as f64)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let y = self.forward(x)?;
        self.input = Some(x.clone());
        Ok(y)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.describe();
        let x = self.input.as_ref().ok_or_else(|| no_forward(&layer))?;
        let (b, n, m) = (x.shape()[0], self.in_features(), self.out_features());
        check_grad(OP, &layer, dy, &[b, m])?;
        let mut dx = Tensor::zeros(&[b, n])?;
        if b == 0 {
            return Ok(dx);
        }
        let par = auto_par(4.0 * (b * n * m) as f64);
        let dym = MatRef::from_row_major_slice(dy.as_slice(), b, m);
        let xm = MatRef::from_row_major_slice(x.as_slice(), b, n);
        let wm = MatRef::from_row_major_slice(self.weight.as_slice(), m, n);
        // ∂L/∂X = dY · W;  ∂L/∂W += dYᵀ · X;  ∂L/∂b += Σ_rows dY.
        matmul(
            MatMut::from_row_major_slice_mut(dx.as_mut_slice(), b, n),
            Accum::Replace,
            dym,
            wm,
            T::one(),
            par,
        );
        let gw = MatMut::from_row_major_slice_mut(&mut self.grad_weight, m, n);
        matmul(gw, Accum::Add, dym.transpose(), xm, T::one(), par);
        if !self.grad_bias.is_empty() {
            for row in dy.as_slice().chunks_exact(m) {
                self.grad_bias.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
            }
        }
        Ok(dx)
    }

    fn as_dense(&self) -> Option<DenseLayer<'_, T>> {
        Some(DenseLayer::Linear(self))
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        f(ParamMut {
            name: "weight",
            value: self.weight.as_mut_slice(),
            grad: &mut self.grad_weight,
        });
        if let Some(bias) = &mut self.bias {
            f(ParamMut { name: "bias", value: bias, grad: &mut self.grad_bias });
        }
    }
}
