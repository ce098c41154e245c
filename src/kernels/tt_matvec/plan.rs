//! The plan: the contraction order, the merged cores, the permuted cores `C_k` and the copies
//! between steps, fixed once from the cores and reused for any batch.

use std::ops::Range;

use super::cores::{merged_core, permute_core};
use super::grouping;
use super::state::{build_gather, build_perm, Ax, Gather, Perm, Sizes};
use super::{TtDirection, TtOp};
use crate::error::{Error, Result};
use crate::kernels::small_gemm;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Bytes per state buffer: each thread runs its rows in sub-batches whose intermediate states fit
/// in about this much (L2-sized), so the copies and GEMMs between cores stay in cache.
const STATE_BYTES: usize = 1 << 20;

#[derive(Clone, Debug)]
pub(super) struct Step<T> {
    /// The copy before the GEMM (`None`: the state already is `P_k`).
    pub(super) perm: Option<Perm>,
    /// The fused gather + small GEMM replacing the copy and faer's GEMM, when the kernel covers
    /// the shape on this CPU (see [`small_gemm::covers`]).
    pub(super) gather: Option<Gather<T>>,
    /// `C_k`, row-major `cin × cout`.
    pub(super) core: Vec<T>,
    pub(super) cin: usize,
    pub(super) cout: usize,
    /// Per-sample length of `P_k` (= of the state before the step).
    pub(super) len_in: usize,
    /// Per-sample length of `S_k`.
    pub(super) len_out: usize,
    /// Which core, and whether `C_k` pairs `(a, a')` as (left, right) rank (left to right).
    pub(super) k: usize,
}

/// A prepared batched product with a TT-matrix: the permuted cores `C_k`, the copies between
/// steps and the contraction order, fixed once and reused for any batch size. Built from a
/// TT-matrix by [`TtMatrix::plan`](crate::format::TtMatrix::plan) and its siblings.
///
/// ```
/// use tensorize::decomp::TtSvd;
/// use tensorize::kernels::{TtMatvecWorkspace, TtOp};
/// use tensorize::par::Par;
/// use tensorize::Tensor;
/// let w = Tensor::<f64>::random_normal(&[8, 27], 1)?;
/// let (tt, _) = TtSvd::new().fit_matrix(&w, &[2, 2, 2], &[3, 3, 3])?;
/// let plan = tt.plan(TtOp::Normal)?;
/// let x = Tensor::<f64>::random_normal(&[5, 27], 2)?;           // a batch of 5 rows
/// let mut y = Tensor::zeros(&[5, 8])?;
/// let mut ws = TtMatvecWorkspace::new();
/// plan.apply_into(&x, &mut y, &mut ws, Par::Seq)?;              // no allocation next time
/// let dense = x.as_mat()? * w.as_mat()?.transpose();            // X · Wᵀ
/// assert!((y.as_mat()? - &dense).norm_l2() < 1e-12 * dense.norm_l2());
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TtMatvecPlan<T> {
    pub(super) op: TtOp,
    pub(super) direction: TtDirection,
    pub(super) len_in: usize,
    pub(super) len_out: usize,
    pub(super) steps: Vec<Step<T>>,
    pub(super) final_perm: Option<Perm>,
    pub(super) flops_per_sample: f64,
    pub(super) max_len: usize,
    pub(super) core_shapes: Vec<[usize; 4]>,
    /// The cores each step contracts, in core order (one range per core unless merged).
    pub(super) groups: Vec<Range<usize>>,
    /// Budget per state buffer ([`STATE_BYTES`]; smaller in tests to force sub-batches).
    pub(super) state_bytes: usize,
}

/// The dimensions `[r_{k-1}, m_k, n_k, r_k]` of a 4-way core.
fn core_dims<T: Scalar>(core: &Tensor<T>) -> [usize; 4] {
    let s = core.shape();
    [s[0], s[1], s[2], s[3]]
}

/// The ranks `r_0, …, r_d` of a chain of cores.
fn ranks_of<T: Scalar>(cores: &[Tensor<T>]) -> Vec<usize> {
    std::iter::once(cores.first().map_or(1, |c| c.shape()[0]))
        .chain(cores.iter().map(|c| c.shape()[3]))
        .collect()
}

/// The mode sizes an input row and an output row of `op` are split into: `(n, m)` for `W x`,
/// `(m, n)` for `Wᵀ y`.
fn in_out_modes<T: Scalar>(cores: &[Tensor<T>], op: TtOp) -> (Vec<usize>, Vec<usize>) {
    let rows: Vec<usize> = cores.iter().map(|c| c.shape()[1]).collect();
    let cols: Vec<usize> = cores.iter().map(|c| c.shape()[2]).collect();
    match op {
        TtOp::Normal => (cols, rows),
        TtOp::Transpose => (rows, cols),
    }
}

