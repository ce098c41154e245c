//! Strided views: a tensor's elements seen through an offset and one stride per mode, so that
//! slicing along any mode, fixing an index and permuting modes cost no copy. A layer reads a
//! mini-batch out of a dataset, or writes its output into a slice of a larger buffer, this way.

use std::ops::Range;

use super::layout::check_permutation;
use super::strided::{for_each_offset_pair, strided_copy};
use super::{row_major_strides, Tensor};
use crate::error::{try_filled_vec, Error, Result};
use crate::scalar::Scalar;

/// Where a view's elements sit in the borrowed data: element `i` is at
/// `offset + Σ_k i_k · strides[k]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Geometry {
    offset: usize,
    shape: Vec<usize>,
    strides: Vec<usize>,
}

impl Geometry {
    fn whole(shape: &[usize]) -> Self {
        Self { offset: 0, shape: shape.to_vec(), strides: row_major_strides(shape) }
    }

    fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    fn check_mode(&self, mode: usize) -> Result<()> {
        if mode < self.shape.len() {
            Ok(())
        } else {
            Err(Error::ModeOutOfRange { mode, shape: self.shape.clone() })
        }
    }

    fn out_of_bounds(&self, mode: usize, at: usize) -> Error {
        let mut index = vec![0; self.shape.len()];
        index[mode] = at;
        Error::IndexOutOfBounds { index, shape: self.shape.clone() }
    }

    fn slice(mut self, mode: usize, range: Range<usize>) -> Result<Self> {
        self.check_mode(mode)?;
        if range.start > range.end || range.end > self.shape[mode] {
            return Err(self.out_of_bounds(mode, range.end.max(range.start)));
        }
        // An empty view's offset may point past the data: nothing reads through it.
        self.offset += range.start * self.strides[mode];
        self.shape[mode] = range.len();
        Ok(self)
    }

    fn select(mut self, mode: usize, index: usize) -> Result<Self> {
        self.check_mode(mode)?;
        if index >= self.shape[mode] {
            return Err(self.out_of_bounds(mode, index));
        }
        self.offset += index * self.strides[mode];
        self.shape.remove(mode);
        self.strides.remove(mode);
        Ok(self)
    }

    fn permute(self, perm: &[usize]) -> Result<Self> {
        check_permutation("TensorView::permute", perm, self.shape.len())?;
        Ok(Self {
            offset: self.offset,
            shape: perm.iter().map(|&p| self.shape[p]).collect(),
            strides: perm.iter().map(|&p| self.strides[p]).collect(),
        })
    }

    fn position(&self, index: &[usize]) -> Result<usize> {
        if index.len() != self.shape.len() || index.iter().zip(&self.shape).any(|(i, d)| i >= d) {
            return Err(Error::IndexOutOfBounds {
                index: index.to_vec(),
                shape: self.shape.clone(),
            });
        }
        Ok(self.offset + index.iter().zip(&self.strides).map(|(i, s)| i * s).sum::<usize>())
    }

    /// Whether the elements are one row-major run of the data (unit axes may have any stride).
    fn is_row_major(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }

    fn same_shape(&self, other: &Self, op: &'static str) -> Result<()> {
        if self.shape == other.shape {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op,
                left: self.shape.clone(),
                right: other.shape.clone(),
                detail: "a view can only be written from a view of the same shape".into(),
            })
        }
    }
}

/// A read-only strided view of a [`Tensor`]: any mode sliced, indices fixed, modes permuted,
/// without copying. [`TensorView::to_tensor`] makes a row-major copy when one is needed.
///
/// ```
/// use tensorize::Tensor;
/// let x = Tensor::from_fn(&[4, 3, 2], |i| (100 * i[0] + 10 * i[1] + i[2]) as f64)?;
/// // Rows 1..3 of mode 0, mode 2 fixed at 1, then the two remaining modes swapped.
/// let v = x.view().slice(0, 1..3)?.select(2, 1)?.permute(&[1, 0])?;
/// assert_eq!(v.shape(), &[3, 2]);
/// assert_eq!(v.get(&[2, 1])?, 221.0);
/// assert_eq!(v.to_tensor()?.as_slice(), &[101.0, 201.0, 111.0, 211.0, 121.0, 221.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorView<'a, T> {
    data: &'a [T],
    geometry: Geometry,
}

