//! Differential tests: the batched kernel against naive loops over the element formula
//! `W[i, j] = G_1[:, i_1, j_1, :] ⋯ G_d[:, i_d, j_d, :]`, on raw chains of cores.

#![allow(clippy::needless_range_loop, clippy::type_complexity)]

use std::ops::Range;

use super::*;
use crate::error::Error;
use crate::par::Par;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn random_tt<T: Scalar>(m: &[usize], n: &[usize], r: &[usize], seed: u64) -> Vec<Tensor<T>> {
    (0..m.len())
        .map(|k| Tensor::random_normal(&[r[k], m[k], n[k], r[k + 1]], seed + k as u64).unwrap())
        .collect()
}

/// `W` (row-major `M × N`) entry by entry from the element formula, in f64.
fn naive_dense<T: Scalar>(w: &[Tensor<T>]) -> (usize, usize, Vec<T>) {
    let (m, n): (Vec<usize>, Vec<usize>) = w.iter().map(|c| (c.shape()[1], c.shape()[2])).unzip();
    let (rows, cols) = (m.iter().product::<usize>(), n.iter().product::<usize>());
    let mut v = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            // Row vector times each core slice, last mode fastest in both multi-indices.
            let (mut ri, mut rj) = (i, j);
            let mut idx = vec![(0, 0); w.len()];
            for k in (0..w.len()).rev() {
                idx[k] = (ri % m[k], rj % n[k]);
                ri /= m[k];
                rj /= n[k];
            }
            let mut acc = vec![1.0f64];
            for (c, &(ik, jk)) in w.iter().zip(&idx) {
                let [r0, mk, nk, r1] = [c.shape()[0], c.shape()[1], c.shape()[2], c.shape()[3]];
                let mut next = vec![0.0; r1];
                for a in 0..r0 {
                    for b in 0..r1 {
                        next[b] +=
                            acc[a] * c.as_slice()[((a * mk + ik) * nk + jk) * r1 + b].as_f64();
                    }
                }
                acc = next;
            }
            v.push(T::of(acc[0]));
        }
    }
    (rows, cols, v)
}

fn check<T: Scalar>(m: &[usize], n: &[usize], r: &[usize], batch: usize, seed: u64) {
    let w = random_tt::<T>(m, n, r, seed);
    let (rows, cols, dense) = naive_dense(&w);
    let x = Tensor::<T>::random_normal(&[batch, cols], seed + 100).unwrap();
    let yt = Tensor::<T>::random_normal(&[batch, rows], seed + 200).unwrap();
    let scale: f64 = r.iter().map(|&v| v as f64).product::<f64>().sqrt();
    for (op, input, len_out) in [(TtOp::Normal, &x, rows), (TtOp::Transpose, &yt, cols)] {
        let len_in = input.shape()[1];
        let mut want = vec![T::zero(); batch * len_out];
        for b in 0..batch {
            for o in 0..len_out {
                let mut s = T::zero();
                for c in 0..len_in {
                    let wv = match op {
                        TtOp::Normal => dense[o * cols + c],
                        TtOp::Transpose => dense[c * cols + o],
                    };
                    s += wv * input.as_slice()[b * len_in + c];
                }
                want[b * len_out + o] = s;
            }
        }
        let wn: f64 = want.iter().map(|v| v.as_f64().powi(2)).sum::<f64>().sqrt();
        let tol = 50.0 * T::epsilon().as_f64() * ((batch * len_in * len_out) as f64).sqrt() * scale;
        // Both orders, with every split of the cores into merged groups.
        let d = m.len();
        let splits = (0..1u32 << (d - 1)).map(|mask| {
            let mut cuts = vec![0];
            cuts.extend((1..d).filter(|c| mask & (1 << (c - 1)) != 0));
            cuts.push(d);
            cuts.windows(2).map(|w| w[0]..w[1]).collect::<Vec<_>>()
        });
        let plans = splits.flat_map(|groups| {
            [TtDirection::LeftToRight, TtDirection::RightToLeft].map(|dir| (dir, groups.clone()))
        });
        for (dir, groups) in plans {
            let mut plan = TtMatvecPlan::with_groups(&w, op, dir, &groups).unwrap();
            assert_eq!(plan.groups(), groups.as_slice());
            if seed % 2 == 1 {
                plan.state_bytes = 1; // one row per sub-batch
            }
            for par in [Par::Seq, Par::rayon(2)] {
                let mut out = Tensor::zeros(&[batch, len_out]).unwrap();
                let mut ws = TtMatvecWorkspace::new();
                plan.apply_into(input, &mut out, &mut ws, par).unwrap();
                // A second call reuses the workspace and must give the same result.
                let first = out.clone();
                plan.apply_into(input, &mut out, &mut ws, par).unwrap();
                assert_eq!(first, out);
                let err: f64 = out
                    .as_slice()
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a.as_f64() - b.as_f64()).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(
                    err <= tol * wn.max(1.0),
                    "{op:?} {dir:?} {groups:?} m={m:?} n={n:?} r={r:?} B={batch}: err {err} > {}",
                    tol * wn.max(1.0)
                );
            }
        }
    }
}

