//! CP-ALS: the CP decomposition `X ≈ [[w; U_0, …, U_{N-1}]]` by alternating least squares.

use faer::{Mat, MatRef};

use super::subspace::{leading_basis, RankRule};
use super::sweep_input::sweep_input;
use crate::error::{check_non_negative, checked_numel, Error, Result};
use crate::format::cp::{
    gram, hadamard_of_grams, norm_sq_from_grams, normalize_columns, weighted_column_dots,
};
use crate::format::rel_error::{cancellation_floor, rel_error_from_inner};
use crate::format::{CpTensor, Factorized};
use crate::kernels::mttkrp::{mttkrp_buffered, mttkrp_flops, mttkrp_unchecked, MttkrpBuffers};
use crate::kernels::mttkrp_partial::{contract_mode, mttkrp_from_partial, without};
use crate::linalg;
use crate::linalg::SubspaceMethod;
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// How CP-ALS chooses its starting factors.
#[derive(Clone, Debug, PartialEq)]
pub enum CpInit<T> {
    /// `U_n` = the leading `min(R, I_n)` eigenvectors of the mode Gram matrix
    /// `X_(n) X_(n)ᵀ` (the leading left singular vectors of the unfolding, computed without
    /// forming it); when `R > I_n` the remaining columns are seeded uniform `[0, 1)` values, as
    /// in TensorLy. Deterministic up to eigenvector signs.
    Svd,
    /// Every factor entry seeded uniform on `[0, 1)` (seed `seed + n` for mode `n`).
    Random,
    /// Start from this CP tensor (its shape and rank must match the fit).
    Given(CpTensor<T>),
}

/// Parameters of CP-ALS (alternating least squares), a builder; [`CpAls::fit`] runs it.
///
/// Each sweep updates the factors mode by mode: with `M_n` the mode-`n` MTTKRP of `X`,
///
/// ```text
/// U_n ← M_n · (⊛_{k≠n} U_kᵀU_k + λ I)⁻¹,   then  w_r ← ‖U_n[:, r]‖,  U_n[:, r] ← U_n[:, r] / w_r,
/// ```
///
/// where `⊛` is the Hadamard product and `λ` the [`l2`](CpAls::l2) penalty. The normal
/// equations are solved by [`linalg::solve_spd`], which falls back to a regularized or
/// pseudo-inverse solve when they are singular (rank-deficient data, rank above a dimension).
/// The relative error after each sweep comes from the last MTTKRP and the Gram matrices,
/// `‖X − X̂‖² = ‖X‖² − 2 Σ_r w_r Σ_i M_n[i, r] U_n[i, r] + wᵀ(⊛_k U_kᵀU_k)w`, without
/// rebuilding `X̂`. That formula's rounding error is a few `eps·‖X‖²` (in f64 its values
/// below `2·sqrt(eps)` were seen to repeat exactly), so below `8·sqrt(eps)` (≈ 1.2e-7 in f64,
/// ≈ 2.8e-3 in f32) the error is recomputed by an explicit difference, reconstructing `X̂` in
/// small row blocks (about one extra MTTKRP of work per sweep, no extra tensor) — in every
/// sweep when it decides something (`tol > 0` or line search), else only for the final
/// report (with `tol = 0` the history holds the fast values, accurate to about `eps / e`). The fit stops when the relative error changes
/// by less than `tol` between sweeps (`|e_{k−1} − e_k| < tol`, i.e. the fit `1 − e` moved by
/// less than `tol`; `tol = 0` runs `max_iter` sweeps).
///
/// ```
/// use tensorize::decomp::{CpAls, CpInit};
/// use tensorize::format::CpTensor;
/// use tensorize::{Factorized, Tensor};
/// use faer::Mat;
/// // An exact rank-2 tensor of shape 4 × 5 × 6.
/// let f = |d: usize, s: f64| Mat::from_fn(d, 2, |i, r| ((i + 1) as f64 * s + r as f64).sin());
/// let x = CpTensor::from_factors(vec![f(4, 1.0), f(5, 2.0), f(6, 3.0)])?.to_dense()?;
/// let (cp, report) = CpAls::new(2).init(CpInit::Svd).tol(1e-12).max_iter(500).fit(&x)?;
/// assert!(report.rel_error < 1e-6);
/// assert!(cp.rel_error(&x)? < 1e-6);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CpAls<T> {
    rank: usize,
    max_iter: usize,
    tol: f64,
    init: CpInit<T>,
    seed: u64,
    l2: f64,
    fixed_modes: Vec<usize>,
    line_search: bool,
    par: Option<Par>,
}

