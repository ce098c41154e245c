//! The reference MTTKRP (`tenalg::mttkrp`) and the fast kernel (`kernels::mttkrp_fast`) reject
//! the same bad input with the same error variant; a rank of 0 is `InvalidRank`, as in the
//! decompositions (`CpAls::new(0)`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::Mat;
use std::mem::discriminant;
use tensorize::decomp::CpAls;
use tensorize::kernels::mttkrp_fast;
use tensorize::{tenalg, Error, Scalar, Tensor};

/// Factors for `shape`, `cols[k]` columns each.
fn factors<T: Scalar>(shape: &[usize], cols: &[usize]) -> Vec<Mat<T>> {
    shape.iter().zip(cols).map(|(&d, &c)| Mat::from_fn(d, c, |i, j| T::of_usize(i + j))).collect()
}

/// Both MTTKRPs on the same input: they must fail, with the same variant; returns that error.
fn both_fail<T: Scalar>(x: &Tensor<T>, fs: &[Mat<T>], mode: usize) -> Error {
    let views: Vec<_> = fs.iter().map(|m| m.as_ref()).collect();
    let reference = tenalg::mttkrp(x, &views, mode).expect_err("reference accepted bad input");
    let fast = mttkrp_fast(x, &views, mode).expect_err("fast kernel accepted bad input");
    assert_eq!(discriminant(&reference), discriminant(&fast), "{reference:?} vs {fast:?}");
    reference
}

fn rank_zero_is_invalid_rank_in_both<T: Scalar>() {
    let shape = [3, 4, 5];
    let x = Tensor::<T>::random_normal(&shape, 1).unwrap();
    for mode in 0..3 {
        // Every factor without columns, and only the factor of `mode` without columns.
        let mut only = [2; 3];
        only[mode] = 0;
        for cols in [[0; 3], only] {
            let err = both_fail(&x, &factors(&shape, &cols), mode);
            assert!(
                matches!(&err, Error::InvalidRank { ranks, .. } if ranks == &[0]),
                "{} mode {mode} cols {cols:?}: {err:?}",
                T::NAME
            );
        }
    }
    // The decompositions agree.
    assert!(matches!(CpAls::new(0).fit(&x), Err(Error::InvalidRank { .. })));
}

#[test]
fn rank_zero_is_invalid_rank_in_both_paths() {
    rank_zero_is_invalid_rank_in_both::<f32>();
    rank_zero_is_invalid_rank_in_both::<f64>();
}

#[test]
fn other_bad_arguments_give_the_same_variant_in_both_paths() {
    let shape = [3, 4, 5];
    let x = Tensor::<f64>::random_normal(&shape, 2).unwrap();
    let good = factors::<f64>(&shape, &[2; 3]);
    assert!(matches!(both_fail(&x, &good, 3), Error::ModeOutOfRange { mode: 3, .. }));
    assert!(matches!(both_fail(&x, &good[..2], 0), Error::ShapeMismatch { .. }));
    // A factor of another mode with too few columns, or the wrong number of rows.
    assert!(matches!(both_fail(&x, &factors(&shape, &[2, 0, 2]), 0), Error::ShapeMismatch { .. }));
    let wrong_rows = factors::<f64>(&[3, 5, 5], &[2; 3]);
    assert!(matches!(both_fail(&x, &wrong_rows, 0), Error::ShapeMismatch { .. }));
}
