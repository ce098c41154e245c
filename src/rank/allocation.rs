//! Whole-model rank allocation: one global [`Budget`] (parameters, FLOPs, a kept fraction or a
//! compression factor) split across many layers by greedy marginal error reduction per unit cost.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use faer::MatRef;

use crate::budget::Budget;
use crate::error::{Error, Result};
use crate::linalg::{left_subspace, SubspaceMethod, Truncation};
use crate::par::{auto_par, Par};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// One layer as the allocator sees it: its singular spectrum and what each unit of rank costs.
///
/// The relative squared error of keeping rank `r` (truncated SVD, Eckart–Young) is
/// `e(r) = Σ_{i≥r} σ_i² / Σ_i σ_i²`; each unit of rank costs `params_per_rank` parameters and
/// `flops_per_rank` FLOPs (e.g. `m + n` for an `m × n` weight factored as `U·Vᵀ`).
/// Build with [`LayerSpectrum::new`] / [`LayerSpectrum::from_matrix`] /
/// [`LayerSpectrum::from_conv_kernel`] and the builder methods.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpectrum {
    /// A name for reports and error messages.
    pub name: String,
    /// All singular values, descending, non-negative.
    pub singular_values: Vec<f64>,
    /// Parameters added by each unit of rank (≥ 1).
    pub params_per_rank: usize,
    /// FLOPs added by each unit of rank, if known (needed for [`Budget::Flops`]).
    pub flops_per_rank: Option<usize>,
    /// Parameters of the uncompressed layer (the reference for [`Budget::KeepFraction`] and
    /// [`Budget::CompressBy`]).
    pub dense_params: usize,
    /// Importance weight `w ≥ 0` of this layer's relative squared error (default 1).
    pub weight: f64,
    /// The smallest rank allowed (default 1).
    pub min_rank: usize,
    /// The largest rank allowed (default: the length of the spectrum).
    pub max_rank: usize,
}

impl LayerSpectrum {
    /// A layer with spectrum `singular_values` (descending), `params_per_rank` parameters per
    /// unit of rank and `dense_params` parameters uncompressed; weight 1, ranks `1..=len`.
    ///
    /// ```
    /// use tensorize::rank::LayerSpectrum;
    /// let l = LayerSpectrum::new("fc", vec![3.0, 2.0, 1.0], 7, 12).weight(2.0).min_rank(2);
    /// assert_eq!((l.max_rank, l.min_rank, l.weight), (3, 2, 2.0));
    /// ```
    pub fn new(
        name: impl Into<String>,
        singular_values: Vec<f64>,
        params_per_rank: usize,
        dense_params: usize,
    ) -> Self {
        let max_rank = singular_values.len();
        Self {
            name: name.into(),
            singular_values,
            params_per_rank,
            flops_per_rank: None,
            dense_params,
            weight: 1.0,
            min_rank: 1,
            max_rank,
        }
    }

    /// The spectrum of the `m × n` weight matrix `w` (linear layer `[out, in]`), with
    /// `params_per_rank = flops_per_rank = m + n` (the factors `m × r` and `r × n`; a
    /// matrix–vector product costs `r(m + n)` multiply–adds) and `dense_params = m·n`.
    ///
    /// ```
    /// use faer::Mat;
    /// use tensorize::rank::LayerSpectrum;
    /// let w = Mat::<f32>::from_fn(8, 5, |i, j| (i * j) as f32 + 1.0);
    /// let l = LayerSpectrum::from_matrix("fc1", w.as_ref())?;
    /// assert_eq!((l.singular_values.len(), l.params_per_rank, l.dense_params), (5, 13, 40));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ZeroDimension`], [`Error::NonFinite`], [`Error::NoConvergence`] (from the SVD),
    /// [`Error::SizeOverflow`] if `m·n` overflows.
    pub fn from_matrix<T: Scalar>(name: impl Into<String>, w: MatRef<'_, T>) -> Result<Self> {
        let (m, n) = w.shape();
        let flops = 4.0 * (m as f64) * (n as f64) * (m.min(n) as f64);
        Self::from_matrix_with(name, w, auto_par(flops))
    }