impl<T: Scalar> CpAls<T> {
    /// CP-ALS with rank `rank` and defaults: `max_iter` 200, `tol` 1e-8, SVD init, seed 7,
    /// no `l2` penalty, no fixed modes, no line search, automatic parallelism.
    pub fn new(rank: usize) -> Self {
        Self {
            rank,
            max_iter: 200,
            tol: 1e-8,
            init: CpInit::Svd,
            seed: 7,
            l2: 0.0,
            fixed_modes: Vec::new(),
            line_search: false,
            par: None,
        }
    }

    /// The maximum number of ALS sweeps (at least 1).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Stop when the relative error changes by less than `tol` between sweeps (`tol ≥ 0`;
    /// 0 runs all `max_iter` sweeps).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// The initialization (default [`CpInit::Svd`]).
    pub fn init(mut self, init: CpInit<T>) -> Self {
        self.init = init;
        self
    }

    /// The seed for random initial values (default 7); same seed and input, same result.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The ridge penalty `λ ≥ 0`: each update minimizes `‖X_(n) − U_n Kᵀ‖² + λ‖U_n‖²`.
    pub fn l2(mut self, lambda: f64) -> Self {
        self.l2 = lambda;
        self
    }

    /// Modes whose factors keep their initial values.
    pub fn fixed_modes(mut self, modes: &[usize]) -> Self {
        self.fixed_modes = modes.to_vec();
        self
    }

    /// Bro's extrapolation: after sweep `k ≥ 3`, try `old + k^{1/3} · (new − old)` for the
    /// weights and free factors and keep it if the error drops (costs one extra MTTKRP).
    pub fn line_search(mut self, on: bool) -> Self {
        self.line_search = on;
        self
    }

    /// Explicit parallelism for the MTTKRPs and GEMMs (default: [`auto_par`] by problem size).
    pub fn par(mut self, par: Par) -> Self {
        self.par = Some(par);
        self
    }

    /// Fits `x`, returning the CP tensor (unit-norm factor columns, norms in the weights,
    /// except for fixed modes, which are left as given) and a [`FitReport`].
    ///
    /// Each pass over `x` contracts one mode `c` with its factor (a dimension tree) and serves
    /// the `N − 1` updates that follow, so a sweep reads `x` `N / (N − 1)` times (see
    /// `kernels::mttkrp_partial`); tensors whose modes are all shorter than `4R` (and
    /// matrices) use one direct MTTKRP per update instead.
    ///
    /// Peak extra memory is `O(numel · R / I_c + Σ I_k R)` for the MTTKRP intermediates (the
    /// partial contraction, at most a quarter of `x` since `I_c ≥ 4R`, and Khatri–Rao products
    /// of the factors; see [`crate::kernels::mttkrp`]): no unfolding copies, no Khatri–Rao
    /// product of the tensor's size, and explicit errors are computed block by block. For
    /// 200×200×200 at rank 10 that is about 5% of the input (one 40000 × 10 buffer).
    ///
    /// # Errors
    /// [`Error::NonFinite`] for NaN/Inf in `x`; [`Error::InvalidRank`] for rank 0, a rank
    /// above `numel`, or a given initialization of another rank; [`Error::InvalidParameter`] for
    /// `max_iter = 0` or a negative/non-finite `tol` or `l2`; [`Error::ModeOutOfRange`] /
    /// [`Error::InvalidModes`] for bad fixed modes or an order-0 tensor;
    /// [`Error::ShapeMismatch`] for a given initialization of another shape.
    pub fn fit(&self, x: &Tensor<T>) -> Result<(CpTensor<T>, FitReport)> {
        let norm_x = self.validate(x)?;
        let par = self.par.unwrap_or_else(|| auto_par(mttkrp_flops(x.numel(), self.rank)));
        // Near overflow or underflow the Gram matrices, MTTKRPs and column norms leave the
        // floating-point range: fit x / ‖x‖ and scale the weights back. That is the same fit,
        // l2 penalty included: each update U_n = M_n (H + λI)⁻¹ is linear in x (M_n is; H holds
        // only the other factors, never the weights), so scaling x scales U_n and the weights.
        let original = x;
        let input = sweep_input(x, "cp_als")?;
        let (x, norm_x, s) = if input.factor != T::one() {
            (input.tensor.as_ref(), T::of(input.norm), input.factor)
        } else {
            (x, norm_x, T::one())
        };
        let (mut weights, factors) = self.initial(x, par)?;
        if let CpInit::Given(_) = self.init {
            weights.iter_mut().for_each(|w| *w /= s);
        }
        let (cp, report) = Sweeps::new(self, x, norm_x, weights, factors, par).run()?;
        if s == T::one() {
            return Ok((cp, report));
        }
        let (weights, factors) = cp.into_parts();
        // The scaled weights are checked: a weight times ‖x‖ can overflow.
        let cp = CpTensor::new(weights.into_iter().map(|w| w * s).collect(), factors)?;
        let mut report = report;
        report.rel_error = input.reported_error(original, report.rel_error, || cp.to_dense())?;
        Ok((cp, report))
    }

