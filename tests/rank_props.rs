#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties of the rank rules: budgets are never exceeded, more budget never hurts, the greedy
//! allocation is within its documented bound of the brute-force optimum, ε rules hit ε.

use proptest::prelude::*;
use tensorize::rank::{allocate, LayerSpectrum};
use tensorize::{Budget, Error};

/// A descending spectrum from arbitrary positive decrements.
fn spectrum(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..3.0, 1..=max_len).prop_map(|mut d| {
        // s_i = Σ_{j≥i} d_j: non-increasing, non-negative.
        for i in (0..d.len().saturating_sub(1)).rev() {
            d[i] += d[i + 1];
        }
        d
    })
}

fn layer(max_len: usize) -> impl Strategy<Value = LayerSpectrum> {
    (spectrum(max_len), 1usize..6, 0.0f64..3.0, 0usize..2).prop_map(|(s, cost, w, min)| {
        let len = s.len();
        LayerSpectrum::new("l", s, cost, cost * len * 2)
            .weight(w)
            .flops_per_rank(cost + 1)
            .min_rank(min.min(len))
    })
}

/// The cost of the minimal ranks: a budget at least this must be accepted, a smaller one refused.
fn min_cost(layers: &[LayerSpectrum], per_rank: impl Fn(&LayerSpectrum) -> usize) -> usize {
    layers.iter().map(|l| l.min_rank * per_rank(l)).sum()
}

/// The exact optimum over all rank combinations (small instances only).
fn brute_force(layers: &[LayerSpectrum], cap: usize) -> Option<f64> {
    fn rec(layers: &[LayerSpectrum], i: usize, left: usize, acc: f64, best: &mut Option<f64>) {
        if i == layers.len() {
            if best.is_none_or(|b| acc < b) {
                *best = Some(acc);
            }
            return;
        }
        let l = &layers[i];
        for r in l.min_rank..=l.max_rank {
            let c = r * l.params_per_rank;
            if c > left {
                break;
            }
            rec(layers, i + 1, left - c, acc + l.weight * l.rel_error_sq(r), best);
        }
    }
    let mut best = None;
    rec(layers, 0, cap, 0.0, &mut best);
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn allocation_within_bound_of_brute_force(
        layers in prop::collection::vec(layer(5), 1..4),
        budget in 0usize..60,
    ) {
        let opt = brute_force(&layers, budget);
        // Feasible exactly when the minimal ranks fit; then the allocation must succeed.
        prop_assert_eq!(opt.is_some(), budget >= min_cost(&layers, |l| l.params_per_rank));
        match allocate(&layers, Budget::Params(budget)) {
            Err(e) => prop_assert!(
                opt.is_none() && matches!(e, Error::InvalidRank { .. }),
                "greedy refused a feasible budget: {}", e
            ),
            Ok(a) => {
                let opt = opt.expect("greedy found an infeasible allocation");
                prop_assert!(a.params <= budget);
                let tol = 1e-12 * (1.0 + a.total_error);
                prop_assert!(a.total_error >= opt - tol, "better than optimal?");
                prop_assert!(a.total_error <= opt + a.gap_bound + tol,
                    "greedy {} opt {} bound {}", a.total_error, opt, a.gap_bound);
                if a.gap_bound == 0.0 {
                    prop_assert!((a.total_error - opt).abs() <= tol);
                }
                for ((r, l), e) in a.ranks.iter().zip(&layers).zip(&a.layer_errors) {
                    prop_assert!(*r >= l.min_rank && *r <= l.max_rank);
                    prop_assert!((e - l.rel_error_sq(*r)).abs() <= 1e-15);
                }
            }
        }
    }

    #[test]
    fn more_budget_never_worse_beyond_gap(
        layers in prop::collection::vec(layer(8), 1..5),
        budget in 0usize..80,
        extra in 0usize..40,
    ) {
        // OPT(B + extra) ≤ OPT(B) ≤ greedy(B), and greedy(B + extra) ≤ OPT(B + extra) + gap:
        // a larger budget is never worse by more than its documented gap (in practice: never).
        // Every budget covering the minimal ranks must be accepted; a smaller one is refused.
        let need = min_cost(&layers, |l| l.params_per_rank);
        let a = allocate(&layers, Budget::Params(budget));
        if budget < need {
            prop_assert!(matches!(a, Err(Error::InvalidRank { .. })), "{:?}", a);
        } else {
            prop_assert!(a.is_ok(), "budget {} ≥ minimal cost {}: {:?}", budget, need, a);
            let a = a.unwrap();
            let b = allocate(&layers, Budget::Params(budget + extra)).unwrap();
            prop_assert!(b.gap_bound >= 0.0);
            prop_assert!(b.total_error <= a.total_error + b.gap_bound + 1e-12);
            prop_assert!(b.params <= budget + extra);
        }
        let need = min_cost(&layers, |l| l.flops_per_rank.unwrap());
        let a = allocate(&layers, Budget::Flops(budget));
        if budget < need {
            prop_assert!(matches!(a, Err(Error::InvalidRank { .. })), "{:?}", a);
        } else {
            prop_assert!(a.is_ok(), "budget {} ≥ minimal FLOPs {}: {:?}", budget, need, a);
            let a = a.unwrap();
            prop_assert!(a.flops.unwrap() <= budget);
            let b = allocate(&layers, Budget::Flops(budget + extra)).unwrap();
            prop_assert!(b.total_error <= a.total_error + b.gap_bound + 1e-12);
        }
    }
}

