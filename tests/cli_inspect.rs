//! `tensorize inspect`: every tensor of a checkpoint written here (float, I64, bool) listed with
//! its shape, dtype and parameters; the spectrum summary for matrices and kernels only; totals;
//! the same as JSON; a missing or corrupt file is exit code 3 on one line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/cli.rs"]
mod cli;

use cli::{checkpoint, folder, tensorize};

#[test]
fn text_lists_every_tensor_and_the_totals() {
    let dir = folder("inspect-text");
    let file = dir.join("model.safetensors");
    let total = checkpoint(&file);
    let run = tensorize(&["inspect", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for line in ["| position_ids | I64 | [1, 16] | 16 |", "| mask | BOOL | [16] | 16 |  |  |  |"] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
    let fc = run.stdout.lines().find(|l| l.starts_with("| blocks.0.fc.weight |")).unwrap();
    assert!(fc.contains("| F32 | [48, 32] | 1536 |"), "{fc}");
    // Rank 4 plus 1% noise: EVBMF finds the 4 components.
    assert!(fc.ends_with("| 4 |"), "{fc}");
    assert!(
        run.stdout.contains(&format!("total: 7 tensors, {total} parameters")),
        "{}",
        run.stdout
    );
}

#[test]
fn json_has_the_same_numbers() {
    let dir = folder("inspect-json");
    let file = dir.join("model.safetensors");
    let total = checkpoint(&file);
    let run = tensorize(&["inspect", file.to_str().unwrap(), "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let tensors = v["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 7);
    let sum: u64 = tensors.iter().map(|t| t["params"].as_u64().unwrap()).sum();
    assert_eq!(sum, total as u64);
    assert_eq!(v["totals"]["params"], total as u64);
    assert_eq!(v["totals"]["matrices"], 3);
    for t in tensors {
        let has = t.get("spectrum").is_some();
        let shape_len = t["shape"].as_array().unwrap().len();
        let float = t["dtype"].as_str().unwrap().starts_with('F');
        assert_eq!(has, float && (shape_len == 2 || shape_len == 4), "{t}");
    }
    let fc = tensors.iter().find(|t| t["name"] == "blocks.1.fc.weight").unwrap();
    assert_eq!(fc["spectrum"]["evbmf_rank"], 4);
    // Energy at rank 3 (a tenth of 32) is below that at rank 8 (a quarter), which holds nearly all.
    let energy = fc["spectrum"]["energy"].as_array().unwrap();
    let e = |k: usize| energy[k]["energy"].as_f64().unwrap();
    assert!(e(0) < e(1) && e(1) > 0.99 && e(2) <= 1.0 + 1e-12, "{energy:?}");
    let stable = fc["spectrum"]["stable_rank"].as_f64().unwrap();
    assert!((1.0..=4.0).contains(&stable), "{stable}");
}

#[test]
fn missing_and_corrupt_files_are_input_errors() {
    let dir = folder("inspect-bad");
    let missing = dir.join("missing.safetensors");
    let run = tensorize(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: ") && run.stderr.contains("missing.safetensors"));
    let file = dir.join("model.safetensors");
    checkpoint(&file);
    let bytes = std::fs::read(&file).unwrap();
    let corrupt = dir.join("corrupt.safetensors");
    std::fs::write(&corrupt, &bytes[..bytes.len() - 10]).unwrap();
    let run = tensorize(&["inspect", corrupt.to_str().unwrap()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("corrupt.safetensors"), "{}", run.stderr);
}
