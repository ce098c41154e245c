//! Compression pipelines over a whole model: [`OneShot`] replaces chosen dense layers of a
//! [`crate::nn::Sequential`] by decomposed ones (at given ranks, an error ε, or one parameter
//! budget split by the whole-model allocator) and reports what each layer cost.

mod one_shot;
mod report;

pub use one_shot::{LayerMethod, OneShot, Sizing};
pub use report::{CompressionReport, LayerReport};
