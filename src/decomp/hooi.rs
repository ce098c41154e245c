//! HOOI (Tucker-ALS): full Tucker ([`Hooi`]) and partial Tucker on chosen modes
//! ([`PartialHooi`], [`tucker2`] for the channel modes of convolution kernels).

use faer::{Mat, MatRef};

use crate::decomp::hosvd::{check_ranks, orthonormal_rel_error_partial};
use crate::decomp::subspace::{leading_basis, RankRule};
use crate::decomp::sweep_input::sweep_input;
use crate::error::{check_non_negative, Error, Result};
use crate::format::partial_tucker::check_modes;
use crate::format::tucker::{
    apply_factors, check_finite_mat, is_orthonormal, reconstruct, sum_sq_f64,
};
use crate::format::{PartialTucker, TuckerTensor};
use crate::linalg::{qr_thin, SubspaceMethod};
use crate::par::{auto_par, Par};
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tenalg;
use crate::tensor::Tensor;

/// How HOOI picks its starting factors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TuckerInit {
    /// The HOSVD factors: leading left singular vectors of each unfolding (the default).
    #[default]
    Hosvd,
    /// The sequentially truncated HOSVD factors (modes in increasing order, each computed on
    /// the tensor already shrunk by the previous ones): cheaper than [`Hosvd`](Self::Hosvd)
    /// (one full-size Gram instead of `d`), usually as good a start.
    StHosvd,
    /// Orthonormalized (QR) standard normal matrices, from the seed.
    Random,
}

/// Options shared by [`Hooi`] and [`PartialHooi`].
#[derive(Clone, Debug)]
struct HooiOptions<T> {
    max_iter: usize,
    tol: f64,
    init: TuckerInit,
    seed: u64,
    fixed: Vec<(usize, Mat<T>)>,
    method: SubspaceMethod,
    par: Option<Par>,
}

impl<T> Default for HooiOptions<T> {
    fn default() -> Self {
        Self {
            max_iter: 100,
            tol: 1e-6,
            init: TuckerInit::Hosvd,
            seed: 0,
            fixed: Vec::new(),
            method: SubspaceMethod::Auto,
            par: None,
        }
    }
}

macro_rules! hooi_builder {
    () => {
        /// At most this many sweeps over the modes (default 100; 0 returns the initialization).
        pub fn max_iter(mut self, n: usize) -> Self {
            self.opts.max_iter = n;
            self
        }

        /// Stop when the relative error changes by less than `tol` between sweeps
        /// (default `1e-6`; `0` runs exactly `max_iter` sweeps).
        pub fn tol(mut self, tol: f64) -> Self {
            self.opts.tol = tol;
            self
        }

        /// The initialization (default [`TuckerInit::Hosvd`]).
        pub fn init(mut self, init: TuckerInit) -> Self {
            self.opts.init = init;
            self
        }

        /// The seed of [`TuckerInit::Random`] (default 0).
        pub fn seed(mut self, seed: u64) -> Self {
            self.opts.seed = seed;
            self
        }

        /// Keeps the factor of `mode` fixed at `factor` (`I_mode × r_mode`, orthonormal
        /// columns): it is neither initialized nor updated. Its column count must equal the
        /// rank asked for that mode.
        pub fn fixed(mut self, mode: usize, factor: Mat<T>) -> Self {
            self.opts.fixed.retain(|(m, _)| *m != mode);
            self.opts.fixed.push((mode, factor));
            self
        }

        /// How the leading subspaces are computed (default [`SubspaceMethod::Auto`]).
        pub fn method(mut self, method: SubspaceMethod) -> Self {
            self.opts.method = method;
            self
        }

        /// Explicit parallelism (default: chosen from the problem size with [`auto_par`]).
        pub fn par(mut self, par: Par) -> Self {
            self.opts.par = Some(par);
            self
        }
    };
}

