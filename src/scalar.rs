//! The element types tensorize computes with: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;

pub(crate) use sealed::Precision;

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
///
/// The trait is sealed: the SIMD kernels pick their `f32` or `f64` code by matching on the
/// element type, and a third type would have no kernel to run. Its private supertrait cannot
/// be named, let alone implemented, outside the crate:
///
/// ```compile_fail,E0603
/// struct Half(u16);
/// impl tensorize::scalar::sealed::Sealed for Half {}
/// ```
pub trait Scalar:
    sealed::Sealed
    + faer::traits::RealField
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

/// Which of `f32` and `f64` the element type `T` is, with the evidence that lets a kernel view
/// `T` data as that type; a `match` on it is exhaustive, so no precision can be left out.
pub(crate) fn precision<T: Scalar>() -> Precision<T> {
    <T as sealed::Sealed>::PRECISION
}

/// `x · 2^e` without a spurious overflow or underflow on the way: the steps move
/// monotonically towards the result, so an intermediate leaves the range only if the result does.
pub(crate) fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        x *= 2f64.powi(step);
        e -= step;
    }
    x
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

/// The supertrait that keeps [`Scalar`] to the types below: public in a private module, so
/// other crates can neither name nor implement it.
mod sealed {
    /// Implemented for `f32` and `f64` only.
    pub trait Sealed: Sized + 'static {
        /// This type's precision, with the evidence that it is that type.
        const PRECISION: Precision<Self>;
    }

    impl Sealed for f32 {
        const PRECISION: Precision<Self> = Precision::F32(Same::REFL);
    }

    impl Sealed for f64 {
        const PRECISION: Precision<Self> = Precision::F64(Same::REFL);
    }

    /// One variant per [`Sealed`] type (adding a type means adding a variant, and the compiler
    /// then points at every `match` that must handle it).
    pub enum Precision<T: 'static> {
        /// `T` is `f32`.
        F32(Same<T, f32>),
        /// `T` is `f64`.
        F64(Same<T, f64>),
    }

    /// Evidence that `T` and `U` are the same type: only [`Same::REFL`] (`T = U`) makes one,
    /// so its conversions are identities, and need neither `unsafe` nor a run-time type check.
    pub struct Same<T: 'static, U: 'static> {
        slice: fn(&[T]) -> &[U],
        slice_mut: fn(&mut [T]) -> &mut [U],
    }

    impl<T: 'static> Same<T, T> {
        /// `T` is `T`.
        const REFL: Self = Same { slice: identity, slice_mut: identity_mut };
    }

    impl<T: 'static, U: 'static> Same<T, U> {
        /// `s` as the slice of `U` it is.
        pub fn slice<'a>(&self, s: &'a [T]) -> &'a [U] {
            (self.slice)(s)
        }

        /// `s` as the mutable slice of `U` it is.
        pub fn slice_mut<'a>(&self, s: &'a mut [T]) -> &'a mut [U] {
            (self.slice_mut)(s)
        }
    }

    fn identity<X: ?Sized>(x: &X) -> &X {
        x
    }

    fn identity_mut<X: ?Sized>(x: &mut X) -> &mut X {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldexp_reaches_results_inside_the_range_from_outside_steps() {
        assert_eq!(ldexp(1e-300, 1900), 1e-300 * 2f64.powi(950) * 2f64.powi(950));
        assert_eq!(ldexp(3.0, 0), 3.0);
        assert_eq!(ldexp(1.0, -1074), 5e-324);
        assert!(ldexp(1.0, 1024).is_infinite());
    }

    #[test]
    fn precision_names_the_type_and_views_its_data_unchanged() {
        let mut x32 = [1.5_f32, -2.0];
        match precision::<f32>() {
            Precision::F32(same) => {
                assert_eq!(same.slice(&x32), &[1.5, -2.0]);
                same.slice_mut(&mut x32)[1] = 4.0;
                assert_eq!(x32, [1.5, 4.0]);
            }
            Precision::F64(_) => panic!("f32 reported as f64"),
        }
        let mut x64 = [0.25_f64];
        match precision::<f64>() {
            Precision::F64(same) => {
                same.slice_mut(&mut x64)[0] += 1.0;
                assert_eq!(same.slice(&x64), &[1.25]);
            }
            Precision::F32(_) => panic!("f64 reported as f32"),
        }
    }
}
