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
//! batches run the GEMMs with the given [`Par`](crate::par::Par) instead. Each chunk runs in sub-batches whose
//! intermediate states fit in about 1 MiB, so the copies and GEMMs stay in cache.
//!
//! With large ranks, neighbouring cores are first merged into one where that at least halves
//! the flops (see `grouping` and [`TtMatrix::plan`](crate::format::TtMatrix::plan)); the sequence then runs on the coarser
//! TT-matrix, which represents the same matrix.
//!
//! Small cores (`cin ≤ 64`, `cout ≤ 64`, on x86-64 with AVX2 + FMA) skip both the copy and
//! faer: the broadcast kernel of `kernels::small_gemm` reads `P_k` straight from the state
//! through its strides (each `P_k[i, q]` is a scalar it broadcasts anyway), so the state is read
//! once instead of copied and re-read, and faer's padded microkernels are avoided.
//!
//! Files: `plan` (building a plan from the cores), `run` (applying it), `training` (forward with
//! a tape, backward), `state` (the layouts between cores and the copies), `cores` (permuted and
//! merged cores), `grouping` (which neighbouring cores to merge).
//!
//! The kernel takes the cores of a valid chain (`r_{k-1} × m_k × n_k × r_k`); the format layer
//! (`format::TtMatrix`) checks them and builds plans through its own methods.

mod cores;
mod grouping;
mod plan;
mod run;
mod state;
#[cfg(test)]
mod tests;
mod training;

pub(crate) use cores::merged_core;
pub use plan::TtMatvecPlan;
pub use run::TtMatvecWorkspace;
pub use training::{TtTape, TtTrainingPlan};

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
