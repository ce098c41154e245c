//! [`TuckerConvBlock`]: `L` same-shape convolutions (each followed by batch normalization and a
//! ReLU) whose kernels are the slices of one Tucker tensor (T-Net, Kossaifi et al. 2019).

use super::shared::SharedTucker;
use crate::error::{checked_len, Error, Result};
use crate::nn::batch_norm::BatchNorm2d;
use crate::nn::conv2d::Conv2d;
use crate::nn::elementwise::Relu;
use crate::nn::layer::{no_forward, Layer, ParamMut};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

const OP: &str = "TuckerConvBlock";

/// `L` convolutions `C → C` with a `kh × kw` window (stride 1, "same" padding `kh/2`, `kw/2`),
/// each followed by [`BatchNorm2d`] and [`Relu`], run one after another, whose kernels are the
/// slices `W[l]` of one 5-way tensor `W ∈ R^{L × C × C × kh × kw}` (modes: layer, out, in,
/// kh, kw) held in Tucker form `W = G ×₁ U_L ×₂ U_out ×₃ U_in ×₄ U_kh ×₅ U_kw` and trained end
/// to end (T-Net, Kossaifi, Bulat, Tzimiropoulos, Pantic, CVPR 2019; the paper's exact mode
/// list is not known, this is its natural reading for one stack of same-shape convolutions).
///
/// The parameters are the core (`∏ R_n`), the factors (`Σ D_n R_n`) and each normalization's
/// `γ`, `β` (the convolutions have no bias: the normalization's `β` takes its place). The
/// training pass rebuilds `W` once, runs the `L` convolutions with its slices, and the backward
/// pass collects every slice's kernel gradient into `∂L/∂W` and maps it to the core and the
/// factors (see the chain rule in `shared.rs`), so every convolution's gradient reaches the one
/// shared tensor.
///
/// ```
/// use tensorize::nn::{Layer, TuckerConvBlock};
/// use tensorize::Tensor;
/// // 3 convolutions 8 → 8, 3×3, ranks (layer 2, out 4, in 4, kh 3, kw 3).
/// let block = TuckerConvBlock::<f32>::new(3, 8, [3, 3], [2, 4, 4, 3, 3], 7)?;
/// assert_eq!(block.tucker_params(), 2 * 4 * 4 * 3 * 3 + 3 * 2 + 8 * 4 + 8 * 4 + 3 * 3 + 3 * 3);
/// assert_eq!(block.dense_weight_params(), 3 * 8 * 8 * 3 * 3);
/// let x = Tensor::random_normal(&[2, 8, 6, 6], 1)?;
/// assert_eq!(block.forward(&x)?.shape(), &[2, 8, 6, 6]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TuckerConvBlock<T> {
    layers: usize,
    channels: usize,
    kernel: [usize; 2],
    weight: SharedTucker<T>,
    norms: Vec<BatchNorm2d<T>>,
    relus: Vec<Relu<T>>,
    /// The convolutions of the last training pass (their kernels the slices of `W` then).
    convs: Option<Vec<Conv2d<T>>>,
}

impl<T: Scalar> TuckerConvBlock<T> {
    /// `layers` convolutions `channels → channels` with a `kernel` window, the shared weight at
    /// Tucker ranks `ranks = [R_layer, R_out, R_in, R_kh, R_kw]`, randomly initialized from
    /// `seed` so that every kernel entry has He's variance `2 / (C · kh · kw)`; the
    /// normalizations start at `γ = 1`, `β = 0`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] if `L · C · C · kh · kw` cannot be addressed;
    /// [`Error::InvalidParameter`] for 0 layers, 0 channels or an empty window;
    /// [`Error::InvalidRank`] unless `1 ≤ R_n ≤ D_n` for `D = [L, C, C, kh, kw]`.
    pub fn new(
        layers: usize,
        channels: usize,
        kernel: [usize; 2],
        ranks: [usize; 5],
        seed: u64,
    ) -> Result<Self> {
        // The shared tensor's size first, so that no product below can overflow.
        checked_len(&[layers, channels, channels, kernel[0], kernel[1]], std::mem::size_of::<T>())?;
        for (name, v) in
            [("layers", layers), ("channels", channels), ("kernel", kernel[0] * kernel[1])]
        {
            if v == 0 {
                return Err(Error::InvalidParameter {
                    name,
                    value: "0".into(),
                    expected: "at least 1",
                });
            }
        }
        let dims = [layers, channels, channels, kernel[0], kernel[1]];
        let variance = 2.0 / (channels * kernel[0] * kernel[1]) as f64;
        let weight = SharedTucker::random(&dims, &ranks, variance, seed)?;
        let norms = (0..layers).map(|_| BatchNorm2d::new(channels)).collect::<Result<_>>()?;
        let relus = (0..layers).map(|_| Relu::new()).collect();
        Ok(Self { layers, channels, kernel, weight, norms, relus, convs: None })
    }

    /// The block at full Tucker ranks `[L, C, C, kh, kw]`: every kernel free (more parameters
    /// than `L` separate convolutions, by the factors).
    ///
    /// # Errors
    /// As [`TuckerConvBlock::new`].
    pub fn full_rank(
        layers: usize,
        channels: usize,
        kernel: [usize; 2],
        seed: u64,
    ) -> Result<Self> {
        Self::new(
            layers,
            channels,
            kernel,
            [layers, channels, channels, kernel[0], kernel[1]],
            seed,
        )
    }

    /// The number of convolutions `L`.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// The channels `C` of every convolution's input and output.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The Tucker ranks `[R_layer, R_out, R_in, R_kh, R_kw]`.
    pub fn ranks(&self) -> Vec<usize> {
        self.weight.ranks().to_vec()
    }

