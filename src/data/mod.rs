//! Real data sets for examples, tests and benches: where they are found, and their loaders.

mod digits;
mod mnist_cnn;

pub use digits::{load_digits, parse_digits_csv, Digits};
pub use mnist_cnn::{MnistCnn, MNIST_CNN_FILE};

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The folders searched for data files, in order: `$TENSORIZE_DATA`, `./data`, the crate's own
/// `data/` (small embedded files), and `../shared/data` beside the crate (the large ones).
pub fn data_dirs() -> Vec<PathBuf> {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("TENSORIZE_DATA") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("data"));
    dirs.push(crate_dir.join("data"));
    dirs.push(crate_dir.join("..").join("shared").join("data"));
    dirs
}

/// The first existing file `relative` (e.g. `"digits/digits.csv.gz"`) under [`data_dirs`].
///
/// # Errors
/// [`Error::Io`] naming every place looked in, and how to point `TENSORIZE_DATA` at the data.
pub fn find_data_file(relative: &str) -> Result<PathBuf> {
    let dirs = data_dirs();
    dirs.iter().map(|d| d.join(relative)).find(|p| p.is_file()).ok_or_else(|| Error::Io {
        path: relative.to_string(),
        detail: format!(
            "not found in {:?}; set TENSORIZE_DATA to the folder that holds it",
            dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>()
        ),
    })
}

/// Reads a whole gzip-compressed file.
pub(crate) fn read_gz(path: &std::path::Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io_err =
        |e: std::io::Error| Error::Io { path: path.display().to_string(), detail: e.to_string() };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut out).map_err(io_err)?;
    Ok(out)
}