    /// [`LayerSpectrum::from_matrix`] with explicit parallelism `par` for the SVD.
    ///
    /// # Errors
    /// As [`LayerSpectrum::from_matrix`].
    pub fn from_matrix_with<T: Scalar>(
        name: impl Into<String>,
        w: MatRef<'_, T>,
        par: Par,
    ) -> Result<Self> {
        let (m, n) = w.shape();
        let shape = vec![m, n];
        let dense = m.checked_mul(n).ok_or(Error::SizeOverflow { shape: shape.clone() })?;
        let per_rank = m.checked_add(n).ok_or(Error::SizeOverflow { shape })?;
        let a = if m <= n { w } else { w.transpose() };
        let sub = left_subspace(a, &Truncation::rank(1), SubspaceMethod::Svd, par)?;
        let s = sub.full_spectrum.iter().map(|x| x.as_f64()).collect();
        let mut layer = Self::new(name, s, per_rank, dense);
        layer.flops_per_rank = Some(per_rank);
        Ok(layer)
    }

    /// The spectrum of a conv kernel `[out, in, kh, kw]` viewed as the `out × (in·kh·kw)` matrix
    /// (a rank-`r` factorization is a `kh × kw` conv `in → r` followed by a `1 × 1` conv
    /// `r → out`): `params_per_rank = out + in·kh·kw`, `dense_params = out·in·kh·kw`.
    ///
    /// `flops_per_rank` is left unset, because it depends on the feature-map size: a rank-`r`
    /// factorization costs `r·(in·kh·kw + out)` multiply–adds per output position, so set
    /// `.flops_per_rank((in·kh·kw + out)·H_out·W_out)` before a [`Budget::Flops`] allocation.
    ///
    /// ```
    /// use tensorize::{rank::LayerSpectrum, Tensor};
    /// let k = Tensor::<f64>::random_normal(&[6, 3, 3, 3], 1)?;
    /// let l = LayerSpectrum::from_conv_kernel("conv1", &k)?.flops_per_rank(33 * 28 * 28);
    /// assert_eq!((l.singular_values.len(), l.params_per_rank, l.dense_params), (6, 33, 162));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidModes`] unless the kernel is 4-way; otherwise as [`Self::from_matrix`].
    pub fn from_conv_kernel<T: Scalar>(
        name: impl Into<String>,
        kernel: &Tensor<T>,
    ) -> Result<Self> {
        let shape = kernel.shape();
        if shape.len() != 4 {
            return Err(Error::InvalidModes {
                op: "LayerSpectrum::from_conv_kernel",
                modes: (0..shape.len()).collect(),
                ndim: shape.len(),
                detail: "a conv kernel must be 4-way [out, in, kh, kw]".to_string(),
            });
        }
        let cols = shape[1..].iter().product::<usize>();
        let w = MatRef::from_row_major_slice(kernel.as_slice(), shape[0], cols);
        let mut layer = Self::from_matrix(name, w)?;
        layer.flops_per_rank = None;
        Ok(layer)
    }

    /// Builder: the importance weight `w ≥ 0` of this layer's error.
    pub fn weight(mut self, w: f64) -> Self {
        self.weight = w;
        self
    }

    /// Builder: the FLOPs added by each unit of rank.
    pub fn flops_per_rank(mut self, f: usize) -> Self {
        self.flops_per_rank = Some(f);
        self
    }

    /// Builder: the smallest rank allowed.
    pub fn min_rank(mut self, r: usize) -> Self {
        self.min_rank = r;
        self
    }

    /// Builder: the largest rank allowed (at most the length of the spectrum).
    pub fn max_rank(mut self, r: usize) -> Self {
        self.max_rank = r;
        self
    }