    /// Checks the parameters against `x` and returns `‖x‖`.
    fn validate(&self, x: &Tensor<T>) -> Result<T> {
        const OP: &str = "cp_als";
        x.check_nonempty()?;
        let shape = x.shape().to_vec();
        if shape.is_empty() {
            return Err(Error::InvalidModes {
                op: OP,
                modes: vec![],
                ndim: 0,
                detail: "CP needs a tensor of order at least 1".into(),
            });
        }
        if self.rank == 0 || self.rank > x.numel() {
            return Err(Error::InvalidRank {
                op: OP,
                ranks: vec![self.rank],
                shape,
                detail: format!(
                    "the CP rank must be between 1 and the number of elements {}",
                    x.numel()
                ),
            });
        }
        if self.max_iter == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iter",
                value: "0".into(),
                expected: "at least 1 sweep",
            });
        }
        check_non_negative("tol", self.tol)?;
        check_non_negative("l2", self.l2)?;
        for (j, &m) in self.fixed_modes.iter().enumerate() {
            x.check_mode(m)?;
            if self.fixed_modes[..j].contains(&m) {
                return Err(Error::InvalidModes {
                    op: OP,
                    modes: self.fixed_modes.clone(),
                    ndim: shape.len(),
                    detail: format!("fixed mode {m} is listed twice"),
                });
            }
        }
        for &d in &shape {
            checked_numel(&[d, self.rank], std::mem::size_of::<T>())?;
        }
        checked_numel(&[self.rank, self.rank], std::mem::size_of::<T>())?;
        // One pass for both: the (overflow-safe) norm is finite iff every element is.
        let norm = x.norm();
        if !norm.is_finite() {
            x.check_finite(OP)?;
        }
        Ok(norm)
    }

    fn initial(&self, x: &Tensor<T>, par: Par) -> Result<(Vec<T>, Vec<Mat<T>>)> {
        let shape = x.shape();
        let r = self.rank;
        let uniform = |rows: usize, cols: usize, mode: usize| -> Result<Mat<T>> {
            let seed = self.seed.wrapping_add(mode as u64);
            let t = Tensor::<T>::random_uniform(&[rows, cols], T::zero(), T::one(), seed)?;
            Ok(Mat::from_fn(rows, cols, |i, j| t.as_slice()[i * cols + j]))
        };
        match &self.init {
            CpInit::Given(cp) => {
                if cp.shape() != shape {
                    return Err(Error::ShapeMismatch {
                        op: "cp_als",
                        left: shape.to_vec(),
                        right: cp.shape(),
                        detail: "the initial CP tensor must have the input's shape".into(),
                    });
                }
                if cp.rank() != r {
                    return Err(Error::InvalidRank {
                        op: "cp_als",
                        ranks: vec![cp.rank()],
                        shape: shape.to_vec(),
                        detail: format!("the initial CP tensor must have the fit's rank {r}"),
                    });
                }
                Ok((cp.weights().to_vec(), cp.factors().to_vec()))
            }
            CpInit::Random => {
                let factors = shape
                    .iter()
                    .enumerate()
                    .map(|(n, &d)| uniform(d, r, n))
                    .collect::<Result<_>>()?;
                Ok((vec![T::one(); r], factors))
            }
            CpInit::Svd => {
                let mut factors = Vec::with_capacity(shape.len());
                for (n, &d) in shape.iter().enumerate() {
                    // The leading left singular vectors of the unfolding, shared with HOSVD:
                    // Gram + eigensolver for short-fat unfoldings, a thin SVD for tall ones.
                    let vecs =
                        leading_basis(x, n, RankRule::Rank(r.min(d)), SubspaceMethod::Auto, par)?.u;
                    // The basis can be narrower than asked (an unfolding of lower rank, found
                    // by the nn_layers fuzz target): random columns fill the rest.
                    let lead = vecs.ncols().min(r);
                    let extra = if r > lead { Some(uniform(d, r - lead, n)?) } else { None };
                    factors.push(Mat::from_fn(d, r, |i, j| match &extra {
                        Some(e) if j >= lead => e[(i, j - lead)],
                        _ => vecs[(i, j)],
                    }));
                }
                Ok((vec![T::one(); r], factors))
            }
        }
    }
}

