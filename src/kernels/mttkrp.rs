//! Fast MTTKRP: `unfold(X, n) · khatri_rao(U_k, k ≠ n)` as one GEMM over the tensor's own
//! row-major buffer plus a cheap reduction; the full Khatri–Rao product is never formed.
//!
//! View `X` row-major as a 3-way array `(A, I_n, B)` with `A = ∏_{k<n} I_k` and
//! `B = ∏_{k>n} I_k`, and let `K_< = khatri_rao(U_0, …, U_{n-1})` (`A × R`) and
//! `K_> = khatri_rao(U_{n+1}, …, U_{N-1})` (`B × R`). Then
//!
//! ```text
//! M[i, r] = Σ_a Σ_b X[a, i, b] · K_<[a, r] · K_>[b, r].
//! ```
//!
//! The larger of the two sides is contracted by one GEMM straight on the tensor's buffer
//! (no copy: `X` already is the row-major `(A·I_n) × B` and `A × (I_n·B)` matrix), the smaller
//! side by an `O(numel · R / max(A, B))` reduction. Only the Khatri–Rao products of the factors
//! on each side are formed (`A × R` and `B × R`), never the `(A·B) × R` one.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use super::skinny::{a_times_panel, at_times_panel};
use crate::error::{refill, Error, Result};
use crate::par::{auto_par, thread_count, Par};
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// The mode-`mode` MTTKRP `M = unfold(X, n) · khatri_rao(U_k for k ≠ n)` (`I_n × R`), computed
/// without forming the full Khatri–Rao product; same result as [`tenalg::mttkrp`].
///
/// Element-wise, `M[i, r] = Σ_{i_k, k≠n; i_n = i} X[i_0, …, i_{N-1}] · ∏_{k≠n} U_k[i_k, r]`.
/// `factors[mode]` is ignored except for its column count `R`. Parallelism is chosen with
/// [`auto_par`] from the `2 · numel · R` flops; see [`mttkrp_fast_with`].
///
/// ```
/// use faer::Mat;
/// use tensorize::{kernels::mttkrp_fast, tenalg, Tensor};
/// let x = Tensor::<f64>::random_normal(&[3, 4, 5], 1)?;
/// let u: Vec<Mat<f64>> = [3, 4, 5].iter().map(|&d| Mat::from_fn(d, 2, |i, r| (i + r) as f64)).collect();
/// let views: Vec<_> = u.iter().map(|m| m.as_ref()).collect();
/// let fast = mttkrp_fast(&x, &views, 1)?;
/// let reference = tenalg::mttkrp(&x, &views, 1)?;
/// assert!((&fast - &reference).norm_l2() <= 1e-12 * reference.norm_l2());
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ModeOutOfRange`]; [`Error::ShapeMismatch`] unless there is one factor per mode,
/// factor `k ≠ mode` has `I_k` rows, and all factors have the same number of columns;
/// [`Error::InvalidRank`] for zero columns; [`Error::NonFinite`] for NaN/Inf in `x` or the factors.
pub fn mttkrp_fast<T: Scalar>(
    x: &Tensor<T>,
    factors: &[MatRef<'_, T>],
    mode: usize,
) -> Result<Mat<T>> {
    let rank = check_args(x, factors, mode)?;
    mttkrp_fast_with(x, factors, mode, auto_par(mttkrp_flops(x.numel(), rank)))
}

/// [`mttkrp_fast`] with explicit parallelism `par` (used for the GEMM and the reduction).
///
/// # Errors
/// As [`mttkrp_fast`].
pub fn mttkrp_fast_with<T: Scalar>(
    x: &Tensor<T>,
    factors: &[MatRef<'_, T>],
    mode: usize,
    par: Par,
) -> Result<Mat<T>> {
    x.check_nonempty()?;
    check_args(x, factors, mode)?;
    x.check_finite("mttkrp_fast")?;
    for f in factors {
        check_finite_mat("mttkrp_fast", *f)?;
    }
    mttkrp_unchecked(x, factors, mode, par)
}

/// The flop count of one MTTKRP, `2 · numel · R`, for choosing parallelism.
pub(crate) fn mttkrp_flops(numel: usize, rank: usize) -> f64 {
    2.0 * numel as f64 * rank as f64
}

/// Returns [`Error::NonFinite`] for the first NaN/infinite entry of `m` (column by column).
pub(crate) fn check_finite_mat<T: Scalar>(op: &'static str, m: MatRef<'_, T>) -> Result<()> {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            let v = m[(i, j)];
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    op,
                    position: i * m.ncols() + j,
                    value: v.as_f64(),
                });
            }
        }
    }
    Ok(())
}

/// Validates the arguments of an MTTKRP and returns the rank `R`.
pub(crate) fn check_args<T: Scalar>(
    x: &Tensor<T>,
    factors: &[MatRef<'_, T>],
    mode: usize,
) -> Result<usize> {
    x.check_mode(mode)?;
    let shape = x.shape();
    if factors.len() != shape.len() {
        return Err(Error::ShapeMismatch {
            op: "mttkrp",
            left: shape.to_vec(),
            right: vec![factors.len()],
            detail: format!(
                "need one factor matrix per mode ({}), got {}",
                shape.len(),
                factors.len()
            ),
        });
    }
    let rank = factors[mode].ncols();
    if rank == 0 {
        return Err(Error::InvalidRank {
            op: "mttkrp",
            ranks: vec![0],
            shape: shape.to_vec(),
            detail: "factor matrices need at least one column".into(),
        });
    }
    for (k, f) in factors.iter().enumerate() {
        let rows_ok = k == mode || f.nrows() == shape[k];
        if !rows_ok || f.ncols() != rank {
            return Err(Error::ShapeMismatch {
                op: "mttkrp",
                left: shape.to_vec(),
                right: vec![f.nrows(), f.ncols()],
                detail: format!(
                    "factor {k} must be {} × {rank} (dimension of mode {k} × rank of factor {mode})",
                    if k == mode { f.nrows() } else { shape[k] }
                ),
            });
        }
    }
    Ok(rank)
}

/// The Khatri–Rao product of one side's factors: a free view for one factor, formed otherwise.
enum SideKr<'a, T> {
    View(MatRef<'a, T>),
    Owned(Mat<T>),
}

impl<'a, T: Scalar> SideKr<'a, T> {
    /// `rank` is used for an empty side, whose product is a `1 × R` row of ones.
    fn new(mats: &[MatRef<'a, T>], rank: usize) -> Result<Self> {
        match mats {
            [] => Ok(Self::Owned(Mat::from_fn(1, rank, |_, _| T::one()))),
            [single] => Ok(Self::View(*single)),
            _ => Ok(Self::Owned(tenalg::khatri_rao(mats)?)),
        }
    }

    fn as_ref(&self) -> MatRef<'_, T> {
        match self {
            Self::View(m) => *m,
            Self::Owned(m) => m.as_ref(),
        }
    }
}

/// The Khatri–Rao product of `mats` (first factor slowest) as a row-major `rows × rank` buffer
/// in `out` (a `1 × rank` row of ones for no factors), written in one pass: row `(i_0, rest)`
/// is `U_0[i_0, :] ∘ K_rest[rest, :]` with the much smaller `K_rest` of the other factors.
pub(super) fn khatri_rao_row_major<T: Scalar>(
    mats: &[MatRef<'_, T>],
    rank: usize,
    out: &mut Vec<T>,
) -> Result<()> {
    let dims: Vec<usize> = mats.iter().map(|m| m.nrows()).collect();
    let len = dims
        .iter()
        .try_fold(rank, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::SizeOverflow { shape: dims.clone() })?;
    let Some((first, rest)) = mats.split_first() else {
        return refill(out, &[1, rank], rank, T::one());
    };
    refill(out, &dims, len, T::zero())?;
    if len == 0 {
        return Ok(());
    }
    let mut tail = Vec::new();
    khatri_rao_row_major(rest, rank, &mut tail)?;
    for (i0, block) in out.chunks_exact_mut(tail.len()).enumerate() {
        let u: Vec<T> = (0..rank).map(|r| first[(i0, r)]).collect();
        for (o, t) in block.chunks_exact_mut(rank).zip(tail.chunks_exact(rank)) {
            for ((o, &t), &u) in o.iter_mut().zip(t).zip(&u) {
                *o = u * t;
            }
        }
    }
    Ok(())
}

/// Work buffers reused across the MTTKRPs of an iterative method (CP-ALS sweeps): the
/// Khatri–Rao panel and the GEMM intermediate are megabytes each, and allocating them afresh
/// every sweep cost ~10% of a 200³ fit in page faults.
pub(crate) struct MttkrpBuffers<T> {
    khatri_rao: Vec<T>,
    second_khatri_rao: Vec<T>,
    intermediate: Vec<T>,
}

impl<T> Default for MttkrpBuffers<T> {
    fn default() -> Self {
        Self { khatri_rao: Vec::new(), second_khatri_rao: Vec::new(), intermediate: Vec::new() }
    }
}

/// The MTTKRP without argument or finiteness checks (callers have validated with [`check_args`]).
pub(crate) fn mttkrp_unchecked<T: Scalar>(
    x: &Tensor<T>,
    factors: &[MatRef<'_, T>],
    mode: usize,
    par: Par,
) -> Result<Mat<T>> {
    mttkrp_buffered(x, factors, mode, par, &mut MttkrpBuffers::default())
}

/// [`mttkrp_unchecked`] with its large temporaries in `bufs`.
pub(crate) fn mttkrp_buffered<T: Scalar>(
    x: &Tensor<T>,
    factors: &[MatRef<'_, T>],
    mode: usize,
    par: Par,
    bufs: &mut MttkrpBuffers<T>,
) -> Result<Mat<T>> {
    let shape = x.shape();
    let rank = factors[mode].ncols();
    let i_n = shape[mode];
    let a: usize = shape[..mode].iter().product();
    let b: usize = shape[mode + 1..].iter().product();
    let data = x.as_slice();
    let mut out = vec![T::zero(); i_n * rank];
    let overflow = || Error::SizeOverflow { shape: vec![x.numel(), rank] };

    if shape.len() == 1 {
        // A vector: the Khatri–Rao product of no factors is a row of ones.
        for (i, row) in out.chunks_exact_mut(rank).enumerate() {
            row.fill(data[i]);
        }
    } else if b >= a {
        // Contract the "after" modes by GEMM: T1 = X[(a, i), b] · K_>[b, r]  ((A·I_n) × R).
        let k_after = SideKr::new(&factors[mode + 1..], rank)?;
        if mode == 0 {
            a_times_panel(data, b, k_after.as_ref(), &mut out, par)?;
        } else {
            let len = (a * i_n).checked_mul(rank).ok_or_else(overflow)?;
            let t1 = &mut bufs.intermediate;
            refill(t1, &[a * i_n, rank], len, T::zero())?;
            a_times_panel(data, b, k_after.as_ref(), t1, par)?;
            let k_before = &mut bufs.khatri_rao;
            khatri_rao_row_major(&factors[..mode], rank, k_before)?;
            // M[i, r] = Σ_a K_<[a, r] · T1[a, i, r]
            for_row_chunks(&mut out, rank, par, a * i_n * rank, |rows, chunk| {
                for ai in 0..a {
                    let w = &k_before[ai * rank..(ai + 1) * rank];
                    let base = ai * i_n + rows;
                    for (li, m_row) in chunk.chunks_exact_mut(rank).enumerate() {
                        let t = &t1[(base + li) * rank..(base + li + 1) * rank];
                        for ((m, &wr), &tr) in m_row.iter_mut().zip(w).zip(t) {
                            *m += wr * tr;
                        }
                    }
                }
            });
        }
    } else {
        // Contract the "before" modes by GEMM: T1 = X[a, (i, b)]ᵀ · K_<[a, r]  ((I_n·B) × R).
        let k_before = &mut bufs.khatri_rao;
        khatri_rao_row_major(&factors[..mode], rank, k_before)?;
        if mode + 1 == shape.len() {
            at_times_panel(data, i_n, k_before, rank, &mut out, par)?;
        } else {
            let len = (i_n * b).checked_mul(rank).ok_or_else(overflow)?;
            let t1 = &mut bufs.intermediate;
            refill(t1, &[i_n * b, rank], len, T::zero())?;
            at_times_panel(data, i_n * b, k_before, rank, t1, par)?;
            let k_after = &mut bufs.second_khatri_rao;
            khatri_rao_row_major(&factors[mode + 1..], rank, k_after)?;
            // M[i, r] = Σ_b K_>[b, r] · T1[i, b, r]
            for_row_chunks(&mut out, rank, par, i_n * b * rank, |rows, chunk| {
                for (li, m_row) in chunk.chunks_exact_mut(rank).enumerate() {
                    let base = (rows + li) * b;
                    for bi in 0..b {
                        let w = &k_after[bi * rank..(bi + 1) * rank];
                        let t = &t1[(base + bi) * rank..(base + bi + 1) * rank];
                        for ((m, &wr), &tr) in m_row.iter_mut().zip(w).zip(t) {
                            *m += wr * tr;
                        }
                    }
                }
            });
        }
    }
    Ok(Mat::from_fn(i_n, rank, |i, r| out[i * rank + r]))
}

/// Runs `f(first_row, rows)` over contiguous blocks of rows of the row-major `out` (row length
/// `width`), in parallel when `par` allows it and the work (`flops`) is worth it.
pub(super) fn for_row_chunks<T: Scalar>(
    out: &mut [T],
    width: usize,
    par: Par,
    flops: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let rows = out.len() / width.max(1);
    let threads = thread_count(par).min(rows).max(1);
    if threads == 1 || (flops as f64) < crate::par::PARALLEL_FLOP_THRESHOLD {
        f(0, out);
        return;
    }
    let rows_per = rows.div_ceil(threads);
    out.par_chunks_mut(rows_per * width).enumerate().for_each(|(c, chunk)| f(c * rows_per, chunk));
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::tensor::MultiIndexIter;

    /// The MTTKRP by its definition, one element at a time.
    pub(crate) fn naive<T: Scalar>(x: &Tensor<T>, factors: &[Mat<T>], mode: usize) -> Mat<T> {
        let rank = factors[mode].ncols();
        let mut m = Mat::<T>::zeros(x.shape()[mode], rank);
        let mut it = MultiIndexIter::new(x.shape());
        let mut pos = 0;
        while let Some(idx) = it.next_index() {
            let v = x.as_slice()[pos];
            pos += 1;
            for r in 0..rank {
                let mut p = v;
                for (k, f) in factors.iter().enumerate() {
                    if k != mode {
                        p *= f[(idx[k], r)];
                    }
                }
                m[(idx[mode], r)] += p;
            }
        }
        m
    }

    pub(crate) fn random_factors<T: Scalar>(
        shape: &[usize],
        rank: usize,
        seed: u64,
    ) -> Vec<Mat<T>> {
        shape
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                let t = Tensor::<T>::random_normal(&[d, rank], seed + k as u64).unwrap();
                Mat::from_fn(d, rank, |i, r| t.as_slice()[i * rank + r])
            })
            .collect()
    }

    fn check_all_modes<T: Scalar>(shape: &[usize], rank: usize, par: Par) {
        let x = Tensor::<T>::random_normal(shape, 3).unwrap();
        let factors = random_factors::<T>(shape, rank, 11);
        let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
        for mode in 0..shape.len() {
            let fast = mttkrp_fast_with(&x, &views, mode, par).unwrap();
            let slow = naive(&x, &factors, mode);
            let scale = slow.norm_l2().max(T::one());
            let tol = T::of(20.0) * T::epsilon() * T::of_usize(x.numel()).sqrt() * scale;
            assert!(
                (&fast - &slow).norm_l2() <= tol,
                "shape {shape:?} mode {mode} rank {rank}: {} > {tol}",
                (&fast - &slow).norm_l2()
            );
        }
    }

    #[test]
    fn matches_naive_loops_f64_and_f32() {
        for shape in [
            &[7][..],
            &[4, 5],
            &[3, 4, 5],
            &[5, 4, 3],
            &[2, 3, 4, 5],
            &[3, 1, 4, 1, 2],
            &[1, 1],
            &[1, 5, 1],
            &[1, 1, 3],
            &[4, 1, 1],
        ] {
            for rank in [1, 3, 7] {
                check_all_modes::<f64>(shape, rank, Par::Seq);
                check_all_modes::<f32>(shape, rank, Par::Seq);
            }
        }
    }

    #[test]
    fn parallel_matches_naive() {
        check_all_modes::<f64>(&[40, 30, 50], 4, Par::rayon(2));
        check_all_modes::<f32>(&[6, 70, 5, 30], 3, Par::rayon(2));
    }

    #[test]
    fn factor_of_the_mode_is_ignored_except_columns() {
        let x = Tensor::<f64>::random_normal(&[3, 4, 5], 0).unwrap();
        let mut factors = random_factors::<f64>(&[3, 4, 5], 2, 1);
        factors[1] = Mat::zeros(9, 2);
        let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
        let fast = mttkrp_fast(&x, &views, 1).unwrap();
        let slow = naive(&x, &factors, 1);
        assert!((&fast - &slow).norm_l2() <= 1e-12 * slow.norm_l2());
    }

    #[test]
    fn bad_arguments_are_typed_errors() {
        let x = Tensor::<f64>::random_normal(&[3, 4, 5], 0).unwrap();
        let f = random_factors::<f64>(&[3, 4, 5], 2, 1);
        let v: Vec<_> = f.iter().map(|m| m.as_ref()).collect();
        assert!(matches!(mttkrp_fast(&x, &v, 3), Err(Error::ModeOutOfRange { mode: 3, .. })));
        assert!(matches!(mttkrp_fast(&x, &v[..2], 0), Err(Error::ShapeMismatch { .. })));
        let wrong = random_factors::<f64>(&[3, 6, 5], 2, 1);
        let w: Vec<_> = wrong.iter().map(|m| m.as_ref()).collect();
        assert!(matches!(mttkrp_fast(&x, &w, 0), Err(Error::ShapeMismatch { .. })));
        let zero: Vec<Mat<f64>> = [3, 4, 5].iter().map(|&d| Mat::zeros(d, 0)).collect();
        let z: Vec<_> = zero.iter().map(|m| m.as_ref()).collect();
        assert!(matches!(mttkrp_fast(&x, &z, 0), Err(Error::InvalidRank { .. })));
        let mut nan = x.clone();
        nan.as_mut_slice()[7] = f64::NAN;
        assert!(matches!(mttkrp_fast(&nan, &v, 0), Err(Error::NonFinite { position: 7, .. })));
    }
}
