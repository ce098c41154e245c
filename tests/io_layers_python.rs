//! A file written by `io::LayerWriter` is read by Python (`safetensors` + NumPy,
//! `tests/python/rebuild_from_safetensors.py`), which rebuilds every dense weight from the
//! factors following `docs/formats.md`; the reference weights stored beside them are read off
//! the layers' own forward passes (one-hot inputs), so the documented contractions are checked
//! against what the layers compute. Skipped with a message when the repo's `.venv` is absent
//! or lacks `safetensors` (`scripts/python-env nn` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tensorize::decomp::{CpAls, Hosvd, TrSvd, TtSvd};
use tensorize::format::Factorized;
use tensorize::io::{LayerWriter, Stored};
use tensorize::nn::{
    Conv2d, CpConv, Layer, Linear, SvdConv, SvdLinear, Tensorized, TtConv, TtLinear, Tucker2Conv,
};
use tensorize::tensorization::{Compress, Method};
use tensorize::Tensor;

#[path = "common/cli.rs"]
mod cli;

/// The dense weight a layer applies (`[out, in]` or `[out, in, kh, kw]` for an input of shape
/// `input` without padding whose output is one position), read off its outputs on one-hot
/// inputs minus its output on zero.
fn dense_of(layer: &dyn Layer<f64>, input: &[usize]) -> Tensor<f64> {
    let n: usize = input.iter().product();
    let mut shape = vec![n];
    shape.extend_from_slice(input);
    let eye = Tensor::from_fn(&shape, |i| {
        let flat = i[1..].iter().zip(input).fold(0, |a, (&k, &d)| a * d + k);
        if flat == i[0] {
            1.0
        } else {
            0.0
        }
    })
    .unwrap();
    let mut zero_shape = vec![1];
    zero_shape.extend_from_slice(input);
    let b = layer.forward(&Tensor::zeros(&zero_shape).unwrap()).unwrap();
    let y = layer.forward(&eye).unwrap();
    let out = b.numel();
    let mut w_shape = vec![out];
    w_shape.extend_from_slice(input);
    Tensor::from_fn(&w_shape, |i| {
        let flat = i[1..].iter().zip(input).fold(0, |a, (&k, &d)| a * d + k);
        y.as_slice()[flat * out + i[0]] - b.as_slice()[i[0]]
    })
    .unwrap()
}

fn add_layer<L: Layer<f64> + Stored<f64>>(
    out: &mut LayerWriter<f64>,
    name: &str,
    l: &L,
    input: &[usize],
) {
    out.add(name, l).unwrap();
    out.put_tensor(format!("{name}.dense"), dense_of(l, input)).unwrap();
}

fn add_plain<F: Factorized<f64> + Stored<f64>>(out: &mut LayerWriter<f64>, name: &str, f: &F) {
    out.add(name, f).unwrap();
    out.put_tensor(format!("{name}.dense"), f.to_dense().unwrap()).unwrap();
}

