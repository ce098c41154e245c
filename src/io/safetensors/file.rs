//! [`SafetensorsFile`]: a safetensors file opened once (memory-mapped, header parsed and
//! validated), from which single tensors are read by name, converted or raw.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use safetensors::tensor::SafeTensors;

use crate::error::{try_vec_with_capacity, Error, Result};
use crate::io::dtype::{decode_into, Dtype};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// The dtype, shape and size of one stored tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The element type.
    pub dtype: Dtype,
    /// The shape (row-major).
    pub shape: Vec<usize>,
    /// The bytes of its data in the file.
    pub byte_len: usize,
}

/// A stored tensor as bytes: its dtype, shape and little-endian row-major data, borrowed (from a
/// [`SafetensorsFile`] or a caller's buffer). This is how integer, bool and other non-float
/// tensors are carried through to an output unchanged ([`SafetensorsWriter::raw`](crate::io::SafetensorsWriter::raw)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTensor<'a> {
    dtype: Dtype,
    shape: Vec<usize>,
    data: &'a [u8],
}

impl<'a> RawTensor<'a> {
    /// A raw tensor of `dtype` and `shape` over `data`.
    ///
    /// ```
    /// use tensorize::io::{Dtype, RawTensor};
    /// let ids: Vec<u8> = (0..4_i64).flat_map(i64::to_le_bytes).collect();
    /// let raw = RawTensor::new(Dtype::I64, &[1, 4], &ids)?;
    /// assert_eq!(raw.shape(), &[1, 4]);
    /// assert!(RawTensor::new(Dtype::I64, &[1, 5], &ids).is_err());
    /// # Ok::<(), tensorize::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Format`] if `data` does not hold exactly the bytes of `shape` in `dtype`.
    pub fn new(dtype: Dtype, shape: &[usize], data: &'a [u8]) -> Result<Self> {
        let numel = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let expected = numel.and_then(|n| dtype.byte_len(n));
        if expected != Some(data.len()) {
            return Err(Error::Format {
                format: "safetensors",
                detail: format!(
                    "a {dtype} tensor of shape {shape:?} does not take {} bytes",
                    data.len()
                ),
            });
        }
        Ok(RawTensor { dtype, shape: shape.to_vec(), data })
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The little-endian row-major bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }
}

/// Where the file's bytes live: a read-only memory map, or a buffer (bytes given in memory, or
/// an empty file, which cannot be mapped).
enum Storage {
    Map(memmap2::Mmap),
    Bytes(Vec<u8>),
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Storage::Map(m) => m,
            Storage::Bytes(b) => b,
        }
    }
}

struct Entry {
    name: String,
    info: TensorInfo,
    /// Byte range of the data within the whole file.
    start: usize,
}

/// A safetensors file opened for reading: memory-mapped, its header parsed and validated once.
///
/// Reading one tensor touches only that tensor's bytes, so a multi-GB checkpoint is neither
/// copied nor read whole. Tensors of every dtype are listed; `F16`, `BF16`, `F32` and `F64` ones
/// read into a [`Tensor<T>`] ([`read`](Self::read)); any one is available as bytes
/// ([`raw`](Self::raw)) to be carried through to an output unchanged.
///
/// The header is checked before anything is returned: header length within the file, UTF-8
/// JSON of at most 100 MB, byte ranges that tile the data exactly (no overlap, no gap, none out
/// of range), and each byte length equal to the dtype's width times the shape's elements.
///
/// ```
/// use tensorize::io::{Dtype, SafetensorsFile, SafetensorsWriter};
/// use tensorize::Tensor;
/// let w = Tensor::from_vec(&[2, 2], vec![1.0_f32, 2.0, 3.0, 4.0])?;
/// let bytes = SafetensorsWriter::new()
///     .tensor_as("w", &w, Dtype::BF16)
///     .metadata("format", "pt")
///     .to_bytes()?;
/// let file = SafetensorsFile::from_bytes(bytes)?;
/// assert_eq!(file.names().collect::<Vec<_>>(), ["w"]);
/// assert_eq!(file.info("w")?.dtype, Dtype::BF16);
/// assert_eq!(file.metadata()["format"], "pt");
/// assert_eq!(file.read::<f64>("w")?.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
/// # Ok::<(), tensorize::Error>(())
/// ```
pub struct SafetensorsFile {
    path: Option<PathBuf>,
    storage: Storage,
    /// Sorted by name.
    entries: Vec<Entry>,
    metadata: BTreeMap<String, String>,
}

impl std::fmt::Debug for SafetensorsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafetensorsFile")
            .field("path", &self.path)
            .field("tensors", &self.entries.len())
            .field("metadata", &self.metadata)
            .finish()
    }
}

