//! Thin QR factorization `A = Q R` through faer's blocked Householder QR.

use faer::dyn_stack::MemStack;
use faer::linalg::householder::{
    apply_block_householder_sequence_on_the_left_in_place_scratch,
    apply_block_householder_sequence_on_the_left_in_place_with_conj,
};
use faer::linalg::qr::no_pivoting::factor::{
    qr_in_place, qr_in_place_scratch, recommended_block_size,
};
use faer::{Conj, Mat, MatRef, Par};

use super::check::{check_matrix, scratch};
use crate::error::Result;
use crate::scalar::Scalar;

/// The thin QR factorization `A = Q R` of an `m × n` matrix, `k = min(m, n)`:
/// `Q` is `m × k` with orthonormal columns (`QᵀQ = I_k`) and `R` is `k × n` upper triangular
/// (upper trapezoidal when `n > m`). The signs are normalized so that `R_ii ≥ 0`.
///
/// ```
/// use faer::Mat;
/// use tensorize::linalg::qr_thin;
/// use tensorize::par::Par;
/// let a = Mat::<f64>::from_fn(5, 3, |i, j| 1.0 / (i + j + 1) as f64);
/// let (q, r) = qr_thin(a.as_ref(), Par::Seq)?;
/// assert_eq!((q.nrows(), q.ncols(), r.nrows(), r.ncols()), (5, 3, 3, 3));
/// assert!((&q * &r - &a).norm_l2() < 1e-13);
/// assert_eq!(r[(2, 0)], 0.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ZeroDimension`](crate::Error::ZeroDimension) for an empty matrix,
/// [`Error::NonFinite`](crate::Error::NonFinite) for NaN/Inf entries.
pub fn qr_thin<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<(Mat<T>, Mat<T>)> {
    const OP: &str = "qr_thin";
    check_matrix(OP, a)?;
    let (m, n) = a.shape();
    let k = m.min(n);
    let mut qr = a.to_owned();
    let bs = recommended_block_size::<T>(m, n);
    let mut coeff = Mat::<T>::zeros(bs, k);
    {
        let req = qr_in_place_scratch::<T>(m, n, bs, par, Default::default());
        let mut mem = scratch(req, &[m, n])?;
        qr_in_place(qr.as_mut(), coeff.as_mut(), par, MemStack::new(&mut mem), Default::default());
    }
    // R: the upper trapezoid of the first k rows.
    let mut r = Mat::from_fn(k, n, |i, j| if j >= i { qr[(i, j)] } else { T::zero() });
    // Householder basis: unit lower trapezoid m × k.
    let basis = Mat::from_fn(m, k, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Greater => qr[(i, j)],
        std::cmp::Ordering::Equal => T::one(),
        std::cmp::Ordering::Less => T::zero(),
    });
    let mut q = Mat::<T>::identity(m, k);
    {
        let req = apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(m, bs, k);
        let mut mem = scratch(req, &[m, k])?;
        apply_block_householder_sequence_on_the_left_in_place_with_conj(
            basis.as_ref(),
            coeff.as_ref(),
            Conj::No,
            q.as_mut(),
            par,
            MemStack::new(&mut mem),
        );
    }
    // Normalize signs: R_ii ≥ 0.
    for i in 0..k {
        if r[(i, i)] < T::zero() {
            for j in i..n {
                r[(i, j)] = -r[(i, j)];
            }
            for row in 0..m {
                q[(row, i)] = -q[(row, i)];
            }
        }
    }
    Ok((q, r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::linalg::testutil::{eps, fro, low_rank, orth_err, randn, residual};

    fn reconstructs<T: Scalar>() {
        for &(m, n) in &[(1, 1), (6, 3), (3, 6), (10, 10), (70, 20), (20, 70), (1, 5), (5, 1)] {
            let a = randn::<T>(m, n, (7 * m + n) as u64);
            for par in [Par::Seq, Par::rayon(2)] {
                let (q, r) = qr_thin(a.as_ref(), par).unwrap();
                let k = m.min(n);
                assert_eq!((q.nrows(), q.ncols(), r.nrows(), r.ncols()), (m, k, k, n));
                let tol = 20.0 * eps::<T>() * ((m * n) as f64).sqrt();
                assert!(residual(&q, &r, &a) <= tol * fro(&a), "{m}x{n}");
                assert!(orth_err(&q) <= tol, "{m}x{n}");
                for i in 0..k {
                    assert!(r[(i, i)] >= T::zero());
                    for j in 0..i.min(n) {
                        assert_eq!(r[(i, j)], T::zero());
                    }
                }
            }
        }
    }

    fn rank_deficient<T: Scalar>() {
        let a = low_rank::<T>(12, 8, 3, 0.5, 1);
        let (q, r) = qr_thin(a.as_ref(), Par::Seq).unwrap();
        let tol = 20.0 * eps::<T>() * 96f64.sqrt();
        assert!(residual(&q, &r, &a) <= tol * fro(&a));
        assert!(orth_err(&q) <= tol);
        let z = Mat::<T>::zeros(4, 3);
        let (q, r) = qr_thin(z.as_ref(), Par::Seq).unwrap();
        assert!(orth_err(&q) <= tol);
        assert!(fro(&r) == 0.0);
    }

    fn bad_input<T: Scalar>() {
        assert!(matches!(
            qr_thin(Mat::<T>::zeros(3, 0).as_ref(), Par::Seq),
            Err(Error::ZeroDimension { .. })
        ));
        let mut a = Mat::<T>::zeros(2, 2);
        a[(0, 1)] = T::infinity();
        assert!(matches!(qr_thin(a.as_ref(), Par::Seq), Err(Error::NonFinite { position: 1, .. })));
    }

    #[test]
    fn f64_suite() {
        reconstructs::<f64>();
        rank_deficient::<f64>();
        bad_input::<f64>();
    }

    #[test]
    fn f32_suite() {
        reconstructs::<f32>();
        rank_deficient::<f32>();
        bad_input::<f32>();
    }
}
