//! The inputs and measures shared by the edge-case tests (tests/decomp_edge_cases.rs for the
//! decompositions, tests/rank_edge_cases.rs for the rank rules and compression): the special
//! tensors, scaling to the ends of the range, a planted NaN or infinity, an error measured so
//! that 1e±300 neither overflows nor underflows, and the tolerance it is held to.

// Each test that includes this file uses part of it.
#![allow(dead_code)]

use tensorize::{Scalar, Tensor};

/// `‖x − y‖ / ‖x‖` (`‖x − y‖` for `x = 0`) in f64 with both scaled by the largest magnitude, so
/// that 1e±300 neither overflows nor underflows.
pub fn rel_error<T: Scalar>(x: &Tensor<T>, y: &Tensor<T>) -> f64 {
    let pairs = || x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| (a.as_f64(), b.as_f64()));
    let s = pairs().fold(0.0f64, |m, (a, b)| m.max(a.abs()).max(b.abs()));
    if s == 0.0 {
        return 0.0;
    }
    let (mut diff, mut norm) = (0.0, 0.0);
    for (a, b) in pairs() {
        diff += (a / s - b / s).powi(2);
        norm += (a / s).powi(2);
    }
    if norm > 0.0 {
        (diff / norm).sqrt()
    } else {
        diff.sqrt() * s
    }
}

/// The library's cancellation floor `8·sqrt(eps·sqrt(n))` plus the rounding of a
/// reconstruction whose error is `rec`, relative to its size.
pub fn tolerance<T: Scalar>(n: usize, rec: f64) -> f64 {
    let eps = T::epsilon().as_f64();
    8.0 * (eps * (n as f64).sqrt()).sqrt() + 1e3 * eps * (1.0 + rec)
}

/// A tensor of `shape` from a seed: values in [-1, 1).
pub fn random<T: Scalar>(shape: &[usize], seed: u64) -> Tensor<T> {
    Tensor::random_uniform(shape, T::of(-1.0), T::of(1.0), seed).unwrap()
}

/// `x` with every entry multiplied by `c` (in f64, then rounded to `T`).
pub fn scaled<T: Scalar>(x: &Tensor<T>, c: f64) -> Tensor<T> {
    let data = x.as_slice().iter().map(|&v| T::of(v.as_f64() * c)).collect();
    Tensor::from_vec(x.shape(), data).unwrap()
}

/// `x` with entry `k` (row-major) set to `bad`.
pub fn with_entry<T: Scalar>(x: &Tensor<T>, k: usize, bad: f64) -> Tensor<T> {
    let mut data = x.as_slice().to_vec();
    data[k] = T::of(bad);
    Tensor::from_vec(x.shape(), data).unwrap()
}

/// The special tensors of `shape`, named: zero, a constant, a rank-one outer product of positive
/// vectors, and a "diagonal" tensor of ones (duplicate singular values in every unfolding).
pub fn special<T: Scalar>(shape: &[usize]) -> Vec<(&'static str, Tensor<T>)> {
    let outer = Tensor::from_fn(shape, |i| T::of(i.iter().map(|&k| 1.0 + k as f64).product()));
    let diag =
        Tensor::from_fn(shape, |i| T::of(if i.iter().all(|&k| k == i[0]) { 1.0 } else { 0.0 }));
    vec![
        ("zero", Tensor::zeros(shape).unwrap()),
        ("constant", Tensor::from_fn(shape, |_| T::of(0.75)).unwrap()),
        ("rank one", outer.unwrap()),
        ("diagonal", diag.unwrap()),
    ]
}
