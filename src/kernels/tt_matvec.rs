//! The batched TT-matrix × dense product `Y = X · Wᵀ` (each row `y_b = W x_b`) and its transpose,
//! as one permuted copy plus one large GEMM per core, over the whole batch at once.
//!
//! View the batch `X` (`B × N`, row-major) as `[b, j_1, …, j_d]`. Going left to right, the state
//! before core `k` is `[b, j_k, …, j_d, i_1, …, i_{k-1}, r_{k-1}]`; a copy moves `j_k` next to
//! `r_{k-1}`, giving the `(B · ∏_{l>k} n_l · ∏_{l<k} m_l) × (n_k r_{k-1})` matrix `P_k`, and
//!
//! `S_k = P_k · C_k`, with `C_k[(j_k, a), (i_k, a')] = G_k[a, i_k, j_k, a']` (`(n_k r_{k-1}) × (m_k r_k)`)
//!
//! is the next state `[b, j_{k+1}, …, j_d, i_1, …, i_k, r_k]`; after core `d` it is `Y`. The
//! right-to-left order is the mirror image (plus one final copy that restores `i_1, …, i_d`).
//! The plan costs both orders, `Σ_k 2 · rows_k · cin_k · cout_k` flops, and keeps the cheaper;
//! the cores are permuted into the `C_k` once, when the plan is built. Large batches are split
//! into one chunk per thread, each running the whole sequence with its own workspace; small
//! batches run the GEMMs with the given [`Par`] instead. Each chunk runs in sub-batches whose
//! intermediate states fit in about 1 MiB, so the copies and GEMMs stay in cache.
//!
//! With large ranks, neighbouring cores are first merged into one where that at least halves
//! the flops (see `grouping` and [`TtMatvecPlan::new`]); the sequence then runs on the coarser
//! TT-matrix, which represents the same matrix.
//!
//! Small cores (`cin ≤ 64`, `cout ≤ 64`, on x86-64 with AVX2 + FMA) skip both the copy and
//! faer: the broadcast kernel of `kernels::small_gemm` reads `P_k` straight from the state
//! through its strides (each `P_k[i, q]` is a scalar it broadcasts anyway), so the state is read
//! once instead of copied and re-read, and faer's padded microkernels are avoided.

use std::ops::Range;

use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

use super::small_gemm::{self, PackedCore, RowMap};
use crate::error::{checked_numel, refill, Error, Result};
use crate::format::TtMatrix;
use crate::par::{auto_par, thread_count, Par, PARALLEL_FLOP_THRESHOLD};
use crate::{Scalar, Tensor};

/// At most this many axes remain in a state permutation once unit axes are dropped and
/// neighbours merged (the right-to-left order needs five, plus the batch).
const MAX_AXES: usize = 8;

/// Bytes per state buffer: each thread runs its rows in sub-batches whose intermediate states fit
/// in about this much (L2-sized), so the copies and GEMMs between cores stay in cache.
const STATE_BYTES: usize = 1 << 20;

/// Which product a plan computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtOp {
    /// `y = W x` (rows of the input have length `N`, of the output `M`).
    Normal,
    /// `y = Wᵀ x` (rows of the input have length `M`, of the output `N`).
    Transpose,
}

/// The order in which the cores are contracted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TtDirection {
    /// Core 1 first.
    LeftToRight,
    /// Core `d` first.
    RightToLeft,
}

/// A copy between two per-sample layouts: `out` (row-major, `dims`) reads `in` with `strides`;
/// `inv_*` describe the inverse copy (for the backward pass). Unit axes dropped, neighbours merged.
#[derive(Clone, Debug)]
struct Perm {
    dims: Vec<usize>,
    strides: Vec<usize>,
    inv_dims: Vec<usize>,
    inv_strides: Vec<usize>,
}

/// `P_k` read straight from the state before the step (no copy) by the small-GEMM kernel:
/// row `i` of one sample starts where `rows` puts it, element `(i, (j_k, a))` at that start
/// plus `col_off[j_k · r + a]`.
#[derive(Clone, Debug)]
struct Gather<T> {
    /// The row axes of `P_k` within one sample (the batch axis is added per call).
    rows: RowMap,
    /// Offsets of the `cin` columns of `P_k` from a row's start.
    col_off: Vec<usize>,
    /// `C_k`, padded for the kernel.
    core: PackedCore<T>,
}

