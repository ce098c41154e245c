//! safetensors files (the Hugging Face / PyTorch weight format) holding `F32`/`F64` tensors.
//!
//! A safetensors file is an 8-byte little-endian header length, a JSON header naming each tensor's
//! dtype, shape and byte range, then the raw little-endian row-major data. Parsing and validation
//! (overlapping or out-of-range byte ranges, oversized headers) are done by the `safetensors` crate;
//! this module converts to and from [`Tensor`].

use std::borrow::Cow;
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView, View};

use crate::error::{Error, Result};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn malformed(detail: impl Into<String>) -> Error {
    Error::Format { format: "safetensors", detail: detail.into() }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Io { path: path.display().to_string(), detail: e.to_string() }
}

/// Reads every `F32`/`F64` tensor of a safetensors file as `T` (converting if needed), sorted by name.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Format`] if it is not a valid safetensors
/// file or holds a tensor of another dtype (named in the message).
pub fn read_safetensors<T: Scalar>(path: impl AsRef<Path>) -> Result<Vec<(String, Tensor<T>)>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    parse_safetensors(&bytes)
}

/// Parses the bytes of a safetensors file: every tensor, as `T`, sorted by name.
///
/// # Errors
/// [`Error::Format`] if the bytes are not a valid safetensors file or a tensor is not `F32`/`F64`.
pub fn parse_safetensors<T: Scalar>(bytes: &[u8]) -> Result<Vec<(String, Tensor<T>)>> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| malformed(e.to_string()))?;
    let mut out = file
        .iter()
        .map(|(name, view)| Ok((name.to_string(), tensor_from_view(name, &view)?)))
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Reads one named tensor of a safetensors file as `T`.
///
/// # Errors
/// As [`read_safetensors`]; a missing name is an [`Error::Format`] that lists the names present.
pub fn read_safetensor<T: Scalar>(path: impl AsRef<Path>, name: &str) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| malformed(e.to_string()))?;
    let view = file.tensor(name).map_err(|_| {
        let mut names = file.names();
        names.sort_unstable();
        malformed(format!("{}: no tensor named {name:?}; it holds {names:?}", path.display()))
    })?;
    tensor_from_view(name, &view)
}

fn tensor_from_view<T: Scalar>(name: &str, view: &TensorView<'_>) -> Result<Tensor<T>> {
    let data = view.data();
    let values: Vec<T> = match view.dtype() {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| T::of(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| T::of(f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])))
            .collect(),
        other => {
            return Err(malformed(format!(
                "tensor {name:?} has dtype {other:?}; only F32 and F64 are supported"
            )));
        }
    };
    Tensor::from_vec(view.shape(), values)
}

/// A tensor as the safetensors crate's [`View`]: dtype from `T`, little-endian bytes.
struct TensorBytes {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl TensorBytes {
    fn new<T: Scalar>(x: &Tensor<T>) -> Self {
        let (dtype, bytes) = if std::mem::size_of::<T>() == 4 {
            let b = x.as_slice().iter().flat_map(|v| (v.as_f64() as f32).to_le_bytes()).collect();
            (Dtype::F32, b)
        } else {
            (Dtype::F64, x.as_slice().iter().flat_map(|v| v.as_f64().to_le_bytes()).collect())
        };
        TensorBytes { dtype, shape: x.shape().to_vec(), bytes }
    }
}

impl View for &TensorBytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
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
/// [`Error::Format`] if two tensors share a name.
pub fn safetensors_bytes<T: Scalar>(tensors: &[(&str, &Tensor<T>)]) -> Result<Vec<u8>> {
    let owned: Vec<(&str, TensorBytes)> =
        tensors.iter().map(|(name, x)| (*name, TensorBytes::new(x))).collect();
    let mut names: Vec<&str> = owned.iter().map(|(n, _)| *n).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(malformed(format!("two tensors are named {:?}", w[0])));
    }
    safetensors::tensor::serialize(owned.iter().map(|(n, t)| (*n, t)), None)
        .map_err(|e| malformed(e.to_string()))
}

/// Writes the named tensors as a safetensors file.
///
/// # Errors
/// [`Error::Io`] if the file cannot be written; as [`safetensors_bytes`] otherwise.
pub fn write_safetensors<T: Scalar>(
    path: impl AsRef<Path>,
    tensors: &[(&str, &Tensor<T>)],
) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, safetensors_bytes(tensors)?).map_err(|e| io_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ints = TensorBytes { dtype: Dtype::I32, shape: vec![1], bytes: vec![0; 4] };
        let bytes = safetensors::tensor::serialize([("i", &ints)], None).unwrap();
        let err = parse_safetensors::<f32>(&bytes).unwrap_err();
        assert!(err.to_string().contains("I32"), "{err}");
    }
}
