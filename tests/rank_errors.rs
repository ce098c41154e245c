#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Bad input to the rank rules gives typed errors naming the values, never a panic.

use faer::Mat;
use tensorize::rank::*;
use tensorize::{Budget, Error, Tensor};

#[test]
fn evbmf_errors() {
    let e = evbmf_from_spectrum(&[3.0, 2.0], 3, 4).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = evbmf_from_spectrum(&[2.0, 3.0, 1.0], 3, 4).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "singular_values", .. }), "{e}");
    let e = evbmf_from_spectrum(&[3.0, 2.0, -1.0], 3, 4).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    let e = evbmf_from_spectrum(&[f64::NAN, 2.0, 1.0], 3, 4).unwrap_err();
    assert!(matches!(e, Error::NonFinite { position: 0, .. }), "{e}");
    let e = evbmf_from_spectrum::<f64>(&[], 0, 4).unwrap_err();
    assert!(matches!(e, Error::ZeroDimension { .. }), "{e}");
    for bad in [0.0, -1.0, f64::INFINITY, f64::NAN] {
        let e = evbmf_from_spectrum_known_noise(&[3.0, 2.0, 1.0], 3, 4, bad).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "sigma2", .. }), "{e}");
    }
    let mut y = Mat::<f32>::zeros(3, 4);
    y[(1, 2)] = f32::INFINITY;
    assert!(matches!(evbmf(y.as_ref()).unwrap_err(), Error::NonFinite { position: 6, .. }));
    // The zero matrix is not an error: rank 0.
    let z = evbmf(Mat::<f64>::zeros(3, 4).as_ref()).unwrap();
    assert_eq!((z.rank, z.sigma2), (0, 0.0));
    // A 1 × n matrix: the bracket collapses; no panic.
    let one = evbmf(Mat::<f64>::from_fn(1, 5, |_, j| j as f64).as_ref()).unwrap();
    assert_eq!(one.rank, 0);
}

#[test]
fn weakened_rank_errors() {
    for f in [-0.1, 1.1, f64::NAN] {
        let e = weakened_rank(10, 3, f, 2).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "factor", .. }), "{e}");
    }
    assert!(matches!(weakened_rank(10, 11, 0.5, 2).unwrap_err(), Error::InvalidRank { .. }));
    assert!(matches!(weakened_rank(0, 0, 0.5, 2).unwrap_err(), Error::InvalidRank { .. }));
    assert_eq!(weakened_rank(8, 3, 0.8, 8).unwrap(), 8); // R ≤ min_rank: keep R
    assert_eq!(weakened_rank(10, 4, 0.5, 0).unwrap(), 7); // ⌊10 − 3⌋
    assert_eq!(weakened_rank(10, 4, 1.0, 0).unwrap(), 4);
    assert_eq!(weakened_rank(10, 4, 0.0, 0).unwrap(), 10);
}

#[test]
fn allocation_errors() {
    let ok = LayerSpectrum::new("a", vec![2.0, 1.0], 3, 6);
    let e = allocate(&[], Budget::Params(10)).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "layers", .. }), "{e}");
    // The minimal ranks cost 3 + 3 = 6 > 5: the message names both numbers.
    let e = allocate(&[ok.clone(), ok.clone()], Budget::Params(5)).unwrap_err();
    assert!(e.to_string().contains("cost 6") && e.to_string().contains("budget 5"), "{e}");
    let e = allocate(std::slice::from_ref(&ok), Budget::Flops(100)).unwrap_err();
    assert!(e.to_string().contains("flops_per_rank"), "{e}");
    for b in [
        Budget::CompressBy(0.0),
        Budget::CompressBy(0.5), // would allow twice the dense parameters
        Budget::CompressBy(f64::NAN),
        Budget::CompressBy(f64::INFINITY),
        Budget::KeepFraction(0.0),
        Budget::KeepFraction(2.0),
    ] {
        let e = allocate(std::slice::from_ref(&ok), b).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
    }
    let bad = [
        LayerSpectrum::new("x", vec![], 3, 6),
        LayerSpectrum::new("x", vec![1.0, 2.0], 3, 6),
        LayerSpectrum::new("x", vec![2.0, f64::NAN], 3, 6),
        LayerSpectrum::new("x", vec![2.0, 1.0], 0, 6),
        ok.clone().weight(-1.0),
        ok.clone().min_rank(3),
        ok.clone().max_rank(3),
        ok.clone().flops_per_rank(0),
    ];
    for l in bad {
        assert!(allocate(&[ok.clone(), l.clone()], Budget::Params(100)).is_err(), "{l:?}");
    }
    let e = LayerSpectrum::from_conv_kernel("c", &Tensor::<f64>::zeros(&[2, 3, 3]).unwrap())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidModes { .. }), "{e}");
    // Relative budgets: dense 6 / factor 2 = 6 · 0.5 = 3 parameters, exactly the minimum.
    for b in [Budget::CompressBy(2.0), Budget::KeepFraction(0.5)] {
        let a = allocate(std::slice::from_ref(&ok), b).unwrap();
        assert_eq!((a.ranks.clone(), a.budget, a.params), (vec![1], 3, 3));
    }
}

