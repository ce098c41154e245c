//! Loaders for real data sets (the digits, MNIST-format IDX image sets, the pretrained MNIST
//! CNN), each from a path the caller gives: the library does not search for files, so no build
//! machine's folders end up in a user's binary. This repository commits all three under `data/`
//! (licenses and SHA256SUMS beside them); its binary, tests and benches find them with
//! `tests/common/data.rs` (`$TENSORIZE_DATA`, then `data/`, then `../shared/data`).

mod digits;
mod mnist;
mod mnist_cnn;

pub use digits::{load_digits, parse_digits_csv, Digits, DIGITS_FILE};
pub use mnist::{Mnist, MnistDataset, MnistSplit, MNIST_DIR, MNIST_NORMALIZATION};
pub use mnist_cnn::{MnistCnn, MNIST_CNN_FILE};

use std::path::Path;

use crate::error::{Error, Result};

/// Reads a whole gzip-compressed file.
pub(crate) fn read_gz(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let io_err =
        |e: std::io::Error| Error::Io { path: path.display().to_string(), detail: e.to_string() };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file).read_to_end(&mut out).map_err(io_err)?;
    Ok(out)
}
