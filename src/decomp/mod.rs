//! Decomposition algorithms: HOSVD, HOOI, CP-ALS, TT-SVD, TR-SVD, and TT-SVD of a matrix into a
//! TT-matrix. Each returns the format and a [`FitReport`](crate::report::FitReport).

mod cp_als;
mod gram;
mod hooi;
mod hosvd;
mod subspace;
mod sweep_input;
mod tr_svd;
mod tt_svd;

pub use cp_als::{cp_als, CpAls, CpInit};
pub use hooi::{hooi, partial_tucker, tucker2, Hooi, PartialHooi, TuckerInit};
pub use hosvd::{hosvd, st_hosvd, Hosvd};
pub use tr_svd::{tr_svd, FirstRank, TrSvd};
pub use tt_svd::{tt_svd, tt_svd_rank, TtSvd};
