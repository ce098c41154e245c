//! `Tensor<T>`: an owned, dense, row-major n-way array, and everything that works on one tensor:
//! construction, indexing, reshaping and permuting, slicing, strided views, elementwise arithmetic
//! (also in place and into a caller's buffer), norms, faer views.

pub(crate) mod arith;
mod construct;
mod index;
mod inplace;
pub(crate) mod layout;
mod mat_view;
#[cfg(feature = "ndarray")]
mod ndarray_views;
pub(crate) mod strided;
mod view;

pub use index::MultiIndexIter;
pub use view::{TensorView, TensorViewMut};

use crate::error::{checked_len, Error, Result};
use crate::scalar::Scalar;

/// A dense tensor of order `ndim()` with elements stored row-major (C order, last index fastest).
///
/// A tensor of order 0 (shape `[]`) holds one element. A dimension may be 0: the tensor is then
/// empty (an empty batch), and layout changes, views, elementwise arithmetic and norms work on
/// it as usual, while decompositions, formats and most of [`crate::tenalg`] refuse it with
/// [`Error::ZeroDimension`] (see [`Tensor::check_nonempty`]).
///
/// ```
/// use tensorize::Tensor;
/// let x = Tensor::from_fn(&[2, 3], |i| (10 * i[0] + i[1]) as f64)?;
/// assert_eq!(x.shape(), &[2, 3]);
/// assert_eq!(x.as_slice(), &[0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
/// assert_eq!(x[&[1, 2][..]], 12.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T: Scalar> Tensor<T> {
    /// Wraps `data` (row-major) as a tensor of shape `shape`.
    ///
    /// # Errors
    /// [`Error::DataLength`] if `data.len()` is not the product of `shape`;
    /// [`Error::SizeOverflow`] for a shape too large to address.
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self> {
        let expected = checked_len(shape, std::mem::size_of::<T>())?;
        if data.len() != expected {
            return Err(Error::DataLength { shape: shape.to_vec(), expected, found: data.len() });
        }
        Ok(Self { shape: shape.to_vec(), data })
    }

    /// The dimensions, one per mode.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The order (number of modes).
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The dimension of mode `mode`.
    ///
    /// # Errors
    /// [`Error::ModeOutOfRange`] if `mode >= ndim()`.
    pub fn dim(&self, mode: usize) -> Result<usize> {
        self.check_mode(mode)?;
        Ok(self.shape[mode])
    }

    /// The row-major strides in elements: `strides()[k]` is the product of the dimensions after `k`.
    pub fn strides(&self) -> Vec<usize> {
        row_major_strides(&self.shape)
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the tensor, returning its row-major data.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// Whether a dimension is 0 (the tensor has no elements).
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Returns [`Error::ZeroDimension`] if a dimension is 0: the check at the door of every
    /// operation that needs elements (a decomposition, a norm ratio, a rank).
    ///
    /// ```
    /// use tensorize::{Error, Tensor};
    /// let batch = Tensor::<f32>::zeros(&[0, 784])?;
    /// assert!(batch.is_empty());
    /// assert!(matches!(batch.check_nonempty(), Err(Error::ZeroDimension { .. })));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ZeroDimension`].
    pub fn check_nonempty(&self) -> Result<()> {
        if self.shape.contains(&0) {
            Err(Error::ZeroDimension { shape: self.shape.clone() })
        } else {
            Ok(())
        }
    }

    /// Returns [`Error::ModeOutOfRange`] unless `mode < ndim()`.
    pub(crate) fn check_mode(&self, mode: usize) -> Result<()> {
        if mode < self.ndim() {
            Ok(())
        } else {
            Err(Error::ModeOutOfRange { mode, shape: self.shape.clone() })
        }
    }

    /// Builds a tensor from parts already known to agree (internal fast path).
    pub(crate) fn from_parts_unchecked(shape: Vec<usize>, data: Vec<T>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }
}

/// Row-major strides of `shape`.
pub(crate) fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1];
    }
    strides
}
