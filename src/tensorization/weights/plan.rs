//! [`Plan`]: ranks and parameter counts of compressing a weight under a [`Budget`]
//! ([`plan`], [`plan_filled`]) or with explicit ranks ([`plan_ranks`]), from its shape alone.

use super::layout::{Kind, Layout};
use super::method::Method;
use super::ranks::{largest_uniform, params_of, tucker_ranks, uniform_ranks};
use super::shape::WeightShape;
use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::format::TtTensor;
use crate::rank::tspc;

/// A compression planned from the weight's shape alone: the ranks, and the parameter count of
/// the resulting format next to the weight's.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The method.
    pub method: Method,
    /// The weight's shape.
    pub weight: WeightShape,
    /// The shape of the tensor that is decomposed (see [`Method`]).
    pub shape: Vec<usize>,
    /// The ranks: `[R]` for SVD, CP and r-CP; `[R_out, R_in]` for Tucker-2; one rank per
    /// decomposed mode for r-TK; the internal bond ranks `[r_1, …, r_{d−1}]` for TT and r-TT.
    pub ranks: Vec<usize>,
    /// The channel factors `out_1 … out_L` (tensorized methods; empty otherwise).
    pub out_factors: Vec<usize>,
    /// The channel factors `in_1 … in_L` (tensorized methods; empty otherwise).
    pub in_factors: Vec<usize>,
    /// The parameters of the compressed format (its `num_params()`).
    pub params: usize,
    /// The parameters of the weight, `P = T·S·kh·kw`.
    pub original_params: usize,
    /// The budget asked for (`None` when the ranks were given explicitly).
    pub budget: Option<Budget>,
    /// `params / original_params`: the fraction of the weight's parameters actually kept (the
    /// inverse of [`Plan::compression_ratio`]).
    pub kept_fraction: f64,
}

impl Plan {
    /// How the weight becomes the tensor that is decomposed, as `(split, perm)`: the weight is
    /// reshaped (row-major) to `split`, its modes permuted so that mode `k` is mode `perm[k]` of
    /// `split`, and neighbouring modes merged (modes of size 1 dropped) into [`Plan::shape`].
    /// Undoing it (`reshape([split[p] for p in perm])`, the inverse permutation, the weight's
    /// shape) is how another framework rebuilds the weight (docs/formats.md).
    ///
    /// ```
    /// use tensorize::budget::Budget;
    /// use tensorize::tensorization::{plan, Method, WeightShape};
    /// // Plain TT decomposes a linear weight as `[in, out]`.
    /// let p = plan(&WeightShape::from_dims(&[6, 4])?, Method::Tt, Budget::CompressBy(2.0))?;
    /// assert_eq!(p.split_and_perm()?, (vec![6, 4], vec![1, 0]));
    /// assert_eq!(p.shape, vec![4, 6]);
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// None for a plan made by this module; the channel factorization's error otherwise.
    pub fn split_and_perm(&self) -> Result<(Vec<usize>, Vec<usize>)> {
        let layout = Layout::new(&self.weight, self.method)?;
        Ok((layout.split, layout.perm))
    }

    /// `original_params / params`: how many times smaller the compressed format is (the
    /// inverse of [`Plan::kept_fraction`]; as
    /// [`Factorized::compression_ratio`](crate::format::Factorized::compression_ratio)).
    pub fn compression_ratio(&self) -> f64 {
        self.original_params as f64 / self.params as f64
    }
}

/// The kept fraction `ρ` that the TSPC rank formulas take, and the parameter limit the
/// tensorized methods must stay within: `ρP` for a fraction or a factor (as the formulas
/// see it), the count itself for [`Budget::Params`].
fn fraction_and_limit(budget: Budget, p: usize) -> Result<(f64, f64)> {
    let fraction = budget.kept_fraction(p)?;
    let limit = match budget {
        Budget::Params(n) => n as f64,
        _ => fraction * p as f64,
    };
    Ok((fraction, limit))
}

fn finish(
    w: &WeightShape,
    method: Method,
    layout: &Layout,
    ranks: Vec<usize>,
    budget: Option<Budget>,
) -> Result<Plan> {
    let params = params_of(layout, &ranks)?;
    let original = w.numel()?;
    Ok(Plan {
        method,
        weight: *w,
        shape: layout.shape.clone(),
        ranks,
        out_factors: layout.out_factors.clone(),
        in_factors: layout.in_factors.clone(),
        params,
        original_params: original,
        budget,
        kept_fraction: params as f64 / original as f64,
    })
}

