//! Property tests for `Tensor`: reshape and permutation round trips, agreement of permute,
//! slice and select with `get`, elementwise arithmetic against loops, norms vs inner products,
//! and norms of huge and tiny elements. Each property runs in f32 and f64.

// Test helpers panic on failure by design.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use tensorize::{Scalar, Tensor};

/// A shape of order 1..=4 with dimensions 1..=5, plus a seed.
fn shape_and_seed() -> impl Strategy<Value = (Vec<usize>, u64)> {
    (prop::collection::vec(1usize..=5, 1..=4), any::<u64>())
}

/// A shape, a seed and a permutation of its modes.
fn shape_and_perm() -> impl Strategy<Value = (Vec<usize>, u64, Vec<usize>)> {
    shape_and_seed().prop_flat_map(|(shape, seed)| {
        let n = shape.len();
        (Just(shape), Just(seed), Just((0..n).collect::<Vec<_>>()).prop_shuffle())
    })
}

fn all_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &d in shape {
        out = out
            .into_iter()
            .flat_map(|p| (0..d).map(move |i| [p.clone(), vec![i]].concat()))
            .collect();
    }
    out
}

fn reshape_round_trip<T: Scalar>(shape: &[usize], seed: u64) {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let n = x.numel();
    let flat = x.clone().reshape(&[n]).unwrap();
    assert_eq!(flat.as_slice(), x.as_slice());
    let back = flat.reshape(shape).unwrap();
    assert_eq!(back, x);
    // Any factorization of n works too, e.g. [1, n, 1].
    let padded = x.clone().reshape(&[1, n, 1]).unwrap();
    assert_eq!(padded.reshape(shape).unwrap(), x);
}

fn permute_props<T: Scalar>(shape: &[usize], seed: u64, perm: &[usize]) {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let y = x.permute_modes(perm).unwrap();
    let expected: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    assert_eq!(y.shape(), &expected[..]);
    // y[i] = x[j] with j[perm[k]] = i[k].
    for idx in all_indices(y.shape()) {
        let mut src = vec![0; shape.len()];
        for (k, &p) in perm.iter().enumerate() {
            src[p] = idx[k];
        }
        assert_eq!(y.get(&idx).unwrap(), x.get(&src).unwrap());
    }
    // Inverse permutation restores x.
    let mut inv = vec![0; perm.len()];
    for (k, &p) in perm.iter().enumerate() {
        inv[p] = k;
    }
    assert_eq!(y.permute_modes(&inv).unwrap(), x);
}

fn slice_select_props<T: Scalar>(shape: &[usize], seed: u64, mode_pick: usize, a: usize, b: usize) {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let mode = mode_pick % shape.len();
    let d = shape[mode];
    let (lo, hi) = {
        let (p, q) = (a % d, b % d);
        (p.min(q), p.max(q) + 1)
    };
    let s = x.slice(mode, lo..hi).unwrap();
    assert_eq!(s.shape()[mode], hi - lo);
    for idx in all_indices(s.shape()) {
        let mut src = idx.clone();
        src[mode] += lo;
        assert_eq!(s.get(&idx).unwrap(), x.get(&src).unwrap());
    }
    let at = a % d;
    let sel = x.select(mode, at).unwrap();
    assert_eq!(sel.ndim(), shape.len() - 1);
    for idx in all_indices(sel.shape()) {
        let mut src = idx.clone();
        src.insert(mode, at);
        assert_eq!(sel.get(&idx).unwrap(), x.get(&src).unwrap());
    }
}