#[derive(Clone, Debug)]
struct Step<T> {
    /// The copy before the GEMM (`None`: the state already is `P_k`).
    perm: Option<Perm>,
    /// The fused gather + small GEMM replacing the copy and faer's GEMM, when the kernel covers
    /// the shape on this CPU (see [`small_gemm::covers`]).
    gather: Option<Gather<T>>,
    /// `C_k`, row-major `cin × cout`.
    core: Vec<T>,
    cin: usize,
    cout: usize,
    /// Per-sample length of `P_k` (= of the state before the step).
    len_in: usize,
    /// Per-sample length of `S_k`.
    len_out: usize,
    /// Which core, and whether `C_k` pairs `(a, a')` as (left, right) rank (left to right).
    k: usize,
}

/// A prepared batched product with a TT-matrix: the permuted cores `C_k`, the copies between
/// steps and the contraction order, fixed once and reused for any batch size.
///
/// ```
/// use tensorize::decomp::TtSvd;
/// use tensorize::format::TtMatrix;
/// use tensorize::kernels::{TtMatvecPlan, TtMatvecWorkspace, TtOp};
/// use tensorize::par::Par;
/// use tensorize::Tensor;
/// let w = Tensor::<f64>::random_normal(&[8, 27], 1)?;
/// let (tt, _) = TtMatrix::from_dense(&w, &[2, 2, 2], &[3, 3, 3], &TtSvd::new())?;
/// let plan = TtMatvecPlan::new(&tt, TtOp::Normal)?;
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
    op: TtOp,
    direction: TtDirection,
    len_in: usize,
    len_out: usize,
    steps: Vec<Step<T>>,
    final_perm: Option<Perm>,
    flops_per_sample: f64,
    max_len: usize,
    core_shapes: Vec<[usize; 4]>,
    /// The cores each step contracts, in core order (one range per core unless merged).
    groups: Vec<Range<usize>>,
    /// Budget per state buffer ([`STATE_BYTES`]; smaller in tests to force sub-batches).
    state_bytes: usize,
}

/// Reusable buffers for [`TtMatvecPlan::apply_into`]: they grow to the largest batch seen and are
/// then reused, so repeated products allocate nothing.
#[derive(Clone, Debug, Default)]
pub struct TtMatvecWorkspace<T> {
    chunks: Vec<(Vec<T>, Vec<T>)>,
}

