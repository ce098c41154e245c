//! Linear solves: symmetric positive (semi-)definite systems `G X = B` and least squares `min ‖AX − B‖_F`.

use faer::dyn_stack::MemStack;
use faer::linalg::cholesky::llt::factor::{cholesky_in_place, cholesky_in_place_scratch};
use faer::linalg::cholesky::llt::solve::solve_in_place;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use super::check::{check_matrix, check_square, frob_norm, scratch, shape_of};
use super::eigen::sym_eigen_desc_unchecked;
use super::svd::thin_svd;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// Which path [`solve_spd`] took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SolveMethod {
    /// Plain Cholesky `G = L Lᵀ`, then two triangular solves.
    Cholesky,
    /// Cholesky of the Tikhonov-regularized `G + λI`, `λ = sqrt(n)·eps·tr(G)`.
    Regularized,
    /// Pseudo-inverse from the symmetric eigendecomposition, `X = V diag(1/λ_i) Vᵀ B` with
    /// eigenvalues `|λ_i| ≤ n·eps·max|λ|` dropped: the minimum-norm least-squares solution.
    PseudoInverse,
}

/// Solves `G X = B` for a symmetric positive semi-definite `G` (`n × n`) and `B` (`n × k`).
///
/// Three paths, tried in order (the returned [`SolveMethod`] says which one answered):
/// 1. Cholesky `G = L Lᵀ`, accepted when it succeeds, the pivot ratio
///    `min L_ii² / max L_ii² > 16·n·eps` (a lower bound on `1/cond(G)`), and the residual
///    `‖G X − B‖_F ≤ sqrt(eps)·‖B‖_F`;
/// 2. Tikhonov: Cholesky of `G + λI` with `λ = sqrt(n)·eps·tr(G)`, accepted under the same residual
///    test (so it only answers when `B` lies, numerically, in the range of `G`);
/// 3. the pseudo-inverse `X = G⁺ B` from the symmetric eigendecomposition, dropping eigenvalues
///    with `|λ_i| ≤ n·eps·max|λ|`: the minimum-norm minimizer of `‖G X − B‖_F`.
///
/// A singular (even zero) `G` is not an error. Only the lower triangle of `G` is read by the
/// factorizations; the residual test reads all of it, so pass a symmetric matrix.
///
/// ```
/// use faer::mat;
/// use tensorize::linalg::{solve_spd, SolveMethod};
/// use tensorize::par::Par;
/// let g = mat![[4.0_f64, 1.0], [1.0, 3.0]];
/// let b = mat![[1.0_f64], [2.0]];
/// let (x, how) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq)?;
/// assert_eq!(how, SolveMethod::Cholesky);
/// assert!((&g * &x - &b).norm_l2() < 1e-14);
/// // A singular G still gives the least-squares answer.
/// let g = mat![[1.0_f64, 1.0], [1.0, 1.0]];
/// let (x, _) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq)?;
/// assert!((x[(0, 0)] - 0.75).abs() < 1e-12 && (x[(1, 0)] - 0.75).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `G` is not square or `B` has not `n` rows,
/// [`Error::ZeroDimension`], [`Error::NonFinite`], [`Error::NoConvergence`] (eigensolver).
pub fn solve_spd<T: Scalar>(
    g: MatRef<'_, T>,
    b: MatRef<'_, T>,
    par: Par,
) -> Result<(Mat<T>, SolveMethod)> {
    const OP: &str = "solve_spd";
    check_square(OP, g)?;
    if b.nrows() != g.nrows() {
        return Err(Error::ShapeMismatch {
            op: OP,
            left: shape_of(g),
            right: shape_of(b),
            detail: format!("B must have {} rows, as G has", g.nrows()),
        });
    }
    check_matrix(OP, g)?;
    check_matrix(OP, b)?;
    let n = g.nrows();
    let eps = T::epsilon();
    let b_norm = frob_norm(b);
    let res_tol = eps.as_f64().sqrt() * b_norm;
    let accept = |x: &Mat<T>| -> bool {
        if !x.as_ref().is_all_finite() {
            return false;
        }
        let mut r = b.to_owned();
        matmul(r.as_mut(), Accum::Add, g, x.as_ref(), -T::one(), par);
        frob_norm(r.as_ref()) <= res_tol
    };

    // 1. Cholesky.
    if let Some((x, ratio)) = cholesky_solve(g, b, par)? {
        if ratio > 16.0 * n as f64 * eps.as_f64() && accept(&x) {
            return Ok((x, SolveMethod::Cholesky));
        }
    }
    // 2. Tikhonov-regularized Cholesky.
    let trace: T = (0..n).map(|i| g[(i, i)]).sum();
    let lambda = T::of_usize(n).sqrt() * eps * trace;
    if lambda > T::zero() && lambda.is_finite() {
        let mut gr = g.to_owned();
        for i in 0..n {
            gr[(i, i)] += lambda;
        }
        if let Some((x, _)) = cholesky_solve(gr.as_ref(), b, par)? {
            if accept(&x) {
                return Ok((x, SolveMethod::Regularized));
            }
        }
    }
    // 3. Pseudo-inverse from the symmetric eigendecomposition.
    let (values, v) = sym_eigen_desc_unchecked(OP, g, par)?;
    let lmax = values.iter().fold(T::zero(), |m, l| m.max(l.abs()));
    let tol = T::of_usize(n) * eps * lmax;
    let kept: Vec<usize> = (0..n).filter(|&i| values[i].abs() > tol).collect();
    let p = b.ncols();
    if kept.is_empty() {
        return Ok((Mat::zeros(n, p), SolveMethod::PseudoInverse));
    }
    let vk = Mat::from_fn(n, kept.len(), |i, j| v[(i, kept[j])]);
    let mut c = Mat::<T>::zeros(kept.len(), p);
    matmul(c.as_mut(), Accum::Replace, vk.transpose(), b, T::one(), par);
    for (row, &i) in kept.iter().enumerate() {
        let inv = T::one() / values[i];
        for j in 0..p {
            c[(row, j)] *= inv;
        }
    }
    let mut x = Mat::<T>::zeros(n, p);
    matmul(x.as_mut(), Accum::Replace, vk.as_ref(), c.as_ref(), T::one(), par);
    Ok((x, SolveMethod::PseudoInverse))
}

