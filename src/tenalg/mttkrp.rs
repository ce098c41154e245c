//! Reference MTTKRP (matricized tensor times Khatri–Rao product); the fast kernel is in
//! `crate::kernels`.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef};

use super::check::mat_shape;
use super::khatri_rao;
use super::unfold;
use crate::error::{checked_numel, Error, Result};
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The mode-`n` MTTKRP `M = unfold(X, n) · khatri_rao(U_k for k ≠ n, increasing k)`, an
/// `I_n × R` matrix: `M[i_n, r] = Σ_{i_k, k≠n} X[i_0, …, i_{N-1}] · ∏_{k≠n} U_k[i_k, r]`.
///
/// `factors.len()` must be `x.ndim()`; `factors[k]` is `I_k × R`. `factors[mode]` is not used,
/// only its column count `R` must match. For an order-1 tensor every column of `M` is `x`.
///
/// This is the clear reference version: it forms the unfolding (a free view for the first and
/// last modes, a copy otherwise) and the Khatri–Rao product explicitly and multiplies them with
/// one GEMM (extra memory `O(∏_{k≠n} I_k · R)`).
///
/// ```
/// use faer::Mat;
/// use tensorize::{tenalg, Tensor};
/// // A rank-one tensor a ∘ b ∘ c: its mode-0 MTTKRP with (·, b, c) is a·‖b‖²‖c‖².
/// let (a, b, c) = ([1.0, 2.0], [1.0, 1.0, 1.0], [2.0, 0.0]);
/// let x = tenalg::outer(&[&a[..], &b, &c])?;
/// let u = |v: &[f64]| Mat::from_fn(v.len(), 1, |i, _| v[i]);
/// let fs = [u(&a), u(&b), u(&c)];
/// let refs: Vec<_> = fs.iter().map(|f| f.as_ref()).collect();
/// let m = tenalg::mttkrp(&x, &refs, 0)?;
/// assert_eq!((m[(0, 0)], m[(1, 0)]), (12.0, 24.0));
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`]; [`Error::ShapeMismatch`] if `factors.len() != x.ndim()` or a factor
/// has the wrong number of rows or columns; [`Error::InvalidRank`] if `R == 0`;
/// [`Error::ZeroDimension`] for an empty `x`; [`Error::SizeOverflow`] if the Khatri–Rao product
/// is too large.
pub fn mttkrp<T: Scalar>(x: &Tensor<T>, factors: &[MatRef<'_, T>], mode: usize) -> Result<Mat<T>> {
    x.check_nonempty()?;
    x.check_mode(mode)?;
    let shape = x.shape();
    if factors.len() != shape.len() {
        return Err(Error::ShapeMismatch {
            op: "mttkrp",
            left: shape.to_vec(),
            right: vec![factors.len()],
            detail: format!(
                "expected one factor per mode ({}), got {} factors",
                shape.len(),
                factors.len()
            ),
        });
    }
    let r = factors[mode].ncols();
    // Checked where `kernels::mttkrp_fast` checks it, so both report the same variant.
    if r == 0 {
        return Err(Error::InvalidRank {
            op: "mttkrp",
            ranks: vec![0],
            shape: shape.to_vec(),
            detail: "factor matrices need at least one column".into(),
        });
    }
    for (k, f) in factors.iter().enumerate() {
        let rows_ok = k == mode || f.nrows() == shape[k];
        if !rows_ok || f.ncols() != r {
            return Err(Error::ShapeMismatch {
                op: "mttkrp",
                left: shape.to_vec(),
                right: mat_shape(*f),
                detail: format!(
                    "factor {k} is {}×{} but must be {}×{r} (mode {k} dimension × rank of factor {mode})",
                    f.nrows(),
                    f.ncols(),
                    if k == mode { f.nrows() } else { shape[k] },
                ),
            });
        }
    }
    checked_numel(&[shape[mode], r], std::mem::size_of::<T>())?;
    let others: Vec<MatRef<'_, T>> =
        factors.iter().enumerate().filter(|&(k, _)| k != mode).map(|(_, f)| *f).collect();
    let kr =
        if others.is_empty() { Mat::from_fn(1, r, |_, _| T::one()) } else { khatri_rao(&others)? };
    // The first and last modes' unfoldings are strided views of the data; others are copied.
    let copy;
    let xm = match x.unfolding_view(mode)? {
        Some(view) => view,
        None => {
            copy = unfold(x, mode)?;
            MatRef::from_row_major_slice(copy.as_slice(), shape[mode], x.numel() / shape[mode])
        }
    };
    let rows = shape[mode];
    let mut out = Mat::zeros(rows, r);
    let flops = 2.0 * x.numel() as f64 * r as f64;
    matmul(out.as_mut(), Accum::Replace, xm, kr.as_ref(), T::one(), auto_par(flops));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenalg::testutil::{assert_close, multi_index};

    fn naive<T: Scalar>(x: &Tensor<T>, fs: &[Mat<T>], n: usize) -> Vec<T> {
        let r = fs[n].ncols();
        let mut out = vec![T::zero(); x.shape()[n] * r];
        for p in 0..x.numel() {
            let idx = multi_index(p, x.shape());
            for c in 0..r {
                let mut w = x.as_slice()[p];
                for (k, f) in fs.iter().enumerate() {
                    if k != n {
                        w *= f[(idx[k], c)];
                    }
                }
                out[idx[n] * r + c] += w;
            }
        }
        out
    }

    fn check<T: Scalar>(shape: &[usize], r: usize) {
        let x = Tensor::<T>::random_normal(shape, 2).unwrap();
        let fs: Vec<Mat<T>> = shape
            .iter()
            .enumerate()
            .map(|(k, &d)| Mat::from_fn(d, r, |i, j| T::of(((i + 2 * j + k) % 5) as f64 - 2.0)))
            .collect();
        let refs: Vec<_> = fs.iter().map(|f| f.as_ref()).collect();
        for n in 0..shape.len() {
            let m = mttkrp(&x, &refs, n).unwrap();
            let got: Vec<T> =
                (0..m.nrows()).flat_map(|i| (0..r).map(move |c| (i, c))).map(|ij| m[ij]).collect();
            assert_close(&got, &naive(&x, &fs, n), &format!("mttkrp {shape:?} mode {n}"));
        }
    }

    #[test]
    fn matches_naive() {
        for shape in [&[5][..], &[3, 4], &[3, 4, 2], &[2, 3, 2, 3, 2]] {
            check::<f32>(shape, 3);
            check::<f64>(shape, 2);
        }
    }
}
