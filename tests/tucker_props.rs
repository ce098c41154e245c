#![allow(clippy::unwrap_used)]
//! Properties of the Tucker decompositions (HOSVD, ST-HOSVD, HOOI, partial Tucker) in f32 and f64.

use faer::Mat;
use proptest::prelude::*;
use tensorize::decomp::{hosvd, st_hosvd, Hooi, Hosvd, PartialHooi};
use tensorize::format::TuckerTensor;
use tensorize::{Factorized, Scalar, Tensor};

/// A shape of order 2–4 with dimensions 1–6, ranks `1 ≤ r_k ≤ I_k`, and a seed.
fn shape_ranks_seed() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64)> {
    prop::collection::vec(1usize..=6, 2..=4).prop_flat_map(|shape| {
        let ranks: Vec<_> = shape.iter().map(|&n| 1usize..=n).collect();
        (Just(shape), ranks, any::<u64>())
    })
}

fn cast<T: Scalar>(x: &Tensor<f64>) -> Tensor<T> {
    Tensor::from_vec(x.shape(), x.as_slice().iter().map(|&v| T::of(v)).collect()).unwrap()
}

fn eps<T: Scalar>() -> f64 {
    T::epsilon().as_f64()
}

/// `c · eps · sqrt(numel)`.
fn tol<T: Scalar>(c: f64, numel: usize) -> f64 {
    c * eps::<T>() * (numel as f64).sqrt()
}

/// Accuracy of an error computed by `‖X‖² − 2⟨·,·⟩ + ‖X̂‖²` above the cancellation threshold
/// (`rel ≥ eps^{1/4}`): `c · eps^{3/4} · sqrt(numel)`.
fn formula_tol<T: Scalar>(c: f64, numel: usize) -> f64 {
    c * eps::<T>().powf(0.75) * (numel as f64).sqrt()
}

fn max_orthonormality_defect<T: Scalar>(u: &Mat<T>) -> f64 {
    let mut worst = 0.0_f64;
    for i in 0..u.ncols() {
        for j in 0..u.ncols() {
            let g: f64 = (0..u.nrows()).map(|k| u[(k, i)].as_f64() * u[(k, j)].as_f64()).sum();
            worst = worst.max((g - if i == j { 1.0 } else { 0.0 }).abs());
        }
    }
    worst
}

fn explicit_rel_error<T: Scalar>(x: &Tensor<T>, t: &impl Factorized<T>) -> f64 {
    let d = t.to_dense().unwrap();
    let diff: f64 = x
        .as_slice()
        .iter()
        .zip(d.as_slice())
        .map(|(&a, &b)| (a.as_f64() - b.as_f64()).powi(2))
        .sum();
    let nx: f64 = x.as_slice().iter().map(|&a| a.as_f64().powi(2)).sum();
    (diff / nx).sqrt()
}

fn check_full_rank<T: Scalar>(x: &Tensor<T>) -> Result<(), TestCaseError> {
    let n = x.numel();
    for seq in [false, true] {
        let (t, rep) = Hosvd::new(x.shape()).sequential(seq).fit(x).unwrap();
        let bound = tol::<T>(64.0, n);
        prop_assert!(rep.rel_error <= bound, "seq {} report {} > {}", seq, rep.rel_error, bound);
        prop_assert!(explicit_rel_error(x, &t) <= bound);
        prop_assert!(t.rel_error(x).unwrap().as_f64() <= bound);
        let (nx, ng) = (x.norm().as_f64(), t.core().norm().as_f64());
        prop_assert!((nx - ng).abs() <= bound * nx, "‖X‖ {} vs ‖G‖ {}", nx, ng);
    }
    Ok(())
}

