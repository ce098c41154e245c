//! Property tests for `tensorize::linalg`: truncated SVD meets its error budget and rank cap,
//! `discarded_sq` is the truncation error, QR reconstructs with orthonormal Q, SPD solves have
//! small residuals. Every property runs in f32 and f64; tolerances scale with eps and size.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::linalg::{
    left_subspace, lstsq, qr_thin, solve_spd, svd_truncated, SubspaceMethod, Truncation,
};
use tensorize::par::Par;
use tensorize::{Scalar, Tensor};

/// A seeded `m × n` matrix: Gaussian, times a geometric column decay `decay^j` so that the
/// spectrum spreads out (and truncations by error bite).
fn matrix<T: Scalar>(m: usize, n: usize, decay: f64, seed: u64) -> Mat<T> {
    let t = Tensor::<T>::random_normal(&[m, n], seed).unwrap();
    Mat::from_fn(m, n, |i, j| t.as_slice()[i * n + j] * T::of(decay.powi(j as i32)))
}

fn fro<T: Scalar>(a: &Mat<T>) -> f64 {
    let mut acc = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            acc += a[(i, j)].as_f64().powi(2);
        }
    }
    acc.sqrt()
}

fn eps<T: Scalar>() -> f64 {
    T::epsilon().as_f64()
}

/// ‖A − U diag(s) Vᵀ‖_F in f64.
fn svd_err<T: Scalar>(a: &Mat<T>, u: &Mat<T>, s: &[T], v: &Mat<T>) -> f64 {
    let mut acc = 0.0;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let x: f64 =
                (0..s.len()).map(|k| u[(i, k)].as_f64() * s[k].as_f64() * v[(j, k)].as_f64()).sum();
            acc += (a[(i, j)].as_f64() - x).powi(2);
        }
    }
    acc.sqrt()
}

/// ‖QᵀQ − I‖_F in f64.
fn orth_err<T: Scalar>(q: &Mat<T>) -> f64 {
    let k = q.ncols();
    let mut acc = 0.0;
    for a in 0..k {
        for b in 0..k {
            let d: f64 = (0..q.nrows()).map(|i| q[(i, a)].as_f64() * q[(i, b)].as_f64()).sum();
            acc += (d - if a == b { 1.0 } else { 0.0 }).powi(2);
        }
    }
    acc.sqrt()
}

/// ‖A B − C‖_F in f64.
fn residual<T: Scalar>(a: &Mat<T>, b: &Mat<T>, c: &Mat<T>) -> f64 {
    let mut acc = 0.0;
    for i in 0..a.nrows() {
        for j in 0..b.ncols() {
            let x: f64 = (0..a.ncols()).map(|k| a[(i, k)].as_f64() * b[(k, j)].as_f64()).sum();
            acc += (x - c[(i, j)].as_f64()).powi(2);
        }
    }
    acc.sqrt()
}

fn check_svd_budget<T: Scalar>(m: usize, n: usize, decay: f64, seed: u64, rel: f64, cap: usize) {
    let a = matrix::<T>(m, n, decay, seed);
    let norm = fro(&a);
    let budget = rel * norm;
    let size = ((m * n) as f64).sqrt();
    let c = 50.0 * eps::<T>() * size;

    // By error budget alone: the budget is met, and r is minimal.
    let t = svd_truncated(a.as_ref(), &Truncation::error(budget), Par::Seq).unwrap();
    let r = t.s.len();
    assert!(r >= 1 && r <= m.min(n));
    let err = svd_err(&a, &t.u, &t.s, &t.v);
    assert!(err <= budget * (1.0 + c) + c * norm, "err {err} > budget {budget}");
    // discarded_sq is ‖A − A_r‖².
    assert!((err * err - t.discarded_sq.as_f64()).abs() <= 4.0 * c * norm * norm);
    let spec: Vec<f64> = t.full_spectrum.iter().map(|x| x.as_f64()).collect();
    assert!(spec.windows(2).all(|w| w[0] >= w[1]));
    if r > 1 {
        let prev: f64 = spec[r - 1..].iter().map(|s| s * s).sum();
        assert!(prev.sqrt() > budget);
    }
    assert!(orth_err(&t.u) <= c && orth_err(&t.v) <= c);

    // With a rank cap as well: the cap binds.
    let tc = svd_truncated(a.as_ref(), &Truncation::error(budget).max_rank(cap), Par::Seq).unwrap();
    assert_eq!(tc.s.len(), r.min(cap));
    assert_eq!((tc.u.ncols(), tc.v.ncols()), (tc.s.len(), tc.s.len()));
    let err_c = svd_err(&a, &tc.u, &tc.s, &tc.v);
    assert!((err_c * err_c - tc.discarded_sq.as_f64()).abs() <= 4.0 * c * norm * norm);

    // Rank only.
    let tr = svd_truncated(a.as_ref(), &Truncation::rank(cap), Par::Seq).unwrap();
    assert_eq!(tr.s.len(), cap.min(m.min(n)));
}

