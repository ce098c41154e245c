//! Small model builders for the paper reproductions: Novikov et al.'s two-layer MNIST net
//! around any first layer, and the T-Net MNIST CNN with its uncompressed twin.

use super::batch_norm::BatchNorm2d;
use super::conv2d::Conv2d;
use super::elementwise::{Flatten, Relu};
use super::layer::Layer;
use super::linear::Linear;
use super::pool::MaxPool2d;
use super::sequential::Sequential;
use super::tnet::TuckerConvBlock;
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A dense `in → out` layer with Glorot-normal weights (variance `2 / (in + out)`) drawn from
/// `seed` and a zero bias: the dense baseline trained from scratch.
///
/// ```
/// use tensorize::nn::{glorot_linear, Layer};
/// let fc = glorot_linear::<f32>(1024, 10, 1)?;
/// assert_eq!(fc.num_params(), 1024 * 10 + 10);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`] for a size 0.
pub fn glorot_linear<T: Scalar>(
    in_features: usize,
    out_features: usize,
    seed: u64,
) -> Result<Linear<T>> {
    let shape = [out_features, in_features];
    if shape.contains(&0) {
        return Err(Error::ZeroDimension { shape: shape.to_vec() });
    }
    let std = (2.0 / (in_features + out_features) as f64).sqrt();
    let w = Tensor::<T>::random_normal(&shape, seed)?.scale(T::of(std));
    Linear::new(w, Some(vec![T::zero(); out_features]))
}

/// Novikov et al.'s MNIST network (§6.1) around any first layer: `first` (named `"fc1"`,
/// e.g. a [`super::TtLinear`] `1024 → 1024` on 32×32 images flattened) → ReLU → a Glorot
/// dense layer `hidden → classes` (named `"fc2"`, drawn from `seed`).
///
/// ```
/// use tensorize::nn::{two_layer_net, Layer, TtLinear, TtRankRule};
/// let tt = TtLinear::<f32>::glorot_rank(&[4, 8, 8, 4], &[4, 8, 8, 4], 4, TtRankRule::Uniform, 1)?;
/// let net = two_layer_net(tt, 1024, 10, 2)?;
/// assert_eq!(net.output_shape(&[5, 1024])?, vec![5, 10]);
/// assert_eq!(net.names()[0], "fc1");
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`glorot_linear`].
pub fn two_layer_net<T: Scalar>(
    first: impl Layer<T> + 'static,
    hidden: usize,
    classes: usize,
    seed: u64,
) -> Result<Sequential<T>> {
    Ok(Sequential::new()
        .push_named("fc1", first)
        .push(Relu::new())
        .push_named("fc2", glorot_linear(hidden, classes, seed)?))
}

/// The T-Net MNIST CNN on `[batch, 1, 28, 28]` images: a stem convolution `1 → C` 3×3 (BN,
/// ReLU), max-pool 2×2, then `L` convolutions `C → C` 3×3 at 14×14 whose kernels share one
/// Tucker tensor at `ranks` ([`TuckerConvBlock`], named `"block"`), max-pool 2×2, and a Glorot
/// linear classifier `C·7·7 → 10`. Everything is drawn from `seed`.
///
/// ```
/// use tensorize::nn::{tnet_cnn, Layer};
/// let net = tnet_cnn::<f32>(8, 3, [2, 4, 4, 3, 3], 1)?;
/// assert_eq!(net.output_shape(&[2, 1, 28, 28])?, vec![2, 10]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`TuckerConvBlock::new`].
pub fn tnet_cnn<T: Scalar>(
    channels: usize,
    layers: usize,
    ranks: [usize; 5],
    seed: u64,
) -> Result<Sequential<T>> {
    let block = TuckerConvBlock::new(layers, channels, [3, 3], ranks, seed.wrapping_add(1))?;
    with_stem_and_head(block, channels, seed)
}

/// The uncompressed twin of [`tnet_cnn`]: the same network with `L` separate dense
/// convolutions `C → C` 3×3 (no bias, each followed by BN and ReLU, He-normal kernels) in
/// place of the shared Tucker block (named `"block"`, a [`Sequential`]).
///
/// ```
/// use tensorize::nn::{tnet_cnn, tnet_twin, Layer};
/// let twin = tnet_twin::<f32>(8, 3, 1)?;
/// let shared = tnet_cnn::<f32>(8, 3, [3, 8, 8, 3, 3], 1)?;
/// assert_eq!(twin.output_shape(&[2, 1, 28, 28])?, vec![2, 10]);
/// // Full Tucker ranks cost the factors on top of the dense kernels.
/// assert_eq!(shared.num_params() - twin.num_params(), 3 * 3 + 8 * 8 + 8 * 8 + 3 * 3 + 3 * 3);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for 0 layers or channels.
pub fn tnet_twin<T: Scalar>(channels: usize, layers: usize, seed: u64) -> Result<Sequential<T>> {
    if layers == 0 || channels == 0 {
        return Err(Error::InvalidParameter {
            name: "layers, channels",
            value: format!("{layers}, {channels}"),
            expected: "at least 1 each",
        });
    }
    let std = (2.0 / (9 * channels) as f64).sqrt();
    let mut block = Sequential::new();
    for l in 0..layers {
        let seed = seed.wrapping_add(100 + l as u64);
        let w = Tensor::<T>::random_normal(&[channels, channels, 3, 3], seed)?.scale(T::of(std));
        block = block
            .push(Conv2d::new(w, None)?.with_padding([1, 1])?)
            .push(BatchNorm2d::new(channels)?)
            .push(Relu::new());
    }
    with_stem_and_head(block, channels, seed)
}

/// Stem, pooling, `block`, pooling and classifier of [`tnet_cnn`] and [`tnet_twin`].
fn with_stem_and_head<T: Scalar>(
    block: impl Layer<T> + 'static,
    channels: usize,
    seed: u64,
) -> Result<Sequential<T>> {
    let std = (2.0f64 / 9.0).sqrt();
    let stem = Tensor::<T>::random_normal(&[channels, 1, 3, 3], seed)?.scale(T::of(std));
    let head = glorot_linear(channels * 49, 10, seed.wrapping_add(2))?;
    Ok(Sequential::new()
        .push_named("stem", Conv2d::new(stem, None)?.with_padding([1, 1])?)
        .push(BatchNorm2d::new(channels)?)
        .push(Relu::new())
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push_named("block", block)
        .push(MaxPool2d::new([2, 2], [2, 2])?)
        .push(Flatten::new())
        .push_named("fc", head))
}
