//! Weight shapes, the seven compression methods (plain and TSPC-tensorized), how each one
//! reshapes a weight (`Layout`), and parameter planning from the shape alone ([`plan`]).

use crate::error::{Error, Result};
use crate::format::{CpTensor, PartialTucker, TtTensor};
use crate::rank::tspc;
use crate::tensorization::factorize::deal_round_robin;
use crate::tensorization::low_rank::LowRank;

/// The shape of a layer's weight: a linear layer `[out, in]` or a convolution
/// `[out, in, kh, kw]` (PyTorch layouts).
///
/// ```
/// use tensorize::tensorization::WeightShape;
/// let s = WeightShape::from_dims(&[64, 32, 3, 3])?;
/// assert_eq!(s, WeightShape::Conv { out: 64, input: 32, kh: 3, kw: 3 });
/// assert_eq!(s.numel()?, 18432);
/// assert!(WeightShape::from_dims(&[4, 4, 3]).is_err());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightShape {
    /// A linear (fully connected) weight `[out, in]`.
    Linear {
        /// Output features `T`.
        out: usize,
        /// Input features `S`.
        input: usize,
    },
    /// A convolution kernel `[out, in, kh, kw]`.
    Conv {
        /// Output channels `T`.
        out: usize,
        /// Input channels `S`.
        input: usize,
        /// Kernel height.
        kh: usize,
        /// Kernel width.
        kw: usize,
    },
}

impl WeightShape {
    /// The weight shape of dimensions `dims` (2 → linear, 4 → convolution).
    ///
    /// # Errors
    /// [`Error::InvalidModes`] for another order; [`Error::ZeroDimension`] for a zero size;
    /// [`Error::SizeOverflow`] if the element count overflows.
    pub fn from_dims(dims: &[usize]) -> Result<Self> {
        let shape = match *dims {
            [out, input] => WeightShape::Linear { out, input },
            [out, input, kh, kw] => WeightShape::Conv { out, input, kh, kw },
            _ => {
                return Err(Error::InvalidModes {
                    op: "WeightShape::from_dims",
                    modes: (0..dims.len()).collect(),
                    ndim: dims.len(),
                    detail: format!(
                        "a weight is [out, in] (linear) or [out, in, kh, kw] (conv), not {dims:?}"
                    ),
                })
            }
        };
        shape.numel()?;
        Ok(shape)
    }

    /// The shape of `w` as a weight shape; see [`WeightShape::from_dims`].
    ///
    /// # Errors
    /// As [`WeightShape::from_dims`].
    pub fn of<T: crate::Scalar>(w: &crate::Tensor<T>) -> Result<Self> {
        Self::from_dims(w.shape())
    }

    /// The dimensions: `[out, in]` or `[out, in, kh, kw]`.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            WeightShape::Linear { out, input } => vec![out, input],
            WeightShape::Conv { out, input, kh, kw } => vec![out, input, kh, kw],
        }
    }

    /// Output features/channels `T`.
    pub fn out(&self) -> usize {
        match *self {
            WeightShape::Linear { out, .. } | WeightShape::Conv { out, .. } => out,
        }
    }

    /// Input features/channels `S`.
    pub fn input(&self) -> usize {
        match *self {
            WeightShape::Linear { input, .. } | WeightShape::Conv { input, .. } => input,
        }
    }

    /// The kernel size `(kh, kw)`; `(1, 1)` for a linear layer.
    pub fn kernel(&self) -> (usize, usize) {
        match *self {
            WeightShape::Linear { .. } => (1, 1),
            WeightShape::Conv { kh, kw, .. } => (kh, kw),
        }
    }

    /// The number of weights `P = T·S·kh·kw`, with checked arithmetic.
    ///
    /// # Errors
    /// [`Error::ZeroDimension`] for a zero size; [`Error::SizeOverflow`].
    pub fn numel(&self) -> Result<usize> {
        let dims = self.dims();
        if dims.contains(&0) {
            return Err(Error::ZeroDimension { shape: dims });
        }
        dims.iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or(Error::SizeOverflow { shape: dims })
    }
}

/// The default number `L` of channel factors of the tensorized methods.
pub const DEFAULT_FACTORS: usize = 3;

