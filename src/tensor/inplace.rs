//! Elementwise operations that write into an existing buffer — the tensor itself (`*_assign`,
//! `*_in_place`) or a caller's output (`*_into`) — so that a training step allocates nothing.

use super::layout::{check_permutation, permuted_copy};
use super::Tensor;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

impl<T: Scalar> Tensor<T> {
    /// `self += other`, elementwise.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn add_assign(&mut self, other: &Self) -> Result<()> {
        self.zip_assign(other, "add_assign", |a, b| a + b)
    }

    /// `self -= other`, elementwise.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn sub_assign(&mut self, other: &Self) -> Result<()> {
        self.zip_assign(other, "sub_assign", |a, b| a - b)
    }

    /// `self ⊙= other` (the Hadamard product, in place).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn hadamard_assign(&mut self, other: &Self) -> Result<()> {
        self.zip_assign(other, "hadamard_assign", |a, b| a * b)
    }

    /// `self *= alpha`.
    pub fn scale_in_place(&mut self, alpha: T) {
        self.map_in_place(|x| alpha * x);
    }

    /// Replaces every element `x` by `f(x)`.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let mut x = Tensor::from_vec(&[3], vec![-1.0_f32, 0.5, 2.0])?;
    /// x.map_in_place(|v| v.max(0.0)); // a ReLU without an allocation
    /// assert_eq!(x.as_slice(), &[0.0, 0.5, 2.0]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn map_in_place(&mut self, f: impl Fn(T) -> T) {
        self.as_mut_slice().iter_mut().for_each(|x| *x = f(*x));
    }

    /// Sets every element to `value`.
    pub fn fill(&mut self, value: T) {
        self.as_mut_slice().fill(value);
    }

    /// Writes `self + other` into `out`.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let a = Tensor::<f64>::ones(&[2, 2])?;
    /// let mut out = Tensor::zeros(&[2, 2])?;
    /// a.add_into(&a, &mut out)?;
    /// assert_eq!(out.as_slice(), &[2.0; 4]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless all three shapes agree.
    pub fn add_into(&self, other: &Self, out: &mut Self) -> Result<()> {
        self.zip_into(other, out, "add_into", |a, b| a + b)
    }

    /// Writes `self - other` into `out`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless all three shapes agree.
    pub fn sub_into(&self, other: &Self, out: &mut Self) -> Result<()> {
        self.zip_into(other, out, "sub_into", |a, b| a - b)
    }

    /// Writes the Hadamard product `self ⊙ other` into `out`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] unless all three shapes agree.
    pub fn hadamard_into(&self, other: &Self, out: &mut Self) -> Result<()> {
        self.zip_into(other, out, "hadamard_into", |a, b| a * b)
    }

    /// Writes [`Tensor::permute_modes`]`(perm)` into `out`, whose shape must be the permuted one.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::<f32>::random_normal(&[2, 3, 4], 0)?;
    /// let mut out = Tensor::zeros(&[4, 2, 3])?;
    /// x.permute_modes_into(&[2, 0, 1], &mut out)?;
    /// assert_eq!(out, x.permute_modes(&[2, 0, 1])?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] if `perm` is not a permutation of `0..ndim()`;
    /// [`Error::ShapeMismatch`] if `out` does not have the permuted shape.
    pub fn permute_modes_into(&self, perm: &[usize], out: &mut Self) -> Result<()> {
        check_permutation("permute_modes_into", perm, self.ndim())?;
        let strides = self.strides();
        let out_shape: Vec<usize> = perm.iter().map(|&p| self.shape()[p]).collect();
        if out.shape() != out_shape.as_slice() {
            return Err(Error::ShapeMismatch {
                op: "permute_modes_into",
                left: out_shape,
                right: out.shape().to_vec(),
                detail: format!("permuting by {perm:?} needs an output of the permuted shape"),
            });
        }
        let in_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
        permuted_copy(self.as_slice(), &out_shape, &in_strides, out.as_mut_slice());
        Ok(())
    }

    fn zip_assign(&mut self, other: &Self, op: &'static str, f: impl Fn(T, T) -> T) -> Result<()> {
        self.check_same_shape(other, op)?;
        let src = other.as_slice();
        self.as_mut_slice().iter_mut().zip(src).for_each(|(a, &b)| *a = f(*a, b));
        Ok(())
    }

    fn zip_into(
        &self,
        other: &Self,
        out: &mut Self,
        op: &'static str,
        f: impl Fn(T, T) -> T,
    ) -> Result<()> {
        self.check_same_shape(other, op)?;
        self.check_same_shape(out, op)?;
        let (a, b) = (self.as_slice(), other.as_slice());
        out.as_mut_slice().iter_mut().zip(a.iter().zip(b)).for_each(|(o, (&x, &y))| *o = f(x, y));
        Ok(())
    }
}
