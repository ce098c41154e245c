//! TR-SVD (Zhao et al. 2016, "Tensor Ring Decomposition", Alg. 1): a dense tensor to tensor-ring
//! format by one split truncated SVD and TT-SVD-style sweeps, with `‖X − X̂‖_F ≤ ε‖X‖_F`.

use faer::{Accum, MatMut, MatRef};

use super::sweep_input::sweep_input;
use crate::error::{check_non_negative, Error, Result};
use crate::format::params::sweep_ranks;
use crate::format::{Factorized, TrTensor};
use crate::kernels::gemm::{gemm, to_row_major};
use crate::linalg::{left_subspace, LeftSubspace, SubspaceMethod, Truncation};
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::layout::permuted_copy;
use crate::tensor::Tensor;

/// How TR-SVD chooses the ring rank `r_0` when it splits the first SVD rank `R = r_0 · r_1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FirstRank {
    /// The factorization `R = r_0 · r_1` with the smallest `|r_0 − r_1|` (and `r_0 ≤ r_1`), as
    /// in Zhao et al.; if a rank cap leaves no exact factorization of `R`, the smallest
    /// `P ≥ R` (else the largest `P < R`) that has one within the cap.
    #[default]
    Auto,
    /// This `r_0` (at least 1); `r_1 = ⌈R / r_0⌉`, so that `r_0 r_1 ≥ R` keeps the error
    /// guarantee, capped by the rank cap and by `r_0 r_1 ≤ min(n_1, ∏_{k>1} n_k)`. When one of
    /// these caps binds (e.g. `n_1 = 3`, `R = 3`, `r_0 = 2` gives `r_1 = 1`), fewer than `R`
    /// singular triplets are kept and, as with any rank cap, the ε guarantee can fail; the
    /// [`FitReport`] still reports the achieved error.
    Fixed(usize),
}

impl From<usize> for FirstRank {
    fn from(r0: usize) -> Self {
        FirstRank::Fixed(r0)
    }
}

/// Parameters of TR-SVD; build with [`TrSvd::new`], run with [`TrSvd::fit`].
///
/// For a `d`-way tensor `X` of shape `n_1 × … × n_d` and relative error target `ε`
/// (Zhao et al. 2016, Alg. 1):
///
/// 1. the first unfolding `X_{(1)}` (`n_1 × ∏_{k>1} n_k`) is truncated with absolute budget
///    `δ_1 = sqrt(2) · ε‖X‖_F / sqrt(d)`, giving `X_{(1)} ≈ U (S Vᵀ)` of rank `R`;
/// 2. `R` is split as `r_0 · r_1` (see [`FirstRank`]); `G_1[a, i, b] = U[i, a r_1 + b]`;
/// 3. the remainder `S Vᵀ` (`r_0 r_1 × ∏_{k>1} n_k`) is reshaped to `r_0 × r_1 × n_2 ⋯ n_d` and
///    its ring index `a` moved to the end, `C[b, i_2, …, i_d, a]`;
/// 4. cores `G_2 … G_{d-1}` come from TT-SVD steps on `C` with budget
///    `δ = ε‖X‖_F / sqrt(d)` each (the trailing `r_0` index rides along in the columns), and the
///    last remainder, `r_{d-1} × n_d × r_0`, is `G_d`, closing the ring.
///
/// Then `X[i] = Σ_{a, b} G_1[a, i_1, b] (G_2[i_2] ⋯ G_d[i_d])[b, a] = trace(G_1[i_1] ⋯ G_d[i_d])`,
/// and since the discarded parts are mutually orthogonal,
///
/// `‖X − X̂‖_F² = Σ_k discarded_k² ≤ δ_1² + (d − 2) δ² = ε² ‖X‖_F²`
///
/// whenever no rank cap binds. With `d = 1` the ring is the vector itself with `r_0 = 1`.
///
/// ```
/// use tensorize::decomp::TrSvd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::from_fn(&[4, 4, 4, 4], |i| 1.0 / (1 + i[0] + i[1] + i[2] + i[3]) as f64)?;
/// let (tr, report) = TrSvd::new().eps(1e-6).max_rank(8).fit(&x)?;
/// assert!(report.rel_error <= 1e-6);
/// assert!(tr.rel_error(&x)? <= 1e-6);
/// assert_eq!(tr.ranks()[0], tr.ranks()[4]);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrSvd {
    eps: f64,
    max_rank: Option<usize>,
    first_rank: FirstRank,
    par: Option<Par>,
}