/// How a weight is compressed. With `T = out`, `S = in`, `k² = kh·kw`:
///
/// Plain (on the weight itself):
/// - [`Svd`](Self::Svd): truncated SVD of the `T × (S·kh·kw)` matrix, rank `R`; stored as
///   two factors `U√Σ` and `V√Σ`: `R(T + S·k²)` parameters (the decomposition of 1×1
///   convolutions and linear layers).
/// - [`Cp`](Self::Cp): CP-ALS of the 3-way `[T, S, kh·kw]` (so that TSPC's `R(k² + S + T)`
///   holds; the format also stores `R` weights): 1×1 `S → R`, depthwise `k×k`, 1×1 `R → T`.
/// - [`Tucker2`](Self::Tucker2): partial Tucker (HOOI from HOSVD) of `[T, S, kh, kw]` on the
///   out and in modes with ranks `(R, R)`: core `R×R×kh×kw` plus the factors.
/// - [`Tt`](Self::Tt): TT-SVD of the kernel permuted to `[S, kh, kw, T]` with uniform maximal
///   rank `R`: `S·R + (kh + kw)R² + R·T` parameters.
///
/// Tensorized (TSPC, `L` channel factors dealt round-robin, [`deal_round_robin`];
/// `T = ∏ out_l`, `S = ∏ in_l`, factors 1 where a size has fewer than `L` primes):
/// - [`RCp`](Self::RCp): CP of `[k², in_1·out_1, …, in_L·out_L]`.
/// - [`RTucker`](Self::RTucker): partial Tucker over the channel modes of
///   `[kh, kw, in_1, …, in_L, out_1, …, out_L]`, uniform rank clipped to each mode.
/// - [`RTt`](Self::RTt): TT-SVD of `[in_1·out_1, …, in_L·out_L, k²]`.
///
/// For a linear layer or a 1×1 convolution (`k² = 1`) the spatial modes are dropped, and
/// the tensorized methods drop every mode of size 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Truncated SVD of the `[out, in·kh·kw]` matrix.
    Svd,
    /// CP of `[out, in, kh·kw]`.
    Cp,
    /// Tucker-2 (partial Tucker on the out and in modes) of `[out, in, kh, kw]`.
    Tucker2,
    /// TT-SVD of `[in, kh, kw, out]`.
    Tt,
    /// CP of the tensorized `[k², in_1·out_1, …, in_L·out_L]`.
    RCp {
        /// The number `L` of channel factors.
        factors: usize,
    },
    /// Partial Tucker over the channel modes of `[kh, kw, in_1, …, in_L, out_1, …, out_L]`.
    RTucker {
        /// The number `L` of channel factors.
        factors: usize,
    },
    /// TT-SVD of the tensorized `[in_1·out_1, …, in_L·out_L, k²]`.
    RTt {
        /// The number `L` of channel factors.
        factors: usize,
    },
}

impl Method {
    /// All seven methods, the tensorized ones with `factors` channel factors.
    pub fn all(factors: usize) -> [Method; 7] {
        [
            Method::Svd,
            Method::Cp,
            Method::Tucker2,
            Method::Tt,
            Method::RCp { factors },
            Method::RTucker { factors },
            Method::RTt { factors },
        ]
    }

    /// A short name: `"SVD"`, `"CP"`, `"TK"`, `"TT"`, `"r-CP"`, `"r-TK"`, `"r-TT"`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Svd => "SVD",
            Method::Cp => "CP",
            Method::Tucker2 => "TK",
            Method::Tt => "TT",
            Method::RCp { .. } => "r-CP",
            Method::RTucker { .. } => "r-TK",
            Method::RTt { .. } => "r-TT",
        }
    }

    /// Whether this is one of the tensorized (TSPC) methods.
    pub fn is_tensorized(&self) -> bool {
        matches!(self, Method::RCp { .. } | Method::RTucker { .. } | Method::RTt { .. })
    }
}

/// Which format a method produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    LowRank,
    Cp,
    Tucker,
    Tt,
}

/// How a weight is turned into the tensor that is decomposed, and back:
/// `w.reshape(split).permute_modes(perm).reshape(shape)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The weight's own shape.
    pub original: Vec<usize>,
    /// The weight reshaped (row-major) before permuting.
    pub split: Vec<usize>,
    /// Mode `k` of the permuted tensor is mode `perm[k]` of `split`.
    pub perm: Vec<usize>,
    /// The tensor that is decomposed (the permuted one with modes merged or dropped).
    pub shape: Vec<usize>,
    /// The decomposed modes of a Tucker method (empty otherwise).
    pub tucker_modes: Vec<usize>,
    /// The channel factors `(out_1 … out_L, in_1 … in_L)` of a tensorized method.
    pub out_factors: Vec<usize>,
    /// See `out_factors`.
    pub in_factors: Vec<usize>,
    pub kind: Kind,
}