/// A mutable strided view of a [`Tensor`]: the same slicing as [`TensorView`], plus writes —
/// filling, assigning from another view, accumulating — into the viewed elements only.
///
/// ```
/// use tensorize::Tensor;
/// let mut out = Tensor::<f32>::zeros(&[4, 3])?;
/// let block = Tensor::<f32>::ones(&[2, 3])?;
/// // Write a 2 × 3 block into rows 1..3, then double its first column.
/// out.view_mut().slice(0, 1..3)?.assign(&block.view())?;
/// out.view_mut().select(1, 0)?.map_in_place(|v| 2.0 * v);
/// assert_eq!(out.as_slice(), &[0., 0., 0., 2., 1., 1., 2., 1., 1., 0., 0., 0.]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Debug)]
pub struct TensorViewMut<'a, T> {
    data: &'a mut [T],
    geometry: Geometry,
}

impl<T: Scalar> Tensor<T> {
    /// The whole tensor as a strided view (no copy).
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView { data: self.as_slice(), geometry: Geometry::whole(self.shape()) }
    }

    /// The whole tensor as a mutable strided view (no copy).
    pub fn view_mut(&mut self) -> TensorViewMut<'_, T> {
        let geometry = Geometry::whole(self.shape());
        TensorViewMut { data: self.as_mut_slice(), geometry }
    }
}

/// The read-side methods both view kinds share, written once over the geometry.
macro_rules! view_reads {
    () => {
        /// The dimensions, one per mode.
        pub fn shape(&self) -> &[usize] {
            &self.geometry.shape
        }

        /// The stride of each mode, in elements of the viewed tensor.
        pub fn strides(&self) -> &[usize] {
            &self.geometry.strides
        }

        /// The order (number of modes).
        pub fn ndim(&self) -> usize {
            self.geometry.shape.len()
        }

        /// The number of viewed elements.
        pub fn numel(&self) -> usize {
            self.geometry.numel()
        }

        /// Whether a dimension is 0.
        pub fn is_empty(&self) -> bool {
            self.numel() == 0
        }

        /// The element at multi-index `index`.
        ///
        /// # Errors
        /// [`Error::IndexOutOfBounds`] for an index of the wrong order or out of range.
        pub fn get(&self, index: &[usize]) -> Result<T> {
            Ok(self.data[self.geometry.position(index)?])
        }

        /// A row-major copy of the viewed elements.
        ///
        /// # Errors
        /// [`Error::OutOfMemory`] if the copy cannot be allocated.
        pub fn to_tensor(&self) -> Result<Tensor<T>> {
            let g = &self.geometry;
            let mut out = try_filled_vec(&g.shape, g.numel(), T::zero())?;
            if !out.is_empty() {
                strided_copy(&self.data[g.offset..], &g.shape, &g.strides, &mut out);
            }
            Ok(Tensor::from_parts_unchecked(g.shape.clone(), out))
        }

        /// Copies the viewed elements into `out` (row-major, same shape), reusing its buffer.
        ///
        /// # Errors
        /// [`Error::ShapeMismatch`] if `out` has another shape.
        pub fn copy_into(&self, out: &mut Tensor<T>) -> Result<()> {
            let g = &self.geometry;
            if out.shape() != g.shape.as_slice() {
                return Err(Error::ShapeMismatch {
                    op: "TensorView::copy_into",
                    left: g.shape.clone(),
                    right: out.shape().to_vec(),
                    detail: "the destination must have the view's shape".into(),
                });
            }
            if !out.is_empty() {
                strided_copy(&self.data[g.offset..], &g.shape, &g.strides, out.as_mut_slice());
            }
            Ok(())
        }
    };
}

