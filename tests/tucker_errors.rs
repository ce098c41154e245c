#![allow(clippy::unwrap_used)]
//! Bad ranks, modes, parameters and non-finite input give typed errors (never panics) in every
//! Tucker entry point.

use faer::Mat;
use tensorize::decomp::{hooi, hosvd, partial_tucker, st_hosvd, tucker2, Hooi, Hosvd, PartialHooi};
use tensorize::format::{PartialTucker, TuckerTensor};
use tensorize::{Error, Factorized, Tensor};

fn x() -> Tensor<f64> {
    Tensor::random_normal(&[4, 5, 6], 0).unwrap()
}

#[test]
fn bad_ranks_are_invalid_rank_errors_naming_ranks_and_shape() {
    let x = x();
    for ranks in [vec![2, 2], vec![2, 2, 2, 2], vec![0, 2, 2], vec![2, 6, 2], vec![5, 5, 6]] {
        for result in [
            hosvd(&x, &ranks).map(|_| ()),
            st_hosvd(&x, &ranks).map(|_| ()),
            hooi(&x, &ranks).map(|_| ()),
            Hosvd::with_error(0.1).max_ranks(&ranks).fit(&x).map(|_| ()),
        ] {
            let err = result.unwrap_err();
            assert!(matches!(err, Error::InvalidRank { .. }), "{ranks:?}: {err}");
            let msg = err.to_string();
            assert!(msg.contains("[4, 5, 6]") && msg.contains(&format!("{ranks:?}")), "{msg}");
        }
    }
    let err = partial_tucker(&x, &[0, 2], &[2]).unwrap_err();
    assert!(matches!(err, Error::InvalidRank { .. }), "{err}");
    let err = partial_tucker(&x, &[0, 2], &[2, 7]).unwrap_err();
    assert!(matches!(err, Error::InvalidRank { .. }), "{err}");
    let err = tucker2(&x, 5, 1).unwrap_err();
    assert!(matches!(err, Error::InvalidRank { .. }), "{err}");
    let err = tucker2(&x, 1, 0).unwrap_err();
    assert!(matches!(err, Error::InvalidRank { .. }), "{err}");
}

#[test]
fn bad_modes_are_invalid_modes_errors() {
    let x = x();
    for modes in [vec![], vec![3], vec![1, 0], vec![1, 1], vec![0, 1, 2, 3]] {
        let ranks = vec![1; modes.len()];
        let err = partial_tucker(&x, &modes, &ranks).unwrap_err();
        assert!(matches!(err, Error::InvalidModes { .. }), "{modes:?}: {err}");
    }
    let vector = Tensor::<f32>::ones(&[5]).unwrap();
    assert!(matches!(tucker2(&vector, 1, 1).unwrap_err(), Error::InvalidModes { .. }));
    // A fixed factor on a mode that is not decomposed.
    let err = PartialHooi::new(&[0], &[2]).fixed(2, Mat::identity(6, 2)).fit(&x).unwrap_err();
    assert!(matches!(err, Error::InvalidModes { .. }), "{err}");
    let err = Hooi::new(&[2, 2, 2]).fixed(3, Mat::identity(6, 2)).fit(&x).unwrap_err();
    assert!(matches!(err, Error::InvalidModes { .. }), "{err}");
}

#[test]
fn bad_eps_and_tol_are_invalid_parameter_errors() {
    let x = x();
    for eps in [-1e-3, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for seq in [false, true] {
            let err = Hosvd::with_error(eps).sequential(seq).fit(&x).unwrap_err();
            assert!(matches!(err, Error::InvalidParameter { name: "eps", .. }), "{err}");
        }
    }
    for tol in [-1.0, f64::NAN, f64::INFINITY] {
        let err = Hooi::new(&[2, 2, 2]).tol(tol).fit(&x).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { name: "tol", .. }), "{err}");
        let err = PartialHooi::new(&[0, 1], &[2, 2]).tol(tol).fit(&x).unwrap_err();
        assert!(matches!(err, Error::InvalidParameter { name: "tol", .. }), "{err}");
    }
}

