//! Bad input to CP (CP-ALS parameters, CP tensors, the fast MTTKRP) gives typed errors, never panics.

// Helpers outside #[test] fns are not covered by clippy's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use faer::Mat;
use proptest::prelude::*;
use tensorize::decomp::{cp_als, CpAls, CpInit};
use tensorize::format::CpTensor;
use tensorize::kernels::mttkrp_fast;
use tensorize::{Error, Factorized, Tensor};

fn x() -> Tensor<f64> {
    Tensor::random_normal(&[3, 4, 5], 1).unwrap()
}

#[test]
fn non_finite_input_is_refused() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut y = x();
        y.as_mut_slice()[17] = bad;
        assert!(matches!(cp_als(&y, 2), Err(Error::NonFinite { position: 17, .. })));
        let mut z = Tensor::<f32>::random_normal(&[3, 4], 1).unwrap();
        z.as_mut_slice()[0] = bad as f32;
        assert!(matches!(cp_als(&z, 2), Err(Error::NonFinite { position: 0, .. })));
    }
}

#[test]
fn bad_ranks_are_invalid_rank() {
    assert!(matches!(cp_als(&x(), 0), Err(Error::InvalidRank { .. })));
    assert!(matches!(cp_als(&x(), 61), Err(Error::InvalidRank { .. })));
    assert!(matches!(cp_als(&x(), usize::MAX), Err(Error::InvalidRank { .. })));
    let msg = cp_als(&x(), 0).unwrap_err().to_string();
    assert!(msg.contains("[3, 4, 5]") && msg.contains("[0]"), "{msg}");
}

#[test]
fn bad_parameters_are_invalid_parameter() {
    let cases: Vec<(CpAls<f64>, &str)> = vec![
        (CpAls::new(2).tol(-1e-3), "tol"),
        (CpAls::new(2).tol(f64::NAN), "tol"),
        (CpAls::new(2).tol(f64::INFINITY), "tol"),
        (CpAls::new(2).max_iter(0), "max_iter"),
        (CpAls::new(2).l2(-1.0), "l2"),
        (CpAls::new(2).l2(f64::NAN), "l2"),
    ];
    for (als, param) in cases {
        match als.fit(&x()) {
            Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, param),
            other => panic!("{param}: {other:?}"),
        }
    }
}

#[test]
fn bad_fixed_modes_and_orders() {
    assert!(matches!(
        CpAls::new(2).fixed_modes(&[3]).fit(&x()),
        Err(Error::ModeOutOfRange { mode: 3, .. })
    ));
    assert!(matches!(
        CpAls::new(2).fixed_modes(&[1, 1]).fit(&x()),
        Err(Error::InvalidModes { .. })
    ));
    let scalar = Tensor::<f64>::from_vec(&[], vec![2.0]).unwrap();
    assert!(matches!(cp_als(&scalar, 1), Err(Error::InvalidModes { .. })));
    // All modes fixed is allowed: nothing to update.
    let (cp, report) =
        CpAls::new(2).fixed_modes(&[0, 1, 2]).init(CpInit::Random).fit(&x()).unwrap();
    assert_eq!((cp.rank(), report.iterations, report.converged), (2, 0, true));
}

#[test]
fn given_init_must_match() {
    let wrong_shape =
        CpTensor::from_factors(vec![Mat::<f64>::ones(3, 2), Mat::ones(4, 2), Mat::ones(6, 2)])
            .unwrap();
    assert!(matches!(
        CpAls::new(2).init(CpInit::Given(wrong_shape)).fit(&x()),
        Err(Error::ShapeMismatch { .. })
    ));
    let wrong_rank =
        CpTensor::from_factors(vec![Mat::<f64>::ones(3, 3), Mat::ones(4, 3), Mat::ones(5, 3)])
            .unwrap();
    assert!(matches!(
        CpAls::new(2).init(CpInit::Given(wrong_rank)).fit(&x()),
        Err(Error::InvalidRank { .. })
    ));
}

#[test]
fn cp_tensor_and_kernel_errors() {
    assert!(matches!(CpTensor::<f64>::from_factors(vec![]), Err(Error::InvalidModes { .. })));
    assert!(matches!(
        CpTensor::new(vec![1.0; 2], vec![Mat::<f64>::ones(3, 2), Mat::ones(4, 3)]),
        Err(Error::ShapeMismatch { .. })
    ));
    let cp = CpTensor::from_factors(vec![Mat::<f64>::ones(3, 2), Mat::ones(4, 2), Mat::ones(5, 2)])
        .unwrap();
    assert!(matches!(
        cp.rel_error(&Tensor::zeros(&[3, 4]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    let mut nan = x();
    nan.as_mut_slice()[3] = f64::NAN;
    assert!(matches!(cp.rel_error(&nan), Err(Error::NonFinite { .. })));
    assert!(matches!(cp.inner(&nan), Err(Error::NonFinite { .. })));
    let views = cp.factor_views();
    assert!(matches!(mttkrp_fast(&x(), &views, 5), Err(Error::ModeOutOfRange { .. })));
    assert!(matches!(mttkrp_fast(&x(), &views[..1], 0), Err(Error::ShapeMismatch { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary (often nonsensical) parameters: CP-ALS answers Ok or a typed error, never panics.
    #[test]
    fn arbitrary_parameters_never_panic(
        shape in prop::collection::vec(1usize..=4, 0..=4),
        rank in 0usize..=12,
        max_iter in 0usize..=3,
        tol in prop_oneof![Just(f64::NAN), Just(-1.0), Just(0.0), 0.0f64..1.0],
        l2 in prop_oneof![Just(f64::INFINITY), Just(-0.5), Just(0.0), 0.0f64..10.0],
        fixed in prop::collection::vec(0usize..5, 0..=3),
        line_search in any::<bool>(),
        init in 0u8..3,
        seed in any::<u64>(),
    ) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let init = match init {
            0 => CpInit::Svd,
            1 => CpInit::Random,
            _ => CpInit::Given(CpTensor::from_factors(
                shape.iter().map(|&d| Mat::from_fn(d, rank.max(1), |i, r| (i + r) as f64)).collect(),
            ).unwrap_or_else(|_| CpTensor::from_factors(vec![Mat::ones(2, 1)]).unwrap())),
        };
        let als = CpAls::new(rank).max_iter(max_iter).tol(tol).l2(l2).fixed_modes(&fixed).line_search(line_search).init(init).seed(seed);
        if let Ok((cp, report)) = als.fit(&x) {
            prop_assert!(report.rel_error.is_finite());
            prop_assert!(cp.weights().iter().all(|w| w.is_finite()));
        }
    }
}
