//! The skinny kernels against the plain triple loop, over panel widths that hit every register
//! block size, inner lengths with and without SIMD tails, odd row counts and several threads.

use faer::Mat;

use super::*;
use crate::tensor::Tensor;

fn random<T: Scalar>(n: usize, seed: u64) -> Vec<T> {
    Tensor::<T>::random_normal(&[n.max(1)], seed).unwrap().as_slice()[..n].to_vec()
}

/// Checks `got[i] ≈ Σ_q x(i, q) · y(i, q)` within the standard dot-product rounding bound
/// `2 · len · eps · Σ |x y|` (computed in f64).
fn check_dots<T: Scalar>(
    got: &[T],
    len: usize,
    pair: impl Fn(usize, usize) -> (f64, f64),
    what: &str,
) {
    let eps = T::epsilon().as_f64();
    for (i, g) in got.iter().enumerate() {
        let (mut exact, mut abs) = (0.0, 0.0);
        for q in 0..len {
            let (x, y) = pair(i, q);
            exact += x * y;
            abs += (x * y).abs();
        }
        let tol = 2.0 * (len as f64 + 2.0) * eps * abs + f64::MIN_POSITIVE;
        assert!((g.as_f64() - exact).abs() <= tol, "{what}: entry {i}: {g} vs {exact} (tol {tol})");
    }
}

fn check_a_times_panel<T: Scalar>(m: usize, k: usize, r: usize, par: Par) {
    let a = random::<T>(m * k, 1);
    let bv = random::<T>(k * r, 2);
    // A column-major panel with a padded stride, as faer matrices have.
    let b = Mat::<T>::from_fn(k, r, |q, j| bv[q * r + j]);
    let mut dst = vec![T::nan(); m * r];
    a_times_panel(&a, k, b.as_ref(), &mut dst, par).unwrap();
    let what = format!("{} a·b m={m} k={k} r={r}", T::NAME);
    check_dots(&dst, k, |e, q| (a[(e / r) * k + q].as_f64(), bv[q * r + e % r].as_f64()), &what);
}

fn check_at_times_panel<T: Scalar>(m: usize, k: usize, r: usize, par: Par) {
    let a = random::<T>(m * k, 3);
    let c = random::<T>(m * r, 4);
    let mut dst = vec![T::nan(); k * r];
    at_times_panel(&a, k, &c, r, &mut dst, par).unwrap();
    let what = format!("{} aᵀ·c m={m} k={k} r={r}", T::NAME);
    check_dots(&dst, m, |e, i| (a[i * k + e / r].as_f64(), c[i * r + e % r].as_f64()), &what);
}

fn all_shapes(check: impl Fn(usize, usize, usize, Par)) {
    for r in [1, 2, 3, 5, 6, 7, 10, 12, 13, 16, 31, 32, 33] {
        for k in [1, 3, 4, 7, 8, 9, 16, 17, 37, 200] {
            for m in [1, 2, 5, 130] {
                check(m, k, r, Par::Seq);
            }
        }
        check(300, 40, r, Par::rayon(2));
    }
}

#[test]
fn a_times_panel_matches_triple_loop() {
    all_shapes(check_a_times_panel::<f64>);
    all_shapes(check_a_times_panel::<f32>);
}

#[test]
fn at_times_panel_matches_triple_loop() {
    all_shapes(check_at_times_panel::<f64>);
    all_shapes(check_at_times_panel::<f32>);
}

#[test]
fn long_inner_dimension_is_blocked_correctly() {
    // k beyond one L2 panel block (192 KiB / (32 · 8 B) = 768 f64 columns), and the row block
    // of the rank-one kernel (256 rows) crossed with a remainder.
    check_a_times_panel::<f64>(9, 2000, 32, Par::Seq);
    check_a_times_panel::<f32>(9, 4000, 32, Par::rayon(2));
    check_at_times_panel::<f64>(700, 19, 10, Par::Seq);
    check_at_times_panel::<f32>(700, 29, 10, Par::rayon(2));
    // k beyond one accumulator panel (256 KiB / (10 · 8 B) → 3264 f64 columns, 2048 f32
    // columns at r = 32), with a short last panel and its SIMD tail.
    check_at_times_panel::<f64>(9, 7000, 10, Par::Seq);
    check_at_times_panel::<f64>(5, 6531, 10, Par::rayon(2));
    check_at_times_panel::<f32>(7, 4103, 32, Par::rayon(2));
}

#[test]
fn panel_blocks_cover_the_panel_evenly() {
    assert_eq!(panel_blocks(10), vec![(0, 5), (5, 5)]);
    assert_eq!(panel_blocks(6), vec![(0, 6)]);
    assert_eq!(panel_blocks(13), vec![(0, 5), (5, 4), (9, 4)]);
    for r in 1..=MAX_PANEL {
        let blocks = panel_blocks(r);
        assert!(blocks.iter().all(|&(_, w)| (1..=MAX_BLOCK).contains(&w)));
        assert_eq!(blocks.iter().map(|b| b.1).sum::<usize>(), r);
    }
}

/// Runs the two kernels straight through their precision dispatch (no faer fallback), so a
/// precision the dispatch skipped would leave `dst` as it was (NaN, or zero accumulators).
fn check_dispatch<T: Scalar>() {
    let (m, k, r) = (5, 16, 3);
    let a = random::<T>(m * k, 5);
    let bt = random::<T>(r * k, 6);
    let mut dst = vec![T::nan(); m * r];
    dot_kernel(&a, k, &bt, r, &mut dst);
    let what = format!("{} dot_kernel", T::NAME);
    check_dots(&dst, k, |e, q| (a[(e / r) * k + q].as_f64(), bt[(e % r) * k + q].as_f64()), &what);

    let c = random::<T>(m * r, 7);
    let mut acc = vec![T::zero(); r * k];
    outer_kernel(&a, k, k, &c, r, &mut acc);
    let what = format!("{} outer_kernel", T::NAME);
    // `acc` is the transposed r × k result: entry e is (column e / k of c, column e % k of a).
    check_dots(&acc, m, |e, i| (a[i * k + e % k].as_f64(), c[i * r + e / k].as_f64()), &what);
}

#[test]
fn dispatch_runs_a_kernel_for_both_precisions() {
    if !crate::kernels::simd_available() {
        eprintln!("skipping: no AVX2 + FMA on this CPU, the kernels never run");
        return;
    }
    check_dispatch::<f32>();
    check_dispatch::<f64>();
}
