//! [`LayerReader`]: a safetensors file of saved entries, read back entry by entry (only the
//! factors of the entries asked for are read), with errors naming the file, the key or tensor.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::layers::keys;
use crate::io::layers::model;
use crate::io::layers::stored::Stored;
use crate::io::safetensors::SafetensorsFile;
use crate::nn::{Layer, Sequential};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// A file written by [`crate::io::LayerWriter`] (or by another tool following
/// `docs/formats.md`), opened once (memory-mapped).
///
/// ```
/// use tensorize::io::{LayerReader, LayerWriter};
/// use tensorize::nn::{Conv2d, Layer, Tucker2Conv};
/// use tensorize::Tensor;
/// let conv = Conv2d::new(Tensor::<f32>::random_normal(&[8, 6, 3, 3], 1)?, None)?.with_padding([1, 1])?;
/// let t2 = Tucker2Conv::from_conv(&conv, 4, 3)?;
/// let mut out = LayerWriter::new();
/// out.add_layer("conv2", &t2)?;
/// let file = LayerReader::from_bytes(out.to_bytes()?)?;
/// assert_eq!(file.entries(), vec!["conv2".to_string()]);
/// assert_eq!(file.format("conv2")?, "tucker2-conv");
/// let back = file.load_layer::<f32>("conv2")?;
/// let x = Tensor::random_normal(&[1, 6, 5, 5], 2)?;
/// assert_eq!(back.forward(&x)?, t2.forward(&x)?);
/// # Ok::<(), tensorize::Error>(())
/// ```
#[derive(Debug)]
pub struct LayerReader {
    file: SafetensorsFile,
}