/// Parameters of HOOI (higher-order orthogonal iteration, Tucker-ALS; De Lathauwer et al. 2000).
///
/// Maximizes `‖G‖_F = ‖X ×₀ U₀ᵀ ⋯ ×_{d−1} U_{d−1}ᵀ‖_F` over orthonormal `U_n` (`I_n × r_n`),
/// which minimizes `‖X − G ×₀ U₀ ⋯ ×_{d−1} U_{d−1}‖_F`. Each sweep updates, for every mode `n`,
///
/// `Y = X ×_{k≠n} U_kᵀ` (one multi-mode product skipping `n`),
/// `U_n ←` the `r_n` leading left singular vectors of `Y_(n)` (Gram + eigensolver),
///
/// and after the sweep `G = Y ×_n U_nᵀ` (from the last `Y`, no extra pass over `X`). Modes are
/// visited most-shrinking first (smallest `r_n/I_n`); once that mode `n₀` is updated,
/// `P = X ×_{n₀} U_{n₀}ᵀ` is computed once and every later `Y` starts from `P`, so a sweep reads
/// the full `X` twice whatever the order `d`. The error
/// `‖X − X̂‖² = ‖X‖² − ‖G‖²` never increases from sweep to sweep, so HOOI ends no worse than its
/// (default HOSVD) start. It stops when the relative error changes by less than `tol` or after
/// `max_iter` sweeps; the report holds the error after each sweep.
///
/// ```
/// use tensorize::decomp::{hosvd, Hooi};
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[6, 5, 4], 3)?;
/// let (_, start) = hosvd(&x, &[2, 2, 2])?;
/// let (t, report) = Hooi::new(&[2, 2, 2]).max_iter(50).tol(1e-10).fit(&x)?;
/// assert_eq!(t.ranks(), vec![2, 2, 2]);
/// assert!(report.rel_error <= start.rel_error + 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Hooi<T> {
    ranks: Vec<usize>,
    opts: HooiOptions<T>,
}

impl<T: Scalar> Hooi<T> {
    /// HOOI with multilinear ranks `ranks` (one per mode, `1 ≤ r_n ≤ I_n`).
    pub fn new(ranks: &[usize]) -> Self {
        Self { ranks: ranks.to_vec(), opts: HooiOptions::default() }
    }

    hooi_builder!();

    /// Decomposes `x`: a Tucker tensor with orthonormal factors, and the fit report.
    ///
    /// # Errors
    /// - [`Error::NonFinite`] for NaN/infinite input;
    /// - [`Error::InvalidRank`] unless there is one rank per mode with `1 ≤ r_n ≤ I_n`;
    /// - [`Error::InvalidParameter`] for a negative or non-finite `tol`, or a fixed factor
    ///   without orthonormal columns;
    /// - [`Error::InvalidModes`] / [`Error::ShapeMismatch`] for a fixed factor on a bad mode
    ///   or of the wrong shape.
    pub fn fit(&self, x: &Tensor<T>) -> Result<(TuckerTensor<T>, FitReport)> {
        x.check_nonempty()?;
        check_ranks("hooi", &self.ranks, x.shape())?;
        let modes: Vec<usize> = (0..x.ndim()).collect();
        let (core, factors, report) = run("hooi", x, &modes, &self.ranks, &self.opts)?;
        Ok((TuckerTensor::from_parts_unchecked(core, factors), report))
    }
}

/// Parameters of partial Tucker by HOOI: only the modes `modes` are decomposed, the others
/// keep their full dimension in the core (no factor is stored for them), as TensorLy's
/// `partial_tucker`. The iteration is [`Hooi`]'s restricted to the chosen modes:
/// `Y = X ×_{k∈modes, k≠n} U_kᵀ`, `U_n ←` leading vectors of `Y_(n)`.
///
/// The main use is **Tucker-2** of a convolution kernel `[out, in, kh, kw]` on modes `(0, 1)`
/// (see [`tucker2`]).
///
/// ```
/// use tensorize::decomp::PartialHooi;
/// use tensorize::Tensor;
/// let kernel = Tensor::<f32>::random_normal(&[8, 6, 3, 3], 0)?;
/// let (t, report) = PartialHooi::new(&[0, 1], &[4, 3]).max_iter(20).fit(&kernel)?;
/// assert_eq!(t.core().shape(), &[4, 3, 3, 3]);
/// assert_eq!(t.modes(), &[0, 1]);
/// assert!(report.rel_error < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct PartialHooi<T> {
    modes: Vec<usize>,
    ranks: Vec<usize>,
    opts: HooiOptions<T>,
}

