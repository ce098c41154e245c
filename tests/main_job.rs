//! The main job (`cargo run --release`) in its quick mode: the binary loads the committed CNN
//! and MNIST, compresses conv2 + fc1 at the allocator's ranks and prints the table with the
//! dense model's accuracy; bad options are refused with the usage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn tensorize(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tensorize")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn the_quick_main_job_prints_the_table() {
    let (ok, stdout, stderr) = tensorize(&["mnist", "--images", "300", "--compress-by", "5"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("MNIST test set: 300 images"), "{stdout}");
    let dense = stdout
        .lines()
        .find(|l| l.starts_with("| dense (pretrained) | 421642 |"))
        .expect("dense row");
    // Accuracy column: the pretrained network gets nearly all of the first 300 right.
    let accuracy: f64 =
        dense.split('|').nth(4).unwrap().trim().trim_end_matches('%').parse().unwrap();
    assert!(accuracy > 97.0, "{dense}");
    // The allocator's split, layer by layer, then the compressed model's row.
    assert!(stdout.contains("| conv2 | conv2d 32→64 3×3 s1 p1 | svd-conv 32→64 3×3 r"), "{stdout}");
    assert!(stdout.contains("| fc1 | linear 3136→128 | svd-linear 3136→128 r"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("| svd-conv 32→64 3×3 r")), "{stdout}");
}

#[test]
fn bad_options_are_refused() {
    for args in [
        &["mnist", "--compress-by", "0.5"][..],
        &["mnist", "--images", "0"],
        &["mnist", "--frobnicate", "1"],
        &["mnist", "extra"],
    ] {
        let (ok, _, stderr) = tensorize(args);
        assert!(!ok && stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
}
