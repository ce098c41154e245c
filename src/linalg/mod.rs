//! Dense linear algebra: the one adapter over faer (truncated SVD, left subspaces, thin QR,
//! symmetric eigen, SPD solves and least squares), all on faer's low-level kernels with explicit `Par`.

mod check;
mod eigen;
mod gram_svd;
mod qr;
mod solve;
mod subspace;
mod svd;
mod wide_svd;

pub use eigen::sym_eigen_desc;
pub use gram_svd::GramSvd;
pub use qr::qr_thin;
pub use solve::{lstsq, solve_spd, SolveMethod};
pub use subspace::{left_subspace, LeftSubspace, SubspaceMethod};
pub use svd::{svd_truncated, TruncatedSvd, Truncation};

#[cfg(test)]
pub(crate) mod testutil;
