//! Input validation and small shared helpers for the faer adapter (crate-internal).

use faer::dyn_stack::{MemBuffer, StackReq};
use faer::MatRef;

use crate::error::{Error, Result};
use crate::Scalar;

/// The shape of `a` as a `Vec`, for error messages.
pub(crate) fn shape_of<T>(a: MatRef<'_, T>) -> Vec<usize> {
    vec![a.nrows(), a.ncols()]
}

/// Refuses empty matrices ([`Error::ZeroDimension`]) and NaN/Inf entries ([`Error::NonFinite`],
/// with the row-major position of the first offending entry).
pub(crate) fn check_matrix<T: Scalar>(op: &'static str, a: MatRef<'_, T>) -> Result<()> {
    let (m, n) = a.shape();
    if m == 0 || n == 0 {
        return Err(Error::ZeroDimension { shape: vec![m, n] });
    }
    for i in 0..m {
        for j in 0..n {
            let x = a[(i, j)];
            if !x.is_finite() {
                return Err(Error::NonFinite { op, position: i * n + j, value: x.as_f64() });
            }
        }
    }
    Ok(())
}

/// Refuses non-square matrices.
pub(crate) fn check_square<T>(op: &'static str, a: MatRef<'_, T>) -> Result<()> {
    if a.nrows() != a.ncols() {
        return Err(Error::ShapeMismatch {
            op,
            left: shape_of(a),
            right: vec![a.ncols(), a.nrows()],
            detail: "the matrix must be square".to_string(),
        });
    }
    Ok(())
}

/// Allocates scratch memory for a faer kernel, reporting an absurd request as
/// [`Error::SizeOverflow`] instead of aborting.
pub(crate) fn scratch(req: StackReq, shape: &[usize]) -> Result<MemBuffer> {
    MemBuffer::try_new(req).map_err(|_| Error::SizeOverflow { shape: shape.to_vec() })
}

/// The largest absolute entry of `a` (0 for an empty matrix).
pub(crate) fn max_abs<T: Scalar>(a: MatRef<'_, T>) -> T {
    let mut best = T::zero();
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            best = best.max(a[(i, j)].abs());
        }
    }
    best
}

/// The Frobenius norm of `a`, accumulated in `f64` with scaling so that it neither overflows
/// nor underflows for any finite `f32`/`f64` input.
pub(crate) fn frob_norm<T: Scalar>(a: MatRef<'_, T>) -> f64 {
    let scale = max_abs(a).as_f64();
    if scale == 0.0 {
        return 0.0;
    }
    let mut acc = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let x = a[(i, j)].as_f64() / scale;
            acc += x * x;
        }
    }
    scale * acc.sqrt()
}

/// A power of two `c` such that `a / c` has entries of magnitude about 1, when `a`'s largest
/// entry is so large or so small that faer's kernels (or a Gram product) could overflow or
/// underflow; `None` when `a` is safe as it is (or zero). Powers of two scale exactly.
pub(crate) fn safe_scale<T: Scalar>(a: MatRef<'_, T>) -> Option<T> {
    let amax = max_abs(a);
    if amax == T::zero() {
        return None;
    }
    // Safe range: squares of sums over the matrix stay finite and normal.
    let n = (a.nrows().max(a.ncols()) as f64).max(1.0);
    let hi = T::max_value().as_f64().sqrt() / (4.0 * n);
    let lo = T::min_positive_value().as_f64().sqrt() * (4.0 * n);
    let x = amax.as_f64();
    if x <= hi && x >= lo {
        return None;
    }
    Some(T::of(2f64.powi(x.log2().round() as i32)))
}