impl Layout {
    /// The layout of `method` for a weight of shape `w`.
    pub(crate) fn new(w: &WeightShape, method: Method) -> Result<Self> {
        let (out, input) = (w.out(), w.input());
        let (kh, kw) = w.kernel();
        let k2 = kh * kw;
        let spatial = k2 > 1;
        let original = w.dims();
        let plain = |split: Vec<usize>, perm: Vec<usize>, kind, tucker_modes| {
            let shape = perm.iter().map(|&p: &usize| split[p]).collect();
            Layout {
                original: original.clone(),
                split,
                perm,
                shape,
                tucker_modes,
                out_factors: vec![],
                in_factors: vec![],
                kind,
            }
        };
        let kernel4 = if spatial { vec![out, input, kh, kw] } else { vec![out, input] };
        let id = |n: usize| (0..n).collect::<Vec<_>>();
        Ok(match method {
            Method::Svd => plain(vec![out, input * k2], id(2), Kind::LowRank, vec![]),
            Method::Cp => {
                let split = if spatial { vec![out, input, k2] } else { vec![out, input] };
                let n = split.len();
                plain(split, id(n), Kind::Cp, vec![])
            }
            Method::Tucker2 => {
                let n = kernel4.len();
                plain(kernel4, id(n), Kind::Tucker, vec![0, 1])
            }
            Method::Tt => {
                let perm = if spatial { vec![1, 2, 3, 0] } else { vec![1, 0] };
                plain(kernel4, perm, Kind::Tt, vec![])
            }
            Method::RCp { factors } | Method::RTucker { factors } | Method::RTt { factors } => {
                let l = factors;
                let out_f = deal_round_robin(out, l)?;
                let in_f = deal_round_robin(input, l)?;
                let mut split: Vec<usize> = out_f.iter().chain(&in_f).copied().collect();
                if spatial {
                    split.extend([kh, kw]);
                }
                // Groups of split modes, each group merged into one mode of the decomposed
                // tensor; `channel` marks the groups a Tucker method decomposes.
                let space = vec![2 * l, 2 * l + 1];
                let mut groups: Vec<(Vec<usize>, bool)> = Vec::new();
                let kind = match method {
                    Method::RCp { .. } => {
                        if spatial {
                            groups.push((space, false));
                        }
                        groups.extend((0..l).map(|j| (vec![l + j, j], true)));
                        Kind::Cp
                    }
                    Method::RTucker { .. } => {
                        if spatial {
                            groups.extend([(vec![2 * l], false), (vec![2 * l + 1], false)]);
                        }
                        groups.extend((0..l).map(|j| (vec![l + j], true)));
                        groups.extend((0..l).map(|j| (vec![j], true)));
                        Kind::Tucker
                    }
                    _ => {
                        groups.extend((0..l).map(|j| (vec![l + j, j], true)));
                        if spatial {
                            groups.push((space, false));
                        }
                        Kind::Tt
                    }
                };
                let size = |g: &[usize]| g.iter().map(|&m| split[m]).product::<usize>();
                let mut kept: Vec<(Vec<usize>, bool)> =
                    groups.iter().filter(|(g, _)| size(g) > 1).cloned().collect();
                if kept.is_empty() {
                    kept.push(groups[0].clone());
                }
                let perm: Vec<usize> = kept.iter().flat_map(|(g, _)| g.iter().copied()).collect();
                // Dropped groups have size 1: append their modes anywhere (at the end).
                let mut full_perm = perm.clone();
                full_perm.extend((0..split.len()).filter(|m| !perm.contains(m)));
                let shape: Vec<usize> = kept.iter().map(|(g, _)| size(g)).collect();
                let tucker_modes = if kind == Kind::Tucker {
                    kept.iter().enumerate().filter(|(_, (_, c))| *c).map(|(i, _)| i).collect()
                } else {
                    vec![]
                };
                Layout {
                    original,
                    split,
                    perm: full_perm,
                    shape,
                    tucker_modes,
                    out_factors: out_f,
                    in_factors: in_f,
                    kind,
                }
            }
        })
    }

