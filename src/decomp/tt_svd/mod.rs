//! TT-SVD (Oseledets 2011, Alg. 1): a dense tensor to tensor-train format by sequential truncated
//! SVDs of the reshaped remainder, with the ε-guarantee `‖X − X̂‖_F ≤ ε‖X‖_F`.

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::sweep_input::sweep_input;
use crate::error::{check_non_negative, Error, Result};
use crate::format::tt::TtTensor;
use crate::format::Factorized;
use crate::kernels::gemm::{gemm, to_row_major};
use crate::linalg::{left_subspace, SubspaceMethod, Truncation};
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Parameters of TT-SVD; build with [`TtSvd::new`], run with [`TtSvd::fit`].
///
/// For a `d`-way tensor `X` of shape `n_1 × … × n_d`, TT-SVD computes cores
/// `G_k ∈ R^{r_{k-1} × n_k × r_k}` one at a time: with the remainder `C` (initially `X`) viewed as
/// the `(r_{k-1} n_k) × (n_{k+1} ⋯ n_d)` matrix, the leading left singular vectors `U` of `C`
/// (truncated with absolute budget `δ = ε‖X‖_F / sqrt(d − 1)` and the rank caps) become `G_k`,
/// and `Uᵀ C = S Vᵀ` is the next remainder. The discarded parts are mutually orthogonal, so
///
/// `‖X − X̂‖_F² = Σ_k discarded_k² ≤ (d − 1) δ² = ε² ‖X‖_F²`
///
/// whenever no rank cap binds. Cores `1 … d−1` come out left-orthonormal.
///
/// Speed: the first unfoldings are short and very wide; their subspace comes from
/// [`left_subspace`] with [`SubspaceMethod::Auto`] (the Gram matrix `C Cᵀ` plus a symmetric
/// eigensolver where that is accurate, a thin SVD without right vectors otherwise), and the
/// remainder is the GEMM `Uᵀ C`, written row-major so that the next reshape is free. Once a step
/// keeps singular values below `10·sqrt(eps)·s_max` (where the Gram route is not accurate), the
/// remaining steps go straight to the SVD.
///
/// ```
/// use tensorize::decomp::TtSvd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::from_fn(&[4, 4, 4, 4], |i| 1.0 / (1 + i[0] + i[1] + i[2] + i[3]) as f64)?;
/// let (tt, report) = TtSvd::new().eps(1e-6).max_rank(8).fit(&x)?;
/// assert!(report.rel_error <= 1e-6);
/// assert!(tt.rel_error(&x)? <= 1e-6);
/// assert!(tt.num_params() < x.numel());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TtSvd {
    eps: f64,
    max_rank: Option<usize>,
    max_ranks: Option<Vec<usize>>,
    method: SubspaceMethod,
    par: Option<Par>,
}

impl TtSvd {
    /// Exact TT-SVD (`eps = 0`, no rank cap, automatic parallelism): ranks are the ranks of the
    /// unfoldings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The relative error target `ε ≥ 0`: `‖X − X̂‖_F ≤ ε ‖X‖_F` unless a rank cap binds.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Caps every TT rank `r_1 … r_{d-1}` at `r ≥ 1`.
    pub fn max_rank(mut self, r: usize) -> Self {
        self.max_rank = Some(r);
        self
    }

    /// Caps the TT rank of each bond separately: `ranks[k]` bounds `r_{k+1}` (`d − 1` entries,
    /// each `≥ 1`). Combines with [`TtSvd::max_rank`] (the smaller cap wins).
    pub fn max_ranks(mut self, ranks: &[usize]) -> Self {
        self.max_ranks = Some(ranks.to_vec());
        self
    }

    /// How each step's subspace is computed (default [`SubspaceMethod::Auto`]).
    pub fn method(mut self, method: SubspaceMethod) -> Self {
        self.method = method;
        self
    }

    /// Explicit parallelism for every step (default: chosen per step by
    /// [`crate::par::auto_par`]).
    pub fn par(mut self, par: Par) -> Self {
        self.par = Some(par);
        self
    }