impl TrSvd {
    /// Exact TR-SVD (`eps = 0`, no rank cap, [`FirstRank::Auto`], automatic parallelism).
    pub fn new() -> Self {
        Self::default()
    }

    /// The relative error target `ε ≥ 0`: `‖X − X̂‖_F ≤ ε ‖X‖_F` unless a rank cap binds.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Caps every TR rank `r_0 … r_{d-1}` at `r ≥ 1` (so `R = r_0 r_1 ≤ r²`).
    pub fn max_rank(mut self, r: usize) -> Self {
        self.max_rank = Some(r);
        self
    }

    /// How `r_0` is chosen: [`FirstRank::Auto`] (default) or a fixed `r_0` (a `usize` converts
    /// to [`FirstRank::Fixed`]).
    pub fn first_rank(mut self, first: impl Into<FirstRank>) -> Self {
        self.first_rank = first.into();
        self
    }

    /// Explicit parallelism for every step (default: chosen per step by
    /// [`crate::par::auto_par`]).
    pub fn par(mut self, par: Par) -> Self {
        self.par = Some(par);
        self
    }

    /// The TR ranks `[r_0, …, r_d]` that [`TrSvd::fit`] returns for a tensor of shape `shape`
    /// whose unfoldings all have full rank (for instance a random tensor), `eps` ignored: the
    /// first SVD keeps `R = min(n_1, ∏_{k>1} n_k)`, split as the parameters say, and then
    /// `r_k = min(cap, r_{k-1} n_k, r_0 ∏_{j>k} n_j)`. Useful to size a parameter budget
    /// without fitting.
    ///
    /// ```
    /// use tensorize::decomp::TrSvd;
    /// assert_eq!(TrSvd::new().generic_ranks(&[4, 5, 6])?, vec![2, 2, 10, 2]);
    /// assert_eq!(TrSvd::new().max_rank(3).generic_ranks(&[4, 5, 6])?, vec![2, 2, 3, 2]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TrSvd::fit`] for invalid parameters or shapes.
    pub fn generic_ranks(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let cap = self.validate(shape)?;
        crate::error::checked_numel(shape, 1)?;
        let d = shape.len();
        if d == 1 {
            return Ok(vec![1, 1]);
        }
        let cols: usize = shape[1..].iter().product();
        let full = shape[0].min(cols);
        let (r0, r1) = split_rank(full, full, cap, self.first_rank, shape)?;
        let mut ranks = vec![r0, r1];
        ranks.extend(sweep_ranks(r1, cols * r0, &shape[1..d - 1], std::iter::repeat(cap)));
        ranks.push(r0);
        Ok(ranks)
    }

