//! [`SafetensorsWriter`]: float tensors (stored as F32/F64/F16/BF16), raw pass-through tensors
//! and metadata, written atomically or to bytes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::atomic::{write_atomic, write_error};
use crate::io::dtype::{encode_into, Dtype};
use crate::io::safetensors::file::{RawTensor, SafetensorsFile};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

fn malformed(detail: impl Into<String>) -> Error {
    Error::Format { format: "safetensors", detail: detail.into() }
}

/// A float tensor of either precision, behind one interface.
trait FloatSource {
    fn shape(&self) -> &[usize];
    fn numel(&self) -> usize;
    /// Encodes elements `range` as `dtype` into `out`.
    fn encode(
        &self,
        name: &str,
        dtype: Dtype,
        range: std::ops::Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<()>;
}

impl<T: Scalar> FloatSource for Tensor<T> {
    fn shape(&self) -> &[usize] {
        Tensor::shape(self)
    }
    fn numel(&self) -> usize {
        Tensor::numel(self)
    }
    fn encode(
        &self,
        name: &str,
        dtype: Dtype,
        range: std::ops::Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let first = range.start;
        encode_into(name, dtype, &self.as_slice()[range], first, out)
    }
}

enum Source<'a> {
    Float(&'a dyn FloatSource, Dtype),
    Raw(RawTensor<'a>),
}

impl Source<'_> {
    fn dtype(&self) -> Dtype {
        match self {
            Source::Float(_, d) => *d,
            Source::Raw(r) => r.dtype(),
        }
    }
    fn shape(&self) -> &[usize] {
        match self {
            Source::Float(x, _) => x.shape(),
            Source::Raw(r) => r.shape(),
        }
    }
}

/// Builds a safetensors file from float tensors, raw tensors carried through and metadata, and
/// writes it atomically (a temporary file in the same folder, renamed when complete).
///
/// Tensors are laid out widest dtype first, then by name, so every tensor's data is aligned to
/// its element size; the header is padded to a multiple of 8 bytes.
///
/// ```
/// use tensorize::io::{Dtype, RawTensor, SafetensorsFile, SafetensorsWriter};
/// use tensorize::Tensor;
/// let dir = std::env::temp_dir().join(format!("tensorize-doc-stw-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("model.safetensors");
///
/// let w = Tensor::from_vec(&[2, 3], vec![0.5_f32, -1.0, 2.0, 0.25, 3.0, -0.75])?;
/// let ids: Vec<u8> = (0..3_i64).flat_map(i64::to_le_bytes).collect();
/// SafetensorsWriter::new()
///     .tensor("fc.weight", &w)                      // F32, as stored in memory
///     .tensor_as("fc.weight_half", &w, Dtype::F16)  // converted on request
///     .raw("position_ids", RawTensor::new(Dtype::I64, &[1, 3], &ids)?)
///     .metadata("format", "pt")
///     .write(&path)?;
///
/// let file = SafetensorsFile::open(&path)?;
/// assert_eq!(file.read::<f32>("fc.weight")?, w);
/// assert_eq!(file.raw("position_ids")?.data(), &ids[..]);
/// // Writing again is refused unless asked for.
/// assert!(SafetensorsWriter::new().tensor("w", &w).write(&path).is_err());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Default)]
pub struct SafetensorsWriter<'a> {
    entries: Vec<(String, Source<'a>)>,
    metadata: BTreeMap<String, String>,
    overwrite: bool,
    inputs: Vec<&'a Path>,
    pending: Option<Error>,
}

impl<'a> SafetensorsWriter<'a> {
    /// An empty writer: no tensors, no metadata, refusing to overwrite.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a float tensor stored as its own precision (`F32` for `f32`, `F64` for `f64`).
    pub fn tensor<T: Scalar>(self, name: &str, x: &'a Tensor<T>) -> Self {
        self.tensor_as(name, x, Dtype::of::<T>())
    }

    /// Adds a float tensor stored as `dtype`: `F16`, `BF16`, `F32` or `F64` (rounded to nearest;
    /// a finite value beyond the dtype's range is an error when writing, not an infinity).
    /// Another dtype makes the write fail with [`Error::Format`].
    pub fn tensor_as<T: Scalar>(mut self, name: &str, x: &'a Tensor<T>, dtype: Dtype) -> Self {
        if !dtype.is_float() && self.pending.is_none() {
            self.pending = Some(malformed(format!(
                "tensor {name:?}: cannot store floats as {dtype}; use F16, BF16, F32 or F64"
            )));
        }
        self.entries.push((name.to_string(), Source::Float(x, dtype)));
        self
    }

    /// Adds a tensor as bytes, written unchanged (an integer or bool tensor carried through).
    pub fn raw(mut self, name: &str, raw: RawTensor<'a>) -> Self {
        self.entries.push((name.to_string(), Source::Raw(raw)));
        self
    }

