//! Multi-index access: checked `get`/`set`, panicking `Index`, and a row-major index iterator.

use std::ops::{Index, IndexMut};

use super::Tensor;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Walks all multi-indices of a shape in row-major order without allocating per step.
///
/// ```
/// use tensorize::tensor::MultiIndexIter;
/// let mut it = MultiIndexIter::new(&[2, 2]);
/// let mut seen = vec![];
/// while let Some(i) = it.next_index() { seen.push(i.to_vec()); }
/// assert_eq!(seen, vec![vec![0, 0], vec![0, 1], vec![1, 0], vec![1, 1]]);
/// ```
#[derive(Clone, Debug)]
pub struct MultiIndexIter {
    shape: Vec<usize>,
    current: Vec<usize>,
    started: bool,
    done: bool,
}

impl MultiIndexIter {
    /// An iterator over every multi-index of `shape` (none if a dimension is 0).
    pub fn new(shape: &[usize]) -> Self {
        Self {
            shape: shape.to_vec(),
            current: vec![0; shape.len()],
            started: false,
            done: shape.contains(&0),
        }
    }

    /// The next multi-index, or `None` when all were visited.
    pub fn next_index(&mut self) -> Option<&[usize]> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            return Some(&self.current);
        }
        for k in (0..self.shape.len()).rev() {
            self.current[k] += 1;
            if self.current[k] < self.shape[k] {
                return Some(&self.current);
            }
            self.current[k] = 0;
        }
        self.done = true;
        None
    }
}

impl<T: Scalar> Tensor<T> {
    /// The row-major position of multi-index `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] if `index` has the wrong length or a coordinate is too large.
    pub fn offset(&self, index: &[usize]) -> Result<usize> {
        if index.len() != self.ndim() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return Err(Error::IndexOutOfBounds {
                index: index.to_vec(),
                shape: self.shape.clone(),
            });
        }
        Ok(index.iter().zip(&self.shape).fold(0, |acc, (&i, &d)| acc * d + i))
    }

    /// The element at `index`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] as for [`Tensor::offset`].
    pub fn get(&self, index: &[usize]) -> Result<T> {
        Ok(self.data[self.offset(index)?])
    }

    /// Sets the element at `index` to `value`.
    ///
    /// # Errors
    /// [`Error::IndexOutOfBounds`] as for [`Tensor::offset`].
    pub fn set(&mut self, index: &[usize], value: T) -> Result<()> {
        let k = self.offset(index)?;
        self.data[k] = value;
        Ok(())
    }
}

impl<T: Scalar> Index<&[usize]> for Tensor<T> {
    type Output = T;

    /// # Panics
    /// If the index is out of bounds (use [`Tensor::get`] for a checked read).
    fn index(&self, index: &[usize]) -> &T {
        match self.offset(index) {
            Ok(k) => &self.data[k],
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T: Scalar> IndexMut<&[usize]> for Tensor<T> {
    /// # Panics
    /// If the index is out of bounds (use [`Tensor::set`] for a checked write).
    fn index_mut(&mut self, index: &[usize]) -> &mut T {
        match self.offset(index) {
            Ok(k) => &mut self.data[k],
            Err(e) => panic!("{e}"),
        }
    }
}
