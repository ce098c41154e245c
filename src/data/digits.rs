//! scikit-learn's digits (UCI optdigits test set): 1797 images of 8×8 pixels valued 0..=16.
//! Shipped with the crate in `data/digits/` (BSD-3-Clause, see `data/digits/COPYING`).

use std::path::Path;

use super::read_gz;
use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Where the digits file sits in a data folder laid out like this repository's `data/`.
pub const DIGITS_FILE: &str = "digits/digits.csv.gz";

/// The digits data set: images and their labels.
#[derive(Clone, Debug)]
pub struct Digits<T> {
    /// Pixel intensities 0..=16, shape `[n, 8, 8]`.
    pub images: Tensor<T>,
    /// The digit each image shows, 0..=9.
    pub labels: Vec<u8>,
}

/// Loads the gzip-compressed digits CSV at `path` (in this repository, `data/` +
/// [`DIGITS_FILE`]).
///
/// ```
/// let d = tensorize::data::load_digits::<f32>("data/digits/digits.csv.gz")?;
/// assert_eq!(d.images.shape(), &[1797, 8, 8]);
/// assert_eq!(d.labels.len(), 1797);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming `path` if the file is missing or unreadable; [`Error::Format`] if a row is malformed.
pub fn load_digits<T: Scalar>(path: impl AsRef<Path>) -> Result<Digits<T>> {
    parse_digits_csv(&read_gz(path.as_ref())?)
}

/// Parses the digits CSV: each line holds 64 pixel values then the label, comma separated.
///
/// # Errors
/// [`Error::Format`] naming the line and what is wrong with it.
pub fn parse_digits_csv<T: Scalar>(text: &[u8]) -> Result<Digits<T>> {
    let text = std::str::from_utf8(text)
        .map_err(|_| Error::Format { format: "digits csv", detail: "not UTF-8 text".into() })?;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (line_no, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |detail: String| Error::Format {
            format: "digits csv",
            detail: format!("line {}: {detail}", line_no + 1),
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(bad(format!("{} fields, expected 65", fields.len())));
        }
        for f in &fields[..64] {
            let v: u8 = f.parse().map_err(|_| bad(format!("pixel {f:?} is not a number")))?;
            if v > 16 {
                return Err(bad(format!("pixel {v} is outside 0..=16")));
            }
            pixels.push(T::of(v as f64));
        }
        let label: u8 = fields[64].parse().map_err(|_| bad(format!("label {:?}", fields[64])))?;
        if label > 9 {
            return Err(bad(format!("label {label} is outside 0..=9")));
        }
        labels.push(label);
    }
    let images = Tensor::from_vec(&[labels.len(), 8, 8], pixels)?;
    // A file without a single sample is a mistake, not an empty dataset.
    images.check_nonempty()?;
    Ok(Digits { images, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let row = format!("{},3\n", vec!["16"; 64].join(","));
        let d = parse_digits_csv::<f64>(row.as_bytes()).unwrap();
        assert_eq!((d.images.shape(), d.labels[0]), (&[1, 8, 8][..], 3));
        assert!(parse_digits_csv::<f64>(b"1,2,3\n").is_err());
        let bad = format!("{},3\n", vec!["17"; 64].join(","));
        assert!(matches!(parse_digits_csv::<f64>(bad.as_bytes()), Err(Error::Format { .. })));
        assert!(matches!(parse_digits_csv::<f64>(b""), Err(Error::ZeroDimension { .. })));
    }
}