impl<T: Scalar> PartialHooi<T> {
    /// Partial Tucker on `modes` (distinct, increasing) with ranks `ranks[j]` for `modes[j]`.
    pub fn new(modes: &[usize], ranks: &[usize]) -> Self {
        Self { modes: modes.to_vec(), ranks: ranks.to_vec(), opts: HooiOptions::default() }
    }

    hooi_builder!();

    /// Decomposes `x` on the chosen modes.
    ///
    /// # Errors
    /// - [`Error::InvalidModes`] unless `modes` are distinct, increasing and `< x.ndim()`;
    /// - [`Error::InvalidRank`] unless `ranks.len() == modes.len()` and
    ///   `1 ≤ ranks[j] ≤ I_{modes[j]}`;
    /// - otherwise as [`Hooi::fit`].
    pub fn fit(&self, x: &Tensor<T>) -> Result<(PartialTucker<T>, FitReport)> {
        x.check_nonempty()?;
        check_modes("partial_tucker", &self.modes, x.ndim())?;
        let sub_shape: Vec<usize> = self.modes.iter().map(|&m| x.shape()[m]).collect();
        check_ranks("partial_tucker", &self.ranks, &sub_shape)?;
        let (core, factors, report) =
            run("partial_tucker", x, &self.modes, &self.ranks, &self.opts)?;
        Ok((PartialTucker::from_parts_unchecked(core, factors, self.modes.clone()), report))
    }
}

/// HOOI of `x` with multilinear ranks `ranks`, HOSVD start, default options:
/// `Hooi::new(ranks).fit(x)`.
///
/// ```
/// use tensorize::decomp::hooi;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[5, 5, 5], 9)?;
/// let (t, report) = hooi(&x, &[2, 3, 2])?;
/// assert_eq!(t.core().shape(), &[2, 3, 2]);
/// assert!(report.iterations >= 1);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`Hooi::fit`].
pub fn hooi<T: Scalar>(x: &Tensor<T>, ranks: &[usize]) -> Result<(TuckerTensor<T>, FitReport)> {
    Hooi::new(ranks).fit(x)
}

/// Partial Tucker (HOOI) of `x` on `modes` with `ranks`: `PartialHooi::new(modes, ranks).fit(x)`.
///
/// `X ≈ G ×_{m₀} U₀ ⋯ ×_{m_{p−1}} U_{p−1}`; the modes not listed keep their dimension in `G`.
///
/// ```
/// use tensorize::decomp::partial_tucker;
/// use tensorize::{Factorized, Tensor};
/// let x = Tensor::<f64>::random_normal(&[6, 4, 5], 2)?;
/// let (t, report) = partial_tucker(&x, &[0, 2], &[6, 5])?; // full rank on both: exact
/// assert_eq!(t.core().shape(), &[6, 4, 5]);
/// assert!(report.rel_error < 1e-12);
/// assert!(t.rel_error(&x)? < 1e-12);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`PartialHooi::fit`].
pub fn partial_tucker<T: Scalar>(
    x: &Tensor<T>,
    modes: &[usize],
    ranks: &[usize],
) -> Result<(PartialTucker<T>, FitReport)> {
    PartialHooi::new(modes, ranks).fit(x)
}

