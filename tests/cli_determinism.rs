//! `tensorize compress` run twice on the same checkpoint with the same options and the same
//! number of threads writes the same bytes, for every method (the random starts of CP and r-CP
//! are seeded). Across thread counts the library's determinism tests (tests/determinism.rs) say
//! which fits may differ in their last bits, and by how much.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;
use std::process::Command;

use cli::{checkpoint, folder};

/// Runs `tensorize compress INPUT -o OUT ARGS` in a rayon pool of `threads` and returns OUT's
/// bytes (the report is not compared: it carries timings).
fn compress(input: &Path, out: &Path, args: &[&str], threads: usize) -> Vec<u8> {
    let run = Command::new(env!("CARGO_BIN_EXE_tensorize"))
        .args(["compress", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--force"])
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .output()
        .unwrap();
    assert!(run.status.success(), "{args:?}: {}", String::from_utf8_lossy(&run.stderr));
    std::fs::read(out).unwrap()
}

#[test]
fn the_same_run_writes_the_same_bytes() {
    let dir = folder("determinism");
    let input = dir.join("model.safetensors");
    checkpoint(&input);
    let methods: [&[&str]; 10] = [
        &["--method", "svd", "--ratio", "2"],
        &["--method", "svd", "--rank-select", "vbmf"],
        &["--method", "svd", "--eps", "0.3", "--rank-select", "global"],
        &["--method", "tucker2", "--ratio", "2"],
        &["--method", "cp", "--ratio", "2"],
        &["--method", "tt", "--ratio", "2"],
        &["--method", "tt-matrix", "--ratio", "2"],
        &["--method", "r-cp", "--ratio", "2", "--factors", "2"],
        &["--method", "r-tk", "--ratio", "2", "--factors", "2"],
        &["--method", "r-tt", "--ratio", "2", "--factors", "2"],
    ];
    for args in methods {
        for threads in [1, 2] {
            let (a, b) = (dir.join("a.safetensors"), dir.join("b.safetensors"));
            let first = compress(&input, &a, args, threads);
            let second = compress(&input, &b, args, threads);
            assert!(first == second, "{args:?} with {threads} threads: the outputs differ");
        }
    }
}