impl<T: Scalar> TtMatvecWorkspace<T> {
    /// An empty workspace.
    pub fn new() -> Self {
        Self { chunks: Vec::new() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ax {
    In(usize),
    Out(usize),
    Rank,
}

/// Sizes of the labelled axes.
struct Sizes<'a> {
    ins: &'a [usize],
    outs: &'a [usize],
}

impl Sizes<'_> {
    fn of(&self, a: Ax, rank: usize) -> usize {
        match a {
            Ax::In(k) => self.ins[k],
            Ax::Out(k) => self.outs[k],
            Ax::Rank => rank,
        }
    }
}

fn build_perm(from: &[Ax], to: &[Ax], sizes: &Sizes<'_>, rank: usize) -> Option<Perm> {
    let dims_in: Vec<usize> = from.iter().map(|&a| sizes.of(a, rank)).collect();
    let st_in = strides_of(&dims_in);
    let p: Vec<usize> = to.iter().filter_map(|a| from.iter().position(|b| b == a)).collect();
    debug_assert_eq!(p.len(), from.len());
    let dims: Vec<usize> = p.iter().map(|&q| dims_in[q]).collect();
    let strides: Vec<usize> = p.iter().map(|&q| st_in[q]).collect();
    let st_out = strides_of(&dims);
    // Inverse: axis q of the input sits at position pos[q] of the output.
    let mut inv_strides = vec![0; p.len()];
    for (pos, &q) in p.iter().enumerate() {
        inv_strides[q] = st_out[pos];
    }
    let (dims, strides) = simplify(&dims, &strides);
    if dims.len() <= 1 {
        return None; // identity
    }
    let (inv_dims, inv_strides) = simplify(&dims_in, &inv_strides);
    Some(Perm { dims, strides, inv_dims, inv_strides })
}

/// The gather that reads `P_k` (rows: the axes of `to` but the last two; columns: the last two,
/// `In(k)` then `Rank`) straight from a state laid out as `from`, with the padded core for the
/// kernel; `None` if the rows need more axes than the kernel's odometer has room for (then
/// the step keeps the copy; so does a call whose batch axis does not fit in).
fn build_gather<T: Scalar>(
    from: &[Ax],
    to: &[Ax],
    sizes: &Sizes<'_>,
    rank: usize,
    core: &[T],
    cin: usize,
    cout: usize,
) -> Option<Gather<T>> {
    let dims_in: Vec<usize> = from.iter().map(|&a| sizes.of(a, rank)).collect();
    let st_in = strides_of(&dims_in);
    let stride = |a: &Ax| from.iter().position(|b| b == a).map(|q| st_in[q]);
    let (row_axes, col_axes) = to.split_at(to.len() - 2);
    let row_dims: Vec<usize> = row_axes.iter().map(|&a| sizes.of(a, rank)).collect();
    let row_strides: Vec<usize> = row_axes.iter().map(&stride).collect::<Option<_>>()?;
    let rows = RowMap::try_new(&row_dims, &row_strides)?;
    let (nj, sj) = (sizes.of(col_axes[0], rank), stride(&col_axes[0])?);
    let (na, sa) = (sizes.of(col_axes[1], rank), stride(&col_axes[1])?);
    debug_assert_eq!(nj * na, cin);
    let col_off = (0..nj).flat_map(|j| (0..na).map(move |a| j * sj + a * sa)).collect();
    Some(Gather { rows, col_off, core: PackedCore::new(core, cin, cout) })
}

/// The mode sizes an input row and an output row of `op` are split into: `(n, m)` for `W x`,
/// `(m, n)` for `Wᵀ y`.
fn in_out_modes<T: Scalar>(w: &TtMatrix<T>, op: TtOp) -> (Vec<usize>, Vec<usize>) {
    match op {
        TtOp::Normal => (w.col_modes(), w.row_modes()),
        TtOp::Transpose => (w.row_modes(), w.col_modes()),
    }
}

fn strides_of(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for k in (0..dims.len().saturating_sub(1)).rev() {
        s[k] = s[k + 1] * dims[k + 1];
    }
    s
}

/// Drops unit axes and merges neighbours that are contiguous in the source.
fn simplify(dims: &[usize], strides: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut d: Vec<usize> = Vec::new();
    let mut s: Vec<usize> = Vec::new();
    for (&n, &st) in dims.iter().zip(strides) {
        if n == 1 {
            continue;
        }
        match (d.last_mut(), s.last_mut()) {
            (Some(ld), Some(ls)) if *ls == st * n => {
                *ld *= n;
                *ls = st;
            }
            _ => {
                d.push(n);
                s.push(st);
            }
        }
    }
    if d.is_empty() {
        d.push(1);
        s.push(1);
    }
    (d, s)
}

/// `out` (row-major `[batch, dims…]`) ← `src` read with per-sample stride `len` and `strides`.
fn permute_batch<T: Copy>(
    src: &[T],
    batch: usize,
    len: usize,
    dims: &[usize],
    strides: &[usize],
    out: &mut [T],
) {
    let mut d = [0usize; MAX_AXES];
    let mut s = [0usize; MAX_AXES];
    let mut nd = 0;
    // The batch axis (merged into the first axis when that is contiguous in the source).
    if batch > 1 {
        if strides[0] * dims[0] == len {
            d[0] = batch * dims[0];
            s[0] = strides[0];
            nd = 1;
            for (k, (&n, &st)) in dims.iter().zip(strides).enumerate().skip(1) {
                d[k] = n;
                s[k] = st;
                nd += 1;
            }
        } else {
            d[0] = batch;
            s[0] = len;
            nd = 1;
            for (&n, &st) in dims.iter().zip(strides) {
                d[nd] = n;
                s[nd] = st;
                nd += 1;
            }
        }
    } else {
        for (&n, &st) in dims.iter().zip(strides) {
            d[nd] = n;
            s[nd] = st;
            nd += 1;
        }
    }
    strided_copy(src, &d[..nd], &s[..nd], out);
}

fn strided_copy<T: Copy>(src: &[T], dims: &[usize], strides: &[usize], out: &mut [T]) {
    if dims.len() == 1 {
        let (n, s) = (dims[0], strides[0]);
        for (j, v) in out[..n].iter_mut().enumerate() {
            *v = src[j * s];
        }
        return;
    }
    // The two innermost axes are plain loops (the last one is often a short rank axis); an
    // odometer runs over the others.
    let last = dims.len() - 1;
    let (nl, sl) = (dims[last], strides[last]);
    let (n2, s2) = (dims[last - 1], strides[last - 1]);
    let outer = last - 1;
    let mut idx = [0usize; MAX_AXES];
    let (mut ibase, mut o) = (0usize, 0usize);
    loop {
        let block = &mut out[o..o + n2 * nl];
        if sl == 1 {
            for (i2, dst) in block.chunks_exact_mut(nl).enumerate() {
                let from = ibase + i2 * s2;
                dst.copy_from_slice(&src[from..from + nl]);
            }
        } else {
            for (i2, dst) in block.chunks_exact_mut(nl).enumerate() {
                let from = ibase + i2 * s2;
                for (j, v) in dst.iter_mut().enumerate() {
                    *v = src[from + j * sl];
                }
            }
        }
        o += n2 * nl;
        let mut k = outer;
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            idx[k] += 1;
            ibase += strides[k];
            if idx[k] < dims[k] {
                break;
            }
            ibase -= strides[k] * dims[k];
            idx[k] = 0;
        }
    }
}

