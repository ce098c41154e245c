//! The network side: layers on batched inputs behind one [`Layer`] trait (forward, backward,
//! parameters), losses, optimizers and schedules, data sets, the training loop and evaluation.
//!
//! - dense layers: [`Conv2d`], [`Linear`], [`BatchNorm2d`], [`Relu`], [`MaxPool2d`],
//!   [`AvgPool2d`], [`GlobalAvgPool`], [`Flatten`], and the [`Sequential`] model;
//! - layers run from the factors of a decomposed dense layer: [`SvdLinear`], [`SvdConv`],
//!   [`Tucker2Conv`], [`CpConv`], [`TtConv`]; the tensorized r-CP / r-TK / r-TT layers
//!   ([`Tensorized`], TSPC) run by contraction of their factors; the TT-layer [`TtLinear`]
//!   (`y = W x + b` with `W` a [`crate::format::TtMatrix`]; uniform ranks by [`TtRankRule`]),
//!   the TR-layer [`TrLinear`] (its weight a tensor ring), their RsTD forms with shuffled rows
//!   and columns [`ShuffledTtLinear`] and [`ShuffledTrLinear`] ([`Shuffled`]), and T-Net's
//!   [`TuckerConvBlock`] (convolutions sharing one Tucker tensor);
//! - model builders for the paper reproductions: [`two_layer_net`], [`glorot_linear`],
//!   [`tnet_cnn`], [`tnet_twin`]; [`PadFlatten`] lends an image data set as padded vectors;
//! - training: [`softmax_cross_entropy`] and [`mse`] losses, the [`Optimizer`]s [`Sgd`] and
//!   [`Adam`], learning-rate [`Schedule`]s, [`Train`] over a [`Dataset`] with a progress
//!   callback, and [`evaluate`] into an [`Evaluation`].

mod avg_pool;
mod batch_norm;
mod conv2d;
mod dataset;
mod decomposed;
mod elementwise;
mod evaluation;
mod layer;
mod linear;
mod loss;
mod mode_pairs;
mod models;
mod optim;
mod pad_flatten;
mod pool;
mod sequential;
mod shuffled;
mod tensorized;
mod tnet;
mod tr_linear;
pub(crate) mod train;
pub mod tt_linear;

pub use avg_pool::{AvgPool2d, GlobalAvgPool};
pub use batch_norm::BatchNorm2d;
pub use conv2d::Conv2d;
pub use dataset::{batch_indices, Dataset, TensorDataset};
pub use decomposed::{CpConv, SvdConv, SvdLinear, TtConv, Tucker2Conv, CP_CONV_L2};
pub use elementwise::{Flatten, Relu};
pub use evaluation::{evaluate, Evaluation};
pub use layer::{AsAny, DecomposedLayer, DenseLayer, Layer, ParamMut};
pub use linear::Linear;
pub use loss::{mse, softmax_cross_entropy};
pub use models::{glorot_linear, tnet_cnn, tnet_twin, two_layer_net};
pub use optim::{Adam, Optimizer, Schedule, Sgd};
pub use pad_flatten::PadFlatten;
pub use pool::MaxPool2d;
pub use sequential::Sequential;
pub use shuffled::{LinearLayer, Shuffled, ShuffledTrLinear, ShuffledTtLinear};
pub use tensorized::Tensorized;
pub use tnet::TuckerConvBlock;
pub use tr_linear::TrLinear;
pub use train::{Progress, Train, TrainReport};
pub use tt_linear::{TtLinear, TtLinearCache, TtLinearGrads, TtRankRule};
