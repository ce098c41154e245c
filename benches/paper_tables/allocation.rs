//! Whole-model rank allocation on the pretrained MNIST CNN: one parameter budget shared by all
//! four layers (greedy by error reduction per parameter) against the same compression factor in
//! every layer.

use faer::MatRef;
use tensorize::data::MnistCnn;
use tensorize::rank::{allocate, LayerSpectrum};
use tensorize::{Budget, Result};

/// The compression factors (dense / compressed parameters) of the whole model.
const FACTORS: [f64; 4] = [2.0, 5.0, 10.0, 20.0];

/// Layers as SVD-compressible matrices: convs as `[out, in·kh·kw]`, linears as they are.
fn layers(cnn: &MnistCnn<f32>) -> Result<Vec<LayerSpectrum>> {
    let mut out = vec![
        LayerSpectrum::from_conv_kernel("conv1", &cnn.conv1_weight)?,
        LayerSpectrum::from_conv_kernel("conv2", &cnn.conv2_weight)?,
    ];
    for (name, w) in [("fc1", &cnn.fc1_weight), ("fc2", &cnn.fc2_weight)] {
        let (m, n) = (w.shape()[0], w.shape()[1]);
        out.push(LayerSpectrum::from_matrix(
            name,
            MatRef::from_row_major_slice(w.as_slice(), m, n),
        )?);
    }
    Ok(out)
}

/// Ranks, parameters and summed relative squared weight errors of both allocations.
pub fn table(cnn: &MnistCnn<f32>) -> Result<String> {
    let layers = layers(cnn)?;
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    let mut out = format!(
        "Layers {names:?} as truncated SVDs (weights only). Error = Σ over layers of \
         ‖W − Ŵ‖²/‖W‖². The greedy result is within `gap` of the best possible.\n\n\
         | compression | greedy ranks | parameters | error | gap | same compression per layer: ranks | parameters | error |\n\
         |---:|---|---:|---:|---:|---|---:|---:|\n"
    );
    for factor in FACTORS {
        let a = allocate(&layers, Budget::CompressBy(factor))?;
        let uniform: Vec<usize> = layers
            .iter()
            .map(|l| {
                ((l.dense_params as f64 / factor / l.params_per_rank as f64) as usize)
                    .clamp(1, l.max_rank)
            })
            .collect();
        let params: usize = layers.iter().zip(&uniform).map(|(l, r)| l.params_per_rank * r).sum();
        let error: f64 = layers.iter().zip(&uniform).map(|(l, &r)| l.rel_error_sq(r)).sum();
        out += &format!(
            "| {factor} | {:?} | {} | {:.4} | {:.1e} | {uniform:?} | {params} | {error:.4} |\n",
            a.ranks, a.params, a.total_error, a.gap_bound
        );
    }
    Ok(out)
}