impl LayerReader {
    /// Opens the safetensors file at `path`.
    ///
    /// # Errors
    /// As [`SafetensorsFile::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self { file: SafetensorsFile::open(path)? })
    }

    /// The file held in `bytes`.
    ///
    /// # Errors
    /// As [`SafetensorsFile::from_bytes`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Ok(Self { file: SafetensorsFile::from_bytes(bytes)? })
    }

    /// Wraps a file already open (e.g. to read the other tensors of a checkpoint too).
    pub fn from_file(file: SafetensorsFile) -> Self {
        Self { file }
    }

    /// The underlying safetensors file.
    pub fn file(&self) -> &SafetensorsFile {
        &self.file
    }

    /// The file's path, or `<safetensors bytes>`, for messages.
    pub fn label(&self) -> String {
        self.file
            .path()
            .map_or_else(|| "<safetensors bytes>".to_string(), |p| p.display().to_string())
    }

    /// The names of the entries (every `<name>` with a `<name>.format` key), sorted.
    pub fn entries(&self) -> Vec<String> {
        self.file
            .metadata()
            .keys()
            .filter_map(|k| k.strip_suffix(".format"))
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The file-wide metadata value of `key`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent.
    pub fn metadata(&self, key: &str) -> Result<&str> {
        self.file.metadata().get(key).map(String::as_str).ok_or_else(|| {
            self.error(format!(
                "no metadata {key:?} (the file has {} keys)",
                self.file.metadata().len()
            ))
        })
    }

    /// The `format` of the entry `name`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file if there is no such entry.
    pub fn format(&self, name: &str) -> Result<&str> {
        self.entry_metadata(name, "format")
    }

    /// The entry `name` as the type `S`, after checking its `format`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the entry for a missing entry or one of another
    /// format; errors of [`Stored::load`].
    pub fn load<T: Scalar, S: Stored<T>>(&self, name: &str) -> Result<S> {
        let format = self.format(name)?;
        if !S::FORMATS.contains(&format) {
            return Err(self.error(format!(
                "entry {name:?} has format {format:?}, expected one of {:?}",
                S::FORMATS
            )));
        }
        S::load(self, name)
    }

    /// The entry `name` as a layer of whichever type its `format` names.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the entry for a missing entry or a format that is
    /// not a layer; errors of [`Stored::load`].
    pub fn load_layer<T: Scalar>(&self, name: &str) -> Result<Box<dyn Layer<T>>> {
        model::load_layer(self, name)
    }

    /// The model saved by [`crate::io::LayerWriter::add_model`]: every layer of
    /// `tensorize.layers`, in order, under its name.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file if `tensorize.layers` is absent or not a JSON array
    /// of strings; as [`load_layer`](Self::load_layer) for each layer.
    pub fn load_model<T: Scalar>(&self) -> Result<Sequential<T>> {
        let names: Vec<String> = serde_json::from_str(self.metadata(keys::LAYERS)?)
            .map_err(|e| self.error(format!("{} is not a list of names: {e}", keys::LAYERS)))?;
        names.iter().try_fold(Sequential::new(), |m, name| {
            Ok(m.push_named_boxed(name.clone(), self.load_layer(name)?))
        })
    }

    /// The metadata `<entry>.<key>`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent.
    pub fn entry_metadata(&self, entry: &str, key: &str) -> Result<&str> {
        let full = keys::entry_key(entry, key);
        self.file.metadata().get(&full).map(String::as_str).ok_or_else(|| {
            self.error(format!("no metadata {full:?} (is {entry:?} an entry of this file?)"))
        })
    }

    /// The metadata `<entry>.<key>` as a list of sizes (a JSON array, `[3,4]`).
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent or not such a list.
    pub fn entry_dims(&self, entry: &str, key: &str) -> Result<Vec<usize>> {
        let text = self.entry_metadata(entry, key)?;
        serde_json::from_str(text).map_err(|_| {
            self.error(format!("metadata \"{entry}.{key}\" = {text:?} is not a list of sizes"))
        })
    }

    /// The metadata `<entry>.<key>` as a list of exactly `n` sizes.
    ///
    /// # Errors
    /// As [`entry_dims`](Self::entry_dims); [`Error::Format`] for another length.
    pub fn entry_dims_n(&self, entry: &str, key: &str, n: usize) -> Result<Vec<usize>> {
        let dims = self.entry_dims(entry, key)?;
        if dims.len() != n {
            return Err(
                self.error(format!("metadata \"{entry}.{key}\" = {dims:?} must have {n} entries"))
            );
        }
        Ok(dims)
    }

    /// The metadata `<entry>.<key>` as a pair of sizes (stride, padding, pool kernel).
    ///
    /// # Errors
    /// As [`entry_dims_n`](Self::entry_dims_n) with `n = 2`.
    pub fn entry_pair(&self, entry: &str, key: &str) -> Result<[usize; 2]> {
        let d = self.entry_dims_n(entry, key, 2)?;
        Ok([d[0], d[1]])
    }

    /// The metadata `<entry>.<key>` as a count (a non-negative integer).
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent or not a count.
    pub fn entry_count(&self, entry: &str, key: &str) -> Result<usize> {
        let text = self.entry_metadata(entry, key)?;
        text.parse().map_err(|_| {
            self.error(format!("metadata \"{entry}.{key}\" = {text:?} is not a count"))
        })
    }

    /// The metadata `<entry>.<key>` as a number.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent or not a number.
    pub fn entry_f64(&self, entry: &str, key: &str) -> Result<f64> {
        let text = self.entry_metadata(entry, key)?;
        text.parse().map_err(|_| {
            self.error(format!("metadata \"{entry}.{key}\" = {text:?} is not a number"))
        })
    }

    /// The metadata `<entry>.<key>` as `true` or `false`.
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the key if it is absent or another word.
    pub fn entry_bool(&self, entry: &str, key: &str) -> Result<bool> {
        match self.entry_metadata(entry, key)? {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(self.error(format!(
                "metadata \"{entry}.{key}\" = {other:?} is neither true nor false"
            ))),
        }
    }

    /// The tensor `name` as `T`, which must have shape `shape`.
    ///
    /// # Errors
    /// [`Error::TensorNotFound`] naming the file and the tensor if it is missing;
    /// [`Error::Format`] naming both if it has another shape or is not a float tensor.
    pub fn tensor<T: Scalar>(&self, name: &str, shape: &[usize]) -> Result<Tensor<T>> {
        let info = self.file.info(name)?;
        if info.shape != shape {
            return Err(self
                .error(format!("tensor {name:?} has shape {:?}, expected {shape:?}", info.shape)));
        }
        self.file.read(name)
    }

    /// The error [`Error::Format`] with `detail` prefixed by the file's name.
    pub(crate) fn error(&self, detail: String) -> Error {
        Error::Format { format: "safetensors", detail: format!("{}: {detail}", self.label()) }
    }

    /// `e` (an error of a constructor fed with the entry's factors) with the file and the
    /// entry named, as [`Error::Format`].
    pub(crate) fn in_entry(&self, name: &str, e: Error) -> Error {
        self.error(format!("entry {name:?}: {e}"))
    }
}
