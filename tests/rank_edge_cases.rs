//! Numerical edge cases for the rank rules and tensorized compression, in f32 and f64: the
//! zero tensor, a constant, a rank-one outer product, duplicate singular values, a random
//! tensor and the same scaled to the ends of the range (1e±300 in f64, 1e±30 in f32), and a
//! single NaN or infinity. Every rule either answers — ranks within their bounds, ε honoured,
//! the same answer at every scale (the rules are scale-invariant) — or returns a typed error
//! saying why (for NaN/Inf: `NonFinite`). tests/decomp_edge_cases.rs does the same for the
//! decompositions themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use tensorize::linalg::{svd_truncated, Truncation};
use tensorize::par::Par;
use tensorize::rank::{
    allocate, cp_rank_for_error, evbmf, matrix_rank_for_error, musco_ranks, tt_for_budget,
    tucker_for_budget, LayerSpectrum,
};
use tensorize::tenalg::unfold;
use tensorize::tensorization::{compress, Method};
use tensorize::{Budget, Error, Factorized, Result, Scalar, Tensor};

#[path = "common/edge.rs"]
mod edge;
use edge::{random, rel_error, scaled, special, tolerance, with_entry};

const EPS: f64 = 0.1;

/// `‖σ_{r..}‖ / ‖σ‖` of a spectrum, each value divided by the largest first.
fn tail_error(s: &[f64], r: usize) -> f64 {
    let top = s.iter().fold(0.0f64, |m, v| m.max(*v));
    if top == 0.0 {
        return 0.0;
    }
    let sq = |v: &[f64]| v.iter().map(|x| (x / top).powi(2)).sum::<f64>();
    (sq(&s[r..]) / sq(s)).sqrt()
}

/// The mode-0 unfolding's singular values, in f64.
fn spectrum<T: Scalar>(x: &Tensor<T>) -> Vec<f64> {
    let u = unfold(x, 0).unwrap();
    let t = svd_truncated(u.as_mat().unwrap(), &Truncation::rank(1), Par::Seq).unwrap();
    t.full_spectrum.iter().map(|v| v.as_f64()).collect()
}

/// What every rule answered on one input: compared across scales.
#[derive(Debug, PartialEq)]
struct Answers {
    eps_rank: usize,
    evbmf_rank: usize,
    musco: Option<[usize; 4]>,
    tucker_ranks: Option<Vec<usize>>,
    tt_ranks: Option<Vec<usize>>,
    allocation: Vec<usize>,
}