impl SafetensorsFile {
    /// Opens and memory-maps `path` (read-only) and parses its header.
    ///
    /// The map assumes the file is not changed by another process while it is open (the
    /// library's own writers never write into an existing file: they replace it by a rename).
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` if it cannot be opened or mapped; [`Error::Format`] naming
    /// `path` and what is wrong if it is not a valid safetensors file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let storage = if len == 0 {
            Storage::Bytes(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this value; the library never
            // modifies a file in place, and the type's documentation states that the file must
            // not be changed by others while it is open (as every memory-mapping reader does).
            Storage::Map(unsafe { memmap2::Mmap::map(&file) }.map_err(io)?)
        };
        Self::parse(Some(path.to_path_buf()), storage)
    }

    /// Parses a safetensors file held in memory.
    ///
    /// # Errors
    /// [`Error::Format`] if `bytes` are not a valid safetensors file.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::parse(None, Storage::Bytes(bytes))
    }

    fn parse(path: Option<PathBuf>, storage: Storage) -> Result<Self> {
        let where_ = |detail: String| match &path {
            Some(p) => format!("{}: {detail}", p.display()),
            None => detail,
        };
        let malformed =
            |detail: String| Error::Format { format: "safetensors", detail: where_(detail) };
        let bytes = storage.bytes();
        let (header_len, meta) =
            SafeTensors::read_metadata(bytes).map_err(|e| malformed(describe(&e, bytes.len())))?;
        let data_start = 8 + header_len;
        let mut entries = Vec::new();
        for (name, info) in meta.tensors() {
            let dtype: Dtype = info.dtype.to_string().parse().map_err(|_| {
                malformed(format!(
                    "tensor {name:?} has dtype {}, which is not supported",
                    info.dtype
                ))
            })?;
            let (s, e) = info.data_offsets;
            entries.push(Entry {
                info: TensorInfo { dtype, shape: info.shape.clone(), byte_len: e - s },
                start: data_start + s,
                name,
            });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let metadata = meta.metadata().clone().unwrap_or_default().into_iter().collect();
        Ok(SafetensorsFile { path, storage, entries, metadata })
    }

    /// The path the file was opened from (`None` for bytes in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The names of the stored tensors, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// The number of stored tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file holds no tensor.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `__metadata__` string map of the header (empty if there is none).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        match self.entries.binary_search_by(|e| e.name.as_str().cmp(name)) {
            Ok(k) => Ok(&self.entries[k]),
            Err(_) => Err(Error::TensorNotFound {
                path: self.label(),
                name: name.to_string(),
                available: self.names().map(str::to_string).collect(),
            }),
        }
    }

    fn label(&self) -> String {
        self.path
            .as_ref()
            .map_or_else(|| "<safetensors bytes>".to_string(), |p| p.display().to_string())
    }

    /// The dtype, shape and byte length of tensor `name`.
    ///
    /// # Errors
    /// [`Error::TensorNotFound`] (listing the names present) if there is no such tensor.
    pub fn info(&self, name: &str) -> Result<&TensorInfo> {
        Ok(&self.entry(name)?.info)
    }

    /// Tensor `name`'s bytes, as stored, to carry it through unchanged. No copy.
    ///
    /// # Errors
    /// [`Error::TensorNotFound`] if there is no such tensor.
    pub fn raw(&self, name: &str) -> Result<RawTensor<'_>> {
        let e = self.entry(name)?;
        // In range: the header was validated against the file's length.
        let data = self.storage.bytes().get(e.start..e.start + e.info.byte_len).unwrap_or(&[]);
        Ok(RawTensor { dtype: e.info.dtype, shape: e.info.shape.clone(), data })
    }

    /// Reads tensor `name` into a `Tensor<T>`, converting from `F16`, `BF16`, `F32` or `F64`
    /// (only this tensor's bytes are read).
    ///
    /// # Errors
    /// [`Error::TensorNotFound`] if there is no such tensor; [`Error::Format`] naming the file,
    /// the tensor and its dtype if it is not a float tensor; [`Error::OutOfMemory`] if its
    /// values cannot be allocated.
    pub fn read<T: Scalar>(&self, name: &str) -> Result<Tensor<T>> {
        let raw = self.raw(name)?;
        let shape = raw.shape();
        let not_float = || Error::Format {
            format: "safetensors",
            detail: format!(
                "{}: tensor {name:?} has dtype {}; only F16, BF16, F32 and F64 read as floats \
                 (use raw() to carry it through)",
                self.label(),
                raw.dtype
            ),
        };
        if !raw.dtype.is_float() {
            return Err(not_float());
        }
        let numel = raw.data.len() * 8 / raw.dtype.bits();
        let mut values: Vec<T> = try_vec_with_capacity(shape, numel)?;
        decode_into(raw.dtype, raw.data, &mut values).ok_or_else(not_float)?;
        Tensor::from_vec(shape, values)
    }

    /// Reads every tensor as `T`, sorted by name.
    ///
    /// # Errors
    /// As [`read`](Self::read), for the first tensor that is not a float tensor.
    pub fn read_all<T: Scalar>(&self) -> Result<Vec<(String, Tensor<T>)>> {
        self.names().map(|n| Ok((n.to_string(), self.read(n)?))).collect()
    }
}

/// The safetensors crate's error, with the file's length where it helps.
fn describe(e: &safetensors::SafeTensorError, file_len: usize) -> String {
    use safetensors::SafeTensorError as E;
    match e {
        E::HeaderTooSmall => format!("{file_len} bytes are too few for the 8-byte header length"),
        E::InvalidHeaderLength => {
            format!("the header length runs beyond the end of the file ({file_len} bytes)")
        }
        E::HeaderTooLarge => "the header is larger than 100 MB".to_string(),
        E::InvalidHeader(_) => "the header is not UTF-8".to_string(),
        E::MetadataIncompleteBuffer => {
            format!("the tensors' byte ranges do not end at the end of the file ({file_len} bytes)")
        }
        E::InvalidOffset(name) => format!(
            "tensor {name:?}: its byte range overlaps another, leaves a gap or lies out of range"
        ),
        E::TensorInvalidInfo => {
            "a tensor's byte range does not match its dtype and shape".to_string()
        }
        other => other.to_string(),
    }
}