    /// Runs TT-SVD on `x`.
    ///
    /// Returns the TT tensor and a [`FitReport`] whose `rel_error` is
    /// `sqrt(Σ_k discarded_k²) / ‖X‖_F`: the actual relative error in exact arithmetic (the
    /// discarded parts are orthogonal). Where the Gram route was used the discarded energies
    /// carry an absolute error of about `eps_machine · ‖X‖_F²`, so reported errors below about
    /// `sqrt(eps_machine)` are estimates.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] for an order-0 tensor;
    /// - [`Error::InvalidParameter`] if `eps` is negative or NaN;
    /// - [`Error::InvalidRank`] for a rank cap of 0 or a per-bond list whose length is not
    ///   `d − 1`;
    /// - [`Error::NonFinite`] if `x` holds NaN or infinity;
    /// - [`Error::NoConvergence`] if an SVD/eigensolver fails.
    pub fn fit<T: Scalar>(&self, x: &Tensor<T>) -> Result<(TtTensor<T>, FitReport)> {
        let shape = x.shape().to_vec();
        let d = shape.len();
        let caps = self.validate(&shape)?;
        let input = sweep_input(x, "tt_svd")?;
        if d == 1 {
            let core = Tensor::from_parts_unchecked(vec![1, shape[0], 1], x.as_slice().to_vec());
            return Ok((TtTensor::from_cores_unchecked(vec![core]), FitReport::one_pass(0.0)));
        }
        let original = x;
        let (x, factor, norm) = (input.tensor.as_ref(), input.factor, input.norm);
        let delta = self.eps * norm / ((d - 1) as f64).sqrt();
        let mut cores = Vec::with_capacity(d);
        // Ping-pong buffers for the remainder: `rem` holds the current one, `spare` takes the next.
        let (mut rem, mut spare): (Vec<T>, Vec<T>) = (Vec::new(), Vec::new());
        let (mut r_prev, mut cols) = (1usize, x.numel());
        let mut discarded = 0.0f64;
        let mut method = self.method;
        for (k, &cap) in caps.iter().enumerate() {
            let n = shape[k];
            let rows = r_prev * n;
            cols /= n;
            let src: &[T] = if k == 0 { x.as_slice() } else { &rem[..rows * cols] };
            let a = MatRef::from_row_major_slice(src, rows, cols);
            let trunc = Truncation { max_rank: Some(cap), max_error: Some(delta) };
            let small = rows.min(cols) as f64;
            let par = self.par.unwrap_or_else(|| auto_par(2.0 * rows as f64 * cols as f64 * small));
            let sub = left_subspace(a, &trunc, method, par)?;
            // Auto recomputes a Gram result by SVD when the kept singular values reach below
            // ~10·sqrt(eps)·s_max; once a step needed that, the later (smaller) remainders
            // usually do too, so go straight to the SVD and skip the wasted Gram product.
            if method == SubspaceMethod::Auto {
                let s_max = sub.full_spectrum.first().map_or(0.0, |v| v.as_f64());
                let s_min = sub.s.last().map_or(0.0, |v| v.as_f64());
                if s_min < 10.0 * T::epsilon().as_f64().sqrt() * s_max {
                    method = SubspaceMethod::Svd;
                }
            }
            discarded += sub.discarded_sq.as_f64();
            let r = sub.u.ncols();
            // Next remainder Uᵀ C (= S Vᵀ), row-major r × cols: its (r n_{k+1}) × rest reshape is free.
            spare.resize(r * cols, T::zero());
            let par = self.par.unwrap_or_else(|| auto_par(2.0 * (r * rows * cols) as f64));
            project_rows(sub.u.as_ref(), src, cols, &mut spare[..r * cols], par);
            cores.push(Tensor::from_parts_unchecked(
                vec![r_prev, n, r],
                to_row_major(sub.u.as_ref()),
            ));
            std::mem::swap(&mut rem, &mut spare);
            r_prev = r;
        }
        drop(spare);
        rem.truncate(r_prev * shape[d - 1]);
        rem.shrink_to_fit();
        if factor != T::one() {
            rem.iter_mut().for_each(|v| *v *= factor);
        }
        cores.push(Tensor::from_parts_unchecked(vec![r_prev, shape[d - 1], 1], rem));
        let rel = if norm > 0.0 { discarded.sqrt() / norm } else { 0.0 };
        let fitted = TtTensor::from_cores_unchecked(cores);
        let rel = input.reported_error(original, rel, || fitted.to_dense())?;
        Ok((fitted, FitReport::one_pass(rel)))
    }

