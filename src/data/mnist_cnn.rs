//! The pretrained MNIST CNN (`data/models/mnist_cnn.safetensors`; PyTorch layout, f32):
//! conv 1→32 3×3, conv 32→64 3×3, linear 3136→128, linear 128→10 (421,642 parameters).

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::SafetensorsFile;
use crate::nn::{Conv2d, Flatten, Linear, MaxPool2d, Relu, Sequential};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The four layers' weights and biases, in PyTorch layout (conv `[out, in, kh, kw]`, linear `[out, in]`).
#[derive(Clone, Debug)]
pub struct MnistCnn<T> {
    /// `features.0.weight`, `[32, 1, 3, 3]`.
    pub conv1_weight: Tensor<T>,
    /// `features.0.bias`, `[32]`.
    pub conv1_bias: Tensor<T>,
    /// `features.3.weight`, `[64, 32, 3, 3]`.
    pub conv2_weight: Tensor<T>,
    /// `features.3.bias`, `[64]`.
    pub conv2_bias: Tensor<T>,
    /// `classifier.0.weight`, `[128, 3136]`.
    pub fc1_weight: Tensor<T>,
    /// `classifier.0.bias`, `[128]`.
    pub fc1_bias: Tensor<T>,
    /// `classifier.2.weight`, `[10, 128]`.
    pub fc2_weight: Tensor<T>,
    /// `classifier.2.bias`, `[10]`.
    pub fc2_bias: Tensor<T>,
}

/// Where the network's file sits in a data folder laid out like this repository's shared data.
pub const MNIST_CNN_FILE: &str = "models/mnist_cnn.safetensors";

impl<T: Scalar> MnistCnn<T> {
    /// Loads the pretrained network from the safetensors file at `path` (in a data folder,
    /// [`MNIST_CNN_FILE`]), checking every tensor's shape.
    ///
    /// ```
    /// use tensorize::data::{MnistCnn, MNIST_CNN_FILE};
    /// let cnn = MnistCnn::<f32>::load(std::path::Path::new("data").join(MNIST_CNN_FILE))?;
    /// assert_eq!(cnn.conv2_weight.shape(), &[64, 32, 3, 3]);
    /// assert_eq!(cnn.num_params(), 421_642);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` if the file is missing or unreadable; [`Error::Format`] naming
    /// the file and the tensor if a tensor is missing, has another shape, or is not a float tensor
    /// (`F16`, `BF16`, `F32`, `F64`); tensors of other names, of any dtype, are not read.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        // The reader names the file in its errors (a tensor of another dtype, a broken header);
        // only the eight tensors below are read, whatever else the file holds.
        let file = SafetensorsFile::open(path)?;
        let take = |name: &str, shape: &[usize]| -> Result<Tensor<T>> {
            let info = file.info(name).map_err(|_| Error::Format {
                format: "safetensors",
                detail: format!("{}: no tensor named {name:?}", path.display()),
            })?;
            if info.shape != shape {
                return Err(Error::Format {
                    format: "safetensors",
                    detail: format!(
                        "{}: {name} has shape {:?}, expected {shape:?}",
                        path.display(),
                        info.shape
                    ),
                });
            }
            file.read(name)
        };
        Ok(MnistCnn {
            conv1_weight: take("features.0.weight", &[32, 1, 3, 3])?,
            conv1_bias: take("features.0.bias", &[32])?,
            conv2_weight: take("features.3.weight", &[64, 32, 3, 3])?,
            conv2_bias: take("features.3.bias", &[64])?,
            fc1_weight: take("classifier.0.weight", &[128, 3136])?,
            fc1_bias: take("classifier.0.bias", &[128])?,
            fc2_weight: take("classifier.2.weight", &[10, 128])?,
            fc2_bias: take("classifier.2.bias", &[10])?,
        })
    }

    /// The network as a [`Sequential`] model on `[batch, 1, 28, 28]` images normalized by
    /// [`super::MNIST_NORMALIZATION`]: conv 3×3 p1 → ReLU → max-pool 2×2 → conv 3×3 p1 → ReLU →
    /// max-pool 2×2 → flatten (C, H, W) → linear → ReLU → linear, giving `[batch, 10]` logits.
    /// The four layers with weights are named `conv1`, `conv2`, `fc1`, `fc2` (the others by
    /// their index).
    ///
    /// # Errors
    /// [`Error::NonFinite`] if a weight holds NaN or infinity.
    pub fn model(&self) -> Result<Sequential<T>> {
        let bias = |b: &Tensor<T>| Some(b.as_slice().to_vec());
        let conv =
            |w: &Tensor<T>, b: &Tensor<T>| Conv2d::new(w.clone(), bias(b))?.with_padding([1, 1]);
        Ok(Sequential::new()
            .push_named("conv1", conv(&self.conv1_weight, &self.conv1_bias)?)
            .push(Relu::new())
            .push(MaxPool2d::new([2, 2], [2, 2])?)
            .push_named("conv2", conv(&self.conv2_weight, &self.conv2_bias)?)
            .push(Relu::new())
            .push(MaxPool2d::new([2, 2], [2, 2])?)
            .push(Flatten::new())
            .push_named("fc1", Linear::new(self.fc1_weight.clone(), bias(&self.fc1_bias))?)
            .push(Relu::new())
            .push_named("fc2", Linear::new(self.fc2_weight.clone(), bias(&self.fc2_bias))?))
    }

    /// Total number of parameters (weights and biases).
    pub fn num_params(&self) -> usize {
        [
            &self.conv1_weight,
            &self.conv1_bias,
            &self.conv2_weight,
            &self.conv2_bias,
            &self.fc1_weight,
            &self.fc1_bias,
            &self.fc2_weight,
            &self.fc2_bias,
        ]
        .iter()
        .map(|t| t.numel())
        .sum()
    }
}
