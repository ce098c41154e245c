//! Replays every committed fuzz seed and regression input (in `strict` mode: no comparison
//! skipped, see `check::skip_cancelling`) through the same entry points the
//! fuzz targets call (fuzz/entry_points.rs, included here as it is there), so plain
//! `cargo test` on stable catches a regression.

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../fuzz/entry_points.rs"]
mod entry_points;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let mut count = 0;
    for dir in ["seeds", "regressions"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&path) else { continue };
        for entry in entries {
            let file = entry.expect("readable fuzz directory").path();
            run(&std::fs::read(&file).expect("readable fuzz input"));
            count += 1;
        }
    }
    assert!(count > 0, "no seeds found for fuzz target {target}");
}

#[test]
fn npy_seeds() {
    replay("npy", entry_points::npy);
}

#[test]
fn shape_api_seeds() {
    replay("shape_api", entry_points::shape_api);
}

#[test]
fn safetensors_seeds() {
    replay("safetensors", entry_points::safetensors);
}

#[test]
fn nn_layers_seeds() {
    replay("nn_layers", entry_points::nn_layers);
}

#[test]
fn npz_seeds() {
    replay("npz", entry_points::npz);
}

#[test]
fn readers_seeds() {
    replay("readers", entry_points::readers);
}

#[test]
fn decompositions_seeds() {
    replay("decompositions", |d| entry_points::strict(|| entry_points::decompositions(d)));
}

#[test]
fn formats_seeds() {
    replay("formats", |d| entry_points::strict(|| entry_points::formats(d)));
}
