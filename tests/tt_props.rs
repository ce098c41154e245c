//! Properties of the tensor-train format and TT-SVD on random small tensors (orders 1–5,
//! dimensions 1–5), in f32 and f64, with tolerances scaled by precision and size.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use faer::MatRef;
use proptest::prelude::*;
use tensorize::decomp::{tt_svd, TtSvd};
use tensorize::format::{tt, TtTensor};
use tensorize::{Factorized, Scalar, Tensor};

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=5, 1..=5)
}

/// A shape, inner TT ranks (1–3) and a seed.
fn tt_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64)> {
    shape_strategy().prop_flat_map(|shape| {
        let d = shape.len();
        (Just(shape), prop::collection::vec(1usize..=3, d - 1), any::<u64>())
    })
}

fn random_tt<T: Scalar>(shape: &[usize], inner: &[usize], seed: u64) -> TtTensor<T> {
    let mut ranks = vec![1];
    ranks.extend_from_slice(inner);
    ranks.push(1);
    let cores = (0..shape.len())
        .map(|k| {
            let s = seed.wrapping_add(k as u64);
            Tensor::random_normal(&[ranks[k], shape[k], ranks[k + 1]], s).unwrap()
        })
        .collect();
    TtTensor::new(cores).unwrap()
}

/// `c · eps · sqrt(numel) · scale`.
fn tol<T: Scalar>(numel: usize, scale: f64) -> f64 {
    64.0 * T::epsilon().as_f64() * (numel as f64).sqrt() * scale.max(f64::MIN_POSITIVE)
}

fn dist<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>) -> f64 {
    a.sub(b).unwrap().norm().as_f64()
}

fn left_orthonormal<T: Scalar>(core: &Tensor<T>) -> bool {
    let s = core.shape();
    let (m, r) = (s[0] * s[1], s[2]);
    let u = MatRef::from_row_major_slice(core.as_slice(), m, r);
    (0..r).all(|i| {
        (0..r).all(|j| {
            let g: f64 = (0..m).map(|k| (u[(k, i)] * u[(k, j)]).as_f64()).sum();
            let e = if i == j { 1.0 } else { 0.0 };
            (g - e).abs() <= tol::<T>(m, 1.0)
        })
    })
}

fn full_rank_exact<T: Scalar>(shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let (t, rep) = tt_svd(&x, 0.0).unwrap();
    let nx = x.norm().as_f64();
    prop_assert!(dist(&t.to_dense().unwrap(), &x) <= tol::<T>(x.numel(), nx));
    prop_assert!(rep.rel_error <= tol::<T>(x.numel(), 1.0));
    let d = shape.len();
    for c in &t.cores()[..d - 1] {
        prop_assert!(left_orthonormal(c));
    }
    // Ranks are those of the unfoldings: min(∏ n_{≤k}, ∏ n_{>k}) for a generic tensor.
    for (k, &r) in t.ranks()[1..d].iter().enumerate() {
        let left: usize = shape[..=k].iter().product();
        let right: usize = shape[k + 1..].iter().product();
        prop_assert!(r <= left.min(right));
    }
    Ok(())
}

fn eps_bound<T: Scalar>(shape: &[usize], seed: u64, eps: f64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let (t, rep) = TtSvd::new().eps(eps).fit(&x).unwrap();
    let nx = x.norm().as_f64();
    let err = dist(&t.to_dense().unwrap(), &x);
    prop_assert!(err <= eps * nx + tol::<T>(x.numel(), nx), "err {} > eps {}", err / nx, eps);
    prop_assert!(rep.rel_error <= eps);
    // The reported error is the actual one (the discarded parts are orthogonal).
    prop_assert!(
        (rep.rel_error - err / nx).abs() <= 1e-2 * eps + 100.0 * T::epsilon().as_f64().sqrt()
    );
    for c in &t.cores()[..shape.len() - 1] {
        prop_assert!(left_orthonormal(c));
    }
    Ok(())
}

fn orthogonalization<T: Scalar>(s: &[usize], r: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let a = random_tt::<T>(s, r, seed);
    let dense = a.to_dense().unwrap();
    let n = dense.norm().as_f64();
    let mut l = a.clone();
    l.left_orthogonalize().unwrap();
    prop_assert!(dist(&l.to_dense().unwrap(), &dense) <= tol::<T>(dense.numel(), n));
    for c in &l.cores()[..s.len() - 1] {
        prop_assert!(left_orthonormal(c));
    }
    let mut rt = a.clone();
    rt.right_orthogonalize().unwrap();
    prop_assert!(dist(&rt.to_dense().unwrap(), &dense) <= tol::<T>(dense.numel(), n));
    prop_assert!((rt.cores()[0].norm().as_f64() - n).abs() <= tol::<T>(dense.numel(), n));
    prop_assert!((a.norm().as_f64() - n).abs() <= tol::<T>(dense.numel(), n));
    Ok(())
}

fn round_sum<T: Scalar>(shape: &[usize], seed: u64, eps: f64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let y = Tensor::<T>::random_normal(shape, seed ^ 0x5eed).unwrap();
    let (a, _) = tt_svd(&x, 0.0).unwrap();
    let (b, _) = tt_svd(&y, 0.0).unwrap();
    let sum = tt::add(&a, &b).unwrap();
    let (r, rep) = sum.round(eps, None).unwrap();
    let want = x.add(&y).unwrap();
    let nw = want.norm().as_f64();
    let err = dist(&r.to_dense().unwrap(), &want);
    prop_assert!(err <= eps * nw + tol::<T>(want.numel(), nw), "err {} eps {}", err / nw, eps);
    prop_assert!(rep.rel_error <= eps);
    for c in &r.cores()[..shape.len() - 1] {
        prop_assert!(left_orthonormal(c));
    }
    Ok(())
}