    /// `σ_i / σ_0`: squares of these cannot overflow.
    fn scaled(&self) -> impl Iterator<Item = f64> + '_ {
        let s0 = self.singular_values.first().copied().unwrap_or(0.0);
        let s0 = if s0 > 0.0 { s0 } else { 1.0 };
        self.singular_values.iter().map(move |s| s / s0)
    }

    /// `Σ (σ_i / σ_0)²` (0 for a zero matrix).
    fn energy(&self) -> f64 {
        self.scaled().map(|s| s * s).sum()
    }

    /// The relative squared error `Σ_{i≥r} σ_i² / Σ σ_i²` of rank `r` (0 for a zero matrix).
    pub fn rel_error_sq(&self, r: usize) -> f64 {
        let total = self.energy();
        if total == 0.0 {
            return 0.0;
        }
        let tail: f64 = self.scaled().skip(r).map(|s| s * s).sum();
        tail / total
    }

    fn validate(&self, index: usize) -> Result<()> {
        let bad = |detail: String| Error::InvalidRank {
            op: "allocate",
            ranks: vec![self.min_rank, self.max_rank],
            shape: vec![self.singular_values.len()],
            detail: format!("layer {index} ({}): {detail}", self.name),
        };
        if self.singular_values.is_empty() {
            return Err(bad("the spectrum is empty".to_string()));
        }
        for (i, &s) in self.singular_values.iter().enumerate() {
            if !s.is_finite() {
                return Err(Error::NonFinite { op: "allocate", position: i, value: s });
            }
            if s < 0.0 || (i > 0 && s > self.singular_values[i - 1]) {
                return Err(Error::InvalidParameter {
                    name: "singular_values",
                    value: format!("layer {index} ({}): s[{i}] = {s}", self.name),
                    expected: "non-negative values in descending order",
                });
            }
        }
        if self.params_per_rank == 0 {
            return Err(bad("params_per_rank must be at least 1".to_string()));
        }
        if self.flops_per_rank == Some(0) {
            return Err(bad("flops_per_rank must be at least 1".to_string()));
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "weight",
                value: format!("layer {index} ({}): {}", self.name, self.weight),
                expected: "a finite weight >= 0",
            });
        }
        if self.min_rank > self.max_rank || self.max_rank > self.singular_values.len() {
            return Err(bad(format!(
                "need min_rank <= max_rank <= {} (the spectrum's length)",
                self.singular_values.len()
            )));
        }
        Ok(())
    }
}

/// The result of [`allocate`].
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// The chosen rank of each layer, in input order.
    pub ranks: Vec<usize>,
    /// `Σ r_l · params_per_rank_l`.
    pub params: usize,
    /// `Σ r_l · flops_per_rank_l` when every layer has `flops_per_rank`.
    pub flops: Option<usize>,
    /// The budget in cost units (parameters, or FLOPs for [`Budget::Flops`]).
    pub budget: usize,
    /// Each layer's relative squared error `Σ_{i≥r} σ_i² / Σ σ_i²` (unweighted).
    pub layer_errors: Vec<f64>,
    /// `Σ_l w_l · layer_errors[l]`: the objective that was minimized.
    pub total_error: f64,
    /// A bound on the sub-optimality: the optimal integer allocation has `total_error ≥
    /// self.total_error − gap_bound` (the weighted gain of the first rank step that did not
    /// fit; 0 when nothing was refused, in which case the allocation is optimal).
    pub gap_bound: f64,
}

/// A candidate step: raising `layer` from rank `rank` to `rank + 1`.
struct Step {
    gain_per_cost: f64,
    gain: f64,
    layer: usize,
}