    /// Checks the parameters against `shape`; returns the rank cap of each of the `d − 1` bonds.
    fn validate(&self, shape: &[usize]) -> Result<Vec<usize>> {
        const OP: &str = "tt_svd";
        let d = shape.len();
        if d == 0 {
            return Err(Error::InvalidModes {
                op: OP,
                modes: vec![],
                ndim: 0,
                detail: "TT-SVD needs a tensor of order at least 1".into(),
            });
        }
        check_non_negative("eps", self.eps)?;
        let bad = |ranks: Vec<usize>, detail: String| Error::InvalidRank {
            op: OP,
            ranks,
            shape: shape.to_vec(),
            detail,
        };
        if self.max_rank == Some(0) {
            return Err(bad(vec![0], "the maximal TT rank must be at least 1".into()));
        }
        let mut caps = vec![self.max_rank.unwrap_or(usize::MAX); d - 1];
        if let Some(list) = &self.max_ranks {
            if list.len() != d - 1 {
                return Err(bad(
                    list.clone(),
                    format!("a {d}-way tensor has {} bonds; give one rank cap per bond", d - 1),
                ));
            }
            if list.contains(&0) {
                return Err(bad(list.clone(), "every TT rank cap must be at least 1".into()));
            }
            for (c, &l) in caps.iter_mut().zip(list) {
                *c = (*c).min(l);
            }
        }
        Ok(caps)
    }
}

/// TT-SVD with relative error target `eps`: `‖X − X̂‖_F ≤ eps · ‖X‖_F`, no rank cap.
/// See [`TtSvd`].
///
/// ```
/// use tensorize::decomp::tt_svd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[3, 4, 5], 1)?;
/// let (tt, report) = tt_svd(&x, 0.0)?;          // exact: ranks [1, 3, 5, 1]
/// assert_eq!(tt.ranks(), vec![1, 3, 5, 1]);
/// assert!(report.rel_error < 1e-12 && tt.rel_error(&x)? < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`TtSvd::fit`].
pub fn tt_svd<T: Scalar>(x: &Tensor<T>, eps: f64) -> Result<(TtTensor<T>, FitReport)> {
    TtSvd::new().eps(eps).fit(x)
}

/// TT-SVD with every TT rank capped at `max_rank` (and no error target): the quasi-optimal
/// fixed-rank approximation, `‖X − X̂‖_F ≤ sqrt(d − 1) · min_{rank ≤ max_rank} ‖X − Y‖_F`.
/// See [`TtSvd`].
///
/// ```
/// use tensorize::decomp::tt_svd_rank;
/// use tensorize::Tensor;
/// let x = Tensor::<f32>::random_normal(&[4, 4, 4, 4], 3)?;
/// let (tt, report) = tt_svd_rank(&x, 2)?;
/// assert_eq!(tt.ranks(), vec![1, 2, 2, 2, 1]);
/// assert!(report.rel_error > 0.0 && report.rel_error < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`TtSvd::fit`].
pub fn tt_svd_rank<T: Scalar>(x: &Tensor<T>, max_rank: usize) -> Result<(TtTensor<T>, FitReport)> {
    TtSvd::new().max_rank(max_rank).fit(x)
}

/// Inner sizes up to this go through [`project_rows`]' own loop instead of faer's GEMM.
const SMALL_INNER: usize = 8;

/// Columns per block in [`project_rows`]: a block of every row of `a` plus one of the output
/// (at most 9 × 8 KiB in f64) stays in L1.
const PROJECT_BLOCK: usize = 1024;

/// `dst (r × cols, row-major) = uᵀ · a` for `a` row-major `rows × cols` and `u` `rows × r`:
/// the next remainder of TT-SVD. With a tiny inner size (the first step of a 4¹⁰ tensor is
/// `4 × 4 · 4 × 262144`) faer's GEMM made about three passes over memory; the loop here writes
/// each output row once, a block of columns at a time, reading the matching block of `a` from
/// cache, with the output rows spread over the threads.
fn project_rows<T: Scalar>(u: MatRef<'_, T>, a: &[T], cols: usize, dst: &mut [T], par: Par) {
    let (rows, r) = u.shape();
    if rows > SMALL_INNER {
        gemm(
            MatMut::from_row_major_slice_mut(dst, r, cols),
            u.transpose(),
            MatRef::from_row_major_slice(a, rows, cols),
            Accum::Replace,
            par,
        );
        return;
    }
    let row = |(i, out): (usize, &mut [T])| {
        for (b, block) in out.chunks_mut(PROJECT_BLOCK).enumerate() {
            let c0 = b * PROJECT_BLOCK;
            block.fill(T::zero());
            for q in 0..rows {
                let w = u[(q, i)];
                let src = &a[q * cols + c0..q * cols + c0 + block.len()];
                block.iter_mut().zip(src).for_each(|(d, &x)| *d += w * x);
            }
        }
    };
    if par.degree() > 1 && r > 1 {
        dst.par_chunks_mut(cols).enumerate().for_each(row);
    } else {
        dst.chunks_mut(cols).enumerate().for_each(row);
    }
}

mod matrix;
#[cfg(test)]
mod tests;
