//! Spectrum preservation: how well a compressed weight keeps the singular values of the
//! original `[out, in·kh·kw]` matrix.

use crate::error::{Error, Result};
use crate::linalg::{svd_truncated, Truncation};
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The singular values (descending) of `w` reshaped row-major to `[out, rest]`, where
/// `out = w.shape()[0]` (a linear weight as is; a kernel `[out, in, kh, kw]` as the
/// `out × in·kh·kw` matrix).
///
/// # Errors
/// [`Error::InvalidModes`] for an order-0 tensor; errors of [`svd_truncated`].
pub fn weight_spectrum<T: Scalar>(w: &Tensor<T>, par: Par) -> Result<Vec<f64>> {
    let Some(&out) = w.shape().first() else {
        return Err(Error::InvalidModes {
            op: "weight_spectrum",
            modes: vec![],
            ndim: 0,
            detail: "a weight needs at least one mode".into(),
        });
    };
    let rest = w.numel() / out.max(1);
    let a = faer::MatRef::from_row_major_slice(w.as_slice(), out, rest);
    let svd = svd_truncated(a, &Truncation::rank(1), par)?;
    Ok(svd.full_spectrum.iter().map(|s| s.as_f64()).collect())
}

/// The spectrum error of `approx` against `original` (same shape, `[out, …]`):
///
/// `‖σ(Ŵ)_{1..k} − σ(W)_{1..k}‖₂ / ‖σ(W)_{1..k}‖₂`,
///
/// where `W` and `Ŵ` are the two tensors reshaped to `[out, in·kh·kw]`, `σ(·)_{1..k}` their
/// `k` largest singular values (descending) and `k = top_k`, by default (`None`) all
/// `min(out, in·kh·kw)` of them (clamped to that number). It is 0 for an exact
/// reconstruction and is reported next to the Frobenius error: a decomposition can have a
/// small Frobenius error yet flatten the spectrum, which TSPC argues hurts accuracy.
/// (If `σ(W) = 0`, the absolute norm `‖σ(Ŵ)_{1..k}‖₂` is returned.)
///
/// ```
/// use tensorize::tensorization::spectrum_error;
/// use tensorize::Tensor;
/// let w = Tensor::<f64>::random_normal(&[8, 4, 3, 3], 1)?;
/// assert!(spectrum_error(&w, &w, None)? < 1e-12);
/// let half = w.scale(0.5);
/// assert!((spectrum_error(&w, &half, Some(3))? - 0.5).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] for different shapes; [`Error::InvalidRank`] for `top_k = Some(0)`;
/// [`Error::NonFinite`]; errors of [`weight_spectrum`].
pub fn spectrum_error<T: Scalar>(
    original: &Tensor<T>,
    approx: &Tensor<T>,
    top_k: Option<usize>,
) -> Result<f64> {
    let out = original.shape().first().copied().unwrap_or(1);
    let m = out.min(original.numel() / out.max(1)) as f64;
    spectrum_error_with(original, approx, top_k, auto_par(8.0 * original.numel() as f64 * m))
}

/// As [`spectrum_error`] with explicit parallelism.
///
/// # Errors
/// As [`spectrum_error`].
pub fn spectrum_error_with<T: Scalar>(
    original: &Tensor<T>,
    approx: &Tensor<T>,
    top_k: Option<usize>,
    par: Par,
) -> Result<f64> {
    if original.shape() != approx.shape() {
        return Err(Error::ShapeMismatch {
            op: "spectrum_error",
            left: original.shape().to_vec(),
            right: approx.shape().to_vec(),
            detail: "the reconstruction must have the original's shape".into(),
        });
    }
    if top_k == Some(0) {
        return Err(Error::InvalidRank {
            op: "spectrum_error",
            ranks: vec![0],
            shape: original.shape().to_vec(),
            detail: "compare at least the top singular value".into(),
        });
    }
    let s = weight_spectrum(original, par)?;
    let s_hat = weight_spectrum(approx, par)?;
    let k = top_k.unwrap_or(s.len()).min(s.len());
    let diff: f64 = s[..k].iter().zip(&s_hat[..k]).map(|(a, b)| (a - b) * (a - b)).sum();
    let base: f64 = s[..k].iter().map(|a| a * a).sum();
    Ok(if base > 0.0 { (diff / base).sqrt() } else { diff.sqrt() })
}