impl PartialEq for Step {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Step {}
impl PartialOrd for Step {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Step {
    // Larger gain per cost first; ties broken towards the lower layer index (deterministic).
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain_per_cost
            .total_cmp(&other.gain_per_cost)
            .then_with(|| other.layer.cmp(&self.layer))
    }
}

/// Splits one global budget across layers: chooses ranks `r_l ∈ [min_rank_l, max_rank_l]`
/// minimizing the weighted relative squared error `Σ_l w_l Σ_{i≥r_l} σ_{l,i}² / ‖W_l‖_F²`
/// subject to `Σ_l c_l r_l ≤ B` (`c_l` = parameters or FLOPs per unit of rank).
///
/// **Budget.** [`Budget::Params`] caps `Σ r_l · params_per_rank_l`; [`Budget::Flops`] caps
/// `Σ r_l · flops_per_rank_l` (every layer needs `flops_per_rank`); [`Budget::KeepFraction`]
/// `ρ` and [`Budget::CompressBy`] `c` cap the parameters at `⌊ρ · D⌋` and `⌊D / c⌋` with
/// `D = Σ dense_params_l`. The budget covers the factorized layers only: subtract whatever
/// stays dense (biases, layers that are not compressed) from a whole-model count.
///
/// **Algorithm.** Start every layer at `min_rank`; repeatedly take the step (one more rank in
/// one layer) with the largest marginal gain per unit cost, `w_l σ_{l,r_l}² / (‖W_l‖² c_l)`,
/// from a priority queue; a step that no longer fits is refused and that layer is closed
/// (its steps all cost the same, so none would fit later); stop when the queue is empty.
///
/// **Guarantee.** Because each spectrum is non-increasing, each layer's marginal gains are
/// non-increasing, so steps leave the queue in globally non-increasing gain/cost order. The
/// steps taken before the first refusal are therefore exactly the prefix of the optimal
/// solution of the continuous relaxation (fractional knapsack), which is completed by a
/// fraction of the refused step. Hence
/// `OPT_int ≤ total_error ≤ OPT_int + gap_bound`, with `gap_bound` the weighted gain of the
/// first refused step (reported in [`Allocation::gap_bound`]; at most the largest single-step
/// gain `max_l w_l σ_{l,min_rank_l}² / ‖W_l‖²`). When no step is refused the result is optimal.
///
/// ```
/// use tensorize::rank::{allocate, LayerSpectrum};
/// use tensorize::Budget;
/// let layers = vec![
///     // A layer with a fast-decaying spectrum and one with a flat spectrum, same cost.
///     LayerSpectrum::new("a", vec![10.0, 1.0, 0.1, 0.01], 10, 25),
///     LayerSpectrum::new("b", vec![3.0, 3.0, 3.0, 3.0], 10, 25),
/// ];
/// let alloc = allocate(&layers, Budget::Params(60))?;
/// assert_eq!(alloc.ranks, vec![2, 4]);
/// assert!(alloc.params <= 60);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// - [`Error::InvalidParameter`] if `layers` is empty, for a bad budget value
///   ([`Budget::validate`]), for negative/non-descending spectra or a bad weight;
/// - [`Error::InvalidRank`] for an empty spectrum, zero cost per rank, or
///   `min_rank > max_rank`/`max_rank > len`; also if [`Budget::Flops`] is asked and a layer has
///   no `flops_per_rank`, or if the minimal ranks alone exceed the budget (the message names
///   the minimal cost and the budget);
/// - [`Error::NonFinite`] for NaN/Inf singular values; [`Error::SizeOverflow`] if a cost sum
///   overflows.
pub fn allocate(layers: &[LayerSpectrum], budget: Budget) -> Result<Allocation> {
    const OP: &str = "allocate";
    if layers.is_empty() {
        return Err(Error::InvalidParameter {
            name: "layers",
            value: "[]".to_string(),
            expected: "at least one layer",
        });
    }
    for (i, l) in layers.iter().enumerate() {
        l.validate(i)?;
    }
    let overflow =
        || Error::SizeOverflow { shape: layers.iter().map(|l| l.dense_params).collect() };
    let use_flops = matches!(budget, Budget::Flops(_));
    let mut costs = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        let c = if use_flops {
            l.flops_per_rank.ok_or_else(|| Error::InvalidRank {
                op: OP,
                ranks: vec![],
                shape: vec![l.singular_values.len()],
                detail: format!("layer {i} ({}) has no flops_per_rank for a FLOP budget", l.name),
            })?
        } else {
            l.params_per_rank
        };
        costs.push(c);
    }
    let cap = match budget {
        Budget::Params(n) | Budget::Flops(n) => n,
        // The dense total is only needed (and only checked for overflow) for a relative budget.
        relative => {
            let dense = layers
                .iter()
                .try_fold(0usize, |acc, l| acc.checked_add(l.dense_params))
                .ok_or_else(overflow)?;
            relative.max_params(dense)?
        }
    };
    let mut ranks: Vec<usize> = layers.iter().map(|l| l.min_rank).collect();
    let mut spent = 0usize;
    for (r, c) in ranks.iter().zip(&costs) {
        spent = r.checked_mul(*c).and_then(|x| x.checked_add(spent)).ok_or_else(overflow)?;
    }
    if spent > cap {
        return Err(Error::InvalidRank {
            op: OP,
            ranks: ranks.clone(),
            shape: layers.iter().map(|l| l.singular_values.len()).collect(),
            detail: format!(
                "the minimal ranks alone cost {spent} {}, more than the budget {cap}",
                if use_flops { "FLOPs" } else { "parameters" }
            ),
        });
    }
    let energies: Vec<f64> = layers.iter().map(|l| l.energy()).collect();
    let step = |l: usize, r: usize| -> Option<Step> {
        let layer = &layers[l];
        if r >= layer.max_rank {
            return None;
        }
        let s = layer.singular_values[r] / layer.singular_values[0].max(f64::MIN_POSITIVE);
        let gain = if energies[l] > 0.0 { layer.weight * s * s / energies[l] } else { 0.0 };
        Some(Step { gain_per_cost: gain / costs[l] as f64, gain, layer: l })
    };
    let mut heap: BinaryHeap<Step> = (0..layers.len()).filter_map(|l| step(l, ranks[l])).collect();
    let mut gap_bound = 0.0f64;
    let mut refused = false;
    while let Some(st) = heap.pop() {
        let l = st.layer;
        if st.gain <= 0.0 {
            // Nothing left to gain anywhere (the queue is ordered by gain per cost).
            break;
        }
        if spent.checked_add(costs[l]).is_some_and(|t| t <= cap) {
            spent += costs[l];
            ranks[l] += 1;
            if let Some(next) = step(l, ranks[l]) {
                heap.push(next);
            }
        } else if !refused {
            refused = true;
            gap_bound = st.gain;
        }
    }
    let layer_errors: Vec<f64> =
        layers.iter().zip(&ranks).map(|(l, &r)| l.rel_error_sq(r)).collect();
    let total_error = layers.iter().zip(&layer_errors).map(|(l, e)| l.weight * e).sum();
    // The budgeted cost is at most `cap`; the other one saturates rather than overflow.
    let params = layers
        .iter()
        .zip(&ranks)
        .fold(0usize, |acc, (l, &r)| acc.saturating_add(l.params_per_rank.saturating_mul(r)));
    let flops = layers.iter().zip(&ranks).try_fold(0usize, |acc, (l, &r)| {
        l.flops_per_rank.map(|f| acc.saturating_add(f.saturating_mul(r)))
    });
    Ok(Allocation { ranks, params, flops, budget: cap, layer_errors, total_error, gap_bound })
}

