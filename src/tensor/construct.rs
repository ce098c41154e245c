//! Constructors: filled, from a function of the index, seeded random, and a copy in another
//! precision.

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use super::{MultiIndexIter, Tensor};
use crate::error::{checked_len, try_filled_vec, try_vec_with_capacity, Error, Result};
use crate::scalar::Scalar;

/// The random generator behind every seeded constructor (ChaCha12 via rand's `StdRng`).
pub(crate) fn seeded_rng(seed: u64) -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(seed)
}

impl<T: Scalar> Tensor<T> {
    /// A tensor of shape `shape` with every element equal to `value`.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] for a shape too large to address.
    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        let n = checked_len(shape, std::mem::size_of::<T>())?;
        Ok(Self::from_parts_unchecked(shape.to_vec(), try_filled_vec(shape, n, value)?))
    }

    /// A tensor of zeros.
    ///
    /// # Errors
    /// As [`Tensor::full`].
    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// # Errors
    /// As [`Tensor::full`].
    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::one())
    }

    /// A tensor whose element at multi-index `i` is `f(i)`, evaluated in row-major order.
    ///
    /// # Errors
    /// As [`Tensor::full`].
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> T) -> Result<Self> {
        let n = checked_len(shape, std::mem::size_of::<T>())?;
        let mut data = try_vec_with_capacity(shape, n)?;
        let mut it = MultiIndexIter::new(shape);
        while let Some(idx) = it.next_index() {
            data.push(f(idx));
        }
        Ok(Self::from_parts_unchecked(shape.to_vec(), data))
    }

    /// The same tensor in precision `U` (`f64 → f32` rounds to nearest; `f32 → f64` is exact).
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::from_vec(&[3], vec![1.5_f64, -2.0, 1.0 + 1e-12])?;
    /// let y: Tensor<f32> = x.cast()?;
    /// assert_eq!(y.shape(), &[3]);
    /// assert_eq!(y.as_slice(), &[1.5_f32, -2.0, 1.0]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfMemory`] if the copy cannot be allocated.
    pub fn cast<U: Scalar>(&self) -> Result<Tensor<U>> {
        let mut data = try_vec_with_capacity(self.shape(), self.numel())?;
        data.extend(self.as_slice().iter().map(|&v| U::of(v.as_f64())));
        Ok(Tensor::from_parts_unchecked(self.shape().to_vec(), data))
    }

    /// A tensor of independent standard normal samples; the same `seed` gives the same tensor.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let a = Tensor::<f64>::random_normal(&[3, 4], 7)?;
    /// assert_eq!(a, Tensor::random_normal(&[3, 4], 7)?);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::full`].
    pub fn random_normal(shape: &[usize], seed: u64) -> Result<Self> {
        let n = checked_len(shape, std::mem::size_of::<T>())?;
        let mut rng = seeded_rng(seed);
        let mut data = try_vec_with_capacity(shape, n)?;
        data.extend((0..n).map(|_| {
            T::of(<StandardNormal as Distribution<f64>>::sample(&StandardNormal, &mut rng))
        }));
        Ok(Self::from_parts_unchecked(shape.to_vec(), data))
    }

    /// A tensor of independent samples uniform on `[low, high)`; the same `seed` gives the same tensor.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `low < high`, both finite; otherwise as [`Tensor::full`].
    pub fn random_uniform(shape: &[usize], low: T, high: T, seed: u64) -> Result<Self> {
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(Error::InvalidParameter {
                name: "low..high",
                value: format!("{low}..{high}"),
                expected: "finite bounds with low < high",
            });
        }
        let n = checked_len(shape, std::mem::size_of::<T>())?;
        let mut rng = seeded_rng(seed);
        let (lo, width) = (low.as_f64(), (high - low).as_f64());
        let mut data = try_vec_with_capacity(shape, n)?;
        data.extend((0..n).map(|_| {
            let u: f64 = rng.random();
            // Rounding to f32 can land on `high` (probability ~2⁻²⁴ per sample); map that back
            // to `low` so the interval stays half-open.
            let x = T::of(lo + width * u);
            if x >= high {
                low
            } else {
                x
            }
        }));
        Ok(Self::from_parts_unchecked(shape.to_vec(), data))
    }
}
