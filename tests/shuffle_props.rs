//! Properties of the random-shuffle embedding (RsTD): permutations, their inverses, seeds, and
//! factorizations of shuffled tensors (errors and parameter counts), in f32 and f64.

// Test/bench code: a failed unwrap is a failed run, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tensorize::decomp::{TrSvd, TtSvd};
use tensorize::tensorization::{
    compare_shuffled, rstd_tr, rstd_tt, RstdFormat, Shuffle, ShuffleKind,
};
use tensorize::{Budget, Factorized, Scalar, Tensor};

fn shape_strategy() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=5, 1..=4)
}

fn kind_strategy() -> impl Strategy<Value = ShuffleKind> {
    prop_oneof![Just(ShuffleKind::Whole), Just(ShuffleKind::WithinModes)]
}

fn sorted<T: Scalar>(x: &Tensor<T>) -> Vec<f64> {
    let mut v: Vec<f64> = x.as_slice().iter().map(|v| v.as_f64()).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn permutation_laws<T: Scalar>(
    shape: &[usize],
    kind: ShuffleKind,
    seed: u64,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed ^ 1).unwrap();
    let s = Shuffle::new(shape, kind, seed).unwrap();
    let y = s.apply(&x).unwrap();
    prop_assert_eq!(y.shape(), x.shape());
    prop_assert_eq!(&s.invert(&y).unwrap(), &x);
    prop_assert_eq!(&s.apply(&s.invert(&x).unwrap()).unwrap(), &x);
    prop_assert_eq!(sorted(&y), sorted(&x));
    // The flat map is a permutation of 0..N and is what apply does.
    let p = s.to_flat_permutation().unwrap();
    let mut q = p.clone();
    q.sort_unstable();
    prop_assert_eq!(q, (0..x.numel()).collect::<Vec<_>>());
    for (j, &pj) in p.iter().enumerate() {
        prop_assert_eq!(y.as_slice()[j], x.as_slice()[pj]);
    }
    // Same seed, same permutation; norm preserved exactly.
    prop_assert_eq!(&Shuffle::new(shape, kind, seed).unwrap(), &s);
    prop_assert_eq!(s.seed(), seed);
    prop_assert_eq!(s.kind(), kind);
    let tol = 8.0 * T::epsilon().as_f64() * (x.numel() as f64).sqrt() * x.norm().as_f64();
    prop_assert!((y.norm().as_f64() - x.norm().as_f64()).abs() <= tol);
    Ok(())
}

fn shuffled_errors<T: Scalar>(
    shape: &[usize],
    kind: ShuffleKind,
    seed: u64,
    cap: usize,
) -> Result<(), TestCaseError> {
    let x = Tensor::<T>::random_normal(shape, seed ^ 7).unwrap();
    let n = x.numel();
    let slack =
        64.0 * T::epsilon().as_f64() * (n as f64).sqrt() + 16.0 * T::epsilon().as_f64().sqrt();
    let (f, rep) = rstd_tt(&x, kind, seed, &TtSvd::new().max_rank(cap)).unwrap();
    let dense = x.sub(&f.to_dense().unwrap()).unwrap().norm().as_f64() / x.norm().as_f64();
    prop_assert!((f.rel_error(&x).unwrap().as_f64() - dense).abs() <= slack, "TT");
    prop_assert!((rep.rel_error - dense).abs() <= slack);
    prop_assert_eq!(f.num_params(), f.inner().num_params());
    prop_assert_eq!(f.shape(), shape.to_vec());
    prop_assert!(
        (f.norm().as_f64() - f.to_dense().unwrap().norm().as_f64()).abs()
            <= slack * x.norm().as_f64()
    );
    let (g, rep) = rstd_tr(&x, kind, seed, &TrSvd::new().max_rank(cap)).unwrap();
    let dense = x.sub(&g.to_dense().unwrap()).unwrap().norm().as_f64() / x.norm().as_f64();
    prop_assert!((g.rel_error(&x).unwrap().as_f64() - dense).abs() <= slack, "TR");
    prop_assert!((rep.rel_error - dense).abs() <= slack);
    prop_assert_eq!(g.num_params(), g.inner().num_params());
    prop_assert_eq!(g.compression_ratio(), g.inner().compression_ratio());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn shuffles_are_invertible_permutations(shape in shape_strategy(), kind in kind_strategy(), seed in any::<u64>()) {
        permutation_laws::<f64>(&shape, kind, seed)?;
        permutation_laws::<f32>(&shape, kind, seed)?;
    }

    #[test]
    fn shuffled_error_is_the_dense_error(shape in shape_strategy(), kind in kind_strategy(), seed in any::<u64>(), cap in 1usize..=3) {
        shuffled_errors::<f64>(&shape, kind, seed, cap)?;
        shuffled_errors::<f32>(&shape, kind, seed, cap)?;
    }

    #[test]
    fn comparison_respects_the_budget(shape in prop::collection::vec(2usize..=4, 3..=4), factor in 1.0f64..6.0, seed in any::<u64>(),
                                      tr in any::<bool>(), kind in kind_strategy()) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let format = if tr { RstdFormat::Tr } else { RstdFormat::Tt };
        let budget = (x.numel() as f64 / factor).floor() as usize;
        // Rank 1 costs Σ n_k parameters in both formats: every budget covering it must succeed.
        let rank_one: usize = shape.iter().sum();
        match compare_shuffled(&x, Budget::CompressBy(factor), format, kind, seed) {
            Ok(rows) => {
                prop_assert_eq!(rows.len(), 2);
                prop_assert_eq!(rows[0].shuffle, None);
                prop_assert_eq!(rows[1].shuffle, Some(kind));
                for r in &rows {
                    prop_assert!(r.params <= budget, "{} > {budget}", r.params);
                    prop_assert_eq!(r.max_rank, rows[0].max_rank);
                    prop_assert!(r.ranks.iter().all(|&k| k <= r.max_rank));
                    prop_assert!(r.rel_error >= 0.0 && r.rel_error <= 1.0 + 1e-12);
                }
                // Random data: full-rank unfoldings either way, so the same count.
                prop_assert_eq!(rows[0].params, rows[1].params);
            }
            Err(e) => prop_assert!(
                budget < rank_one && matches!(e, tensorize::Error::InvalidRank { .. }),
                "budget {budget} ≥ rank-1 cost {rank_one}: {e}"
            ),
        }
    }
}

