//! Properties of the tensor-ring format and TR-SVD on random small tensors (orders 1–5,
//! dimensions 1–5), in f32 and f64, with tolerances scaled by precision and size.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tensorize::decomp::{tr_svd, tt_svd, TrSvd};
use tensorize::format::TrTensor;
use tensorize::{Factorized, Scalar, Tensor};

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=5, 1..=5)
}

/// A shape, ring ranks r_0 … r_{d-1} (1–3) and a seed.
fn tr_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64)> {
    shape_strategy().prop_flat_map(|shape| {
        let d = shape.len();
        (Just(shape), prop::collection::vec(1usize..=3, d), any::<u64>())
    })
}

fn random_tr<T: Scalar>(shape: &[usize], ranks: &[usize], seed: u64) -> TrTensor<T> {
    let d = shape.len();
    let cores = (0..d)
        .map(|k| {
            let s = seed.wrapping_add(k as u64);
            Tensor::random_normal(&[ranks[k], shape[k], ranks[(k + 1) % d]], s).unwrap()
        })
        .collect();
    TrTensor::new(cores).unwrap()
}

/// `c · eps · sqrt(numel) · scale`.
fn tol<T: Scalar>(numel: usize, scale: f64) -> f64 {
    64.0 * T::epsilon().as_f64() * (numel as f64).sqrt() * scale.max(f64::MIN_POSITIVE)
}

fn dist<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>) -> f64 {
    a.sub(b).unwrap().norm().as_f64()
}

fn full_rank_exact<T: Scalar>(shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let (tr, rep) = tr_svd(&x, 0.0).unwrap();
    let nx = x.norm().as_f64();
    prop_assert!(dist(&tr.to_dense().unwrap(), &x) <= tol::<T>(x.numel(), nx));
    prop_assert!(rep.rel_error <= tol::<T>(x.numel(), 1.0));
    prop_assert_eq!(tr.shape(), shape.to_vec());
    let r = tr.ranks();
    prop_assert_eq!(r[0], r[shape.len()]);
    Ok(())
}

fn eps_bound<T: Scalar>(
    shape: &[usize],
    seed: u64,
    eps: f64,
    cap: Option<usize>,
    r0: Option<usize>,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let mut p = TrSvd::new().eps(eps);
    if let Some(c) = cap {
        p = p.max_rank(c);
    }
    let mut fixed = false;
    if let Some(r) = r0 {
        // Only valid when r_0 fits the first unfolding and the cap.
        let full = shape[0].min(x.numel() / shape[0]);
        if r <= full && cap.is_none_or(|c| r <= c) && shape.len() > 1 {
            p = p.first_rank(r);
            // A fixed r_0 acts as a cap when no multiple of it ≥ R fits min(n_1, rest).
            fixed = r > 1;
        }
    }
    let (tr, rep) = p.fit(&x).unwrap();
    let err = dist(&tr.to_dense().unwrap(), &x) / x.norm().as_f64();
    // The reported error is the actual one (discarded parts are orthogonal).
    let slack = tol::<T>(x.numel(), 1.0) + 64.0 * T::epsilon().as_f64().sqrt();
    prop_assert!((rep.rel_error - err).abs() <= slack, "report {} actual {}", rep.rel_error, err);
    if cap.is_none() && !fixed {
        prop_assert!(err <= eps + slack, "error {err} above eps {eps}");
    }
    if let Some(c) = cap {
        prop_assert!(tr.max_rank() <= c, "{:?} cap {c}", tr.ranks());
    }
    // Without densifying, the format's own rel_error agrees.
    let fast = tr.rel_error(&x).unwrap().as_f64();
    prop_assert!((fast - err).abs() <= slack, "fast {fast} dense {err}");
    Ok(())
}