#[test]
fn matches_naive_on_varied_shapes() {
    let cases: &[(&[usize], &[usize], &[usize], usize)] = &[
        (&[3], &[4], &[1, 1], 2),
        (&[2, 3], &[3, 2], &[1, 2, 1], 1),
        (&[2, 3], &[3, 2], &[1, 4, 1], 5),
        (&[1, 3, 2], &[2, 1, 3], &[1, 2, 3, 1], 4),
        (&[2, 2, 2], &[3, 3, 3], &[1, 1, 1, 1], 3),
        (&[4, 1, 2, 3], &[2, 3, 1, 2], &[1, 3, 2, 2, 1], 7),
        (&[1, 1], &[1, 1], &[1, 2, 1], 3),
        (&[2, 3, 2], &[2, 2, 2], &[1, 5, 3, 1], 9),
    ];
    for (s, &(m, n, r, b)) in cases.iter().enumerate() {
        check::<f64>(m, n, r, b, 10 * s as u64);
        check::<f32>(m, n, r, b, 10 * s as u64 + 1);
    }
}

#[test]
fn chooses_the_cheaper_direction() {
    // Large row modes at the end and column modes at the front favour one order.
    let w = random_tt::<f64>(&[1, 2, 8], &[8, 2, 1], &[1, 4, 4, 1], 1);
    let l = TtMatvecPlan::with_direction(&w, TtOp::Normal, TtDirection::LeftToRight).unwrap();
    let r = TtMatvecPlan::with_direction(&w, TtOp::Normal, TtDirection::RightToLeft).unwrap();
    let best = TtMatvecPlan::cheapest(&w, TtOp::Normal).unwrap();
    assert!(l.flops(1) != r.flops(1));
    assert_eq!(best.flops(1), l.flops(1).min(r.flops(1)));
}

#[test]
fn merges_neighbouring_cores_where_that_halves_the_flops() {
    // 4096² as 8⁴ × 8⁴ at rank 16: the end pairs merge, 2.1× fewer flops.
    let w = random_tt::<f64>(&[8; 4], &[8; 4], &[1, 16, 16, 16, 1], 3);
    let x = Tensor::<f64>::random_normal(&[3, 4096], 4).unwrap();
    for op in [TtOp::Normal, TtOp::Transpose] {
        let best = TtMatvecPlan::cheapest(&w, op).unwrap();
        let plain = TtMatvecPlan::unmerged(&w, op).unwrap();
        assert_eq!(best.groups(), &[0..2, 2..4]);
        assert_eq!(plain.groups(), &[0..1, 1..2, 2..3, 3..4]);
        assert_eq!(best.flops(1), 2.0 * 2.0 * 64.0 * 64.0 * 64.0 * 16.0);
        assert!(best.flops(1) * 2.0 <= plain.flops(1));
        let (a, b) = (best.apply(&x).unwrap(), plain.apply(&x).unwrap());
        assert!(a.sub(&b).unwrap().norm() <= 1e-12 * b.norm());
    }
    // Rank 8 saves only 1.1×: one core per step.
    let w = random_tt::<f64>(&[8; 4], &[8; 4], &[1, 8, 8, 8, 1], 5);
    assert_eq!(TtMatvecPlan::cheapest(&w, TtOp::Normal).unwrap().groups().len(), 4);
}

