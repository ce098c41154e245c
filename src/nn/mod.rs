//! Layers for compressed networks.
//! [`tt_linear`]: the TT-layer `y = W x + b` with `W` a [`crate::format::TtMatrix`] (forward, backward, init).

pub mod tt_linear;

pub use tt_linear::{TtLinear, TtLinearCache, TtLinearGrads};