/// CP-ALS with rank `rank` and the defaults of [`CpAls::new`].
///
/// ```
/// use tensorize::{decomp::cp_als, Tensor};
/// let x = Tensor::<f64>::random_normal(&[6, 5, 4], 1)?;
/// let (cp, report) = cp_als(&x, 3)?;
/// assert_eq!((cp.rank(), cp.factors()[1].nrows()), (3, 5));
/// assert!(report.rel_error < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`CpAls::fit`].
pub fn cp_als<T: Scalar>(x: &Tensor<T>, rank: usize) -> Result<(CpTensor<T>, FitReport)> {
    CpAls::new(rank).fit(x)
}

/// The state of one CP-ALS run.
struct Sweeps<'a, T: Scalar> {
    params: &'a CpAls<T>,
    x: &'a Tensor<T>,
    weights: Vec<T>,
    factors: Vec<Mat<T>>,
    grams: Vec<Mat<T>>,
    norm_x_sq: T,
    par: Par,
    bufs: MttkrpBuffers<T>,
    /// `X` contracted over mode `c` with the current `U_c` (see [`contract_mode`]): valid
    /// while `partial_mode` is `Some(c)`; the buffer is kept across sweeps.
    partial: Vec<T>,
    partial_mode: Option<usize>,
}

impl<'a, T: Scalar> Sweeps<'a, T> {
    fn new(
        params: &'a CpAls<T>,
        x: &'a Tensor<T>,
        nx: T,
        weights: Vec<T>,
        factors: Vec<Mat<T>>,
        par: Par,
    ) -> Self {
        let grams = factors.iter().map(|f| gram(f.as_ref())).collect();
        Self {
            params,
            x,
            weights,
            factors,
            grams,
            norm_x_sq: nx * nx,
            par,
            bufs: MttkrpBuffers::default(),
            partial: Vec::new(),
            partial_mode: None,
        }
    }