/// Tucker-2 of a convolution kernel `[out, in, kh, kw]` (or any tensor of order ≥ 2): partial
/// Tucker on modes `(0, 1)` with ranks `(r_out, r_in)`,
///
/// `K ≈ G ×₀ U_out ×₁ U_in`, core `G: [r_out, r_in, kh, kw]`,
///
/// i.e. a 1×1 convolution `in → r_in` (`U_inᵀ`), a `kh × kw` convolution `r_in → r_out` (`G`)
/// and a 1×1 convolution `r_out → out` (`U_out`). HOOI from the HOSVD start, default options.
///
/// ```
/// use tensorize::decomp::tucker2;
/// use tensorize::{Factorized, Tensor};
/// let kernel = Tensor::<f32>::random_normal(&[16, 8, 3, 3], 1)?;
/// let (t, _) = tucker2(&kernel, 6, 4)?;
/// assert_eq!(t.core().shape(), &[6, 4, 3, 3]);
/// assert_eq!((t.factors()[0].nrows(), t.factors()[0].ncols()), (16, 6));
/// assert_eq!((t.factors()[1].nrows(), t.factors()[1].ncols()), (8, 4));
/// assert!(t.compression_ratio() > 2.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`PartialHooi::fit`] (a tensor of order < 2 gives [`Error::InvalidModes`]).
pub fn tucker2<T: Scalar>(
    kernel: &Tensor<T>,
    r_out: usize,
    r_in: usize,
) -> Result<(PartialTucker<T>, FitReport)> {
    PartialHooi::new(&[0, 1], &[r_out, r_in]).fit(kernel)
}

