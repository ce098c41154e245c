//! Hot paths tuned beyond the reference implementations in [`crate::tenalg`].
//! [`mttkrp`]: the matricized-tensor-times-Khatri–Rao product without forming the full Khatri–Rao product.

pub(crate) mod gemm;
pub mod mttkrp;

pub use mttkrp::{mttkrp_fast, mttkrp_fast_with};