    fn views(factors: &[Mat<T>]) -> Vec<MatRef<'_, T>> {
        factors.iter().map(|f| f.as_ref()).collect()
    }

    fn run(mut self) -> Result<(CpTensor<T>, FitReport)> {
        let ndim = self.x.ndim();
        let free: Vec<usize> = (0..ndim).filter(|n| !self.params.fixed_modes.contains(n)).collect();
        let mut history: Vec<f64> = Vec::new();
        let mut converged = false;
        let mut error = T::zero();
        if free.is_empty() {
            error = self.error_of_current(None)?;
            history.push(error.as_f64());
            return self.finish(
                error,
                FitReport { iterations: 0, rel_error: 0.0, converged: true, history },
            );
        }
        for it in 1..=self.params.max_iter {
            let old = if self.params.line_search && it >= 3 {
                Some((self.weights.clone(), self.factors.clone()))
            } else {
                None
            };
            let mut last = None;
            for &n in &free {
                let m = self.mttkrp_of(n, &free)?;
                last = Some((n, self.update_mode(n, m)?));
            }
            error = self.error_of_current(last.as_ref().map(|(n, m)| (*n, m.as_ref())))?;
            if let Some((old_w, old_f)) = old {
                error = self.try_extrapolation(it, old_w, old_f, error)?;
            }
            let prev = history.last().copied();
            history.push(error.as_f64());
            if let Some(p) = prev {
                if self.params.tol > 0.0 && (p - error.as_f64()).abs() < self.params.tol {
                    converged = true;
                    break;
                }
            }
        }
        let iterations = history.len();
        self.finish(error, FitReport { iterations, rel_error: 0.0, converged, history })
    }

    /// The mode-`n` MTTKRP for the update of `n`, from the partial contraction when one is valid
    /// (a dimension tree). When none is, one pass over `X` contracts the mode whose factor
    /// stays unchanged longest ([`Self::contraction_for`]), so that each pass serves the next
    /// `N − 1` updates: `N / (N − 1)` passes over `X` per sweep (1.5 for a 3-way tensor)
    /// instead of 2 with a fixed last-mode tree. The iterates are those of plain ALS.
    fn mttkrp_of(&mut self, n: usize, free: &[usize]) -> Result<Mat<T>> {
        if self.partial_mode.is_none_or(|c| c == n) {
            self.partial_mode = None;
            if let Some(c) = self.contraction_for(n, free) {
                contract_mode(self.x, c, self.factors[c].as_ref(), self.par, &mut self.partial)?;
                self.partial_mode = Some(c);
            }
        }
        let views = Self::views(&self.factors);
        match self.partial_mode {
            Some(c) => {
                let mode = if n < c { n } else { n - 1 };
                let kept = without(self.x.shape(), c);
                mttkrp_from_partial(&self.partial, &kept, &without(&views, c), mode, self.par)
            }
            None => mttkrp_buffered(self.x, &views, n, self.par, &mut self.bufs),
        }
    }

    /// The mode to contract `X` over for the updates from mode `n` on: the one whose factor
    /// stays unchanged longest (a fixed mode forever, else the free mode updated most recently
    /// before `n`), among those whose partial is small (`I_c ≥ 4R`: at most a quarter of `X`).
    /// `None` for matrices (a partial would be the MTTKRP itself) and tensors without such a mode.
    fn contraction_for(&self, n: usize, free: &[usize]) -> Option<usize> {
        let shape = self.x.shape();
        if shape.len() < 3 {
            return None;
        }
        let pos_n = free.iter().position(|&m| m == n)?;
        (0..shape.len()).filter(|&c| c != n && shape[c] >= 4 * self.params.rank).max_by_key(|&c| {
            let lasting = match free.iter().position(|&m| m == c) {
                None => usize::MAX,
                Some(p) => (p + free.len() - pos_n) % free.len(),
            };
            (lasting, shape[c])
        })
    }

    /// One ALS update of mode `n` from its MTTKRP `m`; returns `m` (for the error).
    fn update_mode(&mut self, n: usize, m: Mat<T>) -> Result<Mat<T>> {
        let r = self.params.rank;
        let h = hadamard_of_grams(&self.grams, r, Some(n), T::of(self.params.l2));
        // U_n H = M  ⇔  H U_nᵀ = Mᵀ (H symmetric).
        let (sol, _method) = linalg::solve_spd(h.as_ref(), m.transpose(), Par::Seq)?;
        let mut u = sol.transpose().to_owned();
        if !u.as_ref().is_all_finite() {
            return Err(Error::NoConvergence { op: "cp_als normal equations", shape: vec![r, r] });
        }
        self.weights = normalize_columns(u.as_mut());
        self.grams[n] = gram(u.as_ref());
        // No partial to drop: the one in use never contracts `n` (`mttkrp_of` replaced it).
        self.factors[n] = u;
        Ok(m)
    }

    /// The relative error of the current model; `last` is the mode just updated and the MTTKRP
    /// computed for it (all other factors unchanged since), else one MTTKRP is computed.
    fn error_of_current(&self, last: Option<(usize, MatRef<'_, T>)>) -> Result<T> {
        let inner = match last {
            Some((n, m)) => weighted_column_dots(m, self.factors[n].as_ref(), &self.weights),
            None => {
                let m = mttkrp_unchecked(self.x, &Self::views(&self.factors), 0, self.par)?;
                weighted_column_dots(m.as_ref(), self.factors[0].as_ref(), &self.weights)
            }
        };
        let norm_sq = norm_sq_from_grams(&self.grams, &self.weights);
        let fast = rel_error_from_inner(self.norm_x_sq, norm_sq, inner);
        // The explicit pass is only paid for when the value decides something: the stopping
        // rule (tol > 0) or the line search. With tol = 0 the history keeps the fast values.
        let decisive = self.params.tol > 0.0 || self.params.line_search;
        if decisive && fast < self.floor(&self.weights, &self.factors) {
            return self.explicit_error(&self.weights, &self.factors);
        }
        Ok(fast)
    }

    /// The products the Gram formula of the error sums, about `numel · R²` (the norm of the
    /// model runs over `R²` Gram entries for each entry): what the cancellation floor counts.
    fn floor_terms(&self) -> usize {
        let r = self.weights.len();
        self.x.numel().saturating_mul(r.saturating_mul(r))
    }

    /// The error below which the Gram formula has lost its digits: the cancellation floor of
    /// [`Self::floor_terms`] products, times how far the model's terms outgrow `‖X‖` before
    /// they cancel (`sqrt(|w|ᵀ(⊛_k |U_k|ᵀ|U_k|)|w|) / ‖X‖`, at least 1): a fuzz input's
    /// degenerate fit, with large terms of opposite signs, reported 1.34e-5 for a true 1.31e-5.
    fn floor(&self, weights: &[T], factors: &[Mat<T>]) -> T {
        let abs_grams: Vec<Mat<T>> = factors
            .iter()
            .map(|u| gram(Mat::from_fn(u.nrows(), u.ncols(), |i, j| u[(i, j)].abs()).as_ref()))
            .collect();
        let abs_weights: Vec<T> = weights.iter().map(|w| w.abs()).collect();
        let growth = (norm_sq_from_grams(&abs_grams, &abs_weights) / self.norm_x_sq).sqrt();
        // NaN (an empty or zero x) leaves the plain floor; ∞ forces the explicit error.
        cancellation_floor::<T>(self.floor_terms())
            * if growth > T::one() { growth } else { T::one() }
    }

    fn explicit_error(&self, weights: &[T], factors: &[Mat<T>]) -> Result<T> {
        let cp = CpTensor::from_parts_unchecked(weights.to_vec(), factors.to_vec());
        cp.explicit_rel_error(self.x, self.norm_x_sq.sqrt(), self.par)
    }

    /// Bro's line search: tries `old + it^{1/3} (new − old)`; keeps it if the error drops.
    fn try_extrapolation(
        &mut self,
        it: usize,
        old_w: Vec<T>,
        old_f: Vec<Mat<T>>,
        error: T,
    ) -> Result<T> {
        let jump = T::of((it as f64).cbrt());
        let step = |o: T, v: T| o + jump * (v - o);
        let w: Vec<T> = old_w.iter().zip(&self.weights).map(|(&o, &v)| step(o, v)).collect();
        let f: Vec<Mat<T>> = old_f
            .iter()
            .zip(&self.factors)
            .map(|(o, v)| Mat::from_fn(o.nrows(), o.ncols(), |i, j| step(o[(i, j)], v[(i, j)])))
            .collect();
        let grams: Vec<Mat<T>> = f.iter().map(|u| gram(u.as_ref())).collect();
        let m = mttkrp_unchecked(self.x, &Self::views(&f), 0, self.par)?;
        let inner = weighted_column_dots(m.as_ref(), f[0].as_ref(), &w);
        let mut trial = rel_error_from_inner(self.norm_x_sq, norm_sq_from_grams(&grams, &w), inner);
        if trial < self.floor(&w, &f) {
            trial = self.explicit_error(&w, &f)?;
        }
        if trial.is_finite() && trial < error {
            self.weights = w;
            self.factors = f;
            self.grams = grams;
            self.partial_mode = None;
            return Ok(trial);
        }
        Ok(error)
    }

    /// Packs the result; the reported error is recomputed explicitly when the fast formula's
    /// value is too small to trust (see `cancellation_floor`; normally already done).
    fn finish(self, error: T, mut report: FitReport) -> Result<(CpTensor<T>, FitReport)> {
        let mut error = error;
        if error < self.floor(&self.weights, &self.factors) {
            error = self.explicit_error(&self.weights, &self.factors)?;
            if let Some(last) = report.history.last_mut() {
                *last = error.as_f64();
            }
        }
        report.rel_error = error.as_f64();
        Ok((CpTensor::from_parts_unchecked(self.weights, self.factors), report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact<T: Scalar>(shape: &[usize], rank: usize, seed: u64) -> (Tensor<T>, CpTensor<T>) {
        let factors = shape
            .iter()
            .enumerate()
            .map(|(k, &d)| {
                let t = Tensor::<T>::random_normal(&[d, rank], seed + k as u64).unwrap();
                Mat::from_fn(d, rank, |i, r| t.as_slice()[i * rank + r])
            })
            .collect();
        let cp = CpTensor::from_factors(factors).unwrap();
        (cp.to_dense().unwrap(), cp)
    }

    #[test]
    fn recovers_exact_low_rank_f64_and_f32() {
        let (x, _) = exact::<f64>(&[8, 9, 10], 3, 4);
        let (cp, rep) = CpAls::new(3).tol(1e-14).max_iter(2000).fit(&x).unwrap();
        assert!(rep.rel_error <= 1e-8, "{rep:?}");
        assert!(cp.rel_error(&x).unwrap() <= 1e-8);
        let (x, _) = exact::<f32>(&[8, 9, 10], 3, 4);
        let (cp, rep) = CpAls::new(3).tol(0.0).max_iter(300).fit(&x).unwrap();
        let bound = 100.0 * f32::EPSILON.sqrt() as f64;
        assert!(rep.rel_error <= bound, "{rep:?}");
        assert!(cp.rel_error(&x).unwrap() as f64 <= bound);
    }

    /// Plain ALS with the reference MTTKRP (`tenalg::mttkrp`, one full product per update).
    fn reference_als(
        x: &Tensor<f64>,
        init: &CpTensor<f64>,
        fixed: &[usize],
        sweeps: usize,
    ) -> (Vec<f64>, Vec<Mat<f64>>) {
        let (mut weights, mut factors) = (init.weights().to_vec(), init.factors().to_vec());
        for _ in 0..sweeps {
            for n in (0..x.ndim()).filter(|n| !fixed.contains(n)) {
                let views: Vec<_> = factors.iter().map(|f| f.as_ref()).collect();
                let m = crate::tenalg::mttkrp(x, &views, n).unwrap();
                let grams: Vec<_> = factors.iter().map(|f| gram(f.as_ref())).collect();
                let h = hadamard_of_grams(&grams, init.rank(), Some(n), 0.0);
                let (sol, _) = linalg::solve_spd(h.as_ref(), m.transpose(), Par::Seq).unwrap();
                let mut u = sol.transpose().to_owned();
                weights = normalize_columns(u.as_mut());
                factors[n] = u;
            }
        }
        (weights, factors)
    }

    #[test]
    fn dimension_tree_gives_the_iterates_of_plain_als() {
        // Modes of at least 4R take part in the tree (one of them fixed in the last case, whose
        // partial then serves every update); the 5 in [9, 12, 5, 16] does not.
        for (shape, rank, fixed) in [
            (&[12, 13, 14][..], 3, &[][..]),
            (&[9, 12, 5, 16], 2, &[]),
            (&[9, 12, 5, 16], 2, &[3]),
            (&[16, 3, 17], 4, &[0, 1]),
        ] {
            let x = Tensor::<f64>::random_normal(shape, 3).unwrap();
            let (_, init) = exact::<f64>(shape, rank, 8);
            for par in [Par::Seq, Par::rayon(2)] {
                let (cp, _) = CpAls::new(rank)
                    .init(CpInit::Given(init.clone()))
                    .fixed_modes(fixed)
                    .tol(0.0)
                    .max_iter(6)
                    .par(par)
                    .fit(&x)
                    .unwrap();
                let (w, f) = reference_als(&x, &init, fixed, 6);
                let scale = w.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
                for (a, b) in cp.weights().iter().zip(&w) {
                    assert!((a - b).abs() <= 1e-9 * scale, "{shape:?}: weight {a} vs {b}");
                }
                for (a, b) in cp.factors().iter().zip(&f) {
                    assert!((a - b).norm_l2() <= 1e-9 * b.norm_l2(), "{shape:?}: factors differ");
                }
            }
        }
    }

    #[test]
    fn fixed_modes_keep_their_factors() {
        let (x, truth) = exact::<f64>(&[5, 6, 7], 2, 1);
        let init = CpTensor::from_factors(vec![
            truth.factors()[0].clone(),
            Mat::from_fn(6, 2, |i, r| (i + 2 * r) as f64 * 0.1 + 1.0),
            Mat::from_fn(7, 2, |i, r| ((i * r) as f64).cos()),
        ])
        .unwrap();
        let (cp, rep) = CpAls::new(2)
            .init(CpInit::Given(init))
            .fixed_modes(&[0])
            .tol(0.0)
            .max_iter(300)
            .fit(&x)
            .unwrap();
        assert_eq!(cp.factors()[0], truth.factors()[0]);
        assert!(rep.rel_error < 1e-6, "{rep:?}");
    }

    #[test]
    fn line_search_and_l2_run_and_stay_finite() {
        let (x, _) = exact::<f64>(&[6, 7, 8], 4, 3);
        let noisy = x.add(&Tensor::random_normal(x.shape(), 9).unwrap().scale(0.01)).unwrap();
        let (_, plain) =
            CpAls::new(4).init(CpInit::Random).tol(0.0).max_iter(40).fit(&noisy).unwrap();
        let (cp, ls) = CpAls::new(4)
            .init(CpInit::Random)
            .line_search(true)
            .tol(0.0)
            .max_iter(40)
            .fit(&noisy)
            .unwrap();
        assert!(ls.rel_error.is_finite() && cp.factors().iter().all(|f| f.is_all_finite()));
        assert!(ls.rel_error <= plain.rel_error * 1.5 + 1e-3, "{ls:?} vs {plain:?}");
        let (cp, rep) = CpAls::new(4).l2(1.0).fit(&noisy).unwrap();
        assert!(rep.rel_error.is_finite() && cp.weights().iter().all(|w| w.is_finite()));
    }

    #[test]
    fn a_ridge_fit_is_the_same_fit_at_any_scale() {
        // Each ridge update is linear in the data, so x·s is fitted by the weights times s.
        // Unscaled, 1e-300 data underflowed every column norm: all weights 0, reported error 0.
        let (x, _) = exact::<f64>(&[3, 4, 2], 2, 5);
        // (At the data's own rank: above it the fit is degenerate and rounding steers it.)
        let fit = |x: &Tensor<f64>| CpAls::new(2).l2(1e-3).max_iter(30).fit(x).unwrap();
        let (base, rep) = fit(&x);
        for s in [2.0, 1e-300, 1e300] {
            let (cp, scaled) = fit(&x.scale(s));
            let (e, e0) = (scaled.rel_error, rep.rel_error);
            assert!((e - e0).abs() <= 1e-6 * e0, "{s}: {e} vs {e0}");
            for (w, b) in cp.weights().iter().zip(base.weights()) {
                assert!((w / s - b).abs() <= 1e-6 * b.abs(), "{s}: {w} vs {b}");
            }
        }
    }
}