/// The shared HOOI iteration on the (validated) `modes` with `ranks[j]` for `modes[j]`.
/// Returns the core, the factors of `modes` (in order) and the report.
fn run<T: Scalar>(
    op: &'static str,
    x: &Tensor<T>,
    modes: &[usize],
    ranks: &[usize],
    opts: &HooiOptions<T>,
) -> Result<(Tensor<T>, Vec<Mat<T>>, FitReport)> {
    check_non_negative("tol", opts.tol)?;
    x.check_finite(op)?;
    // Near overflow or underflow the Gram matrices leave the floating-point range: iterate on
    // x / ‖x‖ (the factors do not change) and scale the core back.
    let input = sweep_input(x, op)?;
    let original = x;
    let x = input.tensor.as_ref();
    let d = x.ndim();
    let full = modes.len() == d;
    let mut rank_of = vec![None; d];
    for (&m, &r) in modes.iter().zip(ranks) {
        rank_of[m] = Some(r);
    }
    let par = opts.par.unwrap_or_else(|| {
        let r_max = ranks.iter().copied().max().unwrap_or(1);
        auto_par(2.0 * x.numel() as f64 * r_max as f64 * modes.len() as f64)
    });

    // Initialization: one factor per decomposed mode, `None` elsewhere.
    let mut factors: Vec<Option<Mat<T>>> = vec![None; d];
    let mut is_fixed = vec![false; d];
    for (mode, u) in &opts.fixed {
        check_fixed(op, x, *mode, u, rank_of.get(*mode).copied().flatten(), modes)?;
        factors[*mode] = Some(u.clone());
        is_fixed[*mode] = true;
    }
    // ST-HOSVD start: the working tensor shrinks with each new factor.
    let mut shrunk: Option<Tensor<T>> = None;
    for (&m, &r) in modes.iter().zip(ranks) {
        if is_fixed[m] {
            continue;
        }
        factors[m] = Some(match opts.init {
            TuckerInit::Hosvd => leading_basis(x, m, RankRule::Rank(r), opts.method, par)?.u,
            TuckerInit::StHosvd => {
                let cur = shrunk.as_ref().unwrap_or(x);
                let u = leading_basis(cur, m, RankRule::Rank(r), opts.method, par)?.u;
                shrunk = Some(tenalg::mode_product_with(cur, u.transpose(), m, par)?);
                u
            }
            TuckerInit::Random => random_orthonormal(x.shape()[m], r, opts.seed, m, par)?,
        });
    }
    drop(shrunk);
    // Most shrinking mode (smallest r/I) first: its projection of X is then shared (see below).
    let mut update: Vec<usize> = modes.iter().copied().filter(|&m| !is_fixed[m]).collect();
    update.sort_by(|&a, &b| {
        let ra = rank_of[a].unwrap_or(1) as f64 / x.shape()[a] as f64;
        let rb = rank_of[b].unwrap_or(1) as f64 / x.shape()[b] as f64;
        ra.total_cmp(&rb)
    });
    let norm_x_sq = sum_sq_f64(x.as_slice());
    let cheap_error = |core: &Tensor<T>| {
        let diff = (norm_x_sq - sum_sq_f64(core.as_slice())).max(0.0);
        if norm_x_sq > 0.0 {
            (diff / norm_x_sq).sqrt()
        } else {
            diff.sqrt()
        }
    };

    // The starting core is only needed when no sweep runs; the first sweep always continues.
    let mut core = if update.is_empty() || opts.max_iter == 0 {
        project_all(x, &factors, &[], par)?
    } else {
        Tensor::zeros(&vec![1; d])?
    };
    let mut prev = f64::INFINITY;
    let mut history = Vec::new();
    let mut converged = update.is_empty();
    let mut iterations = 0;
    // A shared projection P = X ×_c U_cᵀ serves the update of every mode but c while U_c is
    // unchanged. Each new one contracts the mode whose factor stays unchanged longest — a fixed
    // mode (forever), else the one updated last — so it serves the next d − 1 updates and a
    // sweep reads the full X d/(d − 1) times (1.5 for a 3-way tensor; it was 2).
    let shrink = |m: usize| rank_of[m].unwrap_or(1) as f64 / x.shape()[m] as f64;
    let fixed_mode =
        (0..d).filter(|&m| is_fixed[m]).min_by(|&a, &b| shrink(a).total_cmp(&shrink(b)));
    let mut shared: Option<(usize, Tensor<T>)> = None;
    while !converged && iterations < opts.max_iter {
        let mut last: Option<(usize, Tensor<T>)> = None;
        for (i, &n) in update.iter().enumerate() {
            if shared.as_ref().is_none_or(|(c, _)| *c == n) {
                let before = update[(i + update.len() - 1) % update.len()];
                let c = fixed_mode.or((update.len() > 1).then_some(before));
                shared = c
                    .and_then(|c| factors[c].as_ref().map(|u| (c, u)))
                    .map(|(c, u)| {
                        tenalg::mode_product_with(x, u.transpose(), c, par).map(|p| (c, p))
                    })
                    .transpose()?;
            }
            let y = match &shared {
                Some((c, p)) => project_all(p, &factors, &[*c, n], par)?,
                None if full => {
                    let mats: Vec<MatRef<'_, T>> =
                        factors.iter().flatten().map(|u| u.transpose()).collect();
                    tenalg::multi_mode_product_with(x, &mats, Some(n), par)?
                }
                None => project_all(x, &factors, &[n], par)?,
            };
            let r = rank_of[n].unwrap_or(1);
            let u = leading_basis(&y, n, RankRule::Rank(r), opts.method, par)?.u;
            factors[n] = Some(u);
            last = Some((n, y));
        }
        if let Some((n, y)) = last {
            if let Some(u) = &factors[n] {
                core = tenalg::mode_product_with(&y, u.transpose(), n, par)?;
            }
        }
        iterations += 1;
        let err = cheap_error(&core);
        history.push(err);
        converged = (prev - err).abs() < opts.tol;
        prev = err;
    }

    let refs: Vec<Option<MatRef<'_, T>>> =
        factors.iter().map(|u| u.as_ref().map(|u| u.as_ref())).collect();
    let rel_error = orthonormal_rel_error_partial(x, &core, &refs, norm_x_sq, par)?;
    let core = if input.factor == T::one() { core } else { core.scale(input.factor) };
    let rel_error = input.reported_error(original, rel_error, || {
        let mats: Vec<Option<MatRef<'_, T>>> =
            factors.iter().map(|u| u.as_ref().map(|u| u.as_ref())).collect();
        reconstruct(&core, &mats, Some(par))
    })?;
    match history.last_mut() {
        Some(last) => *last = rel_error,
        None => history.push(rel_error),
    }
    let kept: Vec<Mat<T>> = factors.into_iter().flatten().collect();
    Ok((core, kept, FitReport { iterations, rel_error, converged, history }))
}

/// `X ×_k U_kᵀ` over the present factors, except the modes in `skip`.
fn project_all<T: Scalar>(
    x: &Tensor<T>,
    factors: &[Option<Mat<T>>],
    skip: &[usize],
    par: Par,
) -> Result<Tensor<T>> {
    let mats: Vec<Option<MatRef<'_, T>>> = factors
        .iter()
        .enumerate()
        .map(|(k, u)| if skip.contains(&k) { None } else { u.as_ref().map(|u| u.transpose()) })
        .collect();
    apply_factors(x, &mats, Some(par))
}