impl<T: Scalar> TtMatvecPlan<T> {
    /// Prepares `op` with `w` in the cheapest way it knows (see [`TtMatvecPlan::flops`]): the
    /// cheaper order, with neighbouring cores merged into one ([`TtMatrix::merge_cores`]) where
    /// that at least halves the flops. Merging pays when the ranks are large next to the
    /// modes: 4096² as 8⁴ × 8⁴ at rank 16 merges cores 1–2 and 3–4 and needs 2.1× fewer flops.
    /// The merged cores (at most 2¹⁸ numbers each) are built once, here.
    ///
    /// ```
    /// use tensorize::format::TtMatrix;
    /// use tensorize::kernels::{TtMatvecPlan, TtOp};
    /// use tensorize::Tensor;
    /// let r = [1, 16, 16, 16, 1];
    /// let cores = (0..4)
    ///     .map(|k| Tensor::<f32>::random_normal(&[r[k], 8, 8, r[k + 1]], k as u64))
    ///     .collect::<Result<Vec<_>, _>>()?;
    /// let w = TtMatrix::new(cores)?;
    /// let plan = TtMatvecPlan::new(&w, TtOp::Normal)?;
    /// assert_eq!(plan.groups(), &[0..2, 2..4]);
    /// let per_core = TtMatvecPlan::unmerged(&w, TtOp::Normal)?;
    /// assert!(plan.flops(1) * 2.0 <= per_core.flops(1));
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::SizeOverflow`] if an intermediate state (`rows_k · m_k r_k` numbers per batch
    /// row) does not fit in memory addressing.
    pub fn new(w: &TtMatrix<T>, op: TtOp) -> Result<Self> {
        let d = w.ndim();
        let (ins, outs) = in_out_modes(w, op);
        let ranks = w.ranks();
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
                Self::with_groups(w, op, direction, &groups).or_else(|_| Self::unmerged(w, op))
            }
            _ => Self::unmerged(w, op),
        }
    }

    /// Prepares `op` with `w` one core per step (no merging), contracting in the cheaper order:
    /// the plan the TT-layer trains with, since its backward pass needs the gradient of every
    /// core.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::new`].
    pub fn unmerged(w: &TtMatrix<T>, op: TtOp) -> Result<Self> {
        let (ins, outs) = in_out_modes(w, op);
        let ranks = w.ranks();
        let singles: Vec<Range<usize>> = (0..w.ndim()).map(|k| k..k + 1).collect();
        let cost = |dir| grouping::flops(&ins, &outs, &ranks, dir, &singles);
        // Ties go left to right: it needs no final copy.
        let (first, second) = if cost(TtDirection::RightToLeft) < cost(TtDirection::LeftToRight) {
            (TtDirection::RightToLeft, TtDirection::LeftToRight)
        } else {
            (TtDirection::LeftToRight, TtDirection::RightToLeft)
        };
        Self::with_direction(w, op, first)
            .or_else(|e| Self::with_direction(w, op, second).map_err(|_| e))
    }

    /// Prepares `op` with `w` contracting in the given order, the cores of each of `groups`
    /// merged into one ([`TtMatrix::merge_cores`]); `groups` are consecutive ranges covering
    /// all cores, in core order.
    ///
    /// # Errors
    /// [`Error::InvalidModes`] if `groups` do not split `0..d` into consecutive non-empty
    /// ranges; otherwise as [`TtMatrix::merge_cores`] and [`TtMatvecPlan::new`].
    pub fn with_groups(
        w: &TtMatrix<T>,
        op: TtOp,
        direction: TtDirection,
        groups: &[Range<usize>],
    ) -> Result<Self> {
        let d = w.ndim();
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
        let cores = groups.iter().map(|g| w.merged_core(g.clone())).collect::<Result<_>>()?;
        let merged = TtMatrix::from_cores_unchecked(cores);
        let mut plan = Self::with_direction(&merged, op, direction)?;
        plan.groups = groups.to_vec();
        Ok(plan)
    }

    /// Prepares `op` with `w` contracting in the given order, one core per step.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::new`].
    pub fn with_direction(w: &TtMatrix<T>, op: TtOp, direction: TtDirection) -> Result<Self> {
        let d = w.ndim();
        let shapes: Vec<[usize; 4]> = (0..d).map(|k| w.core_dims(k)).collect();
        let (ins, outs) = in_out_modes(w, op);
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
            let core = permute_core(w.cores()[k].as_slice(), shapes[k], op, direction);
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

    /// `Y = op(W) applied to every row of x`: `x` is `B × input_len`, the result
    /// `B × output_len`; parallelism from [`auto_par`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn apply(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let b = x.shape().first().copied().unwrap_or(0);
        self.apply_with(x, auto_par(self.flops(b)))
    }

    /// [`TtMatvecPlan::apply`] with explicit parallelism.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn apply_with(&self, x: &Tensor<T>, par: Par) -> Result<Tensor<T>> {
        self.check_input(x)?;
        let mut out = Tensor::zeros(&[x.shape()[0], self.len_out])?;
        self.apply_into(x, &mut out, &mut TtMatvecWorkspace::new(), par)?;
        Ok(out)
    }

    /// Writes `op(W) x_b` into row `b` of `out` for every row `x_b` of `x`, reusing `ws`.
    ///
    /// With `t = thread_count(par) > 1` and at least `t` rows, the batch is split into `t`
    /// chunks computed in parallel with sequential GEMMs; otherwise the GEMMs get `par`.
    ///
    /// # Errors
    /// - [`Error::ShapeMismatch`] if `x` is not `B × input_len` or `out` not `B × output_len`;
    /// - [`Error::NonFinite`] if `x` holds NaN or infinity;
    /// - [`Error::SizeOverflow`] / [`Error::OutOfMemory`] if the workspace cannot grow.
    pub fn apply_into(
        &self,
        x: &Tensor<T>,
        out: &mut Tensor<T>,
        ws: &mut TtMatvecWorkspace<T>,
        par: Par,
    ) -> Result<()> {
        self.check_input(x)?;
        let batch = x.shape()[0];
        if out.shape() != [batch, self.len_out] {
            return Err(Error::ShapeMismatch {
                op: "TtMatvecPlan::apply_into",
                left: vec![batch, self.len_out],
                right: out.shape().to_vec(),
                detail: "the output must be batch × output_len".into(),
            });
        }
        x.check_finite("TtMatvecPlan::apply_into")?;
        let threads = thread_count(par);
        let chunks = if threads > 1 && batch >= threads { threads } else { 1 };
        let per = batch.div_ceil(chunks);
        let sub = self.sub_batch(per);
        let need = checked_numel(&[sub, self.max_len], std::mem::size_of::<T>())?;
        if ws.chunks.len() < chunks {
            ws.chunks.resize_with(chunks, || (Vec::new(), Vec::new()));
        }
        for (a, b) in ws.chunks.iter_mut().take(chunks) {
            for v in [a, b] {
                if v.len() < need {
                    refill(v, &[per, self.max_len], need, T::zero())?;
                }
            }
        }
        let (xs, ys) = (x.as_slice(), out.as_mut_slice());
        if chunks == 1 {
            let (a, b) = &mut ws.chunks[0];
            // Threads inside tiny GEMMs cost more than they save.
            let gemm_par = if self.flops(batch) < PARALLEL_FLOP_THRESHOLD { Par::Seq } else { par };
            self.run_blocked(xs, ys, sub, a, b, gemm_par);
        } else {
            xs.par_chunks(per * self.len_in)
                .zip(ys.par_chunks_mut(per * self.len_out))
                .zip(ws.chunks[..chunks].par_iter_mut())
                .for_each(|((xc, yc), (a, b))| self.run_blocked(xc, yc, sub, a, b, Par::Seq));
        }
        Ok(())
    }

    /// Rows per sub-batch for `rows` rows: as many as keep a state buffer within
    /// [`STATE_BYTES`] (at least one).
    fn sub_batch(&self, rows: usize) -> usize {
        let per_row = self.max_len.saturating_mul(std::mem::size_of::<T>()).max(1);
        (self.state_bytes / per_row).clamp(1, rows.max(1))
    }

    /// [`Self::run`] over consecutive sub-batches of `sub` rows.
    fn run_blocked(&self, x: &[T], y: &mut [T], sub: usize, a: &mut [T], b: &mut [T], par: Par) {
        for (xc, yc) in x.chunks(sub * self.len_in).zip(y.chunks_mut(sub * self.len_out)) {
            self.run(xc, xc.len() / self.len_in, yc, a, b, par, None);
        }
    }

    fn check_input(&self, x: &Tensor<T>) -> Result<()> {
        if x.ndim() != 2 || x.shape()[1] != self.len_in {
            return Err(Error::ShapeMismatch {
                op: "TtMatvecPlan::apply",
                left: vec![self.len_in],
                right: x.shape().to_vec(),
                detail: format!(
                    "the input must be a batch × {} matrix (one row per sample)",
                    self.len_in
                ),
            });
        }
        Ok(())
    }

    /// The sequential pipeline on `batch` rows; `record` receives every GEMM input `P_k`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        x: &[T],
        batch: usize,
        out: &mut [T],
        a: &mut [T],
        b: &mut [T],
        par: Par,
        mut record: Option<&mut Vec<Vec<T>>>,
    ) {
        // Where the current state lives: None = x, Some(0) = a, Some(1) = b.
        let mut cur: Option<usize> = None;
        let last = self.steps.len() - 1;
        for (s, step) in self.steps.iter().enumerate() {
            let n_in = batch * step.len_in;
            let direct = s == last && self.final_perm.is_none();
            // The fused path: P_k gathered from the state by the kernel, no copy. Recording
            // needs P_k itself, so it takes the copy.
            if let (Some(g), None) = (&step.gather, record.as_deref()) {
                if let Some(rows) = g.rows.with_outer(batch, step.len_in) {
                    let to = if cur == Some(0) { 1 } else { 0 };
                    let (src, dst): (&[T], &mut [T]) = if direct {
                        (pick(x, a, b, cur, to).0, &mut *out)
                    } else {
                        pick(x, a, b, cur, to)
                    };
                    debug_assert_eq!(rows.rows() * step.cin, n_in);
                    let n_out = rows.rows() * step.cout;
                    small_gemm::gather_gemm(
                        &src[..n_in],
                        &rows,
                        &g.col_off,
                        &g.core,
                        &mut dst[..n_out],
                        par,
                    );
                    cur = if direct { None } else { Some(to) };
                    continue;
                }
            }
            // The copy, into the buffer not holding the state.
            let gin: Option<usize> = match &step.perm {
                None => cur,
                Some(p) => {
                    let to = if cur == Some(0) { 1 } else { 0 };
                    let (src, dst) = pick(x, a, b, cur, to);
                    permute_batch(
                        &src[..n_in],
                        batch,
                        step.len_in,
                        &p.dims,
                        &p.strides,
                        &mut dst[..n_in],
                    );
                    Some(to)
                }
            };
            let rows = n_in / step.cin;
            let n_out = rows * step.cout;
            let to = if gin == Some(0) { 1 } else { 0 };
            let (src, dst): (&[T], &mut [T]) = if direct {
                let src: &[T] = match gin {
                    None => x,
                    Some(0) => a,
                    Some(_) => b,
                };
                (src, &mut *out)
            } else {
                pick(x, a, b, gin, to)
            };
            if let Some(rec) = record.as_deref_mut() {
                rec.push(src[..n_in].to_vec());
            }
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dst[..n_out], rows, step.cout),
                Accum::Replace,
                MatRef::from_row_major_slice(&src[..n_in], rows, step.cin),
                MatRef::from_row_major_slice(&step.core, step.cin, step.cout),
                T::one(),
                par,
            );
            cur = if direct { None } else { Some(to) };
        }
        if let Some(p) = &self.final_perm {
            let src: &[T] = if cur == Some(0) { a } else { b };
            let n = batch * self.len_out;
            permute_batch(&src[..n], batch, self.len_out, &p.dims, &p.strides, &mut out[..n]);
        }
    }

    /// Forward pass on the whole batch (GEMMs with `par`), returning the output and every GEMM
    /// input `P_k` (for [`TtMatvecPlan::backward`]).
    pub(crate) fn forward_record(
        &self,
        x: &Tensor<T>,
        par: Par,
    ) -> Result<(Tensor<T>, Vec<Vec<T>>)> {
        debug_assert!(self.groups.iter().all(|g| g.len() == 1), "training needs an unmerged plan");
        self.check_input(x)?;
        x.check_finite("TtMatvecPlan::forward")?;
        let batch = x.shape()[0];
        let need = checked_numel(&[batch, self.max_len], std::mem::size_of::<T>())?;
        let (mut a, mut b) = (vec![T::zero(); need], vec![T::zero(); need]);
        let mut out = Tensor::zeros(&[batch, self.len_out])?;
        let mut rec = Vec::with_capacity(self.steps.len());
        self.run(x.as_slice(), batch, out.as_mut_slice(), &mut a, &mut b, par, Some(&mut rec));
        Ok((out, rec))
    }

    /// Backward pass: from `dy` (`B × output_len`) and the recorded `P_k`, the input gradient
    /// (`B × input_len`) and the gradient of every core in its `r_{k-1} × m_k × n_k × r_k` shape.
    pub(crate) fn backward(
        &self,
        recorded: &[Vec<T>],
        dy: &[T],
        batch: usize,
        par: Par,
    ) -> (Vec<T>, Vec<Vec<T>>) {
        let mut g: Vec<T> = match &self.final_perm {
            None => dy.to_vec(),
            Some(p) => {
                let mut v = vec![T::zero(); dy.len()];
                permute_batch(dy, batch, self.len_out, &p.inv_dims, &p.inv_strides, &mut v);
                v
            }
        };
        let mut core_grads: Vec<Vec<T>> = vec![Vec::new(); self.steps.len()];
        for (step, p_k) in self.steps.iter().zip(recorded).rev() {
            let rows = batch * step.len_in / step.cin;
            let gm = MatRef::from_row_major_slice(&g, rows, step.cout);
            let pm = MatRef::from_row_major_slice(p_k, rows, step.cin);
            let mut dc = vec![T::zero(); step.cin * step.cout];
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dc, step.cin, step.cout),
                Accum::Replace,
                pm.transpose(),
                gm,
                T::one(),
                par,
            );
            let mut dp = vec![T::zero(); rows * step.cin];
            faer::linalg::matmul::matmul(
                MatMut::from_row_major_slice_mut(&mut dp, rows, step.cin),
                Accum::Replace,
                gm,
                MatRef::from_row_major_slice(&step.core, step.cin, step.cout).transpose(),
                T::one(),
                par,
            );
            g = match &step.perm {
                None => dp,
                Some(p) => {
                    let mut v = vec![T::zero(); dp.len()];
                    permute_batch(&dp, batch, step.len_in, &p.inv_dims, &p.inv_strides, &mut v);
                    v
                }
            };
            core_grads[step.k] =
                unpermute_core(&dc, self.core_shapes[step.k], self.op, self.direction);
        }
        (g, core_grads)
    }
}

