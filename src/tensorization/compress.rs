//! Compressing a real weight: decompose it as a [`Plan`] says, reconstruct it in its original
//! shape, and report the parameters, Frobenius and spectrum errors ([`CompressedWeight`]).

use crate::budget::Budget;
use crate::decomp::{CpAls, PartialHooi, TtSvd};
use crate::error::{Error, Result};
use crate::format::norm_guard::dense_rel_error;
use crate::format::{CpTensor, Factorized, PartialTucker, TtTensor};
use crate::par::Par;
use crate::report::FitReport;
use crate::scalar::Scalar;
use crate::tensor::Tensor;
use crate::tensorization::low_rank::LowRank;
use crate::tensorization::spectrum::spectrum_error_with;
use crate::tensorization::weights::layout::{Kind, Layout};
use crate::tensorization::weights::method::Method;
use crate::tensorization::weights::plan::{plan, plan_filled, plan_ranks, Plan};
use crate::tensorization::weights::shape::WeightShape;

/// The decomposition of a compressed weight, in the format its [`Method`] produces (of the
/// reshaped tensor [`Plan::shape`], not of the weight itself).
#[derive(Clone, Debug)]
pub enum WeightFormat<T> {
    /// SVD: `L·Rᵀ` of the `[out, in·kh·kw]` matrix.
    LowRank(LowRank<T>),
    /// CP and r-CP.
    Cp(CpTensor<T>),
    /// Tucker-2 and r-TK.
    Tucker(PartialTucker<T>),
    /// TT and r-TT.
    Tt(TtTensor<T>),
}

impl<T: Scalar> WeightFormat<T> {
    /// The format as a [`Factorized`] trait object.
    pub fn as_factorized(&self) -> &dyn Factorized<T> {
        match self {
            WeightFormat::LowRank(f) => f,
            WeightFormat::Cp(f) => f,
            WeightFormat::Tucker(f) => f,
            WeightFormat::Tt(f) => f,
        }
    }

    /// The stored parameters.
    pub fn num_params(&self) -> usize {
        self.as_factorized().num_params()
    }
}

/// How [`Compress`] sizes the decomposition: ranks chosen within a budget, or given.
#[derive(Clone, Debug, PartialEq)]
enum Sizing {
    /// Ranks from [`plan`] (or [`plan_filled`]) within the budget.
    Budget(Budget),
    /// Explicit ranks in the [`Plan::ranks`] convention, or one uniform rank ([`plan_ranks`]).
    Ranks(Vec<usize>),
}

/// Parameters of weight compression; build with [`Compress::new`], run with
/// [`Compress::fit`] (or plan only, with [`Compress::plan`]).
///
/// ```
/// use tensorize::tensorization::{Compress, Method};
/// use tensorize::{Budget, Tensor};
/// let w = Tensor::<f64>::random_normal(&[16, 8, 3, 3], 0)?;
/// let keep = Budget::KeepFraction(0.2);
/// let c = Compress::new(Method::RTucker { factors: 2 }).budget(keep).fit(&w)?;
/// assert!(c.plan().kept_fraction <= 0.2);
/// assert_eq!(c.num_params(), c.plan().params);
/// assert_eq!(c.reconstruct()?.shape(), w.shape());
/// assert!(c.rel_error() < 1.0 && c.spectrum_error() < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Compress {
    method: Method,
    sizing: Sizing,
    seed: u64,
    max_iter: Option<usize>,
    tol: Option<f64>,
    top_k: Option<usize>,
    fill: bool,
    par: Option<Par>,
}

