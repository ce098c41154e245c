//! Ctrl-C during `tensorize compress` (SIGINT, as a terminal sends it): exit code 130, no OUT,
//! no temporary file left beside it, the input untouched. Also with an existing OUT and
//! --force: the old OUT survives whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli::{files_in, folder, low_rank};
use tensorize::io::SafetensorsWriter;

/// A checkpoint whose compression takes seconds: eight 768 × 768 weights.
fn slow_checkpoint(path: &Path) {
    let weights: Vec<_> = (0..8).map(|k| low_rank(768, 768, 8, 0.5, k)).collect();
    let named = weights.iter().enumerate();
    named
        .fold(SafetensorsWriter::new(), |w, (k, x)| w.tensor(&format!("layers.{k}.weight"), x))
        .write(path)
        .unwrap();
}

/// Starts `compress INPUT -o OUT ARGS`, interrupts it after `delay`, returns its exit code and
/// how long it ran.
fn interrupted(
    input: &Path,
    out: &Path,
    args: &[&str],
    delay: Duration,
) -> (Option<i32>, Duration) {
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tensorize"))
        .args(["compress", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--method", "svd", "--ratio", "4"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success(), "kill -INT failed");
    let status = child.wait().unwrap();
    (status.code(), t0.elapsed())
}

#[test]
fn ctrl_c_leaves_no_partial_output() {
    let dir = folder("interrupt");
    let input = dir.join("model.safetensors");
    slow_checkpoint(&input);
    let before = std::fs::read(&input).unwrap();
    // The uninterrupted run, timed, so the interrupt can be sent well inside it.
    let reference = dir.join("reference.safetensors");
    let t0 = Instant::now();
    let full = Command::new(env!("CARGO_BIN_EXE_tensorize"))
        .args(["compress", input.to_str().unwrap(), "-o", reference.to_str().unwrap()])
        .args(["--method", "svd", "--ratio", "4"])
        .output()
        .unwrap();
    assert!(full.status.success(), "{}", String::from_utf8_lossy(&full.stderr));
    let whole = t0.elapsed();
    let delay = whole / 4;

    let out = dir.join("out.safetensors");
    let (code, ran) = interrupted(&input, &out, &[], delay);
    assert_eq!(code, Some(130), "ran {ran:?} of {whole:?}");
    assert!(!out.exists(), "a partial OUT");
    assert_eq!(files_in(&dir), ["model.safetensors", "reference.safetensors"]);

    // An existing OUT replaced with --force: the interrupt leaves the old one whole.
    std::fs::copy(&reference, &out).unwrap();
    let old = std::fs::read(&out).unwrap();
    let (code, _) = interrupted(&input, &out, &["--force"], delay);
    assert_eq!(code, Some(130));
    assert_eq!(std::fs::read(&out).unwrap(), old, "the old OUT changed");
    assert_eq!(files_in(&dir), ["model.safetensors", "out.safetensors", "reference.safetensors"]);
    assert_eq!(std::fs::read(&input).unwrap(), before);
}