/// `(source, destination)` buffers: the state `cur` (None = `x`) and buffer `to`.
fn pick<'a, T>(
    x: &'a [T],
    a: &'a mut [T],
    b: &'a mut [T],
    cur: Option<usize>,
    to: usize,
) -> (&'a [T], &'a mut [T]) {
    match (cur, to) {
        (None, 0) => (x, a),
        (None, _) => (x, b),
        (Some(0), _) => (a, b),
        (Some(_), _) => (b, a),
    }
}

/// The position of `G[a, i, j, a']` in the row-major `C_k` for `op` and `direction`.
fn core_pos(
    [r0, m, n, r1]: [usize; 4],
    op: TtOp,
    direction: TtDirection,
    (a, i, j, ap): (usize, usize, usize, usize),
) -> usize {
    let ((c, nc), (o, no)) = match op {
        TtOp::Normal => ((j, n), (i, m)),
        TtOp::Transpose => ((i, m), (j, n)),
    };
    let _ = nc;
    let ((ri, nri), (ro, nro)) = match direction {
        TtDirection::LeftToRight => ((a, r0), (ap, r1)),
        TtDirection::RightToLeft => ((ap, r1), (a, r0)),
    };
    let row = c * nri + ri;
    let col = o * nro + ro;
    row * (no * nro) + col
}