impl Compress {
    /// Compression with `method`, keeping 10% of the parameters by default
    /// (`Budget::KeepFraction(0.1)`); seed 0, the
    /// iteration defaults of [`CpAls`] / [`PartialHooi`], all singular values in the
    /// spectrum error, automatic parallelism.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            sizing: Sizing::Budget(Budget::KeepFraction(0.1)),
            seed: 0,
            max_iter: None,
            tol: None,
            top_k: None,
            fill: false,
            par: None,
        }
    }

    /// Ranks chosen within `budget` (see [`plan`]); replaces explicit [`Compress::ranks`].
    pub fn budget(mut self, budget: Budget) -> Self {
        self.sizing = Sizing::Budget(budget);
        self
    }

    /// Explicit ranks (see [`plan_ranks`]); replaces a [`Compress::budget`].
    pub fn ranks(mut self, ranks: &[usize]) -> Self {
        self.sizing = Sizing::Ranks(ranks.to_vec());
        self
    }

    /// The seed of CP-ALS's random parts (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The maximal CP-ALS / HOOI sweeps (default: theirs, 200 for CP-ALS). r-CP at high rank
    /// is the slow method (a 128 × 3136 weight at 20%, rank 227: about 40 s in the test
    /// profile); lower this for quick tables.
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = Some(n);
        self
    }

    /// The CP-ALS / HOOI stopping tolerance (default: theirs).
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = Some(tol);
        self
    }

    /// With a budget, spend what the uniform rank leaves over ([`plan_filled`]) instead
    /// of [`plan`] (default `false`).
    pub fn fill_budget(mut self, on: bool) -> Self {
        self.fill = on;
        self
    }

    /// Compare the `k` largest singular values in the spectrum error (default: all).
    pub fn spectrum_top_k(mut self, k: usize) -> Self {
        self.top_k = Some(k);
        self
    }

    /// Explicit parallelism for the decomposition and the spectra.
    pub fn par(mut self, par: Par) -> Self {
        self.par = Some(par);
        self
    }

    /// The plan for a weight of shape `w` (no data needed).
    ///
    /// # Errors
    /// As [`plan`] / [`plan_ranks`].
    pub fn plan(&self, w: &WeightShape) -> Result<Plan> {
        match &self.sizing {
            Sizing::Budget(b) if self.fill => plan_filled(w, self.method, *b),
            Sizing::Budget(b) => plan(w, self.method, *b),
            Sizing::Ranks(r) => plan_ranks(w, self.method, r),
        }
    }

    /// Compresses `w` (`[out, in]` or `[out, in, kh, kw]`); `w` is not modified.
    ///
    /// # Errors
    /// Errors of [`WeightShape::of`] and [`Compress::plan`]; [`crate::Error::NonFinite`] for
    /// NaN/Inf in `w`; errors of the decompositions.
    pub fn fit<T: Scalar>(&self, w: &Tensor<T>) -> Result<CompressedWeight<T>> {
        w.check_nonempty()?;
        let shape = WeightShape::of(w)?;
        w.check_finite("compress")?;
        let plan = self.plan(&shape)?;
        let layout = Layout::new(&shape, self.method)?;
        let x = w
            .clone()
            .reshape(&layout.split)?
            .permute_modes(&layout.perm)?
            .reshape(&layout.shape)?;
        let (format, report) = self.decompose(&x, &layout, &plan)?;
        let mut out =
            CompressedWeight { plan, format, report, layout, rel_error: 0.0, spectrum_error: 0.0 };
        let w_hat = out.reconstruct()?;
        // Scaled, not ‖Ŵ − W‖ / ‖W‖ in T: for subnormal weights both norms keep a digit or two
        // (found by the decompositions fuzz target: CP of a weight of 5e-324 entries reported
        // 1/3 for a true 1/2, below the best rank-1 error).
        out.rel_error = dense_rel_error(w.as_slice(), w_hat.as_slice());
        let par = self
            .par
            .unwrap_or_else(|| crate::par::auto_par(8.0 * (w.numel() * shape.out()) as f64));
        out.spectrum_error = spectrum_error_with(w, &w_hat, self.top_k, par)?;
        Ok(out)
    }

    fn decompose<T: Scalar>(
        &self,
        x: &Tensor<T>,
        layout: &Layout,
        plan: &Plan,
    ) -> Result<(WeightFormat<T>, FitReport)> {
        Ok(match layout.kind {
            Kind::LowRank => {
                let lr = match self.par {
                    Some(par) => LowRank::from_matrix_with(x, plan.ranks[0], par)?,
                    None => LowRank::from_matrix(x, plan.ranks[0])?,
                };
                let rel = lr.rel_error(x)?.as_f64();
                (WeightFormat::LowRank(lr), FitReport::one_pass(rel))
            }
            Kind::Cp => {
                let mut als = CpAls::new(plan.ranks[0]).seed(self.seed);
                if let Some(n) = self.max_iter {
                    als = als.max_iter(n);
                }
                if let Some(t) = self.tol {
                    als = als.tol(t);
                }
                if let Some(p) = self.par {
                    als = als.par(p);
                }
                let (cp, report) = als.fit(x)?;
                (WeightFormat::Cp(cp), report)
            }
            Kind::Tucker => {
                let mut hooi = PartialHooi::new(&layout.tucker_modes, &plan.ranks).seed(self.seed);
                if let Some(n) = self.max_iter {
                    hooi = hooi.max_iter(n);
                }
                if let Some(t) = self.tol {
                    hooi = hooi.tol(t);
                }
                if let Some(p) = self.par {
                    hooi = hooi.par(p);
                }
                let (t, report) = hooi.fit(x)?;
                (WeightFormat::Tucker(t), report)
            }
            Kind::Tt => {
                let mut svd = TtSvd::new();
                if !plan.ranks.is_empty() {
                    svd = svd.max_ranks(&plan.ranks);
                }
                if let Some(p) = self.par {
                    svd = svd.par(p);
                }
                let (tt, report) = svd.fit(x)?;
                (WeightFormat::Tt(tt), report)
            }
        })
    }
}

