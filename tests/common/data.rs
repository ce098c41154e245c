//! Where this repository's binary, tests and benches find data files: the first of
//! `$TENSORIZE_DATA`, `./data`, the repository's own `data/` (everything they need, committed)
//! and `../shared/data` beside it (a fallback) that holds the file.
//!
//! Included with `#[path = ...] mod` rather than living in the library, so that this checkout's
//! folders are compiled only into this repository's own programs, never into a user's binary.
//! The paths asked for are relative to a data folder (`digits/digits.csv.gz`,
//! `models/mnist_cnn.safetensors`, …), whatever the data set.

// Each program that includes this file uses part of it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tensorize::{Error, Result};

/// The environment variable that names a data folder searched before all others.
pub const DATA_ENV: &str = "TENSORIZE_DATA";

/// The folders searched, in order, when `$TENSORIZE_DATA` is `env`.
pub fn data_dirs_with(env: Option<OsString>) -> Vec<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = env.map(PathBuf::from).into_iter().collect();
    dirs.push(PathBuf::from("data"));
    dirs.push(repo.join("data"));
    dirs.push(repo.join("..").join("shared").join("data"));
    dirs
}

/// The folders searched, in order (see the file's documentation).
pub fn data_dirs() -> Vec<PathBuf> {
    data_dirs_with(std::env::var_os(DATA_ENV))
}

/// The first of `dirs` that holds the file `relative`.
///
/// # Errors
/// [`Error::Io`] for `relative`, naming every folder looked in and `TENSORIZE_DATA`.
pub fn find_in(dirs: &[PathBuf], relative: &str) -> Result<PathBuf> {
    dirs.iter().map(|d| d.join(relative)).find(|p| p.is_file()).ok_or_else(|| Error::Io {
        path: relative.to_string(),
        detail: format!(
            "not found in {:?}; set {DATA_ENV} to the folder that holds it",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>()
        ),
    })
}

/// The file `relative` in the first data folder that holds it.
///
/// # Errors
/// As [`find_in`] over [`data_dirs`].
pub fn find_data_file(relative: &str) -> Result<PathBuf> {
    find_in(&data_dirs(), relative)
}
