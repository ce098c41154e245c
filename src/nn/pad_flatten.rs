//! [`PadFlatten`]: a data set of images lent as zero-padded, flattened vectors (Novikov et
//! al.'s MNIST input: 28×28 digits padded to 32×32, 1024 features).

use super::dataset::Dataset;
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The samples of an image data set (`[batch, channels, h, w]` batches) padded with `fill`
/// to `[height, width]`, centred (the extra row or column of an odd margin goes below / to the
/// right), and flattened row-major to `[batch, channels · height · width]`.
///
/// The pad value is what a blank pixel is after the inner set's normalization: padding a
/// normalized MNIST image "with zeros" (black pixels) means `fill = −mean / std`.
///
/// ```
/// use tensorize::nn::{Dataset, PadFlatten, TensorDataset};
/// use tensorize::Tensor;
/// let images = Tensor::<f64>::ones(&[2, 1, 2, 2])?;
/// let inner = TensorDataset::new(images, vec![0, 1], 2)?;
/// let padded = PadFlatten::new(&inner, [4, 4], 0.0)?;
/// let (x, labels) = padded.batch(&[1])?;
/// assert_eq!((x.shape(), labels), (&[1, 16][..], vec![1]));
/// assert_eq!(&x.as_slice()[4..8], &[0.0, 1.0, 1.0, 0.0]);   // row 1: the image centred
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct PadFlatten<'a, D: ?Sized> {
    inner: &'a D,
    size: [usize; 2],
    fill: f64,
}

impl<'a, D: ?Sized> PadFlatten<'a, D> {
    /// `inner`'s images padded with `fill` to `size = [height, width]` and flattened.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite `fill` or a size with a zero.
    pub fn new(inner: &'a D, size: [usize; 2], fill: f64) -> Result<Self> {
        if !fill.is_finite() {
            return Err(Error::InvalidParameter {
                name: "fill",
                value: fill.to_string(),
                expected: "a finite pad value",
            });
        }
        if size.contains(&0) {
            return Err(Error::InvalidParameter {
                name: "size",
                value: format!("{size:?}"),
                expected: "a padded image of at least 1 × 1",
            });
        }
        Ok(Self { inner, size, fill })
    }
}

impl<T: Scalar, D: Dataset<T> + ?Sized> Dataset<T> for PadFlatten<'_, D> {
    fn len(&self) -> usize {
        self.inner.len()
    }

    fn num_classes(&self) -> usize {
        self.inner.num_classes()
    }

    /// # Errors
    /// As the inner set's; [`Error::ShapeMismatch`] unless its batches are 4-way images no
    /// larger than the padded size.
    fn batch(&self, indices: &[usize]) -> Result<(Tensor<T>, Vec<usize>)> {
        let (x, labels) = self.inner.batch(indices)?;
        let [height, width] = self.size;
        let [b, c, h, w] = match *x.shape() {
            [b, c, h, w] if h <= height && w <= width => [b, c, h, w],
            _ => {
                return Err(Error::ShapeMismatch {
                    op: "PadFlatten::batch",
                    left: x.shape().to_vec(),
                    right: vec![height, width],
                    detail: "the inner data set must give [batch, channels, h, w] images no \
                             larger than the padded size"
                        .into(),
                });
            }
        };
        let (top, left) = ((height - h) / 2, (width - w) / 2);
        let features = c
            .checked_mul(height)
            .and_then(|n| n.checked_mul(width))
            .ok_or_else(|| Error::SizeOverflow { shape: vec![b, c, height, width] })?;
        let mut out = Tensor::full(&[b, features], T::of(self.fill))?;
        if h * w == 0 {
            return Ok((out, labels));
        }
        let dst = out.as_mut_slice();
        for (p, plane) in x.as_slice().chunks_exact(h * w).enumerate() {
            for (r, row) in plane.chunks_exact(w).enumerate() {
                let start = p * height * width + (top + r) * width + left;
                dst[start..start + w].copy_from_slice(row);
            }
        }
        Ok((out, labels))
    }
}
