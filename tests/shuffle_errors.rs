//! Bad shapes and budgets for the random-shuffle embedding give typed errors.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::decomp::tt_svd;
use tensorize::tensorization::{compare_shuffled, RstdFormat, Shuffle, ShuffleKind, Shuffled};
use tensorize::{Budget, Error, Tensor};

#[test]
fn shape_errors() {
    assert!(matches!(Shuffle::whole(&[3, 0], 1), Err(Error::ZeroDimension { .. })));
    assert!(matches!(Shuffle::within_modes(&[usize::MAX, 4], 1), Err(Error::SizeOverflow { .. })));
    let s = Shuffle::whole(&[2, 3], 1).unwrap();
    let x = Tensor::<f64>::zeros(&[3, 2]).unwrap();
    let e = s.apply(&x).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("[2, 3]") && e.to_string().contains("[3, 2]"), "{e}");
    assert!(matches!(s.invert(&x), Err(Error::ShapeMismatch { .. })));
    let (tt, _) = tt_svd(&x, 0.0).unwrap();
    assert!(matches!(Shuffled::new(tt, s), Err(Error::ShapeMismatch { .. })));
}

#[test]
fn budget_errors() {
    let x = Tensor::<f64>::random_normal(&[3, 4, 5], 1).unwrap();
    let bad = [0.0, 0.5, -1.0, f64::NAN, f64::INFINITY].map(Budget::CompressBy);
    for b in bad.into_iter().chain([Budget::KeepFraction(1.5), Budget::Flops(100)]) {
        let e = compare_shuffled(&x, b, RstdFormat::Tt, ShuffleKind::Whole, 1).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { name: "budget", .. }), "{e}");
    }
    // Rank 1 needs 3 + 4 + 5 = 12 parameters.
    let e = compare_shuffled(&x, Budget::Params(11), RstdFormat::Tr, ShuffleKind::Whole, 1)
        .unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    assert!(e.to_string().contains("11") && e.to_string().contains("12"), "{e}");
    assert!(compare_shuffled(&x, Budget::Params(12), RstdFormat::Tr, ShuffleKind::Whole, 1).is_ok());
}
