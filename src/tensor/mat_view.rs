//! Borrowing a tensor (or one of its unfoldings, where that is a strided matrix) as a faer matrix.

use faer::{MatMut, MatRef};

use super::Tensor;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

impl<T: Scalar> Tensor<T> {
    /// Borrows a 2-way tensor as a faer matrix (row-major view, no copy).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless the tensor has order 2.
    pub fn as_mat(&self) -> Result<MatRef<'_, T>> {
        let (r, c) = self.matrix_dims("as_mat")?;
        Ok(MatRef::from_row_major_slice(&self.data, r, c))
    }

    /// Borrows a 2-way tensor as a mutable faer matrix (row-major view, no copy).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless the tensor has order 2.
    pub fn as_mat_mut(&mut self) -> Result<MatMut<'_, T>> {
        let (r, c) = self.matrix_dims("as_mat_mut")?;
        Ok(MatMut::from_row_major_slice_mut(&mut self.data, r, c))
    }

    /// Copies a faer matrix into a 2-way row-major tensor.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] for a matrix too large to copy.
    pub fn from_mat(m: MatRef<'_, T>) -> Result<Self> {
        Self::from_fn(&[m.nrows(), m.ncols()], |i| m[(i[0], i[1])])
    }

    /// Borrows the mode-`mode` unfolding (TensorLy's convention, see [`crate::tenalg::unfold`]) as
    /// a strided faer matrix when it is one, that is when all modes before `mode` or all modes
    /// after it have dimension 1 (always true for the first and the last mode). `Ok(None)` otherwise.
    ///
    /// ```
    /// use tensorize::{tenalg, Tensor};
    /// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 0)?;
    /// let last = x.unfolding_view(2)?.expect("the last mode's unfolding is strided");
    /// let copy = tenalg::unfold(&x, 2)?;
    /// assert_eq!(last[(1, 5)], copy.get(&[1, 5])?);
    /// assert!(x.unfolding_view(1)?.is_none());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ModeOutOfRange`].
    pub fn unfolding_view(&self, mode: usize) -> Result<Option<MatRef<'_, T>>> {
        self.check_mode(mode)?;
        let before: usize = self.shape[..mode].iter().product();
        let after: usize = self.shape[mode + 1..].iter().product();
        let rows = self.shape[mode];
        let view = if before == 1 {
            // Element (i, b) sits at i·after + b: row-major rows × after.
            Some(MatRef::from_row_major_slice(&self.data, rows, after))
        } else if after == 1 {
            // Element (i, a) sits at a·rows + i: column-major rows × before.
            Some(MatRef::from_column_major_slice(&self.data, rows, before))
        } else {
            None
        };
        Ok(view)
    }

    fn matrix_dims(&self, op: &'static str) -> Result<(usize, usize)> {
        match self.shape[..] {
            [r, c] => Ok((r, c)),
            _ => Err(Error::InvalidModes {
                op,
                modes: (0..self.ndim()).collect(),
                ndim: self.ndim(),
                detail: format!("a matrix view needs a 2-way tensor, got shape {:?}", self.shape),
            }),
        }
    }
}
