//! Compression pipelines over a whole model: [`OneShot`] replaces chosen dense layers of a
//! [`crate::nn::Sequential`] by decomposed ones (ranks, an error ε, or one budget; from the
//! weights or, data-aware, from the layers' outputs on a calibration batch), [`FineTune`]
//! trains the result, [`Musco`] compresses iteratively, [`Reconstruction`] is TSPC's
//! stage-by-stage data reconstruction.

mod calibration;
mod fine_tune;
mod musco;
mod one_shot;
mod reconstruction;
mod report;
mod snapshot;
mod stage;

pub use fine_tune::{FineTune, FineTuneReport};
pub use musco::{Musco, MuscoIteration, MuscoReport, MuscoStop, MuscoTarget};
pub use one_shot::{Calibrated, LayerMethod, OneShot, Sizing};
pub use reconstruction::{Reconstruction, StageReport};
pub use report::{CompressionReport, LayerReport};