impl<T: Scalar> TtMatvecPlan<T> {
    /// The cheapest plan it knows for `op` with `cores` (see [`TtMatvecPlan::flops`]): the
    /// cheaper order, with neighbouring cores merged into one ([`merged_core`]) where
    /// that at least halves the flops. Merging pays when the ranks are large next to the
    /// modes: 4096² as 8⁴ × 8⁴ at rank 16 merges cores 1–2 and 3–4 and needs 2.1× fewer flops.
    /// The merged cores (at most 2¹⁸ numbers each) are built once, here.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] if an intermediate state (`rows_k · m_k r_k` numbers per batch
    /// row) does not fit in memory addressing.
    pub(crate) fn cheapest(cores: &[Tensor<T>], op: TtOp) -> Result<Self> {
        let d = cores.len();
        let (ins, outs) = in_out_modes(cores, op);
        let ranks = ranks_of(cores);
        let singles: Vec<Range<usize>> = (0..d).map(|k| k..k + 1).collect();
        // Costed first, built once: (flops, direction, groups), ties to left to right (no
        // final copy) and to fewer merges.
        let mut best = None::<(f64, TtDirection, Vec<Range<usize>>)>;
        for direction in [TtDirection::LeftToRight, TtDirection::RightToLeft] {
            let plain = grouping::flops(&ins, &outs, &ranks, direction, &singles);
            let (groups, merged) = grouping::cheapest(&ins, &outs, &ranks, direction);
            let candidates = [(plain, singles.clone())].into_iter().chain(
                (groups.len() < d && merged * grouping::MIN_GAIN <= plain)
                    .then_some((merged, groups)),
            );
            for (flops, groups) in candidates {
                if best.as_ref().is_none_or(|b| flops < b.0) {
                    best = Some((flops, direction, groups));
                }
            }
        }
        match best {
            Some((_, direction, groups)) if groups.len() < d => {
                // A merge that does not fit in memory leaves the plan unmerged.
                Self::with_groups(cores, op, direction, &groups)
                    .or_else(|_| Self::unmerged(cores, op))
            }
            _ => Self::unmerged(cores, op),
        }
    }

    /// One core per step (no merging), contracting in the cheaper order: what training needs,
    /// since its backward pass needs the gradient of every core.
    pub(crate) fn unmerged(cores: &[Tensor<T>], op: TtOp) -> Result<Self> {
        let (ins, outs) = in_out_modes(cores, op);
        let ranks = ranks_of(cores);
        let singles: Vec<Range<usize>> = (0..cores.len()).map(|k| k..k + 1).collect();
        let cost = |dir| grouping::flops(&ins, &outs, &ranks, dir, &singles);
        // Ties go left to right: it needs no final copy.
        let (first, second) = if cost(TtDirection::RightToLeft) < cost(TtDirection::LeftToRight) {
            (TtDirection::RightToLeft, TtDirection::LeftToRight)
        } else {
            (TtDirection::LeftToRight, TtDirection::RightToLeft)
        };
        Self::with_direction(cores, op, first)
            .or_else(|e| Self::with_direction(cores, op, second).map_err(|_| e))
    }

    /// The cores of each of `groups` merged into one ([`merged_core`]), contracted in the given
    /// order; `groups` must be consecutive non-empty ranges covering all cores, in core order.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] if `groups` do not split `0..d` that way; otherwise as
    /// [`merged_core`] and [`TtMatvecPlan::with_direction`].
    pub(crate) fn with_groups(
        cores: &[Tensor<T>],
        op: TtOp,
        direction: TtDirection,
        groups: &[Range<usize>],
    ) -> Result<Self> {
        let d = cores.len();
        let splits = groups.first().is_some_and(|g| g.start == 0)
            && groups.last().is_some_and(|g| g.end == d)
            && groups.windows(2).all(|p| p[0].end == p[1].start)
            && groups.iter().all(|g| !g.is_empty());
        if !splits {
            return Err(Error::InvalidModes {
                op: "TtMatvecPlan::with_groups",
                modes: groups.iter().flat_map(|g| [g.start, g.end]).collect(),
                ndim: d,
                detail: format!(
                    "groups (listed as start, end pairs) must split the {d} cores into \
                     consecutive non-empty ranges from 0 to {d}"
                ),
            });
        }
        let merged: Vec<Tensor<T>> =
            groups.iter().map(|g| merged_core(cores, g.clone())).collect::<Result<_>>()?;
        let mut plan = Self::with_direction(&merged, op, direction)?;
        plan.groups = groups.to_vec();
        Ok(plan)
    }

