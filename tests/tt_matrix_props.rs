//! Properties of TT-matrices and the batched TT-matvec kernel on random small cases (1–4 cores,
//! modes 1–4, ranks 1–3, batches 1–6), in f32 and f64, with tolerances scaled by size.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::decomp::TtSvd;
use tensorize::format::TtMatrix;
use tensorize::{Scalar, Tensor};

/// Row modes, column modes, inner ranks, batch, seed.
type Case = (Vec<usize>, Vec<usize>, Vec<usize>, usize, u64);

fn case() -> impl Strategy<Value = Case> {
    (1usize..=4).prop_flat_map(|d| {
        (
            prop::collection::vec(1usize..=4, d),
            prop::collection::vec(1usize..=4, d),
            prop::collection::vec(1usize..=3, d - 1),
            1usize..=6,
            any::<u64>(),
        )
    })
}

fn random_tt<T: Scalar>(m: &[usize], n: &[usize], inner: &[usize], seed: u64) -> TtMatrix<T> {
    let r: Vec<usize> = [1].iter().chain(inner).chain(&[1]).copied().collect();
    let cores = (0..m.len())
        .map(|k| {
            Tensor::random_normal(&[r[k], m[k], n[k], r[k + 1]], seed.wrapping_add(k as u64))
                .unwrap()
        })
        .collect();
    TtMatrix::new(cores).unwrap()
}

fn mat<T: Scalar>(t: &Tensor<T>) -> Mat<T> {
    t.as_mat().unwrap().to_owned()
}

fn rel<T: Scalar>(a: &Mat<T>, b: &Mat<T>) -> f64 {
    (a - b).norm_l2().as_f64() / b.norm_l2().as_f64().max(f64::MIN_POSITIVE)
}

/// `c · eps · sqrt(size) · scale` (the scale covers the cancellation of rank sums).
fn tol<T: Scalar>(size: usize, scale: f64) -> f64 {
    64.0 * T::epsilon().as_f64() * (size as f64).sqrt() * scale
}