fn check_truncated<T: Scalar>(x: &Tensor<T>, ranks: &[usize]) -> Result<(), TestCaseError> {
    let n = x.numel();
    for seq in [false, true] {
        let (t, rep) = Hosvd::new(ranks).sequential(seq).fit(x).unwrap();
        prop_assert_eq!(t.ranks(), ranks.to_vec());
        for u in t.factors() {
            let defect = max_orthonormality_defect(u);
            prop_assert!(defect <= tol::<T>(64.0, u.nrows()), "defect {}", defect);
        }
        // ‖X̂‖ = ‖G‖ for orthonormal factors.
        let dense = t.to_dense().unwrap();
        let (nh, ng) = (dense.norm().as_f64(), t.core().norm().as_f64());
        prop_assert!((nh - ng).abs() <= tol::<T>(64.0, n) * x.norm().as_f64());
        prop_assert!((t.norm().as_f64() - ng).abs() <= tol::<T>(64.0, n) * x.norm().as_f64());
        // The error without densifying equals the explicit one.
        let explicit = explicit_rel_error(x, &t);
        let cheap = t.rel_error(x).unwrap().as_f64();
        let band = formula_tol::<T>(16.0, n);
        prop_assert!((cheap - explicit).abs() <= band, "cheap {} explicit {}", cheap, explicit);
        prop_assert!(
            (rep.rel_error - explicit).abs() <= band,
            "report {} explicit {}",
            rep.rel_error,
            explicit
        );
    }
    Ok(())
}

fn check_error_bound<T: Scalar>(x: &Tensor<T>, target: f64) -> Result<(), TestCaseError> {
    for seq in [false, true] {
        let (t, rep) = Hosvd::with_error(target).sequential(seq).fit(x).unwrap();
        prop_assert!(
            rep.rel_error <= target,
            "seq {} achieved {} > {}",
            seq,
            rep.rel_error,
            target
        );
        let explicit = explicit_rel_error(x, &t);
        prop_assert!(
            explicit <= target + tol::<T>(16.0, x.numel()),
            "explicit {} > {}",
            explicit,
            target
        );
    }
    Ok(())
}