    /// Carries tensor `name` of `file` through unchanged, and protects `file`'s path from being
    /// written to (see [`input`](Self::input)).
    ///
    /// # Errors
    /// [`Error::TensorNotFound`] if `file` holds no such tensor.
    pub fn copy_from(self, file: &'a SafetensorsFile, name: &str) -> Result<Self> {
        let raw = file.raw(name)?;
        let this = self.raw(name, raw);
        Ok(match file.path() {
            Some(p) => this.input(p),
            None => this,
        })
    }

    /// Adds (or replaces) a `__metadata__` entry.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.insert(key.to_string(), value.to_string());
        self
    }

    /// Adds every entry of a metadata map (as [`SafetensorsFile::metadata`] gives it).
    pub fn metadata_map(mut self, map: &BTreeMap<String, String>) -> Self {
        self.metadata.extend(map.iter().map(|(k, v)| (k.clone(), v.clone())));
        self
    }

    /// Whether [`write`](Self::write) may replace an existing file (default: no).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// A file that is being read: [`write`](Self::write) refuses to write onto it, even with
    /// `overwrite`.
    pub fn input(mut self, path: &'a Path) -> Self {
        self.inputs.push(path);
        self
    }

    /// The header and the order the data is written in, after checking names and sizes.
    fn plan(&self) -> Result<(Vec<u8>, Vec<usize>)> {
        if let Some(e) = &self.pending {
            return Err(e.clone());
        }
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by(|&a, &b| {
            let (na, sa) = &self.entries[a];
            let (nb, sb) = &self.entries[b];
            sb.dtype().bits().cmp(&sa.dtype().bits()).then(na.cmp(nb))
        });
        let mut header = serde_json::Map::new();
        if !self.metadata.is_empty() {
            let map = self.metadata.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
            header.insert("__metadata__".to_string(), serde_json::Value::Object(map));
        }
        let mut offset = 0usize;
        for &k in &order {
            let (name, source) = &self.entries[k];
            if name == "__metadata__" {
                return Err(malformed("a tensor may not be named \"__metadata__\""));
            }
            let len = match source {
                Source::Float(x, d) => d.byte_len(x.numel()),
                Source::Raw(r) => Some(r.data().len()),
            }
            .ok_or_else(|| malformed(format!("tensor {name:?} is too large")))?;
            let end =
                offset.checked_add(len).ok_or_else(|| malformed("the tensors are too large"))?;
            let info = serde_json::json!({
                "dtype": source.dtype().name(),
                "shape": source.shape(),
                "data_offsets": [offset, end],
            });
            if header.insert(name.clone(), info).is_some() {
                return Err(malformed(format!("two tensors are named {name:?}")));
            }
            offset = end;
        }
        let mut text = serde_json::Value::Object(header).to_string().into_bytes();
        text.resize(text.len().div_ceil(8) * 8, b' ');
        let mut out = (text.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(&text);
        Ok((out, order))
    }

    /// Streams the file into `w`; `path` names it in I/O errors.
    fn write_to(
        &self,
        w: &mut dyn Write,
        path: &Path,
        header: &[u8],
        order: &[usize],
    ) -> Result<()> {
        const CHUNK: usize = 1 << 16;
        let io = write_error(path);
        w.write_all(header).map_err(&io)?;
        let mut buf = Vec::new();
        for &k in order {
            let (name, source) = &self.entries[k];
            match source {
                Source::Raw(r) => w.write_all(r.data()).map_err(&io)?,
                Source::Float(x, dtype) => {
                    let n = x.numel();
                    for start in (0..n).step_by(CHUNK) {
                        buf.clear();
                        x.encode(name, *dtype, start..(start + CHUNK).min(n), &mut buf)?;
                        w.write_all(&buf).map_err(&io)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The bytes of the file.
    ///
    /// # Errors
    /// [`Error::Format`] for two tensors of one name, a tensor named `__metadata__`, a float
    /// tensor asked to be stored as a non-float dtype, or a value beyond the range of its dtype.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (header, order) = self.plan()?;
        let mut out = Vec::new();
        self.write_to(&mut out, Path::new("<memory>"), &header, &order)?;
        Ok(out)
    }

    /// Writes the file to `path` atomically (see [`write_atomic`]).
    ///
    /// # Errors
    /// As [`to_bytes`](Self::to_bytes), checked before anything is written; as [`write_atomic`]:
    /// [`Error::OutputExists`] without [`overwrite`](Self::overwrite),
    /// [`Error::OutputIsInput`] for a path given to [`input`](Self::input) or
    /// [`copy_from`](Self::copy_from), [`Error::Io`] for a missing folder or a failed write — in
    /// every case the file at `path` is left as it was.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let (header, order) = self.plan()?;
        write_atomic(path, self.overwrite, &self.inputs, |w| {
            self.write_to(w, path, &header, &order)
        })
    }
}