    /// The shape of the permuted (not yet merged) tensor.
    pub(crate) fn permuted_shape(&self) -> Vec<usize> {
        self.perm.iter().map(|&p| self.split[p]).collect()
    }

    /// The inverse of `perm`.
    pub(crate) fn inverse_perm(&self) -> Vec<usize> {
        let mut inv = vec![0; self.perm.len()];
        for (k, &p) in self.perm.iter().enumerate() {
            inv[p] = k;
        }
        inv
    }
}

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
    /// The fraction `ρ` asked for (`None` when the ranks were given explicitly).
    pub nominal_ratio: Option<f64>,
    /// `params / original_params`, the fraction actually kept.
    pub realized_ratio: f64,
}

fn check_ratio(ratio: f64) -> Result<()> {
    if ratio.is_finite() && ratio > 0.0 && ratio <= 1.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "ratio",
            value: ratio.to_string(),
            expected: "a fraction of the parameters in (0, 1]",
        })
    }
}

/// The ranks TT-SVD produces on `shape` with per-bond caps (`caps.len() = d − 1`):
/// `r_k = min(cap_k, r_{k−1}·n_k, n_{k+1}⋯n_d)` (generic data).
pub(crate) fn tt_svd_ranks(shape: &[usize], caps: &[usize]) -> Vec<usize> {
    let d = shape.len();
    let mut ranks = Vec::with_capacity(d.saturating_sub(1));
    let mut prev = 1usize;
    for k in 0..d.saturating_sub(1) {
        let right = shape[k + 1..].iter().fold(1usize, |a, &x| a.saturating_mul(x));
        let r = caps[k].min(prev.saturating_mul(shape[k])).min(right).max(1);
        ranks.push(r);
        prev = r;
    }
    ranks
}

/// Tucker ranks `min(r_j, I_j)` on `modes`, further clipped so that no rank exceeds the
/// product of the other core dimensions (the largest rank an unfolding of the core allows).
pub(crate) fn tucker_ranks(shape: &[usize], modes: &[usize], wanted: &[usize]) -> Vec<usize> {
    let mut core = shape.to_vec();
    for (&m, &r) in modes.iter().zip(wanted) {
        core[m] = r.min(shape[m]).max(1);
    }
    loop {
        let mut changed = false;
        for &m in modes {
            let others = core
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != m)
                .fold(1usize, |a, (_, &x)| a.saturating_mul(x));
            if core[m] > others {
                core[m] = others.max(1);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    modes.iter().map(|&m| core[m]).collect()
}

/// The parameters of `layout`'s format with ranks `ranks` (the [`Plan::ranks`] convention).
pub(crate) fn params_of(layout: &Layout, ranks: &[usize]) -> Result<usize> {
    let s = &layout.shape;
    match layout.kind {
        Kind::LowRank => LowRank::<f64>::params_for(s[0], s[1], ranks[0]),
        Kind::Cp => CpTensor::<f64>::params_for(s, ranks[0]),
        Kind::Tucker => PartialTucker::<f64>::params_for(s, &layout.tucker_modes, ranks),
        Kind::Tt => TtTensor::<f64>::params_for(s, ranks),
    }
}

/// The ranks of `layout` for one uniform rank `r` (clipped to what the format allows).
fn uniform_ranks(layout: &Layout, r: usize) -> Vec<usize> {
    let s = &layout.shape;
    match layout.kind {
        Kind::LowRank => vec![r.min(s[0]).min(s[1]).max(1)],
        Kind::Cp => vec![r.max(1)],
        Kind::Tucker => {
            let wanted = vec![r; layout.tucker_modes.len()];
            tucker_ranks(s, &layout.tucker_modes, &wanted)
        }
        Kind::Tt => tt_svd_ranks(s, &vec![r.max(1); s.len().saturating_sub(1)]),
    }
}

/// The largest uniform rank whose parameters fit in `budget` (at least rank 1).
fn largest_uniform(layout: &Layout, budget: f64, max_r: usize) -> Result<Vec<usize>> {
    let (mut lo, mut hi) = (1usize, max_r.max(1));
    // Invariant: rank `lo` is feasible or lo = 1; the answer lies in [lo, hi].
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if params_of(layout, &uniform_ranks(layout, mid))? as f64 <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(uniform_ranks(layout, lo))
}

fn finish(
    w: &WeightShape,
    method: Method,
    layout: &Layout,
    ranks: Vec<usize>,
    nominal: Option<f64>,
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
        nominal_ratio: nominal,
        realized_ratio: params as f64 / original as f64,
    })
}