fn ops_agree<T: Scalar>(s: &[usize], r: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let a = random_tt::<T>(s, r, seed);
    let b = random_tt::<T>(s, r, seed ^ 0xabcdef);
    let (da, db) = (a.to_dense().unwrap(), b.to_dense().unwrap());
    let (na, nb) = (da.norm().as_f64(), db.norm().as_f64());
    let n = da.numel();
    let dot = tt::dot(&a, &b).unwrap().as_f64();
    prop_assert!((dot - da.inner(&db).unwrap().as_f64()).abs() <= tol::<T>(n, na * nb));
    prop_assert!((a.norm().as_f64() - na).abs() <= tol::<T>(n, na));
    let sum = tt::add(&a, &b).unwrap().to_dense().unwrap();
    prop_assert!(dist(&sum, &da.add(&db).unwrap()) <= tol::<T>(n, na + nb));
    let had = tt::hadamard(&a, &b).unwrap().to_dense().unwrap();
    let dh = da.hadamard(&db).unwrap();
    prop_assert!(dist(&had, &dh) <= tol::<T>(n, dh.norm().as_f64() + na * nb));
    let sc = a.scale(T::of(-1.75)).unwrap().to_dense().unwrap();
    prop_assert!(dist(&sc, &da.scale(T::of(-1.75))) <= tol::<T>(n, na));
    let idx: Vec<usize> = s.iter().enumerate().map(|(k, &d)| (seed as usize + k) % d).collect();
    let g = a.get(&idx).unwrap().as_f64();
    prop_assert!((g - da.get(&idx).unwrap().as_f64()).abs() <= tol::<T>(n, na));
    Ok(())
}

fn rel_error_matches<T: Scalar>(
    s: &[usize],
    r: &[usize],
    seed: u64,
    noise: f64,
) -> Result<(), TestCaseError> {
    let a = random_tt::<T>(s, r, seed);
    let dense = a.to_dense().unwrap();
    let pert = Tensor::<T>::random_normal(s, seed ^ 77).unwrap();
    let x = dense.add(&pert.scale(T::of(noise) * dense.norm() / pert.norm())).unwrap();
    let explicit = dist(&x, &dense) / x.norm().as_f64();
    let fast = a.rel_error(&x).unwrap().as_f64();
    // Relative accuracy: eps / err² from the cancellation in the inner-product formula, which
    // the fallback caps at ~sqrt(eps).
    let rel_tol = 1e-2 + tol::<T>(dense.numel(), 1.0) / explicit.powi(2).max(T::epsilon().as_f64());
    prop_assert!(
        (fast - explicit).abs() <= rel_tol * explicit + tol::<T>(dense.numel(), 1.0),
        "fast {fast} explicit {explicit}"
    );
    Ok(())
}

fn precision_agreement(shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x64 = Tensor::<f64>::random_normal(shape, seed).unwrap();
    let x32 =
        Tensor::<f32>::from_vec(shape, x64.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
    let (t64, _) = tt_svd(&x64, 0.0).unwrap();
    let (t32, _) = tt_svd(&x32, 0.0).unwrap();
    let d64 = t64.to_dense().unwrap();
    let d32 = t32.to_dense().unwrap();
    let diff: f64 = d64
        .as_slice()
        .iter()
        .zip(d32.as_slice())
        .map(|(&a, &b)| (a - b as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    prop_assert!(diff <= tol::<f32>(x64.numel(), x64.norm()));
    prop_assert!((t64.norm() - t32.norm() as f64).abs() <= tol::<f32>(x64.numel(), x64.norm()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn full_rank_tt_svd_reconstructs(shape in shape_strategy(), seed in any::<u64>()) {
        full_rank_exact::<f64>(&shape, seed)?;
        full_rank_exact::<f32>(&shape, seed)?;
    }

    #[test]
    fn eps_bound_holds(shape in shape_strategy(), seed in any::<u64>(), e in 0usize..4) {
        let eps = [0.5, 0.2, 0.05, 1e-2][e];
        eps_bound::<f64>(&shape, seed, eps)?;
        eps_bound::<f32>(&shape, seed, eps)?;
    }

    #[test]
    fn orthogonalization_keeps_the_tensor((s, r, seed) in tt_strategy()) {
        orthogonalization::<f64>(&s, &r, seed)?;
        orthogonalization::<f32>(&s, &r, seed)?;
    }

    #[test]
    fn rounding_a_sum_matches_the_dense_sum(shape in shape_strategy(), seed in any::<u64>(), e in 0usize..4) {
        let eps = [0.0, 1e-3, 0.1, 0.3][e];
        round_sum::<f64>(&shape, seed, eps)?;
        round_sum::<f32>(&shape, seed, eps.max(1e-3))?;
    }

    #[test]
    fn operations_agree_with_dense((s, r, seed) in tt_strategy()) {
        ops_agree::<f64>(&s, &r, seed)?;
        ops_agree::<f32>(&s, &r, seed)?;
    }

    #[test]
    fn rel_error_without_densifying((s, r, seed) in tt_strategy(), e in 0usize..4) {
        let noise = [1e-1, 1e-3, 1e-5, 1e-9][e];
        rel_error_matches::<f64>(&s, &r, seed, noise)?;
        rel_error_matches::<f32>(&s, &r, seed, noise.max(1e-5))?;
    }

    #[test]
    fn f32_agrees_with_f64(shape in shape_strategy(), seed in any::<u64>()) {
        precision_agreement(&shape, seed)?;
    }
}
