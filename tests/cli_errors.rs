//! The CLI's failures: each documented exit code (2 usage, 3 input, 5 output) with one line on
//! stderr naming the file, nothing written or overwritten, no temporary file left.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use cli::{checkpoint, files_in, folder, tensorize};

/// Asserts exit `code` and one `error:` line mentioning `needle`.
fn fails(args: &[&str], code: i32, needle: &str) {
    let run = tensorize(args);
    assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
    assert!(
        run.stderr.starts_with("error: ") && run.stderr.contains(needle),
        "{args:?}: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
}

#[test]
fn outputs_that_are_refused() {
    let dir = folder("errors-output");
    let input = dir.join("model.safetensors");
    checkpoint(&input);
    let input_s = input.to_str().unwrap();
    let out = dir.join("out.safetensors");
    let out_s = out.to_str().unwrap();
    std::fs::write(&out, b"keep me").unwrap();
    // An existing OUT without --force: exit 5, untouched.
    fails(
        &["compress", input_s, "-o", out_s, "--method", "svd", "--ratio", "2"],
        5,
        "out.safetensors",
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    // OUT is the input, even with --force.
    let before = std::fs::read(&input).unwrap();
    fails(
        &["compress", input_s, "-o", input_s, "--method", "svd", "--ratio", "2", "--force"],
        5,
        "input",
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // A missing folder.
    let missing = dir.join("no-such-folder").join("out.safetensors");
    fails(
        &["compress", input_s, "-o", missing.to_str().unwrap(), "--method", "svd", "--ratio", "2"],
        5,
        "no-such-folder",
    );
    // With --force the existing OUT is replaced by a whole file.
    let run = tensorize(&[
        "compress", input_s, "-o", out_s, "--method", "svd", "--ratio", "2", "--force",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(tensorize::io::SafetensorsFile::open(&out).is_ok());
    assert_eq!(files_in(&dir), vec!["model.safetensors", "out.safetensors"]);
}

#[test]
fn inputs_and_options_that_are_refused() {
    let dir = folder("errors-input");
    let input = dir.join("model.safetensors");
    checkpoint(&input);
    let input_s = input.to_str().unwrap();
    let out = dir.join("out.safetensors");
    let out_s = out.to_str().unwrap();
    // A --layers pattern that matches nothing: usage, naming the pattern.
    fails(
        &[
            "compress",
            input_s,
            "-o",
            out_s,
            "--method",
            "svd",
            "--ratio",
            "2",
            "--layers",
            "decoder.*",
        ],
        2,
        "decoder.*",
    );
    // Only tensors the method cannot compress.
    fails(
        &[
            "compress",
            input_s,
            "-o",
            out_s,
            "--method",
            "svd",
            "--ratio",
            "2",
            "--layers",
            "position_ids",
        ],
        2,
        "position_ids",
    );
    // No size; a size with vbmf; global with another method; a budget below what is carried.
    fails(&["compress", input_s, "-o", out_s, "--method", "svd"], 2, "--eps");
    fails(
        &[
            "compress",
            input_s,
            "-o",
            out_s,
            "--method",
            "svd",
            "--ratio",
            "2",
            "--rank-select",
            "vbmf",
        ],
        2,
        "vbmf",
    );
    fails(
        &[
            "compress",
            input_s,
            "-o",
            out_s,
            "--method",
            "cp",
            "--ratio",
            "2",
            "--rank-select",
            "global",
        ],
        2,
        "global",
    );
    fails(
        &["compress", input_s, "-o", out_s, "--method", "svd", "--budget", "10"],
        2,
        "--budget 10",
    );
    fails(&["compress", input_s, "-o", out_s, "--method", "svd", "--ratio", "0.5"], 2, "--ratio");
    // Clap's own usage errors share the code.
    let run = tensorize(&["compress", input_s, "-o", out_s, "--method", "qr", "--ratio", "2"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    // A truncated file and a header that lies: input errors naming the file.
    let bytes = std::fs::read(&input).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails(
        &["compress", cut.to_str().unwrap(), "-o", out_s, "--method", "svd", "--ratio", "2"],
        3,
        "cut.safetensors",
    );
    let mut lying = bytes.clone();
    lying[0..8].copy_from_slice(&(bytes.len() as u64 * 2).to_le_bytes());
    let lie = dir.join("lie.safetensors");
    std::fs::write(&lie, &lying).unwrap();
    fails(
        &["compress", lie.to_str().unwrap(), "-o", out_s, "--method", "svd", "--ratio", "2"],
        3,
        "lie.safetensors",
    );
    fails(
        &["compress", "nothing.safetensors", "-o", out_s, "--method", "svd", "--ratio", "2"],
        3,
        "nothing.safetensors",
    );
    // Nothing was written.
    assert!(!out.exists());
    assert_eq!(files_in(&dir), vec!["cut.safetensors", "lie.safetensors", "model.safetensors"]);
}
