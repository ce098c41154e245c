//! Property tests for CP: CP-ALS recovers exact low-rank tensors, the Gram/MTTKRP-based norm and
//! error equal their dense definitions, the fast MTTKRP equals the reference, plain ALS never
//! increases the error, and rank-deficient or degenerate input gives finite factors.
//! Every property runs in f32 and f64; tolerances scale with eps and size.

// Helpers outside #[test] fns are not covered by clippy's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::decomp::{CpAls, CpInit};
use tensorize::format::CpTensor;
use tensorize::kernels::mttkrp_fast_with;
use tensorize::par::Par;
use tensorize::{tenalg, Factorized, Scalar, Tensor};

fn eps<T: Scalar>() -> f64 {
    T::epsilon().as_f64()
}

/// Seeded standard-normal `d × r` matrices, one per dimension.
fn factors<T: Scalar>(shape: &[usize], rank: usize, seed: u64) -> Vec<Mat<T>> {
    shape
        .iter()
        .enumerate()
        .map(|(k, &d)| {
            let t =
                Tensor::<T>::random_normal(&[d, rank], seed.wrapping_add(31 * k as u64)).unwrap();
            Mat::from_fn(d, rank, |i, r| t.as_slice()[i * rank + r])
        })
        .collect()
}

fn random_cp<T: Scalar>(shape: &[usize], rank: usize, seed: u64) -> CpTensor<T> {
    let w = (0..rank).map(|r| T::of(1.0 + 0.5 * r as f64)).collect();
    CpTensor::new(w, factors(shape, rank, seed)).unwrap()
}

/// `‖X − X̂‖ / ‖X‖` from an explicit reconstruction, in f64.
fn dense_rel_error<T: Scalar>(x: &Tensor<T>, cp: &CpTensor<T>) -> f64 {
    let y = cp.to_dense().unwrap();
    let d: f64 =
        x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| (a.as_f64() - b.as_f64()).powi(2)).sum();
    let n: f64 = x.as_slice().iter().map(|a| a.as_f64().powi(2)).sum();
    (d / n).sqrt()
}

fn fro<T: Scalar>(m: &Mat<T>) -> f64 {
    let mut s = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            s += m[(i, j)].as_f64().powi(2);
        }
    }
    s.sqrt()
}

fn finite_cp<T: Scalar>(cp: &CpTensor<T>) -> bool {
    cp.weights().iter().all(|w| w.is_finite()) && cp.factors().iter().all(|f| f.is_all_finite())
}

/// A 3-way shape with every dimension in `lo..=hi`.
fn shape3(lo: usize, hi: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(lo..=hi, 3)
}

/// A shape of order 1 to 4 with small dimensions.
fn small_shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=5, 1..=4)
}