/// The reshaping methods both view kinds share; each consumes the view and returns a narrower one.
macro_rules! view_narrowing {
    () => {
        /// Mode `mode` restricted to `range` (same order; `a..a` gives an empty view).
        ///
        /// # Errors
        /// [`Error::ModeOutOfRange`]; [`Error::IndexOutOfBounds`] for a reversed or too long range.
        pub fn slice(self, mode: usize, range: Range<usize>) -> Result<Self> {
            Ok(Self { geometry: self.geometry.slice(mode, range)?, data: self.data })
        }

        /// Mode `mode` fixed at `index` (one order less).
        ///
        /// # Errors
        /// [`Error::ModeOutOfRange`] or [`Error::IndexOutOfBounds`].
        pub fn select(self, mode: usize, index: usize) -> Result<Self> {
            Ok(Self { geometry: self.geometry.select(mode, index)?, data: self.data })
        }

        /// The modes reordered: mode `k` of the result is mode `perm[k]` of `self`.
        ///
        /// # Errors
        /// [`Error::InvalidModes`] if `perm` is not a permutation of `0..ndim()`.
        pub fn permute(self, perm: &[usize]) -> Result<Self> {
            Ok(Self { geometry: self.geometry.permute(perm)?, data: self.data })
        }
    };
}

impl<'a, T: Scalar> TensorView<'a, T> {
    view_reads!();
    view_narrowing!();

    /// The viewed elements as one row-major slice, when they are one (a slice of the first
    /// mode, or of any mode whose predecessors have dimension 1); `None` otherwise.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        let g = &self.geometry;
        if g.numel() == 0 {
            return Some(&[]);
        }
        g.is_row_major().then(|| &self.data[g.offset..g.offset + g.numel()])
    }
}

impl<'a, T: Scalar> TensorViewMut<'a, T> {
    view_reads!();
    view_narrowing!();

    /// A read-only view of the same elements, for as long as this one is borrowed.
    pub fn as_view(&self) -> TensorView<'_, T> {
        TensorView { data: self.data, geometry: self.geometry.clone() }
    }

    /// The viewed elements as one mutable row-major slice, when they are one.
    pub fn as_mut_slice(&mut self) -> Option<&mut [T]> {
        let g = &self.geometry;
        let (start, n) = (g.offset, g.numel());
        if n == 0 {
            return Some(&mut []);
        }
        g.is_row_major().then(move || &mut self.data[start..start + n])
    }

    /// Sets the element at multi-index `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`].
    pub fn set(&mut self, index: &[usize], value: T) -> Result<()> {
        let at = self.geometry.position(index)?;
        self.data[at] = value;
        Ok(())
    }

    /// Sets every viewed element to `value`.
    pub fn fill(&mut self, value: T) {
        self.map_in_place(|_| value);
    }

    /// Replaces every viewed element `v` by `f(v)`.
    pub fn map_in_place(&mut self, f: impl Fn(T) -> T) {
        let g = &self.geometry;
        let data = &mut self.data[..];
        for_each_offset_pair(&g.shape, &g.strides, &g.strides, |a, _| {
            data[g.offset + a] = f(data[g.offset + a])
        });
    }

    /// Copies `src` into the viewed elements.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn assign(&mut self, src: &TensorView<'_, T>) -> Result<()> {
        self.zip_in_place(src, "TensorViewMut::assign", |_, s| s)
    }

    /// `self += alpha · src`, elementwise (accumulating a gradient into a slice of a buffer).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn axpy(&mut self, alpha: T, src: &TensorView<'_, T>) -> Result<()> {
        self.zip_in_place(src, "TensorViewMut::axpy", |d, s| d + alpha * s)
    }

    fn zip_in_place(
        &mut self,
        src: &TensorView<'_, T>,
        op: &'static str,
        f: impl Fn(T, T) -> T,
    ) -> Result<()> {
        let (g, sg) = (&self.geometry, &src.geometry);
        g.same_shape(sg, op)?;
        let data = &mut self.data[..];
        for_each_offset_pair(&g.shape, &g.strides, &sg.strides, |a, b| {
            let at = g.offset + a;
            data[at] = f(data[at], src.data[sg.offset + b]);
        });
        Ok(())
    }
}
