//! safetensors files (the Hugging Face / PyTorch weight format): [`SafetensorsFile`] reads
//! (memory-mapped, one tensor at a time), [`SafetensorsWriter`] writes (atomically); the
//! functions here are the short forms for files of float tensors.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each
//! tensor's dtype, shape and byte range (and an optional `__metadata__` string map), then the raw
//! little-endian row-major data. The header is parsed and validated by the `safetensors` crate.

mod file;
mod writer;

use std::path::Path;

use crate::error::Result;
use crate::scalar::Scalar;
use crate::tensor::Tensor;

pub use file::{RawTensor, SafetensorsFile, TensorInfo};
pub use writer::SafetensorsWriter;

/// Reads every tensor of a safetensors file as `T` (converting from `F16`, `BF16`, `F32` or
/// `F64`), sorted by name.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) if the file cannot be read; [`Error::Format`](crate::Error::Format)
/// naming the file if it is not a valid safetensors file or holds a tensor of another dtype
/// (named in the message; use [`SafetensorsFile`] to skip or carry such tensors through).
pub fn read_safetensors<T: Scalar>(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor<T>)>> {
    SafetensorsFile::open(path)?.read_all()
}

/// Parses the bytes of a safetensors file: every tensor, as `T`, sorted by name.
///
/// # Errors
/// [`Error::Format`](crate::Error::Format) if the bytes are not a valid safetensors file or a
/// tensor is not a float tensor.
pub fn parse_safetensors<T: Scalar>(bytes: &[u8]) -> Result<Vec<(String, Tensor<T>)>> {
    SafetensorsFile::from_bytes(bytes.to_vec())?.read_all()
}

/// Reads one named tensor of a safetensors file as `T`; only its bytes are read.
///
/// # Errors
/// As [`read_safetensors`]; a missing name is [`Error::TensorNotFound`](crate::Error::TensorNotFound),
/// which lists the names present.
pub fn read_safetensor<T: Scalar>(path: impl AsRef<Path>, name: &str) -> Result<Tensor<T>> {
    SafetensorsFile::open(path)?.read(name)
}

/// The bytes of a safetensors file holding the named tensors (`F32` for `f32`, `F64` for `f64`).
///
/// ```
/// use tensorize::{io, Tensor};
/// let w = Tensor::from_vec(&[2, 3], vec![1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let b = Tensor::from_vec(&[2], vec![0.5_f32, -0.5])?;
/// let bytes = io::safetensors_bytes(&[("fc.weight", &w), ("fc.bias", &b)])?;
/// let back: Vec<(String, Tensor<f32>)> = io::parse_safetensors(&bytes)?;
/// assert_eq!(back, vec![("fc.bias".to_string(), b), ("fc.weight".to_string(), w)]);
/// # Ok::<(), tensorize::Error>(())
/// ```
///
/// # Errors
/// [`Error::Format`](crate::Error::Format) if two tensors share a name.
pub fn safetensors_bytes<T: Scalar>(tensors: &[(&str, &Tensor<T>)]) -> Result<Vec<u8>> {
    tensors.iter().fold(SafetensorsWriter::new(), |w, (n, x)| w.tensor(n, x)).to_bytes()
}

/// Writes the named tensors as a safetensors file (`F32` for `f32`, `F64` for `f64`),
/// atomically, replacing an existing file (use [`SafetensorsWriter`] to refuse that, to store
/// half precision or to add metadata).
///
/// # Errors
/// As [`safetensors_bytes`]; [`Error::Io`](crate::Error::Io) if the folder is missing or the
/// file cannot be written (an existing file is then left as it was).
pub fn write_safetensors<T: Scalar>(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor<T>)],
) -> Result<()> {
    tensors
        .iter()
        .fold(SafetensorsWriter::new(), |w, (n, x)| w.tensor(n, x))
        .overwrite(true)
        .write(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::io::dtype::Dtype;

    #[test]
    fn round_trip_and_conversion() {
        let x =
            Tensor::from_fn(&[2, 3, 4], |i| (i[0] * 12 + i[1] * 4 + i[2]) as f64 * 0.25).unwrap();
        let bytes = safetensors_bytes(&[("x", &x)]).unwrap();
        let back64: Vec<(String, Tensor<f64>)> = parse_safetensors(&bytes).unwrap();
        assert_eq!(back64[0].1, x);
        let back32: Vec<(String, Tensor<f32>)> = parse_safetensors(&bytes).unwrap();
        assert_eq!(back32[0].1.as_slice()[5], 1.25_f32);
    }

    #[test]
    fn rejects_duplicates_garbage_and_other_dtypes() {
        let x = Tensor::<f32>::zeros(&[2]).unwrap();
        assert!(matches!(safetensors_bytes(&[("a", &x), ("a", &x)]), Err(Error::Format { .. })));
        assert!(matches!(parse_safetensors::<f32>(b"not a file"), Err(Error::Format { .. })));
        let bytes = SafetensorsWriter::new()
            .raw("i", RawTensor::new(Dtype::I32, &[1], &[0; 4]).unwrap())
            .to_bytes()
            .unwrap();
        let err = parse_safetensors::<f32>(&bytes).unwrap_err();
        assert!(err.to_string().contains("I32"), "{err}");
        let file = SafetensorsFile::from_bytes(bytes).unwrap();
        assert_eq!(file.raw("i").unwrap().data(), &[0; 4]);
        assert!(matches!(file.read::<f32>("j"), Err(Error::TensorNotFound { .. })));
    }
}
