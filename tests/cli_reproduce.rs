//! `tensorize reproduce`: the `cargo bench` runs it starts in the checkout (checked with a
//! stand-in `cargo` that records its arguments, so no bench is built here; the quick modes
//! themselves are tested by tests/paper_mnist_quick.rs), the commands it prints without a
//! checkout or with `--print`, and its failures.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use cli::{folder, tensorize, Run};

/// A stand-in `cargo` in `dir` that appends `<cwd> <args>` to `dir/calls` and exits with
/// `code`.
fn fake_cargo(dir: &Path, code: i32) -> PathBuf {
    let script = dir.join("cargo");
    let calls = dir.join("calls");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$PWD $*\" >> '{}'\nexit {code}\n", calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// Runs `tensorize ARGS` with `CARGO` and `TENSORIZE_CHECKOUT` set.
fn reproduce(args: &[&str], cargo: &Path, checkout: &Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_tensorize"))
        .args(args)
        .env("CARGO", cargo)
        .env("TENSORIZE_CHECKOUT", checkout)
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls")).unwrap().lines().map(String::from).collect()
}

#[test]
fn runs_each_bench_quick_mode_in_the_checkout() {
    let dir = folder("reproduce-runs");
    let cargo = fake_cargo(&dir, 0);
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let run = reproduce(&["reproduce"], &cargo, &checkout);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let root = checkout.display();
    assert_eq!(
        calls(&dir),
        [
            format!("{root} bench --bench paper_tables"),
            format!("{root} bench --bench paper_mnist -- --quick"),
            format!("{root} bench --bench cnn_layers -- --quick"),
        ]
    );
    // One part, with the bench's own arguments after `--`.
    std::fs::remove_file(dir.join("calls")).unwrap();
    let run = reproduce(&["reproduce", "tspc-mnist", "--", "--data", "/x"], &cargo, &checkout);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        calls(&dir),
        [format!("{root} bench --bench paper_mnist -- --quick --only tspc --data /x")]
    );
}

#[test]
fn a_failing_bench_fails_the_command() {
    let dir = folder("reproduce-fails");
    let cargo = fake_cargo(&dir, 101);
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = reproduce(&["reproduce", "musco"], &cargo, checkout);
    assert_eq!(run.code, 6, "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error: ") && last.contains("--only musco") && last.contains("101"),
        "{}",
        run.stderr
    );
    // A cargo that cannot be started: exit 3, and where to find the commands.
    let run = reproduce(&["reproduce", "musco"], &dir.join("no-cargo"), checkout);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("--print"), "{}", run.stderr);
}

#[test]
fn without_a_checkout_or_with_print_the_commands_are_printed() {
    let dir = folder("reproduce-print");
    let cargo = fake_cargo(&dir, 0);
    let run = reproduce(&["reproduce"], &cargo, &dir);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("No tensorize checkout"), "{}", run.stdout);
    for command in [
        "cargo bench --bench paper_tables",
        "cargo bench --bench paper_mnist -- --quick",
        "cargo bench --bench cnn_layers -- --quick",
    ] {
        assert!(run.stdout.lines().any(|l| l.trim() == command), "{command}: {}", run.stdout);
    }
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = reproduce(&["reproduce", "tnet", "--print"], &cargo, checkout);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("cargo bench --bench paper_mnist -- --quick --only tnet"));
    assert!(!dir.join("calls").exists(), "nothing may run without a checkout or with --print");
    let unknown = tensorize(&["reproduce", "nope"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("tnet"), "{}", unknown.stderr);
}
