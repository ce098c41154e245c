//! Bad TT cores, parameters, ranks and non-finite input give typed errors, never panics.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::decomp::{tt_svd, tt_svd_rank, TtSvd};
use tensorize::format::{tt, TtTensor};
use tensorize::{Error, Factorized, Tensor};

fn zeros(shape: &[usize]) -> Tensor<f64> {
    Tensor::zeros(shape).unwrap()
}

#[test]
fn bad_cores() {
    assert!(matches!(TtTensor::<f64>::new(vec![]), Err(Error::InvalidModes { .. })));
    let e = TtTensor::new(vec![zeros(&[1, 2, 1, 1])]).unwrap_err();
    assert!(matches!(e, Error::InvalidModes { .. }));
    assert!(e.to_string().contains("[1, 2, 1, 1]"), "{e}");
    let e = TtTensor::new(vec![zeros(&[2, 3, 1])]).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = TtTensor::new(vec![zeros(&[1, 3, 2]), zeros(&[2, 3, 3])]).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    let e = TtTensor::new(vec![zeros(&[1, 3, 2]), zeros(&[4, 3, 1])]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    assert!(e.to_string().contains("[1, 3, 2]") && e.to_string().contains("[4, 3, 1]"), "{e}");
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut c = zeros(&[2, 3, 1]);
        c.as_mut_slice()[4] = bad;
        let e = TtTensor::new(vec![zeros(&[1, 2, 2]), c]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { position: 4, .. }), "{e}");
    }
    let e = TtTensor::new(vec![zeros(&[1, 1 << 20, 1]); 4]).unwrap_err();
    assert!(matches!(e, Error::SizeOverflow { .. }));
}

