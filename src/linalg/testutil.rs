//! Test helpers for the linalg unit tests: seeded random matrices and error measures.

use faer::Mat;

use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A seeded `m × n` matrix with standard normal entries.
pub(crate) fn randn<T: Scalar>(m: usize, n: usize, seed: u64) -> Mat<T> {
    let t = Tensor::<T>::random_normal(&[m, n], seed).unwrap();
    Mat::from_fn(m, n, |i, j| t.as_slice()[i * n + j])
}

/// A seeded `m × n` matrix of rank `r` with singular values `1, decay, decay², …`.
pub(crate) fn low_rank<T: Scalar>(m: usize, n: usize, r: usize, decay: f64, seed: u64) -> Mat<T> {
    let (q1, _) = crate::linalg::qr_thin(randn::<T>(m, r, seed).as_ref(), faer::Par::Seq).unwrap();
    let (q2, _) =
        crate::linalg::qr_thin(randn::<T>(n, r, seed + 1000).as_ref(), faer::Par::Seq).unwrap();
    Mat::from_fn(m, n, |i, j| {
        (0..r).map(|k| q1[(i, k)] * T::of(decay.powi(k as i32)) * q2[(j, k)]).sum()
    })
}

/// `‖QᵀQ − I‖_F` in f64.
pub(crate) fn orth_err<T: Scalar>(q: &Mat<T>) -> f64 {
    let k = q.ncols();
    let mut acc = 0.0;
    for a in 0..k {
        for b in 0..k {
            let d: f64 = (0..q.nrows()).map(|i| q[(i, a)].as_f64() * q[(i, b)].as_f64()).sum();
            let e = d - if a == b { 1.0 } else { 0.0 };
            acc += e * e;
        }
    }
    acc.sqrt()
}

/// `‖A − U diag(s) Vᵀ‖_F` in f64.
pub(crate) fn recon_err<T: Scalar>(a: &Mat<T>, u: &Mat<T>, s: &[T], v: &Mat<T>) -> f64 {
    let mut acc = 0.0;
    for i in 0..a.nrows() {
        for j in 0..a.ncols() {
            let x: f64 =
                (0..s.len()).map(|k| u[(i, k)].as_f64() * s[k].as_f64() * v[(j, k)].as_f64()).sum();
            let e = a[(i, j)].as_f64() - x;
            acc += e * e;
        }
    }
    acc.sqrt()
}

/// `‖A B − C‖_F` in f64.
pub(crate) fn residual<T: Scalar>(a: &Mat<T>, b: &Mat<T>, c: &Mat<T>) -> f64 {
    let mut acc = 0.0;
    for i in 0..a.nrows() {
        for j in 0..b.ncols() {
            let x: f64 = (0..a.ncols()).map(|k| a[(i, k)].as_f64() * b[(k, j)].as_f64()).sum();
            let e = x - c[(i, j)].as_f64();
            acc += e * e;
        }
    }
    acc.sqrt()
}

/// `‖A‖_F` in f64.
pub(crate) fn fro<T: Scalar>(a: &Mat<T>) -> f64 {
    crate::linalg::check::frob_norm(a.as_ref())
}

/// `T::epsilon()` as f64.
pub(crate) fn eps<T: Scalar>() -> f64 {
    T::epsilon().as_f64()
}