fn check_hooi_not_worse<T: Scalar>(x: &Tensor<T>, ranks: &[usize]) -> Result<(), TestCaseError> {
    let (_, start) = hosvd(x, ranks).unwrap();
    let (t, rep) = Hooi::new(ranks).max_iter(20).tol(0.0).fit(x).unwrap();
    let band = formula_tol::<T>(16.0, x.numel());
    prop_assert!(
        rep.rel_error <= start.rel_error + band,
        "hooi {} > hosvd {}",
        rep.rel_error,
        start.rel_error
    );
    prop_assert!((explicit_rel_error(x, &t) - rep.rel_error).abs() <= band);
    for u in t.factors() {
        prop_assert!(max_orthonormality_defect(u) <= tol::<T>(64.0, u.nrows()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn full_rank_hosvd_and_st_hosvd_reconstruct_exactly((shape, _r, seed) in shape_ranks_seed()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        check_full_rank(&x)?;
        check_full_rank(&cast::<f32>(&x))?;
    }

    #[test]
    fn truncated_hosvd_orthonormal_norms_and_cheap_error((shape, ranks, seed) in shape_ranks_seed()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        check_truncated(&x, &ranks)?;
        check_truncated(&cast::<f32>(&x), &ranks)?;
    }

    #[test]
    fn error_target_is_met((shape, _r, seed) in shape_ranks_seed(), target in 0.02f64..0.95) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        check_error_bound(&x, target)?;
        check_error_bound(&cast::<f32>(&x), target)?;
    }

    #[test]
    fn hooi_never_ends_worse_than_its_hosvd_start((shape, ranks, seed) in shape_ranks_seed()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        check_hooi_not_worse(&x, &ranks)?;
        check_hooi_not_worse(&cast::<f32>(&x), &ranks)?;
    }

    #[test]
    fn f32_agrees_with_f64((shape, ranks, seed) in shape_ranks_seed()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let x32 = cast::<f32>(&x);
        // The captured energy is stationary in the subspaces, so squared errors agree to
        // O(eps_f32) even where singular values are close.
        let band = tol::<f32>(256.0, x.numel());
        let (_, a) = st_hosvd(&x, &ranks).unwrap();
        let (_, b) = st_hosvd(&x32, &ranks).unwrap();
        prop_assert!((a.rel_error.powi(2) - b.rel_error.powi(2)).abs() <= band, "{} vs {}", a.rel_error, b.rel_error);
        let (_, a) = hosvd(&x, &ranks).unwrap();
        let (_, b) = hosvd(&x32, &ranks).unwrap();
        prop_assert!((a.rel_error.powi(2) - b.rel_error.powi(2)).abs() <= band, "{} vs {}", a.rel_error, b.rel_error);
        // Full rank: both reconstruct, so the reconstructions agree to f32 precision.
        let (t64, _) = hosvd(&x, &shape).unwrap();
        let (t32, _) = hosvd(&x32, &shape).unwrap();
        let (d64, d32) = (t64.to_dense().unwrap(), t32.to_dense().unwrap());
        let diff: f64 = d64.as_slice().iter().zip(d32.as_slice()).map(|(&a, &b)| (a - b as f64).powi(2)).sum();
        prop_assert!(diff.sqrt() <= tol::<f32>(64.0, x.numel()) * x.norm());
    }

    #[test]
    fn partial_tucker_on_channel_modes(
        dims in prop::collection::vec(1usize..=5, 4),
        r0 in 1usize..=5,
        r1 in 1usize..=5,
        seed in any::<u64>(),
    ) {
        let (r0, r1) = (r0.min(dims[0]), r1.min(dims[1]));
        let x = Tensor::<f64>::random_normal(&dims, seed).unwrap();
        let (p, rep) = PartialHooi::new(&[0, 1], &[r0, r1]).max_iter(10).fit(&x).unwrap();
        prop_assert_eq!(p.core().shape(), &[r0, r1, dims[2], dims[3]][..]);
        prop_assert_eq!(p.modes(), &[0, 1][..]);
        prop_assert_eq!((p.factors()[0].nrows(), p.factors()[0].ncols()), (dims[0], r0));
        prop_assert_eq!((p.factors()[1].nrows(), p.factors()[1].ncols()), (dims[1], r1));
        prop_assert_eq!(p.shape(), dims.clone());
        let band = formula_tol::<f64>(16.0, x.numel());
        prop_assert!((explicit_rel_error(&x, &p) - rep.rel_error).abs() <= band);
        // Full rank on the chosen modes reconstructs exactly, in both precisions.
        let (p, rep) = tensorize::decomp::tucker2(&x, dims[0], dims[1]).unwrap();
        prop_assert!(rep.rel_error <= tol::<f64>(64.0, x.numel()));
        prop_assert!(explicit_rel_error(&x, &p) <= tol::<f64>(64.0, x.numel()));
        let x32 = cast::<f32>(&x);
        let (p, rep) = tensorize::decomp::tucker2(&x32, dims[0], dims[1]).unwrap();
        prop_assert!(rep.rel_error <= tol::<f32>(64.0, x.numel()));
        prop_assert!(explicit_rel_error(&x32, &p) <= tol::<f32>(64.0, x.numel()));
    }

    #[test]
    fn tucker_tensor_cheap_error_matches_explicit_for_other_tensors((shape, ranks, seed) in shape_ranks_seed()) {
        // A Tucker tensor against an unrelated dense tensor: no cancellation.
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let (t, _) = hosvd(&x, &ranks).unwrap();
        let y = Tensor::<f64>::random_normal(&shape, seed.wrapping_add(1)).unwrap();
        let band = formula_tol::<f64>(16.0, x.numel());
        prop_assert!((t.rel_error(&y).unwrap() - explicit_rel_error(&y, &t)).abs() <= band);
        let (core, factors) = t.into_parts();
        let scaled: Vec<Mat<f64>> = factors.iter().map(|u| u * faer::Scale(2.0)).collect();
        let t2 = TuckerTensor::new(core, scaled).unwrap();
        let dense = t2.to_dense().unwrap();
        prop_assert!((t2.norm() - dense.norm()).abs() <= tol::<f64>(64.0, x.numel()) * dense.norm());
    }
}