fn products<T: Scalar>(c: &Case) -> Result<(), TestCaseError> {
    let (m, n, inner, batch, seed) = c;
    let w = random_tt::<T>(m, n, inner, *seed);
    let wd = mat(&w.to_dense().unwrap());
    let (rows, cols) = (w.nrows(), w.ncols());
    let x = Tensor::<T>::random_normal(&[*batch, cols], seed ^ 1).unwrap();
    let y = Tensor::<T>::random_normal(&[*batch, rows], seed ^ 2).unwrap();
    let scale = inner.iter().product::<usize>() as f64 * 4.0;
    let got = mat(&w.matvec_batch(&x).unwrap());
    let want = mat(&x) * wd.transpose();
    prop_assert!(rel(&got, &want) <= tol::<T>(rows * cols, scale), "matvec {}", rel(&got, &want));
    let got_t = mat(&w.rmatvec_batch(&y).unwrap());
    let want_t = mat(&y) * &wd;
    prop_assert!(rel(&got_t, &want_t) <= tol::<T>(rows * cols, scale));
    prop_assert_eq!(w.transpose().transpose(), w.clone());
    prop_assert_eq!(mat(&w.transpose().to_dense().unwrap()), wd.transpose().to_owned());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn matvec_and_rmatvec_match_the_dense_product(c in case()) {
        products::<f64>(&c)?;
        products::<f32>(&c)?;
    }

    #[test]
    fn full_rank_from_dense_reconstructs(c in case()) {
        let (m, n, _, _, seed) = c;
        let (rows, cols) = (m.iter().product::<usize>(), n.iter().product::<usize>());
        let w = Tensor::<f64>::random_normal(&[rows, cols], seed).unwrap();
        let (tt, rep) = TtSvd::new().fit_matrix(&w, &m, &n).unwrap();
        let err = tt.to_dense().unwrap().sub(&w).unwrap().norm() / w.norm();
        prop_assert!(err <= tol::<f64>(rows * cols, 4.0), "err {err}");
        prop_assert!(rep.rel_error <= 1e-6);
        prop_assert_eq!(tt.row_modes(), m);
        prop_assert_eq!(tt.col_modes(), n);
    }

    #[test]
    fn truncation_and_rounding_stay_within_eps(c in case(), eps in 0.05f64..0.5) {
        let (m, n, inner, _, seed) = c;
        let a = random_tt::<f64>(&m, &n, &inner, seed);
        let dense = a.to_dense().unwrap();
        let (t, rep) = TtSvd::new().eps(eps).fit_matrix(&dense, &m, &n).unwrap();
        let err = t.to_dense().unwrap().sub(&dense).unwrap().norm() / dense.norm();
        prop_assert!(err <= eps * (1.0 + 1e-9) + 1e-12, "from_dense err {err} > {eps}");
        prop_assert!((err - rep.rel_error).abs() <= 1e-6);
        let sum = a.add(&a).unwrap();
        let twice = dense.scale(2.0);
        let sd = sum.to_dense().unwrap();
        prop_assert!(sd.sub(&twice).unwrap().norm() <= tol::<f64>(dense.numel(), 8.0) * twice.norm());
        let (r, rep) = sum.round(eps, None).unwrap();
        let err = r.to_dense().unwrap().sub(&twice).unwrap().norm() / twice.norm();
        prop_assert!(err <= eps * (1.0 + 1e-9) + 1e-12, "round err {err} > {eps}");
        prop_assert!(rep.rel_error <= eps * (1.0 + 1e-9) + 1e-12);
        for (ra, rr) in a.ranks().iter().zip(r.ranks()) {
            prop_assert!(rr <= *ra);
        }
    }

    #[test]
    fn tt_times_tt_matches_the_dense_product(c in case(), k_seed in any::<u64>()) {
        let (m, n, inner, _, seed) = c;
        let a = random_tt::<f64>(&m, &n, &inner, seed);
        // B: rows modes = A's column modes, random column modes.
        let p: Vec<usize> = n.iter().enumerate().map(|(i, _)| 1 + ((k_seed >> (2 * i)) as usize % 3)).collect();
        let b = random_tt::<f64>(&n, &p, &inner, k_seed);
        let got = mat(&a.matmul(&b).unwrap().to_dense().unwrap());
        let want = mat(&a.to_dense().unwrap()) * mat(&b.to_dense().unwrap());
        let scale = (inner.iter().product::<usize>() as f64).powi(2) * 4.0;
        prop_assert!(rel(&got, &want) <= tol::<f64>(want.nrows() * want.ncols() * a.ncols(), scale));
    }

    #[test]
    fn f32_agrees_with_f64(c in case()) {
        let (m, n, inner, batch, seed) = c;
        let w64 = random_tt::<f64>(&m, &n, &inner, seed);
        let w32 = TtMatrix::new(
            w64.cores().iter().map(|g| Tensor::from_vec(g.shape(), g.as_slice().iter().map(|&v| v as f32).collect()).unwrap()).collect(),
        ).unwrap();
        let x64 = Tensor::<f64>::random_normal(&[batch, w64.ncols()], seed ^ 3).unwrap();
        let x32 = Tensor::from_vec(x64.shape(), x64.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
        let y64 = w64.matvec_batch(&x64).unwrap();
        let y32 = w32.matvec_batch(&x32).unwrap();
        let diff: f64 = y64.as_slice().iter().zip(y32.as_slice()).map(|(a, &b)| (a - b as f64).powi(2)).sum::<f64>().sqrt();
        let scale = inner.iter().product::<usize>() as f64 * 4.0;
        prop_assert!(diff <= tol::<f32>(y64.numel() * w64.ncols(), scale) * y64.norm().max(1.0));
    }
}

#[test]
fn from_dense_roundtrip_exact_and_truncated() {
    let w = Tensor::<f64>::random_normal(&[12, 8], 3).unwrap();
    let (tt, rep) = TtSvd::new().fit_matrix(&w, &[2, 3, 2], &[2, 2, 2]).unwrap();
    assert!(rep.rel_error < 1e-12);
    assert!(tt.to_dense().unwrap().sub(&w).unwrap().norm() < 1e-12 * w.norm());
    let (t2, rep2) = TtSvd::new().max_rank(2).fit_matrix(&w, &[2, 3, 2], &[2, 2, 2]).unwrap();
    assert!(t2.max_rank() <= 2);
    let err = t2.to_dense().unwrap().sub(&w).unwrap().norm() / w.norm();
    assert!((err - rep2.rel_error).abs() < 1e-10);
    assert!((t2.rel_error(&w).unwrap() - err).abs() < 1e-6);
}
