//! # tensorize
//!
//! Tensor decompositions (CP, Tucker, tensor-train) and neural-network compression, in pure Rust.
//!
//! ## Conventions
//! - [`Tensor`] stores its elements **row-major** (C order, last index fastest), like NumPy,
//!   PyTorch and safetensors. Modes are 0-based.
//! - The mode-n unfolding is TensorLy's: move mode n to the front, keep the other modes in order,
//!   reshape row-major to `I_n × ∏_{k≠n} I_k` (see [`tenalg::unfold`]). Kolda & Bader order the
//!   columns the other way round (first remaining index fastest); the two differ by a column permutation.
//! - Matrices (factor matrices, operands of mode products) are faer's [`faer::Mat`] /
//!   [`faer::MatRef`]; a transposed operand is the free view `a.transpose()`.
//! - Every algorithm is generic over [`Scalar`] (`f32` and `f64`).
//! - Functions that take user shapes, modes, ranks or files return [`Result`]; they do not panic.
//! - Heavy functions take an explicit [`par::Par`]; the plain variants pick one with [`par::auto_par`].
//!
//! See `docs/conventions.md` for a worked example.
//!
//! ## Formats and decompositions (selection)
//! - Tensor ring: [`format::TrTensor`], `X[i] = trace(G_1[:, i_1, :] ⋯ G_d[:, i_d, :])` with
//!   `r_d = r_0`, fitted by TR-SVD ([`decomp::TrSvd`], `‖X − X̂‖ ≤ ε‖X‖`).
//! - Random-shuffle embedding (RsTD): [`tensorization::Shuffle`] `π`, and
//!   [`tensorization::Shuffled`] `X ≈ π⁻¹(TD(π(X)))` by TT or TR ([`tensorization::rstd_tt`],
//!   [`tensorization::rstd_tr`]); the permutation is regenerated from its seed and costs no parameters.
//!
//! ## Tensorization
//! [`tensorization`] compresses a linear `[out, in]` or conv `[out, in, kh, kw]` weight by a plain
//! (SVD, CP, Tucker-2, TT) or TSPC-tensorized (r-CP, r-TK, r-TT) decomposition: `plan` from the
//! shape alone (ranks from [`rank::tspc`]), `compress` to reconstruct and measure Frobenius and
//! spectrum errors.
//!
//! Rank selection ([`rank`]): EVBMF and the weakened VBMF rule, ranks by error ε or under a
//! [`Budget`], and whole-model allocation of one budget across many layers.
//!
//! One [`Budget`] sizes every compression: keep a fraction of the parameters
//! ([`Budget::KeepFraction`]), compress by a factor ([`Budget::CompressBy`]; "compression
//! ratio" always means original / compressed, as [`Factorized::compression_ratio`]), or a
//! parameter or FLOP count.
//!
//! ## Layers
//! Each module uses only the ones listed before it (the rule and its check: `docs/architecture.md`):
//! 1. the shared vocabulary: [`error`], [`scalar`], [`par`], [`report`] ([`FitReport`]), [`budget`];
//! 2. [`tensor`]: [`Tensor`], its strided views ([`TensorView`], [`TensorViewMut`]), layout,
//!    elementwise operations in place and into caller buffers;
//! 3. [`linalg`] (the faer adapter) and [`tenalg`] (unfoldings, mode products, Khatri–Rao, MTTKRP);
//! 4. [`kernels`]: MTTKRP, small GEMMs and the TT-matvec plans, on raw data;
//! 5. [`format`](mod@format): CP, Tucker, TT, TR and TT-matrix formats ([`Factorized`]);
//! 6. [`decomp`]: HOSVD, ST-HOSVD, HOOI, CP-ALS, TT-SVD, TR-SVD;
//! 7. [`rank`] and [`tensorization`]: rank selection, weight compression, random-shuffle embedding;
//! 8. [`nn`]: network layers (dense and decomposed), optimizers, the training loop;
//! 9. [`compress`]: pipelines that compress whole models ([`compress::OneShot`]);
//! 10. [`io`] (`.npy`, `.npz`, safetensors) and [`data`] (real data sets from explicit paths).
//!
//! ## Networks
//! - [`format::TtMatrix`]: a matrix `W[i, j] = G_1[i_1, j_1] ⋯ G_d[i_d, j_d]` in TT-matrix
//!   format, with batched products `y_b = W x_b` through [`kernels::TtMatvecPlan`].
//! - [`nn::TtLinear`]: the TT-layer `y = W x + b` (Novikov et al. 2015) with forward and backward passes.
//! - [`nn::Layer`]: one trait for every layer — forward, a training forward that keeps what the
//!   backward pass needs, backward (gradients accumulate), parameters and buffers lent to an
//!   optimizer or a checkpoint writer. Dense layers ([`nn::Conv2d`], [`nn::Linear`],
//!   [`nn::BatchNorm2d`], pools), layers run from a decomposition's factors ([`nn::SvdLinear`],
//!   [`nn::SvdConv`], [`nn::Tucker2Conv`], [`nn::CpConv`], [`nn::TtConv`]), [`nn::Sequential`].
//! - [`nn::Train`]: seeded mini-batch training with [`nn::Sgd`] or [`nn::Adam`], a
//!   [`nn::Schedule`] and a progress callback; [`nn::evaluate`] for accuracy, loss and confusion.

// The modules, bottom layer first (docs/architecture.md; tests/architecture.rs checks that no
// module imports one above it).

// 0: the vocabulary every layer shares.
pub mod budget;
pub mod error;
mod hugepages;
pub mod memory;
pub mod par;
pub mod report;
pub mod scalar;

// 1: the tensor.
pub mod tensor;

// 2: algebra on tensors and matrices.
pub mod linalg;
pub mod tenalg;

// 3: hot loops on raw data.
pub mod kernels;

// 4: factorized formats.
pub mod format;

// 5: algorithms that fit formats to data.
pub mod decomp;

// 6–7: choosing ranks; compressing weights.
pub mod rank;
pub mod tensorization;

// 8: network layers.
pub mod nn;

// 9: pipelines over whole models.
pub mod compress;

// 10–11: files and data sets.
pub mod data;
pub mod io;

pub use budget::Budget;
pub use error::{Error, Result};
pub use format::Factorized;
pub use report::FitReport;
pub use scalar::Scalar;
pub use tensor::{Tensor, TensorView, TensorViewMut};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
