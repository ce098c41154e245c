//! Unit tests of TT-SVD: exactness, the ε bound, orthonormal cores, rank caps, parameter errors.

use super::*;
use crate::format::Factorized;

fn smooth<T: Scalar>(shape: &[usize]) -> Tensor<T> {
    Tensor::from_fn(shape, |i| T::of(1.0 / (1.0 + i.iter().sum::<usize>() as f64))).unwrap()
}

fn exact<T: Scalar>() {
    let x = Tensor::<T>::random_normal(&[3, 4, 2, 5], 1).unwrap();
    let (tt, rep) = tt_svd(&x, 0.0).unwrap();
    assert_eq!(tt.ranks(), vec![1, 3, 10, 5, 1]);
    let err = tt.to_dense().unwrap().sub(&x).unwrap().norm() / x.norm();
    let tol = T::of(32.0) * T::epsilon() * T::of_usize(x.numel()).sqrt();
    assert!(err <= tol, "{err} > {tol}");
    assert!(rep.rel_error <= tol.as_f64());
}

#[test]
fn full_rank_reconstructs() {
    exact::<f32>();
    exact::<f64>();
}

fn eps_bound<T: Scalar>(eps: f64) {
    let x = smooth::<T>(&[4, 4, 4, 4, 4]);
    let (tt, rep) = TtSvd::new().eps(eps).fit(&x).unwrap();
    let err = tt.to_dense().unwrap().sub(&x).unwrap().norm().as_f64() / x.norm().as_f64();
    let slack = 64.0 * T::epsilon().as_f64() * (x.numel() as f64).sqrt();
    assert!(err <= eps + slack, "eps {eps}: error {err}");
    assert!(rep.rel_error <= eps);
    assert!((rep.rel_error - err).abs() <= 0.05 * err + 10.0 * T::epsilon().as_f64().sqrt());
    assert!(tt.max_rank() < 16, "smooth tensors have small TT ranks: {:?}", tt.ranks());
}

#[test]
fn eps_bound_holds() {
    for eps in [1e-1, 1e-2, 1e-3] {
        eps_bound::<f32>(eps);
    }
    for eps in [1e-1, 1e-4, 1e-7, 1e-10] {
        eps_bound::<f64>(eps);
    }
}

#[test]
fn caps_bind() {
    let x = Tensor::<f64>::random_normal(&[3, 4, 5, 2], 2).unwrap();
    let (tt, rep) = TtSvd::new().max_ranks(&[2, 7, 1]).fit(&x).unwrap();
    assert_eq!(tt.ranks(), vec![1, 2, 7, 1, 1]);
    let (tt2, _) = TtSvd::new().max_ranks(&[2, 7, 1]).max_rank(3).fit(&x).unwrap();
    assert_eq!(tt2.ranks(), vec![1, 2, 3, 1, 1]);
    let err = tt.rel_error(&x).unwrap();
    assert!((err - rep.rel_error).abs() <= 1e-10);
    let (_, r) = tt_svd_rank(&x, 1).unwrap();
    assert!(r.rel_error > 0.5);
}

#[test]
fn zero_and_order_one() {
    let z = Tensor::<f64>::zeros(&[2, 3, 4]).unwrap();
    let (tt, rep) = tt_svd(&z, 0.1).unwrap();
    assert_eq!(tt.ranks(), vec![1, 1, 1, 1]);
    assert_eq!(rep.rel_error, 0.0);
    assert_eq!(tt.to_dense().unwrap(), z);
    let v = Tensor::<f32>::random_normal(&[7], 1).unwrap();
    let (tt, _) = tt_svd(&v, 0.5).unwrap();
    assert_eq!(tt.to_dense().unwrap(), v);
}

#[test]
fn parameters_are_checked() {
    let x = Tensor::<f64>::random_normal(&[2, 3, 4], 1).unwrap();
    let bad_eps = |e| matches!(tt_svd(&x, e), Err(Error::InvalidParameter { name: "eps", .. }));
    assert!(bad_eps(-1e-3) && bad_eps(f64::NAN) && bad_eps(f64::INFINITY));
    assert!(matches!(tt_svd_rank(&x, 0), Err(Error::InvalidRank { .. })));
    let e = TtSvd::new().max_ranks(&[2]).fit(&x).unwrap_err();
    assert!(matches!(e, Error::InvalidRank { .. }), "{e}");
    assert!(matches!(TtSvd::new().max_ranks(&[2, 0]).fit(&x), Err(Error::InvalidRank { .. })));
    let mut y = x.clone();
    y.as_mut_slice()[5] = f64::NAN;
    assert!(matches!(tt_svd(&y, 0.1), Err(Error::NonFinite { position: 5, .. })));
    let s = Tensor::<f64>::from_vec(&[], vec![1.0]).unwrap();
    assert!(matches!(tt_svd(&s, 0.1), Err(Error::InvalidModes { .. })));
}