    /// Runs TR-SVD on `x`.
    ///
    /// Returns the tensor ring and a [`FitReport`] whose `rel_error` is
    /// `sqrt(Σ_k discarded_k²) / ‖X‖_F`: the actual relative error in exact arithmetic (the
    /// discarded parts are orthogonal). As for TT-SVD, where the Gram route was used the reported
    /// errors below about `sqrt(eps_machine)` are estimates.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] for an order-0 tensor;
    /// - [`Error::InvalidParameter`] if `eps` is negative or NaN;
    /// - [`Error::InvalidRank`] for a rank cap of 0, a fixed `r_0` of 0, larger than the cap or
    ///   larger than `min(n_1, ∏_{k>1} n_k)`;
    /// - [`Error::NonFinite`] if `x` holds NaN or infinity;
    /// - [`Error::NoConvergence`] if an SVD/eigensolver fails.
    pub fn fit<T: Scalar>(&self, x: &Tensor<T>) -> Result<(TrTensor<T>, FitReport)> {
        let shape = x.shape().to_vec();
        let d = shape.len();
        let cap = self.validate(&shape)?;
        let input = sweep_input(x, "tr_svd")?;
        if d == 1 {
            let core = Tensor::from_parts_unchecked(vec![1, shape[0], 1], x.as_slice().to_vec());
            return Ok((TrTensor::from_cores_unchecked(vec![core]), FitReport::one_pass(0.0)));
        }
        let original = x;
        let (x, factor, norm) = (input.tensor.as_ref(), input.factor, input.norm);
        let df = d as f64;
        let delta1 = 2f64.sqrt() * self.eps * norm / df.sqrt();
        let delta = self.eps * norm / df.sqrt();
        let par_for = |flops: f64| self.par.unwrap_or_else(|| auto_par(flops));

        // Step 1: split SVD of the first unfolding.
        let n1 = shape[0];
        let mut cols = x.numel() / n1;
        let a = MatRef::from_row_major_slice(x.as_slice(), n1, cols);
        let par = par_for(2.0 * (n1 * cols) as f64 * n1.min(cols) as f64);
        let sub = left_subspace(a, &Truncation::error(delta1), SubspaceMethod::Auto, par)?;
        let full = n1.min(cols);
        let (r0, r1) = split_rank(sub.u.ncols(), full, cap, self.first_rank, &shape)?;
        let p = r0 * r1;
        let sub = if p <= sub.u.ncols() {
            sub
        } else {
            left_subspace(a, &Truncation::rank(p), SubspaceMethod::Svd, par)?
        };
        let mut discarded = tail_sq(&sub, p);
        let u = sub.u.subcols(0, p);
        let mut g1 = vec![T::zero(); r0 * n1 * r1];
        for ai in 0..r0 {
            for i in 0..n1 {
                for b in 0..r1 {
                    g1[(ai * n1 + i) * r1 + b] = u[(i, ai * r1 + b)];
                }
            }
        }
        let mut cores = Vec::with_capacity(d);
        cores.push(Tensor::from_parts_unchecked(vec![r0, n1, r1], g1));
        let mut w = vec![T::zero(); p * cols];
        gemm(
            MatMut::from_row_major_slice_mut(&mut w, p, cols),
            u.transpose(),
            a,
            Accum::Replace,
            par_for(2.0 * (p * n1 * cols) as f64),
        );
        // C[b, j, a] = W[a, b, j]: the ring index moves to the end.
        let mut rem = vec![T::zero(); p * cols];
        permuted_copy(&w, &[r1, cols, r0], &[cols, 1, r1 * cols], &mut rem);
        drop(w);
        cols *= r0;

        // Steps 2 … d−1: TT-SVD sweeps on C, the trailing r_0 riding along in the columns.
        let mut r_prev = r1;
        let mut spare: Vec<T> = Vec::new();
        // As in TT-SVD: once a step keeps singular values below ~10·sqrt(eps)·s_max (where the
        // Gram route of Auto is not accurate and falls back to the SVD), the later remainders
        // usually need the SVD too, so skip the wasted Gram product.
        let mut method = SubspaceMethod::Auto;
        for &n in &shape[1..d - 1] {
            let rows = r_prev * n;
            cols /= n;
            let a = MatRef::from_row_major_slice(&rem[..rows * cols], rows, cols);
            let trunc = Truncation { max_rank: Some(cap), max_error: Some(delta) };
            let par = par_for(2.0 * (rows * cols) as f64 * rows.min(cols) as f64);
            let sub = left_subspace(a, &trunc, method, par)?;
            let s_max = sub.full_spectrum.first().map_or(0.0, |v| v.as_f64());
            let s_min = sub.s.last().map_or(0.0, |v| v.as_f64());
            if s_min < 10.0 * T::epsilon().as_f64().sqrt() * s_max {
                method = SubspaceMethod::Svd;
            }
            discarded += sub.discarded_sq.as_f64();
            let r = sub.u.ncols();
            spare.resize(r * cols, T::zero());
            gemm(
                MatMut::from_row_major_slice_mut(&mut spare[..r * cols], r, cols),
                sub.u.transpose(),
                a,
                Accum::Replace,
                par_for(2.0 * (r * rows * cols) as f64),
            );
            cores.push(Tensor::from_parts_unchecked(
                vec![r_prev, n, r],
                to_row_major(sub.u.as_ref()),
            ));
            std::mem::swap(&mut rem, &mut spare);
            r_prev = r;
        }
        drop(spare);
        let nd = shape[d - 1];
        rem.truncate(r_prev * nd * r0);
        rem.shrink_to_fit();
        if factor != T::one() {
            rem.iter_mut().for_each(|v| *v *= factor);
        }
        cores.push(Tensor::from_parts_unchecked(vec![r_prev, nd, r0], rem));
        let rel = if norm > 0.0 { discarded.sqrt() / norm } else { 0.0 };
        let fitted = TrTensor::from_cores_unchecked(cores);
        let rel = input.reported_error(original, rel, || fitted.to_dense())?;
        Ok((fitted, FitReport::one_pass(rel)))
    }

