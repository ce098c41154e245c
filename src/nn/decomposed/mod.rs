//! Layers built from a pretrained dense layer by a decomposition and run from their factors,
//! never from a rebuilt dense weight: each is a [`chain::Chain`] of dense layers over the factors.
//! SVD linear and conv, Tucker-2 conv, CP conv and TT conv.

mod chain;
mod cp_conv;
mod svd;
mod tt_conv;
mod tucker2;

pub use cp_conv::{CpConv, CP_CONV_L2};
pub use svd::{SvdConv, SvdLinear};
pub use tt_conv::TtConv;
pub use tucker2::Tucker2Conv;
