//! Partial MTTKRPs (a dimension tree): the tensor contracted over one mode `c` with its factor,
//!
//! ```text
//! P_c[i_0, …, î_c, …, i_{N-1}, r] = Σ_j X[i_0, …, j, …, i_{N-1}] · U_c[j, r]
//! ```
//!
//! (row-major over the other modes, rank index last; `numel · R / I_c` entries), from which the
//! MTTKRP of every other mode `n` follows in `O(numel · R / I_c)` work:
//! `M_n[i, r] = Σ_{a, b} K_<[a, r] · K_>[b, r] · P_c[a, i, b, r]`, with `K_<`, `K_>` the
//! Khatri–Rao products of the remaining factors before and after `n`. One pass over `X` thus
//! serves every update until `U_c` itself changes: CP-ALS needs `N / (N − 1)` passes per sweep
//! (see `decomp::cp_als`).

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::mttkrp::{for_row_chunks, khatri_rao_row_major};
use super::skinny::{a_times_panel, at_times_panel};
use crate::error::{refill, Error, Result};
use crate::par::{thread_count, Par, PARALLEL_FLOP_THRESHOLD};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Writes `P_c` (see the module docs) for `c = mode` and `U_c = factor` into `out`: one skinny
/// GEMM straight on the tensor's buffer for the last mode, one transposed skinny GEMM per
/// contiguous `I_c × (∏_{k>c} I_k)` slab for the others (the slabs spread over the threads).
///
/// # Errors
/// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the result does not fit.
pub(crate) fn contract_mode<T: Scalar>(
    x: &Tensor<T>,
    mode: usize,
    factor: MatRef<'_, T>,
    par: Par,
    out: &mut Vec<T>,
) -> Result<()> {
    let shape = x.shape();
    let rank = factor.ncols();
    let i_c = shape[mode];
    let a: usize = shape[..mode].iter().product();
    let b: usize = shape[mode + 1..].iter().product();
    let len = (a * b).checked_mul(rank).ok_or(Error::SizeOverflow { shape: vec![a * b, rank] })?;
    // Every path below writes every entry, so a buffer of the right length (the next pass of
    // CP-ALS over a cube) is reused as it is: zeroing it cost a 1.6 MB memset per pass.
    if out.len() != len {
        refill(out, &[a * b, rank], len, T::zero())?;
    }
    let data = x.as_slice();
    if b == 1 {
        // X is the row-major (A × I_c) matrix: P = X · U_c.
        return a_times_panel(data, i_c, factor, out, par);
    }
    let u: Vec<T> = (0..i_c * rank).map(|e| factor[(e / rank, e % rank)]).collect();
    if a == 1 {
        // X is the row-major (I_c × B) matrix: P = Xᵀ · U_c.
        return at_times_panel(data, b, &u, rank, out, par);
    }
    let slab = i_c * b;
    let flops = 2.0 * x.numel() as f64 * rank as f64;
    if thread_count(par) == 1 || flops < PARALLEL_FLOP_THRESHOLD {
        for (d, s) in out.chunks_exact_mut(b * rank).zip(data.chunks_exact(slab)) {
            at_times_panel(s, b, &u, rank, d, Par::Seq)?;
        }
        return Ok(());
    }
    out.par_chunks_exact_mut(b * rank)
        .zip(data.par_chunks_exact(slab))
        .try_for_each(|(d, s)| at_times_panel(s, b, &u, rank, d, Par::Seq))
}

