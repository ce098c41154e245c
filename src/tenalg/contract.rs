//! Tensor contraction (tensordot) over listed pairs of modes, as one GEMM.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef};

use crate::error::{checked_numel, try_filled_vec, Error, Result};
use crate::par::auto_par;
use crate::scalar::Scalar;
use crate::tensor::layout::permuted_copy;
use crate::tensor::Tensor;

/// The contraction (NumPy's `tensordot`) of `a` and `b` over the mode pairs `pairs`:
/// `C[f_a…, f_b…] = Σ_{c} A[…] · B[…]`, summing over every pair `(p, q)` with `a`'s mode `p`
/// and `b`'s mode `q` sharing one index. The result's modes are the free (uncontracted) modes of
/// `a` in their order, then those of `b` in theirs; contracting every mode gives an order-0
/// tensor (the inner product), and no pairs give the outer product.
///
/// Both operands are permuted into matrices (free × contracted, contracted × free; copies are
/// skipped when the permutation is the identity) and multiplied with one GEMM.
///
/// ```
/// use tensorize::{tenalg, Tensor};
/// let a = Tensor::<f64>::random_normal(&[2, 3, 4], 0)?;
/// let b = Tensor::<f64>::random_normal(&[4, 5, 3], 1)?;
/// let c = tenalg::contract(&a, &b, &[(1, 2), (2, 0)])?; // C[i, l] = Σ_{j,k} A[i,j,k] B[k,l,j]
/// assert_eq!(c.shape(), &[2, 5]);
/// let mut want = 0.0;
/// for j in 0..3 { for k in 0..4 { want += a.get(&[1, j, k])? * b.get(&[k, 4, j])?; } }
/// assert!((c.get(&[1, 4])? - want).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`] for a mode outside its tensor; [`Error::InvalidModes`] if a mode is
/// listed twice; [`Error::ShapeMismatch`] if paired modes have different dimensions;
/// [`Error::SizeOverflow`] for a too large result.
pub fn contract<T: Scalar>(
    a: &Tensor<T>,
    b: &Tensor<T>,
    pairs: &[(usize, usize)],
) -> Result<Tensor<T>> {
    let (sa, sb) = (a.shape(), b.shape());
    let mut used_a = vec![false; sa.len()];
    let mut used_b = vec![false; sb.len()];
    for &(p, q) in pairs {
        a.check_mode(p)?;
        b.check_mode(q)?;
        for (used, m, side, ndim) in
            [(&mut used_a, p, "a", sa.len()), (&mut used_b, q, "b", sb.len())]
        {
            if std::mem::replace(&mut used[m], true) {
                let modes = pairs.iter().map(|&(p, q)| if side == "a" { p } else { q }).collect();
                return Err(Error::InvalidModes {
                    op: "contract",
                    modes,
                    ndim,
                    detail: format!("mode {m} of operand {side} is contracted twice"),
                });
            }
        }
        if sa[p] != sb[q] {
            return Err(Error::ShapeMismatch {
                op: "contract",
                left: sa.to_vec(),
                right: sb.to_vec(),
                detail: format!(
                    "mode {p} of a has dimension {} but mode {q} of b has dimension {}",
                    sa[p], sb[q]
                ),
            });
        }
    }
    let free_a: Vec<usize> = (0..sa.len()).filter(|&k| !used_a[k]).collect();
    let free_b: Vec<usize> = (0..sb.len()).filter(|&k| !used_b[k]).collect();
    let out_shape: Vec<usize> =
        free_a.iter().map(|&k| sa[k]).chain(free_b.iter().map(|&k| sb[k])).collect();
    let numel = checked_numel(&out_shape, std::mem::size_of::<T>())?;
    let rows: usize = free_a.iter().map(|&k| sa[k]).product();
    let cols: usize = free_b.iter().map(|&k| sb[k]).product();
    let inner: usize = pairs.iter().map(|&(p, _)| sa[p]).product();

    let perm_a: Vec<usize> = free_a.iter().copied().chain(pairs.iter().map(|&(p, _)| p)).collect();
    let perm_b: Vec<usize> = pairs.iter().map(|&(_, q)| q).chain(free_b.iter().copied()).collect();
    let am = permuted(a, &perm_a);
    let bm = permuted(b, &perm_b);
    let lhs = MatRef::from_row_major_slice(am.as_deref().unwrap_or(a.as_slice()), rows, inner);
    let rhs = MatRef::from_row_major_slice(bm.as_deref().unwrap_or(b.as_slice()), inner, cols);
    let mut out = try_filled_vec(&out_shape, numel, T::zero())?;
    let par = auto_par(2.0 * rows as f64 * cols as f64 * inner as f64);
    matmul(
        MatMut::from_row_major_slice_mut(&mut out, rows, cols),
        Accum::Replace,
        lhs,
        rhs,
        T::one(),
        par,
    );
    Ok(Tensor::from_parts_unchecked(out_shape, out))
}