fn permute_core<T: Scalar>(g: &[T], shape: [usize; 4], op: TtOp, dir: TtDirection) -> Vec<T> {
    let mut c = vec![T::zero(); g.len()];
    for_core_fibres(shape, op, dir, |src, dst, stride| {
        for (q, &v) in g[src..src + shape[3]].iter().enumerate() {
            c[dst + q * stride] = v;
        }
    });
    c
}

fn unpermute_core<T: Scalar>(c: &[T], shape: [usize; 4], op: TtOp, dir: TtDirection) -> Vec<T> {
    let mut g = vec![T::zero(); c.len()];
    for_core_fibres(shape, op, dir, |src, dst, stride| {
        for (q, v) in g[src..src + shape[3]].iter_mut().enumerate() {
            *v = c[dst + q * stride];
        }
    });
    g
}

/// Calls `f(start in G, start in C, stride in C)` for every fibre `G[a, i, j, :]` of a core,
/// which [`core_pos`] maps to positions `start + a'·stride` of `C_k` (contiguous left to
/// right, strided right to left): the position arithmetic once per fibre, not per element.
fn for_core_fibres(
    shape: [usize; 4],
    op: TtOp,
    dir: TtDirection,
    mut f: impl FnMut(usize, usize, usize),
) {
    let [r0, m, n, r1] = shape;
    let stride = if r1 > 1 {
        core_pos(shape, op, dir, (0, 0, 0, 1)) - core_pos(shape, op, dir, (0, 0, 0, 0))
    } else {
        1
    };
    let mut src = 0;
    for a in 0..r0 {
        for i in 0..m {
            for j in 0..n {
                f(src, core_pos(shape, op, dir, (a, i, j, 0)), stride);
                src += r1;
            }
        }
    }
}

