//! Running the built `tensorize` binary and writing the small checkpoints the CLI tests use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tensorize::io::{Dtype, RawTensor, SafetensorsWriter};
use tensorize::Tensor;

/// What a run of the binary gave.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `tensorize ARGS`.
pub fn tensorize(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tensorize")).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A fresh, empty folder for one test.
pub fn folder(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tensorize-cli-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names of the files in `dir`, sorted.
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A `[m, n]` matrix of rank `r` plus noise of relative size about `noise`.
pub fn low_rank(m: usize, n: usize, r: usize, noise: f32, seed: u64) -> Tensor<f32> {
    let a = Tensor::<f32>::random_normal(&[m, r], seed).unwrap();
    let b = Tensor::<f32>::random_normal(&[r, n], seed + 1).unwrap();
    let e = Tensor::<f32>::random_normal(&[m, n], seed + 2).unwrap();
    let (a, b, e) = (a.as_slice(), b.as_slice(), e.as_slice());
    let scale = noise * (r as f32).sqrt();
    Tensor::from_fn(&[m, n], |i| {
        let signal: f32 = (0..r).map(|k| a[i[0] * r + k] * b[k * n + i[1]]).sum();
        signal + scale * e[i[0] * n + i[1]]
    })
    .unwrap()
}

/// The test checkpoint: two linear weights of rank 4 plus noise, their biases, a 3×3 conv
/// kernel, an I64 position-id tensor and a bool mask, with file metadata. Returns the total
/// parameter count.
pub fn checkpoint(path: &Path) -> usize {
    let fc1 = low_rank(48, 32, 4, 0.01, 1);
    let fc2 = low_rank(32, 48, 4, 0.01, 11);
    let b1 = Tensor::<f32>::random_normal(&[48], 3).unwrap();
    let b2 = Tensor::<f32>::random_normal(&[32], 4).unwrap();
    let conv = Tensor::<f32>::random_normal(&[16, 8, 3, 3], 5).unwrap();
    let ids: Vec<u8> = (0..16_i64).flat_map(i64::to_le_bytes).collect();
    let mask: Vec<u8> = (0..16).map(|i| u8::from(i % 3 == 0)).collect();
    SafetensorsWriter::new()
        .tensor("blocks.0.fc.weight", &fc1)
        .tensor("blocks.0.fc.bias", &b1)
        .tensor("blocks.1.fc.weight", &fc2)
        .tensor("blocks.1.fc.bias", &b2)
        .tensor("conv.weight", &conv)
        .raw("position_ids", RawTensor::new(Dtype::I64, &[1, 16], &ids).unwrap())
        .raw("mask", RawTensor::new(Dtype::Bool, &[16], &mask).unwrap())
        .metadata("format", "pt")
        .write(path)
        .unwrap();
    48 * 32 * 2 + 48 + 32 + 16 * 8 * 9 + 16 + 16
}