/// Plans compressing a weight of shape `w` with `method` within `budget`, from the shape alone.
///
/// With `P = T·S·kh·kw` the weight's parameters, the budget keeps a fraction `ρ` of them
/// ([`Budget::kept_fraction`]: `ρ` itself, `1 / c` for a compression factor `c`, `n / P` for
/// `n` parameters, at most 1). Plain methods take the TSPC rank formulas of
/// [`crate::rank::tspc`] at `ρ` (SVD on the `T × S·k²` matrix; for a linear layer or 1×1
/// convolution TT is a matrix train and uses the SVD rule; where Tucker-2's or TT's equal rank
/// fills the narrower channel side, the other ranks take the rest: Tucker-2's wider side, TT's
/// largest uniform cap within the limit). Tensorized methods take the
/// **largest uniform rank** whose parameter count is at most `ρP` (at most `n` for
/// [`Budget::Params`]; rank 1 if even that does not fit). Parameter counts come from the
/// formats (`params_for`), so [`Plan::kept_fraction`] is that of the decomposition
/// [`crate::tensorization::compress()`] returns; it can exceed `ρ` for plain CP (ceiling, plus `R`
/// weights).
///
/// ```
/// use tensorize::tensorization::{plan, Method, WeightShape};
/// use tensorize::Budget;
/// let w = WeightShape::Conv { out: 64, input: 64, kh: 3, kw: 3 };
/// let p = plan(&w, Method::Tucker2, Budget::KeepFraction(0.05))?;
/// assert_eq!(p.ranks, vec![8, 8]); // 9R² + 128R ≤ 1843.2
/// assert_eq!(p.params, 9 * 64 + 2 * 64 * 8);
/// let r = plan(&w, Method::RTt { factors: 3 }, Budget::CompressBy(20.0))?;
/// assert_eq!(r.shape, vec![16, 16, 16, 9]);
/// assert!(r.kept_fraction <= 0.05 && r.compression_ratio() >= 20.0);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a bad budget (see [`Budget::kept_fraction`]: a value out
/// of range, `Params(0)` or FLOPs) or for `factors = 0`; [`Error::ZeroDimension`] /
/// [`Error::SizeOverflow`] for a bad shape.
pub fn plan(w: &WeightShape, method: Method, budget: Budget) -> Result<Plan> {
    let p = w.numel()?;
    let (fraction, limit) = fraction_and_limit(budget, p)?;
    let layout = Layout::new(w, method)?;
    let (s, t) = (w.input(), w.out());
    let (kh, kw) = w.kernel();
    let ranks = match method {
        Method::Svd => vec![tspc::svd_rank(fraction, layout.shape[0], layout.shape[1])?],
        Method::Cp => vec![tspc::cp_rank(fraction, s, t, kh, kw)?],
        Method::Tucker2 => {
            let r = tspc::tucker2_rank(fraction, s, t, kh, kw)?;
            let ranks = tucker_ranks(&layout.shape, &layout.tucker_modes, &[r, r]);
            if r == s.min(t) && s != t {
                // The narrow side is full: the equal-rank formula would leave the wide side at
                // the narrow one's rank (CREPE's first conv, 1024 × 1 × 512 × 1, at rank
                // [1, 1]), so the wide side takes what the budget leaves.
                widen(&layout, ranks, limit)?
            } else {
                ranks
            }
        }
        Method::Tt => {
            if kh * kw == 1 {
                uniform_ranks(&layout, tspc::svd_rank(fraction, t, s)?)?
            } else {
                let r = tspc::tt_rank(fraction, s, t, kh, kw)?;
                if r == s.min(t) && s != t {
                    // As for Tucker-2: the formula caps every bond at the narrow side (CREPE's
                    // conv1 at ratio 4: ranks [1, 1, 1], error 0.989), while the bonds away
                    // from it can take the rest of the limit.
                    let max_r = layout.shape.iter().copied().max().unwrap_or(1);
                    largest_uniform(&layout, limit, max_r)?
                } else {
                    uniform_ranks(&layout, r)?
                }
            }
        }
        _ => {
            let max_r = match layout.kind {
                // (Σ I_k + 1)·R ≤ ρP bounds the CP rank by ρP.
                Kind::Cp => p,
                _ => layout.shape.iter().copied().max().unwrap_or(1),
            };
            largest_uniform(&layout, limit, max_r)?
        }
    };
    finish(w, method, &layout, ranks, Some(budget))
}

/// Each rank of `ranks` (Tucker) raised, one after the other, to the largest value that stays
/// within `limit` parameters and valid for the format.
fn widen(layout: &Layout, mut ranks: Vec<usize>, limit: f64) -> Result<Vec<usize>> {
    for j in 0..ranks.len() {
        let fits = |r: usize| -> Result<bool> {
            let mut cand = ranks.clone();
            cand[j] = r;
            let valid = tucker_ranks(&layout.shape, &layout.tucker_modes, &cand) == cand;
            Ok(valid && params_of(layout, &cand)? as f64 <= limit)
        };
        let (mut lo, mut hi) = (ranks[j], layout.shape[layout.tucker_modes[j]]);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid)? {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        ranks[j] = lo;
    }
    Ok(ranks)
}