/// The data of `x` with its modes reordered by `perm` (a permutation), or `None` when `perm`
/// is the identity and the data can be used as is.
fn permuted<T: Scalar>(x: &Tensor<T>, perm: &[usize]) -> Option<Vec<T>> {
    if perm.iter().enumerate().all(|(k, &p)| k == p) {
        return None;
    }
    let strides = x.strides();
    let dims: Vec<usize> = perm.iter().map(|&p| x.shape()[p]).collect();
    let in_strides: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
    let mut out = vec![T::zero(); x.numel()];
    permuted_copy(x.as_slice(), &dims, &in_strides, &mut out);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenalg::testutil::{assert_close, linear, multi_index};

    fn naive<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>, pairs: &[(usize, usize)]) -> Vec<T> {
        let (sa, sb) = (a.shape(), b.shape());
        let free_a: Vec<usize> =
            (0..sa.len()).filter(|k| !pairs.iter().any(|p| p.0 == *k)).collect();
        let free_b: Vec<usize> =
            (0..sb.len()).filter(|k| !pairs.iter().any(|p| p.1 == *k)).collect();
        let out_shape: Vec<usize> =
            free_a.iter().map(|&k| sa[k]).chain(free_b.iter().map(|&k| sb[k])).collect();
        let cshape: Vec<usize> = pairs.iter().map(|&(p, _)| sa[p]).collect();
        let n_out: usize = out_shape.iter().product();
        let n_c: usize = cshape.iter().product();
        (0..n_out)
            .map(|o| {
                let oi = multi_index(o, &out_shape);
                let mut s = T::zero();
                for c in 0..n_c {
                    let ci = multi_index(c, &cshape);
                    let mut ia = vec![0; sa.len()];
                    let mut ib = vec![0; sb.len()];
                    for (t, &k) in free_a.iter().enumerate() {
                        ia[k] = oi[t];
                    }
                    for (t, &k) in free_b.iter().enumerate() {
                        ib[k] = oi[free_a.len() + t];
                    }
                    for (t, &(p, q)) in pairs.iter().enumerate() {
                        ia[p] = ci[t];
                        ib[q] = ci[t];
                    }
                    s += a.as_slice()[linear(&ia, sa)] * b.as_slice()[linear(&ib, sb)];
                }
                s
            })
            .collect()
    }

    fn check<T: Scalar>(sa: &[usize], sb: &[usize], pairs: &[(usize, usize)]) {
        let a = Tensor::<T>::random_normal(sa, 4).unwrap();
        let b = Tensor::<T>::random_normal(sb, 5).unwrap();
        let c = contract(&a, &b, pairs).unwrap();
        assert_close(c.as_slice(), &naive(&a, &b, pairs), &format!("{sa:?} {sb:?} {pairs:?}"));
    }

    #[test]
    fn matches_naive() {
        check::<f64>(&[2, 3, 4], &[4, 5, 3], &[(1, 2), (2, 0)]);
        check::<f32>(&[2, 3, 4], &[4, 5, 3], &[(2, 0), (1, 2)]);
        check::<f64>(&[3], &[3], &[(0, 0)]);
        check::<f32>(&[3, 2], &[2, 4], &[]);
        check::<f64>(&[2, 3, 2, 3, 2], &[3, 2, 2], &[(3, 0), (0, 2)]);
        check::<f32>(&[2, 3, 2, 3, 2], &[2, 3, 2, 3, 2], &[(0, 0), (1, 1), (2, 2), (3, 3), (4, 4)]);
        check::<f64>(&[4, 5], &[5, 4], &[(0, 1), (1, 0)]);
    }

    #[test]
    fn errors() {
        let a = Tensor::<f64>::zeros(&[2, 3]).unwrap();
        let b = Tensor::<f64>::zeros(&[3, 2]).unwrap();
        assert!(matches!(contract(&a, &b, &[(2, 0)]), Err(Error::ModeOutOfRange { .. })));
        assert!(matches!(contract(&a, &b, &[(0, 0)]), Err(Error::ShapeMismatch { .. })));
        assert!(matches!(contract(&a, &b, &[(1, 0), (1, 1)]), Err(Error::InvalidModes { .. })));
    }
}