/// The dual of [`allocate`]: the cheapest ranks (in parameters) whose weighted relative squared
/// error `Σ_l w_l Σ_{i≥r_l} σ_{l,i}² / ‖W_l‖_F²` is at most `max_total_error`.
///
/// Same greedy order as [`allocate`] (largest weighted gain per parameter first, from the
/// minimal ranks), stopping as soon as the target is met. The steps taken are a prefix of the
/// fractional-knapsack order, so the minimal integer cost is at least `params − c`, with `c`
/// the `params_per_rank` of the last step taken: the result is within one step of the cheapest.
///
/// ```
/// use tensorize::rank::{allocate_for_error, LayerSpectrum};
/// let layers = vec![
///     LayerSpectrum::new("a", vec![10.0, 1.0, 0.1, 0.01], 10, 25),
///     LayerSpectrum::new("b", vec![3.0, 3.0, 3.0, 3.0], 10, 25),
/// ];
/// let alloc = allocate_for_error(&layers, 0.3)?;
/// assert!(alloc.total_error <= 0.3);
/// assert_eq!(alloc.ranks, vec![1, 3]); // 0.0099 + 0.25
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// As [`allocate`] for the layers; [`Error::InvalidParameter`] for a negative or non-finite
/// target, or one that even the maximal ranks miss (the message gives their error).
pub fn allocate_for_error(layers: &[LayerSpectrum], max_total_error: f64) -> Result<Allocation> {
    crate::error::check_non_negative("max_total_error", max_total_error)?;
    if layers.is_empty() {
        return Err(Error::InvalidParameter {
            name: "layers",
            value: "[]".to_string(),
            expected: "at least one layer",
        });
    }
    for (i, l) in layers.iter().enumerate() {
        l.validate(i)?;
    }
    let best: f64 = layers.iter().map(|l| l.weight * l.rel_error_sq(l.max_rank)).sum();
    if best > max_total_error {
        return Err(Error::InvalidParameter {
            name: "max_total_error",
            value: format!("{max_total_error} (the maximal ranks reach only {best})"),
            expected: "a target at least the weighted error of the maximal ranks",
        });
    }
    let energies: Vec<f64> = layers.iter().map(|l| l.energy()).collect();
    let step = |l: usize, r: usize| -> Option<Step> {
        let layer = &layers[l];
        if r >= layer.max_rank {
            return None;
        }
        let s = layer.singular_values[r] / layer.singular_values[0].max(f64::MIN_POSITIVE);
        let gain = if energies[l] > 0.0 { layer.weight * s * s / energies[l] } else { 0.0 };
        Some(Step { gain_per_cost: gain / layer.params_per_rank as f64, gain, layer: l })
    };
    let mut ranks: Vec<usize> = layers.iter().map(|l| l.min_rank).collect();
    let total_of = |ranks: &[usize]| -> f64 {
        layers.iter().zip(ranks).map(|(l, &r)| l.weight * l.rel_error_sq(r)).sum()
    };
    let mut heap: BinaryHeap<Step> = (0..layers.len()).filter_map(|l| step(l, ranks[l])).collect();
    // A running total, recomputed exactly whenever it claims the target is met (a running
    // difference may drift by rounding).
    let mut total = total_of(&ranks);
    while total > max_total_error {
        let Some(st) = heap.pop() else { break };
        ranks[st.layer] += 1;
        total -= st.gain;
        if let Some(next) = step(st.layer, ranks[st.layer]) {
            heap.push(next);
        }
        if total <= max_total_error {
            total = total_of(&ranks);
        }
    }
    let layer_errors: Vec<f64> =
        layers.iter().zip(&ranks).map(|(l, &r)| l.rel_error_sq(r)).collect();
    let total_error = total_of(&ranks);
    let params = layers
        .iter()
        .zip(&ranks)
        .fold(0usize, |acc, (l, &r)| acc.saturating_add(l.params_per_rank.saturating_mul(r)));
    let flops = layers.iter().zip(&ranks).try_fold(0usize, |acc, (l, &r)| {
        l.flops_per_rank.map(|f| acc.saturating_add(f.saturating_mul(r)))
    });
    Ok(Allocation {
        ranks,
        params,
        flops,
        budget: params,
        layer_errors,
        total_error,
        gap_bound: 0.0,
    })
}
