#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Properties of the rank rules: budgets are never exceeded, more budget never hurts, the greedy
//! allocation is within its documented bound of the brute-force optimum, ε rules hit ε.

use proptest::prelude::*;
use tensorize::rank::{allocate, Budget, LayerSpectrum};

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
        match allocate(&layers, Budget::Params(budget)) {
            Err(_) => prop_assert!(opt.is_none(), "greedy refused a feasible budget"),
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
        if let Ok(a) = allocate(&layers, Budget::Params(budget)) {
            let b = allocate(&layers, Budget::Params(budget + extra)).unwrap();
            prop_assert!(b.gap_bound >= 0.0);
            prop_assert!(b.total_error <= a.total_error + b.gap_bound + 1e-12);
            prop_assert!(b.params <= budget + extra);
        }
        if let Ok(a) = allocate(&layers, Budget::Flops(budget)) {
            prop_assert!(a.flops.unwrap() <= budget);
            let b = allocate(&layers, Budget::Flops(budget + extra)).unwrap();
            prop_assert!(b.total_error <= a.total_error + b.gap_bound + 1e-12);
        }
    }
}
