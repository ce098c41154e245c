//! The repository's data lookup (tests/common/data.rs) and the library's path-taking loaders:
//! the search order, the first folder holding a file wins, a missing file's error names every
//! place looked in, the committed data matches data/SHA256SUMS, and the committed digits are
//! found on any checkout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/data.rs"]
mod data_files;

use std::path::{Path, PathBuf};

use data_files::{data_dirs_with, find_data_file, find_in};
use tensorize::data::{load_digits, MnistCnn, DIGITS_FILE};
use tensorize::Error;

/// Every file listed in data/SHA256SUMS is committed and unchanged.
#[test]
fn the_committed_data_matches_its_checksums() {
    use sha2::{Digest, Sha256};
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let sums = std::fs::read_to_string(data.join("SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (want, name) = line.split_once("  ").expect("sha256sum's two-space format");
        let bytes = std::fs::read(data.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want, "{name} differs from data/SHA256SUMS");
        checked += 1;
    }
    // The digits, MNIST (both splits and the 1000-image cut) and the CNN, with their licenses.
    assert!(checked >= 12, "only {checked} files listed");
}

#[test]
fn the_committed_digits_are_found_and_load() {
    let path = find_data_file(DIGITS_FILE).unwrap();
    let d = load_digits::<f64>(&path).unwrap();
    assert_eq!(d.images.shape(), &[1797, 8, 8]);
    assert_eq!(d.labels.len(), 1797);
    assert!(d.labels.iter().all(|&l| l <= 9));
}

#[test]
fn search_order_is_env_then_data_then_the_repository_then_shared() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixed =
        vec![PathBuf::from("data"), repo.join("data"), repo.join("..").join("shared").join("data")];
    assert_eq!(data_dirs_with(None), fixed);
    let with_env = data_dirs_with(Some("/somewhere/else".into()));
    assert_eq!(with_env[0], Path::new("/somewhere/else"));
    assert_eq!(with_env[1..], fixed[..]);
}

#[test]
fn the_first_folder_holding_the_file_wins() {
    let root = std::env::temp_dir().join(format!("tensorize-data-lookup-{}", std::process::id()));
    let dirs: Vec<PathBuf> = ["a", "b", "c"].iter().map(|d| root.join(d)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d.join("models")).unwrap();
    }
    for d in &dirs[1..] {
        std::fs::write(d.join("models").join("net.bin"), b"x").unwrap();
    }
    let found = find_in(&dirs, "models/net.bin");
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(found.unwrap(), dirs[1].join("models").join("net.bin"));
}

#[test]
fn a_missing_file_names_every_place_looked_in_and_the_variable() {
    let dirs = data_dirs_with(Some("/no/such/folder".into()));
    let err = find_in(&dirs, "mnist/none.idx.gz").unwrap_err();
    let Error::Io { path, detail } = &err else { panic!("expected Error::Io, got {err:?}") };
    assert_eq!(path, "mnist/none.idx.gz");
    for d in &dirs {
        assert!(detail.contains(&d.display().to_string()), "{d:?} missing from {detail:?}");
    }
    assert!(detail.contains("TENSORIZE_DATA"), "{detail}");
}

#[test]
fn loaders_name_a_missing_path() {
    let missing = Path::new("no/such/folder/file.gz");
    for err in
        [load_digits::<f32>(missing).unwrap_err(), MnistCnn::<f32>::load(missing).unwrap_err()]
    {
        assert!(
            matches!(&err, Error::Io { path, .. } if path == "no/such/folder/file.gz"),
            "{err:?}"
        );
    }
}