/// Validates a fixed factor: decomposed mode, shape `I_mode × r_mode`, finite, orthonormal.
fn check_fixed<T: Scalar>(
    op: &'static str,
    x: &Tensor<T>,
    mode: usize,
    u: &Mat<T>,
    rank: Option<usize>,
    modes: &[usize],
) -> Result<()> {
    let Some(rank) = rank else {
        return Err(Error::InvalidModes {
            op,
            modes: vec![mode],
            ndim: x.ndim(),
            detail: format!("a fixed factor was given for mode {mode}, which is not among the decomposed modes {modes:?}"),
        });
    };
    if u.nrows() != x.shape()[mode] || u.ncols() != rank {
        return Err(Error::ShapeMismatch {
            op,
            left: x.shape().to_vec(),
            right: vec![u.nrows(), u.ncols()],
            detail: format!(
                "the fixed factor of mode {mode} must be {} × {rank} (dimension × rank)",
                x.shape()[mode]
            ),
        });
    }
    check_finite_mat(op, u.as_ref())?;
    if !is_orthonormal(u.as_ref()) {
        return Err(Error::InvalidParameter {
            name: "fixed factor",
            value: format!("the factor of mode {mode}"),
            expected: "orthonormal columns (UᵀU = I; orthonormalize with linalg::qr_thin)",
        });
    }
    Ok(())
}

