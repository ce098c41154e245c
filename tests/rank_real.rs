#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Whole-model allocation on the real pretrained MNIST CNN (committed under data/):
//! the greedy allocation must beat the same-compression-factor-per-layer baseline up to its
//! documented gap.

#[path = "common/data.rs"]
mod data_files;

use faer::MatRef;
use tensorize::data::{MnistCnn, MNIST_CNN_FILE};
use tensorize::rank::{allocate, LayerSpectrum};
use tensorize::Budget;

#[test]
fn allocation_on_the_mnist_cnn_beats_uniform_compression() {
    let path = data_files::find_data_file(MNIST_CNN_FILE).unwrap();
    let cnn = MnistCnn::<f32>::load(path).unwrap();
    let mut layers = Vec::new();
    for (name, w) in
        [("features.0.weight", &cnn.conv1_weight), ("features.3.weight", &cnn.conv2_weight)]
    {
        layers.push(LayerSpectrum::from_conv_kernel(name, w).unwrap());
    }
    for (name, w) in
        [("classifier.0.weight", &cnn.fc1_weight), ("classifier.2.weight", &cnn.fc2_weight)]
    {
        let (m, n) = (w.shape()[0], w.shape()[1]);
        layers.push(
            LayerSpectrum::from_matrix(name, MatRef::from_row_major_slice(w.as_slice(), m, n))
                .unwrap(),
        );
    }
    let dense: usize = layers.iter().map(|l| l.dense_params).sum();
    assert_eq!(dense, 421_642 - 32 - 64 - 128 - 10); // weights only, no biases
    for factor in [2.0, 5.0, 10.0, 20.0] {
        let a = allocate(&layers, Budget::CompressBy(factor)).unwrap();
        assert!(a.params as f64 <= dense as f64 / factor);
        // Baseline: every layer compressed by the same factor (largest rank within its share).
        let uniform: Vec<usize> = layers
            .iter()
            .map(|l| {
                ((l.dense_params as f64 / factor / l.params_per_rank as f64) as usize)
                    .clamp(1, l.max_rank)
            })
            .collect();
        let uniform_params: usize =
            layers.iter().zip(&uniform).map(|(l, r)| l.params_per_rank * r).sum();
        let uniform_err: f64 = layers.iter().zip(&uniform).map(|(l, &r)| l.rel_error_sq(r)).sum();
        eprintln!(
            "factor {factor}: greedy ranks {:?} params {} Σ rel err² {:.4} (gap ≤ {:.2e}); \
             uniform ranks {uniform:?} params {uniform_params} Σ rel err² {uniform_err:.4}",
            a.ranks, a.params, a.total_error, a.gap_bound
        );
        // Flooring each layer's share keeps the baseline within the same budget (no layer
        // here is so small that rank 1 exceeds its share by more than the others leave).
        assert!(uniform_params <= a.budget, "{uniform_params} > {}", a.budget);
        assert!(a.total_error <= uniform_err + a.gap_bound + 1e-12);
    }
}