/// The MTTKRP of mode `mode` of the tensor of shape `kept` (the modes left in `p`) from a
/// partial `p` (row-major `kept × R`, as [`contract_mode`] writes it); `factors[k]` is the factor
/// of kept mode `k` (`factors[mode]` is used for its column count only).
///
/// # Errors
/// [`Error::SizeOverflow`] / [`Error::OutOfMemory`] for the Khatri–Rao panels.
pub(crate) fn mttkrp_from_partial<T: Scalar>(
    p: &[T],
    kept: &[usize],
    factors: &[MatRef<'_, T>],
    mode: usize,
    par: Par,
) -> Result<Mat<T>> {
    let rank = factors[mode].ncols();
    let i_n = kept[mode];
    let a: usize = kept[..mode].iter().product();
    let b: usize = kept[mode + 1..].iter().product();
    debug_assert_eq!(p.len(), a * i_n * b * rank);
    let (mut k_before, mut k_after) = (Vec::new(), Vec::new());
    khatri_rao_row_major(&factors[..mode], rank, &mut k_before)?;
    khatri_rao_row_major(&factors[mode + 1..], rank, &mut k_after)?;
    let mut out = vec![T::zero(); i_n * rank];
    let sizes = Sizes { a, i_n, b, rank };
    for_row_chunks(&mut out, rank, par, a * i_n * b * rank * 2, |rows, chunk| {
        // Ranks up to 16 get a kernel with the rank known at compile time, so the row sums
        // stay in registers (about 3× faster than the general loop at rank 10).
        macro_rules! by_rank {
            ($($r:literal)*) => {
                match rank {
                    $($r => reduce_rows::<T, $r>(p, &k_before, &k_after, sizes, rows, chunk),)*
                    _ => reduce_rows_any(p, &k_before, &k_after, sizes, rows, chunk),
                }
            };
        }
        by_rank!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    });
    Ok(Mat::from_fn(i_n, rank, |i, r| out[i * rank + r]))
}

/// The partial seen as `[A, I_n, B, R]` around the mode being reduced to.
#[derive(Clone, Copy)]
struct Sizes {
    a: usize,
    i_n: usize,
    b: usize,
    rank: usize,
}

/// `M[i, r] += Σ_a K_<[a, r] · (Σ_b K_>[b, r] · P[a, i, b, r])` for the rows `rows..` of `M`
/// in `chunk`, with `R` the rank: one multiply-add per entry of `P`, the `K_<` weight applied
/// once per `(a, i)`.
fn reduce_rows<T: Scalar, const R: usize>(
    p: &[T],
    k_before: &[T],
    k_after: &[T],
    n: Sizes,
    rows: usize,
    chunk: &mut [T],
) {
    for (ai, wa) in k_before.chunks_exact(R).enumerate().take(n.a) {
        for (li, m_row) in chunk.chunks_exact_mut(R).enumerate() {
            let base = (ai * n.i_n + rows + li) * n.b * R;
            let mut s = [T::zero(); R];
            for (t, wb) in p[base..base + n.b * R].chunks_exact(R).zip(k_after.chunks_exact(R)) {
                for ((s, &t), &w) in s.iter_mut().zip(t).zip(wb) {
                    *s += t * w;
                }
            }
            for ((m, &w), &s) in m_row.iter_mut().zip(wa).zip(&s) {
                *m += s * w;
            }
        }
    }
}

/// [`reduce_rows`] for any rank.
fn reduce_rows_any<T: Scalar>(
    p: &[T],
    k_before: &[T],
    k_after: &[T],
    n: Sizes,
    rows: usize,
    chunk: &mut [T],
) {
    let r = n.rank;
    let mut s = vec![T::zero(); r];
    for (ai, wa) in k_before.chunks_exact(r).enumerate().take(n.a) {
        for (li, m_row) in chunk.chunks_exact_mut(r).enumerate() {
            let base = (ai * n.i_n + rows + li) * n.b * r;
            s.fill(T::zero());
            for (t, wb) in p[base..base + n.b * r].chunks_exact(r).zip(k_after.chunks_exact(r)) {
                for ((s, &t), &w) in s.iter_mut().zip(t).zip(wb) {
                    *s += t * w;
                }
            }
            for ((m, &w), &s) in m_row.iter_mut().zip(wa).zip(&s) {
                *m += s * w;
            }
        }
    }
}

/// `items` without entry `skip` (the shape or factors left in a partial over mode `skip`).
pub(crate) fn without<U: Copy>(items: &[U], skip: usize) -> Vec<U> {
    items.iter().enumerate().filter(|&(k, _)| k != skip).map(|(_, &v)| v).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::mttkrp::tests::{naive, random_factors};

    #[test]
    fn every_partial_serves_every_other_mode() {
        for shape in [&[3, 4, 5][..], &[2, 3, 4, 5], &[4, 1, 3, 6], &[1, 1, 2], &[6, 9], &[7]] {
            let x = Tensor::<f64>::random_normal(shape, 5).unwrap();
            let factors = random_factors::<f64>(shape, 3, 2);
            let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
            for par in [Par::Seq, Par::rayon(2)] {
                for c in 0..shape.len() {
                    // A reused buffer of the right length full of NaN: every entry must be
                    // written.
                    let len = x.numel() / shape[c] * 3;
                    let mut p = vec![f64::NAN; len];
                    contract_mode(&x, c, views[c], par, &mut p).unwrap();
                    assert_eq!(p.len(), len);
                    let (kept, kept_views) = (without(shape, c), without(&views, c));
                    for n in (0..shape.len()).filter(|&n| n != c) {
                        let m = if n < c { n } else { n - 1 };
                        let fast = mttkrp_from_partial(&p, &kept, &kept_views, m, par).unwrap();
                        let slow = naive(&x, &factors, n);
                        let err = (&fast - &slow).norm_l2();
                        assert!(err <= 1e-12 * slow.norm_l2().max(1.0), "{shape:?} c {c} n {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn large_partials_in_f32_use_the_simd_and_threaded_paths() {
        // Slabs of 24 × 40 (SIMD kernels), rank 10 (two register blocks), many slabs on threads.
        let shape = [30, 24, 40];
        let x = Tensor::<f32>::random_normal(&shape, 8).unwrap();
        let factors = random_factors::<f32>(&shape, 10, 4);
        let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
        for c in 0..3 {
            let mut p = vec![f32::NAN; x.numel() / shape[c] * 10];
            contract_mode(&x, c, views[c], Par::rayon(2), &mut p).unwrap();
            let (kept, kept_views) = (without(&shape, c), without(&views, c));
            for n in (0..3).filter(|&n| n != c) {
                let m = if n < c { n } else { n - 1 };
                let fast = mttkrp_from_partial(&p, &kept, &kept_views, m, Par::Seq).unwrap();
                let slow = naive(&x, &factors, n);
                // Sums of numel / I_n products of unit-size terms: rounding ~ eps · sqrt(terms).
                let tol = 20.0 * f32::EPSILON * (x.numel() as f32).sqrt() * slow.norm_l2();
                assert!((&fast - &slow).norm_l2() <= tol, "c {c} n {n}");
            }
        }
    }
}
