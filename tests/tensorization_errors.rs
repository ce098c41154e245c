#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Typed errors of tensorization: impossible factorizations, bad budgets, ranks and shapes.

use tensorize::rank::tspc;
use tensorize::tensorization::{
    check_factors, compress, factorize_balanced, factorize_round_robin, matrix_modes, plan,
    plan_ranks, spectrum_error, weight_from_tensorized, Compress, Method, WeightShape,
};
use tensorize::{Budget, Error, Tensor};

#[test]
fn impossible_factorizations() {
    assert!(matches!(factorize_balanced(13, 2), Err(Error::InvalidParameter { name: "d", .. })));
    assert!(matches!(factorize_round_robin(8, 4), Err(Error::InvalidParameter { name: "d", .. })));
    assert!(matches!(factorize_balanced(0, 2), Err(Error::InvalidParameter { name: "n", .. })));
    assert!(matches!(factorize_round_robin(8, 0), Err(Error::InvalidParameter { name: "d", .. })));
    assert!(tensorize::tensorization::deal_round_robin(8, usize::MAX).is_err());
    assert!(tensorize::tensorization::deal_balanced(8, 65).is_err());
    assert!(tensorize::tensorization::deal_balanced(8, 64).is_ok());
    assert!(matches!(matrix_modes(7, 64, 2, false), Err(Error::InvalidParameter { .. })));
    assert!(matches!(check_factors(12, &[2, 3]), Err(Error::InvalidParameter { .. })));
    assert!(check_factors(12, &[]).is_err());
    assert!(check_factors(12, &[0, 12]).is_err());
    assert!(check_factors(usize::MAX, &[usize::MAX, 2]).is_err());
    let msg = factorize_balanced(13, 2).unwrap_err().to_string();
    assert!(msg.contains("13"), "{msg}");
}

#[test]
fn bad_budgets() {
    let w = WeightShape::Conv { out: 8, input: 8, kh: 3, kw: 3 };
    let (nan, inf) = (f64::NAN, f64::INFINITY);
    for (fraction, factor) in [(0.0, 0.0), (-1.0, -1.0), (1.01, 0.99), (nan, nan), (inf, inf)] {
        for budget in [Budget::KeepFraction(fraction), Budget::CompressBy(factor)] {
            for method in Method::all(2) {
                let e = plan(&w, method, budget);
                assert!(matches!(e, Err(Error::InvalidParameter { name: "budget", .. })), "{e:?}");
            }
        }
        let e = tspc::tt_rank(fraction, 8, 8, 3, 3);
        assert!(matches!(e, Err(Error::InvalidParameter { name: "fraction", .. })), "{e:?}");
    }
    // Nothing to keep, or a cost the plan cannot see.
    for budget in [Budget::Params(0), Budget::Flops(1000)] {
        let e = plan(&w, Method::Svd, budget);
        assert!(matches!(e, Err(Error::InvalidParameter { name: "budget", .. })), "{e:?}");
        let e = Compress::new(Method::Svd).budget(budget).plan(&w);
        assert!(matches!(e, Err(Error::InvalidParameter { name: "budget", .. })), "{e:?}");
    }
}

#[test]
fn bad_shapes() {
    assert!(matches!(WeightShape::from_dims(&[3, 4, 5]), Err(Error::InvalidModes { .. })));
    assert!(matches!(WeightShape::from_dims(&[3, 0]), Err(Error::ZeroDimension { .. })));
    assert!(matches!(
        WeightShape::from_dims(&[usize::MAX, 3, 3, 3]),
        Err(Error::SizeOverflow { .. })
    ));
    let w = Tensor::<f64>::random_normal(&[2, 3, 4], 0).unwrap();
    let half = Budget::KeepFraction(0.5);
    assert!(matches!(compress(&w, Method::Svd, half), Err(Error::InvalidModes { .. })));
    let w = WeightShape::Linear { out: 4, input: 4 };
    assert!(matches!(
        plan(&w, Method::RCp { factors: 0 }, half),
        Err(Error::InvalidParameter { name: "d", .. })
    ));
    assert!(plan(&w, Method::RTt { factors: usize::MAX }, half).is_err());
    // A tensor that is not the method's tensorization of the weight.
    let conv = WeightShape::Conv { out: 8, input: 4, kh: 3, kw: 3 };
    let wrong = Tensor::<f64>::zeros(&[8, 4, 9]).unwrap();
    assert!(matches!(
        weight_from_tensorized(&conv, Method::Tt, wrong),
        Err(Error::ShapeMismatch { op: "weight_from_tensorized", .. })
    ));
    let right = Tensor::<f64>::zeros(&[8, 4, 9]).unwrap();
    assert_eq!(weight_from_tensorized(&conv, Method::Cp, right).unwrap().shape(), &[8, 4, 3, 3]);
    let any = Tensor::<f64>::zeros(&[4, 4]).unwrap();
    assert!(weight_from_tensorized(&w, Method::RCp { factors: 0 }, any).is_err());
}

#[test]
fn bad_ranks() {
    let w = WeightShape::Conv { out: 8, input: 4, kh: 3, kw: 3 };
    assert!(matches!(plan_ranks(&w, Method::Cp, &[]), Err(Error::InvalidRank { .. })));
    assert!(matches!(plan_ranks(&w, Method::Tt, &[0]), Err(Error::InvalidRank { .. })));
    assert!(matches!(plan_ranks(&w, Method::Tucker2, &[9, 4]), Err(Error::InvalidRank { .. })));
    assert!(matches!(plan_ranks(&w, Method::Tucker2, &[2, 2, 2]), Err(Error::InvalidRank { .. })));
    assert!(matches!(plan_ranks(&w, Method::Cp, &[10_000]), Err(Error::InvalidRank { .. })));
    // Uniform ranks are clipped instead.
    assert_eq!(plan_ranks(&w, Method::Tucker2, &[100]).unwrap().ranks, vec![8, 4]);
}

#[test]
fn non_finite_weights_and_mismatched_spectra() {
    let mut w = Tensor::<f32>::random_normal(&[4, 4, 3, 3], 0).unwrap();
    w.set(&[1, 2, 0, 1], f32::NAN).unwrap();
    for method in Method::all(2) {
        let e = compress(&w, method, Budget::KeepFraction(0.5));
        assert!(matches!(e, Err(Error::NonFinite { .. })));
    }
    let a = Tensor::<f64>::random_normal(&[4, 6], 0).unwrap();
    let b = Tensor::<f64>::random_normal(&[6, 4], 0).unwrap();
    assert!(matches!(spectrum_error(&a, &b, None), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(spectrum_error(&a, &a, Some(0)), Err(Error::InvalidRank { .. })));
    let c = Compress::new(Method::Svd).ranks(&[0]);
    assert!(matches!(c.fit(&a), Err(Error::InvalidRank { .. })));
}