#[test]
fn non_finite_input_is_rejected_everywhere() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut y = x();
        y.set(&[1, 2, 3], bad).unwrap();
        let results = [
            hosvd(&y, &[2, 2, 2]).map(|_| ()),
            st_hosvd(&y, &[2, 2, 2]).map(|_| ()),
            Hosvd::with_error(0.1).fit(&y).map(|_| ()),
            hooi(&y, &[2, 2, 2]).map(|_| ()),
            partial_tucker(&y, &[1], &[2]).map(|_| ()),
            tucker2(&y, 2, 2).map(|_| ()),
        ];
        for r in results {
            assert!(matches!(r.unwrap_err(), Error::NonFinite { position: 45, .. }));
        }
        let mut f = Mat::<f64>::identity(5, 2);
        f[(0, 1)] = bad;
        let err = Hooi::new(&[2, 2, 2]).fixed(1, f).fit(&x()).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    }
    // f32 too.
    let mut y = Tensor::<f32>::ones(&[3, 3]).unwrap();
    y.set(&[0, 1], f32::NAN).unwrap();
    assert!(matches!(hosvd(&y, &[1, 1]).unwrap_err(), Error::NonFinite { position: 1, .. }));
}

#[test]
fn fixed_factors_of_the_wrong_shape_or_not_orthonormal() {
    let x = x();
    let err = Hooi::new(&[2, 2, 2]).fixed(1, Mat::identity(4, 2)).fit(&x).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err = Hooi::new(&[2, 2, 2]).fixed(1, Mat::identity(5, 3)).fit(&x).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err = Hooi::new(&[2, 2, 2]).fixed(1, Mat::ones(5, 2)).fit(&x).unwrap_err();
    assert!(matches!(err, Error::InvalidParameter { name: "fixed factor", .. }), "{err}");
}

#[test]
fn format_constructors_and_rel_error_validate() {
    let core = Tensor::<f64>::ones(&[2, 3]).unwrap();
    let err = TuckerTensor::new(core.clone(), vec![Mat::identity(4, 2)]).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err = TuckerTensor::new(core.clone(), vec![Mat::identity(4, 2), Mat::identity(4, 2)])
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let err =
        TuckerTensor::new(core.clone(), vec![Mat::identity(4, 2), Mat::zeros(0, 3)]).unwrap_err();
    assert!(matches!(err, Error::ZeroDimension { .. }), "{err}");
    let err = PartialTucker::new(core.clone(), vec![Mat::identity(4, 3)], vec![1, 1]).unwrap_err();
    assert!(matches!(err, Error::InvalidModes { .. }), "{err}");
    let err = PartialTucker::new(core.clone(), vec![Mat::identity(4, 2)], vec![1]).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let t =
        TuckerTensor::new(core.clone(), vec![Mat::identity(4, 2), Mat::identity(3, 3)]).unwrap();
    let err = t.rel_error(&Tensor::zeros(&[4, 4]).unwrap()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
    let p = PartialTucker::new(core, vec![Mat::identity(5, 3)], vec![1]).unwrap();
    let err = p.rel_error(&Tensor::zeros(&[2, 3]).unwrap()).unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
}

#[test]
fn degenerate_but_valid_inputs_do_not_panic() {
    // Zero tensor, dimension-1 modes, an order-1 tensor, an order-0 tensor.
    let z = Tensor::<f64>::zeros(&[3, 1, 2]).unwrap();
    let (t, rep) = hosvd(&z, &[1, 1, 1]).unwrap();
    assert_eq!(rep.rel_error, 0.0);
    assert_eq!(t.norm(), 0.0);
    let (_, rep) = Hosvd::with_error(0.0).sequential(true).fit(&z).unwrap();
    assert_eq!(rep.rel_error, 0.0);
    let (_, rep) = hooi(&z, &[2, 1, 1]).unwrap();
    assert_eq!(rep.rel_error, 0.0);
    let v = Tensor::<f32>::random_normal(&[4], 1).unwrap();
    let (t, rep) = hooi(&v, &[1]).unwrap();
    assert_eq!(t.ranks(), vec![1]);
    assert!(rep.rel_error <= 1e-5);
    let s = Tensor::<f64>::from_vec(&[], vec![2.5]).unwrap();
    let (t, rep) = st_hosvd(&s, &[]).unwrap();
    assert_eq!(t.to_dense().unwrap(), s);
    assert_eq!(rep.rel_error, 0.0);
}