    /// One core per step, contracted in the given order.
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] if an intermediate state (`rows_k · m_k r_k` numbers per batch
    /// row) does not fit in memory addressing.
    pub(crate) fn with_direction(
        cores: &[Tensor<T>],
        op: TtOp,
        direction: TtDirection,
    ) -> Result<Self> {
        let d = cores.len();
        let shapes: Vec<[usize; 4]> = cores.iter().map(core_dims).collect();
        let (ins, outs) = in_out_modes(cores, op);
        let sizes = Sizes { ins: &ins, outs: &outs };
        let len_in: usize = ins.iter().product();
        let len_out: usize = outs.iter().product();
        let mut state: Vec<Ax> = (0..d).map(Ax::In).chain([Ax::Rank]).collect();
        let mut rank = 1usize;
        let mut len = len_in;
        let mut steps = Vec::with_capacity(d);
        let mut flops = 0.0;
        let mut max_len = len_in.max(len_out);
        let order: Vec<usize> = match direction {
            TtDirection::LeftToRight => (0..d).collect(),
            TtDirection::RightToLeft => (0..d).rev().collect(),
        };
        for &k in &order {
            let [r0, _, _, r1] = shapes[k];
            let (rank_in, rank_out) = match direction {
                TtDirection::LeftToRight => (r0, r1),
                TtDirection::RightToLeft => (r1, r0),
            };
            debug_assert_eq!(rank, rank_in);
            let (rem_in, done_out): (Vec<usize>, Vec<usize>) = match direction {
                TtDirection::LeftToRight => ((k + 1..d).collect(), (0..k).collect()),
                TtDirection::RightToLeft => ((0..k).collect(), (k + 1..d).collect()),
            };
            let target: Vec<Ax> = rem_in
                .iter()
                .map(|&l| Ax::In(l))
                .chain(done_out.iter().map(|&l| Ax::Out(l)))
                .chain([Ax::In(k), Ax::Rank])
                .collect();
            let perm = build_perm(&state, &target, &sizes, rank);
            let (cin, cout) = (ins[k] * rank_in, outs[k] * rank_out);
            let core = permute_core(cores[k].as_slice(), shapes[k], op, direction);
            let gather = if small_gemm::covers(cin, cout) {
                build_gather(&state, &target, &sizes, rank, &core, cin, cout)
            } else {
                None
            };
            let rows = len / cin;
            flops += 2.0 * rows as f64 * cin as f64 * cout as f64;
            let len_out_step = rows
                .checked_mul(cout)
                .ok_or_else(|| Error::SizeOverflow { shape: vec![rows, outs[k], rank_out] })?;
            max_len = max_len.max(len_out_step).max(len);
            steps.push(Step {
                perm,
                gather,
                core,
                cin,
                cout,
                len_in: len,
                len_out: len_out_step,
                k,
            });
            state = target[..target.len() - 2].to_vec();
            state.extend([Ax::Out(k), Ax::Rank]);
            rank = rank_out;
            len = len_out_step;
        }
        let target: Vec<Ax> = (0..d).map(Ax::Out).chain([Ax::Rank]).collect();
        let final_perm = build_perm(&state, &target, &sizes, 1);
        Ok(Self {
            op,
            direction,
            len_in,
            len_out,
            steps,
            final_perm,
            flops_per_sample: flops,
            max_len,
            core_shapes: shapes,
            groups: (0..d).map(|k| k..k + 1).collect(),
            state_bytes: STATE_BYTES,
        })
    }

    /// Which product the plan computes.
    pub fn op(&self) -> TtOp {
        self.op
    }

    /// The contraction order chosen.
    pub fn direction(&self) -> TtDirection {
        self.direction
    }

    /// The cores each step contracts, in core order: `k..k + 1` for a core on its own, a longer
    /// range for cores merged into one.
    pub fn groups(&self) -> &[Range<usize>] {
        &self.groups
    }

    /// The length of an input row (`N` for [`TtOp::Normal`], `M` for [`TtOp::Transpose`]).
    pub fn input_len(&self) -> usize {
        self.len_in
    }

    /// The length of an output row.
    pub fn output_len(&self) -> usize {
        self.len_out
    }

    /// Floating-point operations for a batch of `batch` rows: `batch · Σ_k 2 · rows_k · cin_k · cout_k`.
    pub fn flops(&self, batch: usize) -> f64 {
        self.flops_per_sample * batch as f64
    }

    /// Elements read and written for a batch of `batch` rows by the GEMMs and copies (cores
    /// excluded; a step whose copy is fused into its GEMM counts its input once): a lower
    /// bound on the memory traffic, for memory-bound cases.
    pub fn elements_touched(&self, batch: usize) -> f64 {
        let mut e = 0.0;
        for s in &self.steps {
            // A fused step reads its input once, through the gather.
            let copies = if s.perm.is_some() && s.gather.is_none() { 2.0 } else { 0.0 };
            e += (copies + 1.0) * s.len_in as f64 + s.len_out as f64;
        }
        if self.final_perm.is_some() {
            e += 2.0 * self.len_out as f64;
        }
        e * batch as f64
    }
}