/// Plans compressing a weight of shape `w` with `method` to a fraction `ratio` (`ρ`) of its
/// `P = T·S·kh·kw` parameters, from the shape alone.
///
/// Plain methods take the TSPC rank formulas of [`crate::rank::tspc`] (SVD on the
/// `T × S·k²` matrix; for a linear layer or 1×1 convolution TT is a matrix train and uses the
/// SVD rule). Tensorized methods take the **largest uniform rank** whose parameter count is
/// at most `ρP` (rank 1 if even that does not fit). Parameter counts come from the formats
/// (`params_for`), so [`Plan::realized_ratio`] is the ratio of the decomposition
/// [`super::compress()`] returns; it can exceed `ρ` for plain CP (ceiling, plus `R` weights).
///
/// ```
/// use tensorize::tensorization::{plan, Method, WeightShape};
/// let w = WeightShape::Conv { out: 64, input: 64, kh: 3, kw: 3 };
/// let p = plan(&w, Method::Tucker2, 0.05)?;
/// assert_eq!(p.ranks, vec![8, 8]); // 9R² + 128R ≤ 1843.2
/// assert_eq!(p.params, 9 * 64 + 2 * 64 * 8);
/// let r = plan(&w, Method::RTt { factors: 3 }, 0.05)?;
/// assert_eq!(r.shape, vec![16, 16, 16, 9]);
/// assert!(r.realized_ratio <= 0.05);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] unless `0 < ratio ≤ 1` or for `factors = 0`;
/// [`Error::ZeroDimension`] / [`Error::SizeOverflow`] for a bad shape.
pub fn plan(w: &WeightShape, method: Method, ratio: f64) -> Result<Plan> {
    check_ratio(ratio)?;
    let p = w.numel()?;
    let layout = Layout::new(w, method)?;
    let (s, t) = (w.input(), w.out());
    let (kh, kw) = w.kernel();
    let ranks = match method {
        Method::Svd => vec![tspc::svd_rank(ratio, layout.shape[0], layout.shape[1])?],
        Method::Cp => vec![tspc::cp_rank(ratio, s, t, kh, kw)?],
        Method::Tucker2 => {
            let r = tspc::tucker2_rank(ratio, s, t, kh, kw)?;
            tucker_ranks(&layout.shape, &layout.tucker_modes, &[r, r])
        }
        Method::Tt => {
            let r = if kh * kw == 1 {
                tspc::svd_rank(ratio, t, s)?
            } else {
                tspc::tt_rank(ratio, s, t, kh, kw)?
            };
            uniform_ranks(&layout, r)
        }
        _ => {
            let max_r = match layout.kind {
                // (Σ I_k + 1)·R ≤ ρP bounds the CP rank by ρP.
                Kind::Cp => p,
                _ => layout.shape.iter().copied().max().unwrap_or(1),
            };
            largest_uniform(&layout, ratio * p as f64, max_r)?
        }
    };
    finish(w, method, &layout, ranks, Some(ratio))
}

/// As [`plan`], then spends the budget left over by the uniform rank: ranks are raised by
/// one, cycling over the modes (Tucker) or bonds (TT, and the single rank of SVD/CP), as
/// long as the parameters stay within `ρP` and the ranks stay valid for the format. Useful
/// for r-TK, where one more uniform rank multiplies the core by `2^{2L}` and the uniform rule
/// can leave most of the budget unused. The ranks are no longer uniform.
///
/// ```
/// use tensorize::tensorization::{plan, plan_filled, Method, WeightShape};
/// let w = WeightShape::Conv { out: 64, input: 32, kh: 3, kw: 3 };
/// let m = Method::RTucker { factors: 3 };
/// let (uniform, filled) = (plan(&w, m, 0.2)?, plan_filled(&w, m, 0.2)?);
/// assert!(uniform.params < filled.params && filled.realized_ratio <= 0.2);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`plan`].
pub fn plan_filled(w: &WeightShape, method: Method, ratio: f64) -> Result<Plan> {
    let start = plan(w, method, ratio)?;
    let layout = Layout::new(w, method)?;
    let budget = ratio * start.original_params as f64;
    let s = &layout.shape;
    let valid = |r: &[usize]| match layout.kind {
        Kind::LowRank => r[0] <= s[0].min(s[1]),
        Kind::Cp => r[0] <= start.original_params,
        Kind::Tucker => tucker_ranks(s, &layout.tucker_modes, r) == r,
        Kind::Tt => tt_svd_ranks(s, r) == r,
    };
    let mut ranks = start.ranks.clone();
    loop {
        let mut raised = false;
        for j in 0..ranks.len() {
            let mut cand = ranks.clone();
            cand[j] += 1;
            if valid(&cand) && params_of(&layout, &cand)? as f64 <= budget {
                ranks = cand;
                raised = true;
            }
        }
        if !raised {
            break;
        }
    }
    finish(w, method, &layout, ranks, Some(ratio))
}

