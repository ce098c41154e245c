//! [`WeightShape`]: a layer's weight as linear `[out, in]` or conv `[out, in, kh, kw]`.

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The shape of a layer's weight: a linear layer `[out, in]` or a convolution
/// `[out, in, kh, kw]` (PyTorch layouts).
///
/// ```
/// use tensorize::tensorization::WeightShape;
/// let s = WeightShape::from_dims(&[64, 32, 3, 3])?;
/// assert_eq!(s, WeightShape::Conv { out: 64, input: 32, kh: 3, kw: 3 });
/// assert_eq!(s.numel()?, 18432);
/// assert!(WeightShape::from_dims(&[4, 4, 3]).is_err());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightShape {
    /// A linear (fully connected) weight `[out, in]`.
    Linear {
        /// Output features `T`.
        out: usize,
        /// Input features `S`.
        input: usize,
    },
    /// A convolution kernel `[out, in, kh, kw]`.
    Conv {
        /// Output channels `T`.
        out: usize,
        /// Input channels `S`.
        input: usize,
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
    },
}

impl WeightShape {
    /// The weight shape of dimensions `dims` (2 → linear, 4 → convolution).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for another order; [`Error::ZeroDimension`] for a zero size;
    /// [`Error::SizeOverflow`] if the element count overflows.
    pub fn from_dims(dims: &[usize]) -> Result<Self> {
        let shape = match *dims {
            [out, input] => WeightShape::Linear { out, input },
            [out, input, kh, kw] => WeightShape::Conv { out, input, kh, kw },
            _ => {
                return Err(Error::InvalidModes {
                    op: "WeightShape::from_dims",
                    modes: (0..dims.len()).collect(),
                    ndim: dims.len(),
                    detail: format!(
                        "a weight is [out, in] (linear) or [out, in, kh, kw] (conv), not {dims:?}"
                    ),
                })
            }
        };
        shape.numel()?;
        Ok(shape)
    }

    /// The shape of `w` as a weight shape; see [`WeightShape::from_dims`].
    ///
    /// # Errors
    /// As [`WeightShape::from_dims`].
    pub fn of<T: Scalar>(w: &Tensor<T>) -> Result<Self> {
        Self::from_dims(w.shape())
    }

    /// The dimensions: `[out, in]` or `[out, in, kh, kw]`.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            WeightShape::Linear { out, input } => vec![out, input],
            WeightShape::Conv { out, input, kh, kw } => vec![out, input, kh, kw],
        }
    }

    /// Output features/channels `T`.
    pub fn out(&self) -> usize {
        match *self {
            WeightShape::Linear { out, .. } | WeightShape::Conv { out, .. } => out,
        }
    }

    /// Input features/channels `S`.
    pub fn input(&self) -> usize {
        match *self {
            WeightShape::Linear { input, .. } | WeightShape::Conv { input, .. } => input,
        }
    }

    /// The kernel size `(kh, kw)`; `(1, 1)` for a linear layer.
    pub fn kernel(&self) -> (usize, usize) {
        match *self {
            WeightShape::Linear { .. } => (1, 1),
            WeightShape::Conv { kh, kw, .. } => (kh, kw),
        }
    }

    /// The number of weights `P = T·S·kh·kw`, with checked arithmetic.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for a zero size; [`Error::SizeOverflow`].
    pub fn numel(&self) -> Result<usize> {
        let dims = self.dims();
        if dims.contains(&0) {
            return Err(Error::ZeroDimension { shape: dims });
        }
        dims.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or(Error::SizeOverflow { shape: dims })
    }
}