/// The venv's python when it has NumPy and `safetensors`; `None` (after saying why) otherwise.
fn venv_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join(".venv/bin/python");
    if !python.exists() {
        println!("skipped: no Python venv at {} (see tests/python/)", python.display());
        return None;
    }
    // `scripts/python-env` alone installs NumPy and TensorLy; `safetensors` comes with `nn`.
    let has_modules = Command::new(&python)
        .args(["-c", "import numpy, safetensors"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_modules {
        println!(
            "skipped: the venv at {} lacks numpy or safetensors (`scripts/python-env nn`)",
            python.display()
        );
        return None;
    }
    Some(python)
}

#[test]
fn python_rebuilds_every_weight_from_the_factors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = venv_python() else { return };
    let mut out = LayerWriter::<f64>::new();
    let fc =
        Linear::new(Tensor::random_normal(&[12, 18], 1).unwrap(), Some(vec![0.5; 12])).unwrap();
    add_layer(&mut out, "fc", &fc, &[18]);
    add_layer(&mut out, "fc_svd", &SvdLinear::from_linear(&fc, 4).unwrap(), &[18]);
    add_layer(&mut out, "fc_tt", &TtLinear::glorot(&[3, 4], &[3, 6], &[3], 2).unwrap(), &[18]);
    let conv =
        Conv2d::new(Tensor::random_normal(&[6, 4, 3, 3], 3).unwrap(), Some(vec![0.25; 6])).unwrap();
    let img = [4, 3, 3];
    add_layer(&mut out, "conv", &conv, &img);
    add_layer(&mut out, "conv_svd", &SvdConv::from_conv(&conv, 3).unwrap(), &img);
    add_layer(&mut out, "conv_tucker2", &Tucker2Conv::from_conv(&conv, 3, 2).unwrap(), &img);
    add_layer(&mut out, "conv_cp", &CpConv::from_conv(&conv, 4).unwrap(), &img);
    add_layer(&mut out, "conv_tt", &TtConv::from_conv(&conv, 2).unwrap(), &img);
    for (tag, method) in [
        ("rcp", Method::RCp { factors: 2 }),
        ("rtk", Method::RTucker { factors: 2 }),
        ("rtt", Method::RTt { factors: 2 }),
    ] {
        let c = Compress::new(method).ranks(&[3]);
        add_layer(
            &mut out,
            &format!("fc_{tag}"),
            &Tensorized::from_linear(&fc, &c).unwrap(),
            &[18],
        );
        add_layer(
            &mut out,
            &format!("conv_{tag}"),
            &Tensorized::from_conv(&conv, &c).unwrap(),
            &img,
        );
    }
    let x = Tensor::<f64>::random_normal(&[4, 5, 3], 4).unwrap();
    add_plain(&mut out, "x_cp", &CpAls::new(3).fit(&x).unwrap().0);
    add_plain(&mut out, "x_tucker", &Hosvd::new(&[2, 3, 2]).fit(&x).unwrap().0);
    add_plain(&mut out, "x_tt", &TtSvd::new().max_rank(3).fit(&x).unwrap().0);
    add_plain(&mut out, "x_tr", &TrSvd::new().max_rank(4).fit(&x).unwrap().0);
    let w = TtLinear::<f64>::glorot(&[2, 3], &[4, 2], &[3], 5).unwrap().weight().clone();
    out.add("w_ttm", &w).unwrap();
    out.put_tensor("w_ttm.dense".into(), w.to_dense().unwrap()).unwrap();

    let dir = std::env::temp_dir().join(format!("tensorize-io-layers-py-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("layers.safetensors");
    out.write(&file).unwrap();
    let run = Command::new(&python)
        .arg(root.join("tests/python/rebuild_from_safetensors.py"))
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "the script failed");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 19, "one line per entry");
    for line in lines {
        let err: f64 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert!(err < 1e-6, "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What `tensorize compress` writes, for every method, rebuilt by NumPy from the documented
/// metadata alone (the plain formats undo `split` / `perm`) and compared with the tensor of the
/// input each entry names: the true error is the one the entry records.
#[test]
fn python_rebuilds_what_compress_writes_for_every_method() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(python) = venv_python() else { return };
    let dir = cli::folder("python-compress");
    let input = dir.join("model.safetensors");
    cli::checkpoint(&input);
    for method in ["svd", "tucker2", "cp", "tt", "tt-matrix", "r-cp", "r-tk", "r-tt"] {
        let out = dir.join(format!("{method}.safetensors"));
        let (input_s, out_s) = (input.to_str().unwrap(), out.to_str().unwrap());
        let run =
            cli::tensorize(&["compress", input_s, "-o", out_s, "--method", method, "--ratio", "2"]);
        assert_eq!(run.code, 0, "{method}: {}", run.stderr);
        let run = Command::new(&python)
            .arg(root.join("tests/python/rebuild_from_safetensors.py"))
            .args([out_s, "--source", input_s])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{method}: {stdout}{}", String::from_utf8_lossy(&run.stderr));
        // tt-matrix applies to the two linear weights only; every other method also to the
        // 3×3 kernel.
        let expected = if method == "tt-matrix" { 2 } else { 3 };
        assert_eq!(stdout.lines().count(), expected, "{method}: {stdout}");
        for line in stdout.lines() {
            let numbers: Vec<f64> =
                line.split_whitespace().skip(2).map(|x| x.parse().unwrap()).collect();
            let (truth, recorded) = (numbers[0], numbers[1]);
            // The factors are stored in f32: the rebuilt weight differs by their rounding.
            assert!((truth - recorded).abs() <= 1e-5 + 1e-4 * recorded, "{method}: {line}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