#[test]
fn bad_parameters_and_ranks() {
    let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1).unwrap();
    for eps in [-1.0, -1e-300, f64::NAN, f64::INFINITY] {
        let e = tt_svd(&x, eps).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "eps", .. }), "{e}");
    }
    assert!(matches!(tt_svd_rank(&x, 0), Err(Error::InvalidRank { .. })));
    let e = TtSvd::new().max_ranks(&[1, 2, 3]).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }));
    assert!(e.to_string().contains("[1, 2, 3]"), "{e}");
    assert!(matches!(TtSvd::new().max_ranks(&[0, 2]).fit(&x), Err(Error::InvalidRank { .. })));
    assert!(matches!(TtSvd::new().max_ranks(&[]).fit(&x), Err(Error::InvalidRank { .. })));
    let scalar = Tensor::<f32>::from_vec(&[], vec![2.0]).unwrap();
    assert!(matches!(tt_svd(&scalar, 0.0), Err(Error::InvalidModes { .. })));

    let (a, _) = tt_svd(&x, 0.0).unwrap();
    assert!(matches!(a.round(-0.1, None), Err(Error::InvalidParameter { .. })));
    assert!(matches!(a.round(f64::NAN, Some(2)), Err(Error::InvalidParameter { .. })));
    assert!(matches!(a.round(0.1, Some(0)), Err(Error::InvalidRank { .. })));
    assert!(matches!(a.scale(f64::NAN), Err(Error::NonFinite { .. })));
    assert!(matches!(a.get(&[1, 2]), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(a.get(&[1, 3, 0]), Err(Error::IndexOutOfBounds { .. })));
    let e = a.rel_error(&zeros(&[2, 3, 5])).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    let (b, _) = tt_svd(&Tensor::<f64>::random_normal(&[2, 4, 3], 2).unwrap(), 0.0).unwrap();
    assert!(matches!(tt::dot(&a, &b), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tt::add(&a, &b), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(tt::hadamard(&a, &b), Err(Error::ShapeMismatch { .. })));
    let (c, _) = tt_svd(&Tensor::<f64>::random_normal(&[2, 3], 2).unwrap(), 0.0).unwrap();
    assert!(matches!(tt::dot(&a, &c), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn non_finite_input() {
    for bad in [f32::NAN, f32::INFINITY] {
        let mut x = Tensor::<f32>::random_normal(&[3, 3, 3], 1).unwrap();
        x.as_mut_slice()[13] = bad;
        let e = tt_svd(&x, 0.1).unwrap_err();
        assert!(matches!(e, Error::NonFinite { position: 13, .. }), "{e}");
        let e = TtSvd::new().max_rank(2).fit(&x).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }));
    }
}

#[test]
fn degenerate_inputs_do_not_panic() {
    // All-zero tensor, single-element modes, order 1, huge caps.
    let z = Tensor::<f64>::zeros(&[1, 3, 1, 2]).unwrap();
    let (t, rep) = TtSvd::new().eps(0.5).max_rank(usize::MAX).fit(&z).unwrap();
    assert_eq!(t.ranks(), vec![1, 1, 1, 1, 1]);
    assert_eq!(rep.rel_error, 0.0);
    assert_eq!(t.norm(), 0.0);
    assert_eq!(t.rel_error(&z).unwrap(), 0.0);
    let (r, _) = t.round(0.1, Some(1)).unwrap();
    assert_eq!(r.to_dense().unwrap(), z);
    let tiny = Tensor::<f64>::full(&[2, 2, 2], 1e-300).unwrap();
    let (t, _) = tt_svd(&tiny, 1e-3).unwrap();
    assert!(t.rel_error(&tiny).unwrap() <= 1e-3);
    for v in [1e-30_f32, 1e30] {
        let x = Tensor::<f32>::random_normal(&[3, 2, 4], 5).unwrap().scale(v);
        let (t, rep) = tt_svd(&x, 0.0).unwrap();
        assert!(rep.rel_error <= 1e-5);
        assert!(t.rel_error(&x).unwrap() <= 1e-5, "{v}");
        let (r, _) = t.round(1e-3, None).unwrap();
        assert!(r.rel_error(&x).unwrap() <= 1e-3, "{v}");
    }
    let big = Tensor::<f64>::full(&[2, 2, 2], 1e300).unwrap();
    let (t, _) = tt_svd(&big, 1e-3).unwrap();
    assert!(t.rel_error(&big).unwrap() <= 1e-3);
}

/// A train whose terms cancel (`a + b − a` with `a` 1e60 times `b`): orthogonalization would
/// round `a`'s parts to eps of their size, far beyond `b`, so rounding refuses with
/// `IllConditioned` and says what to do instead, rather than report noise as its error.
#[test]
fn rounding_refuses_cancelling_cores() {
    let train = |seed: u64, scale: f64| {
        let cores = (0..3)
            .map(|k| {
                let (r0, r1) = (if k == 0 { 1 } else { 2 }, if k == 2 { 1 } else { 2 });
                Tensor::<f64>::random_normal(&[r0, 3, r1], seed + k).unwrap().scale(scale)
            })
            .collect();
        TtTensor::new(cores).unwrap()
    };
    let (a, b) = (train(1, 1e20), train(10, 1.0));
    let x = tt::add(&tt::add(&a, &b).unwrap(), &a.scale(-1.0).unwrap()).unwrap();
    let e = x.round(1e-6, None).unwrap_err();
    let Error::IllConditioned { op, growth, .. } = &e else { panic!("{e}") };
    assert_eq!(*op, "TtTensor::round");
    assert!(*growth > 1e8, "{e}");
    assert!(e.to_string().contains("tt_svd"), "{e}");
    // The TT-matrix form goes through the same rounding.
    let m = tensorize::format::TtMatrix::from_tt_tensor(x, &[3, 1, 3], &[1, 3, 1]).unwrap();
    assert!(matches!(m.round(1e-6, None), Err(Error::IllConditioned { .. })));
}

/// Random-sign trains are not cancelling trains: their partial products outgrow the tensor by
/// about sqrt(r) per bond in the cheap bound, which sends them to the exact check, where they
/// pass. f32, d = 10, ranks up to 16 (the case that made a coarser check refuse ordinary trains).
#[test]
fn ordinary_long_trains_round_in_f32() {
    let shape = [2usize; 10];
    let bonds = [1, 2, 4, 8, 16, 16, 16, 8, 4, 2, 1];
    let cores = (0..10)
        .map(|k| Tensor::<f32>::random_normal(&[bonds[k], 2, bonds[k + 1]], 40 + k as u64).unwrap())
        .collect();
    let x = TtTensor::new(cores).unwrap();
    let (y, report) = x.round(1e-3, None).unwrap();
    let dense = x.to_dense().unwrap();
    let true_error = y.to_dense().unwrap().sub(&dense).unwrap().norm() / dense.norm();
    assert!(report.rel_error <= 1e-3 && true_error <= 2e-3, "{report:?}, {true_error}");
    assert_eq!(y.shape(), shape.to_vec());
}