    /// Checks the parameters against `shape`; returns the rank cap.
    fn validate(&self, shape: &[usize]) -> Result<usize> {
        if shape.is_empty() {
            return Err(Error::InvalidModes {
                op: OP,
                modes: vec![],
                ndim: 0,
                detail: "TR-SVD needs a tensor of order at least 1".into(),
            });
        }
        check_non_negative("eps", self.eps)?;
        if self.max_rank == Some(0) {
            return Err(rank_error(
                vec![0],
                shape,
                "the maximal TR rank must be at least 1".into(),
            ));
        }
        if self.first_rank == FirstRank::Fixed(0) {
            return Err(rank_error(vec![0], shape, "the ring rank r_0 must be at least 1".into()));
        }
        Ok(self.max_rank.unwrap_or(usize::MAX))
    }
}

const OP: &str = "tr_svd";

fn rank_error(ranks: Vec<usize>, shape: &[usize], detail: String) -> Error {
    Error::InvalidRank { op: OP, ranks, shape: shape.to_vec(), detail }
}

/// `Σ_{i ≥ p} s_i²` over the full spectrum, in `f64`.
fn tail_sq<T: Scalar>(sub: &LeftSubspace<T>, p: usize) -> f64 {
    sub.full_spectrum.iter().skip(p).map(|s| s.as_f64() * s.as_f64()).sum()
}

/// Splits the first SVD rank `r` into `(r_0, r_1)` with `r_0 r_1 ≤ full = min(n_1, ∏_{k>1} n_k)`
/// and both at most `cap` (see [`FirstRank`]).
pub(crate) fn split_rank(
    r: usize,
    full: usize,
    cap: usize,
    first: FirstRank,
    shape: &[usize],
) -> Result<(usize, usize)> {
    match first {
        FirstRank::Fixed(r0) => {
            if r0 > full || r0 > cap {
                return Err(rank_error(
                    vec![r0],
                    shape,
                    format!(
                        "the ring rank r_0 = {r0} must be at most min(n_1, ∏_(k>1) n_k) = {full} \
                         and at most the rank cap {cap}"
                    ),
                ));
            }
            let r1 = r.div_ceil(r0).min(cap).min(full / r0).max(1);
            Ok((r0, r1))
        }
        FirstRank::Auto => {
            let cap = cap.min(full);
            // The most balanced factorization of q with both factors ≤ cap, if any.
            let balanced = |q: usize| -> Option<(usize, usize)> {
                (1..=q.isqrt()).rev().find(|&a| q % a == 0 && q / a <= cap).map(|a| (a, q / a))
            };
            let top = full.min(cap.saturating_mul(cap));
            let r = r.min(top).max(1);
            (r..=top).find_map(balanced).or_else(|| (1..r).rev().find_map(balanced)).ok_or_else(
                || rank_error(vec![r], shape, "no split r_0 · r_1 of the first rank fits".into()),
            )
        }
    }
}