#[test]
fn different_seeds_give_different_permutations() {
    let a = Shuffle::whole(&[4, 5, 6], 1).unwrap();
    let b = Shuffle::whole(&[4, 5, 6], 2).unwrap();
    assert_ne!(a.to_flat_permutation().unwrap(), b.to_flat_permutation().unwrap());
    let a = Shuffle::within_modes(&[8, 9], 1).unwrap();
    let b = Shuffle::within_modes(&[8, 9], 2).unwrap();
    assert_ne!(a.to_flat_permutation().unwrap(), b.to_flat_permutation().unwrap());
}

/// Within-mode shuffles reorder slices, so the singular values of every unfolding survive:
/// exact-rank TT-SVD gives the same ranks before and after.
#[test]
fn within_modes_keeps_unfolding_ranks() {
    let (tt, _) = TtSvd::new()
        .max_rank(2)
        .fit(&Tensor::<f64>::random_normal(&[4, 5, 6], 3).unwrap())
        .unwrap();
    let x = tt.to_dense().unwrap();
    let (plain, _) = TtSvd::new().eps(1e-10).fit(&x).unwrap();
    let (shuffled, _) = rstd_tt(&x, ShuffleKind::WithinModes, 5, &TtSvd::new().eps(1e-10)).unwrap();
    assert_eq!(plain.ranks(), shuffled.inner().ranks());
    // A whole shuffle destroys the low rank.
    let (whole, _) = rstd_tt(&x, ShuffleKind::Whole, 5, &TtSvd::new().eps(1e-10)).unwrap();
    assert!(whole.inner().max_rank() > 2, "{:?}", whole.inner().ranks());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// TT-SVD is equivariant under per-mode permutations: a within-mode shuffle changes
    /// neither the ranks nor the error at a fixed rank cap.
    #[test]
    fn within_modes_shuffle_leaves_tt_svd_error_unchanged(shape in prop::collection::vec(2usize..=4, 2..=4), seed in any::<u64>(), cap in 1usize..=3) {
        let x = Tensor::<f64>::random_normal(&shape, seed).unwrap();
        let p = TtSvd::new().max_rank(cap);
        let (plain, rep) = p.fit(&x).unwrap();
        let (shuffled, srep) = rstd_tt(&x, ShuffleKind::WithinModes, seed ^ 3, &p).unwrap();
        prop_assert_eq!(plain.ranks(), shuffled.inner().ranks());
        prop_assert!((rep.rel_error - srep.rel_error).abs() <= 1e-10, "{} {}", rep.rel_error, srep.rel_error);
    }
}