/// Cholesky factorization and solve; `None` if the factorization breaks down. Also returns the
/// pivot ratio `min L_ii² / max L_ii²`.
fn cholesky_solve<T: Scalar>(
    g: MatRef<'_, T>,
    b: MatRef<'_, T>,
    par: Par,
) -> Result<Option<(Mat<T>, f64)>> {
    let n = g.nrows();
    let mut l = g.to_owned();
    let req = cholesky_in_place_scratch::<T>(n, par, Default::default());
    let mut mem = scratch(req, &[n, n])?;
    let ok = cholesky_in_place(
        l.as_mut(),
        Default::default(),
        par,
        MemStack::new(&mut mem),
        Default::default(),
    );
    if ok.is_err() {
        return Ok(None);
    }
    let (mut dmin, mut dmax) = (f64::INFINITY, 0.0f64);
    for i in 0..n {
        let d = l[(i, i)].as_f64();
        dmin = dmin.min(d * d);
        dmax = dmax.max(d * d);
    }
    let ratio = if dmax > 0.0 { dmin / dmax } else { 0.0 };
    let mut x = b.to_owned();
    solve_in_place(l.as_ref(), x.as_mut(), par, MemStack::new(&mut mem));
    Ok(Some((x, ratio)))
}

/// The minimum-norm least-squares solution `X = A⁺ B` of `min_X ‖A X − B‖_F` for any shape of
/// `A` (`m × n`, tall, wide or rank-deficient) and `B` (`m × k`); `X` is `n × k`.
///
/// Computed from the thin SVD `A = U Σ Vᵀ` as `X = V Σ⁺ Uᵀ B`, where singular values
/// `s_i ≤ max(m, n)·eps·s_max` are treated as zero (the numerical-rank cutoff of NumPy's
/// `lstsq` with its default `rcond`).
///
/// ```
/// use faer::mat;
/// use tensorize::linalg::lstsq;
/// use tensorize::par::Par;
/// // Fit y = c0 + c1·t through (0, 1), (1, 3), (2, 5): c = (1, 2).
/// let a = mat![[1.0_f64, 0.0], [1.0, 1.0], [1.0, 2.0]];
/// let y = mat![[1.0_f64], [3.0], [5.0]];
/// let c = lstsq(a.as_ref(), y.as_ref(), Par::Seq)?;
/// assert!((c[(0, 0)] - 1.0).abs() < 1e-12 && (c[(1, 0)] - 2.0).abs() < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] if `B` has not as many rows as `A`, [`Error::ZeroDimension`],
/// [`Error::NonFinite`], [`Error::NoConvergence`] (SVD).
pub fn lstsq<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>, par: Par) -> Result<Mat<T>> {
    const OP: &str = "lstsq";
    if b.nrows() != a.nrows() {
        return Err(Error::ShapeMismatch {
            op: OP,
            left: shape_of(a),
            right: shape_of(b),
            detail: format!("B must have {} rows, as A has", a.nrows()),
        });
    }
    check_matrix(OP, a)?;
    check_matrix(OP, b)?;
    let (m, n) = a.shape();
    let p = b.ncols();
    let (s, u, v) = thin_svd(OP, a, true, true, par)?;
    let (Some(u), Some(v)) = (u, v) else {
        return Err(Error::NoConvergence { op: OP, shape: vec![m, n] });
    };
    let s_max = s.first().copied().unwrap_or_else(T::zero);
    let tol = T::of_usize(m.max(n)) * T::epsilon() * s_max;
    let r = s.iter().take_while(|&&x| x > tol).count();
    if r == 0 {
        return Ok(Mat::zeros(n, p));
    }
    let mut c = Mat::<T>::zeros(r, p);
    matmul(c.as_mut(), Accum::Replace, u.subcols(0, r).transpose(), b, T::one(), par);
    for (i, &si) in s[..r].iter().enumerate() {
        let inv = T::one() / si;
        for j in 0..p {
            c[(i, j)] *= inv;
        }
    }
    let mut x = Mat::<T>::zeros(n, p);
    matmul(x.as_mut(), Accum::Replace, v.subcols(0, r), c.as_ref(), T::one(), par);
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::sym_eigen_desc;
    use crate::linalg::testutil::{eps, fro, low_rank, randn, residual};

    /// The optimal residual ‖(I − P) B‖_F for symmetric PSD G, P projecting onto range(G),
    /// computed via the f64 pseudo-inverse route on an f64 copy.
    fn best_residual<T: Scalar>(g: &Mat<T>, b: &Mat<T>) -> f64 {
        let g64 = Mat::from_fn(g.nrows(), g.ncols(), |i, j| g[(i, j)].as_f64());
        let b64 = Mat::from_fn(b.nrows(), b.ncols(), |i, j| b[(i, j)].as_f64());
        let x = lstsq(g64.as_ref(), b64.as_ref(), Par::Seq).unwrap();
        residual(&g64, &x, &b64)
    }

    fn spd<T: Scalar>() {
        for &n in &[1usize, 3, 10, 30] {
            let a = randn::<T>(n + 5, n, n as u64);
            let g = Mat::from_fn(n, n, |i, j| (0..n + 5).map(|k| a[(k, i)] * a[(k, j)]).sum::<T>());
            let b = randn::<T>(n, 3, 99);
            let (x, how) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
            assert_eq!(how, SolveMethod::Cholesky, "n = {n}");
            let tol = 50.0 * eps::<T>() * (n as f64) * fro(&g) * fro(&x);
            assert!(residual(&g, &x, &b) <= tol, "n = {n}");
        }
    }

    fn singular<T: Scalar>() {
        let n = 8;
        // G = F Fᵀ with small integer F (n × 3): exactly representable, PSD, rank 3.
        let f = Mat::from_fn(n, 3, |i, k| T::of((((i * 7 + k * 3) % 5) as f64) - 2.0));
        let g = Mat::from_fn(n, n, |i, j| (0..3).map(|k| f[(i, k)] * f[(j, k)]).sum::<T>());
        let g64 = Mat::from_fn(n, n, |i, j| g[(i, j)].as_f64());
        let (lam, _) = sym_eigen_desc(g64.as_ref(), Par::Seq).unwrap();
        assert!(lam[2] > 1e-3 * lam[0] && lam[3].abs() < 1e-10 * lam[0]);
        // Inconsistent right-hand side: least squares.
        let b = randn::<T>(n, 2, 5);
        let (x, how) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
        assert!(x.as_ref().is_all_finite());
        assert_eq!(how, SolveMethod::PseudoInverse);
        let best = best_residual(&g, &b);
        let tol = 1e2 * eps::<T>() * (n as f64) * fro(&b) * lam[0] / lam[2];
        assert!(residual(&g, &x, &b) <= best + tol, "{} vs {best}", residual(&g, &x, &b));
        // Minimum norm: x lies in range(G), so ‖x‖_F ≤ ‖b‖_F / λ_3.
        assert!(fro(&x) <= fro(&b) / lam[2] * (1.0 + 1e2 * eps::<T>() * lam[0] / lam[2]));
        // Consistent right-hand side: (nearly) exact solve.
        let b = Mat::from_fn(n, 2, |i, j| g[(i, j)] + g[(i, j + 3)]);
        let (x, _) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
        assert!(residual(&g, &x, &b) <= 1e2 * eps::<T>() * (n as f64) * fro(&b) * lam[0] / lam[2]);
    }

    fn zero<T: Scalar>() {
        let g = Mat::<T>::zeros(4, 4);
        let b = randn::<T>(4, 2, 1);
        let (x, how) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
        assert_eq!(how, SolveMethod::PseudoInverse);
        assert!(fro(&x) == 0.0);
    }

    fn lstsq_shapes<T: Scalar>() {
        // Tall full rank: normal equations hold, Aᵀ(AX − B) = 0.
        for &(m, n, r) in &[(12, 4, 4), (4, 12, 4), (10, 10, 10), (10, 8, 3), (6, 9, 2), (1, 1, 1)]
        {
            let a =
                if r == m.min(n) { randn::<T>(m, n, 3) } else { low_rank::<T>(m, n, r, 0.5, 3) };
            let b = randn::<T>(m, 2, 4);
            let x = lstsq(a.as_ref(), b.as_ref(), Par::Seq).unwrap();
            assert_eq!((x.nrows(), x.ncols()), (n, 2));
            let res = Mat::from_fn(m, 2, |i, j| {
                (0..n).map(|k| a[(i, k)] * x[(k, j)]).sum::<T>() - b[(i, j)]
            });
            let at = Mat::from_fn(n, m, |i, j| a[(j, i)]);
            let normal =
                Mat::from_fn(n, 2, |i, j| (0..m).map(|k| at[(i, k)] * res[(k, j)]).sum::<T>());
            let tol = 1e3
                * eps::<T>()
                * ((m * n) as f64).sqrt()
                * fro(&a)
                * (fro(&b) + fro(&a) * fro(&x));
            assert!(fro(&normal) <= tol, "{m}x{n} r{r}: {}", fro(&normal));
            // Compare with the f64 reference residual.
            let a64 = Mat::from_fn(m, n, |i, j| a[(i, j)].as_f64());
            let b64 = Mat::from_fn(m, 2, |i, j| b[(i, j)].as_f64());
            // Reference: ‖(I − U_r U_rᵀ) B‖ with U_r the exact rank-r range in f64.
            let t = crate::linalg::svd_truncated(
                a64.as_ref(),
                &crate::linalg::Truncation::rank(r),
                Par::Seq,
            )
            .unwrap();
            let ub =
                Mat::from_fn(r, 2, |k, j| (0..m).map(|i| t.u[(i, k)] * b64[(i, j)]).sum::<f64>());
            let best = residual(&t.u, &ub, &b64);
            assert!(fro(&res) <= best + 1e3 * eps::<T>() * fro(&b));
        }
    }

    fn bad_input<T: Scalar>() {
        let g = Mat::<T>::identity(3, 3);
        let b = Mat::<T>::zeros(4, 1);
        match solve_spd(g.as_ref(), b.as_ref(), Par::Seq) {
            Err(Error::ShapeMismatch { left, right, .. }) => {
                assert_eq!((left, right), (vec![3, 3], vec![4, 1]))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            solve_spd(Mat::<T>::zeros(3, 2).as_ref(), b.as_ref(), Par::Seq),
            Err(Error::ShapeMismatch { .. })
        ));
        assert!(matches!(
            lstsq(g.as_ref(), b.as_ref(), Par::Seq),
            Err(Error::ShapeMismatch { .. })
        ));
        let mut b = Mat::<T>::zeros(3, 1);
        b[(2, 0)] = T::nan();
        assert!(matches!(
            solve_spd(g.as_ref(), b.as_ref(), Par::Seq),
            Err(Error::NonFinite { position: 2, .. })
        ));
        assert!(matches!(lstsq(g.as_ref(), b.as_ref(), Par::Seq), Err(Error::NonFinite { .. })));
        assert!(matches!(
            lstsq(Mat::<T>::zeros(3, 0).as_ref(), Mat::<T>::zeros(3, 1).as_ref(), Par::Seq),
            Err(Error::ZeroDimension { .. })
        ));
    }

    fn indefinite_and_parallel<T: Scalar>() {
        // Not PSD (user error): still no error, and the pseudo-inverse solves it.
        let g = Mat::from_fn(3, 3, |i, j| T::of(if i == j { [2.0, -3.0, 1.0][i] } else { 0.0 }));
        let b = randn::<T>(3, 2, 8);
        let (x, how) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
        assert_eq!(how, SolveMethod::PseudoInverse);
        assert!(residual(&g, &x, &b) <= 50.0 * eps::<T>() * fro(&b) * 3.0);
        // Parallel runs agree with sequential ones.
        let a = randn::<T>(60, 25, 2);
        let g = Mat::from_fn(25, 25, |i, j| (0..60).map(|k| a[(k, i)] * a[(k, j)]).sum::<T>());
        let b = randn::<T>(25, 4, 3);
        let (x1, _) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
        let (x2, _) = solve_spd(g.as_ref(), b.as_ref(), Par::rayon(2)).unwrap();
        let tol = 1e3 * eps::<T>() * fro(&x1);
        assert!(fro(&Mat::from_fn(25, 4, |i, j| x1[(i, j)] - x2[(i, j)])) <= tol);
        let bb = randn::<T>(60, 3, 4);
        let y1 = lstsq(a.as_ref(), bb.as_ref(), Par::Seq).unwrap();
        let y2 = lstsq(a.as_ref(), bb.as_ref(), Par::rayon(2)).unwrap();
        let tol = 1e3 * eps::<T>() * fro(&y1);
        assert!(fro(&Mat::from_fn(25, 3, |i, j| y1[(i, j)] - y2[(i, j)])) <= tol);
    }

    fn extreme_scale_lstsq<T: Scalar>() {
        // Entries ~ 4·sqrt(max): the SVD runs on a rescaled copy.
        let big = T::of(T::max_value().sqrt().as_f64() * 4.0);
        let a0 = randn::<T>(6, 3, 12);
        let a = Mat::from_fn(6, 3, |i, j| a0[(i, j)] * big);
        let x0 = randn::<T>(3, 1, 13);
        let b = Mat::from_fn(6, 1, |i, _| (0..3).map(|k| a[(i, k)] * x0[(k, 0)]).sum::<T>());
        let x = lstsq(a.as_ref(), b.as_ref(), Par::Seq).unwrap();
        let d = fro(&Mat::from_fn(3, 1, |i, j| x[(i, j)] - x0[(i, j)]));
        assert!(d <= 1e3 * eps::<T>() * fro(&x0), "{d}");
    }

    #[test]
    fn f64_suite() {
        indefinite_and_parallel::<f64>();
        extreme_scale_lstsq::<f64>();
        spd::<f64>();
        singular::<f64>();
        zero::<f64>();
        lstsq_shapes::<f64>();
        bad_input::<f64>();
    }

    #[test]
    fn f32_suite() {
        indefinite_and_parallel::<f32>();
        extreme_scale_lstsq::<f32>();
        spd::<f32>();
        singular::<f32>();
        zero::<f32>();
        lstsq_shapes::<f32>();
        bad_input::<f32>();
    }
}
