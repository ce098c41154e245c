//! Mode-n unfolding (matricization) and its inverse, in TensorLy's convention.

use crate::error::{checked_len, try_filled_vec, Error, Result};
use crate::scalar::Scalar;
use crate::tensor::layout::permuted_copy;
use crate::tensor::row_major_strides;
use crate::tensor::Tensor;

/// The mode-`mode` unfolding `X_(n)` of `x`: a 2-way tensor of shape `I_n × ∏_{k≠n} I_k`.
///
/// TensorLy's convention: move mode `n` to the front, keep the other modes in their order, and
/// reshape row-major. Element `x[i_0, …, i_{N-1}]` lands in row `i_n` and column
/// `Σ_{k≠n} i_k · ∏_{l>k, l≠n} I_l` — the **last** remaining index varies fastest.
///
/// Kolda & Bader (SIAM Review 2009) use the same rows but order the columns with the **first**
/// remaining index fastest (column `Σ_{k≠n} i_k ∏_{l<k, l≠n} I_l`); the two unfoldings differ
/// by a permutation of the columns. Consequently the Khatri–Rao products in tensorize (see
/// [`khatri_rao`](crate::tenalg::khatri_rao)) list factors in increasing mode order:
/// `X_(n) = U_n · diag(w) · khatri_rao(U_k, k≠n)ᵀ`.
///
/// A copy is made (see [`Tensor::unfolding_view`] for a free view of the first and last modes).
///
/// # Example: a 3×4×2 tensor with `x[i, j, k] = 100 i + 10 j + k`
/// ```
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::from_fn(&[3, 4, 2], |i| (100 * i[0] + 10 * i[1] + i[2]) as f64)?;
///
/// let x0 = tenalg::unfold(&x, 0)?; // 3 × 8, column (j, k) = 2 j + k
/// assert_eq!(x0.shape(), &[3, 8]);
/// assert_eq!(x0.as_slice(), &[
///       0.,   1.,  10.,  11.,  20.,  21.,  30.,  31.,
///     100., 101., 110., 111., 120., 121., 130., 131.,
///     200., 201., 210., 211., 220., 221., 230., 231.,
/// ]);
///
/// let x1 = tenalg::unfold(&x, 1)?; // 4 × 6, column (i, k) = 2 i + k
/// assert_eq!(x1.shape(), &[4, 6]);
/// assert_eq!(x1.as_slice(), &[
///      0.,  1., 100., 101., 200., 201.,
///     10., 11., 110., 111., 210., 211.,
///     20., 21., 120., 121., 220., 221.,
///     30., 31., 130., 131., 230., 231.,
/// ]);
///
/// let x2 = tenalg::unfold(&x, 2)?; // 2 × 12, column (i, j) = 4 i + j
/// assert_eq!(x2.shape(), &[2, 12]);
/// assert_eq!(x2.as_slice(), &[
///     0., 10., 20., 30., 100., 110., 120., 130., 200., 210., 220., 230.,
///     1., 11., 21., 31., 101., 111., 121., 131., 201., 211., 221., 231.,
/// ]);
/// // Kolda–Bader's mode-1 unfolding would instead start with columns
/// // (i, k) = (0, 0), (1, 0), (2, 0), (0, 1), …: 0, 100, 200, 1, …
///
/// assert_eq!(tenalg::fold(&x1, 1, &[3, 4, 2])?, x);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`] if `mode >= x.ndim()`.
pub fn unfold<T: Scalar>(x: &Tensor<T>, mode: usize) -> Result<Tensor<T>> {
    let out_shape = unfolded_shape(x.shape(), mode)?;
    let data = try_filled_vec(x.shape(), x.numel(), T::zero())?;
    let mut out = Tensor::from_parts_unchecked(out_shape.to_vec(), data);
    write_unfolding(x, mode, &mut out);
    Ok(out)
}

/// [`unfold`] written into `out`, the caller's `I_n × ∏_{k≠n} I_k` buffer (empty tensors too).
///
/// ```
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::<f32>::random_normal(&[3, 4, 2], 5)?;
/// let mut buf = Tensor::zeros(&[4, 6])?;
/// tenalg::unfold_into(&x, 1, &mut buf)?;
/// assert_eq!(buf, tenalg::unfold(&x, 1)?);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`]; [`Error::ShapeMismatch`] if `out` has another shape.
pub fn unfold_into<T: Scalar>(x: &Tensor<T>, mode: usize, out: &mut Tensor<T>) -> Result<()> {
    let out_shape = unfolded_shape(x.shape(), mode)?;
    if out.shape() != out_shape {
        return Err(Error::ShapeMismatch {
            op: "unfold_into",
            left: x.shape().to_vec(),
            right: out.shape().to_vec(),
            detail: format!("the mode-{mode} unfolding is {}×{}", out_shape[0], out_shape[1]),
        });
    }
    write_unfolding(x, mode, out);
    Ok(())
}

/// `[I_n, ∏_{k≠n} I_k]` for mode `mode` of `shape`.
fn unfolded_shape(shape: &[usize], mode: usize) -> Result<[usize; 2]> {
    if mode >= shape.len() {
        return Err(Error::ModeOutOfRange { mode, shape: shape.to_vec() });
    }
    let rest = shape.iter().enumerate().filter(|&(k, _)| k != mode).map(|(_, &d)| d).product();
    Ok([shape[mode], rest])
}

/// Writes the mode-`mode` unfolding of `x` into `out` (shapes already checked).
fn write_unfolding<T: Scalar>(x: &Tensor<T>, mode: usize, out: &mut Tensor<T>) {
    let shape = x.shape();
    let strides = x.strides();
    let perm = unfold_permutation(shape.len(), mode);
    let dims: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    permuted_copy(x.as_slice(), &dims, &in_strides, out.as_mut_slice());
}