fn recovery<T: Scalar>(
    shape: &[usize],
    rank: usize,
    seed: u64,
    bound: f64,
) -> Result<(), TestCaseError> {
    let truth = random_cp::<T>(shape, rank, seed);
    let x = truth.to_dense().unwrap();
    let (cp, report) =
        CpAls::new(rank).init(CpInit::Svd).tol(1e-15).max_iter(3000).fit(&x).unwrap();
    prop_assert!(report.rel_error <= bound, "{shape:?} r{rank}: {report:?}");
    prop_assert!(dense_rel_error(&x, &cp) <= bound, "{shape:?} r{rank}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn als_from_svd_init_recovers_exact_rank(shape in shape3(5, 9), rank in 1usize..=3, seed in 0u64..1000) {
        recovery::<f64>(&shape, rank, seed, 1e-8)?;
        // f32: the error floor of the fit is about sqrt(eps) (the error formula cancels) and the
        // factors themselves carry eps·cond; 100·sqrt(eps) ≈ 3.5e-2 is generous but scaled.
        recovery::<f32>(&shape, rank, seed, 100.0 * eps::<f32>().sqrt())?;
    }

    #[test]
    fn rel_error_without_densifying_equals_explicit(shape in small_shape(), rank in 1usize..=6, seed in 0u64..1000, noise in 0.0f64..2.0) {
        fn check<T: Scalar>(shape: &[usize], rank: usize, seed: u64, noise: f64) -> Result<(), TestCaseError> {
            let cp = random_cp::<T>(shape, rank, seed);
            let y = cp.to_dense().unwrap();
            let z = Tensor::<T>::random_normal(shape, seed + 1).unwrap();
            let x = y.add(&z.scale(T::of(noise) * y.norm() / T::of_usize(y.numel()).sqrt())).unwrap();
            let fast = cp.rel_error(&x).unwrap().as_f64();
            let explicit = dense_rel_error(&x, &cp);
            // The fast formula's absolute error in e² is about eps·(‖X‖² + c²)/‖X‖², where c is
            // the size of the rank-one terms the Gram identity sums: c = Σ_r |w_r| Π_k ‖u_kr‖,
            // which exceeds ‖X̂‖ when the terms cancel (a 1-element tensor at rank 2 did). It
            // hands over to the explicit difference below the cancellation floor.
            let terms: f64 = (0..rank)
                .map(|r| {
                    let col = |f: &faer::Mat<T>| f.col(r).iter().map(|v| v.as_f64().powi(2)).sum::<f64>().sqrt();
                    cp.weights()[r].as_f64().abs() * cp.factors().iter().map(col).product::<f64>()
                })
                .sum();
            let ratio = terms.max(y.norm().as_f64()) / x.norm().as_f64();
            let tol = 50.0 * eps::<T>() * (x.numel() as f64).sqrt() * (1.0 + ratio * ratio) / explicit.max(8.0 * eps::<T>().sqrt());
            prop_assert!((fast - explicit).abs() <= tol.max(20.0 * eps::<T>()), "{shape:?} r{rank}: {fast} vs {explicit}");
            Ok(())
        }
        check::<f64>(&shape, rank, seed, noise)?;
        check::<f32>(&shape, rank, seed, noise)?;
    }

    #[test]
    fn fast_mttkrp_equals_reference(shape in small_shape(), rank in 1usize..=5, seed in 0u64..1000, par in any::<bool>()) {
        fn check<T: Scalar>(shape: &[usize], rank: usize, seed: u64, par: Par) -> Result<(), TestCaseError> {
            let x = Tensor::<T>::random_normal(shape, seed).unwrap();
            let fs = factors::<T>(shape, rank, seed + 7);
            let views: Vec<_> = fs.iter().map(|f| f.as_ref()).collect();
            let scale = x.norm().as_f64() * fs.iter().map(fro).product::<f64>();
            for mode in 0..shape.len() {
                let fast = mttkrp_fast_with(&x, &views, mode, par).unwrap();
                let reference = tenalg::mttkrp(&x, &views, mode).unwrap();
                let tol = 20.0 * eps::<T>() * (x.numel() as f64).sqrt() * scale;
                prop_assert!(fro(&(&fast - &reference)) <= tol, "{shape:?} r{rank} mode {mode}");
            }
            Ok(())
        }
        let par = if par { Par::rayon(2) } else { Par::Seq };
        check::<f64>(&shape, rank, seed, par)?;
        check::<f32>(&shape, rank, seed, par)?;
    }

    #[test]
    fn norm_from_grams_equals_dense_norm(shape in small_shape(), rank in 1usize..=6, seed in 0u64..1000) {
        fn check<T: Scalar>(shape: &[usize], rank: usize, seed: u64) -> Result<(), TestCaseError> {
            let cp = random_cp::<T>(shape, rank, seed);
            let dense = cp.to_dense().unwrap().norm().as_f64();
            // ‖X̂‖² = Σ_rs w_r w_s ∏_k (U_kᵀU_k)_rs: rounding relative to the sum of magnitudes.
            let mag: f64 = cp.weights().iter().map(|w| w.as_f64().abs()).sum::<f64>()
                * cp.factors().iter().map(|f| fro(f).powi(2)).product::<f64>().sqrt();
            let tol = 20.0 * eps::<T>() * ((shape.iter().product::<usize>() * rank) as f64).sqrt() * mag;
            prop_assert!((cp.norm().as_f64() - dense).abs() <= tol, "{shape:?} r{rank}");
            Ok(())
        }
        check::<f64>(&shape, rank, seed)?;
        check::<f32>(&shape, rank, seed)?;
    }

    #[test]
    fn plain_als_error_history_does_not_increase(shape in shape3(3, 7), rank in 1usize..=4, seed in 0u64..1000, svd in any::<bool>()) {
        fn check<T: Scalar>(shape: &[usize], rank: usize, seed: u64, svd: bool) -> Result<(), TestCaseError> {
            let init = if svd { CpInit::Svd } else { CpInit::Random };
            let x = Tensor::<T>::random_normal(shape, seed).unwrap();
            let (_, report) = CpAls::new(rank).init(init).seed(seed).tol(0.0).max_iter(30).fit(&x).unwrap();
            // Each update is an exact least-squares minimizer, so the error cannot grow; the fast
            // error formula is accurate to about eps/e for an error e of order one here.
            let floor = report.history.iter().cloned().fold(f64::INFINITY, f64::min).max(eps::<T>().sqrt());
            let tol = 100.0 * eps::<T>() * (x.numel() as f64).sqrt() / floor;
            for w in report.history.windows(2) {
                prop_assert!(w[1] <= w[0] + tol, "{shape:?} r{rank}: {:?}", report.history);
            }
            Ok(())
        }
        check::<f64>(&shape, rank, seed, svd)?;
        check::<f32>(&shape, rank, seed, svd)?;
    }

    #[test]
    fn rank_above_dimensions_works(shape in prop::collection::vec(2usize..=4, 2..=3), extra in 1usize..=4, seed in 0u64..1000, svd in any::<bool>()) {
        fn check<T: Scalar>(shape: &[usize], rank: usize, seed: u64, svd: bool) -> Result<(), TestCaseError> {
            let init = if svd { CpInit::Svd } else { CpInit::Random };
            let x = Tensor::<T>::random_normal(shape, seed).unwrap();
            let (cp, report) = CpAls::new(rank).init(init).tol(0.0).max_iter(25).fit(&x).unwrap();
            prop_assert!(finite_cp(&cp) && report.rel_error.is_finite());
            prop_assert_eq!(cp.rank(), rank);
            prop_assert!(report.rel_error <= 1.0 + 1e3 * eps::<T>(), "{report:?}");
            Ok(())
        }
        // Dimensions ≥ 2 and order ≥ 2 give numel ≥ 2·max dim, so the rank exceeds every
        // dimension and stays within the rank ≤ numel that CP-ALS accepts.
        let rank = (shape.iter().copied().max().unwrap_or(1) + extra).min(shape.iter().product());
        check::<f64>(&shape, rank, seed, svd)?;
        check::<f32>(&shape, rank, seed, svd)?;
    }

    #[test]
    fn degenerate_input_gives_finite_factors(shape in shape3(2, 6), seed in 0u64..1000, line_search in any::<bool>()) {
        fn check<T: Scalar>(shape: &[usize], seed: u64, line_search: bool) -> Result<(), TestCaseError> {
            // A rank-1 tensor fitted at rank 3: singular normal equations.
            let x = random_cp::<T>(shape, 1, seed).to_dense().unwrap();
            let (cp, report) = CpAls::new(3).line_search(line_search).max_iter(40).fit(&x).unwrap();
            prop_assert!(finite_cp(&cp) && report.rel_error.is_finite(), "{report:?}");
            prop_assert!(report.rel_error <= 1.0);
            // An all-zero slice.
            let mut y = Tensor::<T>::random_normal(shape, seed).unwrap();
            let last = shape[2];
            for (i, v) in y.as_mut_slice().iter_mut().enumerate() {
                if i % last == 0 {
                    *v = T::zero();
                }
            }
            let (cp, report) = CpAls::new(2).line_search(line_search).init(CpInit::Random).max_iter(40).fit(&y).unwrap();
            prop_assert!(finite_cp(&cp) && report.rel_error.is_finite() && report.rel_error <= 1.0);
            // The zero tensor.
            let z = Tensor::<T>::zeros(shape).unwrap();
            let (cp, report) = CpAls::new(2).line_search(line_search).fit(&z).unwrap();
            prop_assert!(finite_cp(&cp));
            prop_assert_eq!(report.rel_error, 0.0);
            Ok(())
        }
        check::<f64>(&shape, seed, line_search)?;
        check::<f32>(&shape, seed, line_search)?;
    }
}

