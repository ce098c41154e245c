//! Helpers for the differential unit tests of the tensor-algebra functions.

use crate::scalar::Scalar;

/// The row-major multi-index of linear position `p` in `shape`.
pub(crate) fn multi_index(mut p: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = p % shape[k];
        p /= shape[k];
    }
    idx
}

/// The row-major linear position of `idx` in `shape`.
pub(crate) fn linear(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

/// Asserts `‖got − want‖ ≤ c·eps·sqrt(n)·(‖want‖ + 1)`.
pub(crate) fn assert_close<T: Scalar>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let diff: f64 = got.iter().zip(want).map(|(a, b)| (a.as_f64() - b.as_f64()).powi(2)).sum();
    let norm: f64 = want.iter().map(|b| b.as_f64().powi(2)).sum::<f64>().sqrt();
    let tol = 64.0 * T::epsilon().as_f64() * (got.len() as f64).sqrt() * (norm + 1.0);
    assert!(diff.sqrt() <= tol, "{what}: error {} > tol {tol}", diff.sqrt());
}
