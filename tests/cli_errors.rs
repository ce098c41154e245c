//! The CLI's failures: each documented exit code (2 usage, 3 input, 4 numerical, 5 output) with
//! one line on stderr naming the file, nothing written or overwritten, no temporary file left.
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

#[test]
fn a_weight_with_nan_is_a_numerical_error_naming_the_tensor() {
    let dir = folder("errors-numerical");
    let input = dir.join("nan.safetensors");
    let mut w = cli::low_rank(24, 16, 2, 0.01, 21);
    w.as_mut_slice()[37] = f32::NAN;
    let bytes: Vec<u8> = w.as_slice().iter().flat_map(|x| x.to_le_bytes()).collect();
    tensorize::io::SafetensorsWriter::new()
        .raw(
            "head.weight",
            tensorize::io::RawTensor::new(tensorize::io::Dtype::F32, &[24, 16], &bytes).unwrap(),
        )
        .write(&input)
        .unwrap();
    let out = dir.join("out.safetensors");
    for method in ["svd", "tt", "r-tk"] {
        fails(
            &[
                "compress",
                input.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
                "--method",
                method,
                "--ratio",
                "2",
            ],
            4,
            "nan.safetensors: tensor \"head.weight\"",
        );
    }
    assert_eq!(files_in(&dir), vec!["nan.safetensors"]);
}

/// A disk that refuses the write midway, made real with a file-size limit (`ulimit -f`, with
/// SIGXFSZ ignored so that the write returns EFBIG instead of killing the process): exit 5, the
/// old OUT intact, no temporary file left.
#[cfg(unix)]
#[test]
fn a_write_the_disk_refuses_leaves_the_old_output() {
    let dir = folder("errors-disk");
    let input = dir.join("model.safetensors");
    checkpoint(&input);
    let out = dir.join("out.safetensors");
    std::fs::write(&out, b"keep me").unwrap();
    let run = std::process::Command::new("sh")
        .args(["-c", "ulimit -f 4; trap '' XFSZ; exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_tensorize"))
        .args(["compress", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--method", "svd", "--ratio", "2", "--force"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(run.stderr).unwrap();
    assert_eq!(run.status.code(), Some(5), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains("out.safetensors: write failed"));
    assert!(!stderr.contains(".tmp-"), "the message names OUT, not our temporary file: {stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    assert_eq!(files_in(&dir), vec!["model.safetensors", "out.safetensors"]);
}
