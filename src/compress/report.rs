//! What a compression pipeline did to each layer and to the whole model.

use std::fmt;

/// One replaced layer: what it was, what it became, and what that cost.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerReport {
    /// The layer's name in the model.
    pub name: String,
    /// The dense layer ([`crate::nn::Layer::describe`]).
    pub before: String,
    /// The decomposed layer.
    pub after: String,
    /// Parameters before and after.
    pub params: (usize, usize),
    /// FLOPs per sample before and after.
    pub flops: (f64, f64),
    /// `‖W − Ŵ‖_F / ‖W‖_F` of the replaced weight.
    pub rel_error: f64,
    /// `‖f̂(X) − f(X)‖_F / ‖W·X‖_F` on the calibration batch's inputs `X` of the layer, relative
    /// to the dense layer's response (its output without the bias, which the decomposed layer
    /// keeps): only for a data-aware run ([`super::OneShot::calibrate`]).
    pub output_error: Option<f64>,
}

/// The whole model before and after, and every replaced layer.
#[derive(Clone, Debug, PartialEq)]
pub struct CompressionReport {
    /// The replaced layers, in the order they were asked for.
    pub layers: Vec<LayerReport>,
    /// The model's parameters before and after.
    pub params: (usize, usize),
    /// The model's FLOPs per sample before and after.
    pub flops: (f64, f64),
}

impl CompressionReport {
    /// Parameters before / after (how many times fewer).
    pub fn compression(&self) -> f64 {
        self.params.0 as f64 / self.params.1.max(1) as f64
    }
}

/// A markdown table: one row per layer, then the whole model.
impl fmt::Display for CompressionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "| layer | before | after | params | MFLOPs | weight rel. error | output rel. error |"
        )?;
        writeln!(f, "|---|---|---|---:|---:|---:|---:|")?;
        for l in &self.layers {
            writeln!(
                f,
                "| {} | {} | {} | {} → {} | {:.3} → {:.3} | {:.4} | {} |",
                l.name,
                l.before,
                l.after,
                l.params.0,
                l.params.1,
                l.flops.0 / 1e6,
                l.flops.1 / 1e6,
                l.rel_error,
                l.output_error.map_or("–".to_string(), |e| format!("{e:.4}"))
            )?;
        }
        writeln!(
            f,
            "| model | | | {} → {} ({:.2}x) | {:.3} → {:.3} | | |",
            self.params.0,
            self.params.1,
            self.compression(),
            self.flops.0 / 1e6,
            self.flops.1 / 1e6
        )
    }
}