/// The inverse of [`unfold`]: folds an `I_n × ∏_{k≠n} I_k` matrix back into a tensor of shape
/// `shape`, so that `fold(&unfold(&x, n)?, n, x.shape())? == x`.
///
/// ```
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::<f32>::random_normal(&[2, 3, 4, 5], 7)?;
/// for n in 0..4 {
///     assert_eq!(tenalg::fold(&tenalg::unfold(&x, n)?, n, &[2, 3, 4, 5])?, x);
/// }
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`] if `mode >= shape.len()`; [`Error::SizeOverflow`] for a `shape`
/// too large to address; [`Error::ShapeMismatch`] unless `m` is a
/// 2-way tensor of shape `[shape[mode], ∏_{k≠mode} shape[k]]`.
pub fn fold<T: Scalar>(m: &Tensor<T>, mode: usize, shape: &[usize]) -> Result<Tensor<T>> {
    let numel = checked_len(shape, std::mem::size_of::<T>())?;
    check_fold(m, mode, shape, "fold")?;
    let mut out =
        Tensor::from_parts_unchecked(shape.to_vec(), try_filled_vec(shape, numel, T::zero())?);
    write_fold(m, mode, &mut out);
    Ok(out)
}

/// [`fold`] written into `out`, whose shape is the folded one (empty tensors too).
///
/// ```
/// use tensorize::{tenalg, Tensor};
/// let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1)?;
/// let mut back = Tensor::zeros(&[2, 3, 4])?;
/// tenalg::fold_into(&tenalg::unfold(&x, 2)?, 2, &mut back)?;
/// assert_eq!(back, x);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`] if `mode >= out.ndim()`; [`Error::ShapeMismatch`] unless `m` is the
/// `[out.shape()[mode], ∏_{k≠mode} out.shape()[k]]` unfolding.
pub fn fold_into<T: Scalar>(m: &Tensor<T>, mode: usize, out: &mut Tensor<T>) -> Result<()> {
    check_fold(m, mode, out.shape(), "fold_into")?;
    write_fold(m, mode, out);
    Ok(())
}

/// Checks that `m` is the mode-`mode` unfolding of a tensor of shape `shape`.
fn check_fold<T: Scalar>(
    m: &Tensor<T>,
    mode: usize,
    shape: &[usize],
    op: &'static str,
) -> Result<()> {
    let expected = unfolded_shape(shape, mode)?;
    if m.shape() != expected {
        return Err(Error::ShapeMismatch {
            op,
            left: m.shape().to_vec(),
            right: shape.to_vec(),
            detail: format!(
                "the mode-{mode} unfolding of shape {shape:?} is {}×{}, got a tensor of shape {:?}",
                expected[0],
                expected[1],
                m.shape()
            ),
        });
    }
    Ok(())
}

/// Writes the tensor whose mode-`mode` unfolding is `m` into `out` (shapes already checked).
fn write_fold<T: Scalar>(m: &Tensor<T>, mode: usize, out: &mut Tensor<T>) {
    // The matrix is the row-major tensor of the permuted shape; read it with its strides.
    let shape = out.shape().to_vec();
    let perm = unfold_permutation(shape.len(), mode);
    let pdims: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let pstrides = row_major_strides(&pdims);
    let mut in_strides = vec![0; shape.len()];
    for (pos, &axis) in perm.iter().enumerate() {
        in_strides[axis] = pstrides[pos];
    }
    permuted_copy(m.as_slice(), &shape, &in_strides, out.as_mut_slice());
}

/// `[mode, 0, 1, …, mode-1, mode+1, …, ndim-1]`.
fn unfold_permutation(ndim: usize, mode: usize) -> Vec<usize> {
    std::iter::once(mode).chain((0..ndim).filter(|&k| k != mode)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenalg::testutil::multi_index;

    /// Naive unfolding by the index formula.
    fn naive_unfold<T: Scalar>(x: &Tensor<T>, n: usize) -> Vec<T> {
        let shape = x.shape();
        let cols: usize = x.numel() / shape[n];
        let mut out = vec![T::zero(); x.numel()];
        for p in 0..x.numel() {
            let idx = multi_index(p, shape);
            let mut col = 0;
            for k in 0..shape.len() {
                if k != n {
                    col = col * shape[k] + idx[k];
                }
            }
            out[idx[n] * cols + col] = x.as_slice()[p];
        }
        out
    }

    fn check<T: Scalar>(shape: &[usize]) {
        let x = Tensor::<T>::random_normal(shape, 3).unwrap();
        for n in 0..shape.len() {
            let u = unfold(&x, n).unwrap();
            assert_eq!(u.as_slice(), &naive_unfold(&x, n)[..], "shape {shape:?} mode {n}");
            assert_eq!(fold(&u, n, shape).unwrap(), x);
        }
    }

    #[test]
    fn matches_naive() {
        for shape in [&[5][..], &[3, 4], &[3, 4, 2], &[2, 1, 3, 1], &[2, 3, 2, 3, 2], &[1, 1, 1]] {
            check::<f32>(shape);
            check::<f64>(shape);
        }
    }

    #[test]
    fn errors() {
        let x = Tensor::<f64>::zeros(&[2, 3]).unwrap();
        assert!(matches!(unfold(&x, 2), Err(Error::ModeOutOfRange { mode: 2, .. })));
        let u = unfold(&x, 0).unwrap();
        assert!(matches!(fold(&u, 1, &[2, 3]), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(fold(&u, 2, &[2, 3]), Err(Error::ModeOutOfRange { .. })));
        assert!(matches!(fold(&u, 0, &[usize::MAX, 3]), Err(Error::SizeOverflow { .. })));
    }
}
