//! The element types tensorize computes with: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A real floating-point element type: implemented for `f32` and `f64` only.
///
/// It joins faer's [`RealField`](faer::traits::RealField) (so faer can run its kernels on the
/// data) with [`num_traits::Float`] (which gives `Copy` and the usual math methods).
///
/// ```
/// use tensorize::Scalar;
/// fn half<T: Scalar>(x: T) -> T { x * T::of(0.5) }
/// assert_eq!(half(3.0_f32), 1.5);
/// assert_eq!(<f64 as Scalar>::NAME, "f64");
/// ```
pub trait Scalar:
    faer::traits::RealField
    + num_traits::Float
    + num_traits::NumAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// `"f32"` or `"f64"`, for reports and error messages.
    const NAME: &'static str;

    /// Converts an `f64` constant to this type (rounding for `f32`).
    fn of(x: f64) -> Self;

    /// Widens (or keeps) this value as an `f64`.
    fn as_f64(self) -> f64;

    /// Converts a count (a dimension or a number of elements) to this type.
    fn of_usize(n: usize) -> Self {
        Self::of(n as f64)
    }
}

impl Scalar for f32 {
    const NAME: &'static str = "f32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Scalar for f64 {
    const NAME: &'static str = "f64";
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}
