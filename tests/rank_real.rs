#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Whole-model allocation on the real pretrained MNIST CNN (shared data; skipped with a message
//! when the file is absent): the greedy allocation must beat the same-ratio-per-layer baseline
//! up to its documented gap.

use std::path::PathBuf;

use faer::MatRef;
use tensorize::rank::{allocate, Budget, LayerSpectrum};
use tensorize::Tensor;

fn model_path() -> Option<PathBuf> {
    let dirs = [
        std::env::var("TENSORIZE_DATA").ok().map(PathBuf::from),
        Some(PathBuf::from("data")),
        Some(PathBuf::from("../shared/data")),
        Some(PathBuf::from("/work/shared/data")),
    ];
    dirs.into_iter().flatten().map(|d| d.join("models/mnist_cnn.safetensors")).find(|p| p.exists())
}

/// A minimal safetensors reader for F32 tensors: 8-byte little-endian header length, a JSON
/// header with `"name":{"dtype":"F32","shape":[..],"data_offsets":[a,b]}`, then the data.
fn read_f32(bytes: &[u8], name: &str) -> Tensor<f32> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    let entry = &header[header.find(&format!("\"{name}\":")).unwrap()..];
    let list = |key: &str| -> Vec<usize> {
        let s = &entry[entry.find(key).unwrap() + key.len()..];
        let s = &s[s.find('[').unwrap() + 1..s.find(']').unwrap()];
        s.split(',').map(|v| v.trim().parse().unwrap()).collect()
    };
    let shape = list("\"shape\":");
    let off = list("\"data_offsets\":");
    let data: Vec<f32> = bytes[8 + n + off[0]..8 + n + off[1]]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Tensor::from_vec(&shape, data).unwrap()
}

#[test]
fn allocation_on_the_mnist_cnn_beats_uniform_ratio() {
    let Some(path) = model_path() else {
        eprintln!("mnist_cnn.safetensors not found (set TENSORIZE_DATA): skipped");
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let mut layers = Vec::new();
    for name in ["features.0.weight", "features.3.weight"] {
        layers.push(LayerSpectrum::from_conv_kernel(name, &read_f32(&bytes, name)).unwrap());
    }
    for name in ["classifier.0.weight", "classifier.2.weight"] {
        let w = read_f32(&bytes, name);
        let (m, n) = (w.shape()[0], w.shape()[1]);
        layers.push(
            LayerSpectrum::from_matrix(name, MatRef::from_row_major_slice(w.as_slice(), m, n))
                .unwrap(),
        );
    }
    let dense: usize = layers.iter().map(|l| l.dense_params).sum();
    assert_eq!(dense, 421_642 - 32 - 64 - 128 - 10); // weights only, no biases
    for ratio in [2.0, 5.0, 10.0, 20.0] {
        let a = allocate(&layers, Budget::Ratio(ratio)).unwrap();
        assert!(a.params as f64 <= dense as f64 / ratio);
        // Baseline: every layer compressed by the same ratio (largest rank within its share).
        let uniform: Vec<usize> = layers
            .iter()
            .map(|l| {
                ((l.dense_params as f64 / ratio / l.params_per_rank as f64) as usize)
                    .clamp(1, l.max_rank)
            })
            .collect();
        let uniform_params: usize =
            layers.iter().zip(&uniform).map(|(l, r)| l.params_per_rank * r).sum();
        let uniform_err: f64 = layers.iter().zip(&uniform).map(|(l, &r)| l.rel_error_sq(r)).sum();
        eprintln!(
            "ratio {ratio}: greedy ranks {:?} params {} Σ rel err² {:.4} (gap ≤ {:.2e}); \
             uniform ranks {uniform:?} params {uniform_params} Σ rel err² {uniform_err:.4}",
            a.ranks, a.params, a.total_error, a.gap_bound
        );
        if uniform_params <= a.budget {
            assert!(a.total_error <= uniform_err + a.gap_bound + 1e-12);
        }
    }
}
