//! A checkpoint of the MNIST CNN that is missing a tensor, has one of the wrong shape or dtype,
//! or is not a safetensors file at all: a typed error naming the file and the tensor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use std::collections::HashMap;
use std::path::PathBuf;

use safetensors::tensor::{Dtype, TensorView};
use tensorize::data::{MnistCnn, MNIST_CNN_FILE};
use tensorize::io::read_safetensors;
use tensorize::{Error, Tensor};

/// The committed checkpoint's tensors as raw F32 bytes.
fn original() -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let path = data_files::find_data_file(MNIST_CNN_FILE).unwrap();
    read_safetensors::<f32>(path)
        .unwrap()
        .into_iter()
        .map(|(name, t): (String, Tensor<f32>)| {
            let bytes = t.as_slice().iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, t.shape().to_vec(), bytes)
        })
        .collect()
}

/// Writes `tensors` (name, dtype, shape, bytes) as a safetensors file in a fresh folder.
fn write(tag: &str, tensors: &[(String, Dtype, Vec<usize>, Vec<u8>)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorize-ckpt-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let views: HashMap<String, TensorView<'_>> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let path = dir.join("model.safetensors");
    safetensors::serialize_to_file(views, None, &path).unwrap();
    path
}

fn f32s(tensors: Vec<(String, Vec<usize>, Vec<u8>)>) -> Vec<(String, Dtype, Vec<usize>, Vec<u8>)> {
    tensors.into_iter().map(|(n, s, b)| (n, Dtype::F32, s, b)).collect()
}

fn load_err(path: &PathBuf) -> String {
    let err = MnistCnn::<f32>::load(path).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "the file is named: {msg}");
    msg
}

#[test]
fn the_original_round_trips_and_broken_copies_are_named() {
    let tensors = original();
    let same = write("same", &f32s(tensors.clone()));
    assert_eq!(MnistCnn::<f32>::load(&same).unwrap().num_params(), 421_642);

    let missing: Vec<_> =
        tensors.iter().filter(|(n, _, _)| n != "classifier.0.bias").cloned().collect();
    let msg = load_err(&write("missing", &f32s(missing)));
    assert!(msg.contains("classifier.0.bias"), "{msg}");

    let mut reshaped = tensors.clone();
    let fc2 = reshaped.iter_mut().find(|(n, _, _)| n == "classifier.2.weight").unwrap();
    fc2.1 = vec![128, 10];
    let msg = load_err(&write("shape", &f32s(reshaped)));
    assert!(msg.contains("classifier.2.weight") && msg.contains("[128, 10]"), "{msg}");

    // conv1's bias stored as 32 I64 values instead of 32 F32 ones.
    let mut typed = f32s(tensors.clone());
    let bias = typed.iter_mut().find(|(n, _, _, _)| n == "features.0.bias").unwrap();
    (bias.1, bias.3) = (Dtype::I64, (0..32_i64).flat_map(i64::to_le_bytes).collect());
    let msg = load_err(&write("dtype", &typed));
    assert!(msg.contains("features.0.bias") && msg.contains("I64"), "{msg}");

    // An extra I64 tensor of another name (position ids, a step counter) is not read.
    let mut extra = f32s(tensors.clone());
    extra.push(("step".into(), Dtype::I64, vec![1], 7_i64.to_le_bytes().to_vec()));
    assert_eq!(MnistCnn::<f32>::load(write("extra", &extra)).unwrap().num_params(), 421_642);

    let garbage = same.with_file_name("garbage.safetensors");
    std::fs::write(&garbage, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}").unwrap();
    load_err(&garbage);
    let err = MnistCnn::<f32>::load(same.with_file_name("absent.safetensors")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}