impl<T: Scalar> TtMatrix<T> {
    /// A prepared plan for `Y = X · Wᵀ` (row `b`: `y_b = W x_b`); see [`TtMatvecPlan`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::new`].
    pub fn matvec_plan(&self) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::new(self, TtOp::Normal)
    }

    /// A prepared plan for `X · W` (row `b`: `Wᵀ y_b`); see [`TtMatvecPlan`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::new`].
    pub fn rmatvec_plan(&self) -> Result<TtMatvecPlan<T>> {
        TtMatvecPlan::new(self, TtOp::Transpose)
    }

    /// `y_b = W x_b` for every row of the batch `x` (`B × N` → `B × M`), by the batched
    /// sequential contraction of [`TtMatvecPlan`] (a few large GEMMs per core, neighbouring
    /// cores merged where that halves the flops).
    ///
    /// ```
    /// use tensorize::decomp::TtSvd;
    /// use tensorize::format::TtMatrix;
    /// use tensorize::Tensor;
    /// let w = Tensor::<f32>::random_normal(&[16, 16], 1)?;
    /// let (tt, _) = TtMatrix::from_dense(&w, &[4, 4], &[4, 4], &TtSvd::new())?;
    /// let x = Tensor::<f32>::random_normal(&[3, 16], 2)?;
    /// let y = tt.matvec_batch(&x)?;
    /// let dense = x.as_mat()? * w.as_mat()?.transpose();
    /// assert!((y.as_mat()? - &dense).norm_l2() < 1e-5 * dense.norm_l2());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn matvec_batch(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.matvec_plan()?.apply(x)
    }

    /// `z_b = Wᵀ y_b` for every row of `y` (`B × M` → `B × N`); see [`TtMatrix::matvec_batch`].
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn rmatvec_batch(&self, y: &Tensor<T>) -> Result<Tensor<T>> {
        self.rmatvec_plan()?.apply(y)
    }

    /// [`TtMatrix::matvec_batch`] into a caller buffer `out` (`B × M`) with explicit parallelism;
    /// builds the plan (permutes the cores) on each call: hold a [`TtMatvecPlan`] to avoid that.
    ///
    /// # Errors
    /// As [`TtMatvecPlan::apply_into`].
    pub fn matvec_batch_into(
        &self,
        x: &Tensor<T>,
        out: &mut Tensor<T>,
        ws: &mut TtMatvecWorkspace<T>,
        par: Par,
    ) -> Result<()> {
        self.matvec_plan()?.apply_into(x, out, ws, par)
    }
}

mod grouping;
#[cfg(test)]
mod tests;
