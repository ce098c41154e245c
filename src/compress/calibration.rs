//! Data-aware ranks and factors: a layer's responses to a calibration batch, the leading
//! subspace of those responses, and the layers built from it.
//!
//! A dense layer maps its input `X` to `W·X + b`. Its *response* is `Y = W·X` (the output
//! without the bias, which every decomposed layer keeps exactly); for a convolution `X` is the
//! im2col'd input, so `Y` is the `out × (batch·positions)` matrix of the output channels. The
//! projection `Ŵ = U_r U_rᵀ W` onto the leading `r` left singular vectors of `Y` makes
//! `Ŵ·X = U_r U_rᵀ Y` the best rank-`r` approximation of the response (Eckart–Young), so the
//! output error `‖Ŵ·X − W·X‖_F / ‖W·X‖_F` is `sqrt(Σ_{i≥r} σ_i(Y)² / Σ σ_i(Y)²)`: ranks by an
//! error ε or by a budget are chosen from the response's spectrum instead of the weight's.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use crate::decomp::PartialHooi;
use crate::error::{Error, Result};
use crate::linalg::{left_subspace, SubspaceMethod, Truncation};
use crate::nn::{Conv2d, DenseLayer, Layer, Linear, Sequential, SvdConv, SvdLinear, Tucker2Conv};
use crate::par::auto_par;
use crate::rank::svd_rank_for_error;
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;
use crate::tensorization::LowRank;

/// The leading left singular subspace of one layer's response `Y = W·X` on the calibration
/// batch.
#[derive(Clone, Debug)]
pub(crate) struct Response<T> {
    /// All left singular vectors that the spectrum has, `out × k`, in descending order.
    pub u: Mat<T>,
    /// The singular values of `Y`, descending (`k = min(out, samples)` of them).
    pub spectrum: Vec<f64>,
}

impl<T: Scalar> Response<T> {
    /// The response of `dense` to its input `x` (batch first).
    pub(crate) fn of(dense: DenseLayer<'_, T>, x: &Tensor<T>) -> Result<Self> {
        let y = linear_response(dense, x)?;
        // `out × samples`: the output channels (features) are mode 1 of the response.
        let y = tenalg::unfold(&y, 1)?;
        let a = y.as_mat()?;
        let flops = 2.0 * (a.nrows() as f64).powi(2) * a.ncols() as f64;
        let sub = left_subspace(a, &Truncation::full(), SubspaceMethod::Auto, auto_par(flops))?;
        Ok(Self { u: sub.u, spectrum: sub.full_spectrum.iter().map(|s| s.as_f64()).collect() })
    }

    /// The smallest rank (at least 1) whose output error is at most `eps`.
    ///
    /// # Errors
    /// As [`svd_rank_for_error`] (an `eps` that is negative or not finite).
    pub(crate) fn rank_for_error(&self, eps: f64) -> Result<usize> {
        svd_rank_for_error(&self.spectrum, eps)
    }

    /// The leading `r` left singular vectors, `out × r`.
    fn leading(&self, r: usize, layer: &str) -> Result<MatRef<'_, T>> {
        if r == 0 || r > self.u.ncols() {
            return Err(Error::InvalidRank {
                op: "OneShot (data-aware)",
                ranks: vec![r],
                shape: vec![self.u.nrows(), self.u.ncols()],
                detail: format!(
                    "{layer}: a data-aware rank must be between 1 and {} (the output \
                     channels, and at most the calibration samples)",
                    self.u.ncols()
                ),
            });
        }
        Ok(self.u.as_ref().subcols(0, r))
    }
}

/// `W·X`: the output of `dense` on `x` without its bias.
fn linear_response<T: Scalar>(dense: DenseLayer<'_, T>, x: &Tensor<T>) -> Result<Tensor<T>> {
    match dense {
        DenseLayer::Linear(l) => Linear::new(l.weight().clone(), None)?.forward(x),
        DenseLayer::Conv2d(c) => without_bias(c)?.forward(x),
    }
}

/// `c` with the same weight, stride, padding and groups, and no bias.
fn without_bias<T: Scalar>(c: &Conv2d<T>) -> Result<Conv2d<T>> {
    Conv2d::new(c.weight().clone(), None)?
        .with_stride(c.stride())?
        .with_padding(c.padding())?
        .with_groups(c.groups())
}

/// The inputs of the layers at `indices` (ascending or not) when `model` runs on `batch`.
pub(crate) fn layer_inputs<T: Scalar>(
    model: &Sequential<T>,
    batch: &Tensor<T>,
    indices: &[usize],
) -> Result<Vec<Tensor<T>>> {
    model.output_shape(batch.shape())?;
    let last = indices.iter().copied().max().unwrap_or(0);
    let mut inputs = vec![None; indices.len()];
    let mut h = batch.clone();
    for (at, layer) in model.layers().iter().enumerate().take(last + 1) {
        for (slot, _) in inputs.iter_mut().zip(indices).filter(|(_, i)| **i == at) {
            *slot = Some(h.clone());
        }
        if at < last {
            h = layer.forward(&h)?;
        }
    }
    inputs
        .into_iter()
        .zip(indices)
        .map(|(x, &i)| {
            x.ok_or(Error::IndexOutOfBounds { index: vec![i], shape: vec![model.layers().len()] })
        })
        .collect()
}