#[test]
fn f32_and_f64_fits_agree() {
    let truth = random_cp::<f64>(&[6, 7, 8], 2, 3);
    let x64 = truth.to_dense().unwrap();
    let x32 =
        Tensor::from_vec(x64.shape(), x64.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
    let (_, r64) = CpAls::new(2).fit(&x64).unwrap();
    let (_, r32) = CpAls::new(2).fit(&x32).unwrap();
    assert!(
        r64.rel_error <= 1e-6 && r32.rel_error <= 100.0 * eps::<f32>().sqrt(),
        "{r64:?} {r32:?}"
    );
}

/// TensorLy's `cp_to_tensor((weights, factors))` on the golden fixtures (tests/fixtures).
#[test]
fn to_dense_matches_tensorly_fixture() {
    let load = |name: &str| {
        let path = format!("{}/tests/fixtures/{name}.npy", env!("CARGO_MANIFEST_DIR"));
        tensorize::io::read_npy::<f64>(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let weights = load("cp_weights").into_vec();
    let factors: Vec<Mat<f64>> = (0..3)
        .map(|k| {
            let t = load(&format!("cp_factor{k}"));
            let (rows, cols) = (t.shape()[0], t.shape()[1]);
            Mat::from_fn(rows, cols, |i, j| t.as_slice()[i * cols + j])
        })
        .collect();
    let cp = CpTensor::new(weights, factors).unwrap();
    let theirs = load("cp_dense");
    let ours = cp.to_dense().unwrap();
    assert_eq!(ours.shape(), theirs.shape());
    let tol = 64.0 * f64::EPSILON * (theirs.numel() as f64).sqrt() * theirs.norm().max(1.0);
    assert!(ours.sub(&theirs).unwrap().norm() <= tol);
    assert!((cp.norm() - theirs.norm()).abs() <= tol);
    assert!(cp.rel_error(&theirs).unwrap() <= 1e3 * f64::EPSILON);
}