/// Runs every rule on `x` (all finite), checks each answer, and returns them. Every rule is
/// tried before failing, so one run names all that break on this input.
fn check_all<T: Scalar>(what: &str, x: &Tensor<T>) -> (Answers, Vec<Option<f64>>) {
    let ctx = format!("{what} {:?} ({})", x.shape(), T::NAME);
    let mut failed = Vec::new();
    let n = x.numel();
    let tol = tolerance::<T>(n, 0.0);
    let s = spectrum(x);
    let u = unfold(x, 0).unwrap();
    let (rows, cols) = (u.shape()[0], u.shape()[1]);

    // Rank by ε on the SVD spectrum: the truncation it picks keeps the error within ε.
    let eps_rank = matrix_rank_for_error(u.as_mat().unwrap(), EPS).unwrap();
    let achieved = tail_error(&s, eps_rank);
    if !(1..=rows.min(cols)).contains(&eps_rank) || achieved > EPS + tol {
        failed.push(format!("rank for ε {EPS}: {eps_rank}, error {achieved:e} ({s:?})"));
    }

    // EVBMF: a rank within the spectrum and a finite threshold. σ² is the square of the data's
    // scale: ∞ only when it lies beyond T's range (σ² ≤ threshold², so the threshold is then
    // beyond the square root of it).
    let e = evbmf(u.as_mat().unwrap()).unwrap();
    let (sigma2, threshold) = (e.sigma2.as_f64(), e.threshold.as_f64());
    let sigma2_ok =
        sigma2 >= 0.0 && (sigma2.is_finite() || threshold > T::max_value().as_f64().sqrt());
    if e.rank > rows.min(cols) || !sigma2_ok || !threshold.is_finite() {
        failed.push(format!(
            "EVBMF: rank {}, σ² {:e}, threshold {:e}",
            e.rank,
            e.sigma2.as_f64(),
            e.threshold.as_f64()
        ));
    }

    // MUSCO's weakened rank, for linear weights and conv kernels.
    let musco = is_weight(x).then(|| {
        let m = musco_ranks(x, 0.8, 1).unwrap();
        if m.out_rank > x.shape()[0] || m.in_rank > x.shape()[1] {
            failed.push(format!("MUSCO ranks {m:?}"));
        }
        [m.out_rank, m.in_rank, m.vbmf_out, m.vbmf_in]
    });

    // Tucker and TT under half the parameters: within the budget, the error reported is the
    // error of what is returned. A budget below the all-ones ranks is refused as such.
    let budget = Budget::KeepFraction(0.5);
    let limit = n / 2;
    let mut fits = |name: &str, fit: Result<(Box<dyn Factorized<T>>, f64)>| match fit {
        Ok((f, reported)) => {
            let y = f.to_dense().unwrap();
            let rec = rel_error(x, &y);
            let finite = y.as_slice().iter().all(|v| v.as_f64().is_finite());
            if f.num_params() > limit || !finite || (reported - rec).abs() > tol {
                failed.push(format!(
                    "{name}: {} params of {limit}, reported {reported:e}, recomputed {rec:e}",
                    f.num_params()
                ));
            }
            true
        }
        Err(Error::InvalidRank { .. }) => false,
        Err(e) => {
            failed.push(format!("{name}: {e}"));
            false
        }
    };
    let tucker = tucker_for_budget(x, budget);
    let tucker_ranks = tucker.as_ref().ok().map(|(t, _)| t.ranks());
    fits("Tucker for budget", tucker.map(|(t, r)| (Box::new(t) as _, r.rel_error)));
    let tt = tt_for_budget(x, budget);
    let tt_ranks = tt.as_ref().ok().map(|(t, _)| t.ranks());
    fits("TT for budget", tt.map(|(t, r)| (Box::new(t) as _, r.rel_error)));

    // The allocator on this layer beside an ordinary one, at half their parameters.
    let other = random::<T>(&[4, 3], 7);
    let layers = [
        LayerSpectrum::from_matrix("x", u.as_mat().unwrap()).unwrap(),
        LayerSpectrum::from_matrix("other", other.as_mat().unwrap()).unwrap(),
    ];
    let dense = layers.iter().map(|l| l.dense_params).sum::<usize>();
    let allocation = match allocate(&layers, Budget::Params(dense / 2)) {
        Ok(a) => {
            if a.params > dense / 2 || !a.total_error.is_finite() {
                failed.push(format!("allocation {a:?}"));
            }
            a.ranks
        }
        Err(e @ Error::InvalidRank { .. }) => {
            // Only when even rank 1 everywhere does not fit.
            let ones = layers.iter().map(|l| l.params_per_rank).sum::<usize>();
            if ones <= dense / 2 {
                failed.push(format!("allocation refused: {e}"));
            }
            Vec::new()
        }
        Err(e) => {
            failed.push(format!("allocation: {e}"));
            Vec::new()
        }
    };

    // CP rank by ε (a short search): reached means the fit is within ε.
    match cp_rank_for_error(x, 0.3, 2) {
        Ok(found) => {
            let rec = rel_error(x, &found.cp.to_dense().unwrap());
            if !(1..=2).contains(&found.rank)
                || (found.report.rel_error - rec).abs() > tol
                || (found.reached && rec > 0.3 + tol)
            {
                failed.push(format!(
                    "CP rank for ε: rank {}, reported {:e}, recomputed {rec:e}, reached {}",
                    found.rank, found.report.rel_error, found.reached
                ));
            }
        }
        Err(e) => failed.push(format!("CP rank for ε: {e}")),
    }

    // Tensorized compression of linear weights and conv kernels: every method either compresses
    // (its error is that of its reconstruction) or names why it cannot at this size.
    let compressed = methods()
        .into_iter()
        .map(|method| {
            if !is_weight(x) {
                return None;
            }
            match compress(x, method, Budget::KeepFraction(0.5)) {
                Ok(c) => {
                    let y = c.reconstruct().unwrap();
                    let rec = rel_error(x, &y);
                    let finite = y.as_slice().iter().all(|v| v.as_f64().is_finite());
                    if !finite || (c.rel_error() - rec).abs() > tol {
                        failed.push(format!(
                            "compress {method:?}: rel_error {:e}, recomputed {rec:e}",
                            c.rel_error()
                        ));
                    }
                    Some(rec)
                }
                Err(Error::InvalidRank { .. }) => None,
                Err(e) => {
                    failed.push(format!("compress {method:?}: {e}"));
                    None
                }
            }
        })
        .collect();

    assert!(failed.is_empty(), "{ctx}: {failed:#?}");
    let answers =
        Answers { eps_rank, evbmf_rank: e.rank, musco, tucker_ranks, tt_ranks, allocation };
    (answers, compressed)
}