#[test]
fn groups_that_do_not_split_the_cores_are_refused() {
    let w = random_tt::<f64>(&[2, 2, 2], &[2, 2, 2], &[1, 2, 2, 1], 1);
    let bad: [&[Range<usize>]; 5] =
        [&[], &[0..1, 2..3], &[0..1, 1..2], &[0..0, 0..3], &[0..2, 1..3]];
    for groups in bad {
        let err = TtMatvecPlan::with_groups(&w, TtOp::Normal, TtDirection::LeftToRight, groups);
        assert!(matches!(err, Err(Error::InvalidModes { ndim: 3, .. })), "{groups:?}");
    }
}

#[test]
fn flops_formula_for_a_uniform_case() {
    // 2 cores, m = n = 4, rank 3: left to right 2·(4·1·4·3) + 2·(4·4·3·4·1) per sample.
    let w = random_tt::<f64>(&[4, 4], &[4, 4], &[1, 3, 1], 2);
    let l = TtMatvecPlan::with_direction(&w, TtOp::Normal, TtDirection::LeftToRight).unwrap();
    assert_eq!(l.flops(1), 2.0 * (4.0 * 4.0 * 12.0) + 2.0 * (4.0 * 12.0 * 4.0));
}

#[test]
fn backward_matches_finite_differences_of_a_linear_form() {
    // f(W, x) = <dy, W x> is linear in each core and in x: gradients are exact differences.
    let (m, n, r) = ([2usize, 3, 2], [3usize, 2, 2], [1usize, 2, 3, 1]);
    let w = random_tt::<f64>(&m, &n, &r, 5);
    let x = Tensor::<f64>::random_normal(&[3, 12], 6).unwrap();
    let dy = Tensor::<f64>::random_normal(&[3, 12], 7).unwrap();
    for dir in [TtDirection::LeftToRight, TtDirection::RightToLeft] {
        let plan =
            TtTrainingPlan { plan: TtMatvecPlan::with_direction(&w, TtOp::Normal, dir).unwrap() };
        let (_, tape) = plan.forward(&x, Par::Seq).unwrap();
        let (dx, dcores) = plan.backward(&tape, &dy, Par::Seq).unwrap();
        let (dx, dcores): (Vec<f64>, Vec<Vec<f64>>) =
            (dx.into_vec(), dcores.into_iter().map(Tensor::into_vec).collect());
        let f = |w: &[Tensor<f64>], x: &Tensor<f64>| {
            TtMatvecPlan::cheapest(w, TtOp::Normal).unwrap().apply(x).unwrap().inner(&dy).unwrap()
        };
        let base = f(&w, &x);
        for p in 0..x.numel() {
            let mut xp = x.clone();
            xp.as_mut_slice()[p] += 1.0;
            assert!((f(&w, &xp) - base - dx[p]).abs() < 1e-10 * (1.0 + base.abs()));
        }
        for (k, dc) in dcores.iter().enumerate() {
            for p in 0..dc.len() {
                let mut wp = w.clone();
                wp[k].as_mut_slice()[p] += 1.0;
                assert!((f(&wp, &x) - base - dc[p]).abs() < 1e-10 * (1.0 + base.abs()));
            }
        }
    }
}

#[test]
fn workspace_is_reused_without_reallocation() {
    let w = random_tt::<f32>(&[4, 4, 4], &[4, 4, 4], &[1, 3, 3, 1], 3);
    let plan = TtMatvecPlan::cheapest(&w, TtOp::Normal).unwrap();
    let x = Tensor::<f32>::random_normal(&[8, 64], 4).unwrap();
    let mut y = Tensor::zeros(&[8, 64]).unwrap();
    let mut ws = TtMatvecWorkspace::new();
    for par in [Par::Seq, Par::rayon(2)] {
        plan.apply_into(&x, &mut y, &mut ws, par).unwrap();
        let ptrs: Vec<_> = ws.chunks.iter().map(|(a, b)| (a.as_ptr(), b.as_ptr())).collect();
        plan.apply_into(&x, &mut y, &mut ws, par).unwrap();
        let again: Vec<_> = ws.chunks.iter().map(|(a, b)| (a.as_ptr(), b.as_ptr())).collect();
        assert_eq!(ptrs, again);
    }
}
