//! `tensorize compress` on a small synthetic checkpoint: each sizing (--eps, --ratio, --budget,
//! global allocation, EVBMF) and method; the report's totals add up; OUT reloads with the
//! non-float tensors and the metadata carried through byte for byte; the input is untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;

use cli::{checkpoint, files_in, folder, tensorize};
use serde_json::Value;
use tensorize::format::{CpTensor, TtMatrix, TtTensor, TuckerTensor};
use tensorize::io::{LayerReader, SafetensorsFile};
use tensorize::nn::{SvdConv, SvdLinear};
use tensorize::{Factorized, Tensor};

/// Runs compress with `extra` options into `out`, checks success, returns the JSON report.
fn compress(input: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["compress", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let run = tensorize(&args);
    assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap()
}

/// The rows, and a check that the totals are their sums.
fn rows_adding_up(report: &Value, total: usize) -> Vec<Value> {
    let rows = report["tensors"].as_array().unwrap().clone();
    assert_eq!(rows.len(), 7);
    let sum = |key: &str| rows.iter().map(|r| r[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("params_before"), total as u64);
    assert_eq!(report["totals"]["params_before"].as_u64().unwrap(), total as u64);
    assert_eq!(report["totals"]["params_after"].as_u64().unwrap(), sum("params_after"));
    let count = |s: &str| rows.iter().filter(|r| r["status"] == s).count() as u64;
    for s in ["compressed", "kept", "carried"] {
        assert_eq!(report["totals"][s].as_u64().unwrap(), count(s), "{s}");
    }
    for r in &rows {
        let (before, after) =
            (r["params_before"].as_u64().unwrap(), r["params_after"].as_u64().unwrap());
        match r["status"].as_str().unwrap() {
            "compressed" => assert!(after < before, "{r}"),
            _ => assert_eq!(after, before, "{r}"),
        }
    }
    rows
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter().find(|r| r["name"] == name).unwrap()
}

/// OUT holds the carried tensors byte for byte, the input's metadata, and one entry per
/// compressed layer that the library's reader loads; SVD and TT-matrix entries rebuild the
/// weight within the reported error.
fn check_output(input: &Path, out: &Path, rows: &[Value]) {
    let a = SafetensorsFile::open(input).unwrap();
    let reader = LayerReader::open(out).unwrap();
    let b = reader.file();
    assert_eq!(b.metadata().get("format").map(String::as_str), Some("pt"));
    for r in rows {
        let name = r["name"].as_str().unwrap();
        if r["status"] != "compressed" {
            assert_eq!(a.raw(name).unwrap(), b.raw(name).unwrap(), "{name}");
            continue;
        }
        assert!(b.info(name).is_err(), "{name} should be replaced by its factors");
        let entry = name.strip_suffix(".weight").unwrap();
        assert_eq!(reader.entry_metadata(entry, "source").unwrap(), name);
        let layer_type = match reader.format(entry).unwrap() {
            "svd-linear" => Some("linear"),
            "svd-conv" => Some("conv2d"),
            _ => None,
        };
        if let Some(t) = layer_type {
            assert_eq!(reader.entry_metadata(entry, "replaces").unwrap(), t, "{entry}");
        }
        let w: Tensor<f64> = a.read(name).unwrap();
        let w_hat: Tensor<f64> = match reader.format(entry).unwrap() {
            "svd-linear" => {
                let l: SvdLinear<f64> = reader.load(entry).unwrap();
                let [u, v] = l.factors();
                matmul(u, v)
            }
            "svd-conv" => {
                let l: SvdConv<f64> = reader.load(entry).unwrap();
                let [u, v] = l.factors().unwrap();
                let r = v.shape()[0];
                matmul(&u, &v.reshape(&[r, w.numel() / w.shape()[0]]).unwrap())
            }
            "tt-matrix" => reader.load::<f64, TtMatrix<f64>>(entry).unwrap().to_dense().unwrap(),
            other => {
                // The plain format of the reshaped weight: as many entries as the weight.
                let dense = match other {
                    "cp" => reader.load::<f64, CpTensor<f64>>(entry).unwrap().to_dense(),
                    "tt" => reader.load::<f64, TtTensor<f64>>(entry).unwrap().to_dense(),
                    "tucker" => reader.load::<f64, TuckerTensor<f64>>(entry).unwrap().to_dense(),
                    _ => panic!("{entry}: format {other}"),
                }
                .unwrap();
                assert_eq!(dense.numel(), w.numel(), "{entry}");
                continue;
            }
        };
        let err = w_hat.reshape(w.shape()).unwrap().sub(&w).unwrap().norm() / w.norm();
        let reported = r["rel_error"].as_f64().unwrap();
        assert!((err - reported).abs() < 1e-4, "{name}: {err} vs {reported}");
    }
}

/// `a · b` of two matrices.
fn matmul(a: &Tensor<f64>, b: &Tensor<f64>) -> Tensor<f64> {
    let c = a.as_mat().unwrap() * b.as_mat().unwrap();
    Tensor::from_fn(&[c.nrows(), c.ncols()], |i| c[(i[0], i[1])]).unwrap()
}

#[test]
fn eps_ratio_and_budget_size_every_layer_and_out_reloads() {
    let dir = folder("compress-sizings");
    let input = dir.join("model.safetensors");
    let total = checkpoint(&input);
    let before = std::fs::read(&input).unwrap();

    // --eps: every compressed layer within ε; the rank-4 weights are found at rank 4.
    let out = dir.join("eps.safetensors");
    let report = compress(&input, &out, &["--method", "svd", "--eps", "0.05"]);
    let rows = rows_adding_up(&report, total);
    for name in ["blocks.0.fc.weight", "blocks.1.fc.weight"] {
        let r = row(&rows, name);
        assert_eq!(r["status"], "compressed");
        assert_eq!(r["ranks"], serde_json::json!([4]));
        assert!(r["rel_error"].as_f64().unwrap() <= 0.05);
        assert!(r["spectral_error"].as_f64().unwrap() <= r["rel_error"].as_f64().unwrap() + 1e-12);
        assert_eq!(r["flops_after"].as_f64().unwrap(), 2.0 * 4.0 * 80.0);
    }
    // A random kernel needs (nearly) full rank for 5%: kept dense.
    assert_eq!(row(&rows, "conv.weight")["status"], "kept");
    assert_eq!(row(&rows, "position_ids")["status"], "carried");
    check_output(&input, &out, &rows);

    // --ratio: each compressed layer at least R times smaller.
    let out = dir.join("ratio.safetensors");
    let report = compress(&input, &out, &["--method", "svd", "--ratio", "3"]);
    let rows = rows_adding_up(&report, total);
    for r in rows.iter().filter(|r| r["status"] == "compressed") {
        assert!(3 * r["params_after"].as_u64().unwrap() <= r["params_before"].as_u64().unwrap());
    }
    assert_eq!(row(&rows, "conv.weight")["status"], "compressed");
    check_output(&input, &out, &rows);

    // --budget: the whole output within the count, split evenly or by the allocator.
    for select in ["energy", "global"] {
        let out = dir.join(format!("budget-{select}.safetensors"));
        let budget = 1500;
        let report = compress(
            &input,
            &out,
            &["--method", "svd", "--budget", &budget.to_string(), "--rank-select", select],
        );
        let rows = rows_adding_up(&report, total);
        assert!(report["totals"]["params_after"].as_u64().unwrap() <= budget, "{select}");
        check_output(&input, &out, &rows);
    }

    // EVBMF picks rank 4 for the planted weights.
    let out = dir.join("vbmf.safetensors");
    let report = compress(&input, &out, &["--method", "svd", "--rank-select", "vbmf"]);
    let rows = rows_adding_up(&report, total);
    assert_eq!(row(&rows, "blocks.0.fc.weight")["ranks"], serde_json::json!([4]));

    // The input is untouched and no temporary file is left.
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert!(files_in(&dir).iter().all(|f| !f.starts_with('.')), "{:?}", files_in(&dir));
}

#[test]
fn every_method_compresses_and_reloads() {
    let dir = folder("compress-methods");
    let input = dir.join("model.safetensors");
    let total = checkpoint(&input);
    for method in ["tucker2", "cp", "tt", "tt-matrix", "r-cp", "r-tk", "r-tt"] {
        let out = dir.join(format!("{method}.safetensors"));
        let report =
            compress(&input, &out, &["--method", method, "--ratio", "2", "--factors", "2"]);
        let rows = rows_adding_up(&report, total);
        let fc = row(&rows, "blocks.0.fc.weight");
        assert_eq!(fc["status"], "compressed", "{method}: {fc}");
        let err = fc["rel_error"].as_f64().unwrap();
        assert!(err > 0.0 && err < 1.0, "{method}: {fc}");
        let conv = row(&rows, "conv.weight");
        let expected = if method == "tt-matrix" { "carried" } else { "compressed" };
        assert_eq!(conv["status"], expected, "{method}: {conv}");
        check_output(&input, &out, &rows);
    }
    // --eps with a method sized by bisection over its rank.
    let out = dir.join("tucker-eps.safetensors");
    let report =
        compress(&input, &out, &["--method", "tucker2", "--eps", "0.2", "--layers", "blocks.*"]);
    let rows = rows_adding_up(&report, total);
    assert_eq!(row(&rows, "conv.weight")["note"], "not matched by --layers");
    for name in ["blocks.0.fc.weight", "blocks.1.fc.weight"] {
        assert!(row(&rows, name)["rel_error"].as_f64().unwrap() <= 0.2, "{name}");
    }
}

#[test]
fn the_text_report_has_a_row_per_layer_and_the_totals() {
    let dir = folder("compress-text");
    let input = dir.join("model.safetensors");
    let total = checkpoint(&input);
    let out = dir.join("out.safetensors");
    let run = tensorize(&[
        "compress",
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--method",
        "svd",
        "--ratio",
        "4",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The header and the three compressed layers; the carried tensors in lines by reason.
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("| ")).count(), 4, "{}", run.stdout);
    let carried: usize = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("carried through unchanged: "))
        .map(|l| l.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(carried, 4, "{}", run.stdout);
    assert!(run.stdout.contains(&format!("total: {total} → ")), "{}", run.stdout);
    assert!(run.stdout.contains("3 compressed, 0 kept dense, 4 carried through"), "{}", run.stdout);
}