/// TR-SVD with relative error target `eps`: `‖X − X̂‖_F ≤ eps · ‖X‖_F`, no rank cap,
/// [`FirstRank::Auto`]. See [`TrSvd`].
///
/// ```
/// use tensorize::decomp::tr_svd;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[4, 3, 5], 1)?;
/// let (tr, report) = tr_svd(&x, 0.0)?;          // exact: R = 4 = 2 · 2
/// assert_eq!(tr.ranks(), vec![2, 2, 6, 2]);
/// assert!(report.rel_error < 1e-12 && tr.rel_error(&x)? < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`TrSvd::fit`].
pub fn tr_svd<T: Scalar>(x: &Tensor<T>, eps: f64) -> Result<(TrTensor<T>, FitReport)> {
    TrSvd::new().eps(eps).fit(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Factorized;

    #[test]
    fn split_rule() {
        let s = [4, 5];
        let m = usize::MAX;
        assert_eq!(split_rank(4, 4, m, FirstRank::Auto, &s).unwrap(), (2, 2));
        assert_eq!(split_rank(6, 6, m, FirstRank::Auto, &s).unwrap(), (2, 3));
        assert_eq!(split_rank(7, 7, m, FirstRank::Auto, &s).unwrap(), (1, 7));
        // Cap 4: 7 has no split within the cap, 8 = 2 · 4 does.
        assert_eq!(split_rank(7, 9, 4, FirstRank::Auto, &s).unwrap(), (2, 4));
        // ... unless 8 exceeds the full rank: then 6 = 2 · 3.
        assert_eq!(split_rank(7, 7, 4, FirstRank::Auto, &s).unwrap(), (2, 3));
        assert_eq!(split_rank(20, 20, 3, FirstRank::Auto, &s).unwrap(), (3, 3));
        assert_eq!(split_rank(5, 8, m, FirstRank::Fixed(2), &s).unwrap(), (2, 3));
        assert_eq!(split_rank(5, 5, m, FirstRank::Fixed(2), &s).unwrap(), (2, 2));
        assert!(split_rank(5, 5, m, FirstRank::Fixed(6), &s).is_err());
        assert!(split_rank(5, 5, 2, FirstRank::Fixed(3), &s).is_err());
    }

    /// A TR with known ranks is recovered with at most those ranks, to rounding.
    fn recovers_low_rank<T: Scalar>() {
        let ranks = [2usize, 3, 2];
        let shape = [4usize, 5, 6];
        let cores: Vec<_> = (0..3)
            .map(|k| {
                Tensor::<T>::random_normal(&[ranks[k], shape[k], ranks[(k + 1) % 3]], k as u64)
                    .unwrap()
            })
            .collect();
        let x = TrTensor::new(cores).unwrap().to_dense().unwrap();
        let eps = (T::epsilon().as_f64()).sqrt();
        let (tr, report) = TrSvd::new().eps(eps).first_rank(2).fit(&x).unwrap();
        assert_eq!(tr.ranks()[0], 2);
        let err = x.sub(&tr.to_dense().unwrap()).unwrap().norm().as_f64() / x.norm().as_f64();
        assert!(err <= eps * 1.01 + 100.0 * T::epsilon().as_f64(), "{err}");
        assert!((report.rel_error - err).abs() <= 2.0 * eps, "{} {err}", report.rel_error);
    }

    #[test]
    fn recovers_low_rank_f64() {
        recovers_low_rank::<f64>();
    }

    #[test]
    fn recovers_low_rank_f32() {
        recovers_low_rank::<f32>();
    }

    #[test]
    fn generic_ranks_match_fit() {
        for shape in [vec![4usize, 5, 6], vec![3, 2, 4, 2], vec![6, 2], vec![2, 3, 2, 2, 3]] {
            for cap in [2usize, 3, 100] {
                let x = Tensor::<f64>::random_normal(&shape, 3).unwrap();
                let p = TrSvd::new().max_rank(cap);
                let (tr, _) = p.fit(&x).unwrap();
                assert_eq!(tr.ranks(), p.generic_ranks(&shape).unwrap(), "{shape:?} {cap}");
            }
        }
    }
}
