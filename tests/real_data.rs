//! The real data committed under data/: the pretrained MNIST CNN loads with the documented shapes
//! and parameter count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use tensorize::data::{MnistCnn, MNIST_CNN_FILE};

#[test]
fn pretrained_cnn_loads_with_documented_shapes() {
    let path = data_files::find_data_file(MNIST_CNN_FILE).unwrap();
    let cnn = MnistCnn::<f32>::load(&path).unwrap();
    assert_eq!(cnn.num_params(), 421_642);
    assert_eq!(cnn.fc1_weight.shape(), &[128, 3136]);
    // Trained weights: finite, not all zero, and small.
    let w = &cnn.conv2_weight;
    assert!(w.is_finite());
    assert!(w.norm() > 0.0 && w.max_abs() < 10.0, "norm {} max {}", w.norm(), w.max_abs());
    let as_f64 = MnistCnn::<f64>::load(&path).unwrap();
    assert_eq!(as_f64.fc2_bias.as_slice()[3] as f32, cnn.fc2_bias.as_slice()[3]);
}
