//! [`LayerWriter`]: gathers entries (layers, models, factorizations) as named tensors and
//! metadata, then writes one safetensors file through [`SafetensorsWriter`] (atomically).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::io::dtype::Dtype;
use crate::io::layers::keys;
use crate::io::layers::model;
use crate::io::layers::stored::Stored;
use crate::io::safetensors::SafetensorsWriter;
use crate::nn::{Layer, Sequential};
use crate::scalar::Scalar;
use crate::tensor::Tensor;

/// Named factor tensors and metadata to be written as one safetensors file.
///
/// Every entry adds `<name>.format` and its own keys to `__metadata__`; the file also gets
/// `tensorize.version` and `tensorize.dtype`. Tensors are stored as `T` (`F32` / `F64`)
/// unless [`store_as`](Self::store_as) asks for another float dtype.
///
/// ```
/// use tensorize::io::{LayerReader, LayerWriter};
/// use tensorize::decomp::TtSvd;
/// use tensorize::format::TtTensor;
/// use tensorize::Tensor;
/// let x = Tensor::<f64>::random_normal(&[4, 5, 6], 1)?;
/// let (tt, _) = TtSvd::new().max_rank(3).fit(&x)?;
/// let mut out = LayerWriter::new();
/// out.add("x", &tt)?;
/// let file = LayerReader::from_bytes(out.to_bytes()?)?;
/// assert_eq!(file.load::<f64, TtTensor<f64>>("x")?, tt);
/// assert_eq!(file.metadata("x.format")?, "tt");
/// # Ok::<(), tensorize::Error>(())
/// ```
pub struct LayerWriter<T> {
    tensors: Vec<(String, Tensor<T>)>,
    metadata: BTreeMap<String, String>,
    dtype: Dtype,
    overwrite: bool,
}

impl<T: Scalar> Default for LayerWriter<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> LayerWriter<T> {
    /// An empty writer storing tensors as `T`, refusing to overwrite a file.
    pub fn new() -> Self {
        Self {
            tensors: Vec::new(),
            metadata: BTreeMap::new(),
            dtype: Dtype::of::<T>(),
            overwrite: false,
        }
    }

    /// Stores every tensor as `dtype` (`F16`, `BF16`, `F32` or `F64`; another dtype makes the
    /// write fail with [`Error::Format`]).
    pub fn store_as(mut self, dtype: Dtype) -> Self {
        self.dtype = dtype;
        self
    }

    /// Whether [`write`](Self::write) may replace an existing file (default: no).
    pub fn overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Adds `item` as the entry `name`: its `format` and what [`Stored::save`] writes.
    ///
    /// # Errors
    /// [`Error::Format`] for an empty name, a name already used by an entry, or a tensor name
    /// already taken; errors of [`Stored::save`].
    pub fn add<S: Stored<T>>(&mut self, name: &str, item: &S) -> Result<&mut Self> {
        let key = keys::entry_key(name, "format");
        if name.is_empty() || self.metadata.contains_key(&key) {
            return Err(Error::Format {
                format: "safetensors",
                detail: format!("entry name {name:?} is empty or already used"),
            });
        }
        self.metadata.insert(key, item.format().to_string());
        item.save(name, self)?;
        Ok(self)
    }

    /// Adds a layer behind a trait object as the entry `name`: a dense, decomposed, tensorized
    /// or parameter-free layer of [`crate::nn`] (the types listed in `docs/formats.md`).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the layer for a layer type that cannot be saved
    /// (a nested [`Sequential`], a layer defined outside the crate); as [`add`](Self::add).
    pub fn add_layer(&mut self, name: &str, layer: &dyn Layer<T>) -> Result<&mut Self> {
        model::add_layer(self, name, layer)?;
        Ok(self)
    }

    /// Adds every layer of `model` under its name ([`Sequential::names`]) and the list of
    /// names, in order, as `tensorize.layers`, so that [`crate::io::LayerReader::load_model`]
    /// rebuilds the model.
    ///
    /// # Errors
    /// As [`add_layer`](Self::add_layer) for each layer; [`Error::Format`] if the writer
    /// already holds a model.
    pub fn add_model(&mut self, model: &Sequential<T>) -> Result<&mut Self> {
        if self.metadata.contains_key(keys::LAYERS) {
            return Err(Error::Format {
                format: "safetensors",
                detail: "the file already holds a model".into(),
            });
        }
        for (name, layer) in model.names().iter().zip(model.layers()) {
            self.add_layer(name, layer.as_ref())?;
        }
        let names = serde_json::Value::from(model.names().to_vec()).to_string();
        self.metadata.insert(keys::LAYERS.to_string(), names);
        Ok(self)
    }

    /// Adds a tensor named `name` (for [`Stored::save`]).
    ///
    /// # Errors
    /// [`Error::Format`] if a tensor of that name was added already.
    pub fn put_tensor(&mut self, name: String, x: Tensor<T>) -> Result<()> {
        if self.tensors.iter().any(|(n, _)| *n == name) {
            return Err(Error::Format {
                format: "safetensors",
                detail: format!("two tensors are named {name:?}"),
            });
        }
        self.tensors.push((name, x));
        Ok(())
    }

    /// Sets the metadata `<entry>.<key>` (for [`Stored::save`]).
    pub fn put_metadata(&mut self, entry: &str, key: &str, value: impl Into<String>) {
        self.metadata.insert(keys::entry_key(entry, key), value.into());
    }

    /// Sets a file-wide metadata entry (the caller's own, e.g. the model it came from).
    pub fn metadata(&mut self, key: &str, value: &str) -> &mut Self {
        self.metadata.insert(key.to_string(), value.to_string());
        self
    }

    /// The tensors added so far, in order.
    pub fn tensors(&self) -> &[(String, Tensor<T>)] {
        &self.tensors
    }

    /// A [`SafetensorsWriter`] holding every tensor and the metadata (with the version and
    /// dtype), to which a caller may add more — e.g. tensors of the input checkpoint carried
    /// through with [`SafetensorsWriter::copy_from`] — before writing it.
    pub fn safetensors(&self) -> SafetensorsWriter<'_> {
        let w = self
            .tensors
            .iter()
            .fold(SafetensorsWriter::new(), |w, (n, x)| w.tensor_as(n, x, self.dtype));
        w.metadata_map(&self.metadata)
            .metadata(keys::VERSION, env!("CARGO_PKG_VERSION"))
            .metadata(keys::DTYPE, self.dtype.name())
            .overwrite(self.overwrite)
    }

    /// The bytes of the file.
    ///
    /// # Errors
    /// As [`SafetensorsWriter::to_bytes`].
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.safetensors().to_bytes()
    }

    /// Writes the file to `path` atomically through [`SafetensorsWriter::write`] (and so
    /// [`crate::io::write_atomic`]): refused if `path` exists unless
    /// [`overwrite`](Self::overwrite), and never left half-written.
    ///
    /// # Errors
    /// As [`SafetensorsWriter::write`].
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        self.safetensors().write(path)
    }
}