/// As [`plan`], then spends the budget left over by the uniform rank: ranks are raised by
/// one, cycling over the modes (Tucker) or bonds (TT, and the single rank of SVD/CP), as
/// long as the parameters stay within the limit of [`plan`] and the ranks stay valid for the
/// format (for TT: reachable by TT-SVD, [`TtTensor::svd_ranks_for`]). Useful
/// for r-TK, where one more uniform rank multiplies the core by `2^{2L}` and the uniform rule
/// can leave most of the budget unused. The ranks are no longer uniform.
///
/// ```
/// use tensorize::tensorization::{plan, plan_filled, Method, WeightShape};
/// use tensorize::Budget;
/// let w = WeightShape::Conv { out: 64, input: 32, kh: 3, kw: 3 };
/// let (m, b) = (Method::RTucker { factors: 3 }, Budget::KeepFraction(0.2));
/// let (uniform, filled) = (plan(&w, m, b)?, plan_filled(&w, m, b)?);
/// assert!(uniform.params < filled.params && filled.kept_fraction <= 0.2);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`plan`].
pub fn plan_filled(w: &WeightShape, method: Method, budget: Budget) -> Result<Plan> {
    let start = plan(w, method, budget)?;
    let layout = Layout::new(w, method)?;
    let (_, limit) = fraction_and_limit(budget, start.original_params)?;
    let s = &layout.shape;
    let valid = |r: &[usize]| -> Result<bool> {
        Ok(match layout.kind {
            Kind::LowRank => r[0] <= s[0].min(s[1]),
            Kind::Cp => r[0] <= start.original_params,
            Kind::Tucker => tucker_ranks(s, &layout.tucker_modes, r) == r,
            Kind::Tt => TtTensor::<f64>::svd_ranks_for(s, r)? == r,
        })
    };
    let mut ranks = start.ranks.clone();
    loop {
        let mut raised = false;
        for j in 0..ranks.len() {
            let mut cand = ranks.clone();
            cand[j] += 1;
            if valid(&cand)? && params_of(&layout, &cand)? as f64 <= limit {
                ranks = cand;
                raised = true;
            }
        }
        if !raised {
            break;
        }
    }
    finish(w, method, &layout, ranks, Some(budget))
}

/// Plans compressing a weight of shape `w` with `method` and explicit `ranks`, in the
/// [`Plan::ranks`] convention, or one number for a uniform rank (clipped to what the format
/// allows: `min(M, N)` for SVD, the mode sizes for Tucker, for TT the ranks TT-SVD reaches
/// under that cap, [`TtTensor::svd_ranks_for`]). A full list for TT is capped the same way; a
/// full Tucker list is validated as given.
///
/// ```
/// use tensorize::tensorization::{plan_ranks, Method, WeightShape};
/// let w = WeightShape::Linear { out: 10, input: 64 };
/// let p = plan_ranks(&w, Method::Svd, &[100])?; // clipped to 10
/// assert_eq!((p.ranks.clone(), p.params), (vec![10], 10 * 74));
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidRank`] for an empty list, a zero rank, a list of the wrong length or a
/// Tucker rank above its mode size, or a CP rank above the number of weights;
/// errors of [`WeightShape::numel`] and [`Method`]'s factorization.
pub fn plan_ranks(w: &WeightShape, method: Method, ranks: &[usize]) -> Result<Plan> {
    let p = w.numel()?;
    let layout = Layout::new(w, method)?;
    let bad = |detail: String| Error::InvalidRank {
        op: "plan_ranks",
        ranks: ranks.to_vec(),
        shape: layout.shape.clone(),
        detail,
    };
    if ranks.is_empty() || ranks.contains(&0) {
        return Err(bad("ranks must be non-empty and at least 1".into()));
    }
    let expected = match layout.kind {
        Kind::LowRank | Kind::Cp => 1,
        Kind::Tucker => layout.tucker_modes.len(),
        Kind::Tt => layout.shape.len() - 1,
    };
    let ranks = if ranks.len() == 1 {
        uniform_ranks(&layout, ranks[0])?
    } else if ranks.len() == expected {
        match layout.kind {
            Kind::Tt => TtTensor::<f64>::svd_ranks_for(&layout.shape, ranks)?,
            _ => ranks.to_vec(),
        }
    } else {
        return Err(bad(format!("{} uses one uniform rank or {expected} ranks", method.name())));
    };
    if layout.kind == Kind::Cp && ranks[0] > p {
        return Err(bad(format!("a CP rank above the {p} weights is not supported")));
    }
    if layout.kind == Kind::Tucker
        && tucker_ranks(&layout.shape, &layout.tucker_modes, &ranks) != ranks
    {
        return Err(bad(format!(
            "Tucker ranks on modes {:?} must be at most the mode sizes and the product of the \
             other core dimensions",
            layout.tucker_modes
        )));
    }
    finish(w, method, &layout, ranks, None)
}

impl std::fmt::Display for Plan {
    /// One line: method, decomposed shape, ranks, parameters, kept fraction and the budget.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {:?}: ranks {:?}, {} / {} parameters ({:.2}% kept; ",
            self.method.name(),
            self.shape,
            self.ranks,
            self.params,
            self.original_params,
            100.0 * self.kept_fraction
        )?;
        match self.budget {
            Some(b) => write!(f, "budget: {b})"),
            None => write!(f, "explicit ranks)"),
        }
    }
}