fn reductions_match_dense<T: Scalar>(
    shape: &[usize],
    ranks: &[usize],
    seed: u64,
) -> Result<(), TestCaseError> {
    let tr = random_tr::<T>(shape, ranks, seed);
    let dense = tr.to_dense().unwrap();
    let nd = dense.norm().as_f64();
    let n = dense.numel();
    // Cancellation inside the transfer products is bounded by the cores' own size.
    let scale: f64 = tr.cores().iter().map(|c| c.norm().as_f64()).product::<f64>() + nd;
    prop_assert!(
        (tr.norm().as_f64() - nd).abs()
            <= tol::<T>(n, scale * scale / nd.max(1e-300)).min(tol::<T>(n, scale) * 1e3)
    );
    let x = Tensor::<T>::random_normal(shape, seed ^ 0x5555).unwrap();
    let want = dense.inner(&x).unwrap().as_f64();
    let got = tr.inner_dense(&x).unwrap().as_f64();
    prop_assert!((got - want).abs() <= tol::<T>(n, scale * x.norm().as_f64()), "{got} {want}");
    let want = dist(&x, &dense) / x.norm().as_f64();
    let got = tr.rel_error(&x).unwrap().as_f64();
    let slack = tol::<T>(n, scale * scale / x.norm().as_f64().powi(2)) + tol::<T>(n, 1.0);
    prop_assert!((got - want).abs() <= 1e2 * slack, "{got} {want}");
    for (k, idx) in
        [vec![0; shape.len()], shape.iter().map(|&s| s - 1).collect()].iter().enumerate()
    {
        let (g, e) = (tr.get(idx).unwrap().as_f64(), dense.get(idx).unwrap().as_f64());
        prop_assert!((g - e).abs() <= tol::<T>(n, scale), "{k}: {g} {e}");
    }
    Ok(())
}

fn tt_as_tr<T: Scalar>(shape: &[usize], seed: u64) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed).unwrap();
    let (tt, _) = tt_svd(&x, 0.3).unwrap();
    let tr = TrTensor::from_tt(tt.clone());
    prop_assert_eq!(tr.ranks()[0], 1);
    prop_assert_eq!(tr.num_params(), tt.num_params());
    let nd = tt.norm().as_f64();
    prop_assert!(dist(&tr.to_dense().unwrap(), &tt.to_dense().unwrap()) <= tol::<T>(x.numel(), nd));
    prop_assert!((tr.norm().as_f64() - nd).abs() <= tol::<T>(x.numel(), nd));
    let (a, b) = (tr.rel_error(&x).unwrap().as_f64(), tt.rel_error(&x).unwrap().as_f64());
    prop_assert!(
        (a - b).abs() <= tol::<T>(x.numel(), 1.0) + 8.0 * T::epsilon().as_f64().sqrt(),
        "{a} {b}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn full_rank_tr_svd_is_exact(shape in shape_strategy(), seed in any::<u64>()) {
        full_rank_exact::<f64>(&shape, seed)?;
        full_rank_exact::<f32>(&shape, seed)?;
    }

    #[test]
    fn tr_svd_error_bound(shape in shape_strategy(), seed in any::<u64>(), eps in 0.05f64..0.8,
                          cap in prop::option::of(1usize..=4), r0 in prop::option::of(1usize..=3)) {
        eps_bound::<f64>(&shape, seed, eps, cap, r0)?;
        eps_bound::<f32>(&shape, seed, eps, cap, r0)?;
    }

    #[test]
    fn norm_inner_rel_error_without_densifying((shape, ranks, seed) in tr_strategy()) {
        reductions_match_dense::<f64>(&shape, &ranks, seed)?;
        reductions_match_dense::<f32>(&shape, &ranks, seed)?;
    }

    #[test]
    fn tensor_train_is_a_ring_with_r0_one(shape in shape_strategy(), seed in any::<u64>()) {
        tt_as_tr::<f64>(&shape, seed)?;
        tt_as_tr::<f32>(&shape, seed)?;
    }

    #[test]
    fn f32_and_f64_agree(shape in shape_strategy(), seed in any::<u64>()) {
        let x64 = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let x32 = Tensor::<f32>::from_vec(&shape, x64.as_slice().iter().map(|&v| v as f32).collect()).unwrap();
        let (a, _) = tr_svd(&x64, 0.0).unwrap();
        let (b, _) = tr_svd(&x32, 0.0).unwrap();
        prop_assert_eq!(a.ranks(), b.ranks());
        let (da, db) = (a.to_dense().unwrap(), b.to_dense().unwrap());
        let diff: f64 = da.as_slice().iter().zip(db.as_slice()).map(|(&p, &q)| (p - q as f64).powi(2)).sum::<f64>().sqrt();
        prop_assert!(diff <= tol::<f32>(x64.numel(), x64.norm()));
    }
}
