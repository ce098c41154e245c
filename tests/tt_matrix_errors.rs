//! Typed errors of TT-matrices, the TT-matvec kernel and the TT layer for bad shapes, modes,
//! ranks, batches and values.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use tensorize::decomp::TtSvd;
use tensorize::format::TtMatrix;
use tensorize::kernels::TtMatvecWorkspace;
use tensorize::nn::TtLinear;
use tensorize::par::Par;
use tensorize::{Error, Tensor};

fn core(s: &[usize]) -> Tensor<f64> {
    Tensor::random_normal(s, 1).unwrap()
}

#[test]
fn constructor_rejects_bad_cores() {
    assert!(matches!(TtMatrix::<f64>::new(vec![]), Err(Error::InvalidModes { .. })));
    assert!(matches!(TtMatrix::new(vec![core(&[1, 2, 1])]), Err(Error::InvalidModes { .. })));
    let e = TtMatrix::new(vec![core(&[2, 2, 2, 1])]).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { ref ranks, .. } if ranks == &vec![2, 1]), "{e}");
    let e = TtMatrix::new(vec![core(&[1, 2, 2, 3]), core(&[2, 2, 2, 1])]).unwrap_err();
    assert!(
        matches!(e, Error::ShapeMismatch { ref left, ref right, .. } if left == &vec![1, 2, 2, 3] && right == &vec![2, 2, 2, 1]),
        "{e}"
    );
    let mut bad = core(&[1, 2, 2, 1]);
    bad.as_mut_slice()[3] = f64::NAN;
    assert!(matches!(TtMatrix::new(vec![bad]), Err(Error::NonFinite { position: 3, .. })));
    let huge = vec![core(&[1, 1, 1, 1]); 1];
    assert!(TtMatrix::new(huge).is_ok());
}

#[test]
fn from_dense_rejects_bad_modes() {
    let w = Tensor::<f64>::random_normal(&[6, 4], 1).unwrap();
    let p = TtSvd::new();
    let e = p.fit_matrix(&w, &[2, 3], &[4]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(e.to_string().contains("same length"));
    let e = p.fit_matrix(&w, &[2, 2], &[2, 2]).unwrap_err();
    assert!(e.to_string().contains("M = 6"), "{e}");
    assert!(matches!(p.fit_matrix(&w, &[6, 0], &[4, 1]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(p.fit_matrix(&w, &[], &[]), Err(Error::ShapeMismatch { .. })));
    let w3 = Tensor::<f64>::random_normal(&[6, 4, 1], 1).unwrap();
    assert!(matches!(p.fit_matrix(&w3, &[6], &[4]), Err(Error::InvalidModes { .. })));
    assert!(matches!(
        TtSvd::new().max_rank(0).fit_matrix(&w, &[2, 3], &[2, 2]),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TtSvd::new().eps(-1.0).fit_matrix(&w, &[2, 3], &[2, 2]),
        Err(Error::InvalidParameter { .. })
    ));
    let mut nan = w.clone();
    nan.as_mut_slice()[5] = f64::INFINITY;
    assert!(matches!(p.fit_matrix(&nan, &[2, 3], &[2, 2]), Err(Error::NonFinite { .. })));
}

#[test]
fn products_reject_bad_batches() {
    let w = TtMatrix::new(vec![core(&[1, 2, 3, 2]), core(&[2, 2, 2, 1])]).unwrap(); // 4 × 6
    let x = Tensor::<f64>::random_normal(&[3, 5], 1).unwrap();
    let e = w.matvec_batch(&x).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { ref right, .. } if right == &vec![3, 5]), "{e}");
    let y = Tensor::<f64>::random_normal(&[3, 6], 1).unwrap();
    assert!(matches!(w.rmatvec_batch(&y), Err(Error::ShapeMismatch { .. })));
    let v = Tensor::<f64>::random_normal(&[6], 1).unwrap();
    assert!(matches!(w.matvec_batch(&v), Err(Error::ShapeMismatch { .. })));
    let mut out = Tensor::<f64>::zeros(&[2, 4]).unwrap();
    let e = w.matvec_batch_into(&y, &mut out, &mut TtMatvecWorkspace::new(), Par::Seq).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { ref left, .. } if left == &vec![3, 4]), "{e}");
    let mut nan = y.clone();
    nan.as_mut_slice()[7] = f64::NAN;
    assert!(matches!(w.matvec_batch(&nan), Err(Error::NonFinite { position: 7, .. })));
}

#[test]
fn ops_reject_mismatched_modes() {
    let a = TtMatrix::new(vec![core(&[1, 2, 3, 2]), core(&[2, 2, 2, 1])]).unwrap(); // (2,2)×(3,2)
    let b = TtMatrix::new(vec![core(&[1, 3, 2, 1]), core(&[1, 2, 2, 1])]).unwrap(); // (3,2)×(2,2)
    assert!(matches!(a.add(&b), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(a.matmul(&a), Err(Error::ShapeMismatch { .. })));
    assert!(a.matmul(&b).is_ok());
    assert!(matches!(a.round(-1.0, None), Err(Error::InvalidParameter { .. })));
    assert!(matches!(a.round(0.1, Some(0)), Err(Error::InvalidRank { .. })));
    assert!(matches!(a.scale(f64::NAN), Err(Error::NonFinite { .. })));
    assert!(matches!(a.get(4, 0), Err(Error::IndexOutOfBounds { .. })));
    assert!(matches!(
        a.rel_error(&Tensor::zeros(&[6, 4]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn tt_linear_rejects_bad_input() {
    assert!(matches!(
        TtLinear::<f64>::glorot(&[2, 2], &[2], &[2], 1),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        TtLinear::<f64>::glorot(&[2, 2], &[2, 2], &[2, 2], 1),
        Err(Error::InvalidRank { .. })
    ));
    assert!(matches!(
        TtLinear::<f64>::glorot(&[2, 2], &[2, 2], &[0], 1),
        Err(Error::InvalidRank { .. })
    ));
    let layer = TtLinear::<f64>::glorot(&[2, 2], &[3, 2], &[2], 1).unwrap();
    let w = layer.weight().clone();
    assert!(matches!(TtLinear::new(w.clone(), vec![0.0; 3]), Err(Error::ShapeMismatch { .. })));
    assert!(matches!(TtLinear::new(w, vec![f64::NAN; 4]), Err(Error::NonFinite { .. })));
    let x = Tensor::<f64>::random_normal(&[2, 6], 1).unwrap();
    assert!(matches!(
        layer.forward(&Tensor::zeros(&[2, 5]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    let (_, cache) = layer.forward_with_cache(&x).unwrap();
    let e = layer.gradients(&cache, &Tensor::zeros(&[3, 4]).unwrap()).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let dy = Tensor::<f64>::full(&[2, 4], f64::INFINITY).unwrap();
    assert!(matches!(layer.gradients(&cache, &dy), Err(Error::NonFinite { .. })));
    let wd = Tensor::<f64>::random_normal(&[4, 6], 1).unwrap();
    assert!(matches!(
        TtLinear::from_dense(&wd, &[0.0; 3], &[2, 2], &[3, 2], &TtSvd::new()),
        Err(Error::ShapeMismatch { .. })
    ));
}
