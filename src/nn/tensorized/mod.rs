//! Tensorized layers (TSPC r-CP, r-TK, r-TT, Su et al. 2018): a dense linear or convolution
//! layer whose weight is decomposed after tensorizing, run forward and backward from its factors.

mod diag;
mod layer;
mod param;
mod patches;
mod rcp;
mod roles;
mod rtt;
mod rtucker;
mod source;

pub use layer::Tensorized;
