//! Singular spectra that rank rules need: of every mode unfolding (Tucker), of every TT
//! unfolding of a dense tensor, and of the bonds of a tensor already in TT format.

use faer::{Accum, Mat, MatRef};

use crate::error::Result;
use crate::format::TtTensor;
use crate::linalg::{left_subspace, svd_truncated, SubspaceMethod, Truncation};
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// All singular values of the `rows × cols` matrix `a` (short side first; Gram route where
/// accurate, see [`SubspaceMethod::Auto`]).
fn spectrum_of<T: Scalar>(a: MatRef<'_, T>, par: Option<Par>) -> Result<Vec<T>> {
    let (m, n) = a.shape();
    let a = if m <= n { a } else { a.transpose() };
    let flops = 2.0 * (m as f64) * (n as f64) * (m.min(n) as f64);
    let par = par.unwrap_or_else(|| auto_par(flops));
    let sub = left_subspace(a, &Truncation::rank(1), SubspaceMethod::Auto, par)?;
    Ok(sub.full_spectrum)
}

/// The singular values of every mode unfolding `X_(k)` (`k = 0 … d−1`), for
/// [`super::tucker_ranks_for_budget`]. Values below about `sqrt(eps)·σ_max` may come from the Gram
/// route and are then only accurate to `eps·σ_max²` in energy: enough for choosing ranks.
///
/// ```
/// use tensorize::rank::tucker_spectra;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1)?;
/// let s = tucker_spectra(&x)?;
/// assert_eq!(s.iter().map(|v| v.len()).collect::<Vec<_>>(), vec![2, 3, 4]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::NonFinite`] for NaN/Inf; [`crate::Error::NoConvergence`] if an eigen/SVD solver fails.
pub fn tucker_spectra<T: Scalar>(x: &Tensor<T>) -> Result<Vec<Vec<T>>> {
    tucker_spectra_impl(x, None)
}

/// [`tucker_spectra`] with explicit parallelism `par` for every unfolding.
///
/// # Errors
/// As [`tucker_spectra`].
pub fn tucker_spectra_with<T: Scalar>(x: &Tensor<T>, par: Par) -> Result<Vec<Vec<T>>> {
    tucker_spectra_impl(x, Some(par))
}

pub(super) fn tucker_spectra_impl<T: Scalar>(
    x: &Tensor<T>,
    par: Option<Par>,
) -> Result<Vec<Vec<T>>> {
    x.check_nonempty()?;
    x.check_finite("tucker_spectra")?;
    (0..x.ndim()).map(|k| spectrum_of(tenalg::unfold(x, k)?.as_mat()?, par)).collect()
}

/// The singular values of every TT unfolding `X_{⟨k⟩}` = `X` reshaped (row-major, free) to
/// `(n_1⋯n_{k+1}) × (n_{k+2}⋯n_d)`, `k = 0 … d−2`, for [`super::tt_ranks_for_budget`]. These equal
/// the bond singular values of the exact (full-rank) TT of `X` in left-orthogonal form, so no
/// TT has to be built first. Small values may come from the Gram route (see [`tucker_spectra`]).
///
/// ```
/// use tensorize::rank::tt_bond_spectra;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1)?;
/// let s = tt_bond_spectra(&x)?;
/// assert_eq!((s.len(), s[0].len(), s[1].len()), (2, 2, 4)); // 2 × 12 and 6 × 4
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`tucker_spectra`].
pub fn tt_bond_spectra<T: Scalar>(x: &Tensor<T>) -> Result<Vec<Vec<T>>> {
    tt_bond_spectra_impl(x, None)
}

/// [`tt_bond_spectra`] with explicit parallelism `par` for every unfolding.
///
/// # Errors
/// As [`tt_bond_spectra`].
pub fn tt_bond_spectra_with<T: Scalar>(x: &Tensor<T>, par: Par) -> Result<Vec<Vec<T>>> {
    tt_bond_spectra_impl(x, Some(par))
}

pub(super) fn tt_bond_spectra_impl<T: Scalar>(
    x: &Tensor<T>,
    par: Option<Par>,
) -> Result<Vec<Vec<T>>> {
    x.check_nonempty()?;
    x.check_finite("tt_bond_spectra")?;
    let shape = x.shape();
    (0..shape.len().saturating_sub(1))
        .map(|k| {
            let rows = shape[..=k].iter().product::<usize>();
            let cols = x.numel() / rows;
            spectrum_of(MatRef::from_row_major_slice(x.as_slice(), rows, cols), par)
        })
        .collect()
}

/// The bond singular values of a tensor already in TT format, without densifying: a copy is
/// right-orthogonalized, then swept left to right; at bond `k` the SVD of core `k` (as an
/// `(r_{k−1} n_k) × r_k` matrix, everything to its left left-orthonormal and to its right
/// right-orthonormal) gives the singular values of the unfolding `X_{⟨k⟩}`, and `S Vᵀ` moves
/// into core `k + 1`. Costs `O(d n r³)`. Input for [`super::tt_ranks_for_budget`] when the dense tensor
/// is too large (then truncate with [`TtTensor::round`] or TT-SVD caps).
///
/// ```
/// use tensorize::decomp::TtSvd;
/// use tensorize::rank::{tt_bond_spectra, tt_bond_spectra_of};
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[3, 4, 2], 7)?;
/// let (tt, _) = TtSvd::new().fit(&x)?;
/// let (a, b) = (tt_bond_spectra_of(&tt)?, tt_bond_spectra(&x)?);
/// for (sa, sb) in a.iter().zip(&b) {
///     for (u, v) in sa.iter().zip(sb) {
///         assert!((u - v).abs() < 1e-10 * sb[0]);
///     }
/// }
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`crate::Error::NonFinite`] if a core overflowed; [`crate::Error::NoConvergence`] if an SVD fails.
pub fn tt_bond_spectra_of<T: Scalar>(tt: &TtTensor<T>) -> Result<Vec<Vec<T>>> {
    let mut tt = tt.clone();
    tt.right_orthogonalize()?;
    let mut cores = tt.into_cores();
    let d = cores.len();
    let mut spectra = Vec::with_capacity(d.saturating_sub(1));
    for k in 0..d.saturating_sub(1) {
        let (r0, n, r1) = (cores[k].shape()[0], cores[k].shape()[1], cores[k].shape()[2]);
        let a = MatRef::from_row_major_slice(cores[k].as_slice(), r0 * n, r1);
        let par = auto_par(4.0 * (r0 * n) as f64 * (r1 * r1) as f64);
        let svd = svd_truncated(a, &Truncation::full(), par)?;
        let q = svd.s.len();
        let u = &svd.u;
        cores[k] = Tensor::from_fn(&[r0, n, q], |i| u[(i[0] * n + i[1], i[2])])?;
        let (n2, r2) = (cores[k + 1].shape()[1], cores[k + 1].shape()[2]);
        let next = MatRef::from_row_major_slice(cores[k + 1].as_slice(), r1, n2 * r2);
        let svt = Mat::from_fn(q, r1, |i, j| svd.s[i] * svd.v[(j, i)]);
        let mut prod = Mat::<T>::zeros(q, n2 * r2);
        let par = auto_par(2.0 * (q * r1) as f64 * (n2 * r2) as f64);
        faer::linalg::matmul::matmul(
            prod.as_mut(),
            Accum::Replace,
            svt.as_ref(),
            next,
            T::one(),
            par,
        );
        cores[k + 1] = Tensor::from_fn(&[q, n2, r2], |i| prod[(i[0], i[1] * r2 + i[2])])?;
        spectra.push(svd.s);
    }
    Ok(spectra)
}