/// Whether `x` has the shape of a weight `compress` and MUSCO take: `[out, in]` or
/// `[out, in, kh, kw]`.
fn is_weight<T: Scalar>(x: &Tensor<T>) -> bool {
    x.ndim() == 2 || x.ndim() == 4
}

fn methods() -> Vec<Method> {
    vec![
        Method::Svd,
        Method::Cp,
        Method::Tucker2,
        Method::Tt,
        Method::RCp { factors: 2 },
        Method::RTucker { factors: 2 },
        Method::RTt { factors: 2 },
    ]
}

/// Every rule refuses a tensor holding a NaN or an infinity with `NonFinite`.
fn refuses_non_finite<T: Scalar>(x: &Tensor<T>, k: usize) {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let y = with_entry(x, k, bad);
        let u = unfold(&y, 0).unwrap();
        let m = u.as_mat().unwrap();
        let mut answers: Vec<(&str, Result<()>)> = vec![
            ("rank for ε", matrix_rank_for_error(m, EPS).map(drop)),
            ("EVBMF", evbmf(m).map(drop)),
            ("Tucker for budget", tucker_for_budget(&y, Budget::KeepFraction(0.5)).map(drop)),
            ("TT for budget", tt_for_budget(&y, Budget::KeepFraction(0.5)).map(drop)),
            ("spectrum for allocation", LayerSpectrum::from_matrix("y", m).map(drop)),
            ("CP rank for ε", cp_rank_for_error(&y, 0.3, 2).map(drop)),
        ];
        if is_weight(&y) {
            answers.push(("MUSCO", musco_ranks(&y, 0.8, 1).map(drop)));
            for method in methods() {
                answers
                    .push(("compress", compress(&y, method, Budget::KeepFraction(0.5)).map(drop)));
            }
        }
        for (name, answer) in answers {
            assert!(
                matches!(answer, Err(Error::NonFinite { .. })),
                "{name} on {:?} with {bad} at {k} ({}): {answer:?}",
                y.shape(),
                T::NAME
            );
        }
    }
}

/// Every case for one precision.
fn cases<T: Scalar>(shape: &[usize], seed: u64, big: f64, small: f64) {
    let x = random::<T>(shape, seed);
    for (what, special) in special::<T>(shape) {
        check_all(what, &special);
    }
    let (base, base_errors) = check_all("random", &x);
    for c in [big, small] {
        let (answers, errors) = check_all(&format!("random × {c:e}"), &scaled(&x, c));
        // The rules see only relative sizes: the same answers at every scale.
        assert_eq!(answers, base, "random × {c:e} {shape:?} ({})", T::NAME);
        // So do the one-pass compressions (CP's alternating fits may take another path).
        for ((method, e), b) in methods().iter().zip(&errors).zip(&base_errors) {
            let one_pass = !matches!(
                method,
                Method::Cp | Method::RCp { .. } | Method::Tucker2 | Method::RTucker { .. }
            );
            if let (true, Some(e), Some(b)) = (one_pass, e, b) {
                let tol = 10.0 * tolerance::<T>(x.numel(), 0.0);
                assert!((e - b).abs() <= tol, "{method:?} × {c:e}: {e:e} vs {b:e} ({})", T::NAME);
            }
        }
    }
    refuses_non_finite(&x, seed as usize % x.numel());
}

/// Shapes of order 2–4 that are also weights: `[out, in]`, and `[out, in, kh, kw]`.
fn shapes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..6, 2..=4)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn rank_edge_cases_f64(shape in shapes(), seed in 0u64..1000) {
        cases::<f64>(&shape, seed, 1e300, 1e-300);
    }

    #[test]
    fn rank_edge_cases_f32(shape in shapes(), seed in 0u64..1000) {
        cases::<f32>(&shape, seed, 1e30, 1e-30);
    }
}

/// The spectra that broke the ε rule: singular values whose squares overflow (1e300) or
/// underflow (1e-300) in f64. The rank must still honour ε.
#[test]
fn rank_for_error_of_extreme_spectra() {
    use tensorize::rank::svd_rank_for_error;
    let s = [4.0, 2.0, 1.0, 0.5];
    for c in [1.0, 1e300, 1e-300, 1e-320] {
        let scaled: Vec<f64> = s.iter().map(|v| v * c).collect();
        assert_eq!(svd_rank_for_error(&scaled, 0.25).unwrap(), 2, "× {c:e}");
        assert_eq!(svd_rank_for_error(&scaled, 0.0).unwrap(), 4, "× {c:e}");
    }
}