fn check_subspace<T: Scalar>(m: usize, n: usize, decay: f64, seed: u64, rel: f64) {
    let a = matrix::<T>(m, n, decay, seed);
    let norm = fro(&a);
    let budget = rel * norm;
    let c = 50.0 * eps::<T>() * ((m * n) as f64).sqrt();
    for method in [SubspaceMethod::Auto, SubspaceMethod::Svd, SubspaceMethod::Gram] {
        let sub = left_subspace(a.as_ref(), &Truncation::error(budget), method, Par::Seq).unwrap();
        let r = sub.u.ncols();
        assert_eq!(sub.s.len(), r);
        assert!(sub.s.windows(2).all(|w| w[0] >= w[1]));
        // ‖A − U Uᵀ A‖_F ≤ budget, up to the Gram route's sqrt(eps) resolution.
        let uta = Mat::from_fn(r, n, |k, j| (0..m).map(|i| sub.u[(i, k)] * a[(i, j)]).sum::<T>());
        let err = residual(&sub.u, &uta, &a);
        let slack = match method {
            SubspaceMethod::Gram => 10.0 * (eps::<T>() * (m as f64)).sqrt() * norm,
            _ => c * norm,
        };
        assert!(err <= budget + slack, "{method:?}: err {err} budget {budget}");
        let orth_tol = match method {
            SubspaceMethod::Gram => 10.0 * (eps::<T>() * (m as f64)).sqrt(),
            _ => c,
        };
        assert!(orth_err(&sub.u) <= orth_tol, "{method:?}");
    }
}

fn check_qr<T: Scalar>(m: usize, n: usize, decay: f64, seed: u64) {
    let a = matrix::<T>(m, n, decay, seed);
    let (q, r) = qr_thin(a.as_ref(), Par::Seq).unwrap();
    let k = m.min(n);
    assert_eq!((q.nrows(), q.ncols(), r.nrows(), r.ncols()), (m, k, k, n));
    let c = 50.0 * eps::<T>() * ((m * n) as f64).sqrt();
    assert!(residual(&q, &r, &a) <= c * fro(&a));
    assert!(orth_err(&q) <= c);
    for i in 0..k {
        for j in 0..i.min(n) {
            assert_eq!(r[(i, j)], T::zero());
        }
    }
}

fn check_spd<T: Scalar>(n: usize, extra: usize, seed: u64) {
    // G = AᵀA + I·‖A‖²/n: SPD with a modest condition number.
    let a = matrix::<T>(n + extra, n, 1.0, seed);
    let shift = T::of(fro(&a).powi(2) / n as f64);
    let g = Mat::from_fn(n, n, |i, j| {
        let d = (0..n + extra).map(|k| a[(k, i)] * a[(k, j)]).sum::<T>();
        if i == j {
            d + shift
        } else {
            d
        }
    });
    let b = matrix::<T>(n, 2, 1.0, seed + 1);
    let (x, _) = solve_spd(g.as_ref(), b.as_ref(), Par::Seq).unwrap();
    let c = 50.0 * eps::<T>() * (n as f64);
    assert!(residual(&g, &x, &b) <= c * (fro(&g) * fro(&x) + fro(&b)));
}

fn check_lstsq<T: Scalar>(m: usize, n: usize, seed: u64) {
    let a = matrix::<T>(m, n, 1.0, seed);
    let b = matrix::<T>(m, 2, 1.0, seed + 7);
    let x = lstsq(a.as_ref(), b.as_ref(), Par::Seq).unwrap();
    // Normal equations: Aᵀ(AX − B) ≈ 0.
    let res =
        Mat::from_fn(m, 2, |i, j| (0..n).map(|k| a[(i, k)] * x[(k, j)]).sum::<T>() - b[(i, j)]);
    let at = Mat::from_fn(n, m, |i, j| a[(j, i)]);
    let normal = Mat::from_fn(n, 2, |i, j| (0..m).map(|k| at[(i, k)] * res[(k, j)]).sum::<T>());
    // A Gaussian matrix is well conditioned with overwhelming probability unless nearly square.
    let c = 1e3 * eps::<T>() * ((m * n) as f64).sqrt();
    assert!(fro(&normal) <= c * fro(&a) * (fro(&a) * fro(&x) + fro(&b)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn svd_budget_and_cap(m in 1usize..14, n in 1usize..14, decay in 0.3f64..1.0,
                          seed in any::<u64>(), rel in 0.0f64..0.8, cap in 1usize..6) {
        check_svd_budget::<f64>(m, n, decay, seed, rel, cap);
        check_svd_budget::<f32>(m, n, decay, seed, rel, cap);
    }

    #[test]
    fn subspace_budget(m in 1usize..8, n in 1usize..40, decay in 0.5f64..1.0,
                       seed in any::<u64>(), rel in 0.0f64..0.8) {
        check_subspace::<f64>(m, n, decay, seed, rel);
        check_subspace::<f32>(m, n, decay, seed, rel);
    }

    #[test]
    fn qr_reconstructs(m in 1usize..30, n in 1usize..30, decay in 0.1f64..1.0, seed in any::<u64>()) {
        check_qr::<f64>(m, n, decay, seed);
        check_qr::<f32>(m, n, decay, seed);
    }

    #[test]
    fn spd_residual(n in 1usize..20, extra in 0usize..5, seed in any::<u64>()) {
        check_spd::<f64>(n, extra, seed);
        check_spd::<f32>(n, extra, seed);
    }

    #[test]
    fn lstsq_normal_equations(m in 1usize..16, n in 1usize..16, seed in any::<u64>()) {
        check_lstsq::<f64>(m, n, seed);
        check_lstsq::<f32>(m, n, seed);
    }
}
