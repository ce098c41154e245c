//! `tensorize eval` on the committed pretrained CNN (a few hundred MNIST test images), and
//! `tensorize decompose -o` writing factors that rebuild the tensor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;
#[path = "common/data.rs"]
mod data;

use cli::{folder, tensorize};
use tensorize::data::MNIST_CNN_FILE;
use tensorize::format::TtTensor;
use tensorize::{Factorized, Tensor};

/// The accuracy (percent) printed by eval.
fn accuracy(stdout: &str) -> f64 {
    let tail = stdout.split("accuracy ").nth(1).unwrap();
    tail.split('%').next().unwrap().parse().unwrap()
}

#[test]
fn eval_of_the_pretrained_cnn() {
    let model = data::find_data_file(MNIST_CNN_FILE).unwrap();
    let run = tensorize(&["eval", model.to_str().unwrap(), "--images", "300"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("421642 parameters"), "{}", run.stdout);
    assert!(run.stdout.contains("on 300 MNIST test images"), "{}", run.stdout);
    assert!(accuracy(&run.stdout) > 97.0, "{}", run.stdout);
    // Compressed by SVD (conv2 and fc1 four times), written and evaluated back.
    let dir = folder("eval-compressed");
    let out = dir.join("cnn-svd.safetensors");
    let run = tensorize(&[
        "compress",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--method",
        "svd",
        "--ratio",
        "4",
        "--layers",
        "features.3.weight,classifier.0.weight",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = tensorize(&["eval", out.to_str().unwrap(), "--images", "300"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let params: usize =
        run.stdout.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!(params < 421642 / 3, "{}", run.stdout);
    assert!(accuracy(&run.stdout) > 90.0, "{}", run.stdout);
    // The other methods' entries run as the weights they stand for, their parameters counted
    // as stored: fewer parameters, and an accuracy still far above chance.
    // (conv2 and fc1 at ratio 2 keep 99% or so, except r-TK of conv2: relative error 0.8,
    // 76% — so it is not among these.)
    for (method, layers) in [
        ("tt", "features.3.weight"),
        ("tucker2", "features.3.weight"),
        ("cp", "classifier.0.weight"),
        ("r-cp", "classifier.0.weight"),
        ("r-tk", "classifier.0.weight"),
        ("r-tt", "classifier.0.weight"),
        ("tt-matrix", "classifier.0.weight"),
    ] {
        let out = dir.join(format!("cnn-{method}.safetensors"));
        let run = tensorize(&[
            "compress",
            model.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--method",
            method,
            "--ratio",
            "2",
            "--layers",
            layers,
        ]);
        assert_eq!(run.code, 0, "{method}: {}", run.stderr);
        let run = tensorize(&["eval", out.to_str().unwrap(), "--images", "300"]);
        assert_eq!(run.code, 0, "{method}: {}", run.stderr);
        let params: usize =
            run.stdout.split(": ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        assert!(params < 421642, "{method}: {}", run.stdout);
        assert!(accuracy(&run.stdout) > 95.0, "{method}: {}", run.stdout);
    }
    // A checkpoint that is not the CNN: an input error naming the file.
    let dir = folder("eval-bad");
    let other = dir.join("other.safetensors");
    cli::checkpoint(&other);
    let run = tensorize(&["eval", other.to_str().unwrap(), "--images", "10"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("other.safetensors"), "{}", run.stderr);
    // A data folder without MNIST.
    let run = tensorize(&["eval", model.to_str().unwrap(), "--data", dir.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
}

#[test]
fn decompose_writes_factors_that_rebuild_the_tensor() {
    let dir = folder("decompose-out");
    let x = Tensor::<f64>::from_fn(&[6, 7, 8], |i| 1.0 / (1 + i[0] + i[1] + i[2]) as f64).unwrap();
    let npy = dir.join("x.npy");
    tensorize::io::write_npy(&npy, &x).unwrap();
    for ext in ["npz", "safetensors"] {
        let out = dir.join(format!("tt.{ext}"));
        let run = tensorize(&[
            "decompose",
            npy.to_str().unwrap(),
            "tt",
            "--eps",
            "0.01",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let cores: Vec<(String, Tensor<f64>)> = if ext == "npz" {
            tensorize::io::read_npz(&out).unwrap()
        } else {
            tensorize::io::read_safetensors(&out).unwrap()
        };
        let mut cores: Vec<_> = cores.into_iter().collect();
        cores.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            cores.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["core0", "core1", "core2"]
        );
        let tt = TtTensor::new(cores.into_iter().map(|c| c.1).collect()).unwrap();
        let err = tt.to_dense().unwrap().sub(&x).unwrap().norm() / x.norm();
        assert!(err <= 0.01, "{ext}: {err}");
        // Again without --force: refused, exit 5.
        let run = tensorize(&[
            "decompose",
            npy.to_str().unwrap(),
            "tt",
            "--eps",
            "0.01",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 5, "{}", run.stderr);
    }
    let run = tensorize(&["decompose", npy.to_str().unwrap(), "tt", "--eps", "0.1", "-o", "x.txt"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
