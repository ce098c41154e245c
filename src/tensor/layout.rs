//! Changing layout: reshape (free), mode permutation (a cache-blocked copy), slicing and selection.

use std::ops::Range;

use super::Tensor;
use crate::error::{try_filled_vec, Error, Result};
use crate::scalar::Scalar;

impl<T: Scalar> Tensor<T> {
    /// Reinterprets the data with a new shape of the same number of elements; no copy.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::<f32>::from_fn(&[2, 6], |i| (6 * i[0] + i[1]) as f32)?;
    /// let y = x.reshape(&[3, 2, 2])?;
    /// assert_eq!(y.get(&[2, 1, 0])?, 10.0);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DataLength`] if the element counts differ; errors of [`Tensor::from_vec`].
    pub fn reshape(self, shape: &[usize]) -> Result<Self> {
        Self::from_vec(shape, self.data)
    }

    /// A copy with the modes reordered: mode `k` of the result is mode `perm[k]` of `self`
    /// (NumPy's `transpose(perm)`).
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1)?;
    /// let y = x.permute_modes(&[2, 0, 1])?;
    /// assert_eq!(y.shape(), &[4, 2, 3]);
    /// assert_eq!(y.get(&[3, 1, 2])?, x.get(&[1, 2, 3])?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] if `perm` is not a permutation of `0..ndim()`.
    pub fn permute_modes(&self, perm: &[usize]) -> Result<Self> {
        check_permutation("permute_modes", perm, self.ndim())?;
        let strides = self.strides();
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape[p]).collect();
        let in_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
        let mut out = try_filled_vec(&self.shape, self.numel(), T::zero())?;
        permuted_copy(&self.data, &out_shape, &in_strides, &mut out);
        Ok(Self::from_parts_unchecked(out_shape, out))
    }

    /// The sub-tensor with mode `mode` fixed at `index`: one order less.
    ///
    /// # Errors
    /// [`Error::ModeOutOfRange`] or [`Error::IndexOutOfBounds`].
    pub fn select(&self, mode: usize, index: usize) -> Result<Self> {
        self.check_mode(mode)?;
        if index >= self.shape[mode] {
            let mut at = vec![0; self.ndim()];
            at[mode] = index;
            return Err(Error::IndexOutOfBounds { index: at, shape: self.shape.clone() });
        }
        let mut out = self.slice(mode, index..index + 1)?;
        out.shape.remove(mode);
        Ok(out)
    }

    /// The sub-tensor with mode `mode` restricted to `range`: same order.
    ///
    /// An empty range (`a..a`) gives an empty tensor. [`Tensor::view`] slices without a copy.
    ///
    /// # Errors
    /// [`Error::ModeOutOfRange`], or [`Error::IndexOutOfBounds`] for a reversed or too long range.
    pub fn slice(&self, mode: usize, range: Range<usize>) -> Result<Self> {
        self.check_mode(mode)?;
        let dim = self.shape[mode];
        if range.start > range.end || range.end > dim {
            let mut at = vec![0; self.ndim()];
            at[mode] = range.end.max(range.start);
            return Err(Error::IndexOutOfBounds { index: at, shape: self.shape.clone() });
        }
        let outer: usize = self.shape[..mode].iter().product();
        let inner: usize = self.shape[mode + 1..].iter().product();
        let len = range.end - range.start;
        let mut shape = self.shape.clone();
        shape[mode] = len;
        if outer * len * inner == 0 {
            // Empty: no loop over the (possibly huge) other modes.
            return Ok(Self::from_parts_unchecked(shape, Vec::new()));
        }
        let mut data = Vec::with_capacity(outer * len * inner);
        for a in 0..outer {
            let start = (a * dim + range.start) * inner;
            data.extend_from_slice(&self.data[start..start + len * inner]);
        }
        Ok(Self::from_parts_unchecked(shape, data))
    }
}

/// Returns [`Error::InvalidModes`] unless `perm` is a permutation of `0..ndim`.
pub(crate) fn check_permutation(op: &'static str, perm: &[usize], ndim: usize) -> Result<()> {
    let mut seen = vec![false; ndim];
    let bad = |detail: &str| Error::InvalidModes {
        op,
        modes: perm.to_vec(),
        ndim,
        detail: detail.to_string(),
    };
    if perm.len() != ndim {
        return Err(bad("a permutation must list every mode exactly once"));
    }
    for &p in perm {
        if p >= ndim {
            return Err(bad("mode out of range"));
        }
        if std::mem::replace(&mut seen[p], true) {
            return Err(bad("mode repeated"));
        }
    }
    Ok(())
}

/// Writes into `out` (row-major, shape `dims`) the elements of `src` read with strides
/// `in_strides` (one per output axis). The caller guarantees the sizes agree. The engine is
/// [`super::strided::strided_copy`] (tiled when the copy transposes).
pub(crate) fn permuted_copy<T: Copy>(
    src: &[T],
    dims: &[usize],
    in_strides: &[usize],
    out: &mut [T],
) {
    super::strided::strided_copy(src, dims, in_strides, out);
}