fn arith_props<T: Scalar>(shape: &[usize], seed: u64, alpha: f64) {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let y = Tensor::<T>::random_normal(shape, seed.wrapping_add(1)).unwrap();
    let alpha = T::of(alpha);
    let add = x.add(&y).unwrap();
    let sub = x.sub(&y).unwrap();
    let had = x.hadamard(&y).unwrap();
    let mut axpy = x.clone();
    axpy.axpy(alpha, &y).unwrap();
    let scaled = x.scale(alpha);
    for idx in all_indices(shape) {
        let (a, b) = (x.get(&idx).unwrap(), y.get(&idx).unwrap());
        assert_eq!(add.get(&idx).unwrap(), a + b);
        assert_eq!(sub.get(&idx).unwrap(), a - b);
        assert_eq!(had.get(&idx).unwrap(), a * b);
        assert_eq!(axpy.get(&idx).unwrap(), a + alpha * b);
        assert_eq!(scaled.get(&idx).unwrap(), alpha * a);
    }
    // ‖X‖² = ⟨X, X⟩ and ⟨X, Y⟩ against a loop, within c·eps·n.
    let n = x.numel() as f64;
    let tol = 4.0 * T::epsilon().as_f64() * n;
    let nn = x.norm().as_f64();
    let ip = x.inner(&x).unwrap().as_f64();
    assert!((nn * nn - ip).abs() <= tol * ip.max(f64::MIN_POSITIVE));
    let ip_xy = x.inner(&y).unwrap().as_f64();
    let loop_xy: f64 =
        x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| a.as_f64() * b.as_f64()).sum();
    let scale: f64 =
        x.as_slice().iter().zip(y.as_slice()).map(|(a, b)| (a.as_f64() * b.as_f64()).abs()).sum();
    assert!((ip_xy - loop_xy).abs() <= tol * scale.max(f64::MIN_POSITIVE));
}

fn norm_extremes<T: Scalar>(shape: &[usize], seed: u64, exponent: f64) {
    // Elements of magnitude ~10^exponent (e.g. 1e30 in f32 overflows x², 1e-30 underflows it).
    let base = Tensor::<T>::random_uniform(shape, T::of(1.0), T::of(2.0), seed).unwrap();
    let s = T::of(10f64.powf(exponent));
    let x = base.map(|v| v * s);
    // Reference in f64, scaled so that it neither overflows nor underflows either.
    let sf = s.as_f64();
    let want: f64 = sf * x.as_slice().iter().map(|v| (v.as_f64() / sf).powi(2)).sum::<f64>().sqrt();
    let got = x.norm().as_f64();
    assert!(got.is_finite());
    let tol = 4.0 * T::epsilon().as_f64() * (x.numel() as f64).sqrt();
    assert!((got - want).abs() <= tol * want, "norm {got} vs {want}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn reshape_round_trips((shape, seed) in shape_and_seed()) {
        reshape_round_trip::<f64>(&shape, seed);
        reshape_round_trip::<f32>(&shape, seed);
    }

    #[test]
    fn permute_agrees_and_inverts((shape, seed, perm) in shape_and_perm()) {
        permute_props::<f64>(&shape, seed, &perm);
        permute_props::<f32>(&shape, seed, &perm);
    }

    #[test]
    fn slice_and_select_agree_with_get((shape, seed) in shape_and_seed(), mode in 0usize..8,
                                       a in 0usize..8, b in 0usize..8) {
        slice_select_props::<f64>(&shape, seed, mode, a, b);
        slice_select_props::<f32>(&shape, seed, mode, a, b);
    }

    #[test]
    fn arithmetic_agrees_with_loops((shape, seed) in shape_and_seed(), alpha in -3.0f64..3.0) {
        arith_props::<f64>(&shape, seed, alpha);
        arith_props::<f32>(&shape, seed, alpha);
    }

    #[test]
    fn norm_of_huge_elements((shape, seed) in shape_and_seed(), e in 25.0f64..37.0) {
        norm_extremes::<f32>(&shape, seed, e);
        norm_extremes::<f64>(&shape, seed, e * 8.0);
    }

    #[test]
    fn norm_of_tiny_elements((shape, seed) in shape_and_seed(), e in -36.0f64..-20.0) {
        norm_extremes::<f32>(&shape, seed, e);
        norm_extremes::<f64>(&shape, seed, e * 8.0);
    }
}