    /// The parameters of the shared tensor: `∏ R_n + Σ D_n R_n`.
    pub fn tucker_params(&self) -> usize {
        self.weight.num_params()
    }

    /// The kernel entries of `L` separate convolutions: `L · C · C · kh · kw`.
    pub fn dense_weight_params(&self) -> usize {
        self.layers * self.channels * self.channels * self.kernel[0] * self.kernel[1]
    }

    /// The shared tensor `W` (`[L, C, C, kh, kw]`), rebuilt from the core and the factors.
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if it cannot be allocated.
    pub fn weight(&self) -> Result<Tensor<T>> {
        self.weight.reconstruct()
    }

    /// The Tucker core `G` (`R_layer × R_out × R_in × R_kh × R_kw`).
    pub fn core(&self) -> &Tensor<T> {
        self.weight.core()
    }

    /// The factors `U_n` (`D_n × R_n`) in mode order: layer, out, in, kh, kw.
    pub fn factors(&self) -> &[Tensor<T>] {
        self.weight.factors()
    }

    /// The `L` convolutions with the slices of the current `W` as kernels.
    fn convolutions(&self) -> Result<Vec<Conv2d<T>>> {
        let w = self.weight.reconstruct()?;
        let pad = [self.kernel[0] / 2, self.kernel[1] / 2];
        (0..self.layers).map(|l| Conv2d::new(w.select(0, l)?, None)?.with_padding(pad)).collect()
    }

    fn label(&self) -> String {
        format!(
            "tucker-conv-block {}× conv {}→{} {}×{} r{:?}",
            self.layers,
            self.channels,
            self.channels,
            self.kernel[0],
            self.kernel[1],
            self.weight.ranks()
        )
    }

    fn conv_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        // Every convolution keeps the shape when the window is odd; check them in turn.
        let probe = Conv2d::<T>::new(
            Tensor::zeros(&[self.channels, self.channels, self.kernel[0], self.kernel[1]])?,
            None,
        )?
        .with_padding([self.kernel[0] / 2, self.kernel[1] / 2])?;
        (0..self.layers).try_fold(input.to_vec(), |s, _| probe.output_shape(&s)).map_err(
            |e| match e {
                Error::ShapeMismatch { left, right, detail, .. } => Error::ShapeMismatch {
                    op: OP,
                    left,
                    right,
                    detail: format!("{}: {detail}", self.label()),
                },
                other => other,
            },
        )
    }
}

impl<T: Scalar> Layer<T> for TuckerConvBlock<T> {
    fn describe(&self) -> String {
        self.label()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.conv_shape(input)
    }

    fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.conv_shape(x.shape())?;
        let convs = self.convolutions()?;
        let mut h = x.clone();
        for ((conv, bn), relu) in convs.iter().zip(&self.norms).zip(&self.relus) {
            h = relu.forward(&bn.forward(&conv.forward(&h)?)?)?;
        }
        Ok(h)
    }

    fn num_params(&self) -> usize {
        self.weight.num_params() + self.norms.iter().map(|n| n.num_params()).sum::<usize>()
    }

    /// The convolutions run from the rebuilt kernels, so they cost what `L` dense ones do
    /// (the rebuild, once per batch, is not counted per sample).
    fn flops(&self, input: &[usize]) -> Result<f64> {
        let convs = self.convolutions()?;
        let mut shape = input.to_vec();
        let mut total = 0.0;
        for ((conv, bn), relu) in convs.iter().zip(&self.norms).zip(&self.relus) {
            total += conv.flops(&shape)?;
            shape = conv.output_shape(&shape)?;
            total += bn.flops(&shape)? + relu.flops(&shape)?;
        }
        Ok(total)
    }

    fn forward_train(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.conv_shape(x.shape())?;
        let mut convs = self.convolutions()?;
        let mut h = x.clone();
        for ((conv, bn), relu) in convs.iter_mut().zip(&mut self.norms).zip(&mut self.relus) {
            h = relu.forward_train(&bn.forward_train(&conv.forward_train(&h)?)?)?;
        }
        self.convs = Some(convs);
        Ok(h)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<Tensor<T>> {
        let layer = self.label();
        let convs = self.convs.as_mut().ok_or_else(|| no_forward(&layer))?;
        let [kh, kw] = self.kernel;
        let slice = self.channels * self.channels * kh * kw;
        let mut dw = Tensor::<T>::zeros(&[self.layers, self.channels, self.channels, kh, kw])?;
        let mut g = dy.clone();
        for (l, ((conv, bn), relu)) in
            convs.iter_mut().zip(&mut self.norms).zip(&mut self.relus).enumerate().rev()
        {
            g = conv.backward(&bn.backward(&relu.backward(&g)?)?)?;
            // The convolution's kernel gradient (zero before this pass: it is a fresh
            // convolution) is the gradient of slice l of W.
            let target = &mut dw.as_mut_slice()[l * slice..(l + 1) * slice];
            conv.visit_params(&mut |p| {
                if p.name == "weight" {
                    target.copy_from_slice(p.grad);
                    p.grad.fill(T::zero());
                }
            });
        }
        self.weight.backward(&dw)?;
        Ok(g)
    }

    fn visit_params(&mut self, f: &mut dyn FnMut(ParamMut<'_, T>)) {
        self.weight.visit_params(f);
        for bn in &mut self.norms {
            bn.visit_params(f);
        }
    }

    fn visit_buffers(&mut self, f: &mut dyn FnMut(&'static str, &mut [T])) {
        for bn in &mut self.norms {
            bn.visit_buffers(f);
        }
    }
}
