//! `ndarray` interop (cargo feature `ndarray`): a tensor lent as an `ArrayViewD` /
//! `ArrayViewMutD` (no copy: both are row-major), moved into an `ArrayD` (no copy), and built
//! from any `ArrayD` or view (no copy for an owned array in standard layout; otherwise the
//! elements are gathered in row-major order).

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

use super::Tensor;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// ndarray's shape error, as this crate's.
fn shape_error(shape: &[usize], e: ndarray::ShapeError) -> Error {
    Error::ShapeMismatch {
        op: "ndarray",
        left: shape.to_vec(),
        right: vec![],
        detail: format!("ndarray refused the shape: {e}"),
    }
}

impl<T: Scalar> Tensor<T> {
    /// The tensor lent as an ndarray view (no copy).
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::from_vec(&[2, 3], vec![1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    /// let a = x.as_ndarray()?;
    /// assert_eq!(a[[1, 2]], 6.0);
    /// assert_eq!(Tensor::from_ndarray(a)?, x);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if ndarray refuses the shape (not expected for a valid tensor).
    pub fn as_ndarray(&self) -> Result<ArrayViewD<'_, T>> {
        ArrayViewD::from_shape(IxDyn(&self.shape), &self.data)
            .map_err(|e| shape_error(&self.shape, e))
    }

    /// The tensor lent as a mutable ndarray view (no copy).
    ///
    /// # Errors
    /// As [`Tensor::as_ndarray`].
    pub fn as_ndarray_mut(&mut self) -> Result<ArrayViewMutD<'_, T>> {
        let shape = self.shape.clone();
        ArrayViewMutD::from_shape(IxDyn(&shape), &mut self.data).map_err(|e| shape_error(&shape, e))
    }

    /// The tensor moved into an owned `ArrayD` (no copy).
    ///
    /// # Errors
    /// As [`Tensor::as_ndarray`].
    pub fn into_ndarray(self) -> Result<ArrayD<T>> {
        let Tensor { shape, data } = self;
        ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| shape_error(&shape, e))
    }

    /// A tensor holding the elements of any ndarray view (strided, transposed, sliced),
    /// copied in row-major order.
    ///
    /// # Errors
    /// As [`Tensor::from_vec`] for the shape (a shape too large to address).
    pub fn from_ndarray(a: ArrayViewD<'_, T>) -> Result<Self> {
        let shape = a.shape().to_vec();
        match a.as_slice() {
            Some(s) => Tensor::from_vec(&shape, s.to_vec()),
            None => Tensor::from_vec(&shape, a.iter().copied().collect()),
        }
    }
}

/// An owned array becomes a tensor without a copy when it is in standard (row-major,
/// contiguous) layout, and by a row-major gather otherwise.
///
/// ```
/// use ndarray::{ArrayD, IxDyn};
/// use tensorize::Tensor;
/// let a = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as f32);
/// let x = Tensor::try_from(a.clone())?;
/// assert_eq!(x.get(&[1, 0])?, 3.0);
/// let t = Tensor::try_from(a.reversed_axes())?; // a transposed (column-major) array
/// assert_eq!(t.shape(), &[3, 2]);
/// assert_eq!(t.get(&[0, 1])?, 3.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
impl<T: Scalar> TryFrom<ArrayD<T>> for Tensor<T> {
    type Error = Error;

    fn try_from(a: ArrayD<T>) -> Result<Self> {
        if !a.is_standard_layout() {
            return Tensor::from_ndarray(a.view());
        }
        let shape = a.shape().to_vec();
        let n = a.len();
        // Standard layout: the elements are the n values from the offset on.
        let (mut data, offset) = a.into_raw_vec_and_offset();
        data.drain(..offset.unwrap_or(0).min(data.len()));
        data.truncate(n);
        Tensor::from_vec(&shape, data)
    }
}

impl<T: Scalar> TryFrom<Tensor<T>> for ArrayD<T> {
    type Error = Error;

    fn try_from(x: Tensor<T>) -> Result<Self> {
        x.into_ndarray()
    }
}
