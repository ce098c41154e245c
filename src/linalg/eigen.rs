//! Symmetric eigendecomposition with eigenvalues in descending order.

use faer::diag::Diag;
use faer::dyn_stack::MemStack;
use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
use faer::{Mat, MatRef, Par};

use super::check::{check_matrix, check_square, scratch};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// The eigendecomposition `A = V diag(λ) Vᵀ` of a symmetric matrix, eigenvalues **descending**
/// (`λ_0 ≥ λ_1 ≥ …`), eigenvectors as the orthonormal columns of `V` in the same order.
///
/// Only the lower triangle of `a` is read (the upper one is assumed to mirror it).
///
/// ```
/// use faer::mat;
/// use tensorize::linalg::sym_eigen_desc;
/// use tensorize::par::Par;
/// let a = mat![[2.0_f64, 1.0], [1.0, 2.0]];
/// let (lambda, v) = sym_eigen_desc(a.as_ref(), Par::Seq)?;
/// assert!((lambda[0] - 3.0).abs() < 1e-12 && (lambda[1] - 1.0).abs() < 1e-12);
/// assert!((v[(0, 0)].abs() - 0.5_f64.sqrt()).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `a` is not square, [`Error::ZeroDimension`],
/// [`Error::NonFinite`], [`Error::NoConvergence`] if faer's eigensolver fails.
pub fn sym_eigen_desc<T: Scalar>(a: MatRef<'_, T>, par: Par) -> Result<(Vec<T>, Mat<T>)> {
    const OP: &str = "sym_eigen_desc";
    check_square(OP, a)?;
    check_matrix(OP, a)?;
    sym_eigen_desc_unchecked(OP, a, par)
}

/// [`sym_eigen_desc`] without input checks (`a` square, non-empty, finite).
pub(crate) fn sym_eigen_desc_unchecked<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
    par: Par,
) -> Result<(Vec<T>, Mat<T>)> {
    let n = a.nrows();
    let mut s = Diag::<T>::zeros(n);
    let mut u = Mat::<T>::zeros(n, n);
    let req = self_adjoint_evd_scratch::<T>(n, ComputeEigenvectors::Yes, par, Default::default());
    let mut mem = scratch(req, &[n, n])?;
    self_adjoint_evd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| Error::NoConvergence { op, shape: vec![n, n] })?;
    let col = s.column_vector();
    // faer returns ascending eigenvalues: reverse values and columns.
    let values: Vec<T> = (0..n).rev().map(|i| col[i]).collect();
    if values.iter().any(|x| !x.is_finite()) {
        return Err(Error::NoConvergence { op, shape: vec![n, n] });
    }
    let v = Mat::from_fn(n, n, |i, j| u[(i, n - 1 - j)]);
    Ok((values, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil::{eps, fro, orth_err, randn};

    fn decomposes<T: Scalar>() {
        for &n in &[1usize, 2, 5, 17, 40] {
            let b = randn::<T>(n, n, n as u64);
            let a = Mat::from_fn(n, n, |i, j| b[(i, j)] + b[(j, i)]);
            let (l, v) = sym_eigen_desc(a.as_ref(), Par::Seq).unwrap();
            assert!(l.windows(2).all(|w| w[0] >= w[1]));
            let tol = 20.0 * eps::<T>() * (n as f64);
            assert!(orth_err(&v) <= tol);
            // ‖A − V diag(λ) Vᵀ‖
            let mut acc = 0.0;
            for i in 0..n {
                for j in 0..n {
                    let x: f64 = (0..n)
                        .map(|k| v[(i, k)].as_f64() * l[k].as_f64() * v[(j, k)].as_f64())
                        .sum();
                    acc += (x - a[(i, j)].as_f64()).powi(2);
                }
            }
            assert!(acc.sqrt() <= tol * fro(&a), "n = {n}");
        }
    }

    fn bad_input<T: Scalar>() {
        assert!(matches!(
            sym_eigen_desc(Mat::<T>::zeros(2, 3).as_ref(), Par::Seq),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            sym_eigen_desc(Mat::<T>::zeros(0, 0).as_ref(), Par::Seq),
            Err(Error::ZeroDimension { .. })
        ));
        let mut a = Mat::<T>::zeros(2, 2);
        a[(1, 1)] = T::nan();
        assert!(matches!(
            sym_eigen_desc(a.as_ref(), Par::Seq),
            Err(Error::NonFinite { position: 3, .. })
        ));
    }

    #[test]
    fn f64_suite() {
        decomposes::<f64>();
        bad_input::<f64>();
    }

    #[test]
    fn f32_suite() {
        decomposes::<f32>();
        bad_input::<f32>();
    }
}
