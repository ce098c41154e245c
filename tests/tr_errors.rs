//! Bad TR cores, parameters, ranks and non-finite input give typed errors, never panics.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::decomp::{tr_svd, FirstRank, TrSvd};
use tensorize::format::TrTensor;
use tensorize::{Error, Factorized, Tensor};

fn zeros(shape: &[usize]) -> Tensor<f64> {
    Tensor::zeros(shape).unwrap()
}

#[test]
fn bad_cores() {
    assert!(matches!(TrTensor::<f64>::new(vec![]), Err(Error::InvalidModes { .. })));
    let e = TrTensor::new(vec![zeros(&[1, 2, 1, 1])]).unwrap_err();
    assert!(matches!(e, Error::InvalidModes { .. }));
    assert!(e.to_string().contains("[1, 2, 1, 1]"), "{e}");
    // Ring closure: r_d = 3 against r_0 = 2, both named.
    let e = TrTensor::new(vec![zeros(&[2, 3, 4]), zeros(&[4, 3, 3])]).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { ref ranks, .. } if ranks == &vec![2, 3]), "{e}");
    assert!(e.to_string().contains("r_d = 3") && e.to_string().contains("r_0 = 2"), "{e}");
    let e = TrTensor::new(vec![zeros(&[2, 3, 1])]).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    // Inner bond mismatch.
    let e = TrTensor::new(vec![zeros(&[2, 3, 2]), zeros(&[4, 3, 2])]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    assert!(e.to_string().contains("[2, 3, 2]") && e.to_string().contains("[4, 3, 2]"), "{e}");
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut c = zeros(&[2, 3, 2]);
        c.as_mut_slice()[4] = bad;
        let e = TrTensor::new(vec![zeros(&[2, 2, 2]), c]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { position: 4, .. }), "{e}");
    }
    let e = TrTensor::new(vec![zeros(&[2, 1 << 20, 2]); 4]).unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }));
}

#[test]
fn bad_access_and_shapes() {
    let tr = TrTensor::new(vec![zeros(&[2, 3, 1]), zeros(&[1, 4, 2])]).unwrap();
    assert!(matches!(tr.get(&[3, 0]), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(tr.get(&[0, 0, 0]), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(tr.get(&[0]), Err(Error::IndexOutOfBounds { .. })));
    let e = tr.inner_dense(&zeros(&[4, 3])).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = tr.rel_error(&zeros(&[3, 4, 1])).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
}

#[test]
fn bad_parameters_and_ranks() {
    let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1).unwrap();
    for eps in [-1.0, -1e-300, f64::NAN, f64::INFINITY] {
        let e = tr_svd(&x, eps).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "eps", .. }), "{e}");
    }
    let e = TrSvd::new().max_rank(0).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = TrSvd::new().first_rank(0).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    // r_0 = 3 > min(n_1, rest) = 2.
    let e = TrSvd::new().first_rank(3).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { ref ranks, .. } if ranks == &vec![3]), "{e}");
    assert!(e.to_string().contains("r_0 = 3"), "{e}");
    // r_0 = 2 above the cap 1.
    let e = TrSvd::new().first_rank(FirstRank::Fixed(2)).max_rank(1).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    assert!(TrSvd::new().first_rank(2).generic_ranks(&[2, 3, 4]).is_ok());
    assert!(TrSvd::new().generic_ranks(&[]).is_err());
    assert!(TrSvd::new().generic_ranks(&[2, 0]).is_err());
}

#[test]
fn non_finite_input() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut x = Tensor::<f32>::random_normal(&[3, 3, 3], 1).unwrap();
        x.as_mut_slice()[13] = bad;
        let e = tr_svd(&x, 0.1).unwrap_err();
        assert!(matches!(e, Error::NonFinite { position: 13, .. }), "{e}");
        let e = TrSvd::new().max_rank(2).fit(&x).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }));
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    let z = Tensor::<f64>::zeros(&[1, 3, 1, 2]).unwrap();
    let (t, rep) = TrSvd::new().eps(0.5).max_rank(usize::MAX).fit(&z).unwrap();
    assert_eq!(t.ranks(), vec![1, 1, 1, 1, 1]);
    assert_eq!(rep.rel_error, 0.0);
    assert_eq!(t.norm(), 0.0);
    assert_eq!(t.rel_error(&z).unwrap(), 0.0);
    let v = Tensor::<f64>::random_normal(&[5], 1).unwrap();
    let (t, _) = TrSvd::new().first_rank(1).fit(&v).unwrap();
    assert_eq!(t.to_dense().unwrap(), v);
    for s in [1e-30_f32, 1e30] {
        let x = Tensor::<f32>::random_normal(&[4, 2, 4], 5).unwrap().scale(s);
        let (t, rep) = tr_svd(&x, 0.0).unwrap();
        assert!(rep.rel_error <= 1e-5);
        assert!(t.rel_error(&x).unwrap() <= 1e-5, "{s}");
    }
    let big = Tensor::<f64>::full(&[2, 2, 2], 1e300).unwrap();
    let (t, _) = tr_svd(&big, 1e-3).unwrap();
    assert!(t.rel_error(&big).unwrap() <= 1e-3);
}
