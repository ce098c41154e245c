//! Khatri–Rao, Kronecker and outer products, with row-major (first factor slowest) ordering.

use faer::{Mat, MatRef};

use super::check::{checked_product, mat_shape, non_empty};
use crate::error::{checked_dense, try_vec_with_capacity, Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The Khatri–Rao (column-wise Kronecker) product `A_1 ⊙ A_2 ⊙ ⋯ ⊙ A_K` of matrices that all
/// have `R` columns: a `(∏ I_k) × R` matrix whose column `r` is `A_1[:, r] ⊗ ⋯ ⊗ A_K[:, r]`.
///
/// Rows are indexed row-major with `A_1`'s row index slowest (TensorLy's order):
/// `KR[((i_1·I_2 + i_2)·I_3 + i_3)⋯, r] = ∏_k A_k[i_k, r]`. With this order the mode-`n`
/// unfolding of a CP tensor is `unfold(X, n) = U_n · diag(w) · khatri_rao(U_k, k≠n)ᵀ` with the
/// factors in increasing mode order.
///
/// ```
/// use faer::mat;
/// use tensorize::tenalg;
/// let a = mat![[1.0, 2.0], [3.0, 4.0]];
/// let b = mat![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]];
/// let kr = tenalg::khatri_rao(&[a.as_ref(), b.as_ref()])?;
/// assert_eq!((kr.nrows(), kr.ncols()), (6, 2));
/// assert_eq!(kr.col(0).iter().copied().collect::<Vec<_>>(), [1.0, 2.0, 3.0, 3.0, 6.0, 9.0]);
/// assert_eq!(kr[(4, 1)], 4.0 * 20.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty list; [`Error::ShapeMismatch`] if the column counts
/// differ; [`Error::ZeroDimension`] / [`Error::SizeOverflow`] for an empty or too large result;
/// [`Error::MemoryLimit`] for a result above the memory limit ([`crate::memory`]).
pub fn khatri_rao<T: Scalar>(mats: &[MatRef<'_, T>]) -> Result<Mat<T>> {
    non_empty("mats", mats)?;
    let r = mats[0].ncols();
    for (k, m) in mats.iter().enumerate() {
        if m.ncols() != r {
            return Err(Error::ShapeMismatch {
                op: "khatri_rao",
                left: mat_shape(mats[0]),
                right: mat_shape(*m),
                detail: format!("matrix {k} has {} columns but matrix 0 has {r}", m.ncols()),
            });
        }
    }
    let rows: Vec<usize> = mats.iter().map(|m| m.nrows()).collect();
    let total = checked_product(&rows)?;
    checked_dense(&[total, r], std::mem::size_of::<T>())?;
    let mut acc = mats[0].to_owned();
    for m in &mats[1..] {
        let (ia, ib) = (acc.nrows(), m.nrows());
        acc = Mat::from_fn(ia * ib, r, |row, c| acc[(row / ib, c)] * m[(row % ib, c)]);
    }
    Ok(acc)
}

/// The Kronecker product `A_1 ⊗ A_2 ⊗ ⋯ ⊗ A_K`: a `(∏ I_k) × (∏ J_k)` matrix with
/// `K[(i_1·I_2 + i_2)⋯, (j_1·J_2 + j_2)⋯] = ∏_k A_k[i_k, j_k]` (first factor slowest, for rows
/// and columns alike).
///
/// ```
/// use faer::mat;
/// use tensorize::tenalg;
/// let a = mat![[1.0, 2.0]];
/// let b = mat![[0.0, 1.0], [1.0, 0.0]];
/// let k = tenalg::kronecker(&[a.as_ref(), b.as_ref()])?;
/// assert_eq!(k, mat![[0.0, 1.0, 0.0, 2.0], [1.0, 0.0, 2.0, 0.0]]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty list; [`Error::ZeroDimension`] /
/// [`Error::SizeOverflow`] for an empty or too large result; [`Error::MemoryLimit`] for a result
/// above the memory limit ([`crate::memory`]).
pub fn kronecker<T: Scalar>(mats: &[MatRef<'_, T>]) -> Result<Mat<T>> {
    non_empty("mats", mats)?;
    let rows: Vec<usize> = mats.iter().map(|m| m.nrows()).collect();
    let cols: Vec<usize> = mats.iter().map(|m| m.ncols()).collect();
    let (nr, nc) = (checked_product(&rows)?, checked_product(&cols)?);
    checked_dense(&[nr, nc], std::mem::size_of::<T>())?;
    let mut acc = mats[0].to_owned();
    for m in &mats[1..] {
        let (ib, jb) = (m.nrows(), m.ncols());
        acc = Mat::from_fn(acc.nrows() * ib, acc.ncols() * jb, |r, c| {
            acc[(r / ib, c / jb)] * m[(r % ib, c % jb)]
        });
    }
    Ok(acc)
}

/// The outer product `v_1 ∘ v_2 ∘ ⋯ ∘ v_K`: the rank-one tensor of shape `[len(v_1), …]` with
/// `X[i_1, …, i_K] = ∏_k v_k[i_k]`.
///
/// ```
/// use tensorize::tenalg;
/// let x = tenalg::outer(&[&[1.0, 2.0][..], &[1.0, 10.0, 100.0]])?;
/// assert_eq!(x.shape(), &[2, 3]);
/// assert_eq!(x.as_slice(), &[1.0, 10.0, 100.0, 2.0, 20.0, 200.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty list; [`Error::ZeroDimension`] for an empty vector;
/// [`Error::SizeOverflow`] for a too large result; [`Error::MemoryLimit`] for a result above the
/// memory limit ([`crate::memory`]).
pub fn outer<T: Scalar>(vectors: &[&[T]]) -> Result<Tensor<T>> {
    non_empty("vectors", vectors)?;
    let shape: Vec<usize> = vectors.iter().map(|v| v.len()).collect();
    let numel = checked_dense(&shape, std::mem::size_of::<T>())?;
    let mut data = try_vec_with_capacity(&shape, numel)?;
    data.extend_from_slice(vectors[0]);
    for v in &vectors[1..] {
        data = data.iter().flat_map(|&a| v.iter().map(move |&b| a * b)).collect();
    }
    Ok(Tensor::from_parts_unchecked(shape, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenalg::testutil::{assert_close, multi_index};

    fn mats<T: Scalar>(dims: &[(usize, usize)]) -> Vec<Mat<T>> {
        dims.iter()
            .enumerate()
            .map(|(k, &(r, c))| {
                Mat::from_fn(r, c, |i, j| T::of((i * 3 + j * 5 + k) as f64 % 7.0 - 3.0))
            })
            .collect()
    }

    fn check<T: Scalar>(dims: &[(usize, usize)]) {
        let ms = mats::<T>(dims);
        let refs: Vec<_> = ms.iter().map(|m| m.as_ref()).collect();
        let rows: Vec<usize> = dims.iter().map(|d| d.0).collect();
        let cols: Vec<usize> = dims.iter().map(|d| d.1).collect();
        let kron = kronecker(&refs).unwrap();
        let (nr, nc) = (rows.iter().product::<usize>(), cols.iter().product::<usize>());
        assert_eq!((kron.nrows(), kron.ncols()), (nr, nc));
        for r in 0..nr {
            let ri = multi_index(r, &rows);
            for c in 0..nc {
                let ci = multi_index(c, &cols);
                let want: T =
                    (0..dims.len()).map(|k| ms[k][(ri[k], ci[k])]).fold(T::one(), |s, v| s * v);
                assert_eq!(kron[(r, c)], want);
            }
        }
        if cols.iter().all(|&c| c == cols[0]) {
            let kr = khatri_rao(&refs).unwrap();
            for r in 0..nr {
                let ri = multi_index(r, &rows);
                for c in 0..cols[0] {
                    let want: T =
                        (0..dims.len()).map(|k| ms[k][(ri[k], c)]).fold(T::one(), |s, v| s * v);
                    assert_eq!(kr[(r, c)], want);
                }
            }
        }
        let vs: Vec<Vec<T>> =
            rows.iter().map(|&n| (0..n).map(|i| T::of(i as f64 * 0.5 - 1.0)).collect()).collect();
        let vrefs: Vec<&[T]> = vs.iter().map(|v| &v[..]).collect();
        let x = outer(&vrefs).unwrap();
        assert_eq!(x.shape(), &rows[..]);
        let want: Vec<T> = (0..nr)
            .map(|p| {
                let idx = multi_index(p, &rows);
                (0..rows.len()).map(|k| vs[k][idx[k]]).fold(T::one(), |s, v| s * v)
            })
            .collect();
        assert_close(x.as_slice(), &want, "outer");
    }

    #[test]
    fn matches_naive() {
        let cases: [&[(usize, usize)]; 5] = [
            &[(4, 3)],
            &[(2, 3), (4, 3)],
            &[(2, 2), (3, 1), (2, 3)],
            &[(3, 2), (1, 2), (2, 2), (2, 2), (3, 2)],
            &[(1, 1), (5, 1)],
        ];
        for c in cases {
            check::<f32>(c);
            check::<f64>(c);
        }
    }

    #[test]
    fn errors() {
        let a = Mat::<f64>::zeros(2, 3);
        let b = Mat::<f64>::zeros(2, 2);
        assert!(matches!(khatri_rao::<f64>(&[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(kronecker::<f64>(&[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(outer::<f64>(&[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(khatri_rao(&[a.as_ref(), b.as_ref()]), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(outer::<f64>(&[&[1.0], &[]]), Err(Error::ZeroDimension { .. })));
    }
}