/// Compresses `w` with `method` within `budget`, default options:
/// `Compress::new(method).budget(budget).fit(w)`.
///
/// ```
/// use tensorize::tensorization::{compress, Method};
/// use tensorize::{Budget, Tensor};
/// let w = Tensor::<f32>::random_normal(&[32, 64], 3)?;
/// let c = compress(&w, Method::Svd, Budget::KeepFraction(0.25))?;
/// assert_eq!(c.plan().ranks, vec![5]); // ⌊0.25·2048/96⌋
/// assert_eq!(c.num_params(), 5 * 96);
/// assert!(c.rel_error() < 1.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`Compress::fit`].
pub fn compress<T: Scalar>(
    w: &Tensor<T>,
    method: Method,
    budget: Budget,
) -> Result<CompressedWeight<T>> {
    Compress::new(method).budget(budget).fit(w)
}

/// A compressed weight: its plan, the decomposition, the fit report and the errors of the
/// reconstruction `Ŵ` against the weight `W`:
/// `rel_error = ‖W − Ŵ‖_F / ‖W‖_F` and the spectrum error of
/// [`spectrum_error`](super::spectrum_error).
#[derive(Clone, Debug)]
pub struct CompressedWeight<T> {
    plan: Plan,
    format: WeightFormat<T>,
    report: FitReport,
    layout: Layout,
    rel_error: f64,
    spectrum_error: f64,
}

impl<T: Scalar> CompressedWeight<T> {
    /// The plan (ranks, parameters, the budget and the kept fraction).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The decomposition of the reshaped tensor.
    pub fn format(&self) -> &WeightFormat<T> {
        &self.format
    }

    /// The decomposition's fit report (on the reshaped tensor).
    pub fn report(&self) -> &FitReport {
        &self.report
    }

    /// The stored parameters (equal to `plan().params` for generic weights).
    pub fn num_params(&self) -> usize {
        self.format.num_params()
    }

    /// `‖W − Ŵ‖_F / ‖W‖_F`.
    pub fn rel_error(&self) -> f64 {
        self.rel_error
    }

    /// The spectrum error of `Ŵ` against `W` (see [`spectrum_error`](super::spectrum_error)).
    pub fn spectrum_error(&self) -> f64 {
        self.spectrum_error
    }

    /// `Ŵ` in the weight's own shape: the decomposition densified, then the reshapes and the
    /// permutation undone.
    ///
    /// # Errors
    /// [`crate::Error::SizeOverflow`] / [`crate::Error::OutOfMemory`] if it cannot be allocated.
    pub fn reconstruct(&self) -> Result<Tensor<T>> {
        untensorize(&self.layout, self.format.as_factorized().to_dense()?)
    }
}

/// The weight of shape `weight` whose tensorization by `method` is `tensor`: the reshape and
/// permutation [`Compress`] applies, undone. [`CompressedWeight::reconstruct`] does this with
/// its own decomposition; a decomposition saved with its weight shape and method (as
/// `tensorize compress` writes one) is turned back into a weight with it.
///
/// ```
/// use tensorize::tensorization::{weight_from_tensorized, Compress, Method, WeightShape};
/// use tensorize::{Factorized, Tensor};
/// let w = Tensor::<f64>::random_normal(&[16, 8, 3, 3], 1)?;
/// let method = Method::RTt { factors: 2 };
/// let c = Compress::new(method).ranks(&[4]).fit(&w)?;
/// let tensor = c.format().as_factorized().to_dense()?;
/// let back = weight_from_tensorized(&WeightShape::of(&w)?, method, tensor)?;
/// assert_eq!(back, c.reconstruct()?);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::ShapeMismatch`] unless `tensor` has the shape `method` makes of such a weight;
/// [`Error::InvalidParameter`] for a tensorized method with 0 or more than 64 channel factors.
pub fn weight_from_tensorized<T: Scalar>(
    weight: &WeightShape,
    method: Method,
    tensor: Tensor<T>,
) -> Result<Tensor<T>> {
    let layout = Layout::new(weight, method)?;
    if tensor.shape() != layout.shape.as_slice() {
        return Err(Error::ShapeMismatch {
            op: "weight_from_tensorized",
            left: layout.shape.clone(),
            right: tensor.shape().to_vec(),
            detail: format!(
                "{method:?} turns a weight of shape {:?} into a tensor of the first shape",
                weight.dims()
            ),
        });
    }
    untensorize(&layout, tensor)
}

/// `tensor` (of `layout.shape`) back in the weight's shape.
fn untensorize<T: Scalar>(layout: &Layout, tensor: Tensor<T>) -> Result<Tensor<T>> {
    tensor
        .reshape(&layout.permuted_shape())?
        .permute_modes(&layout.inverse_perm())?
        .reshape(&layout.original)
}