/// The `Q` factor of a seeded standard normal `rows × r` matrix (`r ≤ rows`).
fn random_orthonormal<T: Scalar>(
    rows: usize,
    r: usize,
    seed: u64,
    mode: usize,
    par: Par,
) -> Result<Mat<T>> {
    let stream = seed ^ (mode as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let g = Tensor::<T>::random_normal(&[rows, r], stream)?;
    let (q, _) = qr_thin(g.as_mat()?, par)?;
    Ok(Mat::from_fn(rows, r, |i, j| q[(i, j)]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decomp::hosvd;
    use crate::format::Factorized;

    /// HOOI by its definition: `Y = X ×_{k≠n} U_kᵀ` from the full `X` for every update, modes
    /// in the same most-shrinking-first order, the given start.
    fn reference_hooi(
        x: &Tensor<f64>,
        ranks: &[usize],
        start: &[Mat<f64>],
        fixed: &[usize],
        sweeps: usize,
    ) -> Vec<Mat<f64>> {
        let mut factors = start.to_vec();
        let mut order: Vec<usize> = (0..x.ndim()).filter(|m| !fixed.contains(m)).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) =
                (ranks[a] as f64 / x.shape()[a] as f64, ranks[b] as f64 / x.shape()[b] as f64);
            ra.total_cmp(&rb)
        });
        for _ in 0..sweeps {
            for &n in &order {
                let mats: Vec<_> = factors.iter().map(|u| u.transpose()).collect();
                let y = tenalg::multi_mode_product_with(x, &mats, Some(n), Par::Seq).unwrap();
                let rule = RankRule::Rank(ranks[n]);
                factors[n] = leading_basis(&y, n, rule, SubspaceMethod::Auto, Par::Seq).unwrap().u;
            }
        }
        factors
    }

    #[test]
    fn shared_projections_give_the_iterates_of_plain_hooi() {
        let x = Tensor::<f64>::random_normal(&[12, 10, 9, 6], 4).unwrap();
        let ranks = [3, 4, 2, 3];
        let start: Vec<Mat<f64>> = (0..4)
            .map(|m| random_orthonormal(x.shape()[m], ranks[m], 9, m, Par::Seq).unwrap())
            .collect();
        for fixed in [&[][..], &[1]] {
            let mut hooi = Hooi::new(&ranks).init(TuckerInit::Random).seed(9).max_iter(4).tol(0.0);
            for &m in fixed {
                hooi = hooi.fixed(m, start[m].clone());
            }
            let (t, _) = hooi.fit(&x).unwrap();
            let want = reference_hooi(&x, &ranks, &start, fixed, 4);
            for (got, want) in t.factors().iter().zip(&want) {
                // Compare the subspaces (signs are free): the projectors U Uᵀ.
                let diff = got * got.transpose() - want * want.transpose();
                assert!(diff.norm_l2() <= 1e-10, "fixed {fixed:?}: {}", diff.norm_l2());
            }
        }
    }

    #[test]
    fn hooi_improves_on_hosvd_and_reports_history() {
        let x = Tensor::<f64>::random_normal(&[7, 6, 5], 21).unwrap();
        let (_, start) = hosvd(&x, &[2, 3, 2]).unwrap();
        let (t, rep) = Hooi::new(&[2, 3, 2]).max_iter(30).tol(1e-12).fit(&x).unwrap();
        assert!(rep.rel_error <= start.rel_error + 1e3 * f64::EPSILON);
        assert_eq!(rep.history.len(), rep.iterations);
        for w in rep.history.windows(2) {
            assert!(w[1] <= w[0] + 1e3 * f64::EPSILON);
        }
        let explicit = t.rel_error(&x).unwrap();
        assert!((explicit - rep.rel_error).abs() <= 1e-10);
    }

    #[test]
    fn random_init_is_seeded_and_tol_zero_runs_all_iterations() {
        let x = Tensor::<f32>::random_normal(&[5, 4, 6], 2).unwrap();
        let fit = |seed| {
            Hooi::new(&[2, 2, 2]).init(TuckerInit::Random).seed(seed).max_iter(7).tol(0.0).fit(&x)
        };
        let (a, ra) = fit(3).unwrap();
        let (b, _) = fit(3).unwrap();
        assert_eq!(ra.iterations, 7);
        assert!(!ra.converged);
        assert_eq!(a.core(), b.core());
    }

    #[test]
    fn st_hosvd_start_converges_like_hosvd_start() {
        let x = Tensor::<f64>::random_normal(&[6, 7, 5], 12).unwrap();
        let (_, a) = Hooi::new(&[2, 3, 2])
            .init(TuckerInit::StHosvd)
            .max_iter(200)
            .tol(1e-13)
            .fit(&x)
            .unwrap();
        let (_, st) = crate::decomp::st_hosvd(&x, &[2, 3, 2]).unwrap();
        assert!(a.rel_error <= st.rel_error + 1e3 * f64::EPSILON);
        let (_, p) = PartialHooi::new(&[0, 2], &[2, 2]).init(TuckerInit::StHosvd).fit(&x).unwrap();
        assert!(p.rel_error < 1.0);
    }

    #[test]
    fn fixed_factor_is_kept() {
        let x = Tensor::<f64>::random_normal(&[5, 4, 3], 8).unwrap();
        let u = Mat::<f64>::identity(4, 2);
        let (t, _) = Hooi::new(&[2, 2, 3]).fixed(1, u.clone()).fit(&x).unwrap();
        assert_eq!(t.factors()[1], u);
        let err = Hooi::new(&[2, 2, 3]).fixed(1, Mat::from_fn(4, 2, |i, j| (i + j) as f64)).fit(&x);
        assert!(matches!(err.unwrap_err(), Error::InvalidParameter { name: "fixed factor", .. }));
        let err = Hooi::new(&[2, 3, 3]).fixed(1, u.clone()).fit(&x).unwrap_err();
        assert!(matches!(err, Error::ShapeMismatch { .. }));
        let err = PartialHooi::new(&[0], &[2]).fixed(1, u).fit(&x).unwrap_err();
        assert!(matches!(err, Error::InvalidModes { .. }));
    }

    #[test]
    fn tucker2_matches_full_hooi_with_full_rank_on_spatial_modes() {
        let k = Tensor::<f64>::random_normal(&[6, 5, 3, 3], 4).unwrap();
        let (p, rp) = tucker2(&k, 3, 2).unwrap();
        let (_, rf) = Hooi::new(&[3, 2, 3, 3]).max_iter(100).fit(&k).unwrap();
        assert!((rp.rel_error - rf.rel_error).abs() <= 1e-4);
        assert!((p.rel_error(&k).unwrap() - rp.rel_error).abs() <= 1e-10);
    }
}