mod budgets {
    use proptest::prelude::*;
    use tensorize::rank::{
        cp_rank_for_budget, svd_rank_for_error, tt_bond_spectra, tt_for_budget,
        tt_ranks_for_budget, tucker_for_budget, tucker_ranks_for_budget, tucker_spectra,
    };
    use tensorize::{Budget, Error, Factorized, Scalar, Tensor};

    fn shape() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..6, 2..5)
    }

    /// A tensor with decaying structure (so the budget decides something) plus a seeded part.
    fn tensor<T: Scalar>(shape: &[usize], seed: u64) -> Tensor<T> {
        let noise = Tensor::<T>::random_normal(shape, seed).unwrap();
        let smooth = Tensor::<T>::from_fn(shape, |i| {
            T::of(1.0 / (1.0 + i.iter().map(|&k| k as f64).sum::<f64>()))
        })
        .unwrap();
        let mut x = smooth;
        x.axpy(T::of(0.05), &noise).unwrap();
        x
    }

    fn tail_sq(s: &[f64], r: usize) -> f64 {
        s[r.min(s.len())..].iter().map(|x| x * x).sum()
    }

    fn check_tucker<T: Scalar>(shape: &[usize], seed: u64, budget: usize) {
        let x = tensor::<T>(shape, seed);
        let need = 1 + shape.iter().sum::<usize>();
        // All-ones ranks cost `need`: any budget covering them must succeed.
        match tucker_for_budget(&x, Budget::Params(budget)) {
            Err(e) => assert!(budget < need && matches!(e, Error::InvalidRank { .. }), "{e}"),
            Ok((t, report)) => {
                assert!(t.num_params() <= budget, "{} > {budget}", t.num_params());
                // HOSVD error ≤ the bound from the discarded mode energies.
                let spectra = tucker_spectra(&x).unwrap();
                let ranks = t.ranks();
                let norm2 = x.norm().as_f64().powi(2);
                let bound: f64 = spectra
                    .iter()
                    .zip(&ranks)
                    .map(|(s, &r)| tail_sq(&s.iter().map(|v| v.as_f64()).collect::<Vec<_>>(), r))
                    .sum();
                let tol = 100.0 * T::epsilon().as_f64() * (x.numel() as f64).sqrt();
                assert!(report.rel_error.powi(2) <= bound / norm2 + tol, "{report:?} {bound}");
            }
        }
    }

    fn check_tt<T: Scalar>(shape: &[usize], seed: u64, budget: usize) {
        let x = tensor::<T>(shape, seed);
        let need: usize = shape.iter().sum();
        match tt_for_budget(&x, Budget::Params(budget)) {
            Err(e) => assert!(budget < need && matches!(e, Error::InvalidRank { .. }), "{e}"),
            Ok((tt, report)) => {
                assert!(tt.num_params() <= budget, "{} > {budget}", tt.num_params());
                let spectra = tt_bond_spectra(&x).unwrap();
                let ranks = tt.ranks();
                let norm2 = x.norm().as_f64().powi(2);
                let bound: f64 = spectra
                    .iter()
                    .enumerate()
                    .map(|(k, s)| {
                        tail_sq(&s.iter().map(|v| v.as_f64()).collect::<Vec<_>>(), ranks[k + 1])
                    })
                    .sum();
                let tol = 100.0 * T::epsilon().as_f64() * (x.numel() as f64).sqrt();
                assert!(report.rel_error.powi(2) <= bound / norm2 + tol, "{report:?} {bound}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn cp_rank_is_the_largest_that_fits(shape in shape(), budget in 0usize..500) {
            let per = shape.iter().sum::<usize>() + 1;
            match cp_rank_for_budget(&shape, Budget::Params(budget)) {
                Err(e) => prop_assert!(budget < per && matches!(e, Error::InvalidRank { .. }), "{}", e),
                Ok(r) => prop_assert!(r * per <= budget && (r + 1) * per > budget),
            }
        }

        #[test]
        fn tucker_budget_never_exceeded(shape in shape(), seed in 0u64..1000, budget in 0usize..300) {
            check_tucker::<f64>(&shape, seed, budget);
            check_tucker::<f32>(&shape, seed, budget);
        }

        #[test]
        fn tt_budget_never_exceeded(shape in shape(), seed in 0u64..1000, budget in 0usize..300) {
            check_tt::<f64>(&shape, seed, budget);
            check_tt::<f32>(&shape, seed, budget);
        }

        #[test]
        fn rank_lists_respect_caps(
            spectra in prop::collection::vec(prop::collection::vec(0.0f64..5.0, 1..6), 3),
            budget in 10usize..400,
        ) {
            let spectra: Vec<Vec<f64>> = spectra
                .into_iter()
                .map(|mut s| { s.sort_by(|a, b| b.total_cmp(a)); s })
                .collect();
            let shape = [5usize, 5, 5];
            // All-ones ranks cost 1 + 15 (Tucker) and 15 (TT): budgets from 16 must succeed.
            let tucker = tucker_ranks_for_budget(&spectra, &shape, Budget::Params(budget));
            if budget < 16 {
                prop_assert!(matches!(tucker, Err(Error::InvalidRank { .. })), "{:?}", tucker);
            } else {
                prop_assert!(tucker.is_ok(), "budget {}: {:?}", budget, tucker);
                let r = tucker.unwrap();
                let cost = r.iter().product::<usize>() + 5 * r.iter().sum::<usize>();
                prop_assert!(cost <= budget);
                for (k, &rk) in r.iter().enumerate() {
                    prop_assert!(rk >= 1 && rk <= spectra[k].len().max(1));
                }
            }
            let tt = tt_ranks_for_budget(&spectra[..2], &shape, Budget::Params(budget));
            if budget < 15 {
                prop_assert!(matches!(tt, Err(Error::InvalidRank { .. })), "{:?}", tt);
            } else {
                prop_assert!(tt.is_ok(), "budget {}: {:?}", budget, tt);
                let r = tt.unwrap();
                let cost = 5 * r[0] + r[0] * 5 * r[1] + r[1] * 5;
                prop_assert!(cost <= budget);
                for (k, &rk) in r.iter().enumerate() {
                    prop_assert!(rk >= 1 && rk <= spectra[k].len().min(5));
                }
            }
        }

        #[test]
        fn svd_rank_hits_eps(s in prop::collection::vec(0.0f64..10.0, 1..12), eps in 0.0f64..1.0) {
            let mut s = s;
            s.sort_by(|a, b| b.total_cmp(a));
            let r = svd_rank_for_error(&s, eps).unwrap();
            let total: f64 = s.iter().map(|x| x * x).sum();
            let tail = |r: usize| s[r..].iter().map(|x| x * x).sum::<f64>();
            let tol = 4.0 * f64::EPSILON * total;
            prop_assert!(tail(r) <= eps * eps * total + tol);
            // and it is the smallest such rank (≥ 1)
            if r > 1 {
                prop_assert!(tail(r - 1) > eps * eps * total - tol);
            }
        }
    }
}

mod cp_by_error {
    use tensorize::decomp::CpAls;
    use tensorize::format::CpTensor;
    use tensorize::rank::{cp_rank_for_error, cp_rank_for_error_with};
    use tensorize::{Factorized, Scalar, Tensor};

    fn exact_rank_3<T: Scalar>() {
        // Random (well-conditioned) factors: exact CP rank 3.
        let f = |d: usize, seed: u64| {
            let t = Tensor::<T>::random_normal(&[d, 3], seed).unwrap();
            t.as_mat().unwrap().to_owned()
        };
        let x =
            CpTensor::from_factors(vec![f(6, 1), f(5, 2), f(4, 3)]).unwrap().to_dense().unwrap();
        // ε well above each type's cancellation floor for the error of a 120-entry fit.
        let eps = if T::NAME == "f32" { 1e-4 } else { 1e-8 };
        let found =
            cp_rank_for_error_with(&x, eps, 10, |r| CpAls::new(r).max_iter(1000).tol(1e-14))
                .unwrap();
        assert!(found.reached, "{:?}", found.tried);
        assert!(found.rank == 3, "{:?}", found.tried);
        assert!(found.report.rel_error <= eps);
        assert!(found.cp.rel_error(&x).unwrap().as_f64() <= eps * 1.01);
        // Every smaller rank tried missed ε, and the chosen one is among those tried.
        assert!(found.tried.iter().any(|&(r, _)| r == found.rank));
        for &(r, e) in &found.tried {
            if r < found.rank {
                assert!(e > eps);
            }
        }
        // An unreachable target: reached = false at max_rank.
        let none = cp_rank_for_error(&x, 0.0, 2).unwrap();
        assert!(!none.reached && none.rank == 2);
    }

    #[test]
    fn finds_exact_rank_f64() {
        exact_rank_3::<f64>();
    }

    #[test]
    fn finds_exact_rank_f32() {
        exact_rank_3::<f32>();
    }
}

mod allocation_on_matrices {
    use faer::Mat;
    use tensorize::linalg::{svd_truncated, Truncation};
    use tensorize::par::Par;
    use tensorize::rank::{allocate, LayerSpectrum};
    use tensorize::{Budget, Scalar, Tensor};

    /// Differential check: the allocator's per-layer errors equal the actual relative errors of
    /// the truncated SVDs at the chosen ranks, and the budget holds.
    fn errors_match_truncated_svd<T: Scalar>() {
        let mats: Vec<Mat<T>> = [(12usize, 9usize, 1u64), (6, 20, 2), (15, 15, 3)]
            .iter()
            .map(|&(m, n, seed)| {
                let t = Tensor::<T>::random_normal(&[m, n], seed).unwrap();
                // Decaying columns so that the spectra differ between layers.
                Mat::from_fn(m, n, |i, j| t.as_slice()[i * n + j] * T::of(1.0 / (1.0 + j as f64)))
            })
            .collect();
        let mut layers: Vec<LayerSpectrum> = mats
            .iter()
            .enumerate()
            .map(|(i, w)| LayerSpectrum::from_matrix(format!("w{i}"), w.as_ref()).unwrap())
            .collect();
        layers[2] = layers[2].clone().weight(3.0);
        let dense: usize = layers.iter().map(|l| l.dense_params).sum();
        for factor in [1.5, 2.5, 4.0] {
            let a = allocate(&layers, Budget::CompressBy(factor)).unwrap();
            assert!(a.params as f64 <= dense as f64 / factor);
            let kept = allocate(&layers, Budget::KeepFraction(1.0 / factor)).unwrap();
            assert!(kept.params as f64 <= dense as f64 / factor);
            assert_eq!(a.flops, Some(a.params));
            for ((w, &r), &e) in mats.iter().zip(&a.ranks).zip(&a.layer_errors) {
                let t = svd_truncated(w.as_ref(), &Truncation::rank(r), Par::Seq).unwrap();
                let norm2: f64 = t.full_spectrum.iter().map(|s| s.as_f64().powi(2)).sum();
                let got = t.discarded_sq.as_f64() / norm2;
                let tol = 20.0 * T::epsilon().as_f64() * ((w.nrows() * w.ncols()) as f64).sqrt();
                assert!((got - e).abs() <= tol, "{} rank {r}: {got} vs {e}", T::NAME);
            }
            let total: f64 = layers.iter().zip(&a.layer_errors).map(|(l, e)| l.weight * e).sum();
            assert!((total - a.total_error).abs() <= 1e-12);
        }
    }

    #[test]
    fn errors_match_truncated_svd_f64() {
        errors_match_truncated_svd::<f64>();
    }

    #[test]
    fn errors_match_truncated_svd_f32() {
        errors_match_truncated_svd::<f32>();
    }
}

mod evbmf_props {
    use faer::Mat;
    use proptest::prelude::*;
    use tensorize::rank::evbmf;
    use tensorize::Tensor;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Scaling Y by c scales σ² by c², the threshold and shrunk values by c, keeps the rank;
        /// transposing changes nothing. (The relative Brent tolerance makes this scale-free.)
        #[test]
        fn evbmf_is_scale_and_transpose_equivariant(
            rows in 2usize..12, cols in 2usize..12, rank in 0usize..3,
            seed in 0u64..1000, scale_exp in -6i32..7,
        ) {
            let z = Tensor::<f64>::random_normal(&[rows, cols], seed).unwrap();
            let y = Mat::<f64>::from_fn(rows, cols, |i, j| {
                let signal: f64 = (0..rank)
                    .map(|k| 8.0 * ((i * (k + 1)) as f64 * 0.9).sin() * ((j * (k + 2)) as f64 * 0.4).cos())
                    .sum();
                signal + z.as_slice()[i * cols + j]
            });
            let c = 10f64.powi(scale_exp);
            let e = evbmf(y.as_ref()).unwrap();
            let ys = Mat::<f64>::from_fn(rows, cols, |i, j| c * y[(i, j)]);
            let es = evbmf(ys.as_ref()).unwrap();
            let et = evbmf(y.transpose()).unwrap();
            prop_assert!(e.rank <= rows.min(cols));
            prop_assert_eq!(e.shrunk.len(), e.rank);
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(f64::MIN_POSITIVE);
            prop_assert!(rel(es.sigma2, c * c * e.sigma2) < 1e-6, "{} vs {}", es.sigma2, c * c * e.sigma2);
            // Brent stops at about sqrt(eps) relative: compare to 1e-6.
            prop_assert!(rel(et.sigma2, e.sigma2) < 1e-6);
            // Ranks agree unless a singular value sits on the threshold.
            let near = e.spectrum.iter().any(|s| rel(*s, e.threshold) < 1e-5);
            if !near {
                prop_assert_eq!(es.rank, e.rank);
                prop_assert_eq!(et.rank, e.rank);
            }
            for (g, s) in e.spectrum.iter().zip(&e.shrunk) {
                prop_assert!(*s > 0.0 && s < g && *g > e.threshold);
            }
        }
    }
}