/// `a · b`.
pub(crate) fn product<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let mut out = Mat::zeros(a.nrows(), b.ncols());
    let par = auto_par(2.0 * (a.nrows() * a.ncols() * b.ncols()) as f64);
    matmul(out.as_mut(), Accum::Replace, a, b, T::one(), par);
    out
}

/// The rank-`r` data-aware SVD layer of `dense`: `Ŵ = U_r U_rᵀ W`, split as `L Rᵀ` with the
/// singular values shared evenly (as [`LowRank`] does for the weight SVD), and its weight
/// error `‖W − Ŵ‖ / ‖W‖`.
pub(crate) fn svd_layer<T: Scalar>(
    dense: DenseLayer<'_, T>,
    response: &Response<T>,
    r: usize,
    name: &str,
) -> Result<(Box<dyn Layer<T>>, f64)> {
    let w = match dense {
        DenseLayer::Linear(l) => l.weight().clone(),
        DenseLayer::Conv2d(c) => {
            let s = c.weight().shape();
            c.weight().clone().reshape(&[s[0], s[1] * s[2] * s[3]])?
        }
    };
    let u = response.leading(r, name)?;
    // `U_rᵀ W` (r × n), then its own SVD: `Ŵ = (U_r A √Σ)(B √Σ)ᵀ` with orthonormal `U_r A`.
    let small = Tensor::from_mat(product(u.transpose(), w.as_mat()?).as_ref())?;
    let lr = LowRank::from_matrix(&small, r)?;
    let left = product(u, lr.left().as_ref());
    let right_t = lr.right().transpose();
    let rank = left.ncols();
    let approx = Tensor::from_mat(product(left.as_ref(), right_t).as_ref())?;
    let weight_error = approx.sub(&w)?.norm().as_f64() / w.norm().as_f64().max(f64::MIN_POSITIVE);
    Ok(match dense {
        DenseLayer::Linear(l) => {
            let project = Linear::new(Tensor::from_mat(right_t)?, None)?;
            let expand =
                Linear::new(Tensor::from_mat(left.as_ref())?, l.bias().map(<[T]>::to_vec))?;
            (Box::new(SvdLinear::from_parts(project, expand, weight_error)?), weight_error)
        }
        DenseLayer::Conv2d(c) => {
            let s = c.weight().shape();
            let first = Tensor::from_mat(right_t)?.reshape(&[rank, s[1], s[2], s[3]])?;
            let project =
                Conv2d::new(first, None)?.with_stride(c.stride())?.with_padding(c.padding())?;
            let last = Tensor::from_mat(left.as_ref())?.reshape(&[s[0], rank, 1, 1])?;
            let expand = Conv2d::new(last, c.bias().map(<[T]>::to_vec))?;
            (Box::new(SvdConv::from_parts(project, expand, weight_error)?), weight_error)
        }
    })
}

/// The data-aware Tucker-2 layer of `conv`: the output factor is the leading `r_out` left
/// singular vectors of the response (the output channels), the input factor and the core the
/// best ones for the kernel given it (partial HOOI with the output factor fixed).
pub(crate) fn tucker2_layer<T: Scalar>(
    conv: &Conv2d<T>,
    response: &Response<T>,
    (r_out, r_in): (usize, usize),
    name: &str,
) -> Result<(Box<dyn Layer<T>>, f64)> {
    let u_out = response.leading(r_out, name)?.to_owned();
    let (t, _) = PartialHooi::new(&[0, 1], &[r_out, r_in]).fixed(0, u_out).fit(conv.weight())?;
    let layer = Tucker2Conv::from_partial_tucker(conv, &t)?;
    let e = layer.rel_error();
    Ok((Box::new(layer), e))
}

/// `‖f̂(X) − f(X)‖_F / ‖W·X‖_F`: the output error of `new` against the dense layer on its
/// calibration input `x`, relative to the dense layer's response (its output without the bias,
/// which `new` keeps exactly).
pub(crate) fn output_error<T: Scalar>(
    dense: DenseLayer<'_, T>,
    new: &dyn Layer<T>,
    x: &Tensor<T>,
) -> Result<f64> {
    let reference = match dense {
        DenseLayer::Linear(l) => l.forward(x)?,
        DenseLayer::Conv2d(c) => c.forward(x)?,
    };
    let diff = new.forward(x)?.sub(&reference)?.norm().as_f64();
    let response = linear_response(dense, x)?.norm().as_f64();
    Ok(if response > 0.0 { diff / response } else { diff })
}
