//! Elementwise arithmetic, norms, inner products and finiteness checks.

use super::Tensor;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

impl<T: Scalar> Tensor<T> {
    pub(super) fn check_same_shape(&self, other: &Self, op: &'static str) -> Result<()> {
        if self.shape == other.shape {
            Ok(())
        } else {
            Err(Error::ShapeMismatch {
                op,
                left: self.shape.clone(),
                right: other.shape.clone(),
                detail: "elementwise operations need equal shapes".into(),
            })
        }
    }

    fn zip_with(&self, other: &Self, op: &'static str, f: impl Fn(T, T) -> T) -> Result<Self> {
        self.check_same_shape(other, op)?;
        let data = self.data.iter().zip(&other.data).map(|(&a, &b)| f(a, b)).collect();
        Ok(Self::from_parts_unchecked(self.shape.clone(), data))
    }

    /// `self + other`, elementwise.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "add", |a, b| a + b)
    }

    /// `self - other`, elementwise.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn sub(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "sub", |a, b| a - b)
    }

    /// The Hadamard (elementwise) product.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn hadamard(&self, other: &Self) -> Result<Self> {
        self.zip_with(other, "hadamard", |a, b| a * b)
    }

    /// `alpha · self`.
    pub fn scale(&self, alpha: T) -> Self {
        self.map(|x| alpha * x)
    }

    /// `self += alpha · other`, in place.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn axpy(&mut self, alpha: T, other: &Self) -> Result<()> {
        self.check_same_shape(other, "axpy")?;
        self.data.iter_mut().zip(&other.data).for_each(|(a, &b)| *a += alpha * b);
        Ok(())
    }

    /// A tensor of the same shape with `f` applied to every element.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        Self::from_parts_unchecked(self.shape.clone(), self.data.iter().map(|&x| f(x)).collect())
    }

    /// The Frobenius inner product `Σ self_i · other_i`, accumulated in `f64` (so `f32` data keeps
    /// its digits over millions of terms).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn inner(&self, other: &Self) -> Result<T> {
        self.check_same_shape(other, "inner")?;
        Ok(dot(&self.data, &other.data))
    }

    /// The Frobenius norm `sqrt(Σ x_i²)`, accumulated in `f64` and without overflow for large
    /// elements.
    ///
    /// ```
    /// use tensorize::Tensor;
    /// let x = Tensor::from_vec(&[2], vec![3.0_f32, 4.0])?;
    /// assert_eq!(x.norm(), 5.0);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    pub fn norm(&self) -> T {
        norm(&self.data)
    }

    /// The largest absolute value (0 for an all-zero tensor; NaN if any element is NaN).
    pub fn max_abs(&self) -> T {
        self.data.iter().fold(T::zero(), |m, &x| {
            if x.is_nan() || m.is_nan() {
                T::nan()
            } else {
                m.max(x.abs())
            }
        })
    }

    /// Whether every element is finite.
    pub fn is_finite(&self) -> bool {
        self.data.iter().all(|x| x.is_finite())
    }

    /// Returns [`Error::NonFinite`] naming `op` and the first NaN/infinite element, if any.
    ///
    /// # Errors
    /// [`Error::NonFinite`].
    pub fn check_finite(&self, op: &'static str) -> Result<()> {
        check_finite_slice(op, &self.data)
    }
}

/// Returns [`Error::NonFinite`] for the first NaN/infinite value of `xs`. Blocks of 256 are
/// checked without an early exit (`|x| ≤ max` is false for NaN and ±∞, and the branch-free
/// fold vectorizes); the position is looked for only in a block that failed.
pub(crate) fn check_finite_slice<T: Scalar>(op: &'static str, xs: &[T]) -> Result<()> {
    const BLOCK: usize = 256;
    let max = T::max_value();
    for (b, block) in xs.chunks(BLOCK).enumerate() {
        if !block.iter().fold(true, |ok, &x| ok & (x.abs() <= max)) {
            if let Some(k) = block.iter().position(|x| !x.is_finite()) {
                let position = b * BLOCK + k;
                return Err(Error::NonFinite { op, position, value: xs[position].as_f64() });
            }
        }
    }
    Ok(())
}

/// `Σ a_i b_i` accumulated in `f64` with four independent accumulators (vectorizes, and is more
/// accurate than one). For `f32` data the wide accumulator is what keeps a sum over 10⁶ elements
/// right to ~1e-7 relative instead of ~1e-5: an `f32` running sum loses the small terms.
pub(crate) fn dot_wide<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k].as_f64() * y[k].as_f64();
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(&x, &y)| x.as_f64() * y.as_f64()).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `Σ a_i b_i`, accumulated as [`dot_wide`] and rounded once to `T`.
pub(crate) fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    T::of(dot_wide(a, b))
}

/// The Euclidean norm of `xs`, its sum of squares accumulated in `f64`; rescales by the largest
/// magnitude if that sum overflows, or is so small that squares fell into (or below) the
/// subnormal range (only possible for `f64` data: squares of `f32` values always fit in `f64`).
pub(crate) fn norm<T: Scalar>(xs: &[T]) -> T {
    let sum_sq = dot_wide(xs, xs);
    // Fast path: no overflow, and squares well above the subnormal range (min_positive / eps).
    if (sum_sq.is_finite() && sum_sq >= f64::MIN_POSITIVE / f64::EPSILON)
        || xs.iter().any(|x| !x.is_finite())
    {
        return T::of(sum_sq.sqrt());
    }
    let m = xs.iter().fold(T::zero(), |m, &x| m.max(x.abs()));
    if m == T::zero() {
        return T::zero();
    }
    let scaled: T = xs.iter().map(|&x| (x / m) * (x / m)).sum();
    m * scaled.sqrt()
}
