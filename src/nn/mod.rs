//! Network layers on batched inputs, dense and compressed, behind one [`Layer`] trait with
//! forward and backward passes; losses ([`softmax_cross_entropy`], [`mse`]) and [`Sgd`].
//! [`Conv2d`], [`Linear`], [`Relu`], [`MaxPool2d`], [`Flatten`] and the [`Sequential`] model
//! (with [`Evaluation`] of a classifier); layers run from the factors of a decomposed dense
//! layer: [`SvdLinear`], [`SvdConv`], [`Tucker2Conv`]; [`tt_linear`]: the TT-layer `y = W x + b` with `W` a
//! [`crate::format::TtMatrix`] (forward, backward, init).

mod conv2d;
mod elementwise;
mod factorized;
mod layer;
mod linear;
mod loss;
mod optim;
mod pool;
mod sequential;
mod tensorized;
pub mod tt_linear;

pub use conv2d::Conv2d;
pub use elementwise::{Flatten, Relu};
pub use factorized::{SvdConv, SvdLinear, Tucker2Conv};
pub use layer::{Layer, ParamMut};
pub use linear::Linear;
pub use loss::{mse, softmax_cross_entropy};
pub use optim::Sgd;
pub use pool::MaxPool2d;
pub use sequential::{Evaluation, Sequential};
pub use tensorized::Tensorized;
pub use tt_linear::{TtLinear, TtLinearCache, TtLinearGrads};
