//! [`OneShot`]: replace chosen dense layers of a model by decomposed ones in one pass.

use super::calibration::{layer_inputs, output_error, svd_layer, tucker2_layer, Response};
use super::report::{CompressionReport, LayerReport};
use crate::budget::Budget;
use crate::decomp::TtSvd;
use crate::error::{Error, Result};
use crate::nn::{CpConv, DenseLayer, Layer, Sequential, SvdConv, SvdLinear, TtConv, Tucker2Conv};
use crate::rank::{allocate, LayerSpectrum};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How a chosen layer is decomposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerMethod {
    /// Truncated SVD: [`SvdLinear`] or [`SvdConv`]; rank `r`.
    Svd,
    /// [`Tucker2Conv`] with ranks `(min(r, out), min(r, in))` (convolutions only).
    Tucker2,
    /// [`CpConv`] of rank `r` (convolutions only).
    Cp,
    /// [`TtConv`] with TT ranks at most `r` (convolutions only).
    Tt,
}

/// How large the decomposed layers are.
#[derive(Clone, Debug, PartialEq)]
pub enum Sizing {
    /// One rank per chosen layer, in the order the layers were named.
    Ranks(Vec<usize>),
    /// Each layer at the smallest rank whose weight error is at most ε (SVD and TT).
    Error(f64),
    /// One budget for all chosen layers together, split by [`allocate`] so that the summed
    /// squared relative weight errors are smallest (SVD); each rank stays below the layer's
    /// break-even, where the factors would hold as many weights as the dense layer.
    Budget(Budget),
}

/// The size of one decomposed layer.
#[derive(Clone, Copy, Debug)]
enum Size {
    Rank(usize),
    Error(f64),
}

/// Replaces the named dense layers of a [`Sequential`] model by decomposed layers, all checked
/// before anything is replaced: on an error the model is left as it was.
///
/// ```
/// use tensorize::compress::{LayerMethod, OneShot, Sizing};
/// use tensorize::nn::{Conv2d, Flatten, Layer, Linear, Sequential};
/// use tensorize::{Budget, Tensor};
/// let mut model = Sequential::<f32>::new()
///     .push_named("conv", Conv2d::new(Tensor::random_normal(&[16, 8, 3, 3], 1)?, None)?)
///     .push(Flatten::new())
///     .push_named("fc", Linear::new(Tensor::random_normal(&[10, 16 * 36], 2)?, None)?);
/// let one_shot = OneShot::new(&["conv", "fc"], LayerMethod::Svd, Sizing::Budget(Budget::CompressBy(4.0)));
/// let report = one_shot.apply(&mut model, &[1, 8, 8, 8])?;
/// assert_eq!(report.layers.len(), 2);
/// assert!(report.layers.iter().map(|l| l.params.1).sum::<usize>() * 4 <= 16 * 72 + 10 * 576);
/// assert_eq!(model.num_params(), report.params.1);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OneShot {
    layers: Vec<String>,
    method: LayerMethod,
    sizing: Sizing,
}

impl OneShot {
    /// Decompose the layers named `layers` with `method`, sized by `sizing`.
    pub fn new(layers: &[&str], method: LayerMethod, sizing: Sizing) -> Self {
        Self { layers: layers.iter().map(|s| s.to_string()).collect(), method, sizing }
    }