#[test]
fn budget_errors() {
    assert!(matches!(
        cp_rank_for_budget(&[], Budget::Params(10)).unwrap_err(),
        Error::InvalidModes { .. }
    ));
    assert!(matches!(
        cp_rank_for_budget(&[3, 0], Budget::Params(10)).unwrap_err(),
        Error::ZeroDimension { .. }
    ));
    let e = cp_rank_for_budget(&[3, 4], Budget::Params(7)).unwrap_err();
    assert!(e.to_string().contains("need 8") && e.to_string().contains("budget 7"), "{e}");
    assert!(matches!(
        cp_rank_for_budget(&[usize::MAX, 2], Budget::Params(7)).unwrap_err(),
        Error::SizeOverflow { .. }
    ));
    for b in [Budget::CompressBy(0.0), Budget::KeepFraction(1.5), Budget::Flops(100)] {
        let e = cp_rank_for_budget(&[3, 4], b).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
    }
    let spectra = vec![vec![2.0, 1.0]; 2];
    let e = tucker_ranks_for_budget(&spectra[..1], &[2, 2], Budget::Params(100)).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = tucker_ranks_for_budget(&spectra, &[2, 2], Budget::Params(4)).unwrap_err();
    assert!(e.to_string().contains("need 5"), "{e}");
    let e =
        tucker_ranks_for_budget(&[vec![1.0, 2.0], vec![2.0, 1.0]], &[2, 2], Budget::Params(100))
            .unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { .. }), "{e}");
    let e = tucker_ranks_for_budget(
        &[vec![f64::NAN, 2.0], vec![2.0, 1.0]],
        &[2, 2],
        Budget::Params(100),
    )
    .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    let e = tt_ranks_for_budget(&spectra, &[2, 2], Budget::Params(100)).unwrap_err(); // needs d − 1 = 1 spectrum
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = tt_ranks_for_budget(&spectra[..1], &[2, 2], Budget::CompressBy(f64::NAN)).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
    let e = tucker_ranks_for_budget(&spectra, &[2, 2], Budget::KeepFraction(-1.0)).unwrap_err();
    assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
    // A relative budget of the 4 entries: compressing by 1 keeps 4, less than the 5 needed.
    let e = tucker_ranks_for_budget(&spectra, &[2, 2], Budget::CompressBy(1.0)).unwrap_err();
    assert!(e.to_string().contains("need 5") && e.to_string().contains("budget 4"), "{e}");
    let mut x = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    x.set(&[1, 1], f64::NAN).unwrap();
    assert!(matches!(
        tucker_for_budget(&x, Budget::Params(100)).unwrap_err(),
        Error::NonFinite { .. }
    ));
    assert!(matches!(tt_for_budget(&x, Budget::Params(100)).unwrap_err(), Error::NonFinite { .. }));
}

#[test]
fn by_error_errors() {
    for eps in [-1.0, f64::NAN] {
        assert!(matches!(
            svd_rank_for_error(&[1.0], eps).unwrap_err(),
            Error::InvalidParameter { .. }
        ));
    }
    assert!(svd_rank_for_error::<f64>(&[], 0.1).is_err());
    assert!(svd_rank_for_error(&[1.0, 2.0], 0.1).is_err());
    assert!(matches!(svd_rank_for_error(&[f32::NAN], 0.1).unwrap_err(), Error::NonFinite { .. }));
    assert!(matches!(
        matrix_rank_for_error(Mat::<f64>::zeros(0, 3).as_ref(), 0.1).unwrap_err(),
        Error::ZeroDimension { .. }
    ));
    let x = Tensor::<f64>::random_normal(&[3, 3, 3], 1).unwrap();
    assert!(matches!(cp_rank_for_error(&x, 0.1, 0).unwrap_err(), Error::InvalidRank { .. }));
    assert!(matches!(cp_rank_for_error(&x, -0.1, 3).unwrap_err(), Error::InvalidParameter { .. }));
}

#[test]
fn huge_and_tiny_values_do_not_overflow() {
    // Squares of 1e200 overflow f64: the rules work on scaled values.
    let s = [1e200, 5e199, 1e190, 1e189];
    let a = allocate(&[LayerSpectrum::new("big", s.to_vec(), 2, 8)], Budget::Params(4)).unwrap();
    assert_eq!(a.ranks, vec![2]);
    assert!(a.total_error.is_finite() && a.total_error < 1e-18);
    let budget = Budget::Params(1 + 8 + 3 + 8);
    let r = tucker_ranks_for_budget(&[s.to_vec(), s.to_vec()], &[4, 4], budget).unwrap();
    assert!(r.iter().all(|&x| x >= 1) && r.contains(&2), "{r:?}");
    let small = evbmf_from_spectrum(&[3.0f64, 2.0, 1.0, 0.5], 4, 10).unwrap();
    // Fourth powers of 1e150 overflow; σ² ~ 1e300 itself still fits.
    let big = evbmf_from_spectrum(&[3e150f64, 2e150, 1e150, 0.5e150], 4, 10).unwrap();
    assert_eq!(small.rank, big.rank);
    assert!((big.sigma2 / 1e300 - small.sigma2).abs() <= 1e-6 * small.sigma2);
    assert!((big.threshold / 1e150 - small.threshold).abs() <= 1e-6 * small.threshold);
    for (b, s) in big.shrunk.iter().zip(&small.shrunk) {
        assert!((b / 1e150 - s).abs() <= 1e-6 * s);
    }
}

#[test]
fn allocate_for_error_errors() {
    let l = LayerSpectrum::new("a", vec![2.0, 1.0, 0.5], 3, 9).max_rank(2);
    for bad in [-0.1, f64::NAN] {
        let e = allocate_for_error(std::slice::from_ref(&l), bad).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "max_total_error", .. }), "{e}");
    }
    // max_rank 2 leaves 0.25 / 5.25 ≈ 0.0476 of the energy: a target of 0.01 is unreachable.
    let e = allocate_for_error(std::slice::from_ref(&l), 0.01).unwrap_err();
    assert!(e.to_string().contains("0.047"), "{e}");
    assert!(allocate_for_error(&[], 0.5).is_err());
    let ok = allocate_for_error(std::slice::from_ref(&l), 0.05).unwrap();
    assert_eq!(ok.ranks, vec![2]);
}