/// Plans compressing a weight of shape `w` with `method` and explicit `ranks`, in the
/// [`Plan::ranks`] convention, or one number for a uniform rank (clipped to what the format
/// allows: `min(M, N)` for SVD, the mode sizes for Tucker, the unfolding ranks for TT).
/// A full list for TT is capped the same way; a full Tucker list is validated as given.
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
        uniform_ranks(&layout, ranks[0])
    } else if ranks.len() == expected {
        match layout.kind {
            Kind::Tt => tt_svd_ranks(&layout.shape, ranks),
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
    /// One line: method, decomposed shape, ranks, parameters, realized and nominal ratio.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} of {:?}: ranks {:?}, {} / {} parameters ({:.2}%",
            self.method.name(),
            self.shape,
            self.ranks,
            self.params,
            self.original_params,
            100.0 * self.realized_ratio
        )?;
        match self.nominal_ratio {
            Some(r) => write!(f, ", nominal {:.2}%)", 100.0 * r),
            None => write!(f, ", explicit ranks)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn tensorized(w: &Tensor<f64>, method: Method) -> (Layout, Tensor<f64>) {
        let layout = Layout::new(&WeightShape::of(w).unwrap(), method).unwrap();
        let x = w
            .clone()
            .reshape(&layout.split)
            .unwrap()
            .permute_modes(&layout.perm)
            .unwrap()
            .reshape(&layout.shape)
            .unwrap();
        (layout, x)
    }

    /// r-CP and r-TK layouts against hand-written index maps (o = o_1·out_2 + o_2, i likewise).
    #[test]
    fn tensorized_layouts_match_naive_index_maps() {
        let w = Tensor::<f64>::random_normal(&[6, 4, 3, 2], 3).unwrap();
        let (l, x) = tensorized(&w, Method::RCp { factors: 2 });
        assert_eq!((l.out_factors.clone(), l.in_factors.clone()), (vec![2, 3], vec![2, 2]));
        assert_eq!(x.shape(), &[6, 4, 6]);
        let (y_l, y) = tensorized(&w, Method::RTucker { factors: 2 });
        assert_eq!(y.shape(), &[3, 2, 2, 2, 2, 3]);
        assert_eq!(y_l.tucker_modes, vec![2, 3, 4, 5]);
        for o in 0..6 {
            for i in 0..4 {
                for h in 0..3 {
                    for v in 0..2 {
                        let want = w.get(&[o, i, h, v]).unwrap();
                        let (o1, o2, i1, i2) = (o / 3, o % 3, i / 2, i % 2);
                        let cp_ix = [h * 2 + v, i1 * 2 + o1, i2 * 3 + o2];
                        assert_eq!(x.get(&cp_ix).unwrap(), want);
                        assert_eq!(y.get(&[h, v, i1, i2, o1, o2]).unwrap(), want);
                    }
                }
            }
        }
    }

    #[test]
    fn size_one_modes_are_dropped_and_round_trip() {
        // 3 input channels over 3 factors: [3, 1, 1]; merged modes of size 1 disappear.
        let w = Tensor::<f64>::random_normal(&[2, 3, 3, 3], 1).unwrap();
        for method in Method::all(3) {
            let (l, x) = tensorized(&w, method);
            assert!(l.shape.iter().all(|&d| d > 1), "{method:?}: {:?}", l.shape);
            let back = x
                .reshape(&l.permuted_shape())
                .unwrap()
                .permute_modes(&l.inverse_perm())
                .unwrap()
                .reshape(&l.original)
                .unwrap();
            assert_eq!(back, w, "{method:?}");
        }
    }
}