mod tt_spectra {
    use proptest::prelude::*;
    use tensorize::decomp::TtSvd;
    use tensorize::rank::{tt_bond_spectra, tt_bond_spectra_of};
    use tensorize::{Factorized, Scalar, Tensor};

    /// The bond spectra of a (truncated) TT equal those of its dense reconstruction.
    fn check<T: Scalar>(shape: &[usize], seed: u64, cap: usize) {
        let x = Tensor::<T>::random_normal(shape, seed).unwrap();
        let (tt, _) = TtSvd::new().max_rank(cap).fit(&x).unwrap();
        let dense = tt.to_dense().unwrap();
        let a = tt_bond_spectra_of(&tt).unwrap();
        let b = tt_bond_spectra(&dense).unwrap();
        assert_eq!(a.len(), b.len());
        let scale = dense.norm().as_f64();
        // Dense spectra may come from the Gram route: absolute accuracy ~ sqrt(eps)·‖X‖.
        let tol = 50.0 * T::epsilon().as_f64().sqrt() * scale;
        for (sa, sb) in a.iter().zip(&b) {
            for (k, v) in sb.iter().enumerate() {
                let u = sa.get(k).map_or(0.0, |u| u.as_f64());
                assert!((u - v.as_f64()).abs() <= tol, "{}: {u} vs {v}", T::NAME);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn tt_spectra_agree(shape in prop::collection::vec(1usize..5, 2..5), seed in 0u64..100, cap in 1usize..4) {
            check::<f64>(&shape, seed, cap);
            check::<f32>(&shape, seed, cap);
        }
    }
}

mod explicit_par {
    use faer::Mat;
    use tensorize::par::Par;
    use tensorize::rank::*;
    use tensorize::{Budget, Factorized, Tensor};

    #[test]
    fn with_variants_agree_with_the_automatic_ones() {
        let x = Tensor::<f64>::from_fn(&[6, 5, 4, 3], |i| {
            1.0 / (1.0 + (i[0] + 2 * i[1] + i[2] * i[3]) as f64)
        })
        .unwrap();
        for par in [Par::Seq, Par::rayon(2)] {
            let budget = Budget::Params(150);
            let (a, ra) = tucker_for_budget(&x, budget).unwrap();
            let (b, rb) = tucker_for_budget_with(&x, budget, par).unwrap();
            assert_eq!(a.ranks(), b.ranks());
            assert!((ra.rel_error - rb.rel_error).abs() <= 1e-12);
            assert!(b.num_params() <= 150);
            let (a, _) = tt_for_budget(&x, budget).unwrap();
            let (b, _) = tt_for_budget_with(&x, budget, par).unwrap();
            assert_eq!(a.ranks(), b.ranks());
            assert!(b.num_params() <= 150);
            let w = Mat::<f64>::from_fn(7, 9, |i, j| ((i * j) as f64).sin());
            let l1 = LayerSpectrum::from_matrix("w", w.as_ref()).unwrap();
            let l2 = LayerSpectrum::from_matrix_with("w", w.as_ref(), par).unwrap();
            assert_eq!(l1.singular_values.len(), l2.singular_values.len());
            for (p, q) in l1.singular_values.iter().zip(&l2.singular_values) {
                assert!((p - q).abs() <= 1e-12 * l1.singular_values[0]);
            }
            assert_eq!(
                matrix_rank_for_error(w.as_ref(), 1e-3).unwrap(),
                matrix_rank_for_error_with(w.as_ref(), 1e-3, par).unwrap()
            );
            let s1 = tucker_spectra(&x).unwrap();
            let s2 = tucker_spectra_with(&x, par).unwrap();
            let t1 = tt_bond_spectra(&x).unwrap();
            let t2 = tt_bond_spectra_with(&x, par).unwrap();
            for (u, v) in s1.iter().chain(&t1).zip(s2.iter().chain(&t2)) {
                assert_eq!(u.len(), v.len());
                for (p, q) in u.iter().zip(v) {
                    assert!((p - q).abs() <= 1e-10 * u[0]);
                }
            }
        }
    }
}

mod dual {
    use proptest::prelude::*;
    use tensorize::rank::{allocate_for_error, LayerSpectrum};
    use tensorize::Error;

    fn layer() -> impl Strategy<Value = LayerSpectrum> {
        (prop::collection::vec(0.0f64..3.0, 1..=5), 1usize..6, 0.0f64..3.0).prop_map(
            |(mut d, cost, w)| {
                for i in (0..d.len().saturating_sub(1)).rev() {
                    d[i] += d[i + 1];
                }
                let len = d.len();
                LayerSpectrum::new("l", d, cost, cost * len).weight(w)
            },
        )
    }

    /// The cheapest cost reaching the target, by exhaustive search.
    fn brute(layers: &[LayerSpectrum], target: f64) -> usize {
        fn rec(
            layers: &[LayerSpectrum],
            i: usize,
            cost: usize,
            err: f64,
            target: f64,
            best: &mut usize,
        ) {
            if i == layers.len() {
                if err <= target + 1e-12 && cost < *best {
                    *best = cost;
                }
                return;
            }
            let l = &layers[i];
            for r in l.min_rank..=l.max_rank {
                rec(
                    layers,
                    i + 1,
                    cost + r * l.params_per_rank,
                    err + l.weight * l.rel_error_sq(r),
                    target,
                    best,
                );
            }
        }
        let mut best = usize::MAX;
        rec(layers, 0, 0, 0.0, target, &mut best);
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn dual_meets_target_within_one_step_of_cheapest(
            layers in prop::collection::vec(layer(), 1..4), target in 0.0f64..2.0,
        ) {
            // Reachable exactly when the maximal ranks meet the target; then it must succeed.
            match allocate_for_error(&layers, target) {
                Err(e) => {
                    let best: f64 = layers.iter().map(|l| l.weight * l.rel_error_sq(l.max_rank)).sum();
                    prop_assert!(best > target, "refused a reachable target: {}", e);
                    prop_assert!(matches!(e, Error::InvalidParameter { name: "max_total_error", .. }), "{}", e);
                }
                Ok(a) => {
                    prop_assert!(a.total_error <= target);
                    let opt = brute(&layers, target);
                    let max_step = layers.iter().map(|l| l.params_per_rank).max().unwrap();
                    prop_assert!(a.params >= opt);
                    prop_assert!(a.params <= opt + max_step, "greedy {} opt {}", a.params, opt);
                }
            }
        }
    }
}