    /// Replaces the layers in `model`, whose input (batch first) has shape `input`, and
    /// reports parameters, FLOPs per sample and weight errors before and after.
    ///
    /// # Errors
    /// Before anything is replaced: [`Error::InvalidParameter`] for no layers, a name twice, a
    /// name not in the model (listing its names), a layer that is not a dense `Linear` or
    /// `Conv2d`, a method that does not apply to the layer (naming both), a sizing that does not
    /// apply to the method, a rank list of another length; [`Error::ShapeMismatch`] if `input`
    /// does not fit the model; the allocator's error for a budget that no ranks can meet; the
    /// decompositions' errors (ranks out of range name the layer).
    pub fn apply<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        input: &[usize],
    ) -> Result<CompressionReport> {
        self.run(model, input, None)
    }

    /// The data-aware variant: ranks and factors chosen from the error of each layer's
    /// *outputs* on the calibration `batch` (the model's input, batch first), not of its
    /// weight. The model runs on `batch` up to each chosen layer; the layer's response
    /// `Y = W·X` to its input there (for a convolution the output channels over all images
    /// and positions, i.e. `W` times the im2col'd input) gives the leading left singular
    /// vectors `U` onto which the weight is projected:
    ///
    /// - SVD: `Ŵ = U_r U_rᵀ W`, the best rank-`r` output on the batch; an ε bounds the output
    ///   error `‖Ŵ·X − W·X‖_F ≤ ε‖W·X‖_F`, and a budget is split by [`allocate`] over the
    ///   responses' spectra (the summed squared relative *output* errors are smallest);
    /// - Tucker-2: the output-channel factor is `U_{r_out}`; the input-channel factor and the
    ///   core are the best for the kernel given it (partial HOOI with that factor fixed).
    ///
    /// CP and TT have no data-aware form here. Every [`LayerReport`] then holds the
    /// `output_error` on the batch beside the weight error.
    ///
    /// ```
    /// use tensorize::compress::{LayerMethod, OneShot, Sizing};
    /// use tensorize::nn::{Flatten, Linear, Relu, Sequential};
    /// use tensorize::Tensor;
    /// let mut model = Sequential::<f64>::new()
    ///     .push(Flatten::new())
    ///     .push_named("fc1", Linear::new(Tensor::random_normal(&[20, 30], 1)?, None)?)
    ///     .push(Relu::new())
    ///     .push_named("fc2", Linear::new(Tensor::random_normal(&[5, 20], 2)?, None)?);
    /// let batch = Tensor::random_normal(&[64, 30], 3)?;
    /// let one_shot = OneShot::new(&["fc1", "fc2"], LayerMethod::Svd, Sizing::Error(0.3));
    /// let report = one_shot.calibrate(&batch).apply(&mut model)?;
    /// for layer in &report.layers {
    ///     assert!(layer.output_error.is_some_and(|e| e <= 0.3 + 1e-9));
    /// }
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn calibrate<'a, T: Scalar>(&'a self, batch: &'a Tensor<T>) -> Calibrated<'a, T> {
        Calibrated { one_shot: self, batch }
    }

    /// [`OneShot::apply`], data-aware when a calibration batch is given.
    fn run<T: Scalar>(
        &self,
        model: &mut Sequential<T>,
        input: &[usize],
        batch: Option<&Tensor<T>>,
    ) -> Result<CompressionReport> {
        let indices = self.check(model)?;
        if let Some(batch) = batch {
            self.check_calibration(batch)?;
        }
        // Every layer's input shape, for FLOPs per sample.
        let mut shapes = vec![input.to_vec()];
        for l in model.layers() {
            let next = l.output_shape(shapes.last().map_or(input, |s| s.as_slice()))?;
            shapes.push(next);
        }
        let dense: Vec<DenseLayer<'_, T>> =
            indices.iter().filter_map(|&i| model.layers()[i].as_dense()).collect();
        let calibration = match batch {
            Some(batch) => {
                let inputs = layer_inputs(model, batch, &indices)?;
                let responses = dense
                    .iter()
                    .zip(&inputs)
                    .map(|(&d, x)| Response::of(d, x))
                    .collect::<Result<Vec<_>>>()?;
                Some((inputs, responses))
            }
            None => None,
        };
        let responses = calibration.as_ref().map(|(_, r)| r.as_slice());
        let sizes = self.sizes(&dense, responses)?;
        let mut built = Vec::with_capacity(dense.len());
        for (k, (layer, size)) in dense.iter().zip(sizes).enumerate() {
            built.push(match responses {
                Some(r) => self.decompose_data_aware(*layer, size, &r[k], &self.layers[k])?,
                None => self.decompose(*layer, size)?,
            });
        }
        let (params_before, flops_before) = (model.num_params(), model.flops(input)?);
        // Every report first, so that nothing is replaced unless everything succeeded.
        let mut layers = Vec::with_capacity(built.len());
        for (k, ((new, rel_error), (&at, name))) in
            built.iter().zip(indices.iter().zip(&self.layers)).enumerate()
        {
            let (old, shape) = (&model.layers()[at], &shapes[at]);
            let output_error = match &calibration {
                Some((inputs, _)) => Some(output_error(dense[k], new.as_ref(), &inputs[k])?),
                None => None,
            };
            layers.push(LayerReport {
                name: name.clone(),
                before: old.describe(),
                after: new.describe(),
                params: (old.num_params(), new.num_params()),
                flops: (old.flops(shape)?, new.flops(shape)?),
                rel_error: *rel_error,
                output_error,
            });
        }
        drop(dense);
        for ((new, _), &at) in built.into_iter().zip(&indices) {
            model.replace(at, new)?;
        }
        Ok(CompressionReport {
            layers,
            params: (params_before, model.num_params()),
            flops: (flops_before, model.flops(input)?),
        })
    }

    /// The data-aware checks: a non-empty, finite batch and a method with a data-aware form.
    fn check_calibration<T: Scalar>(&self, batch: &Tensor<T>) -> Result<()> {
        batch.check_nonempty()?;
        batch.check_finite("OneShot::calibrate")?;
        if matches!(self.method, LayerMethod::Svd | LayerMethod::Tucker2) {
            return Ok(());
        }
        Err(Error::InvalidParameter {
            name: "method",
            value: format!("{:?} with a calibration batch", self.method),
            expected: "SVD or Tucker-2 for data-aware factors",
        })
    }

    /// The indices of the named layers, after every check that needs no decomposition.
    pub(super) fn check<T: Scalar>(&self, model: &Sequential<T>) -> Result<Vec<usize>> {
        let bad = |value: String, expected: &'static str| Error::InvalidParameter {
            name: "layers",
            value,
            expected,
        };
        if self.layers.is_empty() {
            return Err(bad("[]".into(), "at least one layer to compress"));
        }
        let mut indices = Vec::with_capacity(self.layers.len());
        for (k, name) in self.layers.iter().enumerate() {
            if self.layers[..k].contains(name) {
                return Err(bad(format!("{name:?} twice"), "each layer named once"));
            }
            let at = model.index_of(name)?;
            let layer = &model.layers()[at];
            let fits = match (layer.as_dense(), self.method) {
                (None, _) => false,
                (Some(DenseLayer::Linear(_)), method) => method == LayerMethod::Svd,
                (Some(DenseLayer::Conv2d(_)), _) => true,
            };
            if !fits {
                return Err(bad(
                    format!("{name:?} ({}) with {:?}", layer.describe(), self.method),
                    "dense layers the method applies to: SVD for linear and conv layers, \
                     Tucker-2, CP and TT for conv layers",
                ));
            }
            indices.push(at);
        }
        let sizing_fits = match &self.sizing {
            Sizing::Ranks(r) => r.len() == self.layers.len(),
            Sizing::Error(_) => matches!(self.method, LayerMethod::Svd | LayerMethod::Tt),
            Sizing::Budget(_) => self.method == LayerMethod::Svd,
        };
        if !sizing_fits {
            return Err(Error::InvalidParameter {
                name: "sizing",
                value: format!(
                    "{:?} for {:?} on {} layers",
                    self.sizing,
                    self.method,
                    self.layers.len()
                ),
                expected: "one rank per layer; an error ε with SVD or TT; a budget with SVD",
            });
        }
        if let Sizing::Error(eps) = self.sizing {
            crate::error::check_non_negative("eps", eps)?;
        }
        Ok(indices)
    }

    /// The size of every layer: from the weights, or from the responses on the calibration
    /// batch when there are some.
    fn sizes<T: Scalar>(
        &self,
        dense: &[DenseLayer<'_, T>],
        responses: Option<&[Response<T>]>,
    ) -> Result<Vec<Size>> {
        match (&self.sizing, responses) {
            (Sizing::Ranks(r), _) => Ok(r.iter().map(|&r| Size::Rank(r)).collect()),
            (Sizing::Error(eps), None) => Ok(vec![Size::Error(*eps); dense.len()]),
            (Sizing::Error(eps), Some(responses)) => {
                responses.iter().map(|r| Ok(Size::Rank(r.rank_for_error(*eps)?))).collect()
            }
            (Sizing::Budget(budget), responses) => {
                let spectra = dense
                    .iter()
                    .zip(&self.layers)
                    .enumerate()
                    .map(|(k, (layer, name))| {
                        let l = match (layer, responses) {
                            (_, Some(responses)) => {
                                let [out, cols] = matrix_shape(*layer);
                                let spectrum = responses[k].spectrum.clone();
                                let max = spectrum.len().min(out.min(cols));
                                LayerSpectrum::new(name.clone(), spectrum, out + cols, out * cols)
                                    .max_rank(max)
                            }
                            (DenseLayer::Linear(l), None) => {
                                LayerSpectrum::from_matrix(name.clone(), l.weight().as_mat()?)?
                            }
                            (DenseLayer::Conv2d(c), None) => {
                                LayerSpectrum::from_conv_kernel(name.clone(), c.weight())?
                            }
                        };
                        let below = ((l.dense_params - 1) / l.params_per_rank).clamp(1, l.max_rank);
                        Ok(l.max_rank(below))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(allocate(&spectra, *budget)?.ranks.into_iter().map(Size::Rank).collect())
            }
        }
    }

    /// The data-aware decomposed layer of `dense` (named `name`) of size `size` from its
    /// `response`, and its weight error.
    fn decompose_data_aware<T: Scalar>(
        &self,
        dense: DenseLayer<'_, T>,
        size: Size,
        response: &Response<T>,
        name: &str,
    ) -> Result<(Box<dyn Layer<T>>, f64)> {
        let r = match size {
            Size::Rank(r) => r,
            Size::Error(eps) => response.rank_for_error(eps)?,
        };
        match (dense, self.method) {
            (DenseLayer::Conv2d(c), LayerMethod::Tucker2) => {
                let ranks = (r.min(c.out_channels()), r.min(c.in_channels()));
                tucker2_layer(c, response, ranks, name)
            }
            _ => svd_layer(dense, response, r, name),
        }
    }

    /// The decomposed layer of `dense` of size `size`, and its weight error.
    fn decompose<T: Scalar>(
        &self,
        dense: DenseLayer<'_, T>,
        size: Size,
    ) -> Result<(Box<dyn Layer<T>>, f64)> {
        fn boxed<T: Scalar, L: Layer<T> + 'static>(l: L, e: f64) -> (Box<dyn Layer<T>>, f64) {
            (Box::new(l), e)
        }
        Ok(match (dense, self.method, size) {
            (DenseLayer::Linear(l), _, Size::Rank(r)) => {
                let s = SvdLinear::from_linear(l, r)?;
                let e = s.rel_error();
                boxed(s, e)
            }
            (DenseLayer::Linear(l), _, Size::Error(eps)) => {
                let s = SvdLinear::from_linear_eps(l, eps)?;
                let e = s.rel_error();
                boxed(s, e)
            }
            (DenseLayer::Conv2d(c), LayerMethod::Svd, size) => {
                let s = match size {
                    Size::Rank(r) => SvdConv::from_conv(c, r)?,
                    Size::Error(eps) => SvdConv::from_conv_eps(c, eps)?,
                };
                let e = s.rel_error();
                boxed(s, e)
            }
            (DenseLayer::Conv2d(c), LayerMethod::Tt, size) => {
                let t = match size {
                    Size::Rank(r) => TtConv::from_conv(c, r)?,
                    Size::Error(eps) => TtConv::from_conv_with(c, &TtSvd::new().eps(eps))?,
                };
                let e = t.rel_error();
                boxed(t, e)
            }
            (DenseLayer::Conv2d(c), LayerMethod::Tucker2, Size::Rank(r)) => {
                let (r_out, r_in) = (r.min(c.out_channels()), r.min(c.in_channels()));
                let t = Tucker2Conv::from_conv(c, r_out, r_in)?;
                let e = t.rel_error();
                boxed(t, e)
            }
            (DenseLayer::Conv2d(c), LayerMethod::Cp, Size::Rank(r)) => {
                let t = CpConv::from_conv(c, r)?;
                let e = t.rel_error();
                boxed(t, e)
            }
            (DenseLayer::Conv2d(_), method, Size::Error(eps)) => {
                return Err(Error::InvalidParameter {
                    name: "sizing",
                    value: format!("an error ε = {eps} for {method:?}"),
                    expected: "ranks for Tucker-2 and CP",
                })
            }
        })
    }
}

/// `[rows, cols]` of the weight as the matrix an SVD factors (`out × in·kh·kw` for a kernel).
fn matrix_shape<T: Scalar>(dense: DenseLayer<'_, T>) -> [usize; 2] {
    match dense {
        DenseLayer::Linear(l) => [l.out_features(), l.in_features()],
        DenseLayer::Conv2d(c) => {
            let s = c.weight().shape();
            [s[0], s[1] * s[2] * s[3]]
        }
    }
}

/// A [`OneShot`] with a calibration batch ([`OneShot::calibrate`]): data-aware ranks and
/// factors.
#[derive(Clone, Copy, Debug)]
pub struct Calibrated<'a, T> {
    one_shot: &'a OneShot,
    batch: &'a Tensor<T>,
}

impl<T: Scalar> Calibrated<'_, T> {
    /// Replaces the layers in `model` (whose input is shaped like the calibration batch) by
    /// data-aware decomposed layers and reports weight and output errors.
    ///
    /// # Errors
    /// As [`OneShot::apply`]; [`Error::InvalidParameter`] for a method without a data-aware
    /// form (CP, TT); [`Error::ZeroDimension`] for an empty batch, [`Error::NonFinite`];
    /// [`Error::InvalidRank`] naming the layer for a rank above the response's (the output
    /// channels, and at most the calibration samples).
    pub fn apply(&self, model: &mut Sequential<T>) -> Result<CompressionReport> {
        self.one_shot.run(model, self.batch.shape(), Some(self.batch))
    }
}
